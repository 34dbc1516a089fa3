/**
 * Discovery (RFC 7644 §4) as strict clients read it. scim2-models (behind scim2-client and the
 * checker scim2-tester) refuses a document holding anything its RFC 7643 model does not declare
 * ("Extra inputs are not permitted"), so a client stopped at /ServiceProviderConfig while it
 * carried the limits as an extension. Checked here three ways against the real server: every
 * document's attributes and schema URNs against RFC 7643 §5-7 and RFC 7644 §3.4.2 (in JS),
 * every document parsed by a pinned scim2-models in its strict mode (python, in a venv under
 * the tools cache), and by scimmy; and the limits, now a document of their own at LIMITS_PATH.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toolsSettings } from '../common/config';
import { startHarness, type Harness } from '../test/harness';
import { LIMITS_PATH, LIMITS_SCHEMA_URN } from './discovery';
import { LIMITS } from './limits';
import { SCIMMY } from '../scim/schemas';

/** The scim2-models the strict parse runs; bump it on purpose (its changelog), not by drift. */
const SCIM2_MODELS_VERSION = '0.12.3';
const VENV = path.join(toolsSettings().dir, 'scim2-models-venv');
const VALIDATE_PY = path.join(__dirname, '..', 'test', 'strict-scim', 'validate.py');
/** Not the harness's default, so the limits document is seen to report the server's own. */
const BODY_LIMIT = 3 * 1024 * 1024;

const URN = {
  ServiceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  ResourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  Schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
  ListResponse: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
};
/** The extension /ServiceProviderConfig used to carry the limits in; strict clients refused it. */
const OLD_LIMITS_EXTENSION = 'urn:ietf:params:scim:schemas:extension:scimflow:2.0:ServiceProviderConfig';

type Json = Record<string, any>;
type Kind = 'ServiceProviderConfig' | 'ResourceType' | 'Schema' | 'ListResponse[Schema]' | 'ListResponse[ResourceType]' | 'Limits';
interface Doc {
  name: string;
  kind: Kind;
  body: Json;
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ withWorker: false, bodyLimitBytes: BODY_LIMIT });
});
afterAll(async () => h?.close());

async function get(pathAndQuery: string): Promise<Json> {
  const res = await h.scim('GET', pathAndQuery);
  if (res.status !== 200) throw new Error(`GET ${pathAndQuery}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Json;
}

/** Every discovery document the server serves, each /Schemas/:id and /ResourceTypes/:id included. */
async function discoveryDocuments(): Promise<Doc[]> {
  const schemas = await get('/Schemas');
  const types = await get('/ResourceTypes');
  return [
    { name: '/ServiceProviderConfig', kind: 'ServiceProviderConfig', body: await get('/ServiceProviderConfig') },
    { name: LIMITS_PATH, kind: 'Limits', body: await get(LIMITS_PATH) },
    { name: '/Schemas', kind: 'ListResponse[Schema]', body: schemas },
    ...(await Promise.all(
      (schemas.Resources as Json[]).map(async (s): Promise<Doc> => ({ name: `/Schemas/${s.id}`, kind: 'Schema', body: await get(`/Schemas/${s.id}`) })),
    )),
    { name: '/ResourceTypes', kind: 'ListResponse[ResourceType]', body: types },
    ...(await Promise.all(
      (types.Resources as Json[]).map(async (t): Promise<Doc> => ({
        name: `/ResourceTypes/${t.id}`,
        kind: 'ResourceType',
        body: await get(`/ResourceTypes/${encodeURIComponent(t.id)}`),
      })),
    )),
  ];
}

// --- The attributes RFC 7643 declares ---------------------------------------------------------

const META = ['resourceType', 'created', 'lastModified', 'location', 'version'];
/** RFC 7643 §7: the characteristics of an attribute (recursively in subAttributes). */
const ATTRIBUTE_CHARACTERISTICS = [
  'name',
  'type',
  'subAttributes',
  'multiValued',
  'description',
  'required',
  'canonicalValues',
  'caseExact',
  'mutability',
  'returned',
  'uniqueness',
  'referenceTypes',
];
/** Top-level attributes (with the sub-attributes of the complex ones) each kind of document may hold. */
const DECLARED: Record<Exclude<Kind, 'Limits' | `ListResponse[${string}]`>, { urn: string; attributes: Record<string, string[] | null> }> = {
  // RFC 7643 §5, and RFC 9865 §4 (pagination). No id: §5 says the configuration has none.
  ServiceProviderConfig: {
    urn: URN.ServiceProviderConfig,
    attributes: {
      schemas: null,
      meta: META,
      documentationUri: null,
      patch: ['supported'],
      bulk: ['supported', 'maxOperations', 'maxPayloadSize'],
      filter: ['supported', 'maxResults'],
      changePassword: ['supported'],
      sort: ['supported'],
      etag: ['supported'],
      authenticationSchemes: ['type', 'name', 'description', 'specUri', 'documentationUri', 'primary'],
      pagination: ['cursor', 'index', 'defaultPaginationMethod', 'defaultPageSize', 'maxPageSize', 'cursorTimeout'],
    },
  },
  // RFC 7643 §6.
  ResourceType: {
    urn: URN.ResourceType,
    attributes: { schemas: null, id: null, meta: META, name: null, description: null, endpoint: null, schema: null, schemaExtensions: ['schema', 'required'] },
  },
  // RFC 7643 §7.
  Schema: { urn: URN.Schema, attributes: { schemas: null, id: null, meta: META, name: null, description: null, attributes: ATTRIBUTE_CHARACTERISTICS } },
};
/** RFC 7644 §3.4.2, and RFC 9865's cursors. */
const LIST_RESPONSE_ATTRIBUTES = ['schemas', 'totalResults', 'Resources', 'startIndex', 'itemsPerPage', 'nextCursor', 'previousCursor'];

function strayCharacteristics(attributes: Json[], where: string): string[] {
  return attributes.flatMap((a, i) => [
    ...Object.keys(a)
      .filter((k) => !ATTRIBUTE_CHARACTERISTICS.includes(k))
      .map((k) => `${where}[${i}].${k}`),
    ...strayCharacteristics(a.subAttributes ?? [], `${where}[${i}].subAttributes`),
  ]);
}

/** What a document holds beyond what its type declares: "name: attribute" and "name: schemas URN" entries. */
function strays(doc: Doc, limitsSchema: Json): string[] {
  const out: string[] = [];
  const schemasMustBe = (allowed: string) => {
    if (!Array.isArray(doc.body.schemas) || doc.body.schemas.length === 0) out.push(`${doc.name}: no schemas`);
    for (const urn of doc.body.schemas ?? []) if (urn !== allowed) out.push(`${doc.name}: schemas ${urn}`);
  };
  if (doc.kind.startsWith('ListResponse[')) {
    schemasMustBe(URN.ListResponse);
    for (const k of Object.keys(doc.body)) if (!LIST_RESPONSE_ATTRIBUTES.includes(k)) out.push(`${doc.name}: ${k}`);
    const itemKind = doc.kind.slice('ListResponse['.length, -1) as Kind;
    (doc.body.Resources as Json[]).forEach((body, i) => out.push(...strays({ name: `${doc.name} Resources[${i}]`, kind: itemKind, body }, limitsSchema)));
    return out;
  }
  if (doc.kind === 'Limits') {
    schemasMustBe(LIMITS_SCHEMA_URN);
    const declared = ['schemas', 'id', 'meta', ...(limitsSchema.attributes as Json[]).map((a) => a.name as string)];
    for (const k of Object.keys(doc.body)) if (!declared.includes(k)) out.push(`${doc.name}: ${k}`);
    return out;
  }
  const { urn, attributes } = DECLARED[doc.kind as keyof typeof DECLARED];
  schemasMustBe(urn);
  for (const [k, value] of Object.entries(doc.body)) {
    if (!(k in attributes)) {
      out.push(`${doc.name}: ${k}`);
      continue;
    }
    const sub = attributes[k];
    if (!sub || typeof value !== 'object' || value === null) continue;
    if (doc.kind === 'Schema' && k === 'attributes') out.push(...strayCharacteristics(value as Json[], `${doc.name}: attributes`));
    else
      for (const [i, item] of (Array.isArray(value) ? value : [value]).entries())
        for (const s of Object.keys(item)) if (!sub.includes(s)) out.push(`${doc.name}: ${k}[${i}].${s}`);
  }
  return out;
}

// --- scim2-models in a venv -------------------------------------------------------------------

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(err);
      if (err && typeof err.code !== 'number') return reject(new Error(`${command} ${args.join(' ')}: ${err.message}\n${stderr}`));
      resolve({ code: err ? (err.code as unknown as number) : 0, stdout, stderr });
    });
  });
}

async function installedVersion(python: string): Promise<string | undefined> {
  if (!fs.existsSync(python)) return undefined;
  const r = await run(python, ['-c', 'import importlib.metadata as m; print(m.version("scim2-models"))'], 30_000).catch(() => undefined);
  return r?.code === 0 ? r.stdout.trim() : undefined;
}

const MISSING_PYTHON =
  'The strict-client check needs python3 with venv and pip (Debian/Ubuntu: apt-get install python3 python3-venv python3-pip) and access to PyPI';

/** The python of a venv holding scim2-models SCIM2_MODELS_VERSION, made (built aside, then renamed into place) when missing. */
async function scim2ModelsPython(): Promise<string> {
  const python = path.join(VENV, 'bin', 'python');
  if ((await installedVersion(python)) === SCIM2_MODELS_VERSION) return python;
  const system = await run('python3', ['--version'], 30_000).catch((err: Error) => {
    throw new Error(`python3 was not found (${err.message}). ${MISSING_PYTHON}.`);
  });
  if (system.code !== 0) throw new Error(`python3 --version failed: ${system.stderr}. ${MISSING_PYTHON}.`);
  fs.mkdirSync(path.dirname(VENV), { recursive: true });
  const building = `${VENV}.building-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  const buildingPython = path.join(building, 'bin', 'python');
  const pipArgs = ['install', '--disable-pip-version-check', '--no-input', '--quiet', `scim2-models==${SCIM2_MODELS_VERSION}`];
  try {
    let venv = await run('python3', ['-m', 'venv', building], 120_000);
    let install: Run;
    if (venv.code === 0) {
      install = await run(buildingPython, ['-m', 'pip', ...pipArgs], 150_000);
    } else {
      // Debian's python3 lacks ensurepip without python3-venv: a venv without pip, filled by the system's pip.
      fs.rmSync(building, { recursive: true, force: true });
      venv = await run('python3', ['-m', 'venv', '--without-pip', building], 120_000);
      if (venv.code !== 0) throw new Error(`python3 -m venv failed: ${venv.stderr.trim()}`);
      install = await run('python3', ['-m', 'pip', '--python', buildingPython, ...pipArgs], 150_000);
    }
    if (install.code !== 0) throw new Error(`pip install scim2-models==${SCIM2_MODELS_VERSION} failed: ${(install.stderr || install.stdout).trim()}`);
    fs.rmSync(VENV, { recursive: true, force: true });
    try {
      fs.renameSync(building, VENV);
    } catch (err) {
      // Another run put its venv in place first: use it if it holds the pinned version.
      if ((await installedVersion(python)) !== SCIM2_MODELS_VERSION) throw err;
    }
  } catch (err) {
    throw new Error(`Could not prepare ${VENV}: ${(err as Error).message}. ${MISSING_PYTHON}.`);
  } finally {
    fs.rmSync(building, { recursive: true, force: true });
  }
  const installed = await installedVersion(python);
  if (installed !== SCIM2_MODELS_VERSION) throw new Error(`${VENV} holds scim2-models ${installed ?? '(none)'}, not ${SCIM2_MODELS_VERSION}.`);
  return python;
}

interface StrictResult {
  scim2Models: string;
  checked: string[];
  failures: { name: string; kind: string; error: string }[];
}

/** Writes the documents to files and lets validate.py parse them strictly (test/strict-scim/validate.py). */
async function parseStrictly(python: string, entries: Json[], docs: Record<string, Json>): Promise<StrictResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-strict-'));
  try {
    const files: Record<string, string> = {};
    Object.entries(docs).forEach(([name, body], i) => {
      files[name] = path.join(dir, `${i}.json`);
      fs.writeFileSync(files[name], JSON.stringify(body));
    });
    const manifest = entries.map((e) =>
      Object.fromEntries(Object.entries(e).map(([k, v]) => [k, k === 'file' || k.endsWith('File') ? files[v as string] : v])),
    );
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    const r = await run(python, [VALIDATE_PY, path.join(dir, 'manifest.json')], 60_000);
    if (r.code !== 0 && r.code !== 1) throw new Error(`validate.py exited with ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as StrictResult;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// --- Tests --------------------------------------------------------------------------------------

describe('issue 21, item 5: discovery documents parse in strict clients; the limits stay discoverable', () => {
  test('when each discovery document is read, then it holds only the attributes and schema URNs RFC 7643 §5-7 (RFC 7644 §3.4.2 for lists) declare', async () => {
    const docs = await discoveryDocuments();
    const limitsSchema = docs.find((d) => d.name === `/Schemas/${LIMITS_SCHEMA_URN}`)?.body as Json;
    expect(limitsSchema).toBeDefined();
    expect(docs.flatMap((d) => strays(d, limitsSchema))).toEqual([]);
    for (const list of docs.filter((d) => d.kind.startsWith('ListResponse['))) {
      expect({ list: list.name, totalResults: list.body.totalResults, itemsPerPage: list.body.itemsPerPage ?? list.body.Resources.length }).toEqual({
        list: list.name,
        totalResults: list.body.Resources.length,
        itemsPerPage: list.body.Resources.length,
      });
    }
    // The check can fail: the configuration as it was, with the limits extension, is caught.
    const spc = docs[0];
    const old = { ...spc, body: { ...spc.body, schemas: [...spc.body.schemas, OLD_LIMITS_EXTENSION], [OLD_LIMITS_EXTENSION]: { patchOperations: 1 } } };
    expect(strays(old, limitsSchema)).toEqual([`/ServiceProviderConfig: schemas ${OLD_LIMITS_EXTENSION}`, `/ServiceProviderConfig: ${OLD_LIMITS_EXTENSION}`]);
  });

  test('when scim2-models parses every discovery document strictly and builds the service from them (as scim2-client discover() does), then none fails', async () => {
    const python = await scim2ModelsPython();
    const docs = await discoveryDocuments();
    const bodies: Record<string, Json> = Object.fromEntries(docs.map((d) => [d.name, d.body]));
    const spc = bodies['/ServiceProviderConfig'];
    bodies['control: the old /ServiceProviderConfig'] = {
      ...spc,
      schemas: [...spc.schemas, OLD_LIMITS_EXTENSION],
      [OLD_LIMITS_EXTENSION]: { patchOperations: 1 },
    };
    const entries: Json[] = [
      ...docs.map((d) =>
        d.kind === 'Limits'
          ? { name: d.name, kind: 'Resource', file: d.name, schemaFile: `/Schemas/${LIMITS_SCHEMA_URN}` }
          : { name: d.name, kind: d.kind, file: d.name },
      ),
      {
        name: 'the service (/Schemas, /ResourceTypes, /ServiceProviderConfig)',
        kind: 'Provider',
        schemasFile: '/Schemas',
        resourceTypesFile: '/ResourceTypes',
        configFile: '/ServiceProviderConfig',
      },
      { name: 'control: the old /ServiceProviderConfig', kind: 'ServiceProviderConfig', file: 'control: the old /ServiceProviderConfig' },
    ];
    const result = await parseStrictly(python, entries, bodies);
    expect(result.scim2Models).toBe(SCIM2_MODELS_VERSION);
    expect(result.checked).toHaveLength(entries.length);
    expect(result.checked).toEqual(expect.arrayContaining(['/ServiceProviderConfig', LIMITS_PATH, '/Schemas', '/ResourceTypes', '/ResourceTypes/User']));
    // Only the control fails, with the message strict clients gave for the old configuration.
    expect(result.failures).toEqual([
      {
        name: 'control: the old /ServiceProviderConfig',
        kind: 'ServiceProviderConfig',
        error: expect.stringContaining(`${OLD_LIMITS_EXTENSION}: Extra inputs are not permitted`),
      },
    ]);
  }, 240_000);

  test('when scim2-models parses the entitlement resources (/Roles, /Licenses, issue 25) strictly against their /Schemas documents, then none fails', async () => {
    const python = await scim2ModelsPython();
    const bodies: Record<string, Json> = {};
    const entries: Json[] = [];
    for (const endpoint of ['/Roles', '/Licenses']) {
      for (const r of (await get(endpoint)).Resources as Json[]) {
        const name = `${endpoint}/${r.id}`;
        bodies[name] = r;
        bodies[`/Schemas/${r.schemas[0]}`] ??= await get(`/Schemas/${r.schemas[0]}`);
        entries.push({ name, kind: 'Resource', file: name, schemaFile: `/Schemas/${r.schemas[0]}` });
      }
    }
    // The check can fail: an attribute the Role schema does not declare is refused.
    const role = bodies['/Roles/vob-worker'];
    bodies['control: a Role with an undeclared attribute'] = { ...role, seats: 3 };
    entries.push({
      name: 'control: a Role with an undeclared attribute',
      kind: 'Resource',
      file: 'control: a Role with an undeclared attribute',
      schemaFile: `/Schemas/${role.schemas[0]}`,
    });
    const result = await parseStrictly(python, entries, bodies);
    expect(result.checked).toHaveLength(entries.length);
    expect(entries.length).toBeGreaterThan(13);
    expect(result.failures).toEqual([{ name: 'control: a Role with an undeclared attribute', kind: 'Resource', error: expect.stringContaining('seats') }]);
  }, 240_000);

  test('when scimmy reads the discovery documents, then it accepts each and keeps their standard values', async () => {
    const docs = await discoveryDocuments();
    const body = (name: string) => docs.find((d) => d.name === name)?.body as Json;
    const Spc = SCIMMY.Schemas.ServiceProviderConfig as unknown as new (resource: Json) => Json;
    const Rt = SCIMMY.Schemas.ResourceType as unknown as new (resource: Json) => Json;
    const List = SCIMMY.Messages.ListResponse as unknown as new (resource: Json) => Json;
    const spc = new Spc(body('/ServiceProviderConfig'));
    expect(spc).toMatchObject({
      patch: { supported: true },
      bulk: { supported: true, maxPayloadSize: BODY_LIMIT },
      filter: { supported: true, maxResults: LIMITS.pageSize },
    });
    for (const d of docs.filter((x) => x.kind === 'ResourceType'))
      expect(new Rt(d.body)).toMatchObject({ id: d.body.id, endpoint: d.body.endpoint, schema: d.body.schema });
    for (const d of docs.filter((x) => x.kind.startsWith('ListResponse['))) expect(new List(d.body)).toMatchObject({ totalResults: d.body.Resources.length });
  });

  test('when the limits document is fetched with the SCIM token, then it holds the limits enforced and /Schemas declares each of them', async () => {
    const res = await h.scim('GET', LIMITS_PATH);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    expect(res.body).toMatchObject({
      schemas: [LIMITS_SCHEMA_URN],
      patchOperations: LIMITS.patchOperations,
      multiValuedAttributeValues: LIMITS.multiValued,
      stringLength: LIMITS.stringLength,
      filterComparisons: LIMITS.filterTerms,
      groupMembersPerRequest: LIMITS.groupMembersPerRequest,
      bodyBytes: BODY_LIMIT,
      meta: { resourceType: 'Limits', location: `${h.baseUrl}${LIMITS_PATH}` },
    });
    const schema = await h.scim('GET', `/Schemas/${LIMITS_SCHEMA_URN}`);
    expect(schema.status).toBe(200);
    expect(schema.body.description).toContain(LIMITS_PATH);
    const listed = ((await get('/Schemas')).Resources as Json[]).find((s) => s.id === LIMITS_SCHEMA_URN);
    expect(schema.body).toEqual(listed);
    const limitNames = Object.keys(res.body).filter((k) => !['schemas', 'id', 'meta'].includes(k));
    expect((schema.body.attributes as Json[]).map((a) => a.name).sort()).toEqual(limitNames.sort());
    // /ServiceProviderConfig keeps the standard limits it has a place for, and nothing else.
    const spc = await get('/ServiceProviderConfig');
    expect(spc.schemas).toEqual([URN.ServiceProviderConfig]);
    expect(spc.bulk).toEqual({ supported: true, maxOperations: LIMITS.bulkOperations, maxPayloadSize: BODY_LIMIT });
    expect(spc.documentationUri).toMatch(/reliability\.md#limits$/);
  });

  test('when the limits document is fetched without a token, then it is 401', async () => {
    const res = await fetch(`${h.baseUrl}${LIMITS_PATH}`);
    expect(res.status).toBe(401);
    expect(await res.text()).not.toContain(String(LIMITS.patchOperations));
  });
});

describe('issue 25: /ServiceProviderConfig lists OAuth 2.0 client credentials beside the bearer token', () => {
  test('when /ServiceProviderConfig is read, then its authenticationSchemes are the bearer token (primary) and oauth2 with RFC 6749 and this server’s token endpoint', async () => {
    const spc = await get('/ServiceProviderConfig');
    const origin = h.baseUrl.replace(/\/scim\/v2$/, '');
    expect(spc.authenticationSchemes).toEqual([
      expect.objectContaining({ type: 'oauthbearertoken', primary: true }),
      {
        type: 'oauth2',
        name: 'OAuth 2.0 client credentials',
        description: expect.stringContaining(`grant_type=client_credentials with its client id and secret (HTTP Basic or the body) to ${origin}/oauth/token`),
        specUri: 'https://www.rfc-editor.org/info/rfc6749',
        documentationUri: expect.stringMatching(/docs\/entra-id\.md#with-oauth-20-client-credentials/),
        primary: false,
      },
    ]);
  });
});
