/**
 * What every console page's router shares: the options, the security headers, and the few
 * helpers a handler needs (who is asking, answering with a page, redirecting with a notice).
 * Sessions and the CSRF and same-origin checks are session.ts's; the composition (../routes.ts)
 * puts them in front of every page.
 */
import crypto from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { AdminDeps, Caller } from '../../admin/shared';
import type { FailureThrottle } from '../../common/failure-throttle';
import type { Html } from '../html';
import type { Notice, Viewer } from '../layout';
import { setNotice } from '../session';

export interface ConsoleOptions extends AdminDeps {
  /** Public base URL of this server; cookies are Secure when it is https. */
  publicUrl: string;
  bodyLimitBytes: number;
  /** Where docs/okta.md and docs/entra-id.md are (absent in the container image: the guide pages say so). */
  docsDir?: string;
  /** Failed sign-ins per client address, shared with the SCIM and admin APIs' failed authentications. */
  failures?: FailureThrottle;
  /** How long the token endpoint's access tokens live (OAUTH_ACCESS_TOKEN_TTL), as the Connection page says; default the endpoint's (60 min). */
  oauthAccessTokenTtlMs?: number;
}

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store'); // pages and exports hold personal data; the assets override it
  next();
};

/** Answers with a page. */
export function send(res: Response, status: number, body: Html): void {
  res.status(status).type('html').setHeader('Cache-Control', 'no-store');
  res.send(body.value);
}

/** An async page handler whose failure goes to the console's error page. */
export const page =
  (fn: (req: Request, res: Response) => Promise<void>): RequestHandler =>
  (req, res, next) =>
    fn(req, res).catch(next);

/** After an action: a redirect (303) to `to`, with what happened shown there once. */
export function go(options: Pick<ConsoleOptions, 'publicUrl'>, req: Request, res: Response, to: string, notice?: Notice): void {
  if (notice) setNotice(req, res, options.publicUrl, notice);
  res.redirect(303, to);
}

/** The signed-in admin, as the pages show them (behind requireSession). */
export const viewer = (req: Request): Viewer => req.consoleSession!.viewer;

/** The session's admin token as the admin service's caller; each call its own request id. */
export const caller = (req: Request): Caller => ({
  tenantId: req.consoleSession!.tenantId,
  tokenId: req.consoleSession!.tokenId,
  role: req.consoleSession!.adminRole,
  requestId: `admin:${crypto.randomUUID()}`,
});

/** The session's tenant. */
export const tenant = (req: Request): string => req.consoleSession!.tenantId;

/** A query or form value given once, as text. */
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
