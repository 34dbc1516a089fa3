/**
 * The connection (/console/connection): the SCIM base URL, the tenant's SCIM tokens (create,
 * revoke), its OAuth clients (create, rotate the secret, revoke; the secret shown once, in the
 * POST's answer), the connection test; the connector to the application, its health and its test.
 */
import { Router, type Request, type Response } from 'express';
import { testConnection } from '../../admin/connection-test';
import { describeConnector, testConnector } from '../../admin/connector';
import { createTenantOAuthClient, listTenantOAuthClients, revokeTenantOAuthClient, rotateTenantOAuthClient } from '../../admin/oauth-clients';
import { AdminError } from '../../admin/shared';
import { createScimToken, listTenantTokens, revokeScimToken } from '../../admin/tokens';
import { DEFAULT_ACCESS_TOKEN_TTL_MS } from '../../scim-server/oauth-token';
import { CONSOLE_PATH, type Notice } from '../layout';
import { confirmPage } from '../pages/basic';
import { connectionPage, ttlText, type ShownOAuthSecret } from '../pages/connection';
import { takeNotice } from '../session';
import { caller, go, page, send, str, tenant, viewer, type ConsoleOptions } from './shared';

export function connectionRoutes(options: ConsoleOptions): Router {
  const router = Router();
  const accessTokenTtlMs = options.oauthAccessTokenTtlMs ?? DEFAULT_ACCESS_TOKEN_TTL_MS;
  const connectionView = async (
    req: Request,
    res: Response,
    status: number,
    extra: {
      created?: { name: string; token: string };
      oauthShown?: ShownOAuthSecret;
      test?: Awaited<ReturnType<typeof testConnection>>;
      notice?: Notice;
    } = {},
  ) => {
    const { oauthShown, notice, ...rest } = extra;
    const tokens = await listTenantTokens(options, caller(req), tenant(req));
    const clients = await listTenantOAuthClients(options, caller(req), tenant(req));
    const connector = await describeConnector(options, caller(req), tenant(req));
    send(
      res,
      status,
      connectionPage({
        viewer: viewer(req),
        scimBaseUrl: options.scimBaseUrl,
        tokens,
        oauth: { clients, accessTokenTtlMs, shown: oauthShown },
        connector,
        ...rest,
        notice: notice ?? takeNotice(req, res),
      }),
    );
  };
  /** A refusal the admin can act on (a bad name, two live clients, a revoked client) as the Connection page with an error notice, in its status. */
  const refusedOnPage = async (req: Request, res: Response, err: unknown) => {
    if (!(err instanceof AdminError) || (err.status !== 400 && err.status !== 409)) throw err;
    await connectionView(req, res, err.status, { notice: { kind: 'error', text: `Refused: ${err.message}.` } });
  };
  /** Asks before a step that cuts an identity provider off (Cancel goes back to the Connection page). */
  const confirmOnPage = (req: Request, res: Response, ask: { title: string; explain: string; action: string; confirmLabel: string }) =>
    send(res, 200, confirmPage({ viewer: viewer(req), active: 'connection', cancelHref: `${CONSOLE_PATH}/connection`, danger: true, ...ask }));
  /** A client of this tenant by its id (404 otherwise), for the confirmation pages. */
  const oauthClient = async (req: Request) => {
    const { clients } = await listTenantOAuthClients(options, caller(req), tenant(req));
    const client = clients.find((c) => c.clientId === String(req.params.id).toLowerCase());
    if (!client) throw new AdminError(404, 'no such OAuth client');
    return client;
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
      confirmOnPage(req, res, {
        title: `Revoke the SCIM token "${t.name}"?`,
        explain: `An identity provider still using it gets 401 from now on (within seconds). Make sure it uses the other token first.`,
        action: `${CONSOLE_PATH}/connection/tokens/${t.id}/revoke`,
        confirmLabel: 'Revoke',
      });
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
    '/connection/oauth-clients',
    page(async (req, res) => {
      let created: Awaited<ReturnType<typeof createTenantOAuthClient>>;
      try {
        created = await createTenantOAuthClient(options, caller(req), tenant(req), { name: str(req.body.name) });
      } catch (err) {
        return refusedOnPage(req, res, err);
      }
      // The id and secret are shown once, in this answer (never in a redirect, a URL, a cookie or a log).
      await connectionView(req, res, 201, {
        oauthShown: {
          kind: 'created',
          name: created.name,
          clientId: created.clientId,
          clientSecret: created.clientSecret,
          tokenUrl: created.tokenUrl,
          scimBaseUrl: created.scimBaseUrl,
        },
      });
    }),
  );
  router.get(
    '/connection/oauth-clients/:id/rotate',
    page(async (req, res) => {
      const c = await oauthClient(req);
      if (c.revokedAt) throw new AdminError(409, `OAuth client "${c.name}" is revoked; create a new one`);
      confirmOnPage(req, res, {
        title: `Rotate the secret of the OAuth client "${c.name}"?`,
        explain: `The old secret stops now; tokens already issued work until they expire (at most ${ttlText(accessTokenTtlMs)}). The new secret is shown once, on the next page: paste it into the identity provider's Client Secret. The client id stays.`,
        action: `${CONSOLE_PATH}/connection/oauth-clients/${c.clientId}/rotate`,
        confirmLabel: 'Rotate secret',
      });
    }),
  );
  router.post(
    '/connection/oauth-clients/:id/rotate',
    page(async (req, res) => {
      let rotated: Awaited<ReturnType<typeof rotateTenantOAuthClient>>;
      try {
        rotated = await rotateTenantOAuthClient(options, caller(req), tenant(req), String(req.params.id));
      } catch (err) {
        return refusedOnPage(req, res, err);
      }
      // Shown once, in this answer, like a new client's.
      await connectionView(req, res, 200, {
        oauthShown: {
          kind: 'rotated',
          name: rotated.name,
          clientId: rotated.clientId,
          clientSecret: rotated.clientSecret,
          tokenUrl: rotated.tokenUrl,
          scimBaseUrl: options.scimBaseUrl,
        },
      });
    }),
  );
  router.get(
    '/connection/oauth-clients/:id/revoke',
    page(async (req, res) => {
      const c = await oauthClient(req);
      confirmOnPage(req, res, {
        title: `Revoke the OAuth client "${c.name}"?`,
        explain: `The identity provider gets 401 at its next request: the access tokens it holds stop working at once, and it gets no new one. To change the secret without an interruption, rotate it instead.`,
        action: `${CONSOLE_PATH}/connection/oauth-clients/${c.clientId}/revoke`,
        confirmLabel: 'Revoke',
      });
    }),
  );
  router.post(
    '/connection/oauth-clients/:id/revoke',
    page(async (req, res) => {
      const r = await revokeTenantOAuthClient(options, caller(req), tenant(req), String(req.params.id));
      go(options, req, res, `${CONSOLE_PATH}/connection`, {
        kind: 'ok',
        text: r.revoked ? `Revoked the OAuth client "${r.name}".` : `The OAuth client "${r.name}" was already revoked.`,
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
