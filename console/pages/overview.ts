/**
 * The overview, starting with what needs a person: a strip of counts (held changes, users held
 * for data, failed users, full seat pools, the sync backlog), who needs someone by severity, the
 * held changes; then users per state, what waiting users wait for, invitations, time to
 * invitation and drift repair.
 */
import type { overview } from '../../admin/overview';
import { PROVISIONING_STATES } from '../../domain/roles';
import { count, countdown, duration, reasonText, stateBadge, stateText, time, waitingText } from '../format';
import { html, jsonAttr, type Html } from '../html';
import { CONSOLE_PATH, csrfField, page, type Notice, type Viewer } from '../layout';
import type { Holders } from './user';

type Overview = Awaited<ReturnType<typeof overview>>;

/** A chart (drawn by the page's script with Chart.js) above the table that holds the same numbers. */
function chart(id: string, caption: string, labels: string[], series: { label: string; data: number[] }[], headers: [string, string]): Html {
  return html`<figure class="chart">
    <figcaption id="${id}-caption">${caption}</figcaption>
    <div class="canvas-box"><canvas id="${id}" role="img" aria-labelledby="${id}-caption" data-chart="${jsonAttr({ labels, series })}"></canvas></div>
    <div class="chart-table">
      <table class="data">
        <caption class="visually-hidden">
          ${caption}
        </caption>
        <thead>
          <tr>
            <th scope="col">${headers[0]}</th>
            <th scope="col" class="num">${headers[1]}</th>
          </tr>
        </thead>
        <tbody>
          ${labels.map(
            (l, i) =>
              html`<tr>
                <td>${l}</td>
                <td class="num">${series[0].data[i]}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
  </figure>`;
}

/** Where each kind of user that needs someone is listed in full, and what the overview calls it. */
const ATTENTION_GROUPS: Record<keyof Overview['attentionTotals'], { title: string; all: (n: string) => string }> = {
  failed: { title: 'Failed', all: (n) => `All failed users (${n})` },
  awaitingData: { title: 'Held for data or a login conflict', all: (n) => `All users held for data or a login conflict (${n})` },
  waitingForSeat: { title: 'Waiting for a seat', all: (n) => `All users waiting for a seat (${n})` },
};

const plural = (n: number, one: string, many: string) => `${count(n)} ${n === 1 ? one : many}`;

/** The strip at the top: what needs a person, each count linked to its list. */
function needsPersonStrip(o: Overview): Html {
  const n = o.needsPerson;
  const b = n.backlog;
  const pools = n.seatPools.filter((p) => p.full || p.waiting > 0);
  const item = (value: number | null, href: string, label: string, detail: Html | string) =>
    html`<li class="${value ? 'alert' : ''}">
      <a href="${href}"><strong class="n">${value === null ? '–' : count(value)}</strong> ${label}</a>
      <span class="help">${detail}</span>
    </li>`;
  return html`<section aria-labelledby="h-needs" class="needs">
    <h2 id="h-needs">Needs a person</h2>
    <ul class="tally">
      ${item(
        n.heldChanges,
        '#h-held',
        n.heldChanges === 1 ? 'held change' : 'held changes',
        n.heldChanges === null ? 'the mass-deprovisioning guard is off' : 'suspensions and terminations waiting for a Super User',
      )}
      ${item(n.heldForData, `${CONSOLE_PATH}/users?state=awaitingData`, 'held for data or a login conflict', 'missing or conflicting data from the identity provider')}
      ${item(n.failed, `${CONSOLE_PATH}/users?state=failed`, 'failed', 'a step failed; see each user for what to do')}
      ${
        pools.length
          ? pools.map(
              (p) =>
                html`<li class="alert">
                  <a href="${CONSOLE_PATH}/users?waitingFor=${encodeURIComponent(`seat:${p.orgKey}`)}"
                    ><strong class="n">${p.orgKey} ${count(p.used)}/${count(p.limit)}</strong>, ${count(p.waiting)} waiting</a
                  >
                  <span class="help">${p.full ? `seat pool of ${p.name} full` : `seats free in ${p.name}; waiting users get them at the next check`}</span>
                </li>`,
            )
          : html`<li>
              <span class="n-text">${n.seatPools.length ? 'Seats free in every pool' : 'No seat limits'}</span>
              <span class="help"
                >${n.seatPools.map((p) => `${p.orgKey} ${count(p.used)}/${count(p.limit)}`).join(', ') || 'no organisation has a seatLimit'}</span
              >
            </li>`
      }
      <li class="${b.changes || b.notStarted ? 'alert' : ''}">
        <a href="${CONSOLE_PATH}/users?state=notStarted"
          ><strong class="n">${count(b.changes)}</strong> ${b.changes === 1 ? 'change' : 'changes'} not started</a
        >
        <span class="help"
          >${
            b.changes || b.notStarted
              ? html`sync backlog:
                  ${b.changes ? `acknowledged to the identity provider, not yet handed to ${plural(b.users, 'workflow', 'workflows')} (oldest ${duration(b.oldestAgeSeconds)}); ` : ''}<strong
                    >${plural(b.notStarted, 'user', 'users')} not started yet</strong
                  >`
              : 'sync backlog: every acknowledged change has started'
          }</span
        >
      </li>
    </ul>
  </section>`;
}

/** Users that need someone, most severe kind first, each kind with its total and a link to all of them. */
function attentionSection(o: Overview, holders: Holders): Html {
  const totals = o.attentionTotals;
  const kinds = (Object.keys(ATTENTION_GROUPS) as (keyof typeof ATTENTION_GROUPS)[]).filter((k) => totals[k] > 0);
  const all = kinds.reduce((a, k) => a + totals[k], 0);
  return html`<section aria-labelledby="h-attention">
    <h2 id="h-attention">Needs someone</h2>
    ${
      all === 0
        ? html`<p>No failed or held users.</p>`
        : html`<p>
            ${plural(all, 'user', 'users')}, most severe first:
            ${kinds.map((k, i) => html`${i ? ', ' : ''}<a href="#h-attention-${k}">${count(totals[k])} ${ATTENTION_GROUPS[k].title.toLowerCase()}</a>`)}.
          </p>`
    }
    ${kinds.map((k) => {
      const rows = o.attention.filter((u) => u.state === k);
      return html`<h3 id="h-attention-${k}">${ATTENTION_GROUPS[k].title} (${count(totals[k])})</h3>
        <div class="table-wrap" role="region" aria-labelledby="h-attention-${k}" tabindex="0">
          <table class="data attention">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">State</th>
                <th scope="col">Reason</th>
                <th scope="col">What to do</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              ${rows.map(
                (u) =>
                  html`<tr>
                    <td><a href="${CONSOLE_PATH}/users/${u.userId}">${u.userName ?? u.userId}</a></td>
                    <td>${stateBadge(u.state)}</td>
                    <td>${u.lastError ? reasonText(u.lastError, holders) : waitingText(u.waitingFor)}</td>
                    <td>${u.advice ?? ''}</td>
                    <td>${time(u.since)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>
        <p>
          ${rows.length < totals[k] ? `The ${count(rows.length)} most recent are listed. ` : ''}<a href="${CONSOLE_PATH}/users?state=${k}"
            >${ATTENTION_GROUPS[k].all(count(totals[k]))}</a
          >
        </p>`;
    })}
  </section>`;
}

export function overviewPage(viewer: Viewer, o: Overview, temporalUiSchedule: string | null, notice?: Notice, holders: Holders = new Map()): Html {
  const states = PROVISIONING_STATES.filter((s) => (o.users[s] ?? 0) > 0 || ['onboarding', 'invited', 'active', 'failed'].includes(s));
  const stateCounts: [string, number][] = [
    ...states.map((s): [string, number] => [s, o.users[s] ?? 0]),
    ...(o.notStarted ? [['notStarted', o.notStarted] as [string, number]] : []),
  ];
  const total = Object.values(o.users).reduce((a, b) => a + b, 0);
  const f = o.invitationFunnel;
  const t = o.timeToInvitation;
  const r = o.reconcile;
  const schedule = r.schedule as { paused?: boolean; nextRuns?: string[]; recentRuns?: { scheduledAt: string; workflowId: string }[]; unavailable?: string };
  return page({
    title: 'Overview',
    viewer,
    active: 'overview',
    charts: true,
    notice,
    body: html`<h1>Overview</h1>
      <p class="lead">
        ${count(total)} users with a
        workflow${o.notStarted ? html`, <a href="${CONSOLE_PATH}/users?state=notStarted">${count(o.notStarted)} not started yet</a>` : ''} · policy version
        ${o.configVersion} · <a href="${CONSOLE_PATH}/users?waiting=true">${count(o.waiting.reduce((a, w) => a + w.users, 0))} waiting</a>
      </p>
      ${needsPersonStrip(o)} ${attentionSection(o, holders)}
      <section aria-labelledby="h-held">
        <h2 id="h-held">Held mass-deprovisioning changes</h2>
        ${
          o.heldChanges === null
            ? html`<p>
                The mass-deprovisioning guard is off for this tenant (deprovisionGuard.enabled: false): no suspension or termination is held for a decision.
              </p>`
            : o.heldChanges.held.length === 0
              ? html`<p>
                  Nothing held. The guard holds suspensions and terminations beyond ${o.heldChanges.guard.threshold} within ${o.heldChanges.guard.window}.
                </p>`
              : html`<p>
                    ${plural(o.heldChanges.held.length, 'change', 'changes')} beyond ${o.heldChanges.guard.threshold} within ${o.heldChanges.guard.window} wait
                    for a Super User.
                  </p>
                  ${
                    viewer.canWrite
                      ? html`<nav class="actions" aria-label="Decide all held changes">
                          <a class="button danger" href="${CONSOLE_PATH}/held-changes/confirm/allow">Allow all ${count(o.heldChanges.held.length)}</a>
                          <a class="button" href="${CONSOLE_PATH}/held-changes/confirm/reject">Reject all ${count(o.heldChanges.held.length)}</a>
                        </nav>`
                      : ''
                  }
                  <div class="table-wrap" role="region" aria-label="Held changes, table" tabindex="0">
                    <table class="data">
                      <thead>
                        <tr>
                          <th scope="col">User</th>
                          <th scope="col">Change</th>
                          <th scope="col">Held since</th>
                          <th scope="col">Why</th>
                          ${viewer.canWrite ? html`<th scope="col">Decision</th>` : ''}
                        </tr>
                      </thead>
                      <tbody>
                        ${o.heldChanges.held.map(
                          (h) =>
                            html`<tr>
                              <td>
                                <a href="${CONSOLE_PATH}/users/${h.userId}">${h.name ?? h.userName ?? h.userId}</a>
                                ${h.name && h.userName ? html`<br /><small>${h.userName}</small>` : ''}
                              </td>
                              <td>${h.change === 'terminate' ? 'termination' : 'suspension'}</td>
                              <td>${time(h.heldAt)}</td>
                              <td>${h.reason}</td>
                              ${
                                viewer.canWrite
                                  ? html`<td class="actions">
                                      <form method="post" action="${CONSOLE_PATH}/held-changes/${h.id}/allow">
                                        ${csrfField(viewer)}<button
                                          type="submit"
                                          class="danger"
                                          aria-label="Allow the ${h.change === 'terminate' ? 'termination' : 'suspension'} of ${h.name ?? h.userName ?? h.userId}"
                                        >
                                          Allow
                                        </button>
                                      </form>
                                      <form method="post" action="${CONSOLE_PATH}/held-changes/${h.id}/reject">
                                        ${csrfField(viewer)}<button
                                          type="submit"
                                          aria-label="Reject the ${h.change === 'terminate' ? 'termination' : 'suspension'} of ${h.name ?? h.userName ?? h.userId}"
                                        >
                                          Reject
                                        </button>
                                      </form>
                                    </td>`
                                  : ''
                              }
                            </tr>`,
                        )}
                      </tbody>
                    </table>
                  </div>`
        }
      </section>
      <div class="grid">
        <section aria-labelledby="h-states">
          <h2 id="h-states">Users per state</h2>
          ${chart(
            'chart-states',
            'Users per provisioning state',
            stateCounts.map(([s]) => stateText(s)),
            [{ label: 'Users', data: stateCounts.map(([, n]) => n) }],
            ['State', 'Users'],
          )}
        </section>
        <section aria-labelledby="h-waiting">
          <h2 id="h-waiting">What waiting users wait for</h2>
          ${
            o.waiting.length === 0
              ? html`<p>Nobody is waiting.</p>`
              : html`<table class="data">
                  <thead>
                    <tr>
                      <th scope="col">Waiting for</th>
                      <th scope="col" class="num">Users</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${o.waiting.map(
                      (w) =>
                        html`<tr>
                          <td><a href="${CONSOLE_PATH}/users?waitingFor=${encodeURIComponent(w.waitingFor)}">${waitingText(w.waitingFor)}</a></td>
                          <td class="num">${w.users}</td>
                        </tr>`,
                    )}
                  </tbody>
                </table>`
          }
        </section>
        <section aria-labelledby="h-funnel">
          <h2 id="h-funnel">Invitations, last ${f.days} days</h2>
          ${chart(
            'chart-funnel',
            `Invitation funnel, last ${f.days} days`,
            ['sent', 'reminded', 'accepted', 'expired'],
            [{ label: 'Invitations', data: [f.sent, f.reminded, f.accepted, f.expired] }],
            ['Event', 'Count'],
          )}
        </section>
        <section aria-labelledby="h-tti">
          <h2 id="h-tti">From acknowledgement to invitation</h2>
          <p>
            First invitations of the last ${t.days} days: <strong>${t.count}</strong>. Median <strong>${duration(t.p50)}</strong>, 90th percentile
            <strong>${duration(t.p90)}</strong>, 99th <strong>${duration(t.p99)}</strong>
            <span class="help">(from the IdP's 201 to the mail; includes propagation windows and start dates)</span>.
          </p>
          ${chart(
            'chart-tti',
            'Time from SCIM acknowledgement to first invitation',
            t.histogram.map((h) => h.label),
            [{ label: 'Users', data: t.histogram.map((h) => h.users) }],
            ['Time', 'Users'],
          )}
        </section>
      </div>
      <section aria-labelledby="h-drift">
        <h2 id="h-drift">Drift repair</h2>
        <p>
          ${r.enabled ? html`Every <strong>${r.interval}</strong>` : html`<strong>Paused</strong> by the policy (reconcile.enabled: false)`} · schedule
          <code>${r.scheduleId}</code>${temporalUiSchedule ? html` (<a href="${temporalUiSchedule}">in the Temporal UI</a>)` : ''}.
        </p>
        ${schedule.unavailable ? html`<p class="notice error">The schedule could not be read from Temporal: ${schedule.unavailable}</p>` : ''}
        ${schedule.nextRuns?.length ? html`<p>Next run ${countdown(schedule.nextRuns[0])} (${time(schedule.nextRuns[0])}).</p>` : ''}
        ${
          r.lastRun
            ? html`<p>
                Last run finished ${time(r.lastRun.at)}: ${String(r.lastRun.totals.checked ?? 0)} users checked, ${String(r.lastRun.totals.drifted ?? 0)}
                repaired, ${String(r.lastRun.totals.skipped ?? 0)} left to their workflow.
              </p>`
            : html`<p>No run has finished yet.</p>`
        }
        ${
          viewer.canWrite
            ? html`<form method="post" action="${CONSOLE_PATH}/reconcile">${csrfField(viewer)}<button type="submit">Run drift repair now</button></form>`
            : ''
        }
      </section>`,
  });
}
