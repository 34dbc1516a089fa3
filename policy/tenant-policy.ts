/**
 * Tenant policy use cases shared by the admin API and the tenant-config CLI:
 * - save a configuration version and tell exactly the users whose desired state it changes;
 * - preview a draft for the whole tenant, or one user, without changing anything.
 */
import { countOpenInvitations } from '../common/repositories/invitations';
import type { Db, Queryable } from '../common/db';
import { desiredUser, type DesiredUser } from '../domain/desired-user';
import { diffDesired, diffStates, stateOf, summariseChanges, type ChangeSummary, type DirectoryState, type FieldChange } from '../domain/directory-diff';
import { formatProblem, parseTenantConfig, validateTenantConfig, TenantConfigError, type ConfigProblem, type TenantConfig } from '../domain/tenant-config';
import { fromProblem, type SenderPolicy } from '../common/mail/sender';
import { appendAudit } from '../common/repositories/audit-log';
import { observedStates } from '../common/repositories/entitlements';
import { recordChanges, userChanges } from '../common/repositories/outbox';
import { pageOfUsers, type StoredUser } from '../common/repositories/scim-users';
import { currentConfig, lockTenant, saveConfigVersion } from '../common/repositories/tenants';
import { desiredStatesUnder } from './desired-state';

/** Users read per page when a whole tenant is compared. */
const PAGE_SIZE = 500;

/** Thrown when the tenant named does not exist. */
export class TenantNotFoundError extends Error {
  constructor(readonly tenantId: string) {
    super(`tenant "${tenantId}" does not exist`);
    this.name = 'TenantNotFoundError';
  }
}

export interface UserChanges {
  userId: string;
  userName: string;
  changes: FieldChange[];
}

/**
 * Compares every SCIM user of the tenant under two configurations, page by page, and calls
 * `onPage` with the users whose desired state differs. Terminated users are left out: their
 * workflow has finished and must not be started again by a policy change.
 */
async function compareTenant(
  db: Queryable,
  tenantId: string,
  before: TenantConfig,
  after: TenantConfig,
  onPage: (changed: (UserChanges & { version: number })[]) => Promise<void>,
): Promise<number> {
  let compared = 0;
  for (let cursor: string | null = null; ;) {
    const page: StoredUser[] = await pageOfUsers(db, tenantId, cursor, PAGE_SIZE);
    if (page.length === 0) break;
    const live = page.filter((u) => u.appStatus !== 'terminated');
    const [old, next] = await desiredStatesUnder(
      db,
      tenantId,
      live.map((u) => u.id),
      [before, after],
    );
    // A user deleted since the page was read is absent: its workflow ends, there is nothing to compare.
    const comparable = live.filter((u) => old.has(u.id));
    const changed = comparable.flatMap((u) => {
      const [was, will] = [old.get(u.id)!, next.get(u.id)!];
      const changes = diffDesired(was.desired, will.desired);
      return changes.length > 0 ? [{ userId: u.id, userName: u.userName, version: was.version, changes }] : [];
    });
    compared += comparable.length;
    await onPage(changed);
    if (page.length < PAGE_SIZE) break;
    cursor = page[page.length - 1].id;
  }
  return compared;
}

export interface SaveResult {
  version: number;
  previousVersion: number;
  usersCompared: number;
  /** Users whose desired state changed: each got an outbox row ('policy'), so its workflow re-provisions. */
  signalled: number;
  summary: ChangeSummary;
  /** Rules of the saved version that can never change anything ("path: message"). */
  warnings: string[];
}

/** The operator's rules on top of the document's own: a sender (`invitation.from`) in a domain the operator allows (common/mail/sender.ts). */
function operatorProblems(config: TenantConfig, senderPolicy?: SenderPolicy): ConfigProblem[] {
  const from = config.invitation.from;
  const problem = from !== undefined && senderPolicy ? fromProblem(from, senderPolicy) : undefined;
  return problem ? [{ path: ['invitation', 'from'], message: problem }] : [];
}

/** Every problem of a configuration, the operator's rules included (admin API and CLI `validate`). */
export function configProblems(input: unknown, senderPolicy?: SenderPolicy): ConfigProblem[] {
  const result = validateTenantConfig(input);
  return result.ok ? operatorProblems(result.config, senderPolicy) : result.problems;
}

/** Validates a configuration: the parsed one and its warnings ("path: message"), or TenantConfigError with every problem. */
function validated(input: unknown, senderPolicy?: SenderPolicy): { config: TenantConfig; warnings: string[] } {
  const result = validateTenantConfig(input);
  if (!result.ok) throw new TenantConfigError(result.problems.map(formatProblem));
  const problems = operatorProblems(result.config, senderPolicy);
  if (problems.length > 0) throw new TenantConfigError(problems.map(formatProblem));
  return { config: result.config, warnings: result.warnings.map(formatProblem) };
}

/**
 * Validates and stores a new configuration version and, in the same transaction, enqueues a
 * `policy` change for exactly the users whose desired state differs under it (desired state
 * under the old and the new version compared). The outbox relay delivers them to the users'
 * workflows; nothing is lost if Temporal is down. Throws TenantConfigError (every problem) or
 * TenantNotFoundError.
 */
export async function saveTenantConfig(
  db: Db,
  tenantId: string,
  input: unknown,
  opts: { createdBy: string; requestId: string; senderPolicy?: SenderPolicy },
): Promise<SaveResult> {
  const { config, warnings } = validated(input, opts.senderPolicy); // every problem, before anything is written
  return db.withTransaction(async (tx) => {
    if (!(await lockTenant(tx, tenantId))) throw new TenantNotFoundError(tenantId);
    const previous = await currentConfig(tx, tenantId);
    const version = await saveConfigVersion(tx, tenantId, config, opts.createdBy);
    const perUser: FieldChange[][] = [];
    let signalled = 0;
    const usersCompared = await compareTenant(tx, tenantId, previous.config, config, async (changed) => {
      signalled += await recordChanges(
        tx,
        userChanges(
          tenantId,
          'policy',
          opts.requestId,
          changed.map((c) => ({ id: c.userId, version: c.version })),
        ),
      );
      perUser.push(...changed.map((c) => c.changes));
    });
    const summary = summariseChanges(perUser, usersCompared);
    await appendAudit(tx, {
      tenantId,
      userId: null,
      action: 'config.saved',
      detail: { version, previousVersion: previous.version, createdBy: opts.createdBy, usersCompared, signalled, summary: summary.text.slice(0, 50) },
      requestId: opts.requestId,
    });
    return { version, previousVersion: previous.version, usersCompared, signalled, summary, warnings };
  });
}

export interface TenantPreview {
  currentVersion: number;
  usersCompared: number;
  summary: ChangeSummary;
  /** The first `sampleLimit` users that would change, with their changes. */
  users: UserChanges[];
  truncated: boolean;
  /** Rules of the draft that can never change anything, and what a changed invitation expiry does to open links ("path: message"). */
  warnings: string[];
}

/** What a draft configuration would change across the tenant, against today's; writes nothing. */
export async function previewTenantConfig(db: Queryable, tenantId: string, draftInput: unknown, opts: { sampleLimit?: number } = {}): Promise<TenantPreview> {
  const { config: draft, warnings } = validated(draftInput);
  const current = await currentConfig(db, tenantId);
  const sampleLimit = opts.sampleLimit ?? 100;
  const perUser: FieldChange[][] = [];
  const users: UserChanges[] = [];
  const usersCompared = await compareTenant(db, tenantId, current.config, draft, async (changed) => {
    perUser.push(...changed.map((c) => c.changes));
    for (const c of changed) if (users.length < sampleLimit) users.push({ userId: c.userId, userName: c.userName, changes: c.changes });
  });
  // Not a directory change, so not in the summary: say what a new expiry does to the links already out.
  const notes = [...warnings];
  if (draft.invitation.expiresAfter !== current.config.invitation.expiresAfter) {
    const open = await countOpenInvitations(db, tenantId);
    notes.push(
      `invitation.expiresAfter: ${draft.invitation.expiresAfter} applies to invitations sent from now on; the ${open} open invitation${open === 1 ? '' : 's'} keep${open === 1 ? 's' : ''} the expiry ${open === 1 ? 'its link was' : 'their links were'} sent with (${current.config.invitation.expiresAfter})`,
    );
  }
  return {
    currentVersion: current.version,
    usersCompared,
    summary: summariseChanges(perUser, usersCompared),
    users,
    truncated: perUser.length > users.length,
    warnings: notes,
  };
}

export interface UserPreview {
  configVersion: number | 'draft';
  /** What would be provisioned. */
  desired: DesiredUser;
  state: DirectoryState;
  /** With a draft: what changes against today's configuration. */
  changesFromCurrentConfig?: FieldChange[];
  /** For a stored user: what the application directory would have to change (empty: it already matches). */
  changesFromDirectory?: FieldChange[];
}

/**
 * One user under today's configuration or a draft: a stored user by id (with its groups), or a
 * SCIM document not stored yet (with the group names it would have). Writes nothing.
 */
export async function previewUser(
  db: Queryable,
  tenantId: string,
  subject: { userId: string } | { doc: Record<string, unknown>; groups?: string[] },
  draftInput?: unknown,
): Promise<UserPreview | undefined> {
  const current = await currentConfig(db, tenantId);
  const draft = draftInput === undefined ? undefined : parseTenantConfig(draftInput);
  let today: DesiredUser;
  let desired: DesiredUser;
  let changesFromDirectory: FieldChange[] | undefined;
  if ('userId' in subject) {
    const [now, underDraft] = await desiredStatesUnder(db, tenantId, [subject.userId], draft ? [current.config, draft] : [current.config]);
    if (!now.has(subject.userId)) return undefined;
    today = now.get(subject.userId)!.desired;
    desired = underDraft ? underDraft.get(subject.userId)!.desired : today;
    const observed = (await observedStates(db, tenantId, [subject.userId])).get(subject.userId);
    if (observed) changesFromDirectory = diffStates(observed, stateOf(desired));
  } else {
    today = desiredUser(subject.doc, current.config, subject.groups ?? []);
    desired = draft ? desiredUser(subject.doc, draft, subject.groups ?? []) : today;
  }
  return {
    configVersion: draft ? 'draft' : current.version,
    desired,
    state: stateOf(desired),
    ...(draft ? { changesFromCurrentConfig: diffDesired(today, desired) } : {}),
    ...(changesFromDirectory ? { changesFromDirectory } : {}),
  };
}
