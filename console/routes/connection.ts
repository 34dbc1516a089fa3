/**
 * The connection (/console/connection): the SCIM base URL, the tenant's SCIM tokens (create,
 * revoke), the connection test; the connector to the application, its health and its test.
 */
import { Router, type Request, type Response } from 'express';
import { testConnection } from '../../admin/connection-test';
import { describeConnector, testConnector } from '../../admin/connector';
import { AdminError } from '../../admin/shared';
import { createScimToken, listTenantTokens, revokeScimToken } from '../../admin/tokens';
import { CONSOLE_PATH } from '../layout';
import { confirmPage } from '../pages/basic';
import { connectionPage } from '../pages/connection';
import { takeNotice } from '../session';
import { caller, go, page, send, str, tenant, viewer, type ConsoleOptions } from './shared';

export function connectionRoutes(options: ConsoleOptions): Router {
  const router = Router();
  const connectionView = async (
    req: Request,
    res: Response,
    status: number,
    extra: { created?: { name: string; token: string }; test?: Awaited<ReturnType<typeof testConnection>> } = {},
  ) => {
    const tokens = await listTenantTokens(options, caller(req), tenant(req));
    const connector = await describeConnector(options, caller(req), tenant(req));
    send(res, status, connectionPage({ viewer: viewer(req), scimBaseUrl: options.scimBaseUrl, tokens, connector, ...extra, notice: takeNotice(req, res) }));
  };
  router.get(
    '/connection',
    page((req, res) => connectionView(req, res, 200)),
  );
  router.post(
    '/connection/tokens',
    page(async (req, res) => {
      const created = await createScimToken(options, caller(req), tenant(req), { name: str(req.body.name) });
      // Shown once, in this answer (never in a redirect, a cookie or a log).
      await connectionView(req, res, 201, { created: { name: created.name, token: created.token } });
    }),
  );
  router.get(
    '/connection/tokens/:id/revoke',
    page(async (req, res) => {
      const tokens = await listTenantTokens(options, caller(req), tenant(req));
      const t = tokens.tokens.find((x) => x.id === req.params.id && x.kind === 'scim');
      if (!t) throw new AdminError(404, 'no such SCIM token');
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
  router.post(
    '/connection/tokens/:id/revoke',
    page(async (req, res) => {
      const r = await revokeScimToken(options, caller(req), tenant(req), String(req.params.id));
      go(options, req, res, `${CONSOLE_PATH}/connection`, {
        kind: 'ok',
        text: r.revoked ? `Revoked the SCIM token "${r.name}".` : `The token "${r.name}" was already revoked.`,
      });
    }),
  );
  router.post(
    '/connection/connector-test',
    page(async (req, res) => {
      const r = await testConnector(options, caller(req), tenant(req));
      go(options, req, res, `${CONSOLE_PATH}/connection#h-connector`, {
        kind: r.ok ? 'ok' : 'error',
        text: `Connection to the application (${r.kind} connector, ${r.durationMs} ms): ${r.ok ? 'works' : 'failed'}. ${r.detail}`,
      });
    }),
  );
  router.post(
    '/connection/test',
    page(async (req, res) => {
      const test = await testConnection(options, caller(req), tenant(req), { token: str(req.body.token) });
      await connectionView(req, res, 200, { test });
    }),
  );
  return router;
}
