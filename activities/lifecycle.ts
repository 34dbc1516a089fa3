/** Status changes after onboarding: acceptance, suspension, reactivation, termination; and the workflow's visible state. */
import * as directory from '../common/repositories/directory';
import type { ActivityDeps } from './deps';
import { audit } from './step-context';
import type { RecordStateInput, StepInput } from './types';

export function lifecycleActivities({ db }: ActivityDeps) {
  return {
    async markActive(input: StepInput & { invitationId: string }): Promise<void> {
      await db.withTransaction(async (tx) => {
        if (await directory.setStatus(tx, input.tenantId, input.userId, 'active', true))
          await audit(tx, input, 'user.activated', { invitationId: input.invitationId });
      });
    },

    /** SCIM active:false: login blocked at once; entitlements kept for a reactivation. */
    async suspendUser(input: StepInput & { reason: string }): Promise<void> {
      await db.withTransaction(async (tx) => {
        if (!(await directory.getAppUser(tx, input.tenantId, input.userId))) return;
        if (await directory.setStatus(tx, input.tenantId, input.userId, 'suspended', false)) await audit(tx, input, 'user.suspended', { reason: input.reason });
      });
    },

    /** Back to where the user was: active if they had accepted, invited if an invitation is open, else provisioning. */
    async reactivateUser(input: StepInput & { accepted: boolean; invited: boolean }): Promise<void> {
      await db.withTransaction(async (tx) => {
        if (!(await directory.getAppUser(tx, input.tenantId, input.userId))) return;
        const status = input.accepted ? 'active' : input.invited ? 'invited' : 'provisioning';
        if (await directory.setStatus(tx, input.tenantId, input.userId, status, input.accepted || input.invited))
          await audit(tx, input, 'user.reactivated', { status });
      });
    },

    /**
     * Deletion (or an HR end date set to terminate): login blocked, licences and seats released,
     * memberships ended, pending invitations revoked; the record stays for audit. Also the
     * compensation for an onboarding cut short, since it undoes whatever steps had run.
     */
    async terminateUser(input: StepInput & { reason: string }): Promise<void> {
      await db.withTransaction(async (tx) => {
        if (!(await directory.getAppUser(tx, input.tenantId, input.userId))) {
          await audit(tx, input, 'user.terminated', { reason: input.reason, note: 'no profile had been created' });
          return;
        }
        const released = await directory.releaseEntitlements(tx, input.tenantId, input.userId);
        if (await directory.setStatus(tx, input.tenantId, input.userId, 'terminated', false))
          await audit(tx, input, 'user.terminated', { reason: input.reason, ...released });
      });
    },

    async recordState(input: RecordStateInput): Promise<void> {
      await directory.recordProvisioningState(db, input);
    },
  };
}
