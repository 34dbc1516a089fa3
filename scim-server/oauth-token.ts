/**
 * The OAuth 2.0 token endpoint, `POST /oauth/token` (RFC 6749 §4.4, client credentials): a
 * tenant's OAuth client (common/repositories/oauth-clients.ts; `npm run tokens -- create-client`)
 * exchanges its id and secret for an access token that the SCIM API takes beside the static
 * bearer tokens (auth.ts), for OAUTH_ACCESS_TOKEN_TTL (default 60 min; the Entra gallery wants
 * 60 to 360). One endpoint for every tenant: the client id names the tenant.
 *
 * The request is `application/x-www-form-urlencoded` with `grant_type=client_credentials`; the
 * client authenticates with HTTP Basic (id and secret form-encoded, RFC 6749 §2.3.1) or with
 * `client_id` and `client_secret` in the body, not both (a body `client_id` beside Basic is
 * tolerated when it names the same client, as RFC 6749 §3.2.1 lets clients send it). `scope`
 * may be left out; the only scope is `scim`. Errors are RFC 6749 §5.2 JSON: `invalid_request`
 * (400), `invalid_client` (401 with a Basic challenge), `unsupported_grant_type` (400),
 * `invalid_scope` (400). Every answer has `Cache-Control: no-store`.
 *
 * A failed client authentication counts against the client address's failure budget, the one the
 * SCIM API's unknown tokens spend (common/failure-throttle.ts): an address over it is answered 429
 * with Retry-After before any look-up, unless the secret it sends is a live client's (common/
 * live-credentials.ts). Issuing is limited per client (default 10 a minute, 20 at once), which
 * bounds the rows a misbehaving client makes. Secrets and tokens are never logged: the request's
 * log line has the client id once the client is verified, never before (an admin may have pasted
 * the secret into the id field).
 */
import crypto from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import type { Db } from '../common/db';
import { clientAddress, type FailureThrottle } from '../common/failure-throttle';
import { httpAnswerOf, logHttpError } from '../common/http-error';
import type { Logger } from '../common/logger';
import { issueAccessToken, OAUTH_TOKEN_PATH, verifyClientSecret } from '../common/repositories/oauth-clients';
import { hashToken } from '../common/repositories/tokens';
import { RateLimiter } from './auth';

/** OAUTH_ACCESS_TOKEN_TTL's default: 60 minutes. */
export const DEFAULT_ACCESS_TOKEN_TTL_MS = 3_600_000;
/** The one scope a client may ask for (or leave out): the SCIM API of its tenant. */
export const SCIM_SCOPE = 'scim';
const FORM = 'application/x-www-form-urlencoded';

export interface OAuthTokenOptions {
  db: Db;
  logger: Logger;
  /** How long an access token lives. Default 60 min. */
  accessTokenTtlMs?: number;
  /** Failed authentications per client address, shared with the SCIM API. */
  failures?: FailureThrottle;
  /** Told of each access token issued, so this process lets it pass a throttled address before the reload its notification brings. */
  liveCredentials?: { remember(hash: string, untilMs: number): void };
  /** Access tokens issued per client: sustained per minute and at once. Default 10 and 20. */
  issueLimit?: { perMinute: number; burst: number };
}

type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'invalid_scope' | 'slow_down' | 'server_error';

function sendError(res: Response, status: number, error: OAuthErrorCode, description: string, retryAfterSeconds?: number): void {
  if (status === 401) res.setHeader('WWW-Authenticate', 'Basic realm="scimflow", charset="UTF-8"');
  if (retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(retryAfterSeconds));
  res.locals.oauthError = error;
  res.status(status).json({ error, error_description: description });
}

/** A form-encoded value (RFC 6749 §2.3.1: Basic's id and secret are form-encoded first); undefined if malformed. */
function formDecoded(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

type ClientCredentials = { id: string; secret: string; method: 'basic' | 'body' };

/** The Authorization header's client credentials: undefined without one, 'unusable' for another scheme or a malformed one. */
function basicCredentials(header: string | undefined): ClientCredentials | 'unusable' | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!match) return 'unusable';
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'unusable';
  const id = formDecoded(decoded.slice(0, colon));
  const secret = formDecoded(decoded.slice(colon + 1));
  return id && secret ? { id, secret, method: 'basic' } : 'unusable';
}

export function oauthTokenRouter(options: OAuthTokenOptions): Router {
  const ttlMs = options.accessTokenTtlMs ?? DEFAULT_ACCESS_TOKEN_TTL_MS;
  const issueLimit = options.issueLimit ?? { perMinute: 10, burst: 20 };
  const issued = new RateLimiter(issueLimit.perMinute / 60, issueLimit.burst);
  const router = Router();

  router.use(OAUTH_TOKEN_PATH, (req, res, next) => {
    req.requestId = crypto.randomUUID();
    res.setHeader('X-Request-Id', req.requestId);
    // RFC 6749 §5.1: the answer holds a credential; no cache keeps it.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Pragma', 'no-cache');
    const started = process.hrtime.bigint();
    res.once('close', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      options.logger.info(
        {
          requestId: req.requestId,
          method: req.method,
          route: OAUTH_TOKEN_PATH,
          status: res.writableFinished ? res.statusCode : 499,
          ms: Math.round(ms * 10) / 10,
          error: res.locals.oauthError,
          clientId: res.locals.oauthClientId,
          tenant: res.locals.oauthTenantId,
        },
        'OAuth token request',
      );
    });
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return sendError(res, 405, 'invalid_request', `The token endpoint takes POST only (got ${req.method}).`);
    }
    next();
  });

  router.post(OAUTH_TOKEN_PATH, express.text({ type: FORM, limit: '8kb' }), async (req: Request, res: Response) => {
    if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      return sendError(res, 400, 'invalid_request', `Send the token request as "Content-Type: ${FORM}" (RFC 6749 §4.4.2).`);
    }
    const form = new URLSearchParams(typeof req.body === 'string' ? req.body : '');
    for (const name of new Set(form.keys())) {
      if (form.getAll(name).length > 1) return sendError(res, 400, 'invalid_request', `The parameter "${name}" is given more than once.`);
    }
    // RFC 6749 §3.2: a parameter without a value is as if it were left out.
    const param = (name: string) => form.get(name) || undefined;

    const basic = basicCredentials(req.headers.authorization);
    const bodyId = param('client_id');
    const bodySecret = param('client_secret');
    if (basic !== undefined && (bodySecret !== undefined || (basic !== 'unusable' && bodyId !== undefined && bodyId !== basic.id))) {
      return sendError(
        res,
        400,
        'invalid_request',
        'Authenticate the client one way: HTTP Basic, or client_id and client_secret in the body, not both (RFC 6749 §2.3).',
      );
    }
    const presented: ClientCredentials | 'unusable' | undefined =
      basic ?? (bodyId !== undefined && bodySecret !== undefined ? { id: bodyId, secret: bodySecret, method: 'body' } : undefined);

    const address = clientAddress(req);
    const failures = options.failures;
    // An address over its failure budget is not looked up, unless the secret it sends is a live client's.
    const secretHash = typeof presented === 'object' ? hashToken(presented.secret) : undefined;
    const wait = failures && !(secretHash && failures.knownGood(secretHash)) ? failures.retryAfter(address) : 0;
    if (wait > 0) {
      return sendError(res, 429, 'slow_down', `Too many failed authentications from this address; retry after ${wait} s.`, wait);
    }
    if (presented === undefined || presented === 'unusable') {
      failures?.fail(address);
      return sendError(
        res,
        401,
        'invalid_client',
        presented === 'unusable'
          ? 'The Authorization header is not HTTP Basic with a form-encoded client id and secret.'
          : 'Authenticate the client with HTTP Basic, or with client_id and client_secret in the body.',
      );
    }
    const client = await verifyClientSecret(options.db, presented.id, presented.secret);
    if (!client) {
      failures?.fail(address);
      return sendError(res, 401, 'invalid_client', 'The client is unknown or revoked, or the secret is wrong.');
    }
    res.locals.oauthClientId = client.clientId;
    res.locals.oauthTenantId = client.tenantId;

    const grantType = param('grant_type');
    if (grantType === undefined) return sendError(res, 400, 'invalid_request', 'The parameter "grant_type" is missing; send grant_type=client_credentials.');
    if (grantType !== 'client_credentials') {
      return sendError(res, 400, 'unsupported_grant_type', `The grant type "${grantType}" is not supported; send grant_type=client_credentials.`);
    }
    const scope = param('scope');
    if (scope !== undefined && scope.split(' ').some((s) => s !== SCIM_SCOPE)) {
      return sendError(res, 400, 'invalid_scope', `The only scope is "${SCIM_SCOPE}" (or leave scope out).`);
    }
    const issueWait = issued.take(client.clientId);
    if (issueWait > 0) {
      return sendError(
        res,
        429,
        'slow_down',
        `This client was given ${issueLimit.burst} access tokens in a short time; reuse one until it expires, or retry after ${issueWait} s.`,
        issueWait,
      );
    }
    const token = await issueAccessToken(options.db, client.clientId, ttlMs);
    // Revoked between the check and the issue.
    if (!token) return sendError(res, 401, 'invalid_client', 'The client is unknown or revoked, or the secret is wrong.');
    options.liveCredentials?.remember(token.hash, token.expiresAt.getTime());
    res.status(200).json({ access_token: token.accessToken, token_type: 'Bearer', expires_in: Math.floor(ttlMs / 1000) });
  });

  router.use(OAUTH_TOKEN_PATH, ((err, req, res, _next) => {
    const answer = httpAnswerOf(err, String(req.requestId ?? ''));
    logHttpError(options.logger, 'OAuth token request', err, answer, { requestId: req.requestId, route: OAUTH_TOKEN_PATH });
    if (res.headersSent) return;
    if (answer.status >= 500) return sendError(res, answer.status, 'server_error', answer.detail, answer.retryAfterSeconds);
    const detail = answer.status === 413 ? 'The token request is larger than 8 KiB.' : 'The token request could not be read.';
    sendError(res, answer.status, 'invalid_request', detail);
  }) as express.ErrorRequestHandler);
  return router;
}
