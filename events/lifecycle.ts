/**
 * What the activities call to put a user's onboarding outcomes in the event feed
 * (docs/events.md), each in the transaction of the step that reaches the outcome, so the event
 * is written exactly when the outcome is, and a retried activity repeats the same jti (the
 * append is skipped) instead of adding a second event.
 *
 *  - appendLifecycleEvent: urn:scimflow:event:{invited|accepted|expired|failed|held};
 *  - completeAsyncRequests: the misc:asyncresp events of the user's asynchronous SCIM requests
 *    (events/async.ts) that the workflow has now carried: success once it has applied (or
 *    invited with) their version, failure when it failed.
 *
 * Nothing here reads personal data or puts any in a SET: a `reason` or a failure's `detail` is
 * the activity's own short text (what kind of failure), never a name, address or message quoting one.
 */
import type { Queryable } from '../common/db';
import { appendEvent, markAsyncRequestsCompleted, pendingAsyncRequests } from '../common/repositories/security-events';
import { asyncResponseEvent, lifecycleEvent } from './set';
import type { LifecycleOutcome } from './uris';

export interface LifecycleEventInput {
  tenantId: string;
  userId: string;
  outcome: LifecycleOutcome;
  /**
   * Names this occurrence of the outcome, so a retry repeats the jti and a later occurrence gets
   * its own: the invitation's id (invited, accepted, expired); for failed and held, the step and
   * the version it worked on (e.g. `apply@7`).
   */
  key: string;
  /** The user's externalId, when the activity has it (RFC 9967 sub_id). */
  externalId?: string | null;
  /** failed, held: a short reason without personal data (e.g. "the application refused the account"). */
  reason?: string;
}

/** Appends the outcome's event in `tx`; false when this occurrence was appended before (a retry). */
export async function appendLifecycleEvent(tx: Queryable, e: LifecycleEventInput): Promise<boolean> {
  return appendEvent(tx, lifecycleEvent({ ...e, externalId: e.externalId ?? undefined }));
}

/**
 * Completes the user's asynchronous requests up to version `throughVersion` (all pending ones
 * without it), in `tx`: one misc:asyncresp event each, with its txn, then marks them completed.
 * `failure`: the workflow failed (status, default "500", and a detail without personal data);
 * the event then carries a SCIM error in `response`. Returns how many were completed.
 */
export async function completeAsyncRequests(
  tx: Queryable,
  c: { tenantId: string; userId: string; throughVersion?: number; externalId?: string | null; failure?: { detail: string; status?: string } },
): Promise<number> {
  const pending = await pendingAsyncRequests(tx, c.tenantId, c.userId, c.throughVersion);
  for (const r of pending) {
    await appendEvent(
      tx,
      asyncResponseEvent({
        tenantId: r.tenantId,
        txn: r.txn,
        resourceType: r.resourceType,
        resourceId: r.resourceId,
        method: r.method,
        location: r.location,
        version: r.resourceVersion,
        externalId: c.externalId ?? undefined,
        failure: c.failure ? { status: c.failure.status ?? '500', detail: c.failure.detail } : undefined,
      }),
    );
  }
  await markAsyncRequestsCompleted(
    tx,
    c.tenantId,
    pending.map((r) => r.txn),
  );
  return pending.length;
}

/**
 * Both at once, for the two outcomes that end an asynchronous request: `invited` completes the
 * requests up to the version the invitation was sent for, `failed` fails the pending ones.
 */
export async function reportOutcome(tx: Queryable, e: LifecycleEventInput & { appliedVersion?: number }): Promise<{ appended: boolean; completed: number }> {
  const appended = await appendLifecycleEvent(tx, e);
  const completed =
    e.outcome === 'invited'
      ? await completeAsyncRequests(tx, { tenantId: e.tenantId, userId: e.userId, throughVersion: e.appliedVersion, externalId: e.externalId })
      : e.outcome === 'failed'
        ? await completeAsyncRequests(tx, {
            tenantId: e.tenantId,
            userId: e.userId,
            externalId: e.externalId,
            failure: { detail: e.reason ?? 'The onboarding failed; see the user in the admin console.' },
          })
        : 0;
  return { appended, completed };
}
