/** Status changes after onboarding: acceptance, suspension, reactivation, termination; and the workflow's visible state. */
import { appMetrics } from '../common/metrics';
import { getAppUser, setStatus } from '../common/repositories/app-users';
import { releaseEntitlements } from '../common/repositories/entitlements';
import { recordProvisioningState } from '../common/repositories/provisioning-states';
import type { ActivityDeps } from './deps';
import { lifecycleMetrics } from './lifecycle-metrics';
import { audit, stepOrigin } from './step-context';
import type { AccessRemovalCause, RecordStateInput, StepInput } from './types';

/** The `reason` of the audit entry, as the audit trail has always worded it. */
const REASONS: Record<'suspend' | 'terminate', Record<AccessRemovalCause, string>> = {
  suspend: { scimRequest: 'SCIM active=false', hrEndDate: 'HR end date' },
  terminate: { scimRequest: 'SCIM delete', hrEndDate: 'HR end date' },
};

export function lifecycleActivities({ db, metrics = appMetrics() }: ActivityDeps) {
  const observe = lifecycleMetrics(db, metrics);
  return {
    async markActive(input: StepInput & { invitationId: string }): Promise<void> {
      const activated = await db.withTransaction(async (tx) => {
        if (!(await setStatus(tx, input.tenantId, input.userId, 'active', true))) return false;
        await audit(tx, input, 'user.activated', { invitationId: input.invitationId });
        return true;
      });
      if (activated && input.invitationId) observe.invitationAccepted(input);
    },

    /** SCIM active:false or the HR end date: login blocked at once; entitlements kept for a reactivation. */
    async suspendUser(input: StepInput & { cause: AccessRemovalCause }): Promise<void> {
      const suspended = await db.withTransaction(async (tx) => {
        if (!(await getAppUser(tx, input.tenantId, input.userId))) return false;
        if (!(await setStatus(tx, input.tenantId, input.userId, 'suspended', false))) return false;
        await audit(tx, input, 'user.suspended', { reason: REASONS.suspend[input.cause] });
        return true;
      });
      if (suspended) await observe.accessRemoved(input, 'suspend', input.cause);
    },

    /** Back to where the user was: active if they had accepted, invited if an invitation is open, else provisioning. */
    async reactivateUser(input: StepInput & { accepted: boolean; invited: boolean }): Promise<void> {
      await db.withTransaction(async (tx) => {
        if (!(await getAppUser(tx, input.tenantId, input.userId))) return;
        const status = input.accepted ? 'active' : input.invited ? 'invited' : 'provisioning';
        if (await setStatus(tx, input.tenantId, input.userId, status, input.accepted || input.invited)) await audit(tx, input, 'user.reactivated', { status });
      });
    },

    /**
     * Deletion (or an HR end date set to terminate): login blocked, licences and seats released,
     * memberships ended, pending invitations revoked; the record stays for audit. Also the
     * compensation for an onboarding cut short, since it undoes whatever steps had run.
     */
    async terminateUser(input: StepInput & { cause: AccessRemovalCause }): Promise<void> {
      const reason = REASONS.terminate[input.cause];
      const terminated = await db.withTransaction(async (tx) => {
        if (!(await getAppUser(tx, input.tenantId, input.userId))) {
          await audit(tx, input, 'user.terminated', { reason, note: 'no profile had been created' });
          return false; // no access existed to remove
        }
        const released = await releaseEntitlements(tx, input.tenantId, input.userId);
        if (!(await setStatus(tx, input.tenantId, input.userId, 'terminated', false))) return false;
        await audit(tx, input, 'user.terminated', { reason, ...released });
        return true;
      });
      if (terminated) await observe.accessRemoved(input, 'terminate', input.cause);
    },

    /** The visible state, and its history in the audit log (the provisioning log of the admin console). */
    async recordState(input: RecordStateInput): Promise<void> {
      const origin = stepOrigin();
      await recordProvisioningState(db, { ...input, runId: origin.runId, step: origin.step });
    },
  };
}
