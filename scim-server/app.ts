/**
 * The public HTTP application: /healthz, the SCIM API under /scim/v2 (authenticated per
 * tenant), its OAuth token endpoint (/oauth/token, oauth-token.ts), and the invitation pages,
 * admin API and codec endpoint (extra routers). /metrics and /readyz are not here: they are on
 * the ops port (common/ops-server.ts), which the internet does not reach. Built from its dependencies so tests and the all-in-one process assemble it
 * the same way.
 *
 * Every SCIM request gets a request id (X-Request-Id, offered or generated), which follows
 * the change into the outbox, the workflow signal and the activities' audit entries and log
 * lines; one JSON log line per request (method, route pattern, status, ms, requestId, tenant;
 * never the query string, body or token) and the request metrics are written when it ends, and
 * the request goes to its tenant's request log (request-log.ts: identifiers only, batched).
 */
import { isUtf8 } from 'node:buffer';
import crypto from 'node:crypto';
import express, { type Request, type Router } from 'express';
import type { Db } from '../common/db';
import type { Logger } from '../common/logger';
import { scimResourceOf, type AppMetrics } from '../common/metrics';
import { bearerAuth } from './auth';
import { bulkRouter } from './bulk';
import { oauthTokenRouter, type OAuthTokenOptions } from './oauth-token';
import type { ScimContext } from './context';
import { discoveryRouter } from './discovery';
import { entitlementsRouter } from './entitlements/routes';
import { errorBoundary, sendScimError } from './error-boundary';
import type { FailureThrottle } from '../common/failure-throttle';
import { groupsRouter } from './groups/routes';
import { LIMITS } from './limits';
import { entryOf, type RequestLog } from './request-log';
import { declareSchemas } from '../scim/schemas';
import { ScimError } from '../scim/error';
import { usersRouter } from './users/routes';
import { asyncPreference, asyncTxnOf } from '../events/async';
import { securityEventsOf } from '../events/discovery';
import type { EventNotifier } from '../events/notifier';
import { pollRouter } from '../events/poll';
import type { EventSigner } from '../events/signing';

export const SCIM_BASE_PATH = '/scim/v2';

export interface ScimAppOptions {
  db: Db;
  logger: Logger;
  /** Public base URL of this server (no trailing slash); SCIM URLs are `${publicUrl}/scim/v2/...`. */
  publicUrl: string;
  bodyLimitBytes: number;
  rateLimit: { perSecond: number; burst: number };
  tokenCacheMs?: number;
  /** Told after each committed write, so the outbox relay delivers without waiting for its poll. */
  onCommitted?: () => void;
  /** Further routers mounted at the root (invitation pages, codec). */
  extraRouters?: Router[];
  /** Request counters and latency; served on the ops port (ops-server.ts), recorded here. */
  metrics?: AppMetrics;
  /** Failed authentications per client address (failure-throttle.ts). */
  failures?: FailureThrottle;
  /** Express `trust proxy` (TRUST_PROXY): which proxies' X-Forwarded-For names the client address. Default: none. */
  trustProxy?: boolean | number | string;
  /** The tenants' request log (request-log.ts): every SCIM request of a known tenant, recorded off the request's path. */
  requestLog?: RequestLog;
  /** The OAuth token endpoint (oauth-token.ts): the access tokens' lifetime (OAUTH_ACCESS_TOKEN_TTL, default 60 min), the live credentials it tells of each token issued. */
  oauth?: Pick<OAuthTokenOptions, 'accessTokenTtlMs' | 'liveCredentials' | 'issueLimit'>;
  /** The event feed (docs/events.md): its RFC 8936 poll endpoint at /scim/v2/Events signs with `signer` and long-polls on `notifier`. Absent: no poll endpoint. */
  events?: { signer: EventSigner; notifier: EventNotifier };
}

/** The RFC 8936 poll endpoint of the token's tenant, under the SCIM base path. */
export const EVENTS_POLL_PATH = '/Events';

const MAX_JSON_DEPTH = LIMITS.jsonDepth;

function depthOf(value: unknown, limit: number, depth = 0): number {
  if (depth > limit || typeof value !== 'object' || value === null) return depth;
  let max = depth;
  for (const v of Object.values(value)) {
    max = Math.max(max, depthOf(v, limit, depth + 1));
    if (max > limit) break;
  }
  return max;
}

/** The JSON escapes that can produce U+0000 or a surrogate (`\u0000`, `\uD800`–`\uDFFF`), in any case. */
const ESCAPED_UNSTORABLE = /\\u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})/;
/** A lone UTF-16 surrogate: JSON.parse lets `"\ud800"` through, PostgreSQL rejects it. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Why a parsed body holds text PostgreSQL cannot store (U+0000 or an unpaired surrogate, in a
 * value or a key), or undefined. Such a body used to reach the database and fail there with a 500;
 * it is the client's to fix (RFC 8259 §8.1: JSON text is UTF-8; PostgreSQL text cannot hold NUL).
 */
function unstorableText(value: unknown, depth = 0): string | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return 'contains the character U+0000, which cannot be stored';
    if (LONE_SURROGATE.test(value)) return 'contains an unpaired UTF-16 surrogate (\\uD800-\\uDFFF), which is not valid Unicode text';
    return undefined;
  }
  if (typeof value !== 'object' || value === null || depth > MAX_JSON_DEPTH) return undefined;
  for (const [k, v] of Object.entries(value)) {
    const problem = (Array.isArray(value) ? undefined : unstorableText(k, depth + 1)) ?? unstorableText(v, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

export function createScimApp(options: ScimAppOptions): express.Express {
  declareSchemas();
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('trust proxy', options.trustProxy ?? false);
  const baseUrl = `${options.publicUrl}${SCIM_BASE_PATH}`;

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  // OAuth 2.0 client credentials: the access tokens it issues open the SCIM API below (auth.ts).
  app.use(oauthTokenRouter({ db: options.db, logger: options.logger, failures: options.failures, ...options.oauth }));
  const metrics = options.metrics;

  const scim = express.Router();
  scim.use((req, res, next) => {
    const offered = req.get('X-Request-Id');
    req.requestId = offered && /^[A-Za-z0-9._:-]{1,64}$/.test(offered) ? offered : crypto.randomUUID();
    res.setHeader('X-Request-Id', req.requestId);
    // The route pattern, not the path: ids and filters stay out of logs and label values.
    const segments = req.path.split('/').filter(Boolean);
    const resource = scimResourceOf(req.path);
    const route = `/${[resource, ...segments.slice(1, 3).map((s) => (s === '.search' ? s : ':id'))].join('/')}`;
    const started = process.hrtime.bigint();
    const startedAt = Date.now();
    const path = req.path;
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = res.writableFinished ? res.statusCode : 499; // 499: the client went away first
      if (options.requestLog?.enabled) {
        const entry = entryOf(req, res, { path, startedAt, durationMs: seconds * 1000, status });
        if (entry) options.requestLog.record(entry);
      }
      metrics?.scimRequests.inc({ method: req.method, resource, status: String(status) });
      metrics?.scimRequestDuration.observe({ method: req.method, resource }, seconds);
      options.logger.info(
        { requestId: req.requestId, method: req.method, route, status, ms: Math.round(seconds * 10_000) / 10, tenant: req.auth?.tenantId },
        'SCIM request',
      );
    });
    next();
  });
  scim.use((req, res, next) => {
    if (
      ['POST', 'PUT', 'PATCH'].includes(req.method) &&
      req.headers['content-length'] !== '0' &&
      (req.headers['content-length'] || req.headers['transfer-encoding'])
    ) {
      // RFC 7644 §3.1: application/scim+json; plain application/json is accepted too (many clients send it).
      if (!req.is(['application/scim+json', 'application/json', 'application/*+json'])) {
        return sendScimError(res, new ScimError(415, undefined, 'Send the body as "Content-Type: application/scim+json" (or application/json).'));
      }
    }
    next();
  });
  scim.use(bearerAuth({ db: options.db, kind: 'scim', rateLimit: options.rateLimit, cacheMs: options.tokenCacheMs, failures: options.failures }));
  scim.use(
    express.json({
      limit: options.bodyLimitBytes,
      type: ['application/scim+json', 'application/json', 'application/*+json'],
      strict: true,
      // Invalid UTF-8 was silently decoded to U+FFFD and stored (e.g. in userName); JSON must be UTF-8 (RFC 8259 §8.1).
      verify: (req, _res, buf) => {
        if (!isUtf8(buf)) throw ScimError.badRequest('invalidSyntax', 'The request body is not valid UTF-8.');
        // Valid UTF-8 holds no raw surrogate and JSON no raw NUL: only escapes can bring them in. One scan of the
        // text spares the walk over every value of a large body (100,000 strings took 0.1 s).
        (req as { mayHoldUnstorable?: boolean }).mayHoldUnstorable = ESCAPED_UNSTORABLE.test(buf.toString('latin1'));
      },
    }),
  );
  scim.use((req, _res, next) => {
    if (req.body !== undefined && depthOf(req.body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      return next(ScimError.badRequest('invalidSyntax', `The request body nests deeper than ${MAX_JSON_DEPTH} levels.`));
    }
    const problem = req.body !== undefined && (req as { mayHoldUnstorable?: boolean }).mayHoldUnstorable !== false ? unstorableText(req.body) : undefined;
    if (problem) return next(ScimError.badRequest('invalidValue', `The request body ${problem}.`));
    next();
  });

  const context = (req: Request): ScimContext => ({
    db: options.db,
    tenantId: (req.auth as { tenantId: string }).tenantId,
    requestId: req.requestId as string,
    // The SCIM router authenticates SCIM tokens only (bearerAuth kind 'scim'): the source is the credential's, whatever X-Request-Id says.
    source: 'scim',
    baseUrl,
    onCommitted: options.onCommitted ?? (() => undefined),
    asyncTxn: asyncTxnOf(req.res),
  });
  scim.use(discoveryRouter(baseUrl, options.bodyLimitBytes, (tenantId) => securityEventsOf(options.db, tenantId)));
  // RFC 9967 §2.5.1.1: a write with `Prefer: respond-async` is answered 202 with Set-Txn (events/async.ts).
  scim.use(['/Users', '/Groups'], asyncPreference());
  if (options.events) scim.use(EVENTS_POLL_PATH, pollRouter({ db: options.db, ...options.events }));
  scim.use('/Users', usersRouter(context));
  scim.use('/Groups', groupsRouter(context));
  // Okta Identity Governance's entitlement types, read-only from the tenant configuration: /Roles, /Licenses.
  scim.use(entitlementsRouter(context));
  scim.use('/Bulk', bulkRouter(context));
  scim.use((req, res) => sendScimError(res, ScimError.notFound(`No SCIM endpoint ${req.method} ${req.path}.`)));
  scim.use(errorBoundary(options.logger));
  app.use(SCIM_BASE_PATH, scim);

  for (const router of options.extraRouters ?? []) app.use(router);
  app.use(errorBoundary(options.logger));
  return app;
}
