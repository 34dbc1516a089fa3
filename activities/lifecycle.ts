/**
 * Status changes after onboarding: acceptance, suspension, reactivation, termination; the
 * mass-deprovisioning guard in front of the last two; and the workflow's visible state.
 */
import { Context } from '@temporalio/activity';
import { appMetrics } from '../common/metrics';
import { clearEntitlementFlags } from '../common/repositories/access-settings';
import { setStatus } from '../common/repositories/app-users';
import { ledgerWithConnector } from '../common/repositories/connector-accounts';
import { accountStateOf } from '../connectors/account-state';
import { readDesiredState } from '../policy/desired-state';
import { appendLifecycleEvent, completeAsyncRequests, reportOutcome } from '../events/lifecycle';
import { connectorSync, connectorsOf, giveBackLicences } from './connector-sync';
import { requestDeprovision, type DeprovisionAction } from '../common/repositories/deprovision-requests';
import { releaseEntitlements } from '../common/repositories/entitlements';
import { revokeInvitations } from '../common/repositories/invitations';
import { sourceOfRequest } from '../common/repositories/outbox';
import { releaseLicences } from '../common/repositories/licences';
import { releaseLogins } from '../common/repositories/login-claims';
import { recordProvisioningState } from '../common/repositories/provisioning-states';
import { currentConfig } from '../common/repositories/tenants';
import { forgetDeletedUser, userExists } from '../common/repositories/scim-users';
import { parseDuration } from '../domain/duration';
import type { ActivityDeps } from './deps';
import { lifecycleMetrics } from './lifecycle-metrics';
import { audit, stepOrigin } from './step-context';
import type { AccessRemovalCause, DeprovisionDecision, RecordStateInput, StepInput } from './types';

/** This activity's id in its workflow run (stable across its retries); 'none' outside an activity. */
function activityIdOrNone(): string {
  try {
    return Context.current().info.activityId;
  } catch {
    return 'none';
  }
}

/** The `reason` of the audit entry, as the audit trail has always worded it. */
const REASONS: Record<'suspend' | 'terminate', Record<AccessRemovalCause, string>> = {
  suspend: { scimRequest: 'SCIM active=false', hrEndDate: 'HR end date' },
  terminate: { scimRequest: 'SCIM delete', hrEndDate: 'HR end date' },
};

export function lifecycleActivities(deps: ActivityDeps) {
  const { db, mailer, mailFrom, logger, metrics = appMetrics() } = deps;
  const observe = lifecycleMetrics(db, metrics);
  const sync = connectorSync({ ...deps, connectors: connectorsOf(deps) });

  return {
    /**
     * The invitation was accepted: the user is active, and its login in the application is
     * enabled now (an invited user's account is ready but its login waits for the acceptance:
     * an invitation that expires unaccepted leaves no usable account behind).
     */
    async markActive(input: StepInput & { invitationId: string }): Promise<void> {
      const activated = await db.withTransaction(async (tx) => {
        if (!(await setStatus(tx, input.tenantId, input.userId, 'active', true))) return false;
        await audit(tx, input, 'user.activated', { invitationId: input.invitationId });
        if (input.invitationId)
          await appendLifecycleEvent(tx, { tenantId: input.tenantId, userId: input.userId, outcome: 'accepted', key: input.invitationId });
        return true;
      });
      if (activated && input.invitationId) observe.invitationAccepted(input);
      // Also when the ledger had it already: an earlier try may have stopped before the application did.
      const view = await ledgerWithConnector(db, input.tenantId, input.userId);
      const app = await sync.accountOf(input, view);
      if (app) await sync.bring(input, app.connector, app.row, view.scimVersion, { login: view.status === 'active' && !view.holdReason });
    },

    /**
     * SCIM active:false or the HR end date: login blocked at once, licence seats released and
     * pending invitations revoked (their links say the account is suspended); organisations,
     * roles and settings are kept for a reactivation.
     */
    async suspendUser(input: StepInput & { cause: AccessRemovalCause }): Promise<void> {
      const { suspended, view } = await db.withTransaction(async (tx) => {
        const found = await ledgerWithConnector(tx, input.tenantId, input.userId);
        if (!found.exists) return { suspended: false, view: found };
        const blocked = await setStatus(tx, input.tenantId, input.userId, 'suspended', false);
        const licences = await releaseLicences(tx, input.tenantId, input.userId);
        const invitations = await revokeInvitations(tx, input.tenantId, input.userId, 'suspended');
        if (!blocked && licences + invitations === 0) return { suspended: false, view: found };
        await audit(tx, input, 'user.suspended', { reason: REASONS.suspend[input.cause], licences, invitations });
        await completeAsyncRequests(tx, { tenantId: input.tenantId, userId: input.userId });
        return { suspended: blocked, view: found };
      });
      if (suspended) await observe.accessRemoved(input, 'suspend', input.cause);
      // The application blocks login at once, then gives the licences back (the convergence after a reactivation sends them again).
      const app = await sync.accountOf(input, view);
      if (app) {
        const read = (await readDesiredState(db, input.tenantId, input.userId)).state;
        const account = read ? accountStateOf({ ...read.desired, licences: [] }) : undefined;
        await sync.bring(input, app.connector, app.row, view.scimVersion, { login: false, account, parts: account ? ['licences'] : undefined });
      }
    },

    /**
     * A user that has not accepted an invitation and whose onboarding failed gives its licence
     * seats back while it waits for a fix (others in a full pool may take them); the convergence
     * after a change or a retry takes them again. An accepted user keeps them: it uses them.
     */
    async releaseSeats(input: StepInput & { reason: string }): Promise<{ released: number }> {
      const { released, view } = await db.withTransaction(async (tx) => {
        const found = await ledgerWithConnector(tx, input.tenantId, input.userId);
        if (!found.exists) return { released: 0, view: found };
        const count = await releaseLicences(tx, input.tenantId, input.userId);
        if (count > 0) await audit(tx, input, 'licences.released', { licences: count, reason: input.reason });
        return { released: count, view: found };
      });
      // The application too (a try cut short after the ledger's commit finds nothing left to release here).
      await giveBackLicences(sync, db, input, view);
      return { released };
    },

    /**
     * Back from a suspension: active if the user had accepted its invitation; otherwise back to
     * provisioning (its invitation was revoked; the workflow sends a new one). Seats are taken
     * again by the convergence that follows.
     */
    async reactivateUser(input: StepInput & { accepted: boolean }): Promise<void> {
      const view = await db.withTransaction(async (tx) => {
        const found = await ledgerWithConnector(tx, input.tenantId, input.userId);
        if (!found.exists) return found;
        const status = input.accepted ? 'active' : 'provisioning';
        if (await setStatus(tx, input.tenantId, input.userId, status, input.accepted)) await audit(tx, input, 'user.reactivated', { status });
        return found;
      });
      // Login back in the application for a user who had accepted; one who had not waits for its new invitation's acceptance.
      const app = await sync.accountOf(input, view);
      if (app) await sync.bring(input, app.connector, app.row, view.scimVersion, { login: input.accepted && !view.holdReason });
    },

    /**
     * The mass-deprovisioning guard, before a suspension or termination a SCIM request asked for:
     * `proceed` while the tenant's deprovisionings within its window stay under the threshold
     * (or the guard is off), `held` beyond it until a Super User decides, `rejected` when one
     * rejected it (the user keeps its access). The first change held in a burst is announced:
     * log, audit entry, mail to the tenant's `deprovisionGuard.notify` addresses. `restored`: the
     * SCIM user of a termination exists again (a Super User rejected its deletion, which restored
     * it: admin/held-deletions.ts), so there is nothing to terminate; checked first, whatever the
     * guard's settings now.
     */
    async requestDeprovision(input: StepInput & { action: DeprovisionAction; scimVersion: number }): Promise<DeprovisionDecision> {
      if (input.action === 'terminate' && (await userExists(db, input.tenantId, input.userId))) return 'restored';
      const { config } = await currentConfig(db, input.tenantId);
      const guard = config.deprovisionGuard;
      if (!guard.enabled) return 'proceed';
      // A Super User's own suspension or termination (admin API, console) is a decision already:
      // the guard, there to stop an identity provider's accident, does not count or hold it.
      if ((await sourceOfRequest(db, input.tenantId, input.userId, input.requestId)) === 'admin') {
        await db.withTransaction((tx) => audit(tx, input, 'deprovision.notCounted', { action: input.action, reason: "a Super User's own action" }));
        return 'proceed';
      }
      const result = await db.withTransaction(async (tx) => {
        const r = await requestDeprovision(tx, {
          tenantId: input.tenantId,
          userId: input.userId,
          action: input.action,
          scimVersion: input.scimVersion,
          requestId: input.requestId,
          threshold: guard.threshold,
          windowMs: parseDuration(guard.window),
        });
        if (r.created && r.request.status === 'held')
          await audit(tx, input, 'deprovision.held', { action: input.action, threshold: guard.threshold, window: guard.window });
        return r;
      });
      if (result.firstHeld) {
        const text =
          `More than ${guard.threshold} users of tenant ${input.tenantId} were to be suspended or terminated within ${guard.window}. ` +
          'The changes beyond that are held: nobody loses access until a Super User allows or rejects them ' +
          '(admin API: GET /admin/v1/tenants/<tenant>/overview, heldChanges; POST …/held-changes/<id>/allow or reject; or the console).';
        logger.warn({ tenantId: input.tenantId, threshold: guard.threshold, window: guard.window }, 'mass deprovisioning held for a decision');
        for (const to of guard.notify) {
          await mailer
            .send({
              from: mailFrom,
              to,
              subject: `scimflow: deprovisioning held for a decision (tenant ${input.tenantId})`,
              text,
              html: `<p>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</p>`,
              messageId: `<deprovision-held.${input.tenantId}.${result.request.id}@scimflow>`,
            })
            .catch((err: Error) => logger.warn({ tenantId: input.tenantId, err: err.message }, 'held-deprovisioning notice not sent'));
        }
      }
      const status = result.request.status;
      return status === 'held' ? 'held' : status === 'rejected' ? 'rejected' : 'proceed';
    },

    /**
     * Deletion (or an HR end date set to terminate): login blocked, licences and seats released,
     * memberships, provider accounts and settings ended, the entitlement flags (security role,
     * grid export, release notes, case manager) cleared, pending invitations revoked and the
     * login identifiers freed; the record (and a snapshot for a re-hire) stays for audit. Also the
     * compensation for an onboarding cut short, since it undoes whatever steps had run.
     */
    async terminateUser(input: StepInput & { cause: AccessRemovalCause }): Promise<void> {
      const reason = REASONS.terminate[input.cause];
      const { terminated, view } = await db.withTransaction(async (tx) => {
        // The deletion is carried out: the user's last SCIM document, kept in case it was rejected, goes.
        await forgetDeletedUser(tx, input.tenantId, input.userId);
        const found = await ledgerWithConnector(tx, input.tenantId, input.userId);
        if (!found.exists) {
          await audit(tx, input, 'user.terminated', { reason, note: 'no profile had been created' });
          return { terminated: false, view: found }; // no access existed to remove
        }
        const released = await releaseEntitlements(tx, input.tenantId, input.userId);
        await clearEntitlementFlags(tx, input.tenantId, input.userId);
        await releaseLogins(tx, input.tenantId, input.userId);
        if (!(await setStatus(tx, input.tenantId, input.userId, 'terminated', false))) return { terminated: false, view: found };
        await audit(tx, input, 'user.terminated', { reason, ...released });
        await completeAsyncRequests(tx, { tenantId: input.tenantId, userId: input.userId });
        return { terminated: true, view: found };
      });
      if (terminated) await observe.accessRemoved(input, 'terminate', input.cause);
      // Then the account in the application ends too (also when the ledger had ended it on an earlier try).
      const app = await sync.accountOf(input, view);
      if (app) await sync.bring(input, app.connector, app.row, view.scimVersion, { terminate: true });
    },

    /** The visible state, and its history in the audit log (the provisioning log of the admin console). */
    async recordState(input: RecordStateInput): Promise<void> {
      const origin = stepOrigin();
      if (input.state !== 'failed') {
        await recordProvisioningState(db, { ...input, runId: origin.runId, step: origin.step });
        return;
      }
      // A failure is an outcome the event feed reports (without lastError: it may quote personal data), failing pending asynchronous requests.
      await db.withTransaction(async (tx) => {
        await recordProvisioningState(tx, { ...input, runId: origin.runId, step: origin.step });
        await reportOutcome(tx, {
          tenantId: input.tenantId,
          userId: input.userId,
          outcome: 'failed',
          // The same for every try of this recording, another for a later failure.
          key: `${origin.runId ?? input.workflowId}:${activityIdOrNone()}`,
          reason: 'the onboarding failed; see the user in the admin console',
        });
      });
    },
  };
}
