/**
 * A user's page, in the form of a provisioning log: where the user is now (state, wait with a
 * live countdown, error and what to do), actions for Super Users, what the user should have
 * against what the directory holds (drift, matched rules), and the timeline of every request.
 */
import type { describeUser } from '../../admin/users';
import type { Timeline, TimelineGroup } from '../../admin/timeline';
import { fieldLabel, type DirectoryState } from '../../domain/directory-diff';
import { SETTING_KINDS } from '../../domain/roles';
import type { UserLabel } from '../../common/repositories/admin-views';
import { changeList, countdown, reasonText, stateBadge, time, waitingText } from '../format';
import { html, type Html } from '../html';
import { CONSOLE_PATH, csrfField, page, type Notice, type Viewer } from '../layout';

export type UserDetail = Awaited<ReturnType<typeof describeUser>>;

/** The users a page's reasons name as holders of a login, by id (admin/users.ts loginHolderLabels). */
export type Holders = ReadonlyMap<string, UserLabel>;

/** The actions of a user's page, each confirmed on its own page before it is posted. */
export const USER_ACTIONS = {
  'resend-invitation': {
    label: 'Resend invitation',
    title: 'Resend the invitation?',
    explain: 'The workflow sends a new invitation (a new round with a new link); the previous link stays in the mail already sent.',
  },
  retry: {
    label: 'Retry / run now',
    title: 'Run the provisioning steps again now?',
    explain: 'The workflow re-reads what the user should have and runs its steps again (a failed step is retried). Steps with nothing to change do nothing.',
  },
  suspend: {
    label: 'Suspend',
    title: 'Suspend this user?',
    explain:
      'The SCIM resource is set to active=false and the workflow blocks login at once; entitlements are kept for a reactivation. The identity provider may set it back on its next push: for a lasting change, unassign the user there.',
  },
  reactivate: {
    label: 'Reactivate',
    title: 'Reactivate this user?',
    explain: 'The SCIM resource is set to active=true and the workflow restores login as it was (active, or invited when the invitation is open).',
  },
  terminate: {
    label: 'Terminate',
    title: 'Terminate this user?',
    explain:
      'The SCIM resource is deleted; the workflow blocks login, releases licences and seats, ends memberships and revokes open invitations. The record is kept for audit. This cannot be undone here: a re-hire is a new user.',
  },
} as const;
export type UserAction = keyof typeof USER_ACTIONS;

function name(u: UserDetail): string {
  const dir = u.directory as DirectoryState | null;
  const full = dir ? [dir.profile.firstName, dir.profile.lastName].filter(Boolean).join(' ') : '';
  return full || u.userName || u.userId;
}

/** Should have vs has, field by field, with drift marked. */
function compareTable(u: UserDetail): Html {
  const want = u.desired?.state as DirectoryState | undefined;
  const have = u.directory as DirectoryState | null;
  if (!want && !have) return html`<p>Nothing provisioned, and no SCIM resource to compute it from.</p>`;
  const drifted = new Set((u.drift ?? []).map((d) => d.field));
  const rows: [string, unknown, unknown][] = [];
  const pick = (s: DirectoryState | null | undefined, f: (s: DirectoryState) => unknown) => (s ? f(s) : undefined);
  for (const k of ['externalId', 'firstName', 'lastName', 'title', 'email', 'primaryPhone', 'alternatePhones'] as const) {
    rows.push([`profile.${k}`, pick(want, (s) => s.profile[k]), pick(have, (s) => s.profile[k])]);
  }
  for (const k of [
    'clientKey',
    'caseManager',
    'memberships',
    'licences',
    'providerAccounts',
    'securityRole',
    'employeeType',
    'allowGridExport',
    'receivesDocumentation',
  ] as const) {
    rows.push([k, pick(want, (s) => s[k]), pick(have, (s) => s[k])]);
  }
  for (const k of SETTING_KINDS) rows.push([`settings.${k}`, pick(want, (s) => s.settings[k]), pick(have, (s) => s.settings[k])]);
  const show = (v: unknown): Html =>
    v === undefined
      ? html`<span class="muted">–</span>`
      : Array.isArray(v)
        ? v.length
          ? html`${v.join(', ')}`
          : html`<span class="muted">none</span>`
        : html`${v === null ? '(none)' : String(v)}`;
  return html`<div class="table-wrap" role="region" aria-label="Should have and has, field by field" tabindex="0">
    <table class="data compare">
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Should have${u.desired ? ` (policy v${u.desired.configVersion})` : ''}</th>
          <th scope="col">Has (directory)</th>
          <th scope="col">Drift</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          ([field, w, h]) =>
            html`<tr class="${drifted.has(field) ? 'drift' : ''}">
              <th scope="row">${fieldLabel(field)}</th>
              <td>${show(w)}</td>
              <td>${show(h)}</td>
              <td>${drifted.has(field) ? html`<strong>differs</strong>` : ''}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

const OUTCOME_TEXT: Record<string, string> = { succeeded: 'done', skipped: 'skipped', failed: 'failed', held: 'held', info: '' };

function group(g: TimelineGroup, index: number, holders: Holders): Html {
  const id = `req-${index}`;
  return html`<li class="request status-${g.status.replace(/ /g, '-')}">
    <h3 id="${id}">
      <span class="source">${g.source}</span> ${g.changes.length ? html`<span class="muted">(${g.changes.join(', ')})</span>` : ''}
      <span class="badge outcome-${g.status.replace(/ /g, '-')}">${g.status}</span>${g.continued ? html` <span class="badge">continued</span>` : ''}
    </h3>
    <p class="meta">
      ${g.requestId ? html`request <code>${g.requestId}</code> · ` : ''}accepted ${time(g.acceptedAt)} · delivered to the workflow ${time(g.deliveredAt)}
      ${g.delivery ? html`<span class="error-text">· not delivered yet after ${g.delivery.attempts} attempts${g.delivery.lastError ? `: ${g.delivery.lastError}` : ''}</span>` : ''}
    </p>
    ${
      g.steps.length
        ? html`<div class="table-wrap" role="region" aria-labelledby="${id}" tabindex="0">
            <table class="data steps">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Step</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Changes</th>
                </tr>
              </thead>
              <tbody>
                ${g.steps.map(
                  (s) =>
                    html`<tr class="outcome-${s.outcome}">
                      <td>${time(s.at)}</td>
                      <td>${s.title}${s.step ? html`<div class="muted small">${s.step}</div>` : ''}</td>
                      <td>${OUTCOME_TEXT[s.outcome]}</td>
                      <td>
                        ${
                          s.changes.length
                            ? html`${s.changes.filter((c) => c.field === 'waitingUntil').map((c) => html`<div>until ${time(String(c.to))}</div>`)}
                              ${changeList(s.changes.filter((c) => c.field !== 'waitingUntil'))}`
                            : ''
                        }
                        ${s.error ? html`<div class="error-text">Error: ${reasonText(s.error, holders)}</div>` : ''}${s.advice ? html`<div class="advice">What to do: ${s.advice}</div>` : ''}
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : html`<p class="muted">${g.status === 'no changes' ? 'Delivered; the workflow found nothing to change.' : 'No steps recorded.'}</p>`
    }
  </li>`;
}

/** The part of the page the script refreshes while the user's workflow works: status and timeline. */
export function liveFragment(viewer: Viewer, u: UserDetail, timeline: Timeline | undefined, holders: Holders = new Map()): Html {
  const wf = u.workflow as
    { state?: string; waitingFor?: string; waitingUntil?: string; lastError?: string; appliedVersion?: number; unavailable?: string } | undefined;
  const state = wf?.state ?? u.state;
  const waitingFor = wf?.state ? wf.waitingFor : u.waitingFor;
  const waitingUntil = wf?.state ? wf.waitingUntil : u.waitingUntil;
  const lastError = wf?.state ? wf.lastError : u.lastError;
  const groups = timeline ? [...timeline.groups].reverse() : [];
  return html`<section aria-labelledby="h-now" class="now">
      <h2 id="h-now">Now</h2>
      <div role="status" aria-live="polite" aria-atomic="true" data-state="${state ?? ''}">
        <p>${stateBadge(state)} since ${time(u.stateUpdatedAt)}</p>
        ${waitingFor ? html`<p>Waiting for <strong>${waitingText(waitingFor)}</strong>${waitingUntil ? html` until ${time(waitingUntil)}, ${countdown(waitingUntil)}` : ''}.</p>` : ''}
        ${lastError ? html`<p class="error-text">${state === 'awaitingData' ? 'Missing' : 'Error'}: ${reasonText(lastError, holders)}</p>` : ''}
        ${u.advice ? html`<p class="advice">What to do: ${u.advice}</p>` : ''}
        ${wf?.unavailable ? html`<p class="muted small">Live status from the workflow unavailable (${wf.unavailable}); showing the last recorded state.</p>` : ''}
      </div>
    </section>
    <section aria-labelledby="h-log">
      <h2 id="h-log">Provisioning log</h2>
      <p class="help">
        Newest first. Each request (from the identity provider over SCIM, an admin, a policy or group change, drift repair, or the invitation link) with when it
        was accepted and when it reached the workflow, and the steps it caused.
      </p>
      ${
        groups.length
          ? html`<ol class="timeline" reversed>
              ${groups.map((g, i) => group(g, groups.length - i, holders))}
            </ol>`
          : html`<p>No requests recorded yet.</p>`
      }
    </section>`;
}

/**
 * Why a retry would change nothing in this state (the workflow is waiting for something a retry
 * does not bring), or undefined where it does something: a failed step or a seat check runs
 * again, and an invited, active, expired or suspended user is converged again (drift repaired).
 */
export function retryRefusal(state: string | null | undefined): string | undefined {
  const why: Record<string, string> = {
    pending: 'its onboarding has not started yet; it starts by itself',
    onboarding: 'its onboarding is running now',
    waitingPropagation: "it is waiting out the application's propagation window and continues by itself when the window ends",
    scheduled: 'its invitation is scheduled for the HR start date and goes out by itself',
    awaitingData: 'it is held for missing or conflicting data and continues when the identity provider sends it',
    deprovisionHeld: "its suspension or termination waits for a Super User's decision (Allow or Reject on the overview)",
    deletionRejected: "its deletion was rejected and waits for a Super User's decision (Allow on the overview)",
    terminated: 'it is terminated',
  };
  return why[state ?? 'pending'];
}

/** A suspension or termination the mass-deprovisioning guard holds for this user: the decision, here as on the overview. */
function heldChangeSection(viewer: Viewer, u: UserDetail): Html | '' {
  const held = u.heldChange;
  if (!held) return '';
  const what = held.change === 'terminate' ? 'termination' : 'suspension';
  const why =
    held.status === 'held'
      ? `The identity provider asked for the ${what} beyond the mass-deprovisioning guard's threshold: nothing was changed, the user keeps its access until a Super User decides.`
      : 'The deletion was rejected: the user keeps its access. It can still be allowed, which terminates the user.';
  return html`<section class="held" aria-labelledby="h-held">
    <h2 id="h-held">Waiting for a decision: ${what}</h2>
    <p>${why} Held since ${time(held.heldAt)}.</p>
    ${
      viewer.canWrite
        ? html`<div class="actions">
            <form method="post" action="${CONSOLE_PATH}/held-changes/${held.id}/allow">
              ${csrfField(viewer)}<input type="hidden" name="back" value="user" /><button type="submit" class="danger">Allow the ${what}</button>
            </form>
            ${
              held.status === 'held'
                ? html`<form method="post" action="${CONSOLE_PATH}/held-changes/${held.id}/reject">
                    ${csrfField(viewer)}<input type="hidden" name="back" value="user" /><button type="submit">Reject the ${what}</button>
                  </form>`
                : ''
            }
          </div>`
        : ''
    }
  </section>`;
}

/**
 * What the policy left out or changed of what the identity provider sent, and why (desired.notes:
 * a malformed informational phone dropped, a mobile-app user whose organisations offer no mobile
 * service). Nothing holds the user for them; they explain a "should have" that differs from the IdP.
 */
function notesSection(u: UserDetail): Html | '' {
  const notes = u.desired?.notes ?? [];
  if (notes.length === 0) return '';
  return html`<section class="notes" aria-labelledby="h-notes">
    <h2 id="h-notes">Notes</h2>
    <p class="help">What the policy left out of what the identity provider sent, and why. The user is not held for these.</p>
    <ul>
      ${notes.map((n) => html`<li>${n}</li>`)}
    </ul>
  </section>`;
}

export function userPage(viewer: Viewer, u: UserDetail, timeline: Timeline | undefined, notice?: Notice, holders: Holders = new Map()): Html {
  const base = `${CONSOLE_PATH}/users/${u.userId}`;
  const state = (u.workflow as { state?: string } | undefined)?.state ?? u.state;
  const busy = ['pending', 'onboarding', 'waitingPropagation', 'scheduled', 'waitingForSeat'].includes(state ?? 'pending');
  const actions: UserAction[] = [];
  if (u.scimVersion !== null && state !== 'terminated') {
    // Only what can do something now: a resend where an invitation is open or expired, a retry
    // where it runs something (retryRefusal).
    if (state === 'invited' || state === 'expired') actions.push('resend-invitation');
    if (!retryRefusal(state)) actions.push('retry');
    actions.push(u.scimActive === false ? 'reactivate' : 'suspend');
    actions.push('terminate');
  }
  return page({
    title: name(u),
    viewer,
    active: 'users',
    notice,
    body: html`<p class="crumbs"><a href="${CONSOLE_PATH}/users">Users</a> /</p>
      <h1>${name(u)}</h1>
      <p class="lead">
        ${u.userName ?? ''} · id
        <code>${u.userId}</code
        >${u.scimActive === false ? ' · inactive in the identity provider' : ''}${u.scimVersion === null ? ' · SCIM resource deleted' : ''}
      </p>
      <p class="links">
        ${u.links.temporalUi ? html`<a href="${u.links.temporalUi}">Workflow in the Temporal UI</a> (<code>${u.workflowId ?? ''}</code>) · ` : ''}
        <a href="${base}/timeline.csv" download>Export log (CSV)</a> · <a href="${base}/timeline.json" download>Export log (JSON)</a> ·
        <a href="${CONSOLE_PATH}/preview?user=${u.userId}">Preview what would be provisioned</a>
      </p>
      ${
        viewer.canWrite && actions.length
          ? html`<nav class="actions" aria-label="Actions on this user">
              ${actions.map(
                (a) => html`<a class="button${a === 'terminate' || a === 'suspend' ? ' danger' : ''}" href="${base}/confirm/${a}">${USER_ACTIONS[a].label}</a>`,
              )}
            </nav>`
          : ''
      }
      ${heldChangeSection(viewer, u)} ${notesSection(u)}
      <div id="live" data-live="${base}/live" data-poll-ms="${busy ? 2000 : 10000}">${liveFragment(viewer, u, timeline, holders)}</div>
      <section aria-labelledby="h-compare">
        <h2 id="h-compare">Should have and has</h2>
        ${u.desired?.missing.length ? html`<p class="error-text">Missing before onboarding can go on: ${u.desired.missing.join('; ')}</p>` : ''}
        <p>
          Rules that matched:
          ${u.desired?.matchedRules.length ? html`<strong>${u.desired.matchedRules.join(', ')}</strong>` : 'none (tenant defaults and SCIM values only)'}.
        </p>
        ${compareTable(u)}
      </section>`,
  });
}
