/** Requests: the SCIM request log (what the identity provider sent and what it was told), with filters and "older" paging. */
import type { RequestLogRow } from '../../common/repositories/request-log';
import { time } from '../format';
import { html, type Html } from '../html';
import { CONSOLE_PATH, page, type Viewer } from '../layout';

export interface RequestFilters {
  status?: string;
  q?: string;
  method?: string;
  after?: string;
}

const STATUS_FILTERS: [string, string][] = [
  ['', 'any'],
  ['2xx', '2xx (accepted)'],
  ['4xx', '4xx (refused)'],
  ['5xx', '5xx (server error)'],
  ['400', '400 Bad Request'],
  ['401', '401 Unauthorized'],
  ['404', '404 Not Found'],
  ['409', '409 Conflict'],
  ['412', '412 Precondition Failed'],
  ['429', '429 Too Many Requests'],
  ['503', '503 Unavailable'],
];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

function query(f: RequestFilters, after?: string): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...f, after })) if (v) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

const statusClass = (status: number) => (status >= 500 ? 'state-failed' : status >= 400 ? 'state-awaitingData' : 'state-active');

export function requestsPage(viewer: Viewer, f: RequestFilters, rows: RequestLogRow[], next: string | null, retentionNote?: string): Html {
  const option = (value: string, label: string, current?: string) =>
    html`<option value="${value}" ${value === (current ?? '') ? html` selected` : ''}>${label}</option>`;
  return page({
    title: 'Requests',
    viewer,
    active: 'requests',
    body: html`<h1>Requests</h1>
      <p class="lead">
        Every SCIM request the identity provider sent with one of this tenant's tokens, newest first, refused ones included, with what it was told.
        ${retentionNote ?? ''}
      </p>
      <form method="get" action="${CONSOLE_PATH}/requests" class="filters" role="search" aria-label="Find requests">
        <div>
          <label for="q">userName, externalId, resource id or request id</label><input id="q" name="q" type="search" value="${f.q ?? ''}" maxlength="256" />
        </div>
        <div>
          <label for="status">Status</label
          ><select id="status" name="status">
            ${STATUS_FILTERS.map(([v, l]) => option(v, l, f.status))}
          </select>
        </div>
        <div>
          <label for="method">Method</label
          ><select id="method" name="method">
            ${option('', 'any')}${METHODS.map((m) => option(m, m, f.method))}
          </select>
        </div>
        <div class="filter-submit"><button type="submit">Search</button> <a href="${CONSOLE_PATH}/requests">Clear</a></div>
      </form>
      ${
        rows.length === 0
          ? html`<p>No request matches.</p>`
          : html`<div class="table-wrap" role="region" aria-label="Requests found" tabindex="0">
              <table class="data requests">
                <caption class="visually-hidden">
                  SCIM requests, newest first
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Request</th>
                    <th scope="col">Who</th>
                    <th scope="col">Status</th>
                    <th scope="col">Error</th>
                    <th scope="col">Token</th>
                  </tr>
                </thead>
                <tbody>
                  ${rows.map(
                    (r) =>
                      html`<tr>
                        <td>
                          ${time(r.at)}
                          <div class="muted small">${r.durationMs} ms</div>
                        </td>
                        <td class="request-path">
                          <code>${r.method} ${r.path}</code>
                          <div class="muted small">request id <code>${r.requestId}</code></div>
                        </td>
                        <td>
                          ${
                            r.resourceId && /^[0-9a-f-]{36}$/i.test(r.resourceId) && r.path.startsWith('/Users')
                              ? html`<a href="${CONSOLE_PATH}/users/${r.resourceId}">${r.userName ?? r.resourceId}</a>`
                              : (r.userName ?? '')
                          }
                          ${r.externalId ? html`<div class="muted small">externalId ${r.externalId}</div>` : ''}
                        </td>
                        <td><span class="badge ${statusClass(r.status)}">${r.status}</span></td>
                        <td>
                          ${r.detail ? html`<span class="error-text">${r.detail}</span>` : ''}${r.scimType ? html`<div class="muted small">${r.scimType}</div>` : ''}
                        </td>
                        <td>${r.token?.name ?? ''}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
      }
      <nav class="pager" aria-label="Pages">
        ${f.after ? html`<a href="${CONSOLE_PATH}/requests${query({ ...f, after: undefined })}">Newest</a>` : ''}
        ${next ? html`<a href="${CONSOLE_PATH}/requests${query({ ...f, after: undefined }, next)}" rel="next">Older</a>` : ''}
      </nav>`,
  });
}
