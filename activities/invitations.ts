/**
 * Invitation mail: sent once per invitation round and once per reminder, even across worker
 * crashes and activity retries (the delivery ledger is claimed before the SMTP call).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { appMetrics } from '../common/metrics';
import { getAppUser, setStatus } from '../common/repositories/app-users';
import * as invitations from '../common/repositories/invitations';
import { currentConfig } from '../common/repositories/tenants';
import type { ActivityDeps } from './deps';
import { lifecycleMetrics } from './lifecycle-metrics';
import { renderInvitation, renderSubject } from './mail-templates';
import { audit, stepOrigin } from './step-context';
import { FAILURE_TYPES, type InvitationResult, type StepInput } from './types';

export interface SendInvitationInput extends StepInput {
  /** Starts at 1; a resend after expiry is the next round (a new invitation and link). */
  round: number;
  expiresInMs: number;
}

export interface SendReminderInput extends StepInput {
  invitationId: string;
  reminder: number;
}

export function invitationActivities({ db, mailer, publicUrl, mailFrom, logger, metrics = appMetrics() }: ActivityDeps) {
  const observe = lifecycleMetrics(db, metrics);

  async function deliver(input: StepInput, key: string, kind: string, invitationId: string, reminder: number | null): Promise<void> {
    // The message is prepared before the delivery is claimed: a crash while preparing leaves
    // nothing marked "sending", so only a crash during the SMTP exchange itself is uncertain.
    const user = await getAppUser(db, input.tenantId, input.userId);
    if (!user?.email) throw ApplicationFailure.nonRetryable('user has no email address', FAILURE_TYPES.invalidData);
    const { config } = await currentConfig(db, input.tenantId);
    const inv = await invitations.getInvitation(db, invitationId);
    if (!inv) throw new Error(`invitation ${invitationId} not found`);
    const token = await invitations.invitationToken(db, invitationId);
    const data = {
      applicationName: config.invitation.applicationName,
      firstName: user.firstName,
      link: `${publicUrl}/invitations/${token}`,
      expiresAt: inv.expiresAt,
      reminder,
      message: config.invitation.message ?? null,
    };
    const body = renderInvitation(data);
    const decision = await db.withTransaction((tx) => invitations.claimDelivery(tx, key, input.tenantId, input.userId, kind));
    if (decision !== 'send') {
      if (decision === 'uncertain') {
        await db.withTransaction((tx) =>
          audit(tx, input, 'mail.uncertain', { kind, invitationId, note: 'an earlier attempt stopped mid-send; not resent (at most once)' }),
        );
      }
      return;
    }
    try {
      const sent = await mailer.send({
        from: config.invitation.from ?? mailFrom,
        to: user.email,
        subject: renderSubject(config.invitation.subject, data),
        ...body,
        messageId: `<${key.replace(/[^A-Za-z0-9.-]/g, '.')}@scimflow>`,
        headers: { 'X-Scimflow-Workflow': stepOrigin().workflowId ?? '', 'X-Scimflow-Request': input.requestId },
      });
      await invitations.completeDelivery(db, key, { sent: true, messageId: sent.messageId });
    } catch (err) {
      await invitations.completeDelivery(db, key, { sent: false, error: (err as Error).message });
      logger.warn({ tenantId: input.tenantId, userId: input.userId, kind, err: (err as Error).message }, 'mail not sent; will retry');
      throw err;
    }
  }

  return {
    async sendInvitation(input: SendInvitationInput): Promise<InvitationResult> {
      const origin = stepOrigin();
      const key = `${origin.workflowId ?? input.userId}:invitation:${input.round}`;
      const inv = await db.withTransaction((tx) => invitations.ensureInvitation(tx, key, input.tenantId, input.userId, input.expiresInMs));
      if (inv.status === 'revoked' || inv.status === 'expired') {
        throw ApplicationFailure.nonRetryable(`invitation ${inv.id} is ${inv.status}`, FAILURE_TYPES.invalidData);
      }
      await deliver(input, key, 'invitation', inv.id, null);
      // Audited and counted once per invitation (also a resend to a user who is still invited), not per status change.
      const firstCompletion = inv.status === 'pending';
      const { sentAt, invited } = await db.withTransaction(async (tx) => {
        const at = await invitations.markInvitationSent(tx, inv.id);
        const changed = (await setStatus(tx, input.tenantId, input.userId, 'invited', true)) || firstCompletion;
        if (changed) await audit(tx, input, 'invitation.sent', { invitationId: inv.id, round: input.round });
        return { sentAt: at, invited: changed };
      });
      if (invited) await observe.invitationSent(input, input.round);
      return { invitationId: inv.id, sentAt: new Date(sentAt).getTime() };
    },

    async sendReminder(input: SendReminderInput): Promise<{ sent: boolean }> {
      if ((await invitations.getInvitation(db, input.invitationId))?.status !== 'sent') return { sent: false };
      const key = `${stepOrigin().workflowId ?? input.userId}:invitation:${input.invitationId}:reminder:${input.reminder}`;
      await deliver(input, key, 'reminder', input.invitationId, input.reminder);
      await db.withTransaction((tx) => audit(tx, input, 'invitation.reminded', { invitationId: input.invitationId, reminder: input.reminder }));
      return { sent: true };
    },

    async expireInvitation(input: StepInput & { invitationId: string }): Promise<{ expired: boolean }> {
      const expired = await db.withTransaction(async (tx) => {
        if (!(await invitations.expireInvitation(tx, input.invitationId))) return false;
        await setStatus(tx, input.tenantId, input.userId, 'provisioning', false);
        await audit(tx, input, 'invitation.expired', { invitationId: input.invitationId });
        return true;
      });
      if (expired) observe.invitationExpired(input);
      return { expired };
    },
  };
}
