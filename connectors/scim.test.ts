/**
 * The outbound SCIM connector without a server: the mapping both ways, and what each answer of
 * the target means (a tiny fake fetch plays the target). The same connector against two real
 * SCIM servers: connectors/scim-connector.int.test.ts.
 */
import fc from 'fast-check';
import { CLIENT_ROLES, SETTING_KINDS, type SettingKind } from '../domain/roles';
import { ConnectorError, type AccountState, type ConnectorCall } from './port';
import { createScimConnector, scimConnectorConfigSchema } from './scim';
import { parseRetryAfter } from './scim/http';
import { ENTERPRISE_USER_URN, SCIMFLOW_ACCOUNT_URN, fromScim, mergeParts, toScim, type MappingTarget } from './scim/mapping';

const CALL: ConnectorCall = { tenantId: 't1', userId: 'u1', idempotencyKey: 'wf-u1:ensure:3' };
const settings = (over: Partial<Record<SettingKind, string[]>> = {}) =>
  ({ ...Object.fromEntries(SETTING_KINDS.map((k) => [k, []])), ...over }) as Record<SettingKind, string[]>;

const ACCOUNT: AccountState = {
  profile: {
    externalId: 'emp-0042',
    firstName: 'Ann',
    lastName: 'Lee',
    title: 'RN',
    email: 'ann.lee@example.com',
    primaryPhone: '+15551234567',
    alternatePhones: ['+15557654321;ext=12'],
    displayName: 'Ann Lee',
  },
  loginEnabled: true,
  organisations: [
    { orgKey: 'north', kind: 'primary', role: 'Client Admin' },
    { orgKey: 'south', kind: 'member', role: 'Client Staff' },
    { orgKey: 'east', kind: 'extra', role: null },
  ],
  licences: [
    { orgKey: 'north', licenceLevel: 'Enterprise', mobileLicence: 'Mobile Plus' },
    { orgKey: 'south', licenceLevel: 'Basic', mobileLicence: null },
  ],
  providerAccounts: [
    { providerType: 'RN', orgKey: 'north' },
    { providerType: 'Administrator', orgKey: 'south' },
  ],
  access: {
    securityRole: 'VOB Worker',
    employeeType: 'Nurse',
    caseManager: true,
    allowGridExport: false,
    receivesDocumentation: true,
    settings: settings({ employeeArea: ['Care Coordinator', 'Assigned Agent'], team: ['Intake'], facility: ['fac-1'], toastrNotification: ['New referral'] }),
  },
};

const TARGETS: [string, MappingTarget][] = [
  ['roles and entitlements, enterprise', { carrier: 'attributes', enterprise: true }],
  ['roles and entitlements, core only', { carrier: 'attributes', enterprise: false }],
  ['scimflow extension', { carrier: 'extension', enterprise: true }],
];

const viaJson = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('mapping', () => {
  it('puts the default mapping in core attributes, roles and entitlements', () => {
    const r = toScim(ACCOUNT, { carrier: 'attributes', enterprise: true });
    expect(r).toMatchObject({
      userName: 'ann.lee@example.com',
      externalId: 'emp-0042',
      name: { givenName: 'Ann', familyName: 'Lee' },
      displayName: 'Ann Lee',
      title: 'RN',
      userType: 'Nurse',
      active: true,
      emails: [{ value: 'ann.lee@example.com', type: 'work', primary: true }],
      phoneNumbers: [{ value: '+15551234567', type: 'mobile', primary: true }, { value: '+15557654321;ext=12' }],
      roles: [
        { value: 'north:Client Admin', display: 'Client Admin (north)', primary: true },
        { value: 'south:Client Staff', display: 'Client Staff (south)', primary: false },
        { value: 'east:Extra access', display: 'Extra access (east)', primary: false },
      ],
      [ENTERPRISE_USER_URN]: { organization: 'north' },
    });
    expect((r.entitlements as { value: string }[]).map((e) => e.value)).toEqual([
      'licence:north:Enterprise',
      'licence:south:Basic',
      'mobileLicence:north:Mobile Plus',
      'providerAccount:north:RN',
      'providerAccount:south:Administrator',
      'securityRole:VOB Worker',
      'flag:caseManager',
      'flag:receivesDocumentation',
      'employeeArea:Care Coordinator',
      'employeeArea:Assigned Agent',
      'team:Intake',
      'facility:fac-1',
      'toastrNotification:New referral',
    ]);
    // Untyped entries: servers lower-case `type`, and some allow each type once per attribute.
    for (const multi of ['roles', 'entitlements', 'phoneNumbers'] as const) {
      const types = (r[multi] as { type?: string }[]).flatMap((e) => (e.type ? [e.type.toLowerCase()] : []));
      expect(new Set(types).size).toBe(types.length);
    }
    expect(r.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_USER_URN]);
    expect(r[SCIMFLOW_ACCOUNT_URN]).toBeUndefined();
  });

  it('puts the rest of the account in the scimflow extension when the target has it', () => {
    const r = toScim(ACCOUNT, { carrier: 'extension', enterprise: false });
    expect(r.roles).toBeUndefined();
    expect(r.entitlements).toBeUndefined();
    expect(r[SCIMFLOW_ACCOUNT_URN]).toEqual(
      viaJson({ organisations: ACCOUNT.organisations, licences: ACCOUNT.licences, providerAccounts: ACCOUNT.providerAccounts, access: ACCOUNT.access }),
    );
    expect(r.schemas).toContain(SCIMFLOW_ACCOUNT_URN);
  });

  it.each(TARGETS)('round-trips an account (%s)', (_name, target) => {
    expect(fromScim(viaJson(toScim(ACCOUNT, target)), target)).toEqual(ACCOUNT);
  });

  // Values as the domain produces them: trimmed, non-empty; org keys as tenant-config allows; the email lower case.
  const text = fc
    .string({ minLength: 1, maxLength: 12 })
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const orgKey = fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,8}$/);
  const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
  const account: fc.Arbitrary<AccountState> = fc
    .record({
      profile: fc.record({
        externalId: nullable(text),
        firstName: nullable(text),
        lastName: nullable(text),
        title: nullable(text),
        email: fc.emailAddress().map((e) => e.toLowerCase()),
        primaryPhone: nullable(fc.stringMatching(/^\+1555\d{7}$/)),
        alternatePhones: fc.uniqueArray(fc.stringMatching(/^\+4420\d{8}$/), { maxLength: 3 }),
        displayName: nullable(text),
      }),
      loginEnabled: fc.boolean(),
      orgs: fc.uniqueArray(fc.tuple(orgKey, fc.constantFrom('primary', 'member', 'extra'), fc.constantFrom(...CLIENT_ROLES, null)), {
        selector: ([k]) => k,
        maxLength: 4,
      }),
      licences: fc.uniqueArray(fc.record({ orgKey, licenceLevel: text, mobileLicence: nullable(text) }), { selector: (l) => l.orgKey, maxLength: 3 }),
      providerAccounts: fc.uniqueArray(fc.record({ providerType: text, orgKey }), { maxLength: 3, selector: (p) => `${p.orgKey}:${p.providerType}` }),
      access: fc.record({
        securityRole: nullable(text),
        employeeType: nullable(text),
        caseManager: fc.boolean(),
        allowGridExport: fc.boolean(),
        receivesDocumentation: fc.boolean(),
        settings: fc.record(
          Object.fromEntries(SETTING_KINDS.map((k) => [k, fc.uniqueArray(text, { maxLength: 3 })])) as Record<SettingKind, fc.Arbitrary<string[]>>,
        ),
      }),
    })
    .map(({ orgs, ...rest }) => ({
      ...rest,
      organisations: orgs.map(([k, kind, role]) => ({ orgKey: k, kind: kind as 'primary' | 'member' | 'extra', role: kind === 'extra' ? null : role })),
    }));

  it.each(TARGETS)('round-trips any account (%s)', (_name, target) => {
    fc.assert(
      fc.property(account, (a) => {
        expect(fromScim(viaJson(toScim(a, target)), target)).toEqual(a);
      }),
      { numRuns: 300 },
    );
  });

  it('apply overlays only the named parts and keeps what it does not own', () => {
    const target: MappingTarget = { carrier: 'attributes', enterprise: true };
    const held = {
      ...viaJson(toScim(ACCOUNT, target)),
      id: 'app-1',
      active: false,
      nickName: 'annie',
      groups: [{ value: 'g1' }],
      meta: { version: 'W/"1"' },
      entitlements: [...(toScim(ACCOUNT, target).entitlements as object[]), { type: 'appOwn', value: 'keep-me' }, { value: 'billing:gold' }],
    };
    const changed: AccountState = {
      ...ACCOUNT,
      profile: { ...ACCOUNT.profile, title: 'LPN' },
      access: { ...ACCOUNT.access, securityRole: 'Analytics Only', settings: settings({ team: ['Night'] }) },
      licences: [],
    };
    const body = mergeParts(held, changed, ['access'], target);
    expect(body.meta).toBeUndefined();
    expect(body.groups).toBeUndefined();
    expect(body.active).toBe(false);
    expect(body.nickName).toBe('annie');
    expect(body.title).toBe('RN'); // profile not named
    const read = fromScim(body, target);
    expect(read.licences).toEqual(ACCOUNT.licences); // licences not named: kept as held
    expect(read.access).toEqual(changed.access);
    expect(body.entitlements).toContainEqual({ type: 'appOwn', value: 'keep-me' });
    expect(body.entitlements).toContainEqual({ value: 'billing:gold' });

    const withProfile = fromScim(mergeParts(held, changed, ['profile', 'licences'], target), target);
    expect(withProfile.profile.title).toBe('LPN');
    expect(withProfile.licences).toEqual([]);
  });
});

describe('config', () => {
  it('accepts an http(s) base URL and the mapping choices, refuses the rest with a path', () => {
    expect(scimConnectorConfigSchema.parse({ baseUrl: 'https://app.example.com/scim/v2', mapping: { account: 'attributes' } })).toEqual({
      baseUrl: 'https://app.example.com/scim/v2',
      mapping: { account: 'attributes' },
    });
    const bad = scimConnectorConfigSchema.safeParse({ baseUrl: 'ftp://x', timeoutMs: 5, mapping: { acount: 'x' } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['baseUrl', 'mapping', 'timeoutMs']);
  });
});

describe('Retry-After', () => {
  it('reads delay-seconds and an HTTP-date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

// ---- a tiny fake target ----------------------------------------------------------------------

interface Seen {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}
type Handler = (req: Seen) => Response | Promise<Response> | undefined;

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/scim+json', ...headers } });
const scimError = (status: number, detail: string, scimType?: string, headers: Record<string, string> = {}) =>
  json(status, { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status), detail, ...(scimType ? { scimType } : {}) }, headers);
const list = (resources: object[]) =>
  json(200, { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: resources.length, Resources: resources });

const SPC = (over: object = {}) => ({ patch: { supported: true }, filter: { supported: true }, etag: { supported: false }, ...over });

/** A fake target: discovery answered from `spc`, every other request by `handler` (404 when it returns nothing). */
function fakeTarget(handler: Handler, spc: object = SPC()) {
  const seen: Seen[] = [];
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const req: Seen = {
      method: init?.method ?? 'GET',
      path: decodeURIComponent(url.pathname.replace(/^\/scim\/v2/, '') + url.search),
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    };
    seen.push(req);
    if (req.path === '/ServiceProviderConfig') return json(200, spc);
    if (req.path === '/ResourceTypes' || req.path === '/Schemas') return json(404, undefined);
    return (await handler(req)) ?? scimError(404, 'not found');
  }) as typeof fetch;
  const connector = createScimConnector({ baseUrl: 'http://target.test/scim/v2/', timeoutMs: 200 }, { bearerToken: 'tok', fetch: fetchFn });
  const writes = () => seen.filter((s) => s.method !== 'GET');
  return { connector, seen, writes };
}

const user = (id: string, over: object = {}) => ({ ...toScim(ACCOUNT, { carrier: 'attributes', enterprise: false }), id, ...over });

async function failure(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectorError);
    return err as ConnectorError;
  }
  throw new Error('expected a ConnectorError');
}

describe('error classification', () => {
  const cases: [string, () => Response | Promise<Response>, { kind: string; message: RegExp; status?: number; retryAfterMs?: number }][] = [
    [
      '400 with scimType',
      () => scimError(400, 'title is too long', 'invalidValue'),
      { kind: 'permanent', status: 400, message: /rejected PUT \/Users\/\{id\} \(400, scimType invalidValue: title is too long\)/ },
    ],
    [
      '401',
      () => scimError(401, 'Invalid SCIM bearer token'),
      { kind: 'permanent', status: 401, message: /refused the credentials \(401.*check the connector's bearer token/ },
    ],
    ['403', () => json(403, undefined), { kind: 'permanent', status: 403, message: /refused the credentials \(403/ }],
    ['404 on a write', () => scimError(404, 'gone'), { kind: 'permanent', status: 404, message: /no longer exists in the application/ }],
    ['409', () => scimError(409, 'userName taken', 'uniqueness'), { kind: 'conflict', status: 409, message: /clashing account \(409.*uniqueness/ }],
    ['422', () => scimError(422, 'nope'), { kind: 'permanent', status: 422, message: /refused PUT \/Users\/\{id\} \(422\): nope/ }],
    [
      '429 with Retry-After seconds',
      () => scimError(429, 'slow down', undefined, { 'retry-after': '12' }),
      { kind: 'transient', status: 429, message: /rate limiting/, retryAfterMs: 12_000 },
    ],
    [
      '503 with Retry-After date',
      () => json(503, undefined, { 'retry-after': new Date(Date.now() + 60_000).toUTCString() }),
      { kind: 'transient', status: 503, message: /failed \(503/ },
    ],
    ['500', () => new Response('<html>oops</html>', { status: 500 }), { kind: 'transient', status: 500, message: /failed \(500 on PUT/ }],
    [
      '200 that is not a SCIM resource',
      () => new Response('<html>login</html>', { status: 200 }),
      { kind: 'permanent', status: 200, message: /not a SCIM resource \(no JSON body\)/ },
    ],
    ['200 without id', () => json(200, { userName: 'x' }), { kind: 'permanent', status: 200, message: /not a SCIM resource \(an object without "id"\)/ }],
    [
      'network failure',
      () => {
        throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
      },
      { kind: 'transient', message: /could not be reached \(PUT \/Users\/\{id\}\): ECONNREFUSED/ },
    ],
  ];

  it.each(cases)('%s on PUT', async (_name, answer, expected) => {
    const { connector } = fakeTarget((req) => (req.method === 'GET' ? json(200, user('a1')) : answer()));
    const err = await failure(connector.apply(CALL, 'a1', ACCOUNT, ['profile']));
    expect(err.kind).toBe(expected.kind);
    expect(err.message).toMatch(expected.message);
    expect(err.details.status).toBe(expected.status);
    expect(err.details.operation).toBe('PUT /Users/{id}');
    if (expected.retryAfterMs !== undefined) expect(err.details.retryAfterMs).toBe(expected.retryAfterMs);
  });

  it('an HTTP-date Retry-After becomes the ms until then', async () => {
    const { connector } = fakeTarget(() => json(503, undefined, { 'retry-after': new Date(Date.now() + 60_000).toUTCString() }));
    const err = await failure(connector.terminate(CALL, 'a1'));
    expect(err.details.retryAfterMs).toBeGreaterThan(55_000);
    expect(err.details.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('a target that does not answer in time is transient', async () => {
    const fetchFn = ((_: unknown, init?: RequestInit) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)))) as typeof fetch;
    const connector = createScimConnector({ baseUrl: 'http://target.test/scim/v2', timeoutMs: 50 }, { bearerToken: 'tok', fetch: fetchFn });
    const err = await failure(connector.readAccount(CALL, 'a1'));
    expect(err.kind).toBe('transient');
    expect(err.message).toMatch(/did not answer GET \/ServiceProviderConfig within 50 ms/);
  });

  it('a POST answered without an id is permanent', async () => {
    const { connector } = fakeTarget((req) => (req.method === 'POST' ? json(201, { ok: true }) : list([])));
    const err = await failure(connector.ensureAccount(CALL, ACCOUNT, null));
    expect(err).toMatchObject({ kind: 'permanent', details: { status: 201, operation: 'POST /Users' } });
  });
});

describe('operations', () => {
  it('ensureAccount looks up by externalId then userName before it creates, with login disabled', async () => {
    const { connector, seen, writes } = fakeTarget((req) => {
      if (req.path.startsWith('/Users?filter=')) return list([]);
      if (req.method === 'POST') return json(201, { ...(req.body as object), id: 'new-1' }, { location: 'http://target.test/scim/v2/Users/new-1' });
    });
    expect(await connector.ensureAccount(CALL, ACCOUNT, null)).toEqual({ appId: 'new-1', created: true });
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'GET /ServiceProviderConfig',
      'GET /ResourceTypes',
      'GET /Schemas',
      'GET /Users?filter=externalId eq "emp-0042"',
      'GET /Users?filter=userName eq "ann.lee@example.com"',
      'POST /Users',
    ]);
    const post = writes()[0];
    expect(post.body).toMatchObject({ userName: 'ann.lee@example.com', active: false });
    expect(post.headers).toMatchObject({ 'content-type': 'application/scim+json', 'idempotency-key': CALL.idempotencyKey, authorization: 'Bearer tok' });
  });

  it('ensureAccount finds the account an earlier try made (known id, externalId) and creates nothing', async () => {
    const a = fakeTarget((req) => (req.path === '/Users/a1' ? json(200, user('a1')) : undefined));
    expect(await a.connector.ensureAccount(CALL, ACCOUNT, 'a1')).toEqual({ appId: 'a1', created: false });
    const b = fakeTarget((req) => (req.path.includes('externalId eq') ? list([user('a2')]) : undefined));
    expect(await b.connector.ensureAccount(CALL, ACCOUNT, 'gone')).toEqual({ appId: 'a2', created: false });
    expect([...a.writes(), ...b.writes()]).toEqual([]);
  });

  it('ensureAccount does not trust a filter the target ignores', async () => {
    const other = user('x9', { userName: 'someone@example.com', externalId: 'emp-1' });
    const { connector } = fakeTarget((req) => {
      if (req.path.startsWith('/Users?filter=')) return list([other]);
      if (req.method === 'POST') return json(201, { ...(req.body as object), id: 'new-2' });
    });
    expect(await connector.ensureAccount(CALL, ACCOUNT, null)).toEqual({ appId: 'new-2', created: true });
  });

  it('a 409 on create adopts the account that holds the userName (by scan when the target does not filter)', async () => {
    const held = [user('x1', { userName: 'a@example.com' }), user('a7', { userName: 'Ann.Lee@example.com' })];
    const { connector, seen } = fakeTarget(
      (req) => {
        if (req.method === 'POST') return scimError(409, 'duplicate key');
        if (req.path.startsWith('/Users?filter=')) return scimError(501, 'Not Implemented');
        const m = /startIndex=(\d+)&count=100/.exec(req.path);
        if (m) return json(200, { totalResults: 2, Resources: held.slice(Number(m[1]) - 1, Number(m[1])) });
      },
      SPC({ filter: { supported: false } }),
    );
    expect(await connector.ensureAccount(CALL, ACCOUNT, null)).toEqual({ appId: 'a7', created: false });
    expect(seen.filter((s) => s.path.startsWith('/Users?filter=')).map((s) => s.path)).toEqual(['/Users?filter=userName eq "ann.lee@example.com"']);
  });

  it('a 409 on create that no account explains is a conflict', async () => {
    const { connector } = fakeTarget((req) => {
      if (req.method === 'POST') return scimError(409, 'email taken', 'uniqueness');
      if (req.path.startsWith('/Users')) return list([]);
    });
    expect(await failure(connector.ensureAccount(CALL, ACCOUNT, null))).toMatchObject({ kind: 'conflict', details: { status: 409 } });
  });

  it('apply sends If-Match where the target has ETags; a 412 re-reads once, a second is transient', async () => {
    let version = 1;
    let puts = 0;
    const { connector, seen } = fakeTarget(
      (req) => {
        if (req.method === 'GET') return json(200, user('a1'), { etag: `W/"${version}"` });
        if (req.method === 'PUT') {
          puts++;
          if (puts === 1) {
            version++;
            return scimError(412, 'stale');
          }
          if (puts === 2) return json(200, { ...(req.body as object), id: 'a1' });
          return scimError(412, 'stale');
        }
      },
      SPC({ etag: { supported: true } }),
    );
    await connector.apply(CALL, 'a1', ACCOUNT, ['profile', 'access']);
    expect(seen.filter((s) => s.method === 'PUT').map((s) => s.headers['if-match'])).toEqual(['W/"1"', 'W/"2"']);
    expect(await failure(connector.apply(CALL, 'a1', ACCOUNT, ['profile']))).toMatchObject({ kind: 'transient', details: { status: 412 } });
  });

  it('setLogin PATCHes active; after a 501 it PUTs (and keeps doing so)', async () => {
    let active = true;
    const { connector, seen } = fakeTarget((req) => {
      if (req.method === 'PATCH') return scimError(501, 'Not Implemented');
      if (req.method === 'GET' && req.path === '/Users/a1') return json(200, user('a1', { active, groups: [], meta: { resourceType: 'User' } }));
      if (req.method === 'PUT') {
        active = (req.body as { active: boolean }).active;
        return json(200, { ...(req.body as object), id: 'a1' });
      }
    });
    await connector.setLogin(CALL, 'a1', false);
    expect(active).toBe(false);
    await connector.setLogin(CALL, 'a1', true);
    expect(active).toBe(true);
    expect(seen.filter((s) => s.method !== 'GET').map((s) => s.method)).toEqual(['PATCH', 'PUT', 'PUT']);
    const put = seen.find((s) => s.method === 'PUT')?.body as Record<string, unknown>;
    expect(put.meta).toBeUndefined();
    expect(put.groups).toBeUndefined();
    expect(seen.filter((s) => s.path === '/ServiceProviderConfig')).toHaveLength(1);
  });

  it('setLogin PUTs straight away when the target has no PATCH', async () => {
    const { connector, seen } = fakeTarget(
      (req) => (req.method === 'GET' ? json(200, user('a1')) : req.method === 'PUT' ? json(200, { ...(req.body as object), id: 'a1' }) : undefined),
      SPC({ patch: { supported: false } }),
    );
    await connector.setLogin(CALL, 'a1', false);
    expect(seen.filter((s) => s.method !== 'GET').map((s) => `${s.method} ${(s.body as { active: boolean }).active}`)).toEqual(['PUT false']);
  });

  it('terminate: DELETE, and an account already gone is fine; readAccount of a gone account is null', async () => {
    const { connector } = fakeTarget((req) => (req.method === 'DELETE' && req.path === '/Users/a1' ? new Response(null, { status: 204 }) : undefined));
    await connector.terminate(CALL, 'a1');
    await connector.terminate(CALL, 'a2');
    expect(await connector.readAccount(CALL, 'a2')).toBeNull();
  });

  it('check proves the token on /Users, not only on the (possibly public) ServiceProviderConfig', async () => {
    const good = fakeTarget((req) => (req.path.startsWith('/Users?') ? list([]) : undefined));
    expect(await good.connector.check()).toEqual({ ok: true, detail: expect.stringContaining('reached http://target.test/scim/v2 with the configured token') });
    const refused = fakeTarget((req) => (req.path.startsWith('/Users?') ? scimError(401, 'Invalid SCIM bearer token') : undefined));
    expect(await refused.connector.check()).toEqual({ ok: false, detail: expect.stringMatching(/refused the credentials \(401/) });
    const notScim = fakeTarget((req) => (req.path.startsWith('/Users?') ? new Response('<html/>', { status: 200 }) : undefined));
    expect((await notScim.connector.check()).detail).toMatch(/without a SCIM ListResponse/);
  });

  it("resolves a lazy bearer token per request; its failure is the call's", async () => {
    let resolved = 0;
    const auth: string[] = [];
    const fetchFn = (async (_input: string | URL | Request, init?: RequestInit) => {
      auth.push(new Headers(init?.headers).get('authorization') ?? '');
      return json(200, SPC());
    }) as typeof fetch;
    const token = async () => `t${++resolved}`;
    const connector = createScimConnector(
      { baseUrl: 'http://target.test/scim/v2', mapping: { account: 'attributes', enterprise: 'never' } },
      { bearerToken: token, fetch: fetchFn },
    );
    await connector.capabilities();
    expect(auth).toEqual(['Bearer t1']);
    const missing = createScimConnector(
      { baseUrl: 'http://target.test/scim/v2' },
      {
        bearerToken: async () => {
          throw new ConnectorError('permanent', 'secret "app-token" is not set');
        },
        fetch: fetchFn,
      },
    );
    expect(await failure(missing.readAccount(CALL, 'a1'))).toMatchObject({ kind: 'permanent', message: 'secret "app-token" is not set' });
    expect(await missing.check()).toEqual({ ok: false, detail: 'secret "app-token" is not set' });
  });

  it('uses the scimflow extension when the target advertises it', async () => {
    const seen: unknown[] = [];
    const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
      const path = new URL(String(input)).pathname.replace('/scim/v2', '');
      if (path === '/ServiceProviderConfig') return json(200, SPC());
      if (path === '/ResourceTypes')
        return list([{ name: 'User', schema: 'urn:ietf:params:scim:schemas:core:2.0:User', schemaExtensions: [{ schema: SCIMFLOW_ACCOUNT_URN }] }]);
      if (path === '/Schemas') return list([{ id: ENTERPRISE_USER_URN }]);
      if (init?.method === 'POST') {
        seen.push(JSON.parse(String(init.body)));
        return json(201, { id: 'e1' });
      }
      return list([]);
    }) as typeof fetch;
    const connector = createScimConnector({ baseUrl: 'http://target.test/scim/v2' }, { bearerToken: 'tok', fetch: fetchFn });
    expect(await connector.capabilities()).toMatchObject({ target: { carrier: 'extension', enterprise: true } });
    await connector.ensureAccount(CALL, ACCOUNT, null);
    expect(seen[0]).toMatchObject({ [SCIMFLOW_ACCOUNT_URN]: { access: { securityRole: 'VOB Worker' } }, [ENTERPRISE_USER_URN]: { organization: 'north' } });
  });
});
