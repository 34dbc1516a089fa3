/**
 * The transactional outbox. `enqueueChange` runs inside the transaction of the SCIM write;
 * the relay claims due rows with a lease, hands them to Temporal, and marks them delivered.
 */
import type { Queryable } from '../db';

export type ResourceType = 'User' | 'Group';
export type ChangeKind = 'created' | 'updated' | 'deleted' | 'membership' | 'invitationAccepted';

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
  change: { tenantId: string; resourceType: ResourceType; resourceId: string; change: ChangeKind; resourceVersion: number; requestId: string; subjectId?: string },
): Promise<void> {
  await tx.query(
    'INSERT INTO outbox (tenant_id, resource_type, resource_id, change, resource_version, request_id, subject_id) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [change.tenantId, change.resourceType, change.resourceId, change.change, change.resourceVersion, change.requestId, change.subjectId ?? null],
  );
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

export async function outboxStats(db: Queryable): Promise<{ pending: number; oldestAgeSeconds: number }> {
  const row = (
    await db.query<{ pending: number; oldest: number | null }>(
      `SELECT count(*)::int AS pending, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest FROM outbox WHERE delivered_at IS NULL`,
    )
  ).rows[0];
  return { pending: row.pending, oldestAgeSeconds: row.oldest ?? 0 };
}
