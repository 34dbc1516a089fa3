/** Policy: the current configuration (YAML), version history, a diff of any two versions, and a draft checked, previewed and saved. */
import type { diffVersions } from '../../admin/config';
import type { previewTenant } from '../../admin/preview';
import { change } from '../format';
import { time } from '../format';
import { html, type Html } from '../html';
import { CONSOLE_PATH, csrfField, page, type Notice, type Viewer } from '../layout';

type Diff = Awaited<ReturnType<typeof diffVersions>>;
type Preview = Awaited<ReturnType<typeof previewTenant>>;

export interface DraftCheck {
  /** Validation problems, each with its path ("rules.0.set.client: …"). */
  problems: { path: string; message: string }[];
  /** Warnings the admin API reports for a valid draft ("path: message", e.g. a rule that can never change anything). */
  warnings?: string[];
  preview?: Preview;
  error?: string;
}

/** Unchanged lines kept on each side of a change; longer unchanged runs are collapsed. */
export const DIFF_CONTEXT = 3;

type DiffLine = Diff['lines'][number];
export type DiffRow = DiffLine | { kind: 'skipped'; count: number };

/**
 * The diff as a reader follows it: every added and removed line, `context` unchanged lines
 * around each change, and each longer unchanged run (of two lines or more) collapsed into one
 * "skipped" row that says how many lines it stands for.
 */
export function collapseDiff(lines: readonly DiffLine[], context = DIFF_CONTEXT): DiffRow[] {
  const changed = lines.map((l) => l.kind !== 'same');
  const near = (i: number) => {
    for (let j = Math.max(0, i - context); j <= Math.min(lines.length - 1, i + context); j += 1) if (changed[j]) return true;
    return false;
  };
  const rows: DiffRow[] = [];
  let skipped: DiffLine[] = [];
  // A marker for one line would save nothing: that line is shown instead.
  const flush = () => {
    if (skipped.length === 1) rows.push(skipped[0]);
    else if (skipped.length > 1) rows.push({ kind: 'skipped', count: skipped.length });
    skipped = [];
  };
  lines.forEach((l, i) => {
    if (l.kind !== 'same' || near(i)) {
      flush();
      rows.push(l);
    } else skipped.push(l);
  });
  flush();
  return rows;
}

/** The difference of two versions, line by line: added and removed lines marked, unchanged context collapsed, long lines wrapped. */
function diffView(diff: Diff): Html {
  const added = diff.lines.filter((l) => l.kind === 'added').length;
  const removed = diff.lines.filter((l) => l.kind === 'removed').length;
  const mark = { added: '+ ', removed: '- ', same: '  ' } as const;
  const said = { added: 'added: ', removed: 'removed: ', same: '' } as const;
  // No whitespace between the rows: each is a block of its own inside the <pre>.
  const rows = collapseDiff(diff.lines).map((r) =>
    r.kind === 'skipped'
      ? html`<span class="skipped">… ${r.count} unchanged line${r.count === 1 ? '' : 's'}</span>`
      : html`<span class="${r.kind}"><span class="visually-hidden">${said[r.kind]}</span><span aria-hidden="true">${mark[r.kind]}</span>${r.text}</span>`,
  );
  return html`<p>
      <span class="diff-added">${added} line${added === 1 ? '' : 's'} added</span>, <span class="diff-removed">${removed} removed</span>; unchanged lines
      further than ${DIFF_CONTEXT} from a change are collapsed.
    </p>
    <pre class="diff">${rows}</pre>`;
}

export function policyPage(options: {
  viewer: Viewer;
  current: { version: number; createdBy: string; createdAt: Date };
  versions: { version: number; createdBy: string; createdAt: Date }[];
  draft: string;
  check?: DraftCheck;
  diff?: Diff;
  diffFrom?: string;
  diffTo?: string;
  notice?: Notice;
}): Html {
  const { viewer, check, diff } = options;
  const versionOption = (v: number, selected?: string) => html`<option value="${v}" ${String(v) === selected ? html` selected` : ''}>v${v}</option>`;
  return page({
    title: 'Policy',
    viewer,
    active: 'policy',
    notice: options.notice,
    body: html`<h1>Policy</h1>
      <p class="lead">
        Version <strong>${options.current.version}</strong>, saved by ${options.current.createdBy} ${time(options.current.createdAt)}. Organisations, defaults,
        mapping rules, windows, invitation and drift repair (docs/tenant-policy.md).
      </p>
      <form method="post" class="stack editor" aria-labelledby="h-draft">
        <h2 id="h-draft">Draft</h2>
        ${csrfField(viewer)}
        <label for="draft">Configuration (YAML or JSON)</label>
        <textarea id="draft" name="draft" rows="24" spellcheck="false" required aria-describedby="draft-help${check?.problems.length ? ' draft-problems' : ''}">
${options.draft}</textarea>
        <p id="draft-help" class="help">
          Edit here, or load a file:
          <input type="file" id="draft-file" accept=".yaml,.yml,.json" data-load-into="draft" aria-label="Load a draft from a file" /> Checking validates the
          draft and previews its effect on today's users; nothing is written until you save.
        </p>
        <div class="actions">
          <button type="submit" formaction="${CONSOLE_PATH}/policy/check">Check and preview</button>
          ${viewer.canWrite ? html`<button type="submit" formaction="${CONSOLE_PATH}/policy/save" class="primary">Save as a new version</button>` : html`<span class="help">Read-only: only a Super User saves.</span>`}
        </div>
      </form>
      ${
        check
          ? html`<section aria-labelledby="h-check" class="check">
              <h2 id="h-check">Check</h2>
              ${check.error ? html`<p class="notice error" role="alert">${check.error}</p>` : ''}
              ${
                check.problems.length
                  ? html`<div id="draft-problems">
                      <p class="error-text" role="alert">
                        ${check.problems.length} problem${check.problems.length === 1 ? '' : 's'}; the draft cannot be saved:
                      </p>
                      <ul class="problems">
                        ${check.problems.map((p) => html`<li><code>${p.path || '(root)'}</code>: ${p.message}</li>`)}
                      </ul>
                    </div>`
                  : check.error
                    ? ''
                    : html`<p>The draft is valid.</p>`
              }
              ${
                check.warnings?.length
                  ? html`<h3>Warnings</h3>
                      <ul class="warnings">
                        ${check.warnings.map((w) => html`<li>${w}</li>`)}
                      </ul>`
                  : ''
              }
              ${
                check.preview
                  ? html`<h3>Effect on today's users</h3>
                      <p>
                        ${check.preview.usersCompared} users compared against version ${check.preview.currentVersion};
                        <strong>${check.preview.summary.usersChanged}</strong> would change.
                      </p>
                      ${
                        check.preview.summary.text.length
                          ? html`<ul class="summary">
                              ${check.preview.summary.text.map((t) => html`<li>${t}</li>`)}
                            </ul>`
                          : html`<p>No user would change.</p>`
                      }
                      ${
                        check.preview.users.length
                          ? html`<div class="table-wrap" role="region" aria-label="Users that would change" tabindex="0">
                                <table class="data">
                                  <thead>
                                    <tr>
                                      <th scope="col">User</th>
                                      <th scope="col">Changes</th>
                                    </tr>
                                  </thead>
                                  <tbody>
                                    ${check.preview.users.map(
                                      (u) =>
                                        html`<tr>
                                          <td><a href="${CONSOLE_PATH}/users/${u.userId}">${u.userName}</a></td>
                                          <td>
                                            <ul class="changes">
                                              ${u.changes.map((c) => html`<li>${change(c)}</li>`)}
                                            </ul>
                                          </td>
                                        </tr>`,
                                    )}
                                  </tbody>
                                </table>
                              </div>
                              ${check.preview.truncated ? html`<p class="help">The first ${check.preview.users.length} users are listed.</p>` : ''}`
                          : ''
                      }`
                  : ''
              }
            </section>`
          : ''
      }
      <section aria-labelledby="h-versions">
        <h2 id="h-versions">Versions</h2>
        <form method="get" action="${CONSOLE_PATH}/policy" class="filters" aria-label="Compare two versions">
          <div>
            <label for="from">From</label
            ><select id="from" name="from">
              ${options.versions.map((v) => versionOption(v.version, options.diffFrom))}
            </select>
          </div>
          <div>
            <label for="to">To</label
            ><select id="to" name="to">
              ${options.versions.map((v) => versionOption(v.version, options.diffTo))}
            </select>
          </div>
          <div class="filter-submit"><button type="submit">Compare</button></div>
        </form>
        ${
          diff
            ? html`<h3>v${diff.from.version} → v${diff.to.version}</h3>
                ${diff.changed ? diffView(diff) : html`<p>The two versions are the same.</p>`}`
            : ''
        }
        <div class="table-wrap" role="region" aria-label="Version history" tabindex="0">
          <table class="data">
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Saved by</th>
                <th scope="col">When</th>
                <th scope="col">Compare</th>
              </tr>
            </thead>
            <tbody>
              ${options.versions.map(
                (v) =>
                  html`<tr>
                    <td>v${v.version}</td>
                    <td>${v.createdBy}</td>
                    <td>${time(v.createdAt)}</td>
                    <td>${v.version > 1 ? html`<a href="${CONSOLE_PATH}/policy?from=${v.version - 1}&amp;to=${v.version}">with v${v.version - 1}</a>` : ''}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>
      </section>`,
  });
}
