/**
 * The accept link of invitation mails.
 *
 * - GET shows a confirmation page and changes nothing, so mail scanners that prefetch links
 *   cannot accept on the user's behalf; only the POST of that page accepts.
 * - The POST must come from the page itself: a browser says it is same-origin (its Origin is
 *   this server's, or `Sec-Fetch-Site: same-origin` where the Origin is hidden), and it carries
 *   the page's confirmation field (an HMAC of the token and the time the page was shown, valid
 *   for an hour). A form posted from another site, or by a scanner that never rendered the
 *   page, accepts nothing.
 * - Every answer tells the truth about the link: replaced by a newer invitation, the account
 *   suspended, closed or on hold, expired, already accepted. Only a current invitation of a
 *   user who may log in is accepted.
 * - Acceptance is committed with an outbox row, so it reaches the workflow even if Temporal is
 *   down at that moment; the page says the account is being activated, not that it is active.
 * - Pages carry a Content-Security-Policy without scripts, cannot be framed, and send a Referer
 *   (with the token in its path) to this server only: `Referrer-Policy: same-origin`. Not
 *   `no-referrer`: under it a browser's form POST carries `Origin: null` (Fetch standard,
 *   "serializing a request origin"), and the same-origin check would refuse every person.
 */
import crypto from 'node:crypto';
import express, { Router, type Response } from 'express';
import type { Db } from '../common/db';
import { appendAudit } from '../common/repositories/audit-log';
import { invitationForPage, markInvitationAccepted, type InvitationForPage } from '../common/repositories/invitations';
import { recordChanges } from '../common/repositories/outbox';
import { getSecret } from '../common/repositories/secrets';

const TOKEN = /^[A-Za-z0-9_-]{20,100}$/;
/** How long a shown page's confirmation stays valid. */
const CONFIRM_TTL_MS = 3_600_000;

const STYLE = 'body{font-family:sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}button{padding:10px 16px;font-size:1rem}';
const STYLE_HASH = crypto.createHash('sha256').update(STYLE).digest('base64');
const CSP = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function send(res: Response, status: number, title: string, body: string): void {
  res
    .status(status)
    .setHeader('Cache-Control', 'no-store')
    .setHeader('Referrer-Policy', 'same-origin')
    .setHeader('Content-Security-Policy', CSP)
    .setHeader('X-Frame-Options', 'DENY')
    .setHeader('X-Content-Type-Options', 'nosniff')
    .type('html')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title><meta name="viewport" content="width=device-width">` +
        `<style>${STYLE}</style></head><body><main><h1>${escape(title)}</h1>${body}</main></body></html>`,
    );
}

/** The answer for a link that cannot be accepted now, or undefined when it can. */
function refusal(inv: InvitationForPage | undefined, now: number): { status: number; title: string; text: string } | undefined {
  if (!inv) return { status: 404, title: 'Invitation not found', text: 'This link is not valid. Ask your administrator for a new invitation.' };
  if (inv.status === 'revoked' && inv.revokedReason === 'superseded') {
    return { status: 410, title: 'This link was replaced', text: 'This link was replaced by a newer invitation. Use the link in the latest invitation email.' };
  }
  if (inv.userStatus === 'terminated' || (inv.status === 'revoked' && inv.revokedReason === 'terminated')) {
    return {
      status: 410,
      title: 'Account closed',
      text: 'This account has been closed. Nothing was accepted. Ask your administrator if you think this is a mistake.',
    };
  }
  if (inv.userStatus === 'suspended' || (inv.status === 'revoked' && inv.revokedReason === 'suspended')) {
    return {
      status: 403,
      title: 'Account suspended',
      text: 'This account is suspended, so the invitation cannot be accepted. Nothing was accepted. A new invitation is sent when the account is reactivated.',
    };
  }
  if (inv.status === 'revoked')
    return { status: 410, title: 'Invitation withdrawn', text: 'This invitation was withdrawn. Ask your administrator for a new one.' };
  if (inv.status === 'accepted') return { status: 200, title: 'Already accepted', text: 'This invitation was already accepted. You can log in.' };
  if (inv.status === 'expired' || inv.expiresAt.getTime() < now) {
    return { status: 410, title: 'Invitation expired', text: 'This invitation has expired. Ask your administrator to send a new invitation.' };
  }
  if (inv.holdReason || inv.state === 'awaitingData') {
    return {
      status: 409,
      title: 'Account on hold',
      text: 'Your account is on hold while your details are completed, so the invitation cannot be accepted yet. Nothing was accepted. Try this link again later.',
    };
  }
  if (inv.status !== 'sent') return { status: 404, title: 'Invitation not found', text: 'This invitation is not ready yet. Try again in a few minutes.' };
  return undefined;
}

export interface SameOriginHeaders {
  origin: string | undefined;
  /** Sec-Fetch-Site (Fetch Metadata), sent by current browsers on every request. */
  fetchSite: string | undefined;
  host: string | undefined;
  protocol: string;
}

/**
 * Whether a browser sent this POST from a page of one of `origins`. A cross-site form carries
 * its own Origin (or "null") and `Sec-Fetch-Site: cross-site`; a scanner or script outside a
 * browser sends neither header and is refused.
 */
export function sameOriginPost(h: SameOriginHeaders, origins: readonly string[]): boolean {
  if (h.fetchSite !== undefined && h.fetchSite !== 'same-origin') return false;
  if (h.origin !== undefined && h.origin !== 'null') return origins.includes(h.origin);
  return h.fetchSite === 'same-origin';
}

export function invitationsRouter(options: { db: Db; publicUrl: string; onCommitted: () => void }): Router {
  const { db } = options;
  const router = Router();
  router.use('/invitations', express.urlencoded({ extended: false, limit: '1kb' }));
  const confirmKey = () => getSecret(db, 'invitation-confirm-key', () => crypto.randomBytes(32).toString('base64url'));
  const confirmation = async (token: string, at: number) =>
    `${at}.${crypto
      .createHmac('sha256', await confirmKey())
      .update(`${token}.${at}`)
      .digest('base64url')}`;

  /**
   * The POST came from this server's own page: the browser says it is same-origin (an Origin of
   * this server, or, where the Origin is hidden as "null", `Sec-Fetch-Site: same-origin`; both are
   * headers a page cannot forge), and it carries a fresh confirmation of this token.
   */
  async function fromOwnPage(headers: SameOriginHeaders, token: string, confirm: unknown): Promise<boolean> {
    if (!sameOriginPost(headers, [new URL(options.publicUrl).origin, headers.host ? `${headers.protocol}://${headers.host}` : ''])) return false;
    if (typeof confirm !== 'string' || !/^\d{1,15}\.[A-Za-z0-9_-]{43}$/.test(confirm)) return false;
    const at = Number(confirm.slice(0, confirm.indexOf('.')));
    if (!(Date.now() - at < CONFIRM_TTL_MS && at <= Date.now() + 60_000)) return false;
    const expected = Buffer.from(await confirmation(token, at));
    const given = Buffer.from(confirm);
    return expected.length === given.length && crypto.timingSafeEqual(expected, given);
  }

  router.get('/invitations/:token', async (req, res) => {
    const token = req.params.token;
    const inv = TOKEN.test(token) ? await invitationForPage(db, token) : undefined;
    const refused = refusal(inv, Date.now());
    if (refused) return void send(res, refused.status, refused.title, `<p>${escape(refused.text)}</p>`);
    const confirm = await confirmation(token, Date.now());
    send(
      res,
      200,
      'Accept your invitation',
      `<p>Confirm to activate your account.</p><form method="post"><input type="hidden" name="confirm" value="${escape(confirm)}">` +
        '<button type="submit">Accept invitation</button></form>',
    );
  });

  router.post('/invitations/:token', async (req, res) => {
    const token = req.params.token;
    if (!TOKEN.test(token)) return void send(res, 404, 'Invitation not found', '<p>This link is not valid.</p>');
    const headers = { origin: req.get('Origin'), fetchSite: req.get('Sec-Fetch-Site'), host: req.get('Host'), protocol: req.protocol };
    if (!(await fromOwnPage(headers, token, (req.body as Record<string, unknown> | undefined)?.confirm))) {
      return void send(
        res,
        403,
        'Open the link in your browser',
        '<p>Nothing was accepted: accepting works only from the invitation page itself. Open the link from your invitation email in your browser and press Accept.</p>',
      );
    }
    const requestId = `invitation:${crypto.randomUUID()}`;
    const outcome = await db.withTransaction(async (tx) => {
      const inv = await invitationForPage(tx, token, true);
      const refused = refusal(inv, Date.now());
      if (refused || !inv) return { refused: refused! };
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
      return { refused: undefined };
    });
    if (outcome.refused) return void send(res, outcome.refused.status, outcome.refused.title, `<p>${escape(outcome.refused.text)}</p>`);
    options.onCommitted();
    send(res, 200, 'Invitation accepted', '<p>Thank you. Your account is being activated now; you can log in in a moment.</p>');
  });
  return router;
}
