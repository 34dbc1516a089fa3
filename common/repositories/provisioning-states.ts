/**
 * Where each user's workflow is (provisioning_states), written by the workflow on every state
 * change: the SCIM `provisioning` extension, the admin API and the workflows gauge read it
 * without asking Temporal.
 */
import type { Queryable } from '../db';
import { isUuid } from '../../domain/uuid';

/**
 * Records the workflow's visible state and, in the same statement, its history: an audit entry
 * `state.changed` (state, wait, error), so a user's provisioning log shows when each state was
 * reached and which errors a retry later cleared.
 */
export async function recordProvisioningState(
  db: Queryable,
  s: {
    tenantId: string;
    userId: string;
    state: string;
    waitingFor: string | null;
    waitingUntil: number | null;
    lastError: string | null;
    workflowId: string;
    runId?: string | null;
    step?: string | null;
  },
): Promise<void> {
  const until = s.waitingUntil === null ? null : new Date(s.waitingUntil);
  const detail = { state: s.state, waitingFor: s.waitingFor, waitingUntil: until?.toISOString() ?? null, lastError: s.lastError };
  await db.query(
    `WITH p AS (
       INSERT INTO provisioning_states (tenant_id, user_id, state, waiting_for, waiting_until, last_error, workflow_id, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now())
       ON CONFLICT (tenant_id, user_id) DO UPDATE SET state = EXCLUDED.state, waiting_for = EXCLUDED.waiting_for, waiting_until = EXCLUDED.waiting_until,
         last_error = EXCLUDED.last_error, workflow_id = EXCLUDED.workflow_id, updated_at = now())
     INSERT INTO audit_log (tenant_id, user_id, action, detail, workflow_id, run_id, step) VALUES ($1, $2, 'state.changed', $8::jsonb, $7, $9, $10)`,
    [s.tenantId, s.userId, s.state, s.waitingFor, until, s.lastError, s.workflowId, JSON.stringify(detail), s.runId ?? null, s.step ?? null],
  );
}

/** The state last recorded for the user's workflow; undefined before its first. */
export async function provisioningStateOf(db: Queryable, tenantId: string, userId: string): Promise<string | undefined> {
  if (!isUuid(userId)) return undefined;
  return (await db.query<{ state: string }>('SELECT state FROM provisioning_states WHERE tenant_id = $1 AND user_id = $2::uuid', [tenantId, userId])).rows[0]
    ?.state;
}

/** How many users' workflows are in each state, per tenant (the scimflow_workflows gauge). */
export async function workflowCountsByState(db: Queryable): Promise<{ tenantId: string; state: string; n: number }[]> {
  const rows = (
    await db.query<{ tenant_id: string; state: string; n: number }>(
      'SELECT tenant_id, state, count(*)::int AS n FROM provisioning_states GROUP BY tenant_id, state',
    )
  ).rows;
  return rows.map((r) => ({ tenantId: r.tenant_id, state: r.state, n: r.n }));
}
