/**
 * The admin console at /console: server-rendered pages over the admin API's use cases
 * (scim-server/admin/service.ts), for one tenant per session. The pages read and act through
 * the same functions as /admin/v1 with the session's admin token as the caller, so the Super
 * User rule and tenant isolation are the admin service's, not the page's. Pages work without
 * script; console.js adds the charts, live countdowns, refresh of a user's log and copy buttons.
 *
 * Every response carries a Content-Security-Policy without inline script or style and with
 * frame-ancestors 'none'. GET never changes anything; every POST needs the session's CSRF
 * token (session.ts). Actions are confirmed on a page of their own and answered with what
 * happened.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import MarkdownIt from 'markdown-it';
import YAML from 'yaml';
import { listConfigVersions } from '../../common/repositories/tenants';
import { deleteExpiredConsoleSessions } from '../../common/repositories/console-sessions';
import { reconcileScheduleId } from '../../common/temporal/reconcile-schedule';
import { ScimError } from '../scim-error';
import * as admin from '../admin/service';
import { html, trusted, type Html } from './html';
import { CONSOLE_PATH, type Notice, type Viewer } from './layout';
import type { FailureThrottle } from '../../common/failure-throttle';
import { confirmPage, errorPage, signInPage } from './pages/basic';
import { connectionPage, GUIDES, guidePage } from './pages/connection';
import { overviewPage } from './pages/overview';
import { policyPage, type DraftCheck } from './pages/policy';
import { previewPage, type PreviewForm } from './pages/preview';
import { liveFragment, retryRefusal, USER_ACTIONS, userPage, type UserAction } from './pages/user';
import { requestsPage } from './pages/requests';
import { usersPage } from './pages/users';
import { loadSession, requireCsrf, requireSession, setNotice, signInHandler, signOut, takeNotice } from './session';

export { CONSOLE_PATH };

export interface ConsoleOptions extends admin.AdminDeps {
  /** Public base URL of this server; cookies are Secure when it is https. */
  publicUrl: string;
  bodyLimitBytes: number;
  /** Where docs/okta.md and docs/entra-id.md are (absent in the container image: the guide pages say so). */
  docsDir?: string;
  /** Failed sign-ins per client address, shared with the SCIM and admin APIs' failed authentications. */
  failures?: FailureThrottle;
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

const ASSETS: Record<string, { file: () => string; type: string }> = {
  'console.css': { file: () => path.join(__dirname, 'assets', 'console.css'), type: 'text/css' },
  'console.js': { file: () => path.join(__dirname, 'assets', 'console.js'), type: 'text/javascript' },
  // Chart.js from node_modules: served by this server, never from a CDN.
  'chart.umd.js': { file: () => path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js'), type: 'text/javascript' },
};

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store'); // pages and exports hold personal data; the assets below override it
  next();
};

function send(res: Response, status: number, body: Html): void {
  res.status(status).type('html').setHeader('Cache-Control', 'no-store');
  res.send(body.value);
}

const markdown = new MarkdownIt({ html: false, linkify: false });

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export function consoleRouter(options: ConsoleOptions): Router {
  const router = Router();
  const sessions = { db: options.db, publicUrl: options.publicUrl };
  const signIn = signInHandler({ ...sessions, failures: options.failures });
  const docsDir = options.docsDir ?? path.join(__dirname, '..', '..', 'docs');
  let nextCleanup = 0;

  router.use(CONSOLE_PATH, securityHeaders);
  router.get(`${CONSOLE_PATH}/assets/:file`, (req, res) => {
    const asset = ASSETS[String(req.params.file)];
    if (!asset) return void res.status(404).type('text').send('not found');
    res.setHeader('Cache-Control', 'no-cache');
    res.type(asset.type).sendFile(asset.file());
  });
  router.use(CONSOLE_PATH, express.urlencoded({ extended: false, limit: options.bodyLimitBytes }));
  router.use(CONSOLE_PATH, loadSession(sessions));
  router.use(CONSOLE_PATH, (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('close', () => {
      options.logger.info(
        {
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

  // --- sign-in, sign-out -------------------------------------------------------------------
  const safeNext = (v: unknown) => {
    const s = str(v);
    return s && s.startsWith(`${CONSOLE_PATH}`) && !s.startsWith('//') && !s.includes('\\') ? s : CONSOLE_PATH;
  };
  router.get(`${CONSOLE_PATH}/sign-in`, (req, res) => {
    if (req.consoleSession) return void res.redirect(303, safeNext(req.query.next));
    send(res, 200, signInPage({ next: str(req.query.next) }));
  });
  router.post(`${CONSOLE_PATH}/sign-in`, async (req, res, next) => {
    try {
      const result = await signIn(req, res);
      if (result.ok) return void res.redirect(303, safeNext(req.body?.next));
      send(res, result.status, signInPage({ error: result.message, next: str(req.body?.next) }));
    } catch (err) {
      next(err);
    }
  });
  router.post(`${CONSOLE_PATH}/sign-out`, requireSession, requireCsrf, async (req, res, next) => {
    try {
      await signOut(sessions, req, res);
      res.redirect(303, `${CONSOLE_PATH}/sign-in`);
    } catch (err) {
      next(err);
    }
  });

  // --- everything else needs a session; POSTs need the CSRF token ---------------------------
  const pages = Router();
  pages.use(requireSession, requireCsrf);

  const viewer = (req: Request): Viewer => req.consoleSession!.viewer;
  const caller = (req: Request): admin.Caller => ({
    tenantId: req.consoleSession!.tenantId,
    tokenId: req.consoleSession!.tokenId,
    role: req.consoleSession!.adminRole,
    requestId: `admin:${crypto.randomUUID()}`,
  });
  const tenant = (req: Request) => req.consoleSession!.tenantId;
  const go = (req: Request, res: Response, to: string, notice?: Notice) => {
    if (notice) setNotice(req, res, options.publicUrl, notice);
    res.redirect(303, to);
  };
  const page =
    (fn: (req: Request, res: Response) => Promise<void>): RequestHandler =>
    (req, res, next) =>
      fn(req, res).catch(next);

  pages.get(
    '/',
    page(async (req, res) => {
      const o = await admin.overview(options, caller(req), tenant(req));
      const schedule = options.temporalUi
        ? `${options.temporalUi.url}/namespaces/${encodeURIComponent(options.temporalUi.namespace)}/schedules/${encodeURIComponent(reconcileScheduleId(tenant(req)))}`
        : null;
      send(res, 200, overviewPage(viewer(req), o, schedule, takeNotice(req, res)));
    }),
  );
  pages.post(
    '/reconcile',
    page(async (req, res) => {
      const r = await admin.reconcileNow(options, caller(req), tenant(req));
      go(req, res, CONSOLE_PATH, { kind: 'ok', text: `Drift repair started (workflow ${r.workflowId}); its result appears here when it finishes.` });
    }),
  );
  pages.post(
    '/held-changes/:id/:decision',
    page(async (req, res) => {
      const decision = req.params.decision === 'allow' ? 'allow' : 'reject';
      // Answered like every console action: back to the overview with what was applied (it used to hang).
      const r = await admin.decideHeldChange(options, caller(req), tenant(req), String(req.params.id), decision);
      // Decided on the user's page: back there (only a user page of this console, never another address).
      const back = (req.body as Record<string, unknown> | undefined)?.back === 'user' ? `${CONSOLE_PATH}/users/${r.userId}` : CONSOLE_PATH;
      go(req, res, back, { kind: 'ok', text: `${decision === 'allow' ? 'Allowed' : 'Rejected'}: ${r.outcome} (user ${r.userId}).` });
    }),
  );

  // --- users -----------------------------------------------------------------------------------
  pages.get(
    '/users',
    page(async (req, res) => {
      const f = {
        q: str(req.query.q),
        state: str(req.query.state),
        waitingFor: str(req.query.waitingFor),
        waiting: str(req.query.waiting),
        after: str(req.query.after),
      };
      const list = await admin.listUsers(options, caller(req), tenant(req), { ...f, limit: '50' });
      send(res, 200, usersPage(viewer(req), f, list.users, list.next));
    }),
  );

  // --- requests (the SCIM request log) ------------------------------------------------------
  pages.get(
    '/requests',
    page(async (req, res) => {
      const f = { q: str(req.query.q), status: str(req.query.status), method: str(req.query.method), after: str(req.query.after) };
      const list = await admin.listRequests(options, caller(req), tenant(req), { ...f, limit: '50' });
      send(res, 200, requestsPage(viewer(req), f, list.requests, list.next));
    }),
  );

  const userData = async (req: Request) => {
    const c = caller(req);
    const id = String(req.params.id);
    const detail = await admin.describeUser(options, c, tenant(req), id);
    const timeline = await admin.userTimeline(options, c, tenant(req), id).catch((err) => {
      if (err instanceof admin.AdminError && err.status === 404) return undefined; // nothing recorded yet
      throw err;
    });
    return { detail, timeline };
  };
  pages.get(
    '/users/:id',
    page(async (req, res) => {
      const { detail, timeline } = await userData(req);
      send(res, 200, userPage(viewer(req), detail, timeline, takeNotice(req, res)));
    }),
  );
  pages.get(
    '/users/:id/live',
    page(async (req, res) => {
      const { detail, timeline } = await userData(req);
      send(res, 200, liveFragment(viewer(req), detail, timeline));
    }),
  );
  pages.get(
    '/users/:id/timeline.:format',
    page(async (req, res) => {
      const t = await admin.userTimeline(options, caller(req), tenant(req), String(req.params.id));
      if (req.params.format === 'csv') res.type('text/csv').attachment(`provisioning-log-${t.userId}.csv`).send(admin.timelineCsv(t));
      else if (req.params.format === 'json')
        res
          .type('application/json')
          .attachment(`provisioning-log-${t.userId}.json`)
          .send(JSON.stringify(t, null, 2));
      else res.status(404).type('text').send('CSV or JSON');
    }),
  );
  const userAction = (req: Request): UserAction => {
    const a = String(req.params.action);
    if (!(a in USER_ACTIONS)) throw new admin.AdminError(404, `no action "${a}"`);
    return a as UserAction;
  };
  pages.get(
    '/users/:id/confirm/:action',
    page(async (req, res) => {
      const action = userAction(req);
      const detail = await admin.describeUser(options, caller(req), tenant(req), String(req.params.id));
      const who = detail.userName ?? detail.userId;
      const spec = USER_ACTIONS[action];
      send(
        res,
        200,
        confirmPage({
          viewer: viewer(req),
          active: 'users',
          title: spec.title,
          explain: html`<strong>${who}</strong>: ${spec.explain}`,
          action: `${CONSOLE_PATH}/users/${detail.userId}/${action}`,
          confirmLabel: spec.label,
          cancelHref: `${CONSOLE_PATH}/users/${detail.userId}`,
          danger: action === 'terminate' || action === 'suspend',
        }),
      );
    }),
  );
  pages.post(
    '/users/:id/:action',
    page(async (req, res) => {
      const action = userAction(req);
      const id = String(req.params.id);
      const c = caller(req);
      let text: string;
      switch (action) {
        case 'suspend':
        case 'reactivate': {
          const r = await admin.setActive(options, c, tenant(req), id, action === 'reactivate');
          text = r.changed
            ? `${action === 'suspend' ? 'Suspension' : 'Reactivation'} recorded on the SCIM resource (active=${action === 'reactivate'}, request ${r.requestId}); the workflow ${action === 'suspend' ? 'blocks login' : 'restores login'} now, as the log below shows.`
            : `The SCIM resource already had active=${action === 'reactivate'}; nothing changed (request ${r.requestId}).`;
          break;
        }
        case 'terminate': {
          const r = await admin.terminate(options, c, tenant(req), id);
          text = `The SCIM resource is deleted (request ${r.requestId}); the workflow releases licences and seats and revokes invitations, as the log below shows.`;
          break;
        }
        case 'resend-invitation': {
          // The same workflow update as the admin API: refused with the workflow's reason when there is nothing to resend.
          try {
            const r = await admin.resendInvitation(options, c, tenant(req), id);
            text = `Invitation round ${r.round} requested (request ${r.requestId}): a new link goes out now and replaces the earlier ones; it appears in the log below.`;
          } catch (err) {
            if (!(err instanceof admin.AdminError) || err.status !== 409) throw err;
            return go(req, res, `${CONSOLE_PATH}/users/${id}`, { kind: 'error', text: `Nothing was resent: ${err.message}.` });
          }
          break;
        }
        case 'retry': {
          const detail = await admin.describeUser(options, c, tenant(req), id);
          const state = (detail.workflow as { state?: string } | undefined)?.state ?? detail.state;
          const refused = retryRefusal(state);
          if (refused) return go(req, res, `${CONSOLE_PATH}/users/${id}`, { kind: 'error', text: `Nothing was retried: ${refused}.` });
          const r = await admin.signalUser(options, c, tenant(req), id, 'retry');
          text = `Retry sent to workflow ${r.workflowId} (request ${r.requestId}): it runs its steps again now; they appear in the log below.`;
          break;
        }
      }
      go(req, res, `${CONSOLE_PATH}/users/${id}`, { kind: 'ok', text });
    }),
  );

  // --- provision on demand ---------------------------------------------------------------------
  pages.get(
    '/preview',
    page(async (req, res) => {
      const form: PreviewForm = { user: str(req.query.user)?.trim() };
      if (!form.user) return send(res, 200, previewPage(viewer(req), form));
      const c = caller(req);
      const matches = (await admin.listUsers(options, c, tenant(req), { q: form.user, limit: '20' })).users.filter((u) => u.userName || u.displayName);
      const exact = matches.filter(
        (m) =>
          m.userId === form.user!.toLowerCase() ||
          m.userName?.toLowerCase() === form.user!.toLowerCase() ||
          m.email?.toLowerCase() === form.user!.toLowerCase(),
      );
      const pick = exact.length === 1 ? exact[0] : matches.length === 1 ? matches[0] : undefined;
      if (!pick) {
        return send(res, 200, previewPage(viewer(req), form, matches.length ? { matches } : { error: `No stored user matches "${form.user}".` }));
      }
      const result = await admin.previewOneUser(options, c, tenant(req), { userId: pick.userId });
      send(res, 200, previewPage(viewer(req), form, { result, storedUserId: pick.userId }));
    }),
  );
  pages.post(
    '/preview',
    page(async (req, res) => {
      const form: PreviewForm = { scimBody: str(req.body.scimBody) ?? '', groups: str(req.body.groups) ?? '' };
      let user: unknown;
      try {
        user = JSON.parse(form.scimBody ?? '');
      } catch (err) {
        return send(res, 400, previewPage(viewer(req), form, { error: `The SCIM User is not valid JSON: ${(err as Error).message}` }));
      }
      const groups = (form.groups ?? '')
        .split(/\r?\n/)
        .map((g) => g.trim())
        .filter(Boolean);
      try {
        const result = await admin.previewOneUser(options, caller(req), tenant(req), { user, groups });
        send(res, 200, previewPage(viewer(req), form, { result }));
      } catch (err) {
        if (err instanceof ScimError) return send(res, 400, previewPage(viewer(req), form, { error: err.detail }));
        if (err instanceof admin.AdminError && err.status === 400)
          return send(res, 400, previewPage(viewer(req), form, { error: err.message, problems: err.problems }));
        throw err;
      }
    }),
  );
  pages.post(
    '/preview/run',
    page(async (req, res) => {
      const id = str(req.body.userId) ?? '';
      const r = await admin.signalUser(options, caller(req), tenant(req), id, 'retry');
      go(req, res, `${CONSOLE_PATH}/users/${id}#h-log`, {
        kind: 'ok',
        text: `Run now: signalled workflow ${r.workflowId} (request ${r.requestId}); its steps appear in the log below as they run.`,
      });
    }),
  );

  // --- policy ----------------------------------------------------------------------------------
  const policyView = async (req: Request, res: Response, status: number, draft: string | undefined, check?: DraftCheck, notice?: Notice) => {
    const c = caller(req);
    const current = await admin.configYaml(options, c, tenant(req), 'current');
    const versions = await listConfigVersions(options.db, tenant(req));
    const from = str(req.query.from);
    const to = str(req.query.to);
    const diff = from && to ? await admin.diffVersions(options, c, tenant(req), from, to) : undefined;
    send(
      res,
      status,
      policyPage({
        viewer: viewer(req),
        current,
        versions,
        draft: draft ?? current.yaml,
        check,
        diff,
        diffFrom: from ?? String(Math.max(1, current.version - 1)),
        diffTo: to ?? String(current.version),
        notice: notice ?? takeNotice(req, res),
      }),
    );
  };
  const parseDraft = (text: string): { config?: unknown; error?: string } => {
    try {
      return { config: YAML.parse(text) };
    } catch (err) {
      return { error: `The draft is not valid YAML or JSON: ${(err as Error).message}` };
    }
  };
  pages.get(
    '/policy',
    page((req, res) => policyView(req, res, 200, undefined)),
  );
  pages.post(
    '/policy/check',
    page(async (req, res) => {
      const draft = str(req.body.draft) ?? '';
      const parsed = parseDraft(draft);
      if (parsed.error) return policyView(req, res, 400, draft, { problems: [], error: parsed.error });
      const v = admin.validateConfig(parsed.config, options.senderPolicy);
      const problems = v.details.map((p) => ({ path: p.path.join('.'), message: p.message }));
      const check: DraftCheck = { problems, warnings: v.warnings };
      if (v.valid) check.preview = await admin.previewTenant(options, caller(req), tenant(req), { config: parsed.config }, 100);
      await policyView(req, res, v.valid ? 200 : 400, draft, check);
    }),
  );
  pages.post(
    '/policy/save',
    page(async (req, res) => {
      const draft = str(req.body.draft) ?? '';
      const parsed = parseDraft(draft);
      if (parsed.error) return policyView(req, res, 400, draft, { problems: [], error: parsed.error });
      try {
        const saved = await admin.saveConfig(options, caller(req), tenant(req), parsed.config);
        go(req, res, `${CONSOLE_PATH}/policy`, {
          kind: 'ok',
          text:
            `Saved version ${saved.version}. ${saved.usersCompared} users compared, ${saved.signalled} signalled to re-provision` +
            `${saved.summary.text.length ? `: ${saved.summary.text.slice(0, 3).join('; ')}` : ''}.` +
            `${saved.warnings.length ? ` ${saved.warnings.length} warning${saved.warnings.length === 1 ? '' : 's'}: ${saved.warnings.slice(0, 2).join('; ')}` : ''}`,
        });
      } catch (err) {
        if (err instanceof admin.AdminError && err.status === 400) {
          const v = admin.validateConfig(parsed.config, options.senderPolicy);
          return policyView(req, res, 400, draft, { problems: v.details.map((p) => ({ path: p.path.join('.'), message: p.message })) });
        }
        throw err;
      }
    }),
  );

  // --- connection ------------------------------------------------------------------------------
  const connectionView = async (
    req: Request,
    res: Response,
    status: number,
    extra: { created?: { name: string; token: string }; test?: Awaited<ReturnType<typeof admin.testConnection>> } = {},
  ) => {
    const tokens = await admin.listTenantTokens(options, caller(req), tenant(req));
    send(res, status, connectionPage({ viewer: viewer(req), scimBaseUrl: options.scimBaseUrl, tokens, ...extra, notice: takeNotice(req, res) }));
  };
  pages.get(
    '/connection',
    page((req, res) => connectionView(req, res, 200)),
  );
  pages.post(
    '/connection/tokens',
    page(async (req, res) => {
      const created = await admin.createScimToken(options, caller(req), tenant(req), { name: str(req.body.name) });
      // Shown once, in this answer (never in a redirect, a cookie or a log).
      await connectionView(req, res, 201, { created: { name: created.name, token: created.token } });
    }),
  );
  pages.get(
    '/connection/tokens/:id/revoke',
    page(async (req, res) => {
      const tokens = await admin.listTenantTokens(options, caller(req), tenant(req));
      const t = tokens.tokens.find((x) => x.id === req.params.id && x.kind === 'scim');
      if (!t) throw new admin.AdminError(404, 'no such SCIM token');
      send(
        res,
        200,
        confirmPage({
          viewer: viewer(req),
          active: 'connection',
          title: `Revoke the SCIM token "${t.name}"?`,
          explain: `An identity provider still using it gets 401 from now on (within seconds). Make sure it uses the other token first.`,
          action: `${CONSOLE_PATH}/connection/tokens/${t.id}/revoke`,
          confirmLabel: 'Revoke',
          cancelHref: `${CONSOLE_PATH}/connection`,
          danger: true,
        }),
      );
    }),
  );
  pages.post(
    '/connection/tokens/:id/revoke',
    page(async (req, res) => {
      const r = await admin.revokeScimToken(options, caller(req), tenant(req), String(req.params.id));
      go(req, res, `${CONSOLE_PATH}/connection`, {
        kind: 'ok',
        text: r.revoked ? `Revoked the SCIM token "${r.name}".` : `The token "${r.name}" was already revoked.`,
      });
    }),
  );
  pages.post(
    '/connection/test',
    page(async (req, res) => {
      const test = await admin.testConnection(options, caller(req), tenant(req), { token: str(req.body.token) });
      await connectionView(req, res, 200, { test });
    }),
  );
  pages.get(
    '/guides/:name',
    page(async (req, res) => {
      const guide = GUIDES[String(req.params.name)];
      if (!guide) throw new admin.AdminError(404, 'no such guide');
      const file = path.join(docsDir, guide.file);
      const body = fs.existsSync(file)
        ? trusted(markdown.render(fs.readFileSync(file, 'utf8'))) // the project's own documentation; raw HTML in it stays escaped
        : html`<h1>${guide.title}</h1>
            <p>The guide is not part of this installation; it is <code>docs/${guide.file}</code> in scimflow's source.</p>`;
      send(res, 200, guidePage(viewer(req), guide.title, body));
    }),
  );

  pages.use((req, _res, next) => next(new admin.AdminError(404, `no console page ${req.path}`)));
  router.use(CONSOLE_PATH, pages);
  router.use(CONSOLE_PATH, (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const v = req.consoleSession?.viewer;
    if (err instanceof admin.AdminError) return send(res, err.status, errorPage(v, err.status, err.message));
    if (err instanceof ScimError) return send(res, err.status, errorPage(v, err.status, err.detail));
    options.logger.error({ err, method: req.method }, 'unexpected error in a console request');
    send(res, 500, errorPage(v, 500, 'The console could not answer; the error is in the server log. Try again.'));
  });
  return router;
}
