/**
 * The admin API, JSON over HTTP under /admin/v1, for the tenant's administrators and ops tools.
 * Authenticated with admin tokens (`npm run tokens -- create --tenant <id> --admin --role
 * "Super User"`): a token reaches its own tenant only; "Super User" may change users and
 * configuration, every other role reads (403 on writes). docs/admin-api.md lists the routes.
 *
 * Errors are `{ "error": { "status", "message", "problems"? } , "requestId" }`; a configuration
 * that does not validate is a 400 whose `problems` lists every problem with its path.
 */
import crypto from 'node:crypto';
import express, { Router, type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import YAML from 'yaml';
import { DatabaseUnavailableError } from '../../common/db';
import { bearerAuth } from '../auth';
import type { FailureThrottle } from '../../common/failure-throttle';
import { toScimError } from '../error-boundary';
import { ScimError } from '../scim-error';
import * as admin from './service';

const ADMIN_BASE_PATH = '/admin/v1';

export interface AdminRouterOptions extends admin.AdminDeps {
  rateLimit: { perSecond: number; burst: number };
  bodyLimitBytes: number;
  tokenCacheMs?: number;
  /** Failed authentications per client address, shared with the SCIM API. */
  failures?: FailureThrottle;
}

function caller(req: Request): admin.Caller {
  const auth = req.auth as { tokenId: string; tenantId: string; adminRole?: string | null };
  return { tenantId: auth.tenantId, tokenId: auth.tokenId, role: auth.adminRole ?? null, requestId: req.requestId as string };
}

/** A configuration in the body: JSON, or YAML sent as application/yaml (the files the CLI loads). */
function configBody(req: Request): unknown {
  if (typeof req.body !== 'string') return req.body;
  try {
    return YAML.parse(req.body);
  } catch (err) {
    throw new admin.AdminError(400, `the body is not valid YAML: ${(err as Error).message}`);
  }
}

const errorHandler =
  (options: AdminRouterOptions): ErrorRequestHandler =>
  (err, req, res, _next) => {
    const requestId = req.requestId ?? '';
    let status: number;
    let body: Record<string, unknown>;
    if (err instanceof admin.AdminError) {
      status = err.status;
      body = { status, message: err.message, ...(err.problems ? { problems: err.problems } : {}) };
    } else if (err instanceof ScimError) {
      // From the users service: the same statuses and messages the IdP would get.
      status = err.status;
      body = { status, message: err.detail, ...(err.scimType ? { scimType: err.scimType } : {}) };
    } else if (err instanceof DatabaseUnavailableError) {
      status = 503;
      body = { status, message: 'the database is unavailable; retry shortly' };
      res.setHeader('Retry-After', '5');
    } else {
      const mapped = toScimError(err, requestId);
      status = mapped.error.status;
      if (mapped.error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(mapped.error.retryAfterSeconds));
      body = { status, message: mapped.error.detail };
      if (mapped.unexpected) options.logger.error({ err, requestId, method: req.method }, 'unexpected error in admin request');
    }
    if (res.headersSent) return;
    res.status(status).json({ error: body, requestId });
  };

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
    handle((req) => admin.listTenants(options, caller(req))),
  );
  api.get(
    '/tenants/:tenant',
    handle((req) => admin.describeTenant(options, caller(req), p(req, 'tenant'))),
  );
  api.get(
    '/tenants/:tenant/config/versions',
    handle((req) => admin.listVersions(options, caller(req), p(req, 'tenant'))),
  );
  api.get(
    '/tenants/:tenant/config/versions/:version',
    handle((req) => admin.getVersion(options, caller(req), p(req, 'tenant'), p(req, 'version'))),
  );
  api.get(
    '/tenants/:tenant/config',
    handle((req) => admin.getVersion(options, caller(req), p(req, 'tenant'), 'current')),
  );
  api.post(
    '/tenants/:tenant/config/versions',
    handle((req) => admin.saveConfig(options, caller(req), p(req, 'tenant'), configBody(req)), 201),
  );
  api.post(
    '/tenants/:tenant/config/validate',
    handle(async (req) => {
      await admin.tenantOf(options, caller(req), p(req, 'tenant'));
      return admin.validateConfig(configBody(req), options.senderPolicy);
    }),
  );
  api.post(
    '/tenants/:tenant/preview',
    handle((req) => admin.previewTenant(options, caller(req), p(req, 'tenant'), configBody(req), Number(req.query.sample ?? 100) || 100)),
  );
  api.post(
    '/tenants/:tenant/preview/user',
    handle((req) => admin.previewOneUser(options, caller(req), p(req, 'tenant'), req.body)),
  );
  api.post(
    '/tenants/:tenant/reconcile',
    handle((req) => admin.reconcileNow(options, caller(req), p(req, 'tenant')), 202),
  );

  api.get(
    '/tenants/:tenant/overview',
    handle((req) => admin.overview(options, caller(req), p(req, 'tenant'))),
  );
  api.get(
    '/tenants/:tenant/config/diff',
    handle((req) => admin.diffVersions(options, caller(req), p(req, 'tenant'), String(req.query.from ?? ''), String(req.query.to ?? 'current'))),
  );
  api.get(
    '/tenants/:tenant/tokens',
    handle((req) => admin.listTenantTokens(options, caller(req), p(req, 'tenant'))),
  );
  api.post(
    '/tenants/:tenant/tokens',
    handle((req) => admin.createScimToken(options, caller(req), p(req, 'tenant'), req.body), 201),
  );
  api.post(
    '/tenants/:tenant/tokens/:token/revoke',
    handle((req) => admin.revokeScimToken(options, caller(req), p(req, 'tenant'), p(req, 'token'))),
  );
  api.get(
    '/tenants/:tenant/requests',
    handle((req) => admin.listRequests(options, caller(req), p(req, 'tenant'), req.query as admin.RequestFilters)),
  );
  api.post(
    '/tenants/:tenant/connection-test',
    handle((req) => admin.testConnection(options, caller(req), p(req, 'tenant'), req.body)),
  );
  api.get('/tenants/:tenant/users/:user/timeline', async (req, res) => {
    const timeline = await admin.userTimeline(options, caller(req), p(req, 'tenant'), p(req, 'user'));
    if (req.query.format === 'csv') {
      res.type('text/csv').attachment(`timeline-${timeline.userId}.csv`).send(admin.timelineCsv(timeline));
    } else res.json(timeline);
  });

  api.get(
    '/tenants/:tenant/users',
    handle((req) => admin.listUsers(options, caller(req), p(req, 'tenant'), req.query as Record<string, string>)),
  );
  api.post(
    '/tenants/:tenant/users',
    handle((req) => admin.createUser(options, caller(req), p(req, 'tenant'), req.body), 201),
  );
  api.get(
    '/tenants/:tenant/users/:user',
    handle((req) => admin.describeUser(options, caller(req), p(req, 'tenant'), p(req, 'user'))),
  );
  api.get(
    '/tenants/:tenant/users/:user/audit',
    handle((req) => admin.auditTrail(options, caller(req), p(req, 'tenant'), p(req, 'user'))),
  );
  api.post(
    '/tenants/:tenant/users/:user/suspend',
    handle((req) => admin.setActive(options, caller(req), p(req, 'tenant'), p(req, 'user'), false), 202),
  );
  api.post(
    '/tenants/:tenant/users/:user/reactivate',
    handle((req) => admin.setActive(options, caller(req), p(req, 'tenant'), p(req, 'user'), true), 202),
  );
  api.post(
    '/tenants/:tenant/users/:user/terminate',
    handle((req) => admin.terminate(options, caller(req), p(req, 'tenant'), p(req, 'user')), 202),
  );
  api.post(
    '/tenants/:tenant/users/:user/resend-invitation',
    handle((req) => admin.resendInvitation(options, caller(req), p(req, 'tenant'), p(req, 'user')), 202),
  );
  api.get(
    '/tenants/:tenant/held-changes',
    handle(async (req) => (await admin.listHeldChanges(options, caller(req), p(req, 'tenant'))) ?? { guard: null, held: [] }),
  );
  api.post(
    '/tenants/:tenant/held-changes/:id/allow',
    handle((req) => admin.decideHeldChange(options, caller(req), p(req, 'tenant'), p(req, 'id'), 'allow')),
  );
  api.post(
    '/tenants/:tenant/held-changes/:id/reject',
    handle((req) => admin.decideHeldChange(options, caller(req), p(req, 'tenant'), p(req, 'id'), 'reject')),
  );
  api.post(
    '/tenants/:tenant/users/:user/retry',
    handle((req) => admin.signalUser(options, caller(req), p(req, 'tenant'), p(req, 'user'), 'retry'), 202),
  );

  api.use((req, _res, next) => next(new admin.AdminError(404, `no admin endpoint ${req.method} ${req.path}`)));
  api.use(errorHandler(options));

  const router = Router();
  router.use(ADMIN_BASE_PATH, api);
  return router;
}
