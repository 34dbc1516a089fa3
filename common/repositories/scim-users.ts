/** SQL for SCIM users. The resource JSON lives in `doc`; the columns beside it serve lookups and indexes. */
import { isUuid } from '../db/uuid';
import type { Queryable } from '../db';

export interface ScimUserRow {
  id: string;
  tenantId: string;
  doc: Record<string, unknown>;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  provisioning?: ProvisioningRow | null;
  /** created_at to the microsecond, set by list queries: the cursor key (a Date keeps only milliseconds). */
  cursorCreatedAt?: string;
}

export interface ProvisioningRow {
  state: string;
  waitingFor: string | null;
  waitingUntil: Date | null;
  lastError: string | null;
  workflowId: string;
}

/** A list query: `where` is SQL over alias `r` whose parameters continue after $1 (the tenant). */
export interface ListQuery {
  where: string;
  params: unknown[];
  orderBy: string;
  descending: boolean;
  offset: number;
  limit: number;
  /** Keyset cursor for the default order (created_at, id). */
  after?: { createdAt: string; id: string };
}

function columnsOf(doc: Record<string, unknown>) {
  const emails = Array.isArray(doc.emails) ? (doc.emails as { value?: unknown }[]) : [];
  return {
    userName: String(doc.userName),
    externalId: typeof doc.externalId === 'string' ? doc.externalId : null,
    displayName: typeof doc.displayName === 'string' ? doc.displayName : null,
    active: doc.active !== false,
    emailValues: [...new Set(emails.map((e) => (typeof e?.value === 'string' ? e.value.toLowerCase() : null)).filter((v): v is string => v !== null))],
  };
}

const SELECT_COLUMNS = `SELECT r.id::text AS id, r.tenant_id, r.doc, r.version, r.created_at, r.updated_at,
  p.state AS p_state, p.waiting_for AS p_waiting_for, p.waiting_until AS p_waiting_until, p.last_error AS p_last_error, p.workflow_id AS p_workflow_id`;
const FROM = `FROM scim_users r LEFT JOIN provisioning_states p ON p.tenant_id = r.tenant_id AND p.user_id = r.id`;
const SELECT = `${SELECT_COLUMNS}
  ${FROM}`;

/**
 * The exact created_at as text, for RFC 9865 cursors. A JS Date drops the microseconds, and a
 * cursor built from it sorts before its own row, so each next page repeated the previous
 * page's last row (and never advanced past rows created within one millisecond).
 */
export const CURSOR_CREATED_AT = `to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_created_at`;

function toRow(r: Record<string, never>): ScimUserRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    doc: r.doc,
    version: r.version,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    ...(r.cursor_created_at ? { cursorCreatedAt: r.cursor_created_at as string } : {}),
    provisioning: r.p_state
      ? { state: r.p_state, waitingFor: r.p_waiting_for, waitingUntil: r.p_waiting_until, lastError: r.p_last_error, workflowId: r.p_workflow_id }
      : null,
  };
}

export async function insertUser(tx: Queryable, tenantId: string, id: string, doc: Record<string, unknown>): Promise<ScimUserRow> {
  const c = columnsOf(doc);
  const r = (
    await tx.query<Record<string, never>>(
      `INSERT INTO scim_users (tenant_id, id, user_name, external_id, display_name, active, email_values, doc)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
       RETURNING id::text AS id, tenant_id, doc, version, created_at, updated_at`,
      [tenantId, id, c.userName, c.externalId, c.displayName, c.active, c.emailValues, JSON.stringify(doc)],
    )
  ).rows[0];
  return toRow(r);
}

export async function getUser(db: Queryable, tenantId: string, id: string): Promise<ScimUserRow | undefined> {
  if (!isUuid(id)) return undefined;
  const r = (await db.query<Record<string, never>>(`${SELECT} WHERE r.tenant_id = $1 AND r.id = $2::uuid`, [tenantId, id])).rows[0];
  return r ? toRow(r) : undefined;
}

/** Locks the row for a read-modify-write inside a transaction. */
export async function getUserForUpdate(tx: Queryable, tenantId: string, id: string): Promise<ScimUserRow | undefined> {
  if (!isUuid(id)) return undefined;
  const r = (
    await tx.query<Record<string, never>>(
      `SELECT r.id::text AS id, r.tenant_id, r.doc, r.version, r.created_at, r.updated_at FROM scim_users r
       WHERE r.tenant_id = $1 AND r.id = $2::uuid FOR UPDATE`,
      [tenantId, id],
    )
  ).rows[0];
  return r ? toRow(r) : undefined;
}

export async function updateUser(tx: Queryable, tenantId: string, id: string, doc: Record<string, unknown>): Promise<ScimUserRow> {
  const c = columnsOf(doc);
  const r = (
    await tx.query<Record<string, never>>(
      `UPDATE scim_users SET user_name = $3, external_id = $4, display_name = $5, active = $6, email_values = $7, doc = $8::jsonb,
         version = version + 1, updated_at = clock_timestamp()
       WHERE tenant_id = $1 AND id = $2::uuid
       RETURNING id::text AS id, tenant_id, doc, version, created_at, updated_at`,
      [tenantId, id, c.userName, c.externalId, c.displayName, c.active, c.emailValues, JSON.stringify(doc)],
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

export async function deleteUser(tx: Queryable, tenantId: string, id: string): Promise<number | undefined> {
  const r = (
    await tx.query<{ version: number }>('DELETE FROM scim_users WHERE tenant_id = $1 AND id = $2::uuid RETURNING version', [tenantId, id])
  ).rows[0];
  if (!r) return undefined;
  const left = await tx.query<{ group_id: string }>('DELETE FROM scim_group_members WHERE tenant_id = $1 AND member_id = $2::uuid RETURNING group_id::text AS group_id', [tenantId, id]);
  await touchGroupsOf(tx, tenantId, left.rows.map((m) => m.group_id));
  return r.version;
}

export async function listUsers(db: Queryable, tenantId: string, q: ListQuery): Promise<ScimUserRow[]> {
  const params = [tenantId, ...q.params];
  const dir = q.descending ? 'DESC' : 'ASC';
  let keyset = '';
  if (q.after) {
    params.push(q.after.createdAt, q.after.id);
    keyset = ` AND (r.created_at, r.id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
  }
  params.push(q.limit, q.offset);
  const sql = `${SELECT_COLUMNS}, ${CURSOR_CREATED_AT}
  ${FROM} WHERE r.tenant_id = $1 AND (${q.where})${keyset}
    ORDER BY ${q.orderBy} ${dir} NULLS LAST, r.created_at ${dir}, r.id ${dir} LIMIT $${params.length - 1} OFFSET $${params.length}`;
  return (await db.query<Record<string, never>>(sql, params)).rows.map(toRow);
}

export async function countUsers(db: Queryable, tenantId: string, where: string, params: unknown[]): Promise<number> {
  return (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM scim_users r WHERE r.tenant_id = $1 AND (${where})`, [tenantId, ...params]))
    .rows[0].n;
}

export async function findUserIdsByExternalId(db: Queryable, tenantId: string, externalId: string): Promise<string[]> {
  return (await db.query<{ id: string }>('SELECT id::text AS id FROM scim_users WHERE tenant_id = $1 AND external_id = $2', [tenantId, externalId])).rows.map(
    (r) => r.id,
  );
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

export interface StoredUser {
  id: string;
  doc: Record<string, unknown>;
  version: number;
  userName: string;
  /** The application directory's status of the user; null before its profile exists. */
  appStatus: string | null;
}

/** A page of the tenant's SCIM users in id order, after `afterId` (keyset paging for whole-tenant passes). */
export async function pageOfUsers(db: Queryable, tenantId: string, afterId: string | null, limit: number): Promise<StoredUser[]> {
  return (
    await db.query<{ id: string; doc: Record<string, unknown>; version: number; user_name: string; app_status: string | null }>(
      `SELECT r.id::text AS id, r.doc, r.version, r.user_name, a.status AS app_status
       FROM scim_users r LEFT JOIN app_users a ON a.tenant_id = r.tenant_id AND a.user_id = r.id
       WHERE r.tenant_id = $1 AND ($2::uuid IS NULL OR r.id > $2::uuid) ORDER BY r.id LIMIT $3`,
      [tenantId, afterId, limit],
    )
  ).rows.map((r) => ({ id: r.id, doc: r.doc, version: r.version, userName: r.user_name, appStatus: r.app_status }));
}
