/**
 * Connection: what the IdP admin enters (SCIM base URL, a token), token rotation, a connection
 * test, the guides; and the other side, the connector to the application users are provisioned
 * into: its kind, base URL, health, the users it fails for, and its own "test connection".
 */
import type { ConnectionCheck } from '../../admin/connection-test';
import type { ConnectorView } from '../../admin/connector';
import type { listTenantTokens } from '../../admin/tokens';
import { time } from '../format';
import { html, type Html } from '../html';
import { CONSOLE_PATH, csrfField, page, type Notice, type Viewer } from '../layout';

type Tokens = Awaited<ReturnType<typeof listTenantTokens>>;

export const GUIDES: Record<string, { title: string; file: string }> = {
  okta: { title: 'Okta', file: 'okta.md' },
  'entra-id': { title: 'Microsoft Entra ID', file: 'entra-id.md' },
};

export function connectionPage(options: {
  viewer: Viewer;
  scimBaseUrl: string;
  tokens: Tokens;
  created?: { name: string; token: string };
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

const KIND_TEXT: Record<ConnectorView['kind'], string> = {
  directory: 'directory (scimflow’s own directory is the application)',
  http: 'http (the application’s REST user API)',
  scim: 'scim (the application’s own SCIM server)',
};

const ms = (v: number | null) => (v === null ? '–' : `${v} ms`);

/** A table of named facts (one row each), with a caption for screen readers. */
function facts(id: string, caption: string, rows: [string, Html | string][]): Html {
  return html`<table class="data" id="${id}">
    <caption class="visually-hidden">
      ${caption}
    </caption>
    <tbody>
      ${rows.map(
        ([k, v]) =>
          html`<tr>
            <th scope="row">${k}</th>
            <td>${v}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

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
