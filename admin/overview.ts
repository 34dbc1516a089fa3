/** The tenant at a glance (the console's overview): the insights, the held changes and drift repair. */
import * as insights from '../common/repositories/admin-insights';
import * as views from '../common/repositories/admin-views';
import { currentConfig } from '../common/repositories/tenants';
import { reconcileScheduleId } from '../common/temporal/reconcile-schedule';
import { adviceFor } from './advice';
import { listHeldChanges } from './held-changes';
import { boundedRead, tenantOf, type AdminDeps, type Caller } from './shared';

/** Days the overview's invitation funnel and time to invitation look back. */
export const OVERVIEW_DAYS = 30;

async function reconcileStatus(deps: AdminDeps, tenantId: string) {
  try {
    const client = await deps.temporal();
    const d = await boundedRead(client, () => client.schedule.getHandle(reconcileScheduleId(tenantId)).describe());
    return {
      paused: d.state.paused,
      note: d.state.note ?? null,
      nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
      recentRuns: d.info.recentActions.slice(-5).map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), workflowId: a.action.workflow.workflowId })),
    };
  } catch (err) {
    return { unavailable: (err as Error).message.slice(0, 200) };
  }
}

/**
 * The tenant at a glance: users per state and what the waiting ones wait for, the invitation
 * funnel and time from the SCIM acknowledgement to the first invitation (last 30 days), users
 * that need someone (with what to do), held mass-deprovisioning changes, and drift repair.
 */
export async function overview(deps: AdminDeps, caller: Caller, tenantId: string) {
  const tenant = await tenantOf(deps, caller, tenantId);
  const config = await currentConfig(deps.db, tenant.id);
  const [users, waiting, invitationFunnel, timeToInvitation, attention, lastRun, schedule, heldChanges] = await Promise.all([
    views.countByState(deps.db, tenant.id),
    insights.waitingReasons(deps.db, tenant.id),
    insights.invitationFunnel(deps.db, tenant.id, OVERVIEW_DAYS),
    insights.timeToInvitation(deps.db, tenant.id, OVERVIEW_DAYS),
    insights.heldUsers(deps.db, tenant.id, 20),
    insights.lastReconcileRun(deps.db, tenant.id),
    reconcileStatus(deps, tenant.id),
    listHeldChanges(deps, caller, tenant.id),
  ]);
  return {
    id: tenant.id,
    name: tenant.name,
    configVersion: config.version,
    users,
    waiting,
    invitationFunnel,
    timeToInvitation,
    attention: attention.map((u) => ({ ...u, advice: adviceFor(u) ?? null })),
    heldChanges: heldChanges ?? null,
    reconcile: {
      scheduleId: reconcileScheduleId(tenant.id),
      interval: config.config.reconcile.interval,
      enabled: config.config.reconcile.enabled,
      schedule,
      lastRun: lastRun ?? null,
    },
  };
}
