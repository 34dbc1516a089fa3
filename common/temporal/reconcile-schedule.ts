/**
 * The drift-repair Schedule of each tenant (`reconcile-<tenant>`, listed under Schedules in the
 * Temporal UI): every `reconcile.interval` of the tenant's configuration (default 1h) it starts
 * the reconcileTenant workflow (workflows/reconcile-tenant.ts). Created or brought in line
 * idempotently when a configuration is saved and at worker start.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Queryable } from '../db';
import type { TenantConfig } from '../../domain/tenant-config';
import { parseDuration } from '../../domain/duration';
import type { Logger } from '../logger';
import { currentConfig, listTenants } from '../repositories/tenants';
import { connectClient, type TemporalTarget } from './connection';
import { SA_TENANT } from './constants';

export const RECONCILE_WORKFLOW_TYPE = 'reconcileTenant';

/** Deterministic and free of personal data, like the user workflows' ids. */
export function reconcileScheduleId(tenantId: string): string {
  return `reconcile-${tenantId}`;
}

export interface ReconcileScheduleSpec {
  tenantId: string;
  taskQueue: string;
  /** Milliseconds between runs (Temporal rounds to whole seconds). */
  intervalMs: number;
  paused: boolean;
}

export function scheduleSpecOf(tenantId: string, taskQueue: string, config: TenantConfig): ReconcileScheduleSpec {
  return { tenantId, taskQueue, intervalMs: parseDuration(config.reconcile.interval), paused: !config.reconcile.enabled };
}

function actionOf(spec: ReconcileScheduleSpec) {
  return {
    type: 'startWorkflow' as const,
    workflowType: RECONCILE_WORKFLOW_TYPE,
    // The Schedule appends the start time, so each run has its own id.
    workflowId: reconcileScheduleId(spec.tenantId),
    taskQueue: spec.taskQueue,
    args: [{ tenantId: spec.tenantId }],
    typedSearchAttributes: [{ key: SA_TENANT, value: spec.tenantId }],
  };
}

const PAUSE_NOTE = 'paused by the tenant configuration (reconcile.enabled: false)';

/** Creates the tenant's Schedule, or updates it when its interval, task queue or paused state differ. */
export async function ensureReconcileSchedule(client: Client, spec: ReconcileScheduleSpec): Promise<'created' | 'updated' | 'unchanged'> {
  const scheduleId = reconcileScheduleId(spec.tenantId);
  const interval = { every: Math.max(1_000, spec.intervalMs) };
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [interval] },
      action: actionOf(spec),
      // A run still going when the next is due is not doubled; after an outage one run catches up, not every missed one.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '5 minutes' },
      state: { paused: spec.paused, note: spec.paused ? PAUSE_NOTE : `drift repair for tenant ${spec.tenantId}` },
      typedSearchAttributes: [{ key: SA_TENANT, value: spec.tenantId }],
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(scheduleId);
  const current = await handle.describe();
  const everyNow = current.spec.intervals?.[0]?.every;
  const action = current.action;
  const same =
    current.spec.intervals?.length === 1 &&
    everyNow === Math.round(interval.every / 1000) * 1000 &&
    action.type === 'startWorkflow' &&
    action.workflowType === RECONCILE_WORKFLOW_TYPE &&
    action.taskQueue === spec.taskQueue &&
    current.state.paused === spec.paused;
  if (same) return 'unchanged';
  await handle.update((previous) => ({
    ...previous,
    spec: { intervals: [interval] },
    action: actionOf(spec),
    state: { paused: spec.paused, note: spec.paused ? PAUSE_NOTE : `drift repair for tenant ${spec.tenantId}` },
  }));
  return 'updated';
}

/** Brings every tenant's Schedule in line with its current configuration (worker start). */
async function ensureAllReconcileSchedules(client: Client, db: Queryable, taskQueue: string): Promise<Record<string, string>> {
  const outcome: Record<string, string> = {};
  for (const tenant of await listTenants(db)) {
    const { config } = await currentConfig(db, tenant.id);
    outcome[tenant.id] = await ensureReconcileSchedule(client, scheduleSpecOf(tenant.id, taskQueue, config));
  }
  return outcome;
}

/**
 * For process start: connects, ensures every tenant's Schedule, disconnects. Never throws: drift
 * repair is a safety net, and a worker that could not reach Temporal for this still runs.
 */
export async function syncReconcileSchedules(options: { target: TemporalTarget; db: Queryable; taskQueue: string; logger: Logger }): Promise<void> {
  let client: Client | undefined;
  try {
    client = await connectClient(options.target);
    const outcome = await ensureAllReconcileSchedules(client, options.db, options.taskQueue);
    const changed = Object.entries(outcome).filter(([, o]) => o !== 'unchanged');
    if (changed.length) options.logger.info({ schedules: Object.fromEntries(changed) }, 'drift-repair schedules created or updated');
  } catch (err) {
    options.logger.warn(
      { err: (err as Error).message },
      'drift-repair schedules could not be brought in line; they are retried at the next start or configuration save',
    );
  } finally {
    await client?.connection.close().catch(() => undefined);
  }
}
