/** The overview: users per state, what waiting users wait for, invitations, time to invitation, who needs someone, held changes, drift repair. */
import type { overview } from '../../admin/overview';
import { PROVISIONING_STATES } from '../../domain/roles';
import { countdown, duration, stateBadge, time, waitingText } from '../format';
import { html, jsonAttr, type Html } from '../html';
import { CONSOLE_PATH, csrfField, page, type Notice, type Viewer } from '../layout';

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

export function overviewPage(viewer: Viewer, o: Overview, temporalUiSchedule: string | null, notice?: Notice): Html {
  const states = PROVISIONING_STATES.filter((s) => (o.users[s] ?? 0) > 0 || ['onboarding', 'invited', 'active', 'failed'].includes(s));
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
        ${total} users with a workflow · policy version ${o.configVersion} · <a href="${CONSOLE_PATH}/users?state=failed">${o.users.failed ?? 0} failed</a> ·
        <a href="${CONSOLE_PATH}/users?waiting=true">${o.waiting.reduce((a, w) => a + w.users, 0)} waiting</a>
      </p>
      <div class="grid">
        <section aria-labelledby="h-states">
          <h2 id="h-states">Users per state</h2>
          ${chart('chart-states', 'Users per provisioning state', states, [{ label: 'Users', data: states.map((s) => o.users[s] ?? 0) }], ['State', 'Users'])}
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
      <section aria-labelledby="h-attention">
        <h2 id="h-attention">Needs someone</h2>
        ${
          o.attention.length === 0
            ? html`<p>No failed or held users.</p>`
            : html`<div class="table-wrap" role="region" aria-label="Users that need someone, table" tabindex="0">
                <table class="data">
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
                    ${o.attention.map(
                      (u) =>
                        html`<tr>
                          <td><a href="${CONSOLE_PATH}/users/${u.userId}">${u.userName ?? u.userId}</a></td>
                          <td>${stateBadge(u.state)}</td>
                          <td>${u.lastError ?? waitingText(u.waitingFor)}</td>
                          <td>${u.advice ?? ''}</td>
                          <td>${time(u.since)}</td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`
        }
      </section>
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
                    ${o.heldChanges.held.length} changes beyond ${o.heldChanges.guard.threshold} within ${o.heldChanges.guard.window} wait for a Super User.
                  </p>
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
