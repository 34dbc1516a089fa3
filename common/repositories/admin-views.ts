/** Read models of the admin API: users with their provisioning state, one user's directory rows, the audit trail. */
import { isUuid } from '../../domain/uuid';
import type { Queryable } from '../db';

export interface AdminUserRow {
  userId: string;
  userName: string | null;
  /** The SCIM resource's `active`; null once the resource is deleted (terminated). */
  scimActive: boolean | null;
  scimVersion: number | null;
  state: string | null;
  waitingFor: string | null;
  waitingUntil: Date | null;
  lastError: string | null;
  workflowId: string | null;
  stateUpdatedAt: Date | null;
  appStatus: string | null;
  loginEnabled: boolean | null;
  clientKey: string | null;
  securityRole: string | null;
}

function toUser(r: Record<string, any>): AdminUserRow {
  return {
    userId: r.user_id,
    userName: r.user_name,
    scimActive: r.active,
    scimVersion: r.version,
    state: r.state,
    waitingFor: r.waiting_for,
    waitingUntil: r.waiting_until,
    lastError: r.last_error,
    workflowId: r.workflow_id,
    stateUpdatedAt: r.updated_at,
    appStatus: r.status,
    loginEnabled: r.login_enabled,
    clientKey: r.client_key,
    securityRole: r.security_role,
  };
}

const USER_SELECT = `SELECT ids.user_id::text AS user_id, u.user_name, u.active, u.version, p.state, p.waiting_for, p.waiting_until, p.last_error, p.workflow_id,
    p.updated_at, a.status, a.login_enabled, a.client_key, a.security_role`;
const USER_JOINS = `LEFT JOIN scim_users u ON u.tenant_id = $1 AND u.id = ids.user_id
  LEFT JOIN provisioning_states p ON p.tenant_id = $1 AND p.user_id = ids.user_id
  LEFT JOIN app_users a ON a.tenant_id = $1 AND a.user_id = ids.user_id`;

export async function getAdminUser(db: Queryable, tenantId: string, userId: string): Promise<AdminUserRow | undefined> {
  if (!isUuid(userId)) return undefined;
  const r = (
    await db.query<Record<string, any>>(
      `WITH ids AS (SELECT id AS user_id FROM scim_users WHERE tenant_id = $1 AND id = $2::uuid
                    UNION SELECT user_id FROM provisioning_states WHERE tenant_id = $1 AND user_id = $2::uuid
                    UNION SELECT user_id FROM app_users WHERE tenant_id = $1 AND user_id = $2::uuid)
       ${USER_SELECT} FROM ids ${USER_JOINS}`,
      [tenantId, userId],
    )
  ).rows[0];
  return r ? toUser(r) : undefined;
}

/** Who a user is, as a page names them: the userName (or the login email the application keeps once the SCIM user is gone) and the name. */
export interface UserLabel {
  userId: string;
  userName: string | null;
  name: string | null;
}

/** Labels of the given users of the tenant (SCIM resource or application record); ids that name nobody are left out. */
export async function userLabels(db: Queryable, tenantId: string, userIds: readonly string[]): Promise<UserLabel[]> {
  const ids = userIds.filter(isUuid);
  if (ids.length === 0) return [];
  return (
    await db.query<UserLabel>(
      `SELECT ids.user_id::text AS "userId", COALESCE(u.user_name, a.email) AS "userName",
              COALESCE(NULLIF(u.display_name, ''), NULLIF(concat_ws(' ', u.doc->'name'->>'givenName', u.doc->'name'->>'familyName'), ''),
                       NULLIF(concat_ws(' ', a.first_name, a.last_name), '')) AS name
       FROM (SELECT DISTINCT unnest($2::uuid[]) AS user_id) ids
       LEFT JOIN scim_users u ON u.tenant_id = $1 AND u.id = ids.user_id
       LEFT JOIN app_users a ON a.tenant_id = $1 AND a.user_id = ids.user_id
       WHERE u.id IS NOT NULL OR a.user_id IS NOT NULL`,
      [tenantId, ids],
    )
  ).rows;
}

/** Counts by provisioning state (the tenant overview). */
export async function countByState(db: Queryable, tenantId: string): Promise<Record<string, number>> {
  const rows = (
    await db.query<{ state: string; n: number }>(
      'SELECT state, count(*)::int AS n FROM provisioning_states WHERE tenant_id = $1 GROUP BY state ORDER BY state',
      [tenantId],
    )
  ).rows;
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

export interface AuditRecord {
  id: number;
  action: string;
  detail: Record<string, unknown>;
  requestId: string | null;
  workflowId: string | null;
  runId: string | null;
  step: string | null;
  at: Date;
}

/** A user's audit entries, oldest first (the last `limit`). */
export async function auditOfUser(db: Queryable, tenantId: string, userId: string, limit = 1000): Promise<AuditRecord[]> {
  if (!isUuid(userId)) return [];
  const rows = (
    await db.query<Record<string, any>>(
      `SELECT id::int AS id, action, detail, request_id, workflow_id, run_id, step, created_at FROM audit_log
       WHERE tenant_id = $1 AND user_id = $2::uuid ORDER BY id DESC LIMIT $3`,
      [tenantId, userId, limit],
    )
  ).rows;
  return rows
    .map((r) => ({
      id: r.id,
      action: r.action,
      detail: r.detail,
      requestId: r.request_id,
      workflowId: r.workflow_id,
      runId: r.run_id,
      step: r.step,
      at: r.created_at,
    }))
    .reverse();
}

/** Tenant-level audit entries (configuration saves, reconcile runs), newest first. */
export async function tenantAudit(db: Queryable, tenantId: string, limit = 100): Promise<AuditRecord[]> {
  const rows = (
    await db.query<Record<string, any>>(
      `SELECT id::int AS id, action, detail, request_id, workflow_id, run_id, step, created_at FROM audit_log
       WHERE tenant_id = $1 AND user_id IS NULL ORDER BY id DESC LIMIT $2`,
      [tenantId, limit],
    )
  ).rows;
  return rows.map((r) => ({
    id: r.id,
    action: r.action,
    detail: r.detail,
    requestId: r.request_id,
    workflowId: r.workflow_id,
    runId: r.run_id,
    step: r.step,
    at: r.created_at,
  }));
}
