/**
 * SCIM /Users use cases: validate, look up, decide, persist. Every write commits the
 * resource, its outbox row and its security events (events/set.ts, docs/events.md) in one
 * transaction; the relay turns the row into a workflow signal.
 */
import { removesAccess } from '../../domain/access-loss';
import crypto from 'node:crypto';
import { UniqueViolationError, type Queryable } from '../../common/db';
import { CORE_USER_URN, ENTERPRISE_USER_URN, SCIMFLOW_USER_URN } from '../../domain/desired-user';
import type { ChangeKind } from '../../domain/resource-changes';
import { recordChanges, type RecordedChange } from '../../common/repositories/outbox';
import * as users from '../../common/repositories/scim-users';
import type { ScimContext } from '../context';
import { checkIndexedLength, checkUserLimits } from '../limits';
import { evaluateFilter } from '../../scim/filter/evaluate';
import { parsePatchPath, type FilterNode } from '../../scim/filter/parser';
import { listResponse, pageOf, runList, type ListRequest } from '../list-params';
import { noteListing } from '../list-compaction';
import { normaliseUserBody, normaliseUserPatchValue, parsePatchBody, type PatchOperation } from '../normalise';
import { etagOf, project, renderUser, type ScimResource } from '../render';
import { SCIMMY, UserSchema } from '../../scim/schemas';
import { mapInSlices } from '../slices';
import { applyPatchInSlices } from './patch';
import { ScimError } from '../../scim/error';
import { checkIfMatch } from '../preconditions';
import { checkUserDoc } from './validate';
import { appendEvents, type AsyncRequest } from '../../common/repositories/security-events';
import { acceptAsyncRequest } from '../../events/async';
import { userChangeEvents } from '../../events/set';

type Json = Record<string, unknown>;

const USER_SCHEMA_URNS = [CORE_USER_URN, ENTERPRISE_USER_URN, SCIMFLOW_USER_URN].map((urn) => urn.toLowerCase());

/** scimmy's coercion throws TypeErrors without a status; they are all the client's to fix. */
function coerceUser(body: Json): Json {
  if (!Array.isArray(body.schemas) || !body.schemas.some((s) => String(s).toLowerCase() === 'urn:ietf:params:scim:schemas:core:2.0:user')) {
    throw ScimError.badRequest('invalidSyntax', 'A User body must list "urn:ietf:params:scim:schemas:core:2.0:User" in "schemas".');
  }
  // An extension this server does not know would be dropped without a word (its attributes
  // silently lost); naming it is a malformed request (RFC 7643 §3: "schemas" lists the URIs the
  // representation uses), so the IdP's provisioning log shows the mapping to fix.
  const unknown = body.schemas.find((s) => !USER_SCHEMA_URNS.includes(String(s).toLowerCase()));
  if (unknown !== undefined) {
    throw ScimError.badRequest('invalidSyntax', `"schemas" names ${JSON.stringify(unknown)}, which is not a User schema of this server (see /Schemas).`);
  }
  // Before scimmy reads it: value counts and string lengths (a 10,000-email user, a 1 MB givenName).
  checkUserLimits(body);
  try {
    const coerced = JSON.parse(JSON.stringify(new UserSchema(body, 'in'))) as Json;
    return storedDoc(coerced);
  } catch (err) {
    throw fromScimmy(err, 'invalidValue');
  }
}

/** The document a User body would be stored as (IdP quirks normalised, validated), without storing it: for previews. */
export function userDocOf(body: unknown): Json {
  return coerceUser(normaliseUserBody(body));
}

/** What we keep: the resource without server-assigned attributes (id, meta, schemas) and without provisioning. */
function storedDoc(resource: Json): Json {
  const { id: _id, meta: _meta, schemas: _schemas, ...doc } = resource;
  const ext = doc['urn:ietf:params:scim:schemas:extension:scimflow:2.0:User'] as Json | undefined;
  if (ext && 'provisioning' in ext) {
    const { provisioning: _p, ...rest } = ext;
    doc['urn:ietf:params:scim:schemas:extension:scimflow:2.0:User'] = rest;
  }
  if (typeof doc.userName !== 'string' || doc.userName.trim() === '') {
    throw ScimError.badRequest('invalidValue', '"userName" is required and must be a non-empty string.');
  }
  for (const name of ['userName', 'externalId', 'displayName'] as const) checkIndexedLength(name, doc[name]);
  if (Array.isArray(doc.emails)) for (const email of doc.emails) checkIndexedLength('emails.value', (email as Json | null)?.value);
  return doc;
}

type AttributeDef = { name: string; config?: { canonicalValues?: unknown }; subAttributes?: AttributeDef[] };

/** The canonical values of the User attribute (or sub-attribute) named `name`, in the core schema or an extension. */
function canonicalValuesOf(name: string): string[] | undefined {
  const search = (attrs: AttributeDef[] | undefined): string[] | undefined => {
    for (const a of attrs ?? []) {
      if (a.name.toLowerCase() === name.toLowerCase() && Array.isArray(a.config?.canonicalValues) && a.config.canonicalValues.length > 0)
        return a.config.canonicalValues.map(String);
      const inner = search(a.subAttributes);
      if (inner) return inner;
    }
    return undefined;
  };
  const definition = UserSchema.definition as unknown as { attributes: (AttributeDef & { attributes?: AttributeDef[] })[] };
  // Extensions appear among the attributes as an attribute whose `attributes` are the extension's own.
  return search(definition.attributes) ?? definition.attributes.map((a) => search(a.attributes)).find((v) => v !== undefined);
}

function fromScimmy(err: unknown, fallback: 'invalidValue' | 'invalidSyntax'): unknown {
  if (err instanceof ScimError) return err;
  const e = err as { status?: number; scimType?: string; message?: string };
  // scimmy says only "contains non-canonical value": the IdP admin needs the values that are allowed.
  const canonical = /Attribute '([^']+)' contains non-canonical value/.exec(e?.message ?? '');
  const allowed = canonical ? canonicalValuesOf(canonical[1]) : undefined;
  if (canonical && allowed) {
    return ScimError.badRequest('invalidValue', `"${canonical[1]}" must be one of: ${allowed.join('; ')} (spelt exactly so).`);
  }
  if (err instanceof SCIMMY.Types.Error || (typeof e?.status === 'number' && e.status >= 400 && e.status < 500)) {
    return new ScimError(e.status ?? 400, (e.scimType as never) ?? fallback, e.message ?? 'Invalid request.');
  }
  if (err instanceof TypeError) return ScimError.badRequest(fallback, e.message ?? 'Invalid request.');
  return err;
}

function uniqueness(err: unknown, userName: unknown): unknown {
  if (err instanceof UniqueViolationError) {
    return new ScimError(
      409,
      'uniqueness',
      `userName "${String(userName)}" is already taken in this tenant: userNames are compared regardless of case, character width ` +
        '(fullwidth letters), Unicode composition and surrounding spaces (RFC 8265 UsernameCaseMapped).',
    );
  }
  return err;
}

/** The outbox row of this request's change to user `id`, which its workflow receives as a signal. */
function changeOf(ctx: ScimContext, id: string, change: ChangeKind, resourceVersion: number, urgent = false): RecordedChange {
  return { tenantId: ctx.tenantId, resourceType: 'User', resourceId: id, change, resourceVersion, requestId: ctx.requestId, source: ctx.source, urgent };
}

/** The request's asynchronous answer (ctx.asyncTxn, events/async.ts) as recorded with its change of user `id`. */
function asyncRequestOf(ctx: ScimContext, id: string, method: AsyncRequest['method'], resourceVersion: number): AsyncRequest {
  return {
    tenantId: ctx.tenantId,
    txn: ctx.asyncTxn as string,
    resourceType: 'User',
    resourceId: id,
    method,
    resourceVersion,
    location: `${ctx.baseUrl}/Users/${id}`,
    requestId: ctx.requestId,
  };
}

function render(ctx: ScimContext, row: users.ScimUserRow): ScimResource {
  return renderUser(row, ctx.baseUrl);
}

export async function createUser(ctx: ScimContext, body: unknown): Promise<{ resource: ScimResource; etag: string }> {
  const doc = coerceUser(normaliseUserBody(body));
  await checkUserDoc(ctx.db, ctx.tenantId, doc);
  const id = crypto.randomUUID();
  const events = userChangeEvents({ tenantId: ctx.tenantId, id, version: users.FIRST_VERSION, method: 'POST', after: doc });
  const insert = (db: Queryable) => users.insertUser(db, ctx.tenantId, id, doc, [changeOf(ctx, id, 'created', users.FIRST_VERSION)], events);
  // One statement writes the user, its 'created' outbox row and its events: atomic without a
  // transaction. An asynchronous request (Prefer: respond-async) is recorded with them, in one.
  const row = await (
    ctx.asyncTxn
      ? ctx.db.withTransaction(async (tx) => {
          const inserted = await insert(tx);
          await acceptAsyncRequest(tx, asyncRequestOf(ctx, id, 'POST', users.FIRST_VERSION));
          return inserted;
        })
      : insert(ctx.db)
  ).catch((err) => {
    throw uniqueness(err, doc.userName);
  });
  ctx.onCommitted();
  return { resource: render(ctx, row), etag: etagOf(row.version) };
}

export async function getUser(ctx: ScimContext, id: string): Promise<users.ScimUserRow> {
  const row = await users.getUser(ctx.db, ctx.tenantId, id);
  if (!row) throw ScimError.notFound(`User "${id}" not found.`);
  return row;
}

export async function getUserResource(
  ctx: ScimContext,
  id: string,
  attributes?: string[],
  excluded?: string[],
): Promise<{ resource: ScimResource; etag: string }> {
  const row = await getUser(ctx, id);
  return { resource: project(render(ctx, row), attributes, excluded), etag: etagOf(row.version) };
}

/** JSON with object keys sorted, so that equal documents compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/**
 * Whether a write changes nothing. Key order must not count: jsonb stores keys in its own order
 * and scimmy emits them in schema order, so a plain JSON.stringify comparison saw a change in
 * every no-op PATCH that scimmy re-serialised (e.g. Okta's password replace, which is dropped)
 * and in every unchanged PUT, bumping the version and writing an outbox row (a workflow signal) each time.
 */
function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

async function writeUser(
  ctx: ScimContext,
  id: string,
  method: 'PUT' | 'PATCH',
  ifMatch: string | undefined,
  change: (current: users.ScimUserRow, tx: Queryable) => Promise<Json | undefined>,
): Promise<{ resource: ScimResource; etag: string; changed: boolean }> {
  let changed = false;
  let attemptedUserName: unknown;
  const row = await ctx.db
    .withTransaction(async (tx) => {
      const current = await users.getUserForUpdate(tx, ctx.tenantId, id);
      if (!current) throw ScimError.notFound(`User "${id}" not found.`);
      checkIfMatch(ifMatch, current.version);
      const next = await change(current, tx);
      if (next === undefined || sameJson(next, current.doc)) {
        // Nothing to carry: an asynchronous request is complete at once.
        if (ctx.asyncTxn)
          await acceptAsyncRequest(tx, asyncRequestOf(ctx, id, method, current.version), { version: current.version, externalId: current.doc.externalId });
        return current;
      }
      await checkUserDoc(tx, ctx.tenantId, next, { id, doc: current.doc });
      attemptedUserName = next.userName;
      changed = true;
      const version = current.version + 1;
      // The update, its 'updated' outbox row, its events and the row as rendered (provisioning state joined) in one statement.
      const updated = await users.updateUser(
        tx,
        ctx.tenantId,
        id,
        next,
        [changeOf(ctx, id, 'updated', version, removesAccess(current.doc, next))],
        userChangeEvents({ tenantId: ctx.tenantId, id, version, method, before: current.doc, after: next }),
      );
      if (ctx.asyncTxn) await acceptAsyncRequest(tx, asyncRequestOf(ctx, id, method, version));
      return updated;
    })
    .catch((err) => {
      throw uniqueness(err, attemptedUserName);
    });
  if (changed) ctx.onCommitted();
  return { resource: render(ctx, row), etag: etagOf(row.version), changed };
}

/** PUT replaces the whole resource (RFC 7644 §3.5.1): attributes left out are cleared. */
export function replaceUser(ctx: ScimContext, id: string, body: unknown, ifMatch?: string) {
  const doc = coerceUser(normaliseUserBody(body));
  return writeUser(ctx, id, 'PUT', ifMatch, async () => doc);
}

export async function patchUser(ctx: ScimContext, id: string, body: unknown, ifMatch?: string) {
  const operations = await mapInSlices(parsePatchBody(body), normaliseUserPatchValue);
  return writeUser(ctx, id, 'PATCH', ifMatch, async (current) => applyUserPatch(current, operations));
}

/**
 * Applies the PATCH operations in one pass (patch.ts), then validates the result once, as a
 * whole User. One rewrite scimmy lacked stays (createMissingValuePathTarget): an `add` on a
 * value path whose filter matches nothing creates the entry the filter describes, and so does
 * Entra's `replace` on `emails[type eq "work"].value` (or `phoneNumbers[type eq "mobile"].value`,
 * …) for a user without such an entry yet; any other `replace` whose filter matches nothing is
 * 400 noTarget (RFC 7644 §3.5.2.3).
 */
async function applyUserPatch(current: users.ScimUserRow, operations: PatchOperation[]): Promise<Json | undefined> {
  const patched = await applyPatchInSlices(structuredClone(current.doc), operations, { id: current.id, onNoMatch: createMissingValuePathTarget });
  const schemas = [CORE_USER_URN, ...[ENTERPRISE_USER_URN, SCIMFLOW_USER_URN].filter((urn) => patched[urn] !== undefined)];
  return coerceUser({ schemas, ...patched });
}

function equalityAssignments(filter: FilterNode): Json | undefined {
  if (filter.type === 'compare' && filter.op === 'eq' && !filter.path.sub) return { [filter.path.attr]: filter.value };
  if (filter.type === 'and') {
    const left = equalityAssignments(filter.left);
    const right = equalityAssignments(filter.right);
    return left && right ? { ...left, ...right } : undefined;
  }
  return undefined;
}

function createMissingValuePathTarget(doc: Json, op: PatchOperation): PatchOperation {
  if (op.op === 'remove' || !op.path || !op.path.includes('[')) return op;
  // A malformed value path fails here with the parser's 400 invalidPath (what is wrong, and where);
  // left to scimmy it was answered with a misleading noTarget "does not match any values".
  const parsed = parsePatchPath(op.path);
  if (!parsed.filter) return op;
  const container = parsed.path.schema ? (doc[parsed.path.schema] as Json | undefined) : doc;
  const list = container?.[parsed.path.attr];
  // The filter's paths are relative to one element of the attribute (RFC 7644 §3.5.2 valuePath), so
  // it is evaluated `within` it; without that, `type` resolved as a top-level User attribute and
  // every value-path PATCH on an existing multi-valued attribute failed with 400.
  const within = parsed.path;
  const matches =
    Array.isArray(list) &&
    list.some((item) => typeof item === 'object' && item !== null && evaluateFilter(parsed.filter as FilterNode, item as Json, { kind: 'User', within }));
  if (matches) return op;
  const attrPath = parsed.path.schema ? `${parsed.path.schema}:${parsed.path.attr}` : parsed.path.attr;
  // RFC 7644 §3.5.2.3: "If the target location path specifies an attribute that does not exist, the service provider SHALL
  // treat the operation as an add"; a value filter that selects nothing is not such a path, and creating an entry from
  // `emails[value eq "nobody@x"].primary` invents an address. Only `[type eq "…"]` says what to create (Entra's shape).
  if (op.op === 'replace' && !isTypeEquality(parsed.filter)) {
    throw ScimError.badRequest(
      'noTarget',
      `"${op.path}" matches no value of ${attrPath} to replace (RFC 7644 §3.5.2.3). Use "add" to create a value, or a filter that matches one.`,
    );
  }
  const seed = equalityAssignments(parsed.filter);
  if (!seed) return op;
  const element = parsed.subAttr ? { ...seed, [parsed.subAttr]: op.value } : { ...seed, ...(op.value as Json) };
  return { op: 'add', path: attrPath, value: [element] };
}

/** `[type eq "work"]` and nothing else: the one filter shape that says which entry a replace creates. */
function isTypeEquality(filter: FilterNode): boolean {
  return filter.type === 'compare' && filter.op === 'eq' && !filter.path.sub && filter.path.attr.toLowerCase() === 'type' && typeof filter.value === 'string';
}

export async function deleteUser(ctx: ScimContext, id: string, ifMatch?: string): Promise<void> {
  await ctx.db.withTransaction(async (tx) => {
    const current = await users.getUserForUpdate(tx, ctx.tenantId, id);
    if (!current) throw ScimError.notFound(`User "${id}" not found.`);
    checkIfMatch(ifMatch, current.version);
    await users.deleteUser(tx, ctx.tenantId, id);
    await recordChanges(tx, [changeOf(ctx, id, 'deleted', current.version + 1, true)]);
    await appendEvents(tx, userChangeEvents({ tenantId: ctx.tenantId, id, version: current.version + 1, method: 'DELETE', before: current.doc }));
    if (ctx.asyncTxn) await acceptAsyncRequest(tx, asyncRequestOf(ctx, id, 'DELETE', current.version + 1));
  });
  ctx.onCommitted();
}

export async function listUsers(ctx: ScimContext, req: ListRequest): Promise<Json> {
  noteListing(ctx.db, ctx.tenantId, 'User', req.query.page);
  const { total, rows: fetched } = await runList(req, () => users.listUsersWithTotal(ctx.db, ctx.tenantId, req.query));
  const { rows, ...cursors } = pageOf(req, fetched);
  const resources = rows.map((r) => project(render(ctx, r), req.attributes, req.excludedAttributes));
  return listResponse(req, total, resources, cursors);
}
