/**
 * The lifecycle metrics of the activities (common/metrics.ts), observed by the activity that
 * made the change, after its transaction committed: a step that rolls back and is retried
 * counts once. Latencies are timed on the database clock; a metrics failure never fails a step.
 */
import type { Queryable } from '../common/db';
import type { AppMetrics } from '../common/metrics';
import { secondsSinceRequest } from '../common/repositories/outbox';
import { secondsSinceCreated } from '../common/repositories/scim-users';
import type { AccessRemovalCause, StepInput } from './types';

export function lifecycleMetrics(db: Queryable, metrics: AppMetrics) {
  /** Seconds from `read`, or undefined when it fails or finds nothing (best effort). */
  const seconds = async (read: () => Promise<number | undefined>): Promise<number | undefined> => {
    try {
      const s = await read();
      return s === undefined ? undefined : Math.max(0, s);
    } catch {
      return undefined;
    }
  };

  return {
    /** An invitation round was sent; the first round is also timed from the user's SCIM create. */
    async invitationSent(input: StepInput, round: number): Promise<void> {
      metrics.invitationsSent.inc({ tenant: input.tenantId });
      if (round !== 1) return; // a resend after expiry is not time-to-invitation
      const s = await seconds(() => secondsSinceCreated(db, input.tenantId, input.userId));
      if (s !== undefined) metrics.timeToInvitation.observe({ tenant: input.tenantId }, s);
    },

    invitationAccepted(input: StepInput): void {
      metrics.invitationsAccepted.inc({ tenant: input.tenantId });
    },

    invitationExpired(input: StepInput): void {
      metrics.invitationsExpired.inc({ tenant: input.tenantId });
    },

    /** Login was blocked; timed from the SCIM request that asked for it (its outbox row), when one did. */
    async accessRemoved(input: StepInput, action: 'suspend' | 'terminate', cause: AccessRemovalCause): Promise<void> {
      if (cause !== 'scimRequest') return;
      const s = await seconds(() => secondsSinceRequest(db, input.tenantId, input.userId, input.requestId));
      if (s !== undefined) metrics.timeToAccessRemoved.observe({ tenant: input.tenantId, action }, s);
    },
  };
}
