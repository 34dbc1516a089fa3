/**
 * Admin API use cases (routes.ts is the HTTP side). Reads come from PostgreSQL; user actions go
 * through the same paths as the identity provider's requests, so the IdP-visible SCIM resource
 * and the application agree: suspend / reactivate / terminate change the SCIM resource through
 * the users service (active false / true, DELETE), "create user" POSTs a SCIM-shaped user
 * through it; resend and retry are the user workflow's signals. Every action carries a request
 * id `admin:<uuid>` into the outbox, the workflow and the audit log.
 */
import crypto from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { diffLines } from 'diff';
import YAML from 'yaml';
import type { Db } from '../../common/db';
import { diffStates, stateOf, type FieldChange } from '../../domain/directory-diff';
import { parseDuration } from '../../domain/duration';
import { isUuid } from '../../domain/uuid';
import { TenantConfigError, formatProblem, validateTenantConfig, type ConfigProblem } from '../../domain/tenant-config';
import type { Logger } from '../../common/logger';
import { desiredStateOf } from '../../policy/desired-state';
import { configProblems, previewTenantConfig, previewUser, saveTenantConfig, TenantNotFoundError } from '../../policy/tenant-policy';
import type { SenderPolicy } from '../../common/mail/sender';
import * as insights from '../../common/repositories/admin-insights';
import { searchUsers } from '../../common/repositories/admin-search';
import * as views from '../../common/repositories/admin-views';
import { appendAudit } from '../../common/repositories/audit-log';
import { decideDeprovision, heldDeprovisions, pendingDecisionOf } from '../../common/repositories/deprovision-requests';
import { observedStates } from '../../common/repositories/entitlements';
import { changesOfUser } from '../../common/repositories/outbox';
import { searchRequestLog, tokenActivity } from '../../common/repositories/request-log';
import { currentConfig, getConfigVersion, getTenant, listConfigVersions } from '../../common/repositories/tenants';
import { ADMIN_WRITE_ROLE, createToken, listTokens, revokeToken, verifyToken } from '../../common/repositories/tokens';
import { userWorkflowId } from '../../common/temporal/constants';
import { ensureReconcileSchedule, reconcileScheduleId, RECONCILE_WORKFLOW_TYPE, scheduleSpecOf } from '../../common/temporal/reconcile-schedule';
import { requestResendUpdate, resendInvitationSignal, retrySignal, statusQuery, type ResendRequested, type UserStatus } from '../../workflows/definitions';
import type { ScimContext } from '../context';
import * as users from '../users/service';
import { WAIT_FILTERS, waitSearch } from '../../domain/visible-state';
import { adviceFor } from './advice';
import { buildTimeline, timelineCsv } from './timeline';

/**
 * Reads from Temporal shown beside the database's view (a workflow's status, the repair schedule)
 * are bounded: with no worker polling, a query would otherwise wait for Temporal's own timeout
 * while the page or the admin call hangs.
 */
const TEMPORAL_READ_MS = 5_000;
const boundedRead = <R>(client: Client, read: () => Promise<R>): Promise<R> => client.connection.withDeadline(Date.now() + TEMPORAL_READ_MS, read);

export interface AdminDeps {
  db: Db;
  temporal: () => Promise<Client>;
  taskQueue: string;
  /** Absolute base of SCIM URLs (…/scim/v2), for the users service's `meta.location`. */
  scimBaseUrl: string;
  onCommitted: () => void;
  logger: Logger;
  /** The Temporal UI and namespace, for links to a user's workflow (unset: no link). */
  temporalUi?: { url: string; namespace: string };
  /** Which senders tenants may configure (MAIL_FROM, MAIL_ALLOWED_FROM_DOMAINS); without it only the document's own rules apply. */
  senderPolicy?: SenderPolicy;
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

export function requireWriter(caller: Caller): void {
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
  // Versions are PostgreSQL integers: a larger number names none (it used to reach the query and fail with a 500).
  const n = /^\d{1,10}$/.test(version) ? Number(version) : NaN;
  const found = n > 0 && n <= 2_147_483_647 ? await getConfigVersion(deps.db, tenantId, n) : undefined;
  if (!found) throw new AdminError(404, `configuration version "${version}" not found`);
  return found;
}

/** Every problem (an unknown key with a "did you mean", a sender the operator does not allow), or, when valid, the warnings: rules that can never change anything. */
export function validateConfig(
  body: unknown,
  senderPolicy?: SenderPolicy,
): { valid: boolean; problems: string[]; details: ConfigProblem[]; warnings: string[] } {
  const result = validateTenantConfig(body);
  const problems = configProblems(body, senderPolicy);
  return result.ok && problems.length === 0
    ? { valid: true, problems: [], details: [], warnings: result.warnings.map(formatProblem) }
    : { valid: false, problems: problems.map(formatProblem), details: problems, warnings: [] };
}

/** Saves a new version (400 with every problem when invalid), tells the affected users' workflows, and brings the drift-repair Schedule in line. */
export async function saveConfig(deps: AdminDeps, caller: Caller, tenantId: string, body: unknown) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  let saved;
  try {
    saved = await saveTenantConfig(deps.db, tenantId, body, {
      createdBy: `admin-token:${caller.tokenId}`,
      requestId: caller.requestId,
      senderPolicy: deps.senderPolicy,
    });
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
    // The convergence steps that would change something (a user not stored yet: every step).
    return { ...result, steps: stepsForChanges('userId' in subject ? (result.changesFromDirectory ?? undefined) : undefined) };
  } catch (err) {
    if (err instanceof TenantConfigError) throw new AdminError(400, 'the draft configuration is invalid', err.problems);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Users

/** Users in id order, optionally searched (id, part of a name, userName or email) and filtered by state or what they wait for; `next` is the cursor for `after`. */
export async function listUsers(
  deps: AdminDeps,
  caller: Caller,
  tenantId: string,
  q: { q?: string; state?: string; waiting?: string; waitingFor?: string; after?: string; limit?: string },
) {
  await tenantOf(deps, caller, tenantId);
  const limit = Math.min(Math.max(Number(q.limit ?? 100) || 100, 1), 1000);
  if (q.after !== undefined && q.after !== '' && !isUuid(q.after)) throw new AdminError(400, '"after" must be a user id (the last id of the previous page)');
  if (q.q !== undefined && q.q.length > 200) throw new AdminError(400, '"q" is longer than 200 characters');
  const waitingFor = q.waitingFor ? waitSearch(q.waitingFor) : undefined;
  if (q.waitingFor && !waitingFor) throw new AdminError(400, `"waitingFor" must be one of ${WAIT_FILTERS.join(', ')}, or a waitingFor value as users show it`);
  const rows = await searchUsers(deps.db, tenantId, {
    q: q.q || undefined,
    state: q.state || undefined,
    waitingFor,
    waiting: q.waiting === 'true',
    afterId: q.after || undefined,
    limit,
  });
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
    const client = await deps.temporal();
    workflow = await boundedRead(client, () => client.workflow.getHandle(userWorkflowId(tenantId, row.userId)).query(statusQuery));
  } catch (err) {
    workflow = { unavailable: (err as Error).message.slice(0, 200) };
  }
  const pending = await pendingDecisionOf(deps.db, tenantId, row.userId);
  return {
    ...row,
    workflow,
    /** A suspension or termination the guard holds for a Super User (or a rejected deletion that can still be allowed). */
    heldChange: pending ? { id: pending.id, change: pending.action, status: pending.status, heldAt: pending.createdAt.toISOString() } : null,
    advice: adviceFor({ state: row.state, waitingFor: row.waitingFor, lastError: row.lastError }) ?? null,
    links: { temporalUi: temporalUiLink(deps, userWorkflowId(tenantId, row.userId)) },
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
  const requests = new Map<string, { requestId: string; source: string; changes: typeof changes; entries: typeof entries; sources: Set<string> }>();
  const bucket = (rid: string | null) => {
    const key = rid ?? '(none)';
    if (!requests.has(key)) requests.set(key, { requestId: key, source: 'unknown', changes: [], entries: [], sources: new Set() });
    return requests.get(key)!;
  };
  // The source comes from what the server recorded with the change (the credential's kind), never from the request
  // id, which a SCIM client may choose: "admin:<uuid>" sent as X-Request-Id used to show as an admin action.
  for (const c of changes) {
    const b = bucket(c.requestId);
    b.changes.push(c);
    b.sources.add(c.source ?? 'unknown');
  }
  for (const e of entries) {
    const b = bucket(e.requestId);
    b.entries.push(e);
    // admin.* entries are written by this service after an admin token authenticated the action.
    if (e.action.startsWith('admin.')) b.sources.add('admin');
  }
  const trail = [...requests.values()].map(({ sources, ...r }) => ({ ...r, source: sources.size > 0 ? [...sources].sort().join(' and ') : 'unknown' }));
  return { userId: uid, workflowId: userWorkflowId(tenantId, uid), requests: trail, entries };
}

function scimContext(deps: AdminDeps, caller: Caller): ScimContext {
  return { db: deps.db, tenantId: caller.tenantId, requestId: caller.requestId, source: 'admin', baseUrl: deps.scimBaseUrl, onCommitted: deps.onCommitted };
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

/** What the answer of a Super User's suspension or termination says about the mass-deprovisioning guard. */
const NOT_COUNTED =
  "not counted by the mass-deprovisioning guard (a Super User's own action); the workflow blocks login as soon as it applies the change, within seconds";

/** Suspend / reactivate: `active` on the SCIM resource, as the IdP would (which may set it back on its next push). */
export async function setActive(deps: AdminDeps, caller: Caller, tenantId: string, id: string, active: boolean) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const uid = userId(id);
  const result = await users.patchUser(scimContext(deps, caller), uid, activePatch(active));
  await auditAction(deps, caller, uid, active ? 'reactivate' : 'suspend', { changed: result.changed });
  return {
    requestId: caller.requestId,
    changed: result.changed,
    ...(active ? {} : { guard: NOT_COUNTED }),
    user: result.resource,
  };
}

/** Terminate: DELETE of the SCIM resource; the workflow releases everything and keeps the record for audit. */
export async function terminate(deps: AdminDeps, caller: Caller, tenantId: string, id: string) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const uid = userId(id);
  await users.deleteUser(scimContext(deps, caller), uid);
  await auditAction(deps, caller, uid, 'terminate');
  return { requestId: caller.requestId, terminated: true, guard: NOT_COUNTED };
}

/**
 * A new invitation round, through the workflow's update: answered 409 with the reason when there
 * is nothing to resend (accepted, held, suspended, not invited yet); otherwise 202 with the
 * round whose invitation (a new link, replacing the earlier ones) is on its way.
 */
export async function resendInvitation(deps: AdminDeps, caller: Caller, tenantId: string, id: string) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const uid = userId(id);
  const handle = (await deps.temporal()).workflow.getHandle(userWorkflowId(tenantId, uid));
  let requested: ResendRequested;
  try {
    requested = await handle.executeUpdate(requestResendUpdate);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new AdminError(409, `user "${id}" has no running workflow (not provisioned yet, or terminated)`);
    if (err instanceof WorkflowUpdateFailedError) throw new AdminError(409, (err.cause as Error | undefined)?.message ?? err.message);
    throw err;
  }
  await auditAction(deps, caller, uid, 'resendInvitation', { round: requested.round });
  return { requestId: caller.requestId, requested: 'resendInvitation', round: requested.round, workflowId: handle.workflowId };
}

/** retry: a signal to the user's running workflow (409 when it has none). */
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

// ---------------------------------------------------------------------------------------------
// Overview, provisioning log, connection (the admin console's pages read these)

/** Days the overview's invitation funnel and time to invitation look back. */
export const OVERVIEW_DAYS = 30;

/**
 * A change held by the mass-deprovisioning guard (docs/admin-api.md, "Held changes"): a
 * suspension or termination beyond the tenant's threshold, waiting for a Super User. A
 * decision is committed with an outbox row, so the user's workflow learns of it even if
 * Temporal is down at that moment: allowed, the change is applied; rejected, the user keeps its
 * access (a rejected change can still be allowed later).
 */
export interface HeldChange {
  id: string;
  userId: string;
  /** The SCIM userName; once the SCIM user is deleted (a held termination), the login email the application keeps. */
  userName: string | null;
  /** First and last name in the application, when it has them. */
  name: string | null;
  change: 'suspend' | 'terminate';
  requestId: string;
  heldAt: string;
  reason: string;
}

export interface HeldChanges {
  guard: { threshold: number; window: string };
  held: HeldChange[];
}

/** The guard's settings and the changes it holds; undefined when the tenant turned the guard off. */
export async function listHeldChanges(deps: AdminDeps, caller: Caller, tenantId: string): Promise<HeldChanges | undefined> {
  await tenantOf(deps, caller, tenantId);
  const { config } = await currentConfig(deps.db, tenantId);
  const guard = config.deprovisionGuard;
  if (!guard.enabled) return undefined;
  const held = await heldDeprovisions(deps.db, tenantId);
  return {
    guard: { threshold: guard.threshold, window: guard.window },
    held: held.map((h) => ({
      id: h.id,
      userId: h.userId,
      userName: h.userName,
      name: h.displayName,
      change: h.action,
      requestId: h.requestId,
      heldAt: h.createdAt.toISOString(),
      reason: `more than ${guard.threshold} suspensions or terminations within ${guard.window}`,
    })),
  };
}

/** Allows (the change is applied) or rejects (the user keeps its access) a held change. Super Users only. */
export async function decideHeldChange(deps: AdminDeps, caller: Caller, tenantId: string, id: string, decision: 'allow' | 'reject') {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  if (!isUuid(id)) throw new AdminError(404, `no held change "${id}"`);
  const decided = await deps.db.withTransaction(async (tx) => {
    const row = await decideDeprovision(tx, tenantId, id, decision === 'allow' ? 'approved' : 'rejected', `token:${caller.tokenId}`, caller.requestId);
    if (row) {
      await appendAudit(tx, {
        tenantId,
        userId: row.userId,
        action: `admin.deprovision.${decision === 'allow' ? 'allowed' : 'rejected'}`,
        detail: { tokenId: caller.tokenId, role: caller.role, heldChange: id, change: row.action },
        requestId: caller.requestId,
      });
    }
    return row;
  });
  if (!decided) throw new AdminError(404, `no held change "${id}" (it may have been decided already)`);
  deps.onCommitted();
  return {
    requestId: caller.requestId,
    id,
    decision,
    userId: decided.userId,
    change: decided.action,
    outcome:
      decision === 'allow'
        ? `the ${decided.action === 'suspend' ? 'suspension' : 'termination'} is being applied`
        : 'the user keeps its access; the held change can still be allowed later',
  };
}

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

/** A user's provisioning log: each request with when it was accepted and delivered, the steps it caused (old → new), failures with what to do. */
export async function userTimeline(deps: AdminDeps, caller: Caller, tenantId: string, id: string) {
  await tenantOf(deps, caller, tenantId);
  const uid = userId(id);
  const [entries, changes] = await Promise.all([views.auditOfUser(deps.db, tenantId, uid), changesOfUser(deps.db, tenantId, uid)]);
  if (entries.length === 0 && changes.length === 0) throw new AdminError(404, `user "${id}" not found`);
  return { userId: uid, workflowId: userWorkflowId(tenantId, uid), ...buildTimeline(changes, entries) };
}

export { timelineCsv };

/** Where the workflow of a user is in the Temporal UI (latest run), when the UI's address is known. */
export function temporalUiLink(deps: AdminDeps, workflowId: string): string | null {
  if (!deps.temporalUi) return null;
  return `${deps.temporalUi.url}/namespaces/${encodeURIComponent(deps.temporalUi.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** Which convergence step applies each changed field (what "run now" would do for a stored user). */
const STEP_OF_FIELD: [RegExp, string][] = [
  [/^(profile\.|clientKey$|caseManager$)/, 'createProfile'],
  [/^memberships$/, 'assignOrganisations'],
  [/^licences$/, 'assignLicences'],
  [/^providerAccounts$/, 'assignProviderAccounts'],
  [/./, 'applyAccessSettings'],
];
const CONVERGE_STEPS = ['createProfile', 'assignOrganisations', 'assignLicences', 'assignProviderAccounts', 'applyAccessSettings'];

export function stepsForChanges(changes: FieldChange[] | undefined): { step: string; fields: string[] }[] {
  if (changes === undefined) return CONVERGE_STEPS.map((step) => ({ step, fields: [] }));
  const byStep = new Map<string, string[]>();
  for (const c of changes) {
    if (c.field === 'missing' || c.field === 'active') continue;
    const step = STEP_OF_FIELD.find(([re]) => re.test(c.field))![1];
    byStep.set(step, [...(byStep.get(step) ?? []), c.field]);
  }
  return CONVERGE_STEPS.filter((s) => byStep.has(s)).map((step) => ({ step, fields: byStep.get(step)! }));
}

// ---------------------------------------------------------------------------------------------
// SCIM tokens and the connection test

/** At most this many live SCIM tokens per tenant through the admin API: the one in use and its successor during a rotation. */
export const MAX_LIVE_SCIM_TOKENS = 2;

export async function listTenantTokens(deps: AdminDeps, caller: Caller, tenantId: string) {
  await tenantOf(deps, caller, tenantId);
  const all = await listTokens(deps.db, tenantId);
  // The request log's last request and last error of each SCIM token (two index look-ups a token).
  const activity = await tokenActivity(
    deps.db,
    tenantId,
    all.filter((t) => t.kind === 'scim').map((t) => t.id),
  );
  return {
    tokens: all.map((t) => ({
      ...(t.kind === 'scim' ? { lastRequest: activity.get(t.id)?.lastRequest ?? null, lastError: activity.get(t.id)?.lastError ?? null } : {}),
      id: t.id,
      name: t.name,
      kind: t.kind,
      prefix: t.prefix,
      adminRole: t.adminRole,
      createdAt: t.createdAt,
      lastUsedAt: t.lastUsedAt,
      revokedAt: t.revokedAt,
      // Null: it never expires (npm run tokens -- create … --expires 90d).
      expiresAt: t.expiresAt,
      expired: !!t.expiresAt && new Date(t.expiresAt).getTime() <= Date.now(),
    })),
    maxLiveScimTokens: MAX_LIVE_SCIM_TOKENS,
  };
}

// ---------------------------------------------------------------------------------------------
// The SCIM request log

export interface RequestFilters {
  status?: string;
  q?: string;
  method?: string;
  after?: string;
  limit?: string;
}

const REQUEST_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** The cursor of a request log page: `<epoch ms>.<row id>` of its last row. */
const requestCursor = (row: { at: string; id: string }) => `${new Date(row.at).getTime()}.${row.id}`;

/** The tenant's SCIM requests, newest first (request log, scim-server/request-log.ts); keyset paging with `after`. */
export async function listRequests(deps: AdminDeps, caller: Caller, tenantId: string, f: RequestFilters) {
  await tenantOf(deps, caller, tenantId);
  // A parameter given twice arrives as a list: taken as absent.
  f = Object.fromEntries(Object.entries(f).filter(([, v]) => typeof v === 'string')) as RequestFilters;
  const limit = Math.min(Math.max(Number(f.limit ?? 100) || 100, 1), 500);
  let statusFrom: number | undefined;
  let statusTo: number | undefined;
  const status = (f.status ?? '').trim().toLowerCase();
  if (/^[1-5]xx$/.test(status)) {
    statusFrom = Number(status[0]) * 100;
    statusTo = statusFrom + 99;
  } else if (/^[1-5]\d\d$/.test(status)) statusFrom = statusTo = Number(status);
  else if (status !== '') throw new AdminError(400, '"status" must be 4xx, 5xx (any class 1xx to 5xx) or a status code such as 400');
  const method = (f.method ?? '').trim().toUpperCase();
  if (method !== '' && !REQUEST_METHODS.includes(method)) throw new AdminError(400, `"method" must be one of ${REQUEST_METHODS.join(', ')}`);
  const q = (f.q ?? '').trim();
  if (q.length > 256) throw new AdminError(400, '"q" is longer than 256 characters');
  let before: { at: Date; id: string } | undefined;
  if (f.after) {
    const m = /^(\d{1,15})\.(\d{1,18})$/.exec(f.after);
    if (!m) throw new AdminError(400, '"after" must be the "next" cursor of the previous page');
    before = { at: new Date(Number(m[1])), id: m[2] };
  }
  const rows = await searchRequestLog(deps.db, tenantId, { statusFrom, statusTo, method: method || undefined, q: q || undefined, before, limit });
  return { requests: rows, next: rows.length === limit ? requestCursor(rows[rows.length - 1]) : null };
}

/** A new SCIM token for the IdP, shown once in the answer (Super User); 409 with two live ones. */
export async function createScimToken(deps: AdminDeps, caller: Caller, tenantId: string, body: unknown) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const name = typeof (body as { name?: unknown })?.name === 'string' ? (body as { name: string }).name.trim() : '';
  if (!/^[\p{L}\p{N} ._@-]{1,64}$/u.test(name)) throw new AdminError(400, '"name" must be 1 to 64 letters, digits, spaces or . _ @ - (e.g. "okta-2025")');
  const live = (await listTokens(deps.db, tenantId)).filter((t) => t.kind === 'scim' && !t.revokedAt);
  if (live.length >= MAX_LIVE_SCIM_TOKENS) {
    throw new AdminError(
      409,
      `this tenant has ${live.length} live SCIM tokens (${live.map((t) => `"${t.name}"`).join(', ')}); revoke the one the identity provider no longer uses first`,
    );
  }
  const expires = (body as { expires?: unknown })?.expires;
  let expiresInMs: number | undefined;
  if (expires !== undefined && expires !== null) {
    try {
      expiresInMs = typeof expires === 'string' ? parseDuration(expires) : NaN;
    } catch {
      expiresInMs = NaN;
    }
    if (!(expiresInMs! > 0)) throw new AdminError(400, '"expires" must be a duration such as 90d or 12h (or left out: the token does not expire)');
  }
  const created = await createToken(deps.db, tenantId, name, 'scim', undefined, expiresInMs);
  await auditAction(deps, caller, null, 'tokenCreated', { createdTokenId: created.id, name, expiresAt: created.expiresAt });
  return { id: created.id, name, kind: 'scim', token: created.token, prefix: created.token.slice(0, 8), expiresAt: created.expiresAt };
}

export async function revokeScimToken(deps: AdminDeps, caller: Caller, tenantId: string, tokenId: string) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const token = (await listTokens(deps.db, tenantId)).find((t) => t.id === tokenId && t.kind === 'scim');
  if (!token) throw new AdminError(404, `SCIM token "${tokenId}" not found`);
  const revoked = await revokeToken(deps.db, token.id);
  if (revoked) await auditAction(deps, caller, null, 'tokenRevoked', { revokedTokenId: token.id, name: token.name });
  return { id: token.id, name: token.name, revoked, alreadyRevoked: !revoked };
}

export interface ConnectionCheck {
  name: string;
  request: string;
  ok: boolean;
  status: number | null;
  ms: number;
  detail: string;
}

/**
 * The requests an identity provider's "test connection" sends, made over HTTP to this server's
 * SCIM base URL with the token given (not stored): Okta reads the service provider
 * configuration and a page of users and groups; Entra ID looks a random userName up and
 * expects an empty list. Writes nothing.
 */
export async function testConnection(deps: AdminDeps, caller: Caller, tenantId: string, body: unknown) {
  await tenantOf(deps, caller, tenantId);
  const token = typeof (body as { token?: unknown })?.token === 'string' ? (body as { token: string }).token.trim() : '';
  if (!token) throw new AdminError(400, 'give "token": the SCIM token the identity provider uses');
  const base = deps.scimBaseUrl;
  const owner = await verifyToken(deps.db, token);
  if (!owner || owner.kind !== 'scim' || owner.tenantId !== tenantId) {
    return {
      baseUrl: base,
      ok: false,
      checks: [
        {
          name: 'token',
          request: '(none sent)',
          ok: false,
          status: null,
          ms: 0,
          detail: "This is not a live SCIM token of this tenant (unknown, revoked, an admin token, or another tenant's). Create one on this page.",
        },
      ],
    };
  }
  const probe = `scimflow-connection-test-${crypto.randomUUID()}@example.invalid`;
  const requests: { name: string; path: string; expect: (status: number, body: any) => string | undefined }[] = [
    {
      name: 'Service provider configuration (Okta, Entra ID)',
      path: '/ServiceProviderConfig',
      expect: (s, b) => (s === 200 && b?.patch ? undefined : `expected 200 with "patch", got ${s}`),
    },
    {
      name: 'First page of users (Okta)',
      path: '/Users?startIndex=1&count=1',
      expect: (s, b) => (s === 200 && typeof b?.totalResults === 'number' ? undefined : `expected 200 with a ListResponse, got ${s}`),
    },
    {
      name: 'Look up a user that does not exist (Entra ID)',
      path: `/Users?filter=${encodeURIComponent(`userName eq "${probe}"`)}`,
      expect: (s, b) => (s === 200 && b?.totalResults === 0 ? undefined : `expected 200 with totalResults 0, got ${s}`),
    },
    {
      name: 'First page of groups (group push)',
      path: '/Groups?startIndex=1&count=1',
      expect: (s, b) => (s === 200 && typeof b?.totalResults === 'number' ? undefined : `expected 200 with a ListResponse, got ${s}`),
    },
  ];
  const checks: ConnectionCheck[] = [];
  for (const r of requests) {
    const started = Date.now();
    try {
      const res = await fetch(`${base}${r.path}`, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/scim+json' },
        signal: AbortSignal.timeout(5_000),
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      const problem = r.expect(res.status, parsed);
      checks.push({
        name: r.name,
        request: `GET ${r.path}`,
        ok: !problem,
        status: res.status,
        ms: Date.now() - started,
        detail: problem ?? 'as an IdP expects',
      });
    } catch (err) {
      checks.push({
        name: r.name,
        request: `GET ${r.path}`,
        ok: false,
        status: null,
        ms: Date.now() - started,
        detail: `could not reach ${base} from the server: ${(err as Error).message} (is PUBLIC_URL right?)`,
      });
    }
  }
  await auditAction(deps, caller, null, 'connectionTested', { ok: checks.every((c) => c.ok) });
  return { baseUrl: base, ok: checks.every((c) => c.ok), checks };
}

// ---------------------------------------------------------------------------------------------
// Configuration versions as YAML, and the difference between two

export async function configYaml(deps: AdminDeps, caller: Caller, tenantId: string, version: string) {
  const v = await getVersion(deps, caller, tenantId, version);
  return { version: v.version, createdBy: v.createdBy, createdAt: v.createdAt, yaml: YAML.stringify(v.config) };
}

/** Line diff of two versions' YAML (with defaults filled in, as stored). */
export async function diffVersions(deps: AdminDeps, caller: Caller, tenantId: string, from: string, to: string) {
  const [a, b] = await Promise.all([configYaml(deps, caller, tenantId, from), configYaml(deps, caller, tenantId, to)]);
  const lines = diffLines(a.yaml, b.yaml).flatMap((part) =>
    part.value
      .replace(/\n$/, '')
      .split('\n')
      .map((text) => ({ kind: part.added ? ('added' as const) : part.removed ? ('removed' as const) : ('same' as const), text })),
  );
  return {
    from: { version: a.version, createdBy: a.createdBy, createdAt: a.createdAt },
    to: { version: b.version, createdBy: b.createdBy, createdAt: b.createdAt },
    changed: lines.some((l) => l.kind !== 'same'),
    lines,
  };
}
