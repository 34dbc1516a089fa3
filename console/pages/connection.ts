/**
 * Connection: what the IdP admin enters (SCIM base URL, a token), token rotation, the OAuth
 * clients (client credentials: token URL, client id and secret, rotation), a connection test,
 * the guides; and the other side, the connector to the application users are provisioned
 * into: its kind, base URL, health, the users it fails for, and its own "test connection".
 */
import type { ConnectionCheck } from '../../admin/connection-test';
import type { ConnectorView } from '../../admin/connector';
import type { listTenantOAuthClients } from '../../admin/oauth-clients';
import type { listTenantTokens } from '../../admin/tokens';
import { time } from '../format';
import { html, type Html } from '../html';
import { CONSOLE_PATH, csrfField, facts, page, type Notice, type Viewer } from '../layout';

type Tokens = Awaited<ReturnType<typeof listTenantTokens>>;
type OAuthClients = Awaited<ReturnType<typeof listTenantOAuthClients>>;

/** A client's secret as created or rotated: shown once, in the answer to that POST. */
export interface ShownOAuthSecret {
  kind: 'created' | 'rotated';
  name: string;
  clientId: string;
  clientSecret: string;
  tokenUrl: string;
  scimBaseUrl: string;
}

/** Entra ID's flag for its SCIM 2.0 compliant behaviour, appended to the Tenant URL (docs/entra-id.md). */
export const ENTRA_TENANT_URL_FLAG = '?aadOptscim062020';

export const GUIDES: Record<string, { title: string; file: string }> = {
  okta: { title: 'Okta', file: 'okta.md' },
  'entra-id': { title: 'Microsoft Entra ID', file: 'entra-id.md' },
};

export function connectionPage(options: {
  viewer: Viewer;
  scimBaseUrl: string;
  tokens: Tokens;
  created?: { name: string; token: string };
  /** The tenant's OAuth clients (absent: the section is not shown) and how long their access tokens live. */
  oauth?: { clients: OAuthClients; accessTokenTtlMs: number; shown?: ShownOAuthSecret };
  test?: { ok: boolean; checks: ConnectionCheck[]; baseUrl: string };
  /** The tenant's connector and its health (absent: not shown). */
  connector?: ConnectorView;
  notice?: Notice;
}): Html {
  const { viewer, tokens } = options;
  const scim = tokens.tokens.filter((t) => t.kind === 'scim');
  const live = scim.filter((t) => !t.revokedAt);
  const admins = tokens.tokens.filter((t) => t.kind === 'admin' && !t.revokedAt);
  return page({
    title: 'Connection',
    viewer,
    active: 'connection',
    notice: options.notice,
    body: html`<h1>Connection</h1>
      <p class="lead">What the identity provider's administrator enters, and a test of it.</p>
      <section aria-labelledby="h-url">
        <h2 id="h-url">SCIM base URL</h2>
        <p><code id="scim-url">${options.scimBaseUrl}</code> <button type="button" class="link" data-copy="scim-url" hidden>Copy</button></p>
        <p>
          Authentication: HTTP header <code>Authorization: Bearer &lt;SCIM token&gt;</code>. Guides: <a href="${CONSOLE_PATH}/guides/okta">Okta</a> ·
          <a href="${CONSOLE_PATH}/guides/entra-id">Microsoft Entra ID</a>.
        </p>
      </section>
      ${
        options.created
          ? html`<section aria-labelledby="h-created" class="created">
              <h2 id="h-created">New SCIM token "${options.created.name}"</h2>
              <p role="status">Copy it now: it is shown once and stored only as a hash.</p>
              <p>
                <code id="new-token" class="secret">${options.created.token}</code>
                <button type="button" class="link" data-copy="new-token" hidden>Copy</button>
              </p>
              <p>Enter it in the identity provider, test the connection there or below, then revoke the old token.</p>
            </section>`
          : ''
      }
      ${options.oauth?.shown ? oauthSecretSection(options.oauth.shown, options.oauth.accessTokenTtlMs) : ''}
      <section aria-labelledby="h-tokens">
        <h2 id="h-tokens">SCIM tokens</h2>
        <p class="help">
          At most ${tokens.maxLiveScimTokens} live tokens: the one in use and its successor while you rotate (create, enter it in the IdP, revoke the old one).
        </p>
        ${
          scim.length
            ? html`<div class="table-wrap" role="region" aria-label="SCIM tokens, table" tabindex="0">
                <table class="data">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Starts with</th>
                      <th scope="col">Created</th>
                      <th scope="col">Last used</th>
                      <th scope="col">Last request</th>
                      <th scope="col">Last error</th>
                      <th scope="col">Status</th>
                      ${viewer.canWrite ? html`<th scope="col"><span class="visually-hidden">Action</span></th>` : ''}
                    </tr>
                  </thead>
                  <tbody>
                    ${scim.map(
                      (t) =>
                        html`<tr>
                          <td>${t.name}</td>
                          <td><code>${t.prefix}…</code></td>
                          <td>${time(t.createdAt)}</td>
                          <td>${t.lastUsedAt ? time(t.lastUsedAt) : 'never'}</td>
                          <td>
                            ${t.lastRequest ? html`${time(t.lastRequest.at)} <span class="badge">${t.lastRequest.status}</span>` : html`<span class="muted">none recorded</span>`}
                          </td>
                          <td>
                            ${
                              t.lastError
                                ? html`${time(t.lastError.at)} <span class="badge state-failed">${t.lastError.status}</span>
                                    <div class="error-text small">${t.lastError.detail ?? ''}</div>
                                    <a class="small" href="${CONSOLE_PATH}/requests?status=4xx">Refused requests</a>`
                                : html`<span class="muted">none recorded</span>`
                            }
                          </td>
                          <td>${t.revokedAt ? html`revoked ${time(t.revokedAt)}` : 'live'}</td>
                          ${viewer.canWrite ? html`<td>${t.revokedAt ? '' : html`<a href="${CONSOLE_PATH}/connection/tokens/${t.id}/revoke">Revoke<span class="visually-hidden"> ${t.name}</span></a>`}</td>` : ''}
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`
            : html`<p>No SCIM token yet.</p>`
        }
        ${
          viewer.canWrite
            ? live.length < tokens.maxLiveScimTokens
              ? html`<form method="post" action="${CONSOLE_PATH}/connection/tokens" class="inline">
                  ${csrfField(viewer)} <label for="token-name">Name of the new token</label>
                  <input id="token-name" name="name" required maxlength="64" placeholder="okta-2025" /> <button type="submit">Create SCIM token</button>
                </form>`
              : html`<p>Two tokens are live: revoke the one the identity provider no longer uses before creating another.</p>`
            : ''
        }
        <h3>Console and admin API tokens</h3>
        <ul>
          ${admins.map((t) => html`<li>${t.name} · ${t.adminRole ?? 'read-only'} · last used ${t.lastUsedAt ? time(t.lastUsedAt) : 'never'}</li>`)}
        </ul>
        <p class="help">
          Created and revoked by the operator:
          <code>npm run tokens -- create --tenant ${viewer.tenantId} --name &lt;name&gt; --admin --role "Super User"</code>.
        </p>
      </section>
      ${options.oauth ? oauthSection(viewer, options.oauth.clients, options.oauth.accessTokenTtlMs) : ''}
      <section aria-labelledby="h-test">
        <h2 id="h-test">Test the connection</h2>
        <p>
          Sends what an identity provider's "Test connection" button sends (Okta: service provider configuration, a page of users and groups; Entra ID: a
          look-up of a user that does not exist), to <code>${options.scimBaseUrl}</code>, with the token you give. Writes nothing; the token is not kept.
        </p>
        <form method="post" action="${CONSOLE_PATH}/connection/test" class="inline">
          ${csrfField(viewer)} <label for="test-token">SCIM token</label>
          <input id="test-token" name="token" type="password" autocomplete="off" required value="${options.created?.token ?? ''}" />
          <button type="submit">Test connection</button>
        </form>
        ${
          options.test
            ? html`<p class="notice ${options.test.ok ? 'ok' : 'error'}" role="status">
                  ${options.test.ok ? 'Every request answered as an identity provider expects.' : 'Some requests did not answer as an identity provider expects.'}
                </p>
                <div class="table-wrap" role="region" aria-label="Connection test results" tabindex="0">
                  <table class="data">
                    <thead>
                      <tr>
                        <th scope="col">Check</th>
                        <th scope="col">Request</th>
                        <th scope="col">Status</th>
                        <th scope="col" class="num">ms</th>
                        <th scope="col">Result</th>
                      </tr>
                    </thead>
                    <tbody>
                      ${options.test.checks.map(
                        (c) =>
                          html`<tr class="${c.ok ? '' : 'drift'}">
                            <td>${c.name}</td>
                            <td><code>${c.request}</code></td>
                            <td>${c.status ?? '–'}</td>
                            <td class="num">${c.ms}</td>
                            <td>${c.ok ? 'passed' : html`<strong>failed</strong>: ${c.detail}`}</td>
                          </tr>`,
                      )}
                    </tbody>
                  </table>
                </div>`
            : ''
        }
      </section>
      ${options.connector ? connectorSection(viewer, options.connector) : ''}`,
  });
}

/** An access token's lifetime as the page says it: minutes, or seconds below a minute. */
export function ttlText(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`;
}

/** Copies the text of the element `id` (console.js shows the button where the clipboard is usable). */
const copy = (id: string, what: string) =>
  html`<button type="button" class="link" data-copy="${id}" hidden>Copy<span class="visually-hidden"> ${what}</span></button>`;

/** A new client's id and secret, or a rotated secret, with the fields Entra ID asks for: shown once, in the POST's answer. */
function oauthSecretSection(shown: ShownOAuthSecret, ttlMs: number): Html {
  const tenantUrl = `${shown.scimBaseUrl}${ENTRA_TENANT_URL_FLAG}`;
  return html`<section aria-labelledby="h-oauth-secret" class="created">
    <h2 id="h-oauth-secret">${shown.kind === 'created' ? html`New OAuth client "${shown.name}"` : html`New secret of the OAuth client "${shown.name}"`}</h2>
    <p role="status">Copy the secret now: it is shown once and stored only as a hash.</p>
    ${
      shown.kind === 'rotated'
        ? html`<p>
            The old secret stopped working just now; access tokens already issued with it work until they expire (at most ${ttlText(ttlMs)}). Paste the new one
            into the identity provider's <strong>Client Secret</strong>.
          </p>`
        : html`<p>
            Enter these in the identity provider (Microsoft Entra ID: the gallery app's <strong>Provisioning</strong>, <strong>Admin Credentials</strong>), then
            test the connection there.
          </p>`
    }
    ${facts('oauth-fields', 'What to enter in Microsoft Entra ID', [
      ['Tenant URL', html`<code id="oauth-tenant-url">${tenantUrl}</code> ${copy('oauth-tenant-url', 'Tenant URL')}`],
      ['Token Endpoint', html`<code id="oauth-token-endpoint">${shown.tokenUrl}</code> ${copy('oauth-token-endpoint', 'Token Endpoint')}`],
      ['Client Identifier', html`<code id="oauth-client-id">${shown.clientId}</code> ${copy('oauth-client-id', 'Client Identifier')}`],
      ['Client Secret', html`<code id="oauth-client-secret" class="secret">${shown.clientSecret}</code> ${copy('oauth-client-secret', 'Client Secret')}`],
    ])}
    <p class="help">
      Other identity providers: post <code>grant_type=client_credentials</code> with the client id and secret (HTTP Basic or in the body) to the token endpoint,
      and send the access token to the SCIM base URL <code>${shown.scimBaseUrl}</code> as <code>Authorization: Bearer</code>.
    </p>
  </section>`;
}

/** The tenant's OAuth clients: where they get access tokens, each one's use and errors, create, rotate and revoke for a Super User. */
function oauthSection(viewer: Viewer, oauth: OAuthClients, ttlMs: number): Html {
  const live = oauth.clients.filter((c) => !c.revokedAt);
  return html`<section aria-labelledby="h-oauth">
    <h2 id="h-oauth">OAuth clients (client credentials)</h2>
    <p>
      For an identity provider that exchanges a client id and secret for access tokens (OAuth 2.0 client credentials, as the Microsoft Entra ID app gallery
      does) instead of keeping a SCIM token. Guide: <a href="${CONSOLE_PATH}/guides/entra-id">Microsoft Entra ID</a>.
    </p>
    <p>Token URL: <code id="oauth-token-url">${oauth.tokenUrl}</code> ${copy('oauth-token-url', 'token URL')}</p>
    <p>SCIM base URL: <code id="oauth-scim-url">${oauth.scimBaseUrl}</code> ${copy('oauth-scim-url', 'SCIM base URL')}</p>
    <p class="help" id="oauth-ttl">
      Access tokens live ${ttlText(ttlMs)} (<code>OAUTH_ACCESS_TOKEN_TTL</code>). At most ${oauth.maxLiveClients} live clients; to change a secret, rotate it
      (the client id stays).
    </p>
    ${
      oauth.clients.length
        ? html`<div class="table-wrap" role="region" aria-label="OAuth clients, table" tabindex="0">
            <table class="data" id="oauth-clients">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Client id</th>
                  <th scope="col">Secret starts with</th>
                  <th scope="col">Created</th>
                  <th scope="col">Secret rotated</th>
                  <th scope="col">Last used</th>
                  <th scope="col" class="num">Live access tokens</th>
                  <th scope="col">Last request</th>
                  <th scope="col">Last error</th>
                  <th scope="col">Status</th>
                  ${viewer.canWrite ? html`<th scope="col"><span class="visually-hidden">Actions</span></th>` : ''}
                </tr>
              </thead>
              <tbody>
                ${oauth.clients.map(
                  (c) =>
                    html`<tr>
                      <td>${c.name}</td>
                      <td><code>${c.clientId}</code></td>
                      <td><code>${c.secretPrefix}…</code></td>
                      <td>${time(c.createdAt)}</td>
                      <td>${c.secretRotatedAt ? time(c.secretRotatedAt) : 'never'}</td>
                      <td>${c.lastUsedAt ? time(c.lastUsedAt) : 'never'}</td>
                      <td class="num">${c.liveAccessTokens}</td>
                      <td>
                        ${c.lastRequest ? html`${time(c.lastRequest.at)} <span class="badge">${c.lastRequest.status}</span>` : html`<span class="muted">none recorded</span>`}
                      </td>
                      <td>
                        ${
                          c.lastError
                            ? html`${time(c.lastError.at)} <span class="badge state-failed">${c.lastError.status}</span>
                                <div class="error-text small">${c.lastError.detail ?? ''}</div>
                                <a class="small" href="${CONSOLE_PATH}/requests?status=4xx">Refused requests</a>`
                            : html`<span class="muted">none recorded</span>`
                        }
                      </td>
                      <td>${c.revokedAt ? html`revoked ${time(c.revokedAt)}` : 'active'}</td>
                      ${
                        viewer.canWrite
                          ? html`<td>
                              ${
                                c.revokedAt
                                  ? ''
                                  : html`<a href="${CONSOLE_PATH}/connection/oauth-clients/${c.clientId}/rotate"
                                        >Rotate secret<span class="visually-hidden"> of ${c.name}</span></a
                                      >
                                      ·
                                      <a href="${CONSOLE_PATH}/connection/oauth-clients/${c.clientId}/revoke"
                                        >Revoke<span class="visually-hidden"> ${c.name}</span></a
                                      >`
                              }
                            </td>`
                          : ''
                      }
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : html`<p>No OAuth client yet.</p>`
    }
    ${
      viewer.canWrite
        ? live.length < oauth.maxLiveClients
          ? html`<form method="post" action="${CONSOLE_PATH}/connection/oauth-clients" class="inline">
              ${csrfField(viewer)} <label for="oauth-client-name">Name of the new OAuth client</label>
              <input id="oauth-client-name" name="name" required maxlength="64" placeholder="entra" /> <button type="submit">Create OAuth client</button>
            </form>`
          : html`<p>
              ${live.length} clients are live: revoke the one the identity provider no longer uses before creating another, or rotate a secret instead.
            </p>`
        : ''
    }
  </section>`;
}

const KIND_TEXT: Record<ConnectorView['kind'], string> = {
  directory: 'directory (scimflow’s own directory is the application)',
  http: 'http (the application’s REST user API)',
  scim: 'scim (the application’s own SCIM server)',
};

const ms = (v: number | null) => (v === null ? '–' : `${v} ms`);

/** The connector: where users are provisioned, how it is doing, and a test of it. */
function connectorSection(viewer: Viewer, c: ConnectorView): Html {
  const h = c.health;
  const lastError = h.recentErrors[0];
  const about: [string, Html | string][] = [['Kind', KIND_TEXT[c.kind]]];
  if (c.kind !== 'directory')
    about.push(
      ['Base URL', html`<code>${c.baseUrl ?? '–'}</code>`],
      ['Authentication', c.auth ?? '–'],
      [
        'Reads accounts back',
        c.readsBack ? 'yes: propagation is verified, and drift repair compares the application with the ledger' : 'no: propagation windows are waited out',
      ],
    );
  return html`<section aria-labelledby="h-connector">
    <h2 id="h-connector">Connector</h2>
    <p>
      Where this tenant's users are provisioned: the <code>connector</code> section of the policy (version ${c.configVersion}). Secrets are named in the policy
      and stored encrypted; none is shown here.
    </p>
    ${facts('connector-facts', 'The connector', about)}
    ${
      c.kind === 'directory'
        ? html`<p class="help">Nothing is sent elsewhere: every change is written to scimflow's own directory, which is the application's.</p>`
        : html`<h3>Health, last ${h.windowMinutes} minutes</h3>
            ${facts('connector-health', 'Connector health', [
              ['Last success', h.lastSuccessAt ? time(h.lastSuccessAt) : 'none yet'],
              [
                'Last error',
                lastError
                  ? html`${time(lastError.at)} <span class="badge state-failed">${lastError.kind}</span>
                      <div class="error-text small">${lastError.message}</div>`
                  : 'none',
              ],
              ['Calls per minute', `${h.callsPerMinute} (${h.failedCalls} failed)`],
              ['Latency', `p50 ${ms(h.latencyMs.p50)} · p95 ${ms(h.latencyMs.p95)}`],
              ['Accounts in the application', String(h.accounts)],
            ])}
            <h3>Users whose last call failed (${h.failingUsers})</h3>
            ${
              h.recentErrors.length
                ? html`<ul id="connector-failing">
                    ${h.recentErrors.map(
                      (e) =>
                        html`<li>
                          <a href="${CONSOLE_PATH}/users/${e.userId}">${e.userId}</a> · ${time(e.at)} · <span class="badge state-failed">${e.kind}</span>
                          <span class="error-text small">${e.message}</span>
                        </li>`,
                    )}
                  </ul>`
                : html`<p>None: the application confirmed every user's last change.</p>`
            }`
    }
    <form method="post" action="${CONSOLE_PATH}/connection/connector-test" class="inline">
      ${csrfField(viewer)}
      <button type="submit">Test the connection to the application</button>
      <span class="help">Reaches the application with the configured credentials; changes nothing there.</span>
    </form>
  </section>`;
}

export function guidePage(viewer: Viewer, title: string, body: Html): Html {
  return page({
    title: `${title} guide`,
    viewer,
    active: 'connection',
    body: html`<p class="crumbs"><a href="${CONSOLE_PATH}/connection">Connection</a> /</p>
      <article class="guide">${body}</article>`,
  });
}
