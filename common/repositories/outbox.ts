/**
 * The transactional outbox. Every writer records its changes the same way: as
 * `RecordedChange`s, written by one INSERT (`insertChanges`) in the transaction of the write
 * (`recordChanges`), or in the very statement of a user write (`recordChangesCte`, for SCIM
 * creates and updates: one round trip). The relay claims due rows with a lease, hands them to
 * Temporal, and marks them delivered.
 */
import type { Queryable } from '../db';
import { SOURCE_OF_KIND, type ChangeKind, type ChangeSource, type ResourceType } from '../../domain/resource-changes';

/** One outbox row as its writer records it. */
export interface RecordedChange {
  tenantId: string;
  resourceType: ResourceType;
  resourceId: string;
  change: ChangeKind;
  resourceVersion: number;
  /** The request that made the change: the workflow audits its steps under it. A correlation value only (a client may choose it). */
  requestId: string;
  /** Who made it, from the credential; defaults to the kind's own source (SOURCE_OF_KIND) where it has one. */
  source?: ChangeSource;
  /** The invitation of an `invitationAccepted` change. */
  subjectId?: string | null;
  /** It may remove access (a deactivation, a deletion, a dropped role, tag or group; domain/access-loss.ts): the relay delivers it, and the user's changes before it, ahead of the others. */
  urgent?: boolean;
}

export interface OutboxChange {
  id: number;
  tenantId: string;
  resourceType: ResourceType;
  resourceId: string;
  change: ChangeKind;
  resourceVersion: number;
  requestId: string;
  subjectId: string | null;
  attempts: number;
  urgent: boolean;
}

const OUTBOX_COLUMNS = 'tenant_id, resource_type, resource_id, change, resource_version, request_id, subject_id, source, urgent';
const COLUMN_TYPES = ['text', 'text', 'uuid', 'text', 'int', 'text', 'uuid', 'text', 'bool'];
const valuesOf = (c: RecordedChange): unknown[] => [
  c.tenantId,
  c.resourceType,
  c.resourceId,
  c.change,
  c.resourceVersion,
  c.requestId,
  c.subjectId ?? null,
  c.source ?? SOURCE_OF_KIND[c.change] ?? null,
  c.urgent ?? false,
];

/**
 * The one statement that writes outbox rows, with parameters numbered from `first`. One change
 * (every SCIM write of a user) is one row of plain parameters; more are parallel arrays through
 * unnest, so that thousands of rows (a group rename, a policy change) are still one statement
 * of nine parameters. (unnest for a single row costs a create about a fifth more PostgreSQL
 * time.) `ofRow`: in a CTE after the write `r` (one row at most), write only when `r` has a row.
 */
function insertChanges(changes: readonly RecordedChange[], first: number, ofRow = false): { sql: string; params: unknown[] } {
  const param = (i: number, array: boolean) => `$${first + i}::${COLUMN_TYPES[i]}${array ? '[]' : ''}`;
  if (changes.length === 1) {
    return {
      sql: `INSERT INTO outbox (${OUTBOX_COLUMNS}) SELECT ${COLUMN_TYPES.map((_, i) => param(i, false)).join(', ')}${ofRow ? ' FROM r' : ''}`,
      params: valuesOf(changes[0]),
    };
  }
  const rows = changes.map(valuesOf);
  return {
    sql: `INSERT INTO outbox (${OUTBOX_COLUMNS})
     SELECT * FROM unnest(${COLUMN_TYPES.map((_, i) => param(i, true)).join(', ')})${ofRow ? ' WHERE EXISTS (SELECT 1 FROM r)' : ''}`,
    params: COLUMN_TYPES.map((_, i) => rows.map((r) => r[i])),
  };
}

/** Writes `changes` inside the caller's transaction (the one that makes them); returns how many. */
export async function recordChanges(tx: Queryable, changes: readonly RecordedChange[]): Promise<number> {
  if (changes.length === 0) return 0;
  const { sql, params } = insertChanges(changes, 1);
  return (await tx.query(sql, params)).rowCount;
}

/**
 * `, o AS (…)`: the same INSERT as a data-modifying CTE, for a write whose resource row is CTE
 * `r`, so that the write and its changes are one statement (atomic without a transaction).
 * Writes nothing when `r` is empty (the write matched no row). Parameters from `first`.
 */
export function recordChangesCte(changes: readonly RecordedChange[], first: number): { sql: string; params: unknown[] } {
  if (changes.length === 0) return { sql: '', params: [] };
  const { sql, params } = insertChanges(changes, first, true);
  return { sql: `, o AS (${sql})`, params };
}

/** One change per user, all of one kind and request (a group change, a policy change, drift repair). */
export function userChanges(
  tenantId: string,
  change: ChangeKind,
  requestId: string,
  users: readonly { id: string; version: number }[],
  source?: ChangeSource,
): RecordedChange[] {
  return users.map((u) => ({ tenantId, resourceType: 'User', resourceId: u.id, change, resourceVersion: u.version, requestId, ...(source ? { source } : {}) }));
}

/**
 * Claims up to `limit` due changes by pushing their next attempt `leaseMs` into the future, so
 * another relay (or this one after a crash) only retries them once the lease has run out. Changes that remove access come first, each with the earlier pending changes of its
 * user (so one user's changes still go in order); then the oldest others. Sorted by id.
 */
export async function claimDue(db: Queryable, limit: number, leaseMs: number): Promise<OutboxChange[]> {
  const urgent = await claim(
    db,
    `SELECT o.id FROM outbox o
     WHERE o.delivered_at IS NULL AND o.next_attempt_at <= now()
       AND (o.tenant_id, o.resource_id) IN (SELECT tenant_id, resource_id FROM outbox WHERE delivered_at IS NULL AND urgent AND next_attempt_at <= now()
                                            ORDER BY id LIMIT $1)
       AND o.id <= (SELECT max(id) FROM outbox u WHERE u.delivered_at IS NULL AND u.urgent AND u.tenant_id = o.tenant_id AND u.resource_id = o.resource_id)
     ORDER BY o.id LIMIT $1 FOR UPDATE SKIP LOCKED`,
    limit,
    leaseMs,
  );
  const rest =
    urgent.length < limit
      ? await claim(
          db,
          `SELECT id FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= now() ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
          limit - urgent.length,
          leaseMs,
        )
      : [];
  return [...urgent, ...rest].sort((a, b) => a.id - b.id);
}

async function claim(db: Queryable, select: string, limit: number, leaseMs: number): Promise<OutboxChange[]> {
  const rows = (
    await db.query<Record<string, never>>(
      `UPDATE outbox SET next_attempt_at = now() + ($2::int * interval '1 millisecond'), attempts = attempts + 1
       WHERE id IN (${select})
       RETURNING id::int AS id, tenant_id, resource_type, resource_id::text AS resource_id, change, resource_version, request_id, subject_id::text AS subject_id, attempts, urgent`,
      [limit, leaseMs],
    )
  ).rows;
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    change: r.change,
    resourceVersion: r.resource_version,
    requestId: r.request_id,
    subjectId: r.subject_id,
    attempts: r.attempts,
    urgent: r.urgent,
  }));
}

export async function markDelivered(db: Queryable, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query('UPDATE outbox SET delivered_at = now(), last_error = NULL WHERE id = ANY($1::bigint[])', [ids]);
}

export async function markFailed(db: Queryable, id: number, error: string, retryInMs: number): Promise<void> {
  await db.query(`UPDATE outbox SET last_error = $2, next_attempt_at = now() + ($3::int * interval '1 millisecond') WHERE id = $1`, [
    id,
    error.slice(0, 1000),
    retryInMs,
  ]);
}

/**
 * Retention: deletes up to `limit` rows delivered more than `days` days ago and returns how
 * many. Undelivered rows are never deleted, whatever their age. Readers of delivered rows only
 * look back minutes (drift repair's settle time, the time-to-access-removed metric) or show
 * history (the admin audit trail, whose audit_log entries stay).
 */
export async function deleteDelivered(db: Queryable, days: number, limit: number): Promise<number> {
  const r = await db.query(
    `DELETE FROM outbox WHERE id IN (
       SELECT id FROM outbox WHERE delivered_at < now() - ($1::int * interval '1 day') LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [days, limit],
  );
  return r.rowCount;
}

export async function outboxStats(db: Queryable): Promise<{ pending: number; oldestAgeSeconds: number }> {
  const row = (
    await db.query<{ pending: number; oldest: number | null }>(
      `SELECT count(*)::int AS pending, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest FROM outbox WHERE delivered_at IS NULL`,
    )
  ).rows[0];
  return { pending: row.pending, oldestAgeSeconds: row.oldest ?? 0 };
}

/**
 * The tenant's sync backlog: SCIM and admin changes recorded (acknowledged) but not yet handed to
 * the users' workflows, the users they are about, and the age of the oldest.
 */
export async function tenantBacklog(db: Queryable, tenantId: string): Promise<{ changes: number; users: number; oldestAgeSeconds: number }> {
  const row = (
    await db.query<{ changes: number; users: number; oldest: number | null }>(
      `SELECT count(*)::int AS changes, count(DISTINCT resource_id) FILTER (WHERE resource_type = 'User')::int AS users, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest
       FROM outbox WHERE tenant_id = $1 AND delivered_at IS NULL`,
      [tenantId],
    )
  ).rows[0];
  return { changes: row.changes, users: row.users, oldestAgeSeconds: row.oldest ?? 0 };
}

/**
 * Which of `userIds` have a change in flight: an outbox row not yet delivered, or one written
 * within `settleMs` (its workflow may still be applying it). Drift repair leaves them alone.
 */
export async function usersWithRecentChanges(db: Queryable, tenantId: string, userIds: string[], settleMs: number): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = (
    await db.query<{ id: string }>(
      `SELECT DISTINCT resource_id::text AS id FROM outbox
       WHERE tenant_id = $1 AND resource_type = 'User' AND resource_id = ANY($2::uuid[])
         AND (delivered_at IS NULL OR created_at > now() - ($3::bigint * interval '1 millisecond'))`,
      [tenantId, userIds, settleMs],
    )
  ).rows;
  return new Set(rows.map((r) => r.id));
}

export interface OutboxRecord {
  id: number;
  change: ChangeKind;
  resourceVersion: number;
  requestId: string;
  /** Null for changes recorded before sources were kept. */
  source: ChangeSource | null;
  createdAt: Date;
  deliveredAt: Date | null;
  attempts: number;
  lastError: string | null;
}

/** A user's outbox rows, oldest first: when each change was accepted and when it reached the workflow. */
export async function changesOfUser(db: Queryable, tenantId: string, userId: string, limit = 500): Promise<OutboxRecord[]> {
  const rows = (
    await db.query<Record<string, never>>(
      `SELECT id::int AS id, change, resource_version, request_id, source, created_at, delivered_at, attempts, last_error FROM outbox
       WHERE tenant_id = $1 AND resource_type = 'User' AND resource_id = $2::uuid ORDER BY id DESC LIMIT $3`,
      [tenantId, userId, limit],
    )
  ).rows;
  return rows
    .map((r) => ({
      id: r.id,
      change: r.change,
      resourceVersion: r.resource_version,
      requestId: r.request_id,
      source: r.source,
      createdAt: r.created_at,
      deliveredAt: r.delivered_at,
      attempts: r.attempts,
      lastError: r.last_error,
    }))
    .reverse();
}

/**
 * Who made the change that request `requestId` recorded for the user (its latest row), from
 * the credential that wrote it; undefined when none is recorded (older rows, a foreign id).
 */
export async function sourceOfRequest(db: Queryable, tenantId: string, userId: string, requestId: string): Promise<ChangeSource | undefined> {
  const row = (
    await db.query<{ source: ChangeSource | null }>(
      `SELECT source FROM outbox WHERE tenant_id = $1 AND resource_type = 'User' AND resource_id = $2::uuid AND request_id = $3 ORDER BY id DESC LIMIT 1`,
      [tenantId, userId, requestId],
    )
  ).rows[0];
  return row?.source ?? undefined;
}

/** The request that deleted a user (its latest `deleted` change), so the termination is audited under it. */
export async function deletionRequestId(db: Queryable, tenantId: string, userId: string): Promise<string | undefined> {
  const row = (
    await db.query<{ request_id: string }>(
      `SELECT request_id FROM outbox WHERE tenant_id = $1 AND resource_type = 'User' AND resource_id = $2::uuid AND change = 'deleted' ORDER BY id DESC LIMIT 1`,
      [tenantId, userId],
    )
  ).rows[0];
  return row?.request_id;
}

/**
 * Seconds, on the database clock, since the request `requestId` recorded its first change of
 * the user: how long the change took to take effect (scimflow_time_to_access_removed_seconds).
 */
export async function secondsSinceRequest(db: Queryable, tenantId: string, userId: string, requestId: string): Promise<number | undefined> {
  const row = (
    await db.query<{ s: number | null }>(
      'SELECT EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS s FROM outbox WHERE tenant_id = $1 AND resource_id = $2::uuid AND request_id = $3',
      [tenantId, userId, requestId],
    )
  ).rows[0];
  return row?.s ?? undefined;
}
