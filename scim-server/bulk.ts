/**
 * POST /Bulk (RFC 7644 §3.7): operations run in order through the same services as single
 * requests; `bulkId:` references (where §3.7.2 puts them) resolve to the ids created earlier in
 * the request; `failOnErrors` stops after that many errors.
 */
import { Router, type Request } from 'express';
import type { ScimContext } from './context';
import { LIMITS } from './limits';
import { toScimError } from './error-boundary';
import * as groupService from './groups/service';
import { sendScim } from './respond';
import { ScimError, scimErrorBody } from '../scim/error';
import * as userService from './users/service';

type Json = Record<string, unknown>;

interface BulkOperation {
  method: string;
  path: string;
  bulkId?: string;
  data?: unknown;
  version?: string;
}

function parseBulk(body: unknown): { operations: BulkOperation[]; failOnErrors: number } {
  const b = body as Json;
  if (typeof b !== 'object' || b === null || !Array.isArray(b.schemas) || !b.schemas.includes('urn:ietf:params:scim:api:messages:2.0:BulkRequest')) {
    throw ScimError.badRequest('invalidSyntax', 'A Bulk body must list "urn:ietf:params:scim:api:messages:2.0:BulkRequest" in "schemas".');
  }
  if (!Array.isArray(b.Operations) || b.Operations.length === 0)
    throw ScimError.badRequest('invalidSyntax', 'A Bulk body needs a non-empty "Operations" array.');
  if (b.Operations.length > LIMITS.bulkOperations) {
    throw new ScimError(413, 'tooMany', `A Bulk request may hold at most ${LIMITS.bulkOperations} operations (got ${b.Operations.length}); split it.`);
  }
  const failOnErrors = b.failOnErrors === undefined ? Number.POSITIVE_INFINITY : Number(b.failOnErrors);
  if ((!Number.isInteger(failOnErrors) || failOnErrors < 1) && failOnErrors !== Number.POSITIVE_INFINITY) {
    throw ScimError.badRequest('invalidValue', '"failOnErrors" must be a positive integer (RFC 7644 §3.7.3).');
  }
  const operations = (b.Operations as Json[]).map((o, i) => {
    const method = typeof o?.method === 'string' ? o.method.toUpperCase() : '';
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method))
      throw ScimError.badRequest('invalidSyntax', `Bulk operation ${i + 1}: "method" must be POST, PUT, PATCH or DELETE.`);
    if (typeof o.path !== 'string') throw ScimError.badRequest('invalidSyntax', `Bulk operation ${i + 1}: "path" is required.`);
    if (method === 'POST' && (typeof o.bulkId !== 'string' || o.bulkId === ''))
      throw ScimError.badRequest('invalidSyntax', `Bulk operation ${i + 1}: POST needs a "bulkId".`);
    return { method, path: o.path, bulkId: o.bulkId as string | undefined, data: o.data, version: o.version as string | undefined };
  });
  return { operations, failOnErrors };
}

/**
 * Where RFC 7644 §3.7.2 lets "bulkId:<id>" stand for the id of a resource created earlier in
 * the request: the whole id segment of an operation's `path`, and the whole value of a
 * reference attribute in its data (a group's `members[].value`, a user's enterprise
 * `manager.value`, in POST and PUT bodies and PATCH operation values). Nowhere else: a
 * displayName or title that mentions "bulkId:u1" is text, kept as sent.
 */
interface Slot {
  ref: string;
  set(id: string): void;
}

const BULK_REF = /^bulkId:(.+)$/;
const ENTERPRISE_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user';
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const keyOf = (o: Json, name: string) => Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());

/** A slot for `holder[key]` when it is a string "bulkId:…". */
function slotAt(holder: Json | unknown[], key: string | number, slots: Slot[]): void {
  const value = (holder as Record<string | number, unknown>)[key];
  const m = typeof value === 'string' ? BULK_REF.exec(value) : null;
  if (m) slots.push({ ref: m[1], set: (id) => ((holder as Record<string | number, unknown>)[key] = id) });
}

/** `members` values: objects with `value`, or bare ids (both are accepted by the groups service). */
function memberSlots(members: unknown, slots: Slot[]): void {
  const list = Array.isArray(members) ? members : members === undefined ? [] : [members];
  list.forEach((m, i) => (isObject(m) ? slotAt(m, 'value', slots) : Array.isArray(members) ? slotAt(members, i, slots) : undefined));
}

/** `manager` as `{ value }` or, Entra's form, a bare id. */
function managerSlots(holder: Json, key: string, slots: Slot[]): void {
  const manager = holder[key];
  if (isObject(manager)) slotAt(manager, 'value', slots);
  else slotAt(holder, key, slots);
}

function resourceSlots(type: string, data: unknown, slots: Slot[]): void {
  if (!isObject(data)) return;
  if (type === 'Groups') {
    const members = keyOf(data, 'members');
    if (members) memberSlots(data[members], slots);
    return;
  }
  const urn = keyOf(data, ENTERPRISE_URN);
  const ext = urn ? data[urn] : undefined;
  const manager = isObject(ext) ? keyOf(ext, 'manager') : undefined;
  if (isObject(ext) && manager) managerSlots(ext, manager, slots);
  const flat = keyOf(data, `${ENTERPRISE_URN}:manager`);
  if (flat) managerSlots(data, flat, slots);
}

function patchSlots(type: string, data: unknown, slots: Slot[]): void {
  const ops = isObject(data) ? (data.Operations ?? data.operations) : undefined;
  if (!Array.isArray(ops)) return;
  for (const op of ops) {
    if (!isObject(op)) continue;
    const path = typeof op.path === 'string' ? op.path.trim().toLowerCase() : undefined;
    if (path === undefined) resourceSlots(type, op.value, slots);
    else if (type === 'Groups' && path === 'members') memberSlots(op.value, slots);
    else if (type === 'Users' && (path === `${ENTERPRISE_URN}:manager` || path === `${ENTERPRISE_URN}:manager.value`)) {
      if (isObject(op.value)) slotAt(op.value, 'value', slots);
      else slotAt(op, 'value', slots);
    }
  }
}

/** The operation with its own copy of `data`, and the reference slots of its path and data. */
function withSlots(op: BulkOperation): { op: BulkOperation; slots: Slot[] } {
  const copy: BulkOperation = { ...op, data: op.data === undefined ? undefined : structuredClone(op.data) };
  const slots: Slot[] = [];
  const target = /^\/(Users|Groups)\/(bulkId:.+)$/.exec(copy.path);
  if (target) {
    const ref = target[2].slice('bulkId:'.length);
    slots.push({ ref, set: (id) => (copy.path = `/${target[1]}/${id}`) });
  }
  const type = /^\/(Users|Groups)/.exec(copy.path)?.[1] ?? '';
  if (copy.method === 'PATCH') patchSlots(type, copy.data, slots);
  else resourceSlots(type, copy.data, slots);
  return { op: copy, slots };
}

async function runOne(ctx: ScimContext, op: BulkOperation): Promise<{ status: number; location?: string; version?: string; id?: string }> {
  const match = /^\/(Users|Groups)(?:\/([^/]+))?$/.exec(op.path);
  if (!match) throw ScimError.badRequest('invalidPath', `"${op.path}" is not /Users, /Groups or one resource of them.`);
  const [, type, id] = match;
  const users = type === 'Users';
  if (op.method === 'POST') {
    if (id) throw ScimError.badRequest('invalidPath', 'POST goes to /Users or /Groups, without an id.');
    const created = users ? await userService.createUser(ctx, op.data) : await groupService.createGroup(ctx, op.data);
    return { status: 201, location: (created.resource.meta as Json).location as string, version: created.etag, id: created.resource.id };
  }
  if (!id) throw ScimError.badRequest('invalidPath', `${op.method} needs a resource id in "path".`);
  const location = `${ctx.baseUrl}/${type}/${id}`;
  if (op.method === 'DELETE') {
    await (users ? userService.deleteUser(ctx, id, op.version) : groupService.deleteGroup(ctx, id, op.version));
    return { status: 204, location };
  }
  if (op.method === 'PUT') {
    const r = users ? await userService.replaceUser(ctx, id, op.data, op.version) : await groupService.replaceGroup(ctx, id, op.data, op.version);
    return { status: 200, location, version: r.etag };
  }
  if (users) {
    const r = await userService.patchUser(ctx, id, op.data, op.version);
    return { status: 200, location, version: r.etag };
  }
  await groupService.patchGroup(ctx, id, op.data, op.version);
  return { status: 204, location };
}

export function bulkRouter(context: (req: Request) => ScimContext): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    const ctx = context(req);
    const { operations, failOnErrors } = parseBulk(req.body);
    const ids = new Map<string, string>();
    const results: (Json | undefined)[] = new Array(operations.length);
    let errors = 0;
    let pending = operations.map((_, i) => i);
    // Operations whose bulkId references are not yet created wait for a later pass (RFC 7644 §3.7.2).
    while (pending.length > 0 && errors < failOnErrors) {
      const deferred: number[] = [];
      for (const i of pending) {
        if (errors >= failOnErrors) break;
        const op = operations[i];
        const { op: resolved, slots } = withSlots(op);
        const missing = slots.map((slot) => slot.ref).filter((ref) => !ids.has(ref));
        // Defer only behind POSTs that have not run yet; a reference to a failed POST fails below.
        if (missing.some((ref) => operations.some((o, j) => o.bulkId === ref && results[j] === undefined))) {
          deferred.push(i);
          continue;
        }
        const base: Json = { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}) };
        try {
          if (missing.length > 0) {
            const defined = operations.some((o) => o.bulkId === missing[0]);
            throw new ScimError(
              409,
              'invalidValue',
              defined ? `bulkId "${missing[0]}" was not created: its POST failed.` : `bulkId "${missing[0]}" is not defined by any POST in this request.`,
            );
          }
          for (const slot of slots) slot.set(ids.get(slot.ref) as string);
          const result = await runOne(ctx, resolved);
          if (op.bulkId && result.id) ids.set(op.bulkId, result.id);
          results[i] = {
            ...base,
            ...(result.location ? { location: result.location } : {}),
            ...(result.version ? { version: result.version } : {}),
            status: String(result.status),
          };
        } catch (err) {
          const { error, unexpected } = toScimError(err, ctx.requestId);
          if (unexpected || error.status === 503) throw err; // not the operation's fault: fail the whole request
          errors += 1;
          results[i] = { ...base, status: String(error.status), response: scimErrorBody(error) };
        }
      }
      if (deferred.length === pending.length) {
        // A cycle of references: report each as unresolvable.
        for (const i of deferred) {
          errors += 1;
          const op = operations[i];
          results[i] = {
            method: op.method,
            ...(op.bulkId ? { bulkId: op.bulkId } : {}),
            status: '409',
            response: scimErrorBody(new ScimError(409, 'invalidValue', 'Circular bulkId references cannot be resolved.')),
          };
        }
        break;
      }
      pending = deferred;
    }
    sendScim(res, 200, { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkResponse'], Operations: results.filter((r) => r !== undefined) });
  });
  return router;
}
