/** Small renderers shared by the console's pages: times, durations, states, changes. */
import type { UserLabel } from '../common/repositories/admin-views';
import { fieldLabel, type FieldChange } from '../domain/directory-diff';
import { splitAtHolders } from '../domain/login-conflicts';
import { html, type Html } from './html';
import { CONSOLE_PATH } from './layout';

/** "2025-06-01 14:05:33 UTC" in a <time> element; the page's script shows it in the reader's time zone. */
export function time(value: Date | string | null | undefined): Html {
  if (!value) return html`<span class="muted">–</span>`;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return html`${String(value)}`;
  const text = `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return html`<time datetime="${d.toISOString()}" data-local>${text}</time>`;
}

/** "3 h 5 min" for seconds. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60 ? `${s % 60} s` : ''}`.trim();
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.round((s % 86_400) / 3600)} h`;
}

/** A live countdown to `until` (the script ticks it every second); static text without the script. */
export function countdown(until: Date | string | null | undefined): Html {
  if (!until) return html``;
  const d = new Date(until);
  const left = Math.max(0, Math.round((d.getTime() - Date.now()) / 1000));
  return html`<span class="countdown" data-countdown="${d.toISOString()}">${left > 0 ? `in ${duration(left)}` : 'due now'}</span>`;
}

const STATE_TEXT: Record<string, string> = {
  pending: 'pending',
  onboarding: 'onboarding',
  awaitingData: 'waiting for data',
  waitingForSeat: 'waiting for a seat',
  waitingPropagation: 'waiting for propagation',
  scheduled: 'scheduled',
  invited: 'invited',
  active: 'active',
  suspended: 'suspended',
  expired: 'invitation expired',
  terminated: 'terminated',
  failed: 'failed',
  deprovisionHeld: 'held for a decision',
  deletionRejected: 'deletion rejected',
  notStarted: 'not started yet',
};

/** A provisioning state in words ("waiting for a seat", not `waitingForSeat`); an unknown state as it is. */
export function stateText(state: string): string {
  return STATE_TEXT[state] ?? state;
}

export function stateBadge(state: string | null | undefined): Html {
  if (!state) return html`<span class="badge">no workflow yet</span>`;
  return html`<span class="badge state-${state}">${stateText(state)}</span>`;
}

/** "1,542": counts as people read them. */
export const count = (n: number): string => n.toLocaleString('en');

/**
 * A reason the workflow reported (a user's lastError, a step's error), with every user it names
 * as the holder of a login ("email x is already the login of user <id>") shown by name and linked
 * to that user's page; the rest of the text as it is. `labels`: what is known of those users.
 */
export function reasonText(text: string | null | undefined, labels: ReadonlyMap<string, UserLabel> = new Map()): Html {
  if (!text) return html``;
  return html`${splitAtHolders(text).map((p) => {
    if ('text' in p) return p.text;
    const who = labels.get(p.holderId);
    const name = who?.name ?? who?.userName ?? p.holderId;
    return html`<a href="${CONSOLE_PATH}/users/${p.holderId}">${name}</a>${who?.name && who.userName ? html` (${who.userName})` : ''}`;
  })}`;
}

/** What a `waitingFor` value means, in words (one wording: domain/visible-state.ts). */
export { waitingText } from '../domain/visible-state';

const show = (v: unknown) => (v === null || v === undefined || v === '' ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v));

/** One field change as "field: old → new" or "+ added, − removed". */
export function change(c: FieldChange | { field: string; from?: unknown; to?: unknown; added?: string[]; removed?: string[] }): Html {
  const label = fieldLabel(c.field);
  if (c.added || c.removed) {
    return html`<span class="field">${label}</span>
      ${(c.added ?? []).map((v) => html`<ins>+ ${v}</ins> `)}${(c.removed ?? []).map((v) => html`<del>− ${v}</del> `)}`;
  }
  if (!('from' in c) && !('to' in c)) return html`<span class="field">${label}</span> <span class="muted">changed (value not kept: personal data)</span>`;
  if (!('from' in c)) return html`<span class="field">${label}</span> ${show(c.to)}`;
  return html`<span class="field">${label}</span> <del>${show(c.from)}</del> → <ins>${show(c.to)}</ins>`;
}

/** A list of changes; fields changed without a kept value (personal data) are named together on one line. */
export function changeList(changes: { field: string; from?: unknown; to?: unknown; added?: string[]; removed?: string[] }[]): Html {
  if (changes.length === 0) return html``;
  const nameOnly = changes.filter((c) => !('from' in c) && !('to' in c) && !c.added && !c.removed);
  const rest = changes.filter((c) => !nameOnly.includes(c));
  return html`<ul class="changes">
    ${
      nameOnly.length
        ? html`<li>
            <span class="field">${nameOnly.map((c) => fieldLabel(c.field)).join(', ')}</span>
            <span class="muted">set (values are personal data and are not kept in the log)</span>
          </li>`
        : ''
    }
    ${rest.map((c) => html`<li>${change(c)}</li>`)}
  </ul>`;
}
