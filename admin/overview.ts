/** The tenant at a glance (the console's overview): the insights, the held changes and drift repair. */
import * as insights from '../common/repositories/admin-insights';
import * as views from '../common/repositories/admin-views';
import { tenantBacklog } from '../common/repositories/outbox';
import { currentConfig } from '../common/repositories/tenants';
import { reconcileScheduleId } from '../common/temporal/reconcile-schedule';
import { encodeWait } from '../domain/visible-state';
import { adviceFor } from './advice';
import { listHeldChanges } from './held-changes';
import { boundedRead, tenantOf, type AdminDeps, type Caller } from './shared';

/** Days the overview's invitation funnel and time to invitation look back. */
export const OVERVIEW_DAYS = 30;

/** Users of each kind that needs someone (failed, held for data, waiting for a seat) the overview lists; the totals are counted in full. */
export const ATTENTION_PER_STATE = 10;

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
 * The tenant at a glance: what needs a person first (held changes, users held for data or a
 * login conflict, failed users, full seat pools, the sync backlog), users per state (with those
 * acknowledged but not started yet) and what the waiting ones wait for, the invitation funnel
 * and time from the SCIM acknowledgement to the first invitation (last 30 days), users that need
 * someone by severity with the total of each (and what to do), held mass-deprovisioning changes,
 * and drift repair.
 */
export async function overview(deps: AdminDeps, caller: Caller, tenantId: string) {
  const tenant = await tenantOf(deps, caller, tenantId);
  const config = await currentConfig(deps.db, tenant.id);
  const limited = config.config.organisations.filter((o) => o.seatLimit !== undefined);
  const [users, waiting, invitationFunnel, timeToInvitation, attention, lastRun, schedule, heldChanges, notStarted, backlog, pools] = await Promise.all([
    views.countByState(deps.db, tenant.id),
    insights.waitingReasons(deps.db, tenant.id),
    insights.invitationFunnel(deps.db, tenant.id, OVERVIEW_DAYS),
    insights.timeToInvitation(deps.db, tenant.id, OVERVIEW_DAYS),
    insights.heldUsers(deps.db, tenant.id, ATTENTION_PER_STATE),
    insights.lastReconcileRun(deps.db, tenant.id),
    reconcileStatus(deps, tenant.id),
    listHeldChanges(deps, caller, tenant.id),
    insights.notStartedUsers(deps.db, tenant.id),
    tenantBacklog(deps.db, tenant.id),
    insights.seatPoolUse(
      deps.db,
      tenant.id,
      limited.map((o) => ({ orgKey: o.key, waitingFor: encodeWait({ kind: 'seat', orgKey: o.key }) })),
    ),
  ]);
  const seatPools = limited.map((o) => {
    const use = pools.find((p) => p.orgKey === o.key) ?? { used: 0, waiting: 0 };
    const limit = o.seatLimit ?? 0;
    return { orgKey: o.key, name: o.name, limit, used: use.used, waiting: use.waiting, full: use.used >= limit };
  });
  return {
    id: tenant.id,
    name: tenant.name,
    configVersion: config.version,
    users,
    /** SCIM users acknowledged whose workflow has not recorded a state yet (during a sync). */
    notStarted,
    waiting,
    invitationFunnel,
    timeToInvitation,
    /** What needs a person, most urgent first; each count has a filtered list (the console links them). */
    needsPerson: {
      heldChanges: heldChanges ? heldChanges.held.length : null,
      heldForData: users.awaitingData ?? 0,
      failed: users.failed ?? 0,
      /** Organisations with a seatLimit: seats used of the limit and users waiting for one; `full` when none is free. */
      seatPools,
      /** Changes acknowledged but not yet handed to the workflows, and the users acknowledged but not started. */
      backlog: { ...backlog, notStarted },
    },
    /** Users that need someone, by severity: up to ATTENTION_PER_STATE failed, then held for data, then waiting for a seat. */
    attention: attention.map((u) => ({ ...u, advice: adviceFor(u) ?? null })),
    /** The total of each kind in `attention` (it lists only the first of each). */
    attentionTotals: Object.fromEntries(insights.ATTENTION_STATES.map((s) => [s, users[s] ?? 0])) as Record<(typeof insights.ATTENTION_STATES)[number], number>,
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
