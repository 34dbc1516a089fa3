/** The caller's tenant: its summary, and a drift-repair run started now. */
import { currentConfig } from '../common/repositories/tenants';
import * as views from '../common/repositories/admin-views';
import { reconcileScheduleId, RECONCILE_WORKFLOW_TYPE } from '../common/temporal/reconcile-schedule';
import { auditAction, requireWriter, tenantOf, type AdminDeps, type Caller } from './shared';

export async function listTenants(deps: AdminDeps, caller: Caller) {
  const tenant = await tenantOf(deps, caller, caller.tenantId);
  const config = await currentConfig(deps.db, tenant.id);
  return { tenants: [{ id: tenant.id, name: tenant.name, configVersion: config.version, users: await views.countByState(deps.db, tenant.id) }] };
}

export async function describeTenant(deps: AdminDeps, caller: Caller, tenantId: string) {
  const tenant = await tenantOf(deps, caller, tenantId);
  const config = await currentConfig(deps.db, tenant.id);
  return {
    id: tenant.id,
    name: tenant.name,
    config: { version: config.version, createdBy: config.createdBy, createdAt: config.createdAt, rules: config.config.rules.length },
    users: await views.countByState(deps.db, tenant.id),
    reconcile: { scheduleId: reconcileScheduleId(tenant.id), interval: config.config.reconcile.interval, enabled: config.config.reconcile.enabled },
    recentActivity: await views.tenantAudit(deps.db, tenant.id, 20),
  };
}

/** Starts a drift-repair run now, outside the Schedule. */
export async function reconcileNow(deps: AdminDeps, caller: Caller, tenantId: string) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const workflowId = `${reconcileScheduleId(tenantId)}-${caller.requestId.replace(/[^A-Za-z0-9-]/g, '-')}`;
  await (await deps.temporal()).workflow.start(RECONCILE_WORKFLOW_TYPE, { taskQueue: deps.taskQueue, workflowId, args: [{ tenantId }] });
  await auditAction(deps, caller, null, 'reconcile', { workflowId });
  return { requestId: caller.requestId, workflowId };
}
