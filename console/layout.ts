/** The frame of every console page: header with the tenant and navigation, skip link, notices, sign-out. */
import { html, type Html, type Renderable } from './html';

export const CONSOLE_PATH = '/console';

/** Who is looking: from the session. */
export interface Viewer {
  tenantId: string;
  tenantName: string;
  tokenName: string;
  role: string | null;
  /** May change users and configuration (the Super User rule, enforced by the admin service). */
  canWrite: boolean;
  csrfToken: string;
}

export interface Notice {
  kind: 'ok' | 'error';
  text: string;
}

const NAV: { key: string; href: string; label: string }[] = [
  { key: 'overview', href: `${CONSOLE_PATH}`, label: 'Overview' },
  { key: 'users', href: `${CONSOLE_PATH}/users`, label: 'Users' },
  { key: 'requests', href: `${CONSOLE_PATH}/requests`, label: 'Requests' },
  { key: 'preview', href: `${CONSOLE_PATH}/preview`, label: 'Provision on demand' },
  { key: 'policy', href: `${CONSOLE_PATH}/policy`, label: 'Policy' },
  { key: 'connection', href: `${CONSOLE_PATH}/connection`, label: 'Connection' },
];

/** A hidden CSRF field for forms that change something. */
export const csrfField = (v: Viewer) => html`<input type="hidden" name="_csrf" value="${v.csrfToken}" />`;

export function page(options: { title: string; viewer?: Viewer; active?: string; notice?: Notice; charts?: boolean; body: Renderable }): Html {
  const v = options.viewer;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${options.title} · scimflow console</title>
        <link rel="stylesheet" href="${CONSOLE_PATH}/assets/console.css" />
        ${options.charts ? html`<script src="${CONSOLE_PATH}/assets/chart.umd.js" defer></script>` : ''}
        <script src="${CONSOLE_PATH}/assets/console.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <div class="brand">
            <a href="${CONSOLE_PATH}">scimflow</a>${v ? html` <span class="tenant">${v.tenantName} <span class="muted">(${v.tenantId})</span></span>` : ''}
          </div>
          ${
            v
              ? html`<nav aria-label="Console">
                    <ul>
                      ${NAV.map((n) => html`<li><a href="${n.href}" ${n.key === options.active ? html` aria-current="page"` : ''}>${n.label}</a></li>`)}
                    </ul>
                  </nav>
                  <form class="who" method="post" action="${CONSOLE_PATH}/sign-out">
                    <span>${v.tokenName} · ${v.canWrite ? 'Super User' : html`<span title="This token reads only">read-only</span>`}</span>
                    ${csrfField(v)}<button type="submit" class="link">Sign out</button>
                  </form>`
              : ''
          }
        </header>
        <main id="main" tabindex="-1">
          ${options.notice ? html`<p class="notice ${options.notice.kind}" role="${options.notice.kind === 'error' ? 'alert' : 'status'}">${options.notice.text}</p>` : ''}
          ${options.body}
        </main>
      </body>
    </html>`;
}

/** A table of named facts (one row each), with a caption for screen readers. */
export function facts(id: string | undefined, caption: string, rows: [string, Html | string][]): Html {
  return html`<table class="data" ${id ? html` id="${id}"` : ''}>
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
