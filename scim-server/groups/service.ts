/**
 * SCIM /Groups use cases. Membership PATCHes are applied as row inserts and deletes, never
 * by rewriting the member list, so Okta Group Push and Entra stay fast on groups of tens of
 * thousands. Member changes are recorded in the outbox as one `membership` change of the
 * group, and one `membership` change per user that joined or left it (every member when the
 * group is renamed or deleted), in the same transaction: the tenant policy's rules may test
 * group names (domain/policy.ts), so those users' workflows re-evaluate. Groups nest: a rule on
 * a group matches the members of the groups in it, so a nested group that joins or leaves, or
 * a renamed or deleted group, tells every user beneath it.
 */
import crypto from 'node:crypto';
import type { Queryable } from '../../common/db';
import type { ChangeKind } from '../../domain/resource-changes';
import { recordChanges, userChanges, type RecordedChange } from '../../common/repositories/outbox';
import * as groups from '../../common/repositories/scim-groups';
import { currentVersions } from '../../common/repositories/scim-users';
import type { ScimContext } from '../context';
import { checkIndexedLength, LIMITS } from '../limits';
import type { FilterNode } from '../../scim/filter/parser';
import { parsePatchPath } from '../../scim/filter/parser';
import { listResponse, pageOf, runList, type ListRequest } from '../list-params';
import { noteListing } from '../list-compaction';
import { parsePatchBody, type PatchOperation } from '../normalise';
import { checkIfMatch } from '../preconditions';
import { CORE_GROUP_URN, etagOf, excludesMembers, project, renderGroup, type ScimResource } from '../render';
import { ScimError } from '../../scim/error';
import { appendEvents, type AsyncRequest } from '../../common/repositories/security-events';
import { acceptAsyncRequest } from '../../events/async';
import { groupChangeEvents } from '../../events/set';

type Json = Record<string, unknown>;

interface GroupFields {
  displayName: string;
  externalId: string | null;
  doc: Json;
}

/** Member values named so far in one request, against LIMITS.groupMembersPerRequest (400 invalidValue beyond). */
class MemberBudget {
  private used = 0;
  take(count: number): void {
    this.used += count;
    if (this.used > LIMITS.groupMembersPerRequest) {
      throw ScimError.badRequest(
        'invalidValue',
        `"members": one request may name at most ${LIMITS.groupMembersPerRequest} members (this one names ${this.used} or more); send them in several requests.`,
      );
    }
  }
}

function memberIds(value: unknown, where: string, budget: MemberBudget): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  budget.take(list.length);
  return list.map((m, i) => {
    const v = typeof m === 'object' && m !== null ? (m as Json).value : m;
    if (typeof v !== 'string' || v.trim() === '')
      throw ScimError.badRequest('invalidValue', `${where}: member ${i + 1} needs a string "value" (the member's id).`);
    return v.trim();
  });
}

function groupFields(body: unknown): GroupFields & { members: string[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw ScimError.badRequest('invalidSyntax', 'The request body must be a JSON object (a SCIM Group resource).');
  const b = body as Json;
  if (!Array.isArray(b.schemas) || !b.schemas.some((s) => String(s).toLowerCase() === CORE_GROUP_URN.toLowerCase())) {
    throw ScimError.badRequest('invalidSyntax', `A Group body must list "${CORE_GROUP_URN}" in "schemas".`);
  }
  if (typeof b.displayName !== 'string' || b.displayName.trim() === '')
    throw ScimError.badRequest('invalidValue', '"displayName" is required and must be a non-empty string.');
  if (b.externalId !== undefined && b.externalId !== null && typeof b.externalId !== 'string')
    throw ScimError.badRequest('invalidValue', '"externalId" must be a string.');
  checkIndexedLength('displayName', b.displayName);
  checkIndexedLength('externalId', b.externalId);
  return {
    displayName: b.displayName,
    externalId: (b.externalId as string | undefined) ?? null,
    doc: {},
    members: memberIds(b.members, 'members', new MemberBudget()),
  };
}

async function resolveMembers(tx: Queryable, ctx: ScimContext, ids: string[], groupId: string): Promise<{ id: string; type: 'User' | 'Group' }[]> {
  const unique = [...new Set(ids)];
  const found = await groups.resolveMemberTypes(tx, ctx.tenantId, unique);
  const missing = unique.filter((id) => !found.has(id));
  if (missing.length > 0) {
    throw ScimError.badRequest(
      'invalidValue',
      `Members not found in this tenant: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}. Provision the users first.`,
    );
  }
  if (unique.includes(groupId)) throw ScimError.badRequest('invalidValue', 'A group cannot be a member of itself.');
  return unique.map((id) => ({ id, type: found.get(id) as 'User' | 'Group' }));
}

/**
 * Tells the workflows of the users among `memberIds`, and of the users in the groups among them
 * (nested), that a group of theirs changed. Those among `lostIds` (removed from the group, or
 * its members when it is deleted) may lose access by it: their changes are urgent, relayed ahead
 * of the others like a deactivation (least privilege).
 */
async function signalMembers(tx: Queryable, ctx: ScimContext, memberIds: Iterable<string>, lostIds: Iterable<string> = []): Promise<void> {
  const ids = [...memberIds];
  const users = await currentVersions(tx, ctx.tenantId, [...ids, ...(await groups.userIdsUnder(tx, ctx.tenantId, ids))]);
  const lost = [...lostIds];
  const losing = new Set(lost.length > 0 ? [...lost, ...(await groups.userIdsUnder(tx, ctx.tenantId, lost))] : []);
  const changes = userChanges(ctx.tenantId, 'membership', ctx.requestId, users, ctx.source).map((c) => (losing.has(c.resourceId) ? { ...c, urgent: true } : c));
  await recordChanges(tx, changes);
}

/** The members a group write added or removed (`changed`), and of those the ones removed (`removed`). */
interface MemberChanges {
  changed: Set<string>;
  removed: Set<string>;
}

/** The outbox row of this request's change to group `id`. */
function changeOf(ctx: ScimContext, id: string, change: ChangeKind, resourceVersion: number): RecordedChange {
  return { tenantId: ctx.tenantId, resourceType: 'Group', resourceId: id, change, resourceVersion, requestId: ctx.requestId, source: ctx.source };
}

/**
 * The events of this request's change to group `id` (docs/events.md) and, when it asked for an
 * asynchronous answer, its completion: a group has no workflow of its own, so the change is
 * complete when it commits (the users' workflows it signals report on their own).
 */
async function reportGroupChange(
  tx: Queryable,
  ctx: ScimContext,
  c: { id: string; method: AsyncRequest['method']; version: number; externalId: string | null; attributes?: string[]; changed: boolean },
): Promise<void> {
  if (c.changed) {
    await appendEvents(
      tx,
      groupChangeEvents({ tenantId: ctx.tenantId, id: c.id, version: c.version, method: c.method, externalId: c.externalId, attributes: c.attributes }),
    );
  }
  if (!ctx.asyncTxn) return;
  const request: AsyncRequest = {
    tenantId: ctx.tenantId,
    txn: ctx.asyncTxn,
    resourceType: 'Group',
    resourceId: c.id,
    method: c.method,
    resourceVersion: c.version,
    location: `${ctx.baseUrl}/Groups/${c.id}`,
    requestId: ctx.requestId,
  };
  await acceptAsyncRequest(tx, request, { version: c.version, externalId: c.externalId });
}

async function renderOne(ctx: ScimContext, row: groups.ScimGroupRow, attributes?: string[], excluded?: string[]): Promise<ScimResource> {
  const members = excludesMembers(attributes, excluded) ? undefined : (await groups.membersOf(ctx.db, ctx.tenantId, [row.id])).get(row.id);
  return project(renderGroup(row, members, ctx.baseUrl), attributes, excluded);
}

export async function createGroup(ctx: ScimContext, body: unknown): Promise<{ resource: ScimResource; etag: string }> {
  const fields = groupFields(body);
  const id = crypto.randomUUID();
  const row = await ctx.db.withTransaction(async (tx) => {
    const inserted = await groups.insertGroup(tx, ctx.tenantId, id, fields);
    const added = await groups.addMembers(tx, ctx.tenantId, id, await resolveMembers(tx, ctx, fields.members, id));
    await recordChanges(tx, [changeOf(ctx, id, 'created', inserted.version)]);
    await signalMembers(tx, ctx, added);
    const attributes = ['displayName', ...(fields.externalId !== null ? ['externalId'] : []), ...(added.length > 0 ? ['members'] : [])];
    await reportGroupChange(tx, ctx, { id, method: 'POST', version: inserted.version, externalId: fields.externalId, attributes, changed: true });
    return inserted;
  });
  ctx.onCommitted();
  return { resource: await renderOne(ctx, row), etag: etagOf(row.version) };
}

export async function getGroup(ctx: ScimContext, id: string): Promise<groups.ScimGroupRow> {
  const row = await groups.getGroup(ctx.db, ctx.tenantId, id);
  if (!row) throw ScimError.notFound(`Group "${id}" not found.`);
  return row;
}

export async function getGroupResource(ctx: ScimContext, id: string, attributes?: string[], excluded?: string[]) {
  const row = await getGroup(ctx, id);
  return { resource: await renderOne(ctx, row, attributes, excluded), etag: etagOf(row.version) };
}

async function writeGroup(
  ctx: ScimContext,
  id: string,
  method: 'PUT' | 'PATCH',
  ifMatch: string | undefined,
  apply: (tx: Queryable, current: groups.ScimGroupRow, changedMembers: MemberChanges) => Promise<{ fields?: GroupFields; membersChanged: boolean }>,
) {
  let changed = false;
  await ctx.db.withTransaction(async (tx) => {
    const current = await groups.getGroup(tx, ctx.tenantId, id, true);
    if (!current) throw ScimError.notFound(`Group "${id}" not found.`);
    checkIfMatch(ifMatch, current.version);
    const changedMembers: MemberChanges = { changed: new Set(), removed: new Set() };
    const result = await apply(tx, current, changedMembers);
    const fieldsChanged = result.fields !== undefined && (result.fields.displayName !== current.displayName || result.fields.externalId !== current.externalId);
    if (!fieldsChanged && !result.membersChanged) {
      await reportGroupChange(tx, ctx, { id, method, version: current.version, externalId: current.externalId, changed: false });
      return;
    }
    changed = true;
    const updated = fieldsChanged
      ? await groups.updateGroup(tx, ctx.tenantId, id, result.fields as GroupFields)
      : await groups.touchGroup(tx, ctx.tenantId, id);
    await recordChanges(tx, [changeOf(ctx, id, result.membersChanged ? 'membership' : 'updated', updated.version)]);
    const attributes = [
      ...(result.fields !== undefined && result.fields.displayName !== current.displayName ? ['displayName'] : []),
      ...(result.fields !== undefined && result.fields.externalId !== current.externalId ? ['externalId'] : []),
      ...(result.membersChanged ? ['members'] : []),
    ];
    const externalId = result.fields !== undefined ? result.fields.externalId : current.externalId;
    await reportGroupChange(tx, ctx, { id, method, version: updated.version, externalId, attributes, changed: true });
    // A rename changes what every member's group conditions see; otherwise only the members that came or went.
    const renamed = result.fields !== undefined && result.fields.displayName !== current.displayName;
    await signalMembers(tx, ctx, renamed ? [...changedMembers.changed, id] : changedMembers.changed, changedMembers.removed);
  });
  if (changed) ctx.onCommitted();
  return changed;
}

export async function replaceGroup(ctx: ScimContext, id: string, body: unknown, ifMatch?: string) {
  const fields = groupFields(body);
  const changed = await writeGroup(ctx, id, 'PUT', ifMatch, async (tx, _current, changedMembers) => {
    const wanted = await resolveMembers(tx, ctx, fields.members, id);
    const currentIds = new Set((await groups.membersOf(tx, ctx.tenantId, [id])).get(id)?.map((m) => m.value));
    const wantedIds = new Set(wanted.map((m) => m.id));
    const removed = await groups.removeMembers(
      tx,
      ctx.tenantId,
      id,
      [...currentIds].filter((m) => !wantedIds.has(m)),
    );
    const added = await groups.addMembers(
      tx,
      ctx.tenantId,
      id,
      wanted.filter((m) => !currentIds.has(m.id)),
    );
    for (const m of [...removed, ...added]) changedMembers.changed.add(m);
    for (const m of removed) changedMembers.removed.add(m);
    return { fields, membersChanged: removed.length + added.length > 0 };
  });
  return { ...(await getGroupResource(ctx, id)), changed };
}

/** The member ids named by a `members[value eq "x"]` filter (Entra's removal form), or undefined when the filter is of another shape. */
function idsFromMemberFilter(filter: FilterNode): string[] | undefined {
  if (filter.type === 'compare' && filter.op === 'eq' && filter.path.attr.toLowerCase() === 'value' && typeof filter.value === 'string') return [filter.value];
  if (filter.type === 'or') {
    const l = idsFromMemberFilter(filter.left);
    const r = idsFromMemberFilter(filter.right);
    return l && r ? [...l, ...r] : undefined;
  }
  return undefined;
}

/** Applies one PATCH operation; the ids of members added or removed go into `changed`. Returns whether the members changed. */
async function applyGroupOperation(
  tx: Queryable,
  ctx: ScimContext,
  groupId: string,
  fields: GroupFields,
  op: PatchOperation,
  index: number,
  changed: MemberChanges,
  budget: MemberBudget,
): Promise<boolean> {
  const record = (ids: string[], removed: string[] = []) => {
    for (const m of ids) changed.changed.add(m);
    for (const m of removed) changed.removed.add(m);
    return ids.length > 0;
  };
  const removal = (ids: string[]) => record(ids, ids);
  const where = `Operation ${index + 1}`;
  if (!op.path) {
    // No-path form: the value is an object of attributes (RFC 7644 §3.5.2.1/.3).
    if (typeof op.value !== 'object' || op.value === null || Array.isArray(op.value)) {
      throw ScimError.badRequest('invalidValue', `${where}: without a "path", "value" must be an object of attributes.`);
    }
    let anyChanged = false;
    for (const [key, value] of Object.entries(op.value as Json)) {
      // Okta renames a pushed group with {"op":"replace","value":{"id":"<this id>","displayName":"…"}}: an
      // unchanged id is not a modification of the readOnly attribute (RFC 7643 §2.2), so it is skipped;
      // a different id still fails with mutability below.
      if (key.toLowerCase() === 'id' && value === groupId) continue;
      anyChanged = (await applyGroupOperation(tx, ctx, groupId, fields, { op: op.op, path: key, value }, index, changed, budget)) || anyChanged;
    }
    return anyChanged;
  }
  const parsed = (() => {
    try {
      return parsePatchPath(op.path);
    } catch (err) {
      throw err instanceof ScimError ? new ScimError(400, 'invalidPath', `${where}: ${err.detail}`) : err;
    }
  })();
  const attr = parsed.path.attr.toLowerCase();
  if (parsed.path.schema && parsed.path.schema.toLowerCase() !== CORE_GROUP_URN.toLowerCase()) {
    throw ScimError.badRequest('invalidPath', `${where}: "${op.path}" is not an attribute of Group.`);
  }
  if (attr === 'displayname' || attr === 'externalid') {
    if (op.op === 'remove') {
      if (attr === 'displayname') throw ScimError.badRequest('mutability', `${where}: displayName is required and cannot be removed.`);
      fields.externalId = null;
    } else if (attr === 'externalid' && (op.value === null || op.value === '')) {
      // Entra clears an emptied attribute with "" or null (its gallery check "a PATCH to "" then to null leaves the attribute empty"; RFC 7643 §2.5).
      fields.externalId = null;
    } else {
      if (typeof op.value !== 'string' || (attr === 'displayname' && op.value.trim() === '')) {
        throw ScimError.badRequest('invalidValue', `${where}: "${parsed.path.attr}" must be a non-empty string.`);
      }
      checkIndexedLength(parsed.path.attr, op.value);
      if (attr === 'displayname') fields.displayName = op.value;
      else fields.externalId = op.value;
    }
    return false;
  }
  if (attr === 'id' || attr === 'meta') throw ScimError.badRequest('mutability', `${where}: "${parsed.path.attr}" is read-only.`);
  if (attr !== 'members') throw ScimError.badRequest('invalidPath', `${where}: "${op.path}" is not an attribute of Group.`);

  if (op.op === 'remove') {
    if (parsed.filter) {
      const ids = idsFromMemberFilter(parsed.filter);
      if (!ids) throw ScimError.badRequest('invalidFilter', `${where}: member removal supports filters of the form members[value eq "id"].`);
      return removal(await groups.removeMembers(tx, ctx.tenantId, groupId, ids));
    }
    // Entra's form: remove with a value array removes exactly those members, never everyone.
    if (op.value !== undefined) return removal(await groups.removeMembers(tx, ctx.tenantId, groupId, memberIds(op.value, where, budget)));
    return removal(await groups.removeMembers(tx, ctx.tenantId, groupId, 'all'));
  }
  const wanted = await resolveMembers(tx, ctx, memberIds(op.value, where, budget), groupId);
  if (op.op === 'replace') {
    // replace on members sets the whole list (RFC 7644 §3.5.2.3).
    const keep = new Set(wanted.map((m) => m.id));
    const current = (await groups.membersOf(tx, ctx.tenantId, [groupId])).get(groupId) ?? [];
    const removed = await groups.removeMembers(
      tx,
      ctx.tenantId,
      groupId,
      current.map((m) => m.value).filter((m) => !keep.has(m)),
    );
    const added = await groups.addMembers(tx, ctx.tenantId, groupId, wanted);
    return record([...removed, ...added], removed);
  }
  // add: re-adding an existing member is a no-op, not a duplicate.
  return record(await groups.addMembers(tx, ctx.tenantId, groupId, wanted));
}

export async function patchGroup(ctx: ScimContext, id: string, body: unknown, ifMatch?: string) {
  const operations = parsePatchBody(body);
  const changed = await writeGroup(ctx, id, 'PATCH', ifMatch, async (tx, current, changedMembers) => {
    const fields: GroupFields = { displayName: current.displayName, externalId: current.externalId, doc: current.doc };
    let membersChanged = false;
    const budget = new MemberBudget();
    for (const [i, op] of operations.entries())
      membersChanged = (await applyGroupOperation(tx, ctx, id, fields, op, i, changedMembers, budget)) || membersChanged;
    return { fields, membersChanged };
  });
  return { changed };
}

export async function deleteGroup(ctx: ScimContext, id: string, ifMatch?: string): Promise<void> {
  await ctx.db.withTransaction(async (tx) => {
    const current = await groups.getGroup(tx, ctx.tenantId, id, true);
    if (!current) throw ScimError.notFound(`Group "${id}" not found.`);
    checkIfMatch(ifMatch, current.version);
    const members = await groups.userIdsUnder(tx, ctx.tenantId, [id]);
    await groups.deleteGroup(tx, ctx.tenantId, id);
    await recordChanges(tx, [changeOf(ctx, id, 'deleted', current.version + 1)]);
    await signalMembers(tx, ctx, members, members);
    await reportGroupChange(tx, ctx, { id, method: 'DELETE', version: current.version + 1, externalId: current.externalId, changed: true });
  });
  ctx.onCommitted();
}

export async function listGroups(ctx: ScimContext, req: ListRequest): Promise<Json> {
  noteListing(ctx.db, ctx.tenantId, 'Group', req.query.page);
  const { total, rows: fetched } = await runList(req, () => groups.listGroupsWithTotal(ctx.db, ctx.tenantId, req.query));
  const { rows, ...cursors } = pageOf(req, fetched);
  const withMembers = !excludesMembers(req.attributes, req.excludedAttributes);
  const members = withMembers
    ? await groups.membersOf(
        ctx.db,
        ctx.tenantId,
        rows.map((r) => r.id),
      )
    : undefined;
  const resources = rows.map((r) => project(renderGroup(r, members?.get(r.id), ctx.baseUrl), req.attributes, req.excludedAttributes));
  return listResponse(req, total, resources, cursors);
}
