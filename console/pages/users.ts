/** The user list: search, filters, cursor paging; where each user is and since when. */
import type { UserListRow } from '../../common/repositories/admin-search';
import { PROVISIONING_STATES } from '../../domain/roles';
import { WAIT_FILTERS, waitFilterText } from '../../domain/visible-state';
import { countdown, reasonText, stateBadge, stateText, time, waitingText } from '../format';
import { html, type Html } from '../html';
import { CONSOLE_PATH, page, type Viewer } from '../layout';
import type { Holders } from './user';

export interface UserFilters {
  q?: string;
  state?: string;
  waitingFor?: string;
  waiting?: string;
  after?: string;
}

function query(f: UserFilters, after?: string): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...f, after })) if (v) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

export function usersPage(viewer: Viewer, f: UserFilters, rows: UserListRow[], next: string | null, holders: Holders = new Map()): Html {
  const option = (value: string, label: string, current?: string) =>
    html`<option value="${value}" ${value === (current ?? '') ? html` selected` : ''}>${label}</option>`;
  return page({
    title: 'Users',
    viewer,
    active: 'users',
    body: html`<h1>Users</h1>
      <form method="get" action="${CONSOLE_PATH}/users" class="filters" role="search" aria-label="Find users">
        <div><label for="q">Name, userName, email or id</label><input id="q" name="q" type="search" value="${f.q ?? ''}" maxlength="200" /></div>
        <div>
          <label for="state">State</label
          ><select id="state" name="state">
            ${option('', 'any')}${[...PROVISIONING_STATES, 'notStarted'].map((s) => option(s, stateText(s), f.state))}
          </select>
        </div>
        <div>
          <label for="waitingFor">Waiting for</label
          ><select id="waitingFor" name="waitingFor">
            ${option('', 'anything or nothing')}${WAIT_FILTERS.map((w) => option(w, waitFilterText(w), f.waitingFor))}
          </select>
        </div>
        <div class="filter-submit"><button type="submit">Search</button> <a href="${CONSOLE_PATH}/users">Clear</a></div>
      </form>
      ${
        rows.length === 0
          ? html`<p>No user matches.</p>`
          : html`<div class="table-wrap" role="region" aria-label="Users found" tabindex="0">
              <table class="data users">
                <caption class="visually-hidden">
                  Users in id order
                </caption>
                <thead>
                  <tr>
                    <th scope="col">User</th>
                    <th scope="col">Email</th>
                    <th scope="col">State</th>
                    <th scope="col">Waiting for</th>
                    <th scope="col">Since</th>
                    <th scope="col">Application</th>
                  </tr>
                </thead>
                <tbody>
                  ${rows.map(
                    (u) =>
                      html`<tr>
                        <td>
                          <a href="${CONSOLE_PATH}/users/${u.userId}">${u.displayName || u.userName || u.userId}</a>
                          <div class="muted small">${u.userName ?? ''}</div>
                        </td>
                        <td>${u.email ?? ''}</td>
                        <td>
                          ${stateBadge(u.state ?? (u.scimActive !== null ? 'notStarted' : null))}${u.scimActive === false ? html` <span class="badge">inactive in IdP</span>` : ''}
                        </td>
                        <td>
                          ${waitingText(u.waitingFor)}
                          ${u.waitingUntil ? countdown(u.waitingUntil) : ''}${u.lastError ? html`<div class="error-text small">${reasonText(u.lastError, holders)}</div>` : ''}
                        </td>
                        <td>${time(u.stateSince)}</td>
                        <td>${u.appStatus ?? html`<span class="muted">not provisioned</span>`}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
      }
      <nav class="pager" aria-label="Pages">
        ${f.after ? html`<a href="${CONSOLE_PATH}/users${query({ ...f, after: undefined })}">First page</a>` : ''}
        ${next ? html`<a href="${CONSOLE_PATH}/users${query({ ...f, after: undefined }, next)}" rel="next">Next page</a>` : ''}
      </nav>`,
  });
}
