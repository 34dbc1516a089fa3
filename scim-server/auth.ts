/**
 * Bearer-token authentication and per-token rate limiting. A token maps to exactly one
 * tenant; everything downstream sees only that tenant's rows. Failed attempts (no token, an
 * unknown, revoked or expired one) are throttled per client address (failure-throttle.ts):
 * once an address is over its budget it is answered 429 before any database lookup, while
 * live tokens (common/live-credentials.ts) are looked up and served as usual.
 */
import type { RequestHandler } from 'express';
import type { Db } from '../common/db';
import { hashToken, touchToken, verifyToken, type TokenKind } from '../common/repositories/tokens';
import { sendScimError } from './error-boundary';
import { clientAddress, type FailureThrottle } from '../common/failure-throttle';
import { ScimError } from '../scim/error';

export interface AuthOptions {
  db: Db;
  kind: TokenKind;
  /** How long a verified token is trusted without a database look-up; revocation takes effect within it. Default 5 s. */
  cacheMs?: number;
  rateLimit: { perSecond: number; burst: number };
  /** Failed attempts per client address (shared by every authenticated router of the process). */
  failures?: FailureThrottle;
}

interface Authenticated {
  tokenId: string;
  tenantId: string;
  /** Admin tokens: the role that decides what the admin API allows (null: read-only). */
  adminRole?: string | null;
}

declare module 'express-serve-static-core' {
  interface Request {
    auth?: Authenticated;
    requestId?: string;
  }
}

/** Token bucket per token: `burst` requests at once, refilled at `perSecond`. */
export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** Returns 0 when allowed, else the seconds to wait. */
  take(key: string, now = Date.now()): number {
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
  }
}

export function bearerAuth(options: AuthOptions): RequestHandler {
  const cacheMs = options.cacheMs ?? 5_000;
  const cache = new Map<string, Authenticated & { until: number; touchedAt: number }>();
  const limiter = new RateLimiter(options.rateLimit.perSecond, options.rateLimit.burst);
  const challenge = (res: Parameters<RequestHandler>[1], detail: string) => {
    res.setHeader('WWW-Authenticate', 'Bearer realm="scimflow"');
    sendScimError(res, new ScimError(401, undefined, detail));
  };

  const refuse = (req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1], detail: string) => {
    options.failures?.fail(clientAddress(req));
    challenge(res, detail);
  };

  return async (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const address = clientAddress(req);
    const hash = match ? hashToken(match[1]) : undefined;
    const now = Date.now();
    let auth = hash ? cache.get(hash) : undefined;
    if (!auth || auth.until < now) {
      // An address over its failure budget is not looked up, unless the token it sends is a live token's.
      const wait = options.failures && !(hash && options.failures.knownGood(hash, now)) ? options.failures.retryAfter(address, now) : 0;
      if (wait > 0) {
        return sendScimError(
          res,
          new ScimError(429, undefined, `Too many failed authentications from this address; retry after ${wait} s.`, { retryAfterSeconds: wait }),
        );
      }
      if (!match || !hash) return refuse(req, res, 'Send the tenant\'s token as "Authorization: Bearer <token>".');
      try {
        const found = await verifyToken(options.db, match[1], { includeExpired: true });
        if (!found || found.kind !== options.kind) {
          cache.delete(hash);
          return refuse(req, res, 'The bearer token is unknown or revoked.');
        }
        if (found.expiresAt && found.expiresAt.getTime() <= now) {
          cache.delete(hash);
          // The tenant is known: the refusal goes to its request log (request-log.ts).
          res.locals.refusedCredential = { tokenId: found.id, tenantId: found.tenantId };
          return refuse(req, res, `The bearer token expired at ${found.expiresAt.toISOString()}; ask the operator for a new one.`);
        }
        // Trusted without a look-up for cacheMs, never beyond its expiry.
        const until = Math.min(now + cacheMs, found.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY);
        auth = { tokenId: found.id, tenantId: found.tenantId, adminRole: found.adminRole, until, touchedAt: auth?.touchedAt ?? 0 };
        cache.set(hash, auth);
      } catch (err) {
        return next(err);
      }
    }
    const wait = limiter.take(auth.tokenId, now);
    if (wait > 0) {
      res.locals.refusedCredential = { tokenId: auth.tokenId, tenantId: auth.tenantId };
      return sendScimError(res, new ScimError(429, undefined, `Too many requests for this token; retry after ${wait} s.`, { retryAfterSeconds: wait }));
    }
    // Record use at most once a minute per token, off the request's path.
    if (now - auth.touchedAt > 60_000) {
      auth.touchedAt = now;
      touchToken(options.db, auth.tokenId).catch(() => undefined);
    }
    req.auth = { tokenId: auth.tokenId, tenantId: auth.tenantId, adminRole: auth.adminRole ?? null };
    next();
  };
}
