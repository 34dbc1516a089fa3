/**
 * Bearer-token authentication and per-token rate limiting. A token maps to exactly one
 * tenant; everything downstream sees only that tenant's rows. The SCIM API (kind 'scim') also
 * takes the OAuth access tokens of the token endpoint (oauth-token.ts; `sft_…`): each request
 * with one looks it up (never cached), so a revoked client's tokens are refused from the next
 * request on; the per-token rate limit and the request log count them under their client. Failed attempts (no token, an
 * unknown, revoked or expired one) are throttled per client address (failure-throttle.ts):
 * once an address is over its budget it is answered 429 before any database lookup, while
 * live tokens (common/live-credentials.ts) are looked up and served as usual.
 */
import type { RequestHandler } from 'express';
import type { Db } from '../common/db';
import { isAccessToken, touchOAuthClient, verifyAccessToken } from '../common/repositories/oauth-clients';
import { hashToken, touchToken, verifyToken, type TokenKind } from '../common/repositories/tokens';
import { sendScimError } from './error-boundary';
import { clientAddress, type FailureThrottle } from '../common/failure-throttle';
import { ScimError } from '../scim/error';

export interface AuthOptions {
  db: Db;
  kind: TokenKind;
  /** How long a verified bearer token is trusted without a database look-up; revocation takes effect within it. Default 5 s. OAuth access tokens are looked up on every request. */
  cacheMs?: number;
  rateLimit: { perSecond: number; burst: number };
  /** Failed attempts per client address (shared by every authenticated router of the process). */
  failures?: FailureThrottle;
}

interface Authenticated {
  /** The bearer token's id, or the OAuth client's id for an access token. */
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
  /** OAuth clients whose use was recorded, and when (bounded: the oldest go first). */
  const clientsTouched = new Map<string, number>();
  const challenge = (res: Parameters<RequestHandler>[1], detail: string, oauth: boolean) => {
    // RFC 6750 §3.1: a refused access token is an invalid_token.
    res.setHeader('WWW-Authenticate', oauth ? 'Bearer realm="scimflow", error="invalid_token"' : 'Bearer realm="scimflow"');
    sendScimError(res, new ScimError(401, undefined, detail));
  };

  const refuse = (req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1], detail: string, oauth = false) => {
    options.failures?.fail(clientAddress(req));
    challenge(res, detail, oauth);
  };
  /** Records an OAuth client's use at most once a minute, off the request's path. */
  const touchClient = (clientId: string, now: number) => {
    if (now - (clientsTouched.get(clientId) ?? 0) <= 60_000) return;
    clientsTouched.delete(clientId);
    clientsTouched.set(clientId, now);
    if (clientsTouched.size > 10_000) clientsTouched.delete(clientsTouched.keys().next().value as string);
    touchOAuthClient(options.db, clientId).catch(() => undefined);
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
        if (options.kind === 'scim' && isAccessToken(match[1])) {
          const found = await verifyAccessToken(options.db, match[1]);
          if (!found || found.revoked) {
            return refuse(req, res, 'The access token is unknown, or its OAuth client was revoked; request a new one from the token endpoint.', true);
          }
          if (found.expired) {
            res.locals.refusedCredential = { tokenId: found.clientId, tenantId: found.tenantId };
            return refuse(
              req,
              res,
              `The access token expired at ${found.expiresAt.toISOString()}; request a new one from the token endpoint (POST /oauth/token).`,
              true,
            );
          }
          // Never cached: the next request looks it up again, so a revocation holds at once. Its use is recorded per client.
          auth = { tokenId: found.clientId, tenantId: found.tenantId, adminRole: null, until: 0, touchedAt: now };
          touchClient(found.clientId, now);
        } else {
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
        }
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
