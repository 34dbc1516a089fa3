/**
 * Throttling of failures per client address: a bearer token that is unknown, revoked or
 * expired, or an invitation link that names no invitation, takes one token from its address's
 * bucket (`burst` at once, refilled at `perMinute`). While the bucket is empty the address is
 * answered 429 with Retry-After before anything is looked up, so guessing costs the database
 * nothing.
 *
 * A valid credential is always served; only failures are throttled. Successes take nothing, and
 * a token that is live now (`liveCredentials`: the hashes of every live token, kept current by
 * common/live-credentials.ts) passes even while its address is throttled, whether this process
 * has seen it before or not: an IdP that shares an address (a NAT, a proxy) with a guesser is
 * not slowed, however rarely it calls or however new its token. Without `liveCredentials` every
 * token from a throttled address is refused. Invitation links are not tokens of the table: a
 * link that worked passes from its address for `knownGoodMs` (throttleInvitationLinks).
 *
 * Addresses are req.ip: behind a reverse proxy set TRUST_PROXY, or every client is the proxy.
 * Memory is bounded: at most `maxAddresses` buckets and known-good links (oldest dropped).
 */
import crypto from 'node:crypto';
import type { Request, RequestHandler } from 'express';

export interface FailureThrottleOptions {
  /** Failures per minute an address may keep up. Default 10. */
  perMinute: number;
  /** Failures an address may make at once. Default 20. */
  burst: number;
  /** The live tokens (by hash): they pass a throttled address. */
  liveCredentials?: { has(hash: string): boolean };
  /** How long an invitation link that worked passes a throttled address. Default 15 min. */
  knownGoodMs?: number;
  /** Buckets and known-good links kept. Default 100,000 each. */
  maxAddresses?: number;
}

export class FailureThrottle {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly good = new Map<string, number>();
  private readonly knownGoodMs: number;
  private readonly max: number;

  constructor(private readonly options: FailureThrottleOptions) {
    this.knownGoodMs = options.knownGoodMs ?? 15 * 60_000;
    this.max = options.maxAddresses ?? 100_000;
  }

  private level(address: string, now: number): { tokens: number; at: number } {
    const b = this.buckets.get(address) ?? { tokens: this.options.burst, at: now };
    b.tokens = Math.min(this.options.burst, b.tokens + ((now - b.at) / 60_000) * this.options.perMinute);
    b.at = now;
    return b;
  }

  /** Seconds `address` must wait before its next attempt (0: it may try now). Takes nothing. */
  retryAfter(address: string, now = Date.now()): number {
    const b = this.level(address, now);
    return b.tokens >= 1 ? 0 : Math.max(1, Math.ceil(((1 - b.tokens) / this.options.perMinute) * 60));
  }

  /** Counts one failure of `address`. */
  fail(address: string, now = Date.now()): void {
    const b = this.level(address, now);
    b.tokens = Math.max(0, b.tokens - 1);
    this.buckets.delete(address); // re-inserted last: the Map's order is least recently failed first
    this.buckets.set(address, b);
    if (this.buckets.size > this.max) this.buckets.delete(this.buckets.keys().next().value as string);
  }

  /** Remembers an invitation link (its `link:` key) as working now. Tokens are not remembered: `liveCredentials` knows them. */
  succeeded(linkKey: string, now = Date.now()): void {
    this.good.delete(linkKey);
    this.good.set(linkKey, now + this.knownGoodMs);
    if (this.good.size > this.max) this.good.delete(this.good.keys().next().value as string);
  }

  /** Whether the credential passes a throttled address: a live token's hash, or a link that worked within knownGoodMs. */
  knownGood(credentialHash: string, now = Date.now()): boolean {
    if (this.options.liveCredentials?.has(credentialHash)) return true;
    const until = this.good.get(credentialHash);
    if (until === undefined) return false;
    if (until < now) this.good.delete(credentialHash);
    return until >= now;
  }
}

/** The client address of a request (express `req.ip`, which follows TRUST_PROXY). */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/**
 * Middleware for the invitation routes (`/invitations/:token`, GET and POST): an address that
 * sent too many links naming no invitation (answered 404) gets 429 with Retry-After; a link that
 * worked (answered below 400, or 410 for an expired one) stays usable from that address.
 * Mount it before the routes; the routes themselves do not change.
 */
export function throttleInvitationLinks(throttle: FailureThrottle): RequestHandler {
  return (req, res, next) => {
    const token = String(req.params.token ?? req.path.split('/').filter(Boolean).pop() ?? '');
    const key = `link:${crypto.createHash('sha256').update(token).digest('hex')}`;
    const address = clientAddress(req);
    if (!throttle.knownGood(key)) {
      const wait = throttle.retryAfter(address);
      if (wait > 0) {
        res.setHeader('Retry-After', String(wait));
        res.setHeader('Cache-Control', 'no-store');
        return void res.status(429).type('text/plain').send(`Too many invalid invitation links from your address. Try again in ${wait} s.\n`);
      }
    }
    res.once('finish', () => {
      if (res.statusCode === 404) throttle.fail(address);
      else if (res.statusCode < 400 || res.statusCode === 410) throttle.succeeded(key);
    });
    next();
  };
}
