/**
 * The mass-deprovisioning guard's ledger: each suspension or termination a SCIM request asks
 * for, whether it was allowed at once, held beyond the tenant's threshold, or decided by a
 * Super User. Counting and deciding are serialised per tenant (an advisory lock), so a burst of
 * workflows cannot all slip under the threshold at once.
 */
import crypto from 'node:crypto';
import type { Queryable } from '../db';
import { recordChanges } from './outbox';

export type DeprovisionAction = 'suspend' | 'terminate';
export type DeprovisionStatus = 'allowed' | 'held' | 'approved' | 'rejected';

export interface DeprovisionRequest {
  id: string;
  userId: string;
  action: DeprovisionAction;
  scimVersion: number;
  requestId: string;
  status: DeprovisionStatus;
  createdAt: Date;
  decidedAt: Date | null;
  decidedBy: string | null;
}

const columns = (t = 'deprovision_requests') =>
  `${t}.id::text AS id, ${t}.user_id::text AS "userId", ${t}.action, ${t}.scim_version AS "scimVersion", ${t}.request_id AS "requestId", ${t}.status,
   ${t}.created_at AS "createdAt", ${t}.decided_at AS "decidedAt", ${t}.decided_by AS "decidedBy"`;
const COLUMNS = columns();

/**
 * The request for (user, action, version), created on first call: `allowed` while the tenant's
 * requests in the last `windowMs` (allowed, held or approved) number fewer than `threshold`,
 * else `held`. Idempotent: a retried activity finds the same row and its current status.
 */
export async function requestDeprovision(
  tx: Queryable,
  r: { tenantId: string; userId: string; action: DeprovisionAction; scimVersion: number; requestId: string; threshold: number; windowMs: number },
): Promise<{ request: DeprovisionRequest; created: boolean; firstHeld: boolean }> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`deprovision:${r.tenantId}`]);
  const existing = (
    await tx.query<DeprovisionRequest>(
      `SELECT ${COLUMNS} FROM deprovision_requests
       WHERE tenant_id = $1 AND user_id = $2::uuid AND action = $3 AND scim_version = $4 AND restored_at IS NULL`,
      [r.tenantId, r.userId, r.action, r.scimVersion],
    )
  ).rows[0];
  if (existing) return { request: existing, created: false, firstHeld: false };
  const counts = (
    await tx.query<{ recent: number; held: number }>(
      `SELECT count(*) FILTER (WHERE created_at > now() - ($2::bigint * interval '1 millisecond') AND status IN ('allowed', 'held', 'approved'))::int AS recent,
              count(*) FILTER (WHERE status = 'held')::int AS held
       FROM deprovision_requests WHERE tenant_id = $1`,
      [r.tenantId, r.windowMs],
    )
  ).rows[0];
  const status: DeprovisionStatus = counts.recent < r.threshold ? 'allowed' : 'held';
  const request = (
    await tx.query<DeprovisionRequest>(
      `INSERT INTO deprovision_requests (id, tenant_id, user_id, action, scim_version, request_id, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
      [crypto.randomUUID(), r.tenantId, r.userId, r.action, r.scimVersion, r.requestId, status],
    )
  ).rows[0];
  return { request, created: true, firstHeld: status === 'held' && counts.held === 0 };
}

/**
 * The held requests of a tenant that still stand, oldest first, with who they are about: the
 * SCIM userName (or, once the SCIM user was deleted, the login email the application keeps) and
 * the name. A held suspension whose user the identity provider has since made active again is
 * superseded: it is not listed (the workflow has moved on; deciding it would change nothing).
 */
export async function heldDeprovisions(
  db: Queryable,
  tenantId: string,
  limit = 1000,
): Promise<(DeprovisionRequest & { userName: string | null; displayName: string | null })[]> {
  return (
    await db.query<DeprovisionRequest & { userName: string | null; displayName: string | null }>(
      `SELECT ${columns('d')}, COALESCE(u.user_name, a.email) AS "userName",
              NULLIF(trim(concat_ws(' ', a.first_name, a.last_name)), '') AS "displayName"
       FROM deprovision_requests d
       LEFT JOIN scim_users u ON u.tenant_id = d.tenant_id AND u.id = d.user_id
       LEFT JOIN app_users a ON a.tenant_id = d.tenant_id AND a.user_id = d.user_id
       WHERE d.tenant_id = $1 AND d.status = 'held'
         AND NOT (d.action = 'suspend' AND u.active AND u.version > d.scim_version)
       ORDER BY d.created_at LIMIT $2`,
      [tenantId, limit],
    )
  ).rows;
}

export async function countHeldDeprovisions(db: Queryable): Promise<{ tenantId: string; held: number }[]> {
  return (
    await db.query<{ tenantId: string; held: number }>(
      `SELECT tenant_id AS "tenantId", count(*)::int AS held FROM deprovision_requests WHERE status = 'held' GROUP BY tenant_id`,
    )
  ).rows;
}

/**
 * A Super User's decision on a held (or earlier rejected) request: `approved` applies it,
 * `rejected` keeps the user as it was. The user's workflow is told through the outbox in the
 * same transaction. Undefined when there is no such request, it was allowed at once, or it is a
 * rejected deletion whose user was restored (markDeletionRestored: over, nothing to decide).
 */
export async function decideDeprovision(
  tx: Queryable,
  tenantId: string,
  id: string,
  decision: 'approved' | 'rejected',
  decidedBy: string,
  requestId: string,
): Promise<DeprovisionRequest | undefined> {
  const row = (
    await tx.query<DeprovisionRequest>(
      `UPDATE deprovision_requests SET status = $3, decided_at = now(), decided_by = $4
       WHERE tenant_id = $1 AND id = $2::uuid AND status IN ('held', 'rejected') AND restored_at IS NULL RETURNING ${COLUMNS}`,
      [tenantId, id, decision, decidedBy],
    )
  ).rows[0];
  if (row) {
    await recordChanges(tx, [{ tenantId, resourceType: 'User', resourceId: row.userId, change: 'decision', resourceVersion: 0, requestId }]);
  }
  return row;
}

/** The user's change that waits for a Super User: held, or a rejected deletion that can still be allowed (not restored; newest first). */
export async function pendingDecisionOf(db: Queryable, tenantId: string, userId: string): Promise<DeprovisionRequest | undefined> {
  return (
    await db.query<DeprovisionRequest>(
      `SELECT ${COLUMNS} FROM deprovision_requests
       WHERE tenant_id = $1 AND user_id = $2::uuid AND restored_at IS NULL AND (status = 'held' OR (status = 'rejected' AND action = 'terminate'))
       ORDER BY created_at DESC LIMIT 1`,
      [tenantId, userId],
    )
  ).rows[0];
}

/**
 * A rejected deletion whose SCIM user was restored (admin/held-deletions.ts) is over: it can no
 * longer be allowed, and a later deletion of the user is a new request the guard counts.
 */
export async function markDeletionRestored(tx: Queryable, tenantId: string, id: string): Promise<void> {
  await tx.query('UPDATE deprovision_requests SET restored_at = now() WHERE tenant_id = $1 AND id = $2::uuid', [tenantId, id]);
}

export async function getDeprovision(db: Queryable, tenantId: string, id: string): Promise<DeprovisionRequest | undefined> {
  return (await db.query<DeprovisionRequest>(`SELECT ${COLUMNS} FROM deprovision_requests WHERE tenant_id = $1 AND id = $2::uuid`, [tenantId, id])).rows[0];
}
