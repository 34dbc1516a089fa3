/**
 * The admin console at /console: server-rendered pages over the admin API's use cases (admin/),
 * for one tenant per session. The pages read and act through the same functions as /admin/v1
 * with the session's admin token as the caller, so the Super User rule and tenant isolation are
 * the admin service's, not the page's. Pages work without script; console.js adds the charts,
 * live countdowns, refresh of a user's log and copy buttons.
 *
 * Every response carries a Content-Security-Policy without inline script or style and with
 * frame-ancestors 'none'. GET never changes anything; every POST needs the session's CSRF
 * token (session.ts). Actions are confirmed on a page of their own and answered with what
 * happened.
 *
 * This is the composition: one router per page in routes/, next to its renderer in pages/.
 */
import crypto from 'node:crypto';
import express, { Router } from 'express';
import { AdminError } from '../admin/shared';
import { deleteExpiredConsoleSessions } from '../common/repositories/console-sessions';
import { CONSOLE_PATH } from './layout';
import { assetRoutes } from './routes/assets';
import { connectionRoutes } from './routes/connection';
import { consoleErrorBoundary } from './routes/errors';
import { guideRoutes } from './routes/guides';
import { heldChangeRoutes } from './routes/held-changes';
import { overviewRoutes } from './routes/overview';
import { policyRoutes } from './routes/policy';
import { previewRoutes } from './routes/preview';
import { requestsRoutes } from './routes/requests';
import { securityHeaders, type ConsoleOptions } from './routes/shared';
import { signInRoutes } from './routes/sign-in';
import { userRoutes } from './routes/user';
import { usersRoutes } from './routes/users';
import { loadSession, requireCsrf, requireSession } from './session';

export { CONSOLE_PATH };
export { CONTENT_SECURITY_POLICY, type ConsoleOptions } from './routes/shared';

/** The pages behind a session, one router each. */
const PAGES = [overviewRoutes, heldChangeRoutes, usersRoutes, userRoutes, requestsRoutes, previewRoutes, policyRoutes, connectionRoutes, guideRoutes];

export function consoleRouter(options: ConsoleOptions): Router {
  const router = Router();
  let nextCleanup = 0;

  router.use(CONSOLE_PATH, securityHeaders);
  router.use(CONSOLE_PATH, assetRoutes());
  router.use(CONSOLE_PATH, (req, res, next) => {
    // For the log, and quoted by the error page of a failure that is ours (routes/errors.ts).
    req.requestId = `console:${crypto.randomUUID()}`;
    res.setHeader('X-Request-Id', req.requestId);
    const started = process.hrtime.bigint();
    res.once('close', () => {
      options.logger.info(
        {
          requestId: req.requestId,
          method: req.method,
          route: req.route?.path,
          status: res.statusCode,
          ms: Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10,
          tenant: req.consoleSession?.tenantId,
        },
        'console request',
      );
    });
    if (Date.now() > nextCleanup) {
      nextCleanup = Date.now() + 3_600_000;
      deleteExpiredConsoleSessions(options.db).catch(() => undefined);
    }
    next();
  });
  router.use(CONSOLE_PATH, express.urlencoded({ extended: false, limit: options.bodyLimitBytes }));
  router.use(CONSOLE_PATH, loadSession({ db: options.db, publicUrl: options.publicUrl }));
  router.use(CONSOLE_PATH, signInRoutes(options));

  // Everything else needs a session; POSTs need the CSRF token.
  const pages = Router();
  pages.use(requireSession, requireCsrf);
  for (const routes of PAGES) pages.use(routes(options));
  pages.use((req, _res, next) => next(new AdminError(404, `no console page ${req.path}`)));
  router.use(CONSOLE_PATH, pages);

  router.use(CONSOLE_PATH, consoleErrorBoundary(options.logger));
  return router;
}
