/**
 * A rejected deletion restores the user as a SCIM resource (issue 23, item 2). When the identity
 * provider DELETEs a user, the resource goes at once while the workflow's termination waits past
 * the mass-deprovisioning guard; a Super User who rejects it keeps the person's access, and here
 * gets the SCIM user back: the same id, its last document (kept by the deletion in
 * scim_deleted_users, migration 022) and its direct group memberships, at a new version (so
 * ETags change), in the transaction of the decision. The identity provider can then GET, find,
 * update and delete the user again; re-pushing the same person answers 409 uniqueness instead
 * of creating a held duplicate.
 *
 * The restoration writes an outbox row like any SCIM change (`updated`, source admin), so the
 * relay wakes the user's workflow, whose guard then finds the user again (`restored`) and plans
 * it like any change (workflows/user-lifecycle/steps.ts, terminate). The deletion's request is
 * marked restored: it can no longer be allowed, and a later deletion is a new request the guard
 * counts.
 */
import type { Queryable } from '../common/db';
import { appendAudit } from '../common/repositories/audit-log';
import { markDeletionRestored, type DeprovisionRequest } from '../common/repositories/deprovision-requests';
import { deletedUserForUpdate, restoreDeletedUser, userExists, userIdHoldingName } from '../common/repositories/scim-users';
import { completeAsyncRequests } from '../events/lifecycle';
import { userChangeEvents, versionTag } from '../events/set';
import { AdminError, type Caller } from './shared';

/** What a rejection did to the deleted SCIM user, for the decision's answer. */
export interface DeletionRestore {
  /** The SCIM resource is back (its version and ETag), or could not be (no document was kept). */
  restored: { userId: string; userName: string; version: number; etag: string; groups: string[] } | false;
  outcome: string;
}

/**
 * For a rejected deletion (a held or earlier rejected termination): the SCIM user restored, in
 * `tx`, the decision's transaction. Undefined for anything else (a suspension, a user that still
 * exists). Throws 409 when another user took the userName meanwhile (the decision rolls back).
 */
export async function restoreRejectedDeletion(
  tx: Queryable,
  tenantId: string,
  decided: Pick<DeprovisionRequest, 'id' | 'userId' | 'action'>,
  caller: Caller,
): Promise<DeletionRestore | undefined> {
  if (decided.action !== 'terminate' || (await userExists(tx, tenantId, decided.userId))) return undefined;
  const deleted = await deletedUserForUpdate(tx, tenantId, decided.userId);
  if (!deleted) {
    return {
      restored: false,
      outcome:
        'the user keeps its access, but its SCIM resource could not be restored (no document of it is kept: deleted before scimflow kept ' +
        'the documents of deleted users); the held change can still be allowed later',
    };
  }
  const userName = String(deleted.doc.userName);
  const holder = await userIdHoldingName(tx, tenantId, userName);
  if (holder !== undefined) {
    throw new AdminError(
      409,
      `the deletion cannot be rejected: restoring the user needs its userName "${userName}", which user ${holder} now holds ` +
        `(pushed again after the deletion). Terminate that user first (POST /admin/v1/tenants/${tenantId}/users/${holder}/terminate), ` +
        'or allow the deletion.',
    );
  }
  // The deletion was the last version + 1; the restored resource is the one after.
  const version = deleted.version + 2;
  const { groupIds } = await restoreDeletedUser(
    tx,
    tenantId,
    deleted,
    version,
    [{ tenantId, resourceType: 'User', resourceId: deleted.id, change: 'updated', resourceVersion: version, requestId: caller.requestId, source: 'admin' }],
    userChangeEvents({ tenantId, id: deleted.id, version, method: 'POST', after: deleted.doc }),
  );
  await markDeletionRestored(tx, tenantId, decided.id);
  // An asynchronous DELETE (RFC 9967 Prefer: respond-async) did not take effect: its asyncresp says so.
  await completeAsyncRequests(tx, {
    tenantId,
    userId: deleted.id,
    throughVersion: deleted.version + 1,
    externalId: typeof deleted.doc.externalId === 'string' ? deleted.doc.externalId : null,
    failure: { status: '409', detail: 'A Super User rejected the deletion (mass-deprovisioning guard); the user is restored.' },
  });
  await appendAudit(tx, {
    tenantId,
    userId: deleted.id,
    action: 'scim.restored',
    detail: { tokenId: caller.tokenId, role: caller.role, heldChange: decided.id, version, deletedAt: deleted.deletedAt.toISOString(), groups: groupIds },
    requestId: caller.requestId,
  });
  return {
    restored: { userId: deleted.id, userName, version, etag: versionTag(version), groups: groupIds },
    outcome:
      'the user keeps its access and is a SCIM resource again (same id, its last document, a new version): ' +
      'the identity provider can see, update and delete it again',
  };
}
