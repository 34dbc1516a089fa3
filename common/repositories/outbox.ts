/**
 * The transactional outbox. `enqueueChange` runs inside the transaction of the SCIM write;
 * the relay claims due rows with a lease, hands them to Temporal, and marks them delivered.
 */
import type { Queryable } from '../db';

export type ResourceType = 'User' | 'Group';
/**
 * `membership`: a group the user belongs to changed (members, name); `policy`: a new tenant
 * configuration changes what the user should have; `drift`: the directory no longer matches it.
 */
export type ChangeKind = 'created' | 'updated' | 'deleted' | 'membership' | 'invitationAccepted' | 'policy' | 'drift';

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
}

export async function enqueueChange(
  tx: Queryable,
  change: {
    tenantId: string;
    resourceType: ResourceType;
    resourceId: string;
    change: ChangeKind;
    resourceVersion: number;
    requestId: string;
    subjectId?: string;
  },
): Promise<void> {
  await tx.query(
    'INSERT INTO outbox (tenant_id, resource_type, resource_id, change, resource_version, request_id, subject_id) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [change.tenantId, change.resourceType, change.resourceId, change.change, change.resourceVersion, change.requestId, change.subjectId ?? null],
  );
}

/**
 * `, o AS (…)`: a data-modifying CTE writing the outbox row (as enqueueChange does) of the
 * resource row in CTE `r` (its tenant_id, id and version), for a write that records its change
 * in the same statement. `requestParam` numbers the request id's parameter.
 */
export function outboxCte(resourceType: ResourceType, change: ChangeKind, requestParam: number): string {
  return `, o AS (INSERT INTO outbox (tenant_id, resource_type, resource_id, change, resource_version, request_id)
              SELECT r.tenant_id, '${resourceType}', r.id, '${change}', r.version, $${requestParam}::text FROM r)`;
}

/**
 * Claims up to `limit` due rows by pushing their next attempt `leaseMs` into the future, so
 * another relay (or this one after a crash) only retries them once the lease has run out.
 */
export async function claimDue(db: Queryable, limit: number, leaseMs: number): Promise<OutboxChange[]> {
  const rows = (
    await db.query<Record<string, never>>(
      `UPDATE outbox SET next_attempt_at = now() + ($2::int * interval '1 millisecond'), attempts = attempts + 1
       WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= now()
                    ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING id::int AS id, tenant_id, resource_type, resource_id::text AS resource_id, change, resource_version, request_id, subject_id::text AS subject_id, attempts`,
      [limit, leaseMs],
    )
  ).rows;
  return rows
    .map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      resourceType: r.resource_type,
      resourceId: r.resource_id,
      change: r.change,
      resourceVersion: r.resource_version,
      requestId: r.request_id,
      subjectId: r.subject_id,
      attempts: r.attempts,
    }))
    .sort((a, b) => a.id - b.id);
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

/** Many user changes in one statement (a group rename or a policy change can touch thousands of users). */
export async function enqueueUserChanges(
  tx: Queryable,
  tenantId: string,
  change: ChangeKind,
  requestId: string,
  users: { id: string; version: number }[],
): Promise<number> {
  if (users.length === 0) return 0;
  const r = await tx.query(
    `INSERT INTO outbox (tenant_id, resource_type, resource_id, change, resource_version, request_id)
     SELECT $1, 'User', u.id, $2, u.version, $3 FROM unnest($4::uuid[], $5::int[]) AS u(id, version)`,
    [tenantId, change, requestId, users.map((u) => u.id), users.map((u) => u.version)],
  );
  return r.rowCount;
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
  createdAt: Date;
  deliveredAt: Date | null;
  attempts: number;
  lastError: string | null;
}

/** A user's outbox rows, oldest first: when each change was accepted and when it reached the workflow. */
export async function changesOfUser(db: Queryable, tenantId: string, userId: string, limit = 500): Promise<OutboxRecord[]> {
  const rows = (
    await db.query<Record<string, never>>(
      `SELECT id::int AS id, change, resource_version, request_id, created_at, delivered_at, attempts, last_error FROM outbox
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
      createdAt: r.created_at,
      deliveredAt: r.delivered_at,
      attempts: r.attempts,
      lastError: r.last_error,
    }))
    .reverse();
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
