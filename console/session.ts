/**
 * Console sign-in and sessions. An admin token (`sfa_…`) is exchanged once for a session cookie:
 * HttpOnly, SameSite=Strict, Secure when the console is served over HTTPS, limited to /console,
 * expiring (8 h, or 1 h unused), ended by sign-out and by revoking the token. Every
 * state-changing request must carry the session's CSRF token (form field `_csrf` or header
 * `X-CSRF-Token`) and, when the browser sends one, an Origin of this host.
 */
import crypto from 'node:crypto';
import { parse as parseCookies } from 'cookie';
import type { Request, RequestHandler, Response } from 'express';
import type { Db } from '../common/db';
import { createConsoleSession, deleteConsoleSession, findConsoleSession, type ConsoleSession } from '../common/repositories/console-sessions';
import { ADMIN_WRITE_ROLE, hashToken, touchToken, verifyToken } from '../common/repositories/tokens';
import { getTenant } from '../common/repositories/tenants';
import { clientAddress, FailureThrottle } from '../common/failure-throttle';
import { CONSOLE_PATH, type Notice, type Viewer } from './layout';

export const SESSION_COOKIE = 'scimflow_console';
const NOTICE_COOKIE = 'scimflow_notice';
export const SESSION_LIFETIME_MS = 8 * 3600_000;
export const SESSION_IDLE_MS = 3600_000;

declare module 'express-serve-static-core' {
  interface Request {
    consoleSession?: ConsoleSession & { viewer: Viewer };
  }
}

export interface SessionOptions {
  db: Db;
  /** The public URL: cookies are Secure when it is https (also behind a TLS-terminating proxy). */
  publicUrl: string;
  lifetimeMs?: number;
  idleMs?: number;
}

const cookiesOf = (req: Request) => parseCookies(req.headers.cookie ?? '');

function secure(req: Request, publicUrl: string): boolean {
  return req.secure || publicUrl.startsWith('https:');
}

/** Loads the session named by the cookie, if live, as `req.consoleSession`. */
export function loadSession(options: SessionOptions): RequestHandler {
  return async (req, _res, next) => {
    try {
      const id = cookiesOf(req)[SESSION_COOKIE];
      if (id && /^[A-Za-z0-9_-]{20,100}$/.test(id)) {
        const s = await findConsoleSession(options.db, id, options.idleMs ?? SESSION_IDLE_MS);
        if (s) {
          const tenant = await getTenant(options.db, s.tenantId);
          req.consoleSession = {
            ...s,
            viewer: {
              tenantId: s.tenantId,
              tenantName: tenant?.name ?? s.tenantId,
              tokenName: s.tokenName,
              role: s.adminRole,
              canWrite: s.adminRole === ADMIN_WRITE_ROLE,
              csrfToken: s.csrfToken,
            },
          };
        }
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** Pages need a session: a GET without one goes to the sign-in page, anything else gets 401. */
export const requireSession: RequestHandler = (req, res, next) => {
  if (req.consoleSession) return next();
  if (req.method === 'GET' || req.method === 'HEAD') {
    const back = req.originalUrl.startsWith(CONSOLE_PATH) ? `?next=${encodeURIComponent(req.originalUrl)}` : '';
    return res.redirect(303, `${CONSOLE_PATH}/sign-in${back}`);
  }
  res.status(401).type('text').send('Sign in first.');
};

/** The request's Origin (or Referer), when sent, must be this host: a form on another site cannot post here. */
export function sameOrigin(req: Request): boolean {
  const origin = req.get('origin') ?? req.get('referer');
  if (!origin) return true; // not sent (old browsers, non-browser clients): the CSRF token decides
  try {
    return new URL(origin).host === req.get('host');
  } catch {
    return false;
  }
}

function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** State-changing requests: same origin and the session's CSRF token, else 403 and nothing happens. */
export const requireCsrf: RequestHandler = (req, res, next) => {
  if (req.method === 'GET' || req.method === 'HEAD') return next();
  const s = req.consoleSession;
  const sent = (typeof req.body?._csrf === 'string' ? req.body._csrf : undefined) ?? req.get('x-csrf-token') ?? '';
  if (!s || !sameOrigin(req) || !tokensEqual(sent, s.csrfToken)) {
    return void res
      .status(403)
      .type('text')
      .send('Refused: this request did not come from a console page of this session (missing or wrong CSRF token, or another origin). Nothing was changed.');
  }
  next();
};

export type SignInResult = { ok: true } | { ok: false; status: number; message: string };

/**
 * Checks an admin token and starts a session (cookie set on `res`). Failed sign-ins count against
 * the client address's failure budget (the one the SCIM and admin APIs use when given): an
 * address over it is answered 429 before the token is looked up, unless that token is live
 * (the throttle's `liveCredentials`).
 */
export function signInHandler(options: SessionOptions & { failures?: FailureThrottle }) {
  const failures = options.failures ?? new FailureThrottle({ perMinute: 10, burst: 20 });
  return async (req: Request, res: Response): Promise<SignInResult> => {
    const client = clientAddress(req);
    if (!sameOrigin(req)) return { ok: false, status: 403, message: 'Sign in from this console\u2019s own page.' };
    const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
    const hash = hashToken(token);
    const wait = failures.knownGood(hash) ? 0 : failures.retryAfter(client);
    if (wait > 0) return { ok: false, status: 429, message: `Too many failed sign-ins from this address; try again in ${wait} s.` };
    const found = /^sf[as]_[A-Za-z0-9_-]{20,100}$/.test(token) ? await verifyToken(options.db, token) : undefined;
    if (!found || found.kind !== 'admin') {
      failures.fail(client);
      return {
        ok: false,
        status: 401,
        message:
          found?.kind === 'scim'
            ? 'That is a SCIM token (for the identity provider). Sign in with an admin token (sfa_…).'
            : 'The token is unknown or revoked. Ask for an admin token (npm run tokens -- create --tenant <id> --name <you> --admin).',
      };
    }
    await touchToken(options.db, found.id); // a sign-in is a use of the token ("last used")
    const lifetimeMs = options.lifetimeMs ?? SESSION_LIFETIME_MS;
    const session = await createConsoleSession(options.db, { tenantId: found.tenantId, tokenId: found.id, lifetimeMs });
    res.cookie(SESSION_COOKIE, session.sessionId, {
      httpOnly: true,
      secure: secure(req, options.publicUrl),
      sameSite: 'strict',
      path: CONSOLE_PATH,
      maxAge: lifetimeMs,
    });
    return { ok: true };
  };
}

export async function signOut(options: SessionOptions, req: Request, res: Response): Promise<void> {
  const id = cookiesOf(req)[SESSION_COOKIE];
  if (id) await deleteConsoleSession(options.db, id);
  res.clearCookie(SESSION_COOKIE, { path: CONSOLE_PATH, httpOnly: true, sameSite: 'strict', secure: secure(req, options.publicUrl) });
}

/** A one-time notice for the next page (what an action did), in a short-lived cookie. */
export function setNotice(req: Request, res: Response, publicUrl: string, notice: Notice): void {
  res.cookie(NOTICE_COOKIE, Buffer.from(JSON.stringify(notice)).toString('base64url'), {
    httpOnly: true,
    secure: secure(req, publicUrl),
    sameSite: 'strict',
    path: CONSOLE_PATH,
    maxAge: 60_000,
  });
}

export function takeNotice(req: Request, res: Response): Notice | undefined {
  const raw = cookiesOf(req)[NOTICE_COOKIE];
  if (!raw) return undefined;
  res.clearCookie(NOTICE_COOKIE, { path: CONSOLE_PATH });
  try {
    const n = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Notice;
    return (n.kind === 'ok' || n.kind === 'error') && typeof n.text === 'string' ? { kind: n.kind, text: n.text.slice(0, 500) } : undefined;
  } catch {
    return undefined;
  }
}
