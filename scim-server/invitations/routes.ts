/**
 * The accept link of invitation mails. GET shows a confirmation page and changes nothing, so
 * mail scanners that prefetch links cannot accept on the user's behalf; only the POST of that
 * page accepts. Acceptance is committed with an outbox row, so it reaches the workflow even
 * if Temporal is down at that moment.
 */
import crypto from 'node:crypto';
import express, { Router } from 'express';
import type { Db } from '../../common/db';
import { appendAudit } from '../../common/repositories/audit-log';
import { findInvitationByToken, markInvitationAccepted } from '../../common/repositories/invitations';
import { recordChanges } from '../../common/repositories/outbox';

const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><meta name="viewport" content="width=device-width"></head>` +
  `<body style="font-family:sans-serif;max-width:36rem;margin:3rem auto">${body}</body></html>`;

const TOKEN = /^[A-Za-z0-9_-]{20,100}$/;

export function invitationsRouter(db: Db, onCommitted: () => void): Router {
  const router = Router();
  router.use(express.urlencoded({ extended: false, limit: '1kb' }));

  router.get('/invitations/:token', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    const inv = TOKEN.test(req.params.token) ? await findInvitationByToken(db, req.params.token) : undefined;
    if (!inv || inv.status === 'revoked')
      return void res
        .status(404)
        .type('html')
        .send(page('Invitation not found', '<h1>Invitation not found</h1><p>This link is not valid. Ask your administrator for a new invitation.</p>'));
    if (inv.status === 'accepted') return void res.type('html').send(page('Already accepted', '<h1>Already accepted</h1><p>You can log in now.</p>'));
    if (inv.status === 'expired' || inv.expiresAt.getTime() < Date.now()) {
      return void res
        .status(410)
        .type('html')
        .send(page('Invitation expired', '<h1>Invitation expired</h1><p>Ask your administrator to send a new invitation.</p>'));
    }
    res
      .type('html')
      .send(
        page(
          'Accept your invitation',
          `<h1>Accept your invitation</h1><p>Confirm to activate your account.</p><form method="post"><button type="submit" style="padding:10px 16px">Accept invitation</button></form>`,
        ),
      );
  });

  router.post('/invitations/:token', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    if (!TOKEN.test(req.params.token)) return void res.status(404).type('html').send(page('Invitation not found', '<h1>Invitation not found</h1>'));
    const requestId = crypto.randomUUID();
    const outcome = await db.withTransaction(async (tx) => {
      const inv = await findInvitationByToken(tx, req.params.token, true);
      if (!inv || inv.status === 'revoked') return 'notFound' as const;
      if (inv.status === 'accepted') return 'already' as const;
      if (inv.status !== 'sent' || inv.expiresAt.getTime() < Date.now()) return 'expired' as const;
      await markInvitationAccepted(tx, inv.id);
      await recordChanges(tx, [
        {
          tenantId: inv.tenantId,
          resourceType: 'User',
          resourceId: inv.userId,
          change: 'invitationAccepted',
          resourceVersion: 0,
          requestId,
          subjectId: inv.id,
        },
      ]);
      await appendAudit(tx, { tenantId: inv.tenantId, userId: inv.userId, action: 'invitation.accepted', detail: { invitationId: inv.id }, requestId });
      return 'accepted' as const;
    });
    if (outcome === 'accepted') onCommitted();
    switch (outcome) {
      case 'notFound':
        return void res.status(404).type('html').send(page('Invitation not found', '<h1>Invitation not found</h1>'));
      case 'expired':
        return void res
          .status(410)
          .type('html')
          .send(page('Invitation expired', '<h1>Invitation expired</h1><p>Ask your administrator to send a new invitation.</p>'));
      default:
        return void res.type('html').send(page('Welcome', '<h1>Invitation accepted</h1><p>Your account is active. You can log in now.</p>'));
    }
  });
  return router;
}
