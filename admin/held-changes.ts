/** The mass-deprovisioning guard's held changes, and a Super User's decision on one. */
import { appendAudit } from '../common/repositories/audit-log';
import { decideDeprovision, heldDeprovisions } from '../common/repositories/deprovision-requests';
import { currentConfig } from '../common/repositories/tenants';
import { isUuid } from '../domain/uuid';
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
