/** The mass-deprovisioning guard's held changes, and a Super User's decision on one. */
import { appendAudit } from '../common/repositories/audit-log';
import { decideDeprovision, heldDeprovisions } from '../common/repositories/deprovision-requests';
import { currentConfig } from '../common/repositories/tenants';
import { isUuid } from '../domain/uuid';
import { restoreRejectedDeletion, type DeletionRestore } from './held-deletions';
import { AdminError, requireWriter, tenantOf, type AdminDeps, type Caller } from './shared';

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
  let restore: DeletionRestore | undefined;
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
      // A rejected deletion gives the SCIM user back (admin/held-deletions.ts).
      if (decision === 'reject') restore = await restoreRejectedDeletion(tx, tenantId, row, caller);
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
    ...restore,
  };
}

/** At most this many held changes are decided by one "all of this burst" request. */
export const MAX_BURST_DECISION = 5000;

/**
 * Allow all or Reject all of a burst: each change through `decideHeldChange` (so each is decided,
 * audited and told to its workflow exactly as a single decision), in the order held. `ids`: the
 * changes to decide (a burst as a page listed it); absent, every change held now (the oldest
 * MAX_BURST_DECISION). The answer says per change what was applied, or why nothing was (decided
 * already, no such change, refused: the status and reason a single decision would answer).
 */
export async function decideHeldChanges(deps: AdminDeps, caller: Caller, tenantId: string, body: unknown) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const b = (body ?? {}) as { decision?: unknown; ids?: unknown };
  if (b.decision !== 'allow' && b.decision !== 'reject') throw new AdminError(400, '"decision" must be "allow" or "reject"');
  const decision = b.decision;
  let ids: string[];
  if (b.ids === undefined) {
    // Every change that still stands (superseded ones are left out, as in the list), oldest first.
    ids = (await heldDeprovisions(deps.db, tenantId, MAX_BURST_DECISION)).map((h) => h.id);
  } else {
    if (!Array.isArray(b.ids) || !b.ids.every((id) => typeof id === 'string')) throw new AdminError(400, '"ids" must be an array of held change ids');
    ids = [...new Set(b.ids as string[])];
  }
  if (ids.length > MAX_BURST_DECISION) throw new AdminError(400, `at most ${MAX_BURST_DECISION} held changes at once; ${ids.length} given`);
  const results: (
    | (Omit<Awaited<ReturnType<typeof decideHeldChange>>, 'requestId' | 'decision'> & { applied: true })
    | { id: string; applied: false; status: number; reason: string }
  )[] = [];
  for (const id of ids) {
    try {
      // What a single decision answers (the change, the user, what was applied), per change.
      const { requestId: _requestId, decision: _decision, ...applied } = await decideHeldChange(deps, caller, tenantId, id, decision);
      results.push({ ...applied, applied: true });
    } catch (err) {
      // Refused for this change alone (decided already, no such change, a restore that cannot be done): said, and the burst goes on.
      if (!(err instanceof AdminError) || err.status >= 500) throw err;
      results.push({ id, applied: false, status: err.status, reason: err.message });
    }
  }
  const decided = results.filter((r) => r.applied).length;
  return { requestId: caller.requestId, decision, decided, notDecided: results.length - decided, results };
}
