/**
 * Admin API use cases (routes.ts is the HTTP side). Reads come from PostgreSQL; user actions go
 * through the same paths as the identity provider's requests, so the IdP-visible SCIM resource
 * and the application agree: suspend / reactivate / terminate change the SCIM resource through
 * the users service (active false / true, DELETE), "create user" POSTs a SCIM-shaped user
 * through it; resend and retry are the user workflow's signals. Every action carries a request
 * id `admin:<uuid>` into the outbox, the workflow and the audit log.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Db } from '../../common/db';
import { diffStates, stateOf } from '../../domain/directory-diff';
import { isUuid } from '../../domain/uuid';
import { TenantConfigError, validateTenantConfig, formatProblem, type ConfigProblem } from '../../domain/tenant-config';
import type { Logger } from '../../common/logger';
import { desiredStateOf } from '../../policy/desired-state';
import { previewTenantConfig, previewUser, saveTenantConfig, TenantNotFoundError } from '../../policy/tenant-policy';
import * as views from '../../common/repositories/admin-views';
import { appendAudit } from '../../common/repositories/audit-log';
import { observedStates } from '../../common/repositories/entitlements';
import { changesOfUser } from '../../common/repositories/outbox';
import { currentConfig, getConfigVersion, getTenant, listConfigVersions } from '../../common/repositories/tenants';
import { ADMIN_WRITE_ROLE } from '../../common/repositories/tokens';
import { userWorkflowId } from '../../common/temporal/constants';
import { ensureReconcileSchedule, reconcileScheduleId, RECONCILE_WORKFLOW_TYPE, scheduleSpecOf } from '../../common/temporal/reconcile-schedule';
import { resendInvitationSignal, retrySignal, statusQuery, type UserStatus } from '../../workflows/definitions';
import type { ScimContext } from '../context';
import * as users from '../users/service';

export interface AdminDeps {
  db: Db;
  temporal: () => Promise<Client>;
  taskQueue: string;
  /** Absolute base of SCIM URLs (…/scim/v2), for the users service's `meta.location`. */
  scimBaseUrl: string;
  onCommitted: () => void;
  logger: Logger;
}

/** Who is calling: the admin token's tenant and role, and this request's id. */
export interface Caller {
  tenantId: string;
  tokenId: string;
  role: string | null;
  requestId: string;
}

/** Thrown for an admin request that cannot be served; `problems` lists validation problems (400). */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems?: string[],
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

/** An admin token reaches its own tenant only; another tenant is "not found", as if it did not exist. */
export async function tenantOf(deps: AdminDeps, caller: Caller, tenantId: string) {
  const tenant = tenantId === caller.tenantId ? await getTenant(deps.db, tenantId) : undefined;
  if (!tenant) throw new AdminError(404, `tenant "${tenantId}" not found`);
  return tenant;
}

function requireWriter(caller: Caller): void {
  if (caller.role !== ADMIN_WRITE_ROLE) {
    throw new AdminError(
      403,
      `only a "${ADMIN_WRITE_ROLE}" admin token may change users or configuration; this token's role is ${caller.role ? `"${caller.role}"` : 'not set'} (read-only)`,
    );
  }
}

function userId(id: string): string {
  if (!isUuid(id)) throw new AdminError(404, `user "${id}" not found`);
  return id.toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Tenants and configuration

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

export async function listVersions(deps: AdminDeps, caller: Caller, tenantId: string) {
  await tenantOf(deps, caller, tenantId);
  return { versions: await listConfigVersions(deps.db, tenantId) };
}

export async function getVersion(deps: AdminDeps, caller: Caller, tenantId: string, version: string) {
  await tenantOf(deps, caller, tenantId);
  if (version === 'current') return currentConfig(deps.db, tenantId);
  const n = Number(version);
  const found = Number.isInteger(n) && n > 0 ? await getConfigVersion(deps.db, tenantId, n) : undefined;
  if (!found) throw new AdminError(404, `configuration version "${version}" not found`);
  return found;
}

/** Every problem (an unknown key with a "did you mean"), or, when valid, the warnings: rules that can never change anything. */
export function validateConfig(body: unknown): { valid: boolean; problems: string[]; details: ConfigProblem[]; warnings: string[] } {
  const result = validateTenantConfig(body);
  return result.ok
    ? { valid: true, problems: [], details: [], warnings: result.warnings.map(formatProblem) }
    : { valid: false, problems: result.problems.map(formatProblem), details: result.problems, warnings: [] };
}

/** Saves a new version (400 with every problem when invalid), tells the affected users' workflows, and brings the drift-repair Schedule in line. */
export async function saveConfig(deps: AdminDeps, caller: Caller, tenantId: string, body: unknown) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  let saved;
  try {
    saved = await saveTenantConfig(deps.db, tenantId, body, { createdBy: `admin-token:${caller.tokenId}`, requestId: caller.requestId });
  } catch (err) {
    if (err instanceof TenantConfigError) throw new AdminError(400, 'the configuration is invalid', err.problems);
    if (err instanceof TenantNotFoundError) throw new AdminError(404, err.message);
    throw err;
  }
  deps.onCommitted();
  let schedule: string;
  try {
    const { config } = await currentConfig(deps.db, tenantId);
    schedule = await ensureReconcileSchedule(await deps.temporal(), scheduleSpecOf(tenantId, deps.taskQueue, config));
  } catch (err) {
    // The version is saved; the worker brings the Schedule in line at its next start.
    deps.logger.warn({ requestId: caller.requestId, tenantId, err: (err as Error).message }, 'drift-repair schedule not updated');
    schedule = `not updated: ${(err as Error).message}`;
  }
  return { ...saved, schedule: { id: reconcileScheduleId(tenantId), outcome: schedule } };
}

function draftFrom(body: unknown): unknown {
  const b = (body ?? {}) as Record<string, unknown>;
  return 'config' in b ? b.config : body;
}

/** A draft's effect across the tenant, e.g. "37 users would gain security role VOB Worker"; writes nothing. */
export async function previewTenant(deps: AdminDeps, caller: Caller, tenantId: string, body: unknown, sampleLimit?: number) {
  await tenantOf(deps, caller, tenantId);
  try {
    return await previewTenantConfig(deps.db, tenantId, draftFrom(body), { sampleLimit });
  } catch (err) {
    if (err instanceof TenantConfigError) throw new AdminError(400, 'the draft configuration is invalid', err.problems);
    throw err;
  }
}

/** One user (stored, by id; or a SCIM document not stored yet, with its groups) under today's configuration or a draft; writes nothing. */
export async function previewOneUser(deps: AdminDeps, caller: Caller, tenantId: string, body: unknown) {
  await tenantOf(deps, caller, tenantId);
  const b = (body ?? {}) as { userId?: unknown; user?: unknown; groups?: unknown; config?: unknown };
  const groups = Array.isArray(b.groups) ? b.groups.filter((g): g is string => typeof g === 'string') : [];
  let subject: { userId: string } | { doc: Record<string, unknown>; groups: string[] };
  if (typeof b.userId === 'string') subject = { userId: userId(b.userId) };
  else if (b.user !== undefined) subject = { doc: users.userDocOf(b.user), groups };
  else throw new AdminError(400, 'give "userId" (a stored user) or "user" (a SCIM User document, with optional "groups": [displayName, …])');
  try {
    const result = await previewUser(deps.db, tenantId, subject, b.config);
    if (!result) throw new AdminError(404, `user "${String(b.userId)}" not found`);
    return result;
  } catch (err) {
    if (err instanceof TenantConfigError) throw new AdminError(400, 'the draft configuration is invalid', err.problems);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Users

export async function listUsers(deps: AdminDeps, caller: Caller, tenantId: string, q: { state?: string; waiting?: string; after?: string; limit?: string }) {
  await tenantOf(deps, caller, tenantId);
  const limit = Math.min(Math.max(Number(q.limit ?? 100) || 100, 1), 1000);
  if (q.after !== undefined && !isUuid(q.after)) throw new AdminError(400, '"after" must be a user id (the last id of the previous page)');
  const rows = await views.listAdminUsers(deps.db, tenantId, { state: q.state || undefined, waiting: q.waiting === 'true', afterId: q.after, limit });
  return { users: rows, next: rows.length === limit ? rows[rows.length - 1].userId : null };
}

/** One user: provisioning state, what the directory holds, what it should hold (and why: the matching rules), and the difference. */
export async function describeUser(deps: AdminDeps, caller: Caller, tenantId: string, id: string) {
  await tenantOf(deps, caller, tenantId);
  const row = await views.getAdminUser(deps.db, tenantId, userId(id));
  if (!row) throw new AdminError(404, `user "${id}" not found`);
  const { config, version } = await currentConfig(deps.db, tenantId);
  const desired = row.scimVersion !== null ? await desiredStateOf(deps.db, tenantId, row.userId, config) : undefined;
  const directory = (await observedStates(deps.db, tenantId, [row.userId])).get(row.userId);
  let workflow: UserStatus | { unavailable: string } | undefined;
  try {
    workflow = await (await deps.temporal()).workflow.getHandle(userWorkflowId(tenantId, row.userId)).query(statusQuery);
  } catch (err) {
    workflow = { unavailable: (err as Error).message.slice(0, 200) };
  }
  return {
    ...row,
    workflow,
    directory: directory ?? null,
    desired: desired
      ? {
          configVersion: version,
          state: stateOf(desired.desired),
          missing: desired.desired.missing,
          matchedRules: desired.desired.matchedRules,
          notes: desired.desired.notes,
        }
      : null,
    drift: desired && directory && desired.desired.active && desired.desired.missing.length === 0 ? diffStates(directory, stateOf(desired.desired)) : [],
  };
}

/**
 * The trail of one user: each request (SCIM, admin, policy change, group change, drift repair)
 * with when it was accepted and delivered to the workflow, and the audit entries it caused
 * (workflow, run, step), in order.
 */
export async function auditTrail(deps: AdminDeps, caller: Caller, tenantId: string, id: string) {
  await tenantOf(deps, caller, tenantId);
  const uid = userId(id);
  const [entries, changes] = await Promise.all([views.auditOfUser(deps.db, tenantId, uid), changesOfUser(deps.db, tenantId, uid)]);
  if (entries.length === 0 && changes.length === 0) throw new AdminError(404, `user "${id}" not found`);
  const requests = new Map<string, { requestId: string; source: string; changes: typeof changes; entries: typeof entries }>();
  const sourceOf = (rid: string) => (rid.startsWith('admin:') ? 'admin' : rid.startsWith('reconcile:') ? 'drift repair' : 'SCIM or configuration');
  const bucket = (rid: string | null) => {
    const key = rid ?? '(none)';
    if (!requests.has(key)) requests.set(key, { requestId: key, source: rid ? sourceOf(rid) : 'unknown', changes: [], entries: [] });
    return requests.get(key)!;
  };
  for (const c of changes) bucket(c.requestId).changes.push(c);
  for (const e of entries) bucket(e.requestId).entries.push(e);
  return { userId: uid, workflowId: userWorkflowId(tenantId, uid), requests: [...requests.values()], entries };
}

function scimContext(deps: AdminDeps, caller: Caller): ScimContext {
  return { db: deps.db, tenantId: caller.tenantId, requestId: caller.requestId, baseUrl: deps.scimBaseUrl, onCommitted: deps.onCommitted };
}

async function auditAction(deps: AdminDeps, caller: Caller, uid: string | null, action: string, detail: Record<string, unknown> = {}) {
  await appendAudit(deps.db, {
    tenantId: caller.tenantId,
    userId: uid,
    action: `admin.${action}`,
    detail: { tokenId: caller.tokenId, role: caller.role, ...detail },
    requestId: caller.requestId,
  });
}

/**
 * The manual "create user" path of the domain brief: a SCIM-shaped user through the users
 * service, so the same workflow onboards it. The answer says what onboarding will wait for when
 * the user's data is incomplete under today's configuration (`onboarding.waitsForData`), so a
 * 201 is not read as "invited".
 */
export async function createUser(deps: AdminDeps, caller: Caller, tenantId: string, body: unknown) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const created = await users.createUser(scimContext(deps, caller), body);
  const id = created.resource.id as string;
  await auditAction(deps, caller, id, 'createUser');
  const { config } = await currentConfig(deps.db, tenantId);
  const desired = (await desiredStateOf(deps.db, tenantId, id, config))?.desired;
  const missing = desired?.missing ?? [];
  return {
    ...created.resource,
    onboarding: {
      waitsForData: missing.length > 0,
      ...(missing.length > 0
        ? { message: `The user is created, but onboarding will wait (awaitingData) until this is supplied: ${missing.join('; ')}`, missing }
        : {}),
      ...(desired && desired.notes.length > 0 ? { notes: desired.notes } : {}),
    },
  };
}

const PATCH_OP_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const activePatch = (active: boolean) => ({ schemas: [PATCH_OP_URN], Operations: [{ op: 'replace', path: 'active', value: active }] });

/** Suspend / reactivate: `active` on the SCIM resource, as the IdP would (which may set it back on its next push). */
export async function setActive(deps: AdminDeps, caller: Caller, tenantId: string, id: string, active: boolean) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const uid = userId(id);
  const result = await users.patchUser(scimContext(deps, caller), uid, activePatch(active));
  await auditAction(deps, caller, uid, active ? 'reactivate' : 'suspend', { changed: result.changed });
  return { requestId: caller.requestId, changed: result.changed, user: result.resource };
}

/** Terminate: DELETE of the SCIM resource; the workflow releases everything and keeps the record for audit. */
export async function terminate(deps: AdminDeps, caller: Caller, tenantId: string, id: string) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const uid = userId(id);
  await users.deleteUser(scimContext(deps, caller), uid);
  await auditAction(deps, caller, uid, 'terminate');
  return { requestId: caller.requestId, terminated: true };
}

/** resendInvitation / retry: signals to the user's running workflow (409 when it has none). */
export async function signalUser(deps: AdminDeps, caller: Caller, tenantId: string, id: string, which: 'resendInvitation' | 'retry') {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const uid = userId(id);
  const handle = (await deps.temporal()).workflow.getHandle(userWorkflowId(tenantId, uid));
  try {
    await handle.signal(which === 'retry' ? retrySignal : resendInvitationSignal);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new AdminError(409, `user "${id}" has no running workflow (not provisioned yet, or terminated)`);
    throw err;
  }
  await auditAction(deps, caller, uid, which);
  return { requestId: caller.requestId, signalled: which, workflowId: handle.workflowId };
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
