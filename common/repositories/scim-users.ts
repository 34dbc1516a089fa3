/** SQL for SCIM users. The resource JSON lives in `doc`; the columns beside it serve lookups and indexes. */
import { userNameKey } from '../../domain/user-name';
import { isUuid } from '../../domain/uuid';
import type { Queryable } from '../db';
import { countRows, listRows, listWithTotal, type ListQuery, type ListSource } from './list-query';
import { recordChangesCte, type RecordedChange } from './outbox';
import { appendEventsCte, type NewSecurityEvent } from './security-events';

export type { ListQuery } from './list-query';

export interface ScimUserRow {
  id: string;
  tenantId: string;
  doc: Record<string, unknown>;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  provisioning?: ProvisioningRow | null;
  /** The groups the user is in (RFC 7643 §4.1.2), directly or through nested groups. */
  groups?: GroupOfUser[];
  /** Where the user stands in its tenant's listing (migration 024): index and cursor paging key. */
  listPosition: number;
}

export interface GroupOfUser {
  value: string;
  display: string;
  type: 'direct' | 'indirect';
}

export interface ProvisioningRow {
  state: string;
  waitingFor: string | null;
  waitingUntil: Date | null;
  lastError: string | null;
  workflowId: string;
}

function columnsOf(doc: Record<string, unknown>) {
  const emails = Array.isArray(doc.emails) ? (doc.emails as { value?: unknown }[]) : [];
  return {
    userName: String(doc.userName),
    userNameKey: userNameKey(String(doc.userName)),
    externalId: typeof doc.externalId === 'string' ? doc.externalId : null,
    displayName: typeof doc.displayName === 'string' ? doc.displayName : null,
    active: doc.active !== false,
    emailValues: [...new Set(emails.map((e) => (typeof e?.value === 'string' ? e.value.toLowerCase() : null)).filter((v): v is string => v !== null))],
  };
}

/** The user's groups, read with the user (scim_user_groups, migration 015: one index probe when it is in none). */
const GROUPS_COLUMN = `scim_user_groups(r.tenant_id, r.id) AS groups`;
const COLUMNS = `r.id::text AS id, r.tenant_id, r.doc, r.version, r.created_at, r.updated_at, r.list_position,
  p.state AS p_state, p.waiting_for AS p_waiting_for, p.waiting_until AS p_waiting_until, p.last_error AS p_last_error, p.workflow_id AS p_workflow_id,
  ${GROUPS_COLUMN}`;
/** The user's provisioning state (written by its workflow), shown as the scimflow extension's `provisioning`. */
const PROVISIONING_JOIN = `LEFT JOIN provisioning_states p ON p.tenant_id = r.tenant_id AND p.user_id = r.id`;

function toRow(r: Record<string, never>): ScimUserRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    doc: r.doc,
    version: r.version,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    listPosition: Number(r.list_position),
    provisioning: r.p_state
      ? { state: r.p_state, waitingFor: r.p_waiting_for, waitingUntil: r.p_waiting_until, lastError: r.p_last_error, workflowId: r.p_workflow_id }
      : null,
    groups: (r.groups as GroupOfUser[] | null) ?? [],
  };
}

/** The version of a user just created (the column's default). */
export const FIRST_VERSION = 1;

/**
 * Writes the user and, in the same statement, the outbox rows of `record` (its 'created'
 * change, at FIRST_VERSION) and its security events (`events`, the feed: events/set.ts): a
 * create is one round trip, atomic without a transaction.
 */
export async function insertUser(
  tx: Queryable,
  tenantId: string,
  id: string,
  doc: Record<string, unknown>,
  record: readonly RecordedChange[] = [],
  events: readonly NewSecurityEvent[] = [],
): Promise<ScimUserRow> {
  const c = columnsOf(doc);
  const outbox = recordChangesCte(record, 10);
  const feed = appendEventsCte(events, 10 + outbox.params.length);
  const r = (
    await tx.query<Record<string, never>>(
      `WITH r AS (INSERT INTO scim_users (tenant_id, id, user_name, external_id, display_name, active, email_values, doc, user_name_key)
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9) RETURNING *)${outbox.sql}${feed.sql}
       SELECT r.id::text AS id, r.tenant_id, r.doc, r.version, r.created_at, r.updated_at, r.list_position FROM r`,
      [tenantId, id, c.userName, c.externalId, c.displayName, c.active, c.emailValues, JSON.stringify(doc), c.userNameKey, ...outbox.params, ...feed.params],
    )
  ).rows[0];
  return toRow(r);
}

export async function getUser(db: Queryable, tenantId: string, id: string): Promise<ScimUserRow | undefined> {
  if (!isUuid(id)) return undefined;
  const r = (
    await db.query<Record<string, never>>(`SELECT ${COLUMNS} FROM scim_users r ${PROVISIONING_JOIN} WHERE r.tenant_id = $1 AND r.id = $2::uuid`, [tenantId, id])
  ).rows[0];
  return r ? toRow(r) : undefined;
}

/** Whether the tenant has the SCIM user `id` (one primary-key probe). */
export async function userExists(db: Queryable, tenantId: string, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  return (await db.query('SELECT 1 FROM scim_users WHERE tenant_id = $1 AND id = $2::uuid', [tenantId, id])).rowCount > 0;
}

/** Locks the row for a read-modify-write inside a transaction; read as rendered (with its provisioning state), for a write that changes nothing. */
export async function getUserForUpdate(tx: Queryable, tenantId: string, id: string): Promise<ScimUserRow | undefined> {
  if (!isUuid(id)) return undefined;
  const r = (
    await tx.query<Record<string, never>>(
      `SELECT ${COLUMNS} FROM scim_users r ${PROVISIONING_JOIN} WHERE r.tenant_id = $1 AND r.id = $2::uuid FOR UPDATE OF r`,
      [tenantId, id],
    )
  ).rows[0];
  return r ? toRow(r) : undefined;
}

/**
 * Bumps the version and returns the updated row as rendered (with its provisioning state), so
 * no re-read is needed. The same statement writes the outbox rows of `record` (its 'updated'
 * change, at the locked row's version + 1) and its security events (`events`).
 */
export async function updateUser(
  tx: Queryable,
  tenantId: string,
  id: string,
  doc: Record<string, unknown>,
  record: readonly RecordedChange[] = [],
  events: readonly NewSecurityEvent[] = [],
): Promise<ScimUserRow> {
  const c = columnsOf(doc);
  const outbox = recordChangesCte(record, 10);
  const feed = appendEventsCte(events, 10 + outbox.params.length);
  const r = (
    await tx.query<Record<string, never>>(
      `WITH r AS (UPDATE scim_users SET user_name = $3, external_id = $4, display_name = $5, active = $6, email_values = $7, doc = $8::jsonb,
                    user_name_key = $9, version = version + 1, updated_at = clock_timestamp()
                  WHERE tenant_id = $1 AND id = $2::uuid RETURNING *)${outbox.sql}${feed.sql}
       SELECT ${COLUMNS} FROM r ${PROVISIONING_JOIN}`,
      [tenantId, id, c.userName, c.externalId, c.displayName, c.active, c.emailValues, JSON.stringify(doc), c.userNameKey, ...outbox.params, ...feed.params],
    )
  ).rows[0];
  return toRow(r);
}

/**
 * Groups that lost a member through the member's deletion changed too: their version (ETag)
 * and lastModified must move on (RFC 7644 §3.14), or an If-None-Match client keeps a stale member list.
 */
export async function touchGroupsOf(tx: Queryable, tenantId: string, groupIds: string[]): Promise<void> {
  if (groupIds.length === 0) return;
  await tx.query('UPDATE scim_groups SET version = version + 1, updated_at = clock_timestamp() WHERE tenant_id = $1 AND id = ANY($2::uuid[])', [
    tenantId,
    groupIds,
  ]);
}

/**
 * Deletes the user and its group memberships. The same statement keeps its last document in
 * scim_deleted_users (migration 022) until the deletion is carried out: a Super User who rejects
 * the held termination restores it (restoreDeletedUser).
 */
export async function deleteUser(tx: Queryable, tenantId: string, id: string): Promise<number | undefined> {
  const r = (
    await tx.query<{ version: number }>(
      `WITH r AS (DELETE FROM scim_users WHERE tenant_id = $1 AND id = $2::uuid RETURNING *),
            t AS (INSERT INTO scim_deleted_users (tenant_id, id, doc, version, created_at)
                  SELECT tenant_id, id, doc, version, created_at FROM r
                  ON CONFLICT (tenant_id, id) DO UPDATE SET doc = EXCLUDED.doc, version = EXCLUDED.version, created_at = EXCLUDED.created_at,
                    deleted_at = now(), group_ids = '{}')
       SELECT version FROM r`,
      [tenantId, id],
    )
  ).rows[0];
  if (!r) return undefined;
  const left = await tx.query<{ group_id: string }>(
    'DELETE FROM scim_group_members WHERE tenant_id = $1 AND member_id = $2::uuid RETURNING group_id::text AS group_id',
    [tenantId, id],
  );
  const groupIds = left.rows.map((m) => m.group_id);
  if (groupIds.length > 0) {
    await tx.query('UPDATE scim_deleted_users SET group_ids = $3::uuid[] WHERE tenant_id = $1 AND id = $2::uuid', [tenantId, id, groupIds]);
  }
  await touchGroupsOf(tx, tenantId, groupIds);
  return r.version;
}

/** A deleted user's last document, kept while its deletion is undecided (migration 022). */
export interface DeletedUser {
  id: string;
  doc: Record<string, unknown>;
  /** The resource's last version before the deletion. */
  version: number;
  createdAt: Date;
  deletedAt: Date;
  /** The groups it was a direct member of. */
  groupIds: string[];
}

/** The kept document of a deleted user, locked for its restoration; undefined when none is kept (restored, terminated, or deleted before 0.3). */
export async function deletedUserForUpdate(tx: Queryable, tenantId: string, id: string): Promise<DeletedUser | undefined> {
  if (!isUuid(id)) return undefined;
  const r = (
    await tx.query<{ id: string; doc: Record<string, unknown>; version: number; created_at: Date; deleted_at: Date; group_ids: string[] }>(
      `SELECT id::text AS id, doc, version, created_at, deleted_at, group_ids::text[] AS group_ids FROM scim_deleted_users
       WHERE tenant_id = $1 AND id = $2::uuid FOR UPDATE`,
      [tenantId, id],
    )
  ).rows[0];
  return r
    ? { id: r.id, doc: r.doc, version: r.version, createdAt: new Date(r.created_at), deletedAt: new Date(r.deleted_at), groupIds: r.group_ids }
    : undefined;
}

/** The user that holds `userName` (case-insensitively, or by its look-alike key) in the tenant, if any. */
export async function userIdHoldingName(db: Queryable, tenantId: string, userName: string): Promise<string | undefined> {
  return (
    await db.query<{ id: string }>(
      'SELECT id::text AS id FROM scim_users WHERE tenant_id = $1 AND (lower(user_name) = lower($2) OR user_name_key = $3) LIMIT 1',
      [tenantId, userName, userNameKey(userName)],
    )
  ).rows[0]?.id;
}

/**
 * Writes the deleted user back as a SCIM resource: the same id, its kept document and creation
 * time, the version `version` (past the deletion's, so ETags change), with the outbox rows of
 * `record` and the events of `events` in the same statement; gives back its direct memberships
 * of the groups that still exist (their versions move on) and forgets the kept document.
 * Throws UniqueViolationError when another user took its userName meanwhile.
 */
export async function restoreDeletedUser(
  tx: Queryable,
  tenantId: string,
  deleted: DeletedUser,
  version: number,
  record: readonly RecordedChange[] = [],
  events: readonly NewSecurityEvent[] = [],
): Promise<{ row: ScimUserRow; groupIds: string[] }> {
  const c = columnsOf(deleted.doc);
  const outbox = recordChangesCte(record, 12);
  const feed = appendEventsCte(events, 12 + outbox.params.length);
  await tx.query<Record<string, never>>(
    `WITH r AS (INSERT INTO scim_users (tenant_id, id, user_name, external_id, display_name, active, email_values, doc, user_name_key, version, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11) RETURNING *)${outbox.sql}${feed.sql}
     SELECT r.id FROM r`,
    [
      tenantId,
      deleted.id,
      c.userName,
      c.externalId,
      c.displayName,
      c.active,
      c.emailValues,
      JSON.stringify(deleted.doc),
      c.userNameKey,
      version,
      deleted.createdAt,
      ...outbox.params,
      ...feed.params,
    ],
  );
  const back = (
    await tx.query<{ group_id: string }>(
      `INSERT INTO scim_group_members (tenant_id, group_id, member_id, member_type)
       SELECT $1, g.id, $2::uuid, 'User' FROM scim_groups g WHERE g.tenant_id = $1 AND g.id = ANY($3::uuid[])
       ON CONFLICT DO NOTHING RETURNING group_id::text AS group_id`,
      [tenantId, deleted.id, deleted.groupIds],
    )
  ).rows.map((m) => m.group_id);
  await touchGroupsOf(tx, tenantId, back);
  await forgetDeletedUser(tx, tenantId, deleted.id);
  const row = await getUser(tx, tenantId, deleted.id);
  return { row: row as ScimUserRow, groupIds: back };
}

/** Forgets a deleted user's kept document: restored, or its deletion carried out (termination). */
export async function forgetDeletedUser(tx: Queryable, tenantId: string, id: string): Promise<void> {
  await tx.query('DELETE FROM scim_deleted_users WHERE tenant_id = $1 AND id = $2::uuid', [tenantId, id]);
}

const LIST: ListSource<ScimUserRow> = { table: 'scim_users', columns: COLUMNS, joins: PROVISIONING_JOIN, toRow };

/** A page of a list or search (see list-query.ts). */
export async function listUsers(db: Queryable, tenantId: string, q: ListQuery): Promise<ScimUserRow[]> {
  return listRows(db, LIST, tenantId, q);
}

export async function countUsers(db: Queryable, tenantId: string, where: string, params: unknown[]): Promise<number> {
  return countRows(db, 'scim_users', tenantId, where, params);
}

/** A list response's page and totalResults (one lookup for a unique-key filter). */
export async function listUsersWithTotal(db: Queryable, tenantId: string, q: ListQuery): Promise<{ total: number; rows: ScimUserRow[] }> {
  return listWithTotal(db, LIST, tenantId, q);
}

/**
 * The current version of each of `ids` (member ids read from the database) that is a user of
 * this tenant and not terminated in the application: group ids, deleted users and users whose
 * workflow has finished are left out, so a group change never restarts a finished workflow.
 */
export async function currentVersions(db: Queryable, tenantId: string, ids: string[]): Promise<{ id: string; version: number }[]> {
  if (ids.length === 0) return [];
  return (
    await db.query<{ id: string; version: number }>(
      `SELECT r.id::text AS id, r.version FROM scim_users r LEFT JOIN app_users a ON a.tenant_id = r.tenant_id AND a.user_id = r.id
       WHERE r.tenant_id = $1 AND r.id = ANY($2::uuid[]) AND a.status IS DISTINCT FROM 'terminated' ORDER BY r.id`,
      [tenantId, [...new Set(ids)]],
    )
  ).rows;
}

/** A user as a whole-tenant pass pages through them; its document is read with its other inputs (desired-inputs.ts). */
export interface StoredUser {
  id: string;
  version: number;
  userName: string;
  /** The application directory's status of the user; null before its profile exists. */
  appStatus: string | null;
}

/** A page of the tenant's SCIM users in id order, after `afterId` (keyset paging for whole-tenant passes). */
export async function pageOfUsers(db: Queryable, tenantId: string, afterId: string | null, limit: number): Promise<StoredUser[]> {
  return (
    await db.query<{ id: string; version: number; user_name: string; app_status: string | null }>(
      `SELECT r.id::text AS id, r.version, r.user_name, a.status AS app_status
       FROM scim_users r LEFT JOIN app_users a ON a.tenant_id = r.tenant_id AND a.user_id = r.id
       WHERE r.tenant_id = $1 AND ($2::uuid IS NULL OR r.id > $2::uuid) ORDER BY r.id LIMIT $3`,
      [tenantId, afterId, limit],
    )
  ).rows.map((r) => ({ id: r.id, version: r.version, userName: r.user_name, appStatus: r.app_status }));
}

/** Seconds, on the database clock, since the user was created (scimflow_time_to_invitation_seconds). */
export async function secondsSinceCreated(db: Queryable, tenantId: string, id: string): Promise<number | undefined> {
  if (!isUuid(id)) return undefined;
  const row = (
    await db.query<{ s: number | null }>('SELECT EXTRACT(EPOCH FROM now() - created_at)::float8 AS s FROM scim_users WHERE tenant_id = $1 AND id = $2::uuid', [
      tenantId,
      id,
    ])
  ).rows[0];
  return row?.s ?? undefined;
}
