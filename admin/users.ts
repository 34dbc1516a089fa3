/**
 * The tenant's users: the list (searched, filtered by state and by what they wait for), one
 * user's detail (provisioning state, the directory, the desired state and the difference), and
 * "create user", through the users service like an identity provider's POST.
 */
import * as views from '../common/repositories/admin-views';
import { searchUsers } from '../common/repositories/admin-search';
import { pendingDecisionOf } from '../common/repositories/deprovision-requests';
import { observedStates } from '../common/repositories/entitlements';
import { currentConfig } from '../common/repositories/tenants';
import { userWorkflowId } from '../common/temporal/constants';
import { diffStates, stateOf } from '../domain/directory-diff';
import { holdersIn, loginConflictsIn } from '../domain/login-conflicts';
import { isUuid } from '../domain/uuid';
import { WAIT_FILTERS, waitSearch } from '../domain/visible-state';
import { desiredStateOf } from '../policy/desired-state';
import * as users from '../scim-server/users/service';
import { statusQuery, type UserStatus } from '../workflows/definitions';
import { adviceFor } from './advice';
import { AdminError, auditAction, boundedRead, requireWriter, scimContext, tenantOf, userId, type AdminDeps, type Caller } from './shared';

/**
 * Users in id order, optionally searched (id, part of a name, userName or email) and filtered by
 * state, what they wait for, or an employee area they hold in the ledger (rule-given ones too);
 * `next` is the cursor for `after`.
 */
export async function listUsers(
  deps: AdminDeps,
  caller: Caller,
  tenantId: string,
  q: { q?: string; state?: string; waiting?: string; waitingFor?: string; employeeArea?: string; after?: string; limit?: string },
) {
  await tenantOf(deps, caller, tenantId);
  const limit = Math.min(Math.max(Number(q.limit ?? 100) || 100, 1), 1000);
  if (q.after !== undefined && q.after !== '' && !isUuid(q.after)) throw new AdminError(400, '"after" must be a user id (the last id of the previous page)');
  if (q.q !== undefined && q.q.length > 200) throw new AdminError(400, '"q" is longer than 200 characters');
  if (q.employeeArea !== undefined && (typeof q.employeeArea !== 'string' || q.employeeArea.length > 200)) {
    throw new AdminError(400, '"employeeArea" must be one employee area (tag) of at most 200 characters');
  }
  const waitingFor = q.waitingFor ? waitSearch(q.waitingFor) : undefined;
  if (q.waitingFor && !waitingFor) throw new AdminError(400, `"waitingFor" must be one of ${WAIT_FILTERS.join(', ')}, or a waitingFor value as users show it`);
  const rows = await searchUsers(deps.db, tenantId, {
    q: q.q || undefined,
    state: q.state || undefined,
    waitingFor,
    waiting: q.waiting === 'true',
    employeeArea: q.employeeArea?.trim() || undefined,
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
  const reasons = [row.lastError, workflow && 'lastError' in workflow ? workflow.lastError : undefined];
  const holders = await loginHolderLabels(deps, tenantId, reasons);
  const conflicts = reasons.flatMap((r) => loginConflictsIn(r)).filter((c, i, all) => all.findIndex((o) => o.value === c.value) === i);
  return {
    ...row,
    workflow,
    /** Logins this user cannot have because another user holds them (why it is held), with who that user is. */
    loginConflicts: conflicts.map((c) => ({
      kind: c.kind,
      value: c.value,
      userId: c.holderId,
      userName: holders.get(c.holderId)?.userName ?? null,
      name: holders.get(c.holderId)?.name ?? null,
    })),
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
 * The users named in reasons as the holders of a login ("email x is already the login of user
 * <id>", domain/login-conflicts.ts), by id, with their userName and name: pages show them by name.
 * Only the tenant's users; the caller has checked the tenant.
 */
export async function loginHolderLabels(
  deps: AdminDeps,
  tenantId: string,
  reasons: readonly (string | null | undefined)[],
): Promise<Map<string, views.UserLabel>> {
  const ids = holdersIn(reasons);
  if (ids.length === 0) return new Map();
  return new Map((await views.userLabels(deps.db, tenantId, ids)).map((l) => [l.userId, l]));
}

/** Where the workflow of a user is in the Temporal UI (latest run), when the UI's address is known. */
export function temporalUiLink(deps: AdminDeps, workflowId: string): string | null {
  if (!deps.temporalUi) return null;
  return `${deps.temporalUi.url}/namespaces/${encodeURIComponent(deps.temporalUi.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
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
