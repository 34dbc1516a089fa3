/**
 * Who is running this step, for audit entries and log lines: workflow id, run id and activity
 * name. The audit trail is also where the lifecycle metrics are taken from: an audited change
 * is the moment it happened (invitation sent, login blocked), observed once per change because
 * each audit entry is written once (the convergence steps audit only what they changed).
 */
import { Context } from '@temporalio/activity';
import type { Queryable } from '../common/db';
import { appMetrics, type AppMetrics } from '../common/metrics';
import { appendAudit } from '../common/repositories/directory';
import type { StepInput } from './types';

export interface StepOrigin {
  workflowId: string | null;
  runId: string | null;
  step: string | null;
}

export function stepOrigin(): StepOrigin {
  try {
    const info = Context.current().info;
    return { workflowId: info.workflowExecution?.workflowId ?? null, runId: info.workflowExecution?.runId ?? null, step: info.activityType };
  } catch {
    return { workflowId: null, runId: null, step: null }; // called outside an activity (tests, admin tools)
  }
}

/** Reasons of a suspension/termination that a SCIM request asked for (not an HR end date). */
const SCIM_DEACTIVATIONS: Record<string, { action: string; reason: string }> = {
  'user.suspended': { action: 'suspend', reason: 'SCIM active=false' },
  'user.terminated': { action: 'terminate', reason: 'SCIM delete' },
};

/**
 * Lifecycle metrics of an audited change (process metrics, common/metrics.ts), timed on the
 * database clock within the step's transaction (`now()` is its start). Read-only queries on
 * the step's own rows; a metrics error never fails the step.
 */
async function observeLifecycle(tx: Queryable, input: StepInput, action: string, detail: Record<string, unknown>, metrics: AppMetrics): Promise<void> {
  const tenant = input.tenantId;
  try {
    switch (action) {
      case 'invitation.sent': {
        metrics.invitationsSent.inc({ tenant });
        if (detail.round !== 1) return; // a resend after expiry is not time-to-invitation
        const row = (
          await tx.query<{ s: number | null }>(
            'SELECT EXTRACT(EPOCH FROM now() - created_at)::float8 AS s FROM scim_users WHERE tenant_id = $1 AND id = $2::uuid',
            [tenant, input.userId],
          )
        ).rows[0];
        if (row?.s !== null && row?.s !== undefined) metrics.timeToInvitation.observe({ tenant }, Math.max(0, row.s));
        return;
      }
      case 'invitation.expired':
        metrics.invitationsExpired.inc({ tenant });
        return;
      case 'user.activated':
        if (detail.invitationId) metrics.invitationsAccepted.inc({ tenant });
        return;
      case 'user.suspended':
      case 'user.terminated': {
        const kind = SCIM_DEACTIVATIONS[action];
        if (detail.reason !== kind.reason || detail.note) return;
        // The outbox row of the SCIM request that asked for it: when the change was accepted.
        const row = (
          await tx.query<{ s: number | null }>(
            'SELECT EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS s FROM outbox WHERE tenant_id = $1 AND resource_id = $2::uuid AND request_id = $3',
            [tenant, input.userId, input.requestId],
          )
        ).rows[0];
        if (row?.s !== null && row?.s !== undefined) metrics.timeToAccessRemoved.observe({ tenant, action: kind.action }, Math.max(0, row.s));
        return;
      }
    }
  } catch {
    // metrics are best effort; the audit entry is what counts
  }
}

/** `input.step` names the step when it is not the activity itself (several steps in one activity). */
export async function audit(
  tx: Queryable,
  input: StepInput & { step?: string },
  action: string,
  detail: Record<string, unknown> = {},
  metrics: AppMetrics = appMetrics(),
): Promise<void> {
  const origin = stepOrigin();
  if (input.step) origin.step = input.step;
  await appendAudit(tx, { tenantId: input.tenantId, userId: input.userId, action, detail, requestId: input.requestId, ...origin });
  await observeLifecycle(tx, input, action, detail, metrics);
}
