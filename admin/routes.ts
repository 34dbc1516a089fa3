/**
 * The admin API, JSON over HTTP under /admin/v1, for the tenant's administrators and ops tools.
 * Authenticated with admin tokens (`npm run tokens -- create --tenant <id> --admin --role
 * "Super User"`): a token reaches its own tenant only; "Super User" may change users and
 * configuration, every other role reads (403 on writes). docs/admin-api.md lists the routes.
 *
 * Errors are `{ "error": { "status", "message", "scimType"?, "problems"? } , "requestId" }`
 * (errors.ts); a configuration that does not validate is a 400 whose `problems` lists every
 * problem with its path.
 */
import crypto from 'node:crypto';
import express, { Router, type Request, type RequestHandler } from 'express';
import YAML from 'yaml';
import { bearerAuth } from '../scim-server/auth';
import type { FailureThrottle } from '../common/failure-throttle';
import { auditTrail, timelineCsv, userTimeline } from './audit';
import { adminErrorBoundary } from './errors';
import { diffVersions, getVersion, listVersions, saveConfig, validateConfigOnline } from './config';
import { testConnection } from './connection-test';
import { describeConnector, testConnector } from './connector';
import { decideHeldChange, decideHeldChanges, listHeldChanges } from './held-changes';
import { overview } from './overview';
import { previewOneUser, previewTenant } from './preview';
import { listRequests, type RequestFilters } from './requests';
import { AdminError, tenantOf, type AdminDeps, type Caller } from './shared';
import { describeTenant, listTenants, reconcileNow } from './tenants';
import { createTenantOAuthClient, listTenantOAuthClients, revokeTenantOAuthClient, rotateTenantOAuthClient } from './oauth-clients';
import { createScimToken, listTenantTokens, revokeScimToken } from './tokens';
import { resendInvitation, setActive, signalUser, terminate } from './user-actions';
import { createUser, describeUser, listUsers } from './users';

const ADMIN_BASE_PATH = '/admin/v1';

export interface AdminRouterOptions extends AdminDeps {
  rateLimit: { perSecond: number; burst: number };
  bodyLimitBytes: number;
  tokenCacheMs?: number;
  /** Failed authentications per client address, shared with the SCIM API. */
  failures?: FailureThrottle;
}

function caller(req: Request): Caller {
  const auth = req.auth as { tokenId: string; tenantId: string; adminRole?: string | null };
  return { tenantId: auth.tenantId, tokenId: auth.tokenId, role: auth.adminRole ?? null, requestId: req.requestId as string };
}

/** A configuration in the body: JSON, or YAML sent as application/yaml (the files the CLI loads). */
function configBody(req: Request): unknown {
  if (typeof req.body !== 'string') return req.body;
  try {
    return YAML.parse(req.body);
  } catch (err) {
    throw new AdminError(400, `the body is not valid YAML: ${(err as Error).message}`);
  }
}

/** `?window=` of the connector's health: minutes, 1 to 1440 (a day); default 15. */
function windowOf(value: unknown): number {
  if (value === undefined) return 15;
  const n = typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 1440)) throw new AdminError(400, '"window" must be a number of minutes from 1 to 1440');
  return n;
}

export function adminRouter(options: AdminRouterOptions): Router {
  const api = Router();
  api.use((req, res, next) => {
    // Admin actions are told apart from IdP requests everywhere they are traced (outbox, workflow, audit).
    req.requestId = `admin:${crypto.randomUUID()}`;
    res.setHeader('X-Request-Id', req.requestId);
    res.setHeader('Cache-Control', 'no-store');
    const started = process.hrtime.bigint();
    res.once('close', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      options.logger.info(
        {
          requestId: req.requestId,
          method: req.method,
          route: req.route?.path,
          status: res.statusCode,
          ms: Math.round(ms * 10) / 10,
          tenant: req.auth?.tenantId,
        },
        'admin request',
      );
    });
    next();
  });
  api.use(bearerAuth({ db: options.db, kind: 'admin', rateLimit: options.rateLimit, cacheMs: options.tokenCacheMs, failures: options.failures }));
  api.use(express.json({ limit: options.bodyLimitBytes, type: ['application/json', 'application/scim+json', 'application/*+json'] }));
  api.use(express.text({ limit: options.bodyLimitBytes, type: ['application/yaml', 'application/x-yaml', 'text/yaml'] }));

  const handle =
    (fn: (req: Request) => Promise<unknown>, status = 200): RequestHandler =>
    async (req, res) => {
      res.status(status).json(await fn(req));
    };
  const p = (req: Request, name: string) => String(req.params[name]);

  api.get(
    '/tenants',
    handle((req) => listTenants(options, caller(req))),
  );
  api.get(
    '/tenants/:tenant',
    handle((req) => describeTenant(options, caller(req), p(req, 'tenant'))),
  );
  api.get(
    '/tenants/:tenant/config/versions',
    handle((req) => listVersions(options, caller(req), p(req, 'tenant'))),
  );
  api.get(
    '/tenants/:tenant/config/versions/:version',
    handle((req) => getVersion(options, caller(req), p(req, 'tenant'), p(req, 'version'))),
  );
  api.get(
    '/tenants/:tenant/config',
    handle((req) => getVersion(options, caller(req), p(req, 'tenant'), 'current')),
  );
  api.post(
    '/tenants/:tenant/config/versions',
    handle((req) => saveConfig(options, caller(req), p(req, 'tenant'), configBody(req)), 201),
  );
  api.post(
    '/tenants/:tenant/config/validate',
    handle(async (req) => {
      await tenantOf(options, caller(req), p(req, 'tenant'));
      return validateConfigOnline(options, p(req, 'tenant'), configBody(req));
    }),
  );
  api.post(
    '/tenants/:tenant/preview',
    handle((req) => previewTenant(options, caller(req), p(req, 'tenant'), configBody(req), Number(req.query.sample ?? 100) || 100)),
  );
  api.post(
    '/tenants/:tenant/preview/user',
    handle((req) => previewOneUser(options, caller(req), p(req, 'tenant'), req.body)),
  );
  api.post(
    '/tenants/:tenant/reconcile',
    handle((req) => reconcileNow(options, caller(req), p(req, 'tenant')), 202),
  );

  api.get(
    '/tenants/:tenant/overview',
    handle((req) => overview(options, caller(req), p(req, 'tenant'))),
  );
  api.get(
    '/tenants/:tenant/config/diff',
    handle((req) => diffVersions(options, caller(req), p(req, 'tenant'), String(req.query.from ?? ''), String(req.query.to ?? 'current'))),
  );
  api.get(
    '/tenants/:tenant/tokens',
    handle((req) => listTenantTokens(options, caller(req), p(req, 'tenant'))),
  );
  api.post(
    '/tenants/:tenant/tokens',
    handle((req) => createScimToken(options, caller(req), p(req, 'tenant'), req.body), 201),
  );
  api.post(
    '/tenants/:tenant/tokens/:token/revoke',
    handle((req) => revokeScimToken(options, caller(req), p(req, 'tenant'), p(req, 'token'))),
  );
  api.get(
    '/tenants/:tenant/oauth-clients',
    handle((req) => listTenantOAuthClients(options, caller(req), p(req, 'tenant'))),
  );
  api.post(
    '/tenants/:tenant/oauth-clients',
    handle((req) => createTenantOAuthClient(options, caller(req), p(req, 'tenant'), req.body), 201),
  );
  api.post(
    '/tenants/:tenant/oauth-clients/:client/rotate',
    handle((req) => rotateTenantOAuthClient(options, caller(req), p(req, 'tenant'), p(req, 'client'))),
  );
  api.post(
    '/tenants/:tenant/oauth-clients/:client/revoke',
    handle((req) => revokeTenantOAuthClient(options, caller(req), p(req, 'tenant'), p(req, 'client'))),
  );
  api.get(
    '/tenants/:tenant/requests',
    handle((req) => listRequests(options, caller(req), p(req, 'tenant'), req.query as RequestFilters)),
  );
  api.post(
    '/tenants/:tenant/connection-test',
    handle((req) => testConnection(options, caller(req), p(req, 'tenant'), req.body)),
  );
  api.get(
    '/tenants/:tenant/connector',
    handle((req) => describeConnector(options, caller(req), p(req, 'tenant'), windowOf(req.query.window))),
  );
  api.post(
    '/tenants/:tenant/connector/test',
    handle((req) => testConnector(options, caller(req), p(req, 'tenant'))),
  );
  api.get('/tenants/:tenant/users/:user/timeline', async (req, res) => {
    const timeline = await userTimeline(options, caller(req), p(req, 'tenant'), p(req, 'user'));
    if (req.query.format === 'csv') {
      res.type('text/csv').attachment(`timeline-${timeline.userId}.csv`).send(timelineCsv(timeline));
    } else res.json(timeline);
  });

  api.get(
    '/tenants/:tenant/users',
    handle((req) => listUsers(options, caller(req), p(req, 'tenant'), req.query as Record<string, string>)),
  );
  api.post(
    '/tenants/:tenant/users',
    handle((req) => createUser(options, caller(req), p(req, 'tenant'), req.body), 201),
  );
  api.get(
    '/tenants/:tenant/users/:user',
    handle((req) => describeUser(options, caller(req), p(req, 'tenant'), p(req, 'user'))),
  );
  api.get(
    '/tenants/:tenant/users/:user/audit',
    handle((req) => auditTrail(options, caller(req), p(req, 'tenant'), p(req, 'user'))),
  );
  api.post(
    '/tenants/:tenant/users/:user/suspend',
    handle((req) => setActive(options, caller(req), p(req, 'tenant'), p(req, 'user'), false), 202),
  );
  api.post(
    '/tenants/:tenant/users/:user/reactivate',
    handle((req) => setActive(options, caller(req), p(req, 'tenant'), p(req, 'user'), true), 202),
  );
  api.post(
    '/tenants/:tenant/users/:user/terminate',
    handle((req) => terminate(options, caller(req), p(req, 'tenant'), p(req, 'user')), 202),
  );
  api.post(
    '/tenants/:tenant/users/:user/resend-invitation',
    handle((req) => resendInvitation(options, caller(req), p(req, 'tenant'), p(req, 'user')), 202),
  );
  api.get(
    '/tenants/:tenant/held-changes',
    handle(async (req) => (await listHeldChanges(options, caller(req), p(req, 'tenant'))) ?? { guard: null, held: [] }),
  );
  api.post(
    '/tenants/:tenant/held-changes/decide',
    handle((req) => decideHeldChanges(options, caller(req), p(req, 'tenant'), req.body)),
  );
  api.post(
    '/tenants/:tenant/held-changes/:id/allow',
    handle((req) => decideHeldChange(options, caller(req), p(req, 'tenant'), p(req, 'id'), 'allow')),
  );
  api.post(
    '/tenants/:tenant/held-changes/:id/reject',
    handle((req) => decideHeldChange(options, caller(req), p(req, 'tenant'), p(req, 'id'), 'reject')),
  );
  api.post(
    '/tenants/:tenant/users/:user/retry',
    handle((req) => signalUser(options, caller(req), p(req, 'tenant'), p(req, 'user'), 'retry'), 202),
  );

  api.use((req, _res, next) => next(new AdminError(404, `no admin endpoint ${req.method} ${req.path}`)));
  api.use(adminErrorBoundary(options.logger));

  const router = Router();
  router.use(ADMIN_BASE_PATH, api);
  return router;
}
