/** Provision on demand: what a user (stored, or pasted as a SCIM body with groups) would get, which steps would run; then run now. */
import type { previewOneUser } from '../../admin/preview';
import type { UserListRow } from '../../common/repositories/admin-search';
import { fieldLabel } from '../../domain/directory-diff';
import { SETTING_KINDS } from '../../domain/roles';
import { change } from '../format';
import { html, type Html } from '../html';
import { CONSOLE_PATH, csrfField, facts, page, type Notice, type Viewer } from '../layout';

export type UserPreviewResult = Awaited<ReturnType<typeof previewOneUser>>;

const STEP_TEXT: Record<string, string> = {
  createProfile: 'Profile (name, email, phones, client)',
  assignOrganisations: 'Organisations and client roles',
  assignLicences: 'Licences (takes a seat where the pool is limited)',
  assignProviderAccounts: 'Provider accounts',
  applyAccessSettings: 'Security role, employee type, tags, teams, facilities, notifications',
};

export interface PreviewForm {
  user?: string;
  scimBody?: string;
  groups?: string;
}

function result(viewer: Viewer, r: UserPreviewResult, storedUserId: string | undefined): Html {
  const d = r.desired;
  const rows: [string, string][] = [
    ['client', d.clientKey ?? '(none)'],
    ['organisations', d.memberships.map((m) => `${m.orgKey} (${m.kind}${m.role ? `, ${m.role}` : ''})`).join(', ') || '(none)'],
    ['licences', d.licences.map((l) => `${l.orgKey}: ${l.licenceLevel}${l.mobileLicence ? ` + ${l.mobileLicence}` : ''}`).join(', ') || '(none)'],
    ['provider accounts', d.providerAccounts.map((p) => `${p.providerType} @ ${p.orgKey}`).join(', ') || '(none)'],
    ['security role', d.securityRole ?? '(none)'],
    ['employee type', d.employeeType ?? '(none)'],
    ['case manager', d.caseManager ? 'yes' : 'no'],
    ['grid export', d.allowGridExport ? 'yes' : 'no'],
    ['documentation', d.receivesDocumentation ? 'yes' : 'no'],
    ...SETTING_KINDS.map((k): [string, string] => [fieldLabel(`settings.${k}`), d.settings[k].join(', ') || '(none)']),
    ['start date', d.startDate ?? '(none)'],
    ['end date', d.endDate ?? '(none)'],
  ];
  return html`<section aria-labelledby="h-result" class="result">
    <h2 id="h-result">
      What would be provisioned <span class="muted">(policy ${r.configVersion === 'draft' ? 'draft' : `v${r.configVersion}`}; nothing was written)</span>
    </h2>
    ${d.missing.length ? html`<p class="error-text">Onboarding would wait for data: ${d.missing.join('; ')}</p>` : html`<p>All required data is there.</p>`}
    ${d.active ? '' : html`<p class="error-text">The user is inactive (active=false): the workflow would suspend instead.</p>`}
    <p>Rules that match: ${d.matchedRules.length ? html`<strong>${d.matchedRules.join(', ')}</strong>` : 'none'}.</p>
    ${facts(undefined, 'Desired state', rows)}
    <h3>Steps that would run</h3>
    ${
      r.steps.length
        ? html`<ol>
            ${r.steps.map((s) => html`<li>${STEP_TEXT[s.step] ?? s.step}${s.fields.length ? html` <span class="muted">(${s.fields.map(fieldLabel).join(', ')})</span>` : ''}</li>`)}
          </ol>`
        : html`<p>None: the directory already holds all of it.</p>`
    }
    ${
      r.changesFromDirectory?.length
        ? html`<h3>Changes against the directory</h3>
            <ul class="changes">
              ${r.changesFromDirectory.map((c) => html`<li>${change(c)}</li>`)}
            </ul>`
        : ''
    }
    ${
      storedUserId && viewer.canWrite
        ? html`<form method="post" action="${CONSOLE_PATH}/preview/run" class="actions">
            ${csrfField(viewer)}<input type="hidden" name="userId" value="${storedUserId}" /> <button type="submit">Run now</button>
            <span class="help">Signals the user's workflow to run its steps now; its page shows them arriving.</span>
          </form>`
        : ''
    }
  </section>`;
}

export function previewPage(
  viewer: Viewer,
  form: PreviewForm,
  outcome?: { result?: UserPreviewResult; storedUserId?: string; matches?: UserListRow[]; error?: string; problems?: string[] },
  notice?: Notice,
): Html {
  return page({
    title: 'Provision on demand',
    viewer,
    active: 'preview',
    notice,
    body: html`<h1>Provision on demand</h1>
      <p class="lead">See what a user would get and which steps would run, without writing anything; then run an existing user's workflow now.</p>
      <div class="grid two">
        <form method="get" action="${CONSOLE_PATH}/preview" class="stack" aria-labelledby="h-existing">
          <h2 id="h-existing">An existing user</h2>
          <label for="user">Id, userName or email</label>
          <input id="user" name="user" value="${form.user ?? ''}" required maxlength="200" />
          <button type="submit">Preview</button>
        </form>
        <form method="post" action="${CONSOLE_PATH}/preview" class="stack" aria-labelledby="h-new">
          <h2 id="h-new">A user not pushed yet</h2>
          ${csrfField(viewer)}
          <label for="scimBody">SCIM User (JSON)</label>
          <textarea id="scimBody" name="scimBody" rows="8" spellcheck="false" required>${form.scimBody ?? ''}</textarea>
          <label for="groups">Groups, one display name per line</label>
          <textarea id="groups" name="groups" rows="3" spellcheck="false">${form.groups ?? ''}</textarea>
          <button type="submit">Preview</button>
        </form>
      </div>
      ${outcome?.error ? html`<p class="notice error" role="alert">${outcome.error}</p>` : ''}
      ${
        outcome?.problems?.length
          ? html`<ul class="problems">
              ${outcome.problems.map((p) => html`<li>${p}</li>`)}
            </ul>`
          : ''
      }
      ${
        outcome?.matches && outcome.matches.length > 1
          ? html`<section aria-labelledby="h-pick">
              <h2 id="h-pick">Several users match; pick one</h2>
              <ul>
                ${outcome.matches.map(
                  (m) =>
                    html`<li>
                      <a href="${CONSOLE_PATH}/preview?user=${m.userId}">${m.displayName ?? m.userName ?? m.userId}</a>
                      <span class="muted">${m.userName ?? ''}</span>
                    </li>`,
                )}
              </ul>
            </section>`
          : ''
      }
      ${outcome?.result ? result(viewer, outcome.result, outcome.storedUserId) : ''}`,
  });
}
