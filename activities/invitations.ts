/**
 * Invitation mail: sent once per invitation round and once per reminder across activity
 * retries (the delivery ledger is claimed before the SMTP call), and at least once across worker
 * crashes: a try cut off inside the SMTP exchange is repeated once its lease is over, with the
 * same link and Message-ID (docs/reliability.md "Mail: at least once").
 */
import { ApplicationFailure } from '@temporalio/activity';
import { senderOf } from '../common/mail/sender';
import { appMetrics } from '../common/metrics';
import { getAppUser, setStatus } from '../common/repositories/app-users';
import * as invitations from '../common/repositories/invitations';
import { releaseLicences } from '../common/repositories/licences';
import { recordProvisioningState } from '../common/repositories/provisioning-states';
import { currentConfig } from '../common/repositories/tenants';
import { ledgerWithConnector } from '../common/repositories/connector-accounts';
import { appendLifecycleEvent, reportOutcome } from '../events/lifecycle';
import { connectorSync, connectorsOf, giveBackLicences } from './connector-sync';
import type { ActivityDeps } from './deps';
import { lifecycleMetrics } from './lifecycle-metrics';
import { renderInvitation, renderSubject } from './mail-templates';
import { audit, stepOrigin } from './step-context';
import { FAILURE_TYPES, type InvitationResult, type StepInput, type VisibleState } from './types';

export interface SendInvitationInput extends StepInput {
  /** Starts at 1; a resend after expiry is the next round (a new invitation and link). */
  round: number;
  expiresInMs: number;
  /**
   * The workflow's visible state once the invitation is out, recorded in the same transaction as
   * the invitation's status (as recordState would); its wait ends `waitingInMs` after the send
   * (the first reminder or the expiry), or at `waitingUntilAtMost` (an HR end date) if earlier.
   */
  visible?: VisibleState & { waitingInMs: number; waitingUntilAtMost: number | null };
}

export interface SendReminderInput extends StepInput {
  invitationId: string;
  reminder: number;
}

/**
 * Why the mail server refused a message for good, or undefined when a retry may succeed: a
 * 5xx reply (RFC 5321 §4.2.1: permanent; e.g. 550 no such mailbox on RCPT) or an envelope
 * without a valid recipient. 4xx replies and connection failures are transient.
 */
function permanentRefusal(err: unknown): string | undefined {
  const e = err as { code?: string; responseCode?: number; response?: string; message?: string };
  if (typeof e?.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600)
    return (e.response ?? e.message ?? `${e.responseCode}`).slice(0, 300);
  if (e?.code === 'EENVELOPE' && !(typeof e.responseCode === 'number' && e.responseCode < 500)) return (e.message ?? 'no valid recipient').slice(0, 300);
  return undefined;
}

/** MAIL_SEND_LEASE's default: twice the mail activity's timeout (workflows/user-lifecycle.ts, localMail). */
export const DEFAULT_MAIL_SEND_LEASE_MS = 120_000;

export function invitationActivities(deps: ActivityDeps) {
  const { db, mailer, publicUrl, mailFrom, allowedFromDomains = [], logger, metrics = appMetrics(), mailSendLeaseMs = DEFAULT_MAIL_SEND_LEASE_MS } = deps;
  const observe = lifecycleMetrics(db, metrics);
  const sync = connectorSync({ db, logger, connectors: connectorsOf(deps) });

  /** `known`: the invitation and its token when the caller has them (a first send), else they are read. */
  async function deliver(
    input: StepInput,
    key: string,
    kind: string,
    invitationId: string,
    reminder: number | null,
    known?: { inv: invitations.InvitationRow; token: string },
  ): Promise<void> {
    // The message is prepared before the delivery is claimed: a crash while preparing leaves
    // nothing marked "sending", so only a crash during the SMTP exchange itself is uncertain.
    const user = await getAppUser(db, input.tenantId, input.userId);
    if (!user?.email) throw ApplicationFailure.nonRetryable('user has no email address', FAILURE_TYPES.invalidData);
    const { config } = await currentConfig(db, input.tenantId);
    const inv = known?.inv ?? (await invitations.getInvitation(db, invitationId));
    if (!inv) throw new Error(`invitation ${invitationId} not found`);
    const token = known?.token ?? (await invitations.invitationToken(db, invitationId));
    const data = {
      applicationName: config.invitation.applicationName,
      firstName: user.firstName,
      link: `${publicUrl}/invitations/${token}`,
      expiresAt: inv.expiresAt,
      reminder,
      message: config.invitation.message ?? null,
    };
    const body = renderInvitation(data);
    const sender = senderOf(config.invitation, { platformFrom: mailFrom, allowedFromDomains });
    if (sender.refused) logger.warn({ tenantId: input.tenantId, reason: sender.refused }, 'tenant invitation sender refused; the platform sender is used');
    const decision = await invitations.claimDelivery(db, key, input.tenantId, input.userId, kind, mailSendLeaseMs);
    if (decision === 'alreadySent') return;
    if (decision === 'inProgress') {
      // Another try holds the delivery (a slow mail server, or a worker that died inside the
      // exchange): retried with backoff, it sends again once that try's lease is over.
      throw ApplicationFailure.retryable(
        `the ${kind} is being sent by an earlier try; checking again once it reports back or its lease ends`,
        FAILURE_TYPES.mailInProgress,
      );
    }
    try {
      const sent = await mailer.send({
        // The tenant's sender only in a domain the operator allows; its contact as Reply-To (common/mail/sender.ts).
        from: sender.from,
        ...(sender.replyTo ? { replyTo: sender.replyTo } : {}),
        to: user.email,
        subject: renderSubject(config.invitation.subject, data),
        ...body,
        messageId: `<${key.replace(/[^A-Za-z0-9.-]/g, '.')}@scimflow>`,
        headers: { 'X-Scimflow-Workflow': stepOrigin().workflowId ?? '', 'X-Scimflow-Request': input.requestId },
      });
      await invitations.completeDelivery(db, key, { sent: true, messageId: sent.messageId });
    } catch (err) {
      await invitations.completeDelivery(db, key, { sent: false, error: (err as Error).message });
      const refused = permanentRefusal(err);
      if (refused) {
        metrics.mailRejected.inc({ tenant: input.tenantId, kind });
        logger.warn({ tenantId: input.tenantId, userId: input.userId, kind, err: refused }, 'mail refused for good; not retried');
        await db.withTransaction((tx) => audit(tx, input, 'mail.rejected', { kind, invitationId, error: refused }));
        throw ApplicationFailure.nonRetryable(
          `the mail server refused the ${kind} to ${user.email} for good (${refused}); correct the user's email address in the identity provider`,
          FAILURE_TYPES.mailRejected,
        );
      }
      logger.warn({ tenantId: input.tenantId, userId: input.userId, kind, err: (err as Error).message }, 'mail not sent; will retry');
      throw err;
    }
    if (decision === 'resend') {
      metrics.mailResent.inc({ tenant: input.tenantId, kind });
      logger.warn({ tenantId: input.tenantId, userId: input.userId, kind }, 'mail sent again after an interrupted try');
      await db.withTransaction((tx) =>
        audit(tx, input, 'mail.resent', {
          kind,
          invitationId,
          note: 're-sent after an interrupted attempt (same link and Message-ID: a copy that did arrive shows once)',
        }),
      );
    }
  }

  return {
    async sendInvitation(input: SendInvitationInput): Promise<InvitationResult> {
      const { visible, ...step } = input;
      const origin = stepOrigin();
      const key = `${origin.workflowId ?? input.userId}:invitation:${input.round}`;
      const inv = await invitations.ensureInvitation(db, key, input.tenantId, input.userId, input.expiresInMs);
      if (inv.status === 'revoked' || inv.status === 'expired') {
        throw ApplicationFailure.nonRetryable(`invitation ${inv.id} is ${inv.status}`, FAILURE_TYPES.invalidData);
      }
      await deliver(step, key, 'invitation', inv.id, null, { inv, token: inv.token });
      const { sentAt, firstSend } = await db.withTransaction(async (tx) => {
        const at = await invitations.markInvitationSent(tx, inv.id);
        await setStatus(tx, input.tenantId, input.userId, 'invited', true);
        // The new link replaces every earlier one: an old link now says so and accepts nothing.
        const superseded = await invitations.revokeInvitations(tx, input.tenantId, input.userId, 'superseded', inv.id);
        if (inv.status === 'pending') await audit(tx, step, 'invitation.sent', { invitationId: inv.id, round: input.round, superseded });
        // The event feed hears it in the same transaction (a retry repeats the same jti); an asynchronous SCIM request completes.
        await reportOutcome(tx, { tenantId: input.tenantId, userId: input.userId, outcome: 'invited', key: inv.id });
        if (visible) {
          const { waitingInMs, waitingUntilAtMost, ...state } = visible;
          const waitingUntil = Math.min(Date.now() + waitingInMs, waitingUntilAtMost ?? Infinity);
          await recordProvisioningState(tx, { tenantId: input.tenantId, userId: input.userId, ...state, waitingUntil, runId: origin.runId, step: origin.step });
        }
        return { sentAt: at, firstSend: inv.status === 'pending' };
      });
      if (firstSend) await observe.invitationSent(step, input.round);
      return { invitationId: inv.id, sentAt: new Date(sentAt).getTime() };
    },

    /** A reminder the mail server refuses for good is audited and counted; the invitation stays open. */
    async sendReminder(input: SendReminderInput): Promise<{ sent: boolean }> {
      if ((await invitations.getInvitation(db, input.invitationId))?.status !== 'sent') return { sent: false };
      const key = `${stepOrigin().workflowId ?? input.userId}:invitation:${input.invitationId}:reminder:${input.reminder}`;
      try {
        await deliver(input, key, 'reminder', input.invitationId, input.reminder);
      } catch (err) {
        if (err instanceof ApplicationFailure && err.type === FAILURE_TYPES.mailRejected) return { sent: false };
        throw err;
      }
      await db.withTransaction((tx) => audit(tx, input, 'invitation.reminded', { invitationId: input.invitationId, reminder: input.reminder }));
      return { sent: true };
    },

    /** The invitation ran out unaccepted: its link stops working and the user's licence seats go back to the pool (a resend takes them again). */
    async expireInvitation(input: StepInput & { invitationId: string }): Promise<{ expired: boolean }> {
      const expired = await db.withTransaction(async (tx) => {
        if (!(await invitations.expireInvitation(tx, input.invitationId))) return false;
        await setStatus(tx, input.tenantId, input.userId, 'provisioning', false);
        const licences = await releaseLicences(tx, input.tenantId, input.userId);
        await audit(tx, input, 'invitation.expired', { invitationId: input.invitationId, licences });
        await appendLifecycleEvent(tx, { tenantId: input.tenantId, userId: input.userId, outcome: 'expired', key: input.invitationId });
        return true;
      });
      if (expired) observe.invitationExpired(input);
      // The application gives the licences back too (a resend's convergence sends them again); its login was never enabled.
      await giveBackLicences(sync, db, input, await ledgerWithConnector(db, input.tenantId, input.userId));
      return { expired };
    },
  };
}
