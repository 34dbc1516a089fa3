/**
 * Onboarding steps: each reads the desired state from PostgreSQL (SCIM data + groups + tenant
 * configuration with its mapping rules), converges the application directory to it in one
 * transaction, and audits what it changed. Re-running a step changes nothing, so retries and
 * re-deliveries are safe.
 */
import crypto from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { Queryable } from '../common/db';
import type { DesiredMembership, DesiredUser } from '../domain/desired-user';
import { diffStates, stateOf } from '../domain/directory-diff';
import { keepWhileHeld, type HeldAccess } from '../domain/least-privilege';
import { SETTING_KINDS } from '../domain/roles';
import { lifecycleTimings } from '../domain/tenant-config';
import { readDesiredState, type DesiredState } from '../policy/desired-state';
import { NO_ACCESS, syncAccessSettings } from '../common/repositories/access-settings';
import { markRehired, setHold, upsertProfile } from '../common/repositories/app-users';
import { comparableState, directoryOf, type UserDirectory } from '../common/repositories/entitlements';
import { syncLicences } from '../common/repositories/licences';
import { claimLogins, loginHolders, waitForLogins, type LoginWanted } from '../common/repositories/login-claims';
import { syncMemberships } from '../common/repositories/memberships';
import { deletionRequestId } from '../common/repositories/outbox';
import { recordProvisioningState } from '../common/repositories/provisioning-states';
import { syncProviderAccounts } from '../common/repositories/provider-accounts';
import { isUuid } from '../domain/uuid';
import type { ActivityDeps } from './deps';
import { appendAudit } from '../common/repositories/audit-log';
import { auditBatch, stepOrigin, type AuditBatch } from './step-context';
import { appendLifecycleEvent, completeAsyncRequests } from '../events/lifecycle';
import { connectorSync, connectorsOf, failureOf, idempotencyKeyOf } from './connector-sync';
import { ledgerWithConnector } from '../common/repositories/connector-accounts';
import { ConnectorError, type AccountState, type ApplicationConnector } from '../connectors/port';
import { accountStateOf } from '../connectors/account-state';
import type { ConfigVersion } from '../common/repositories/tenants';
import {
  FAILURE_TYPES,
  type AccessCheck,
  type AccessSettingsResult,
  type AppliedAccess,
  type ConvergeInput,
  type ConvergeResult,
  type LicenceResult,
  type StepInput,
  type UserPlan,
  type CacheWindow,
  type PropagationCheck,
  type PropagationCheckInput,
  type VerifyAccessInput,
} from './types';

/** Whether propagation can be verified in the application (the directory's read-back is the ledger itself: its windows stand in for caches). */
function readsBack(connector: ApplicationConnector): boolean {
  return connector.readsBack && connector.kind !== 'directory';
}

/** What of the windows' changes the application does not show in force yet, in words. */
function pendingChanges(windows: CacheWindow[], desired: DesiredUser, held: AccountState): string[] {
  const pending: string[] = [];
  if (windows.includes('securityRole') && (held.access.securityRole ?? null) !== (desired.securityRole ?? null))
    pending.push(`the security role is ${held.access.securityRole ?? 'none'} in the application, not ${desired.securityRole ?? 'none'}`);
  const tags = (list: string[]) => [...list].sort().join('\u0000');
  if (windows.includes('tags') && tags(held.access.settings.employeeArea ?? []) !== tags(desired.settings.employeeArea))
    pending.push('the employee-area tags in the application differ from those applied');
  return pending;
}

/**
 * SCIM data + the user's groups + tenant configuration (defaults and mapping rules), and a
 * re-hire's earlier entitlements where its SCIM data leaves them out; computed in
 * policy/desired-state.ts, which policy changes, previews and drift repair share.
 */
async function readDesired(db: Queryable, input: StepInput): Promise<{ config: ConfigVersion; state?: DesiredState }> {
  return readDesiredState(db, input.tenantId, input.userId);
}

/** The desired state (with the configuration it was computed under), or a non-retryable failure when the user is gone. */
async function mustRead(db: Queryable, input: StepInput): Promise<DesiredState & { config: ConfigVersion }> {
  const { config, state } = await readDesired(db, input);
  if (!state) throw ApplicationFailure.nonRetryable(`SCIM user ${input.userId} no longer exists`, FAILURE_TYPES.invalidData);
  return { ...state, config };
}

/** What the user should have, or a non-retryable failure while required data is missing. */
function complete(read: DesiredState): DesiredUser {
  const desired = read.desired;
  if (desired.missing.length > 0) throw ApplicationFailure.nonRetryable(`data missing: ${desired.missing.join('; ')}`, FAILURE_TYPES.invalidData);
  return desired;
}

function epoch(iso: string | null): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/** The user's login identifiers: its email, and its primary phone when it uses the mobile app. */
function loginsOf(desired: DesiredUser): LoginWanted[] {
  const logins: LoginWanted[] = [];
  if (desired.profile.email) logins.push({ kind: 'email', value: desired.profile.email });
  if (desired.mobileAppUser && desired.profile.primaryPhone) logins.push({ kind: 'phone', value: desired.profile.primaryPhone });
  return logins;
}

/** What a held user is told (and the admin API shows): "email x is already the login of user <id>". */
function takenReason(taken: { kind: string; value: string; holder: string }[]): string[] {
  return taken.map((t) => `${t.kind === 'email' ? 'email' : 'mobile phone'} ${t.value} is already the login of user ${t.holder}`);
}

/** What the user holds now, for keepWhileHeld. */
function heldAccessOf(dir: UserDirectory): HeldAccess {
  const settings = Object.fromEntries(SETTING_KINDS.map((k) => [k, [] as string[]])) as HeldAccess['settings'];
  for (const row of dir.settings) settings[row.kind].push(row.value);
  return {
    memberships: dir.memberships.map((m) => ({ orgKey: m.orgKey, kind: m.kind, role: m.role as DesiredMembership['role'] })),
    licences: dir.licences.map((l) => ({ orgKey: l.orgKey, licenceLevel: l.licenceLevel, mobileLicence: l.mobileLicence })),
    providerAccounts: dir.providerAccounts.map((p) => ({ providerType: p.providerType, orgKey: p.orgKey })),
    securityRole: dir.user.securityRole,
    employeeType: dir.user.employeeType,
    caseManager: dir.user.caseManager,
    allowGridExport: dir.user.allowGridExport,
    receivesDocumentation: dir.user.receivesDocumentation,
    settings,
  };
}

/** A step's input with its name, so audit entries name the step also when several run in one activity. */
type Step = StepInput & { step: string };

/**
 * What the convergence steps share in one transaction: the user's directory rows as read (and
 * locked) at its start (undefined: no profile yet; createProfile makes one), and the audit
 * entries, written together at its end.
 */
interface StepContext {
  dir: UserDirectory | undefined;
  audits: AuditBatch;
}

/**
 * The convergence steps, each applying one part of the desired state inside the caller's
 * transaction and auditing what it changed; `convergeUser` runs them in order.
 */
const apply = {
  async createProfile(tx: Queryable, input: Step, read: DesiredState, ctx: StepContext): Promise<{ created: boolean; changed: string[] }> {
    const desired = complete(read);
    const result = await upsertProfile(tx, input.tenantId, input.userId, desired, ctx.dir?.user ?? null);
    if (result.created && read.rehiredFrom) {
      await markRehired(tx, input.tenantId, input.userId, read.rehiredFrom);
      ctx.audits.add(input, 'user.rehired', { earlierUserId: read.rehiredFrom });
    }
    if (result.created) ctx.audits.add(input, 'profile.created', { fields: result.changed });
    else if (result.changed.length) ctx.audits.add(input, 'profile.updated', { fields: result.changed });
    return result;
  },

  async assignOrganisations(tx: Queryable, input: Step, read: DesiredState, ctx: StepContext, held = false): Promise<{ changed: boolean }> {
    const desired = held ? read.desired : complete(read);
    const r = await syncMemberships(tx, input.tenantId, input.userId, desired.memberships, ctx.dir?.memberships ?? []);
    const changed = r.added.length + r.removed.length + r.changed.length > 0;
    if (changed) ctx.audits.add(input, 'organisations.synced', { ...r });
    return { changed };
  },

  async assignLicences(tx: Queryable, input: Step, read: DesiredState, ctx: StepContext, held = false): Promise<LicenceResult> {
    const desired = held ? read.desired : complete(read);
    const r = await syncLicences(tx, input.tenantId, input.userId, desired.licences, ctx.dir?.licences ?? []);
    const changed = r.assigned.length + r.released.length + r.updated.length > 0;
    if (changed) ctx.audits.add(input, 'licences.synced', { assigned: r.assigned, released: r.released, updated: r.updated });
    if (r.noSeatIn) return { status: 'waitingForSeat', orgKey: r.noSeatIn };
    return { status: 'assigned', changed };
  },

  async assignProviderAccounts(tx: Queryable, input: Step, read: DesiredState, ctx: StepContext, held = false): Promise<{ changed: boolean }> {
    const desired = held ? read.desired : complete(read);
    const r = await syncProviderAccounts(tx, input.tenantId, input.userId, desired.providerAccounts, ctx.dir?.providerAccounts ?? []);
    const changed = r.added.length + r.removed.length > 0;
    if (changed) ctx.audits.add(input, 'providerAccounts.synced', r);
    return { changed };
  },

  async applyAccessSettings(tx: Queryable, input: Step, read: DesiredState, ctx: StepContext, held = false): Promise<AccessSettingsResult> {
    const desired = held ? read.desired : complete(read);
    const current = ctx.dir ? { ...ctx.dir.user, settings: ctx.dir.settings } : NO_ACCESS;
    const r = await syncAccessSettings(tx, input.tenantId, input.userId, desired, current);
    if (r.changedFields.length || Object.keys(r.settingsAdded).length || Object.keys(r.settingsRemoved).length) {
      // Old → new for the role, employee type and flags (no personal data), as the provisioning log shows them.
      const changes = r.changedFields.map((f) => ({ field: f, from: r.previous[f as keyof typeof r.previous], to: desired[f as keyof typeof r.previous] }));
      ctx.audits.add(input, 'accessSettings.synced', { fields: r.changedFields, changes, added: r.settingsAdded, removed: r.settingsRemoved });
    }
    return { roleChanged: r.roleChanged, tagsChanged: r.tagsChanged, applied: appliedAccess(desired) };
  },
};

/** Keys of the applied security role and employee-area tags (a digest: tag names stay out of workflow history). */
function appliedAccess(desired: DesiredUser): AppliedAccess {
  const tags = [...desired.settings.employeeArea].sort();
  return { role: desired.securityRole ?? '', tags: tags.length ? crypto.createHash('sha256').update(JSON.stringify(tags)).digest('hex').slice(0, 16) : '' };
}

type StepName = keyof typeof apply;
type Apply<R> = (tx: Queryable, input: Step, read: DesiredState, ctx: StepContext) => Promise<R>;

/** Names the step in a failure of `convergeUser` (the workflow's `lastError`), keeping its type and retryability. */
async function named<T>(step: StepName, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const e = err as Error;
    if (err instanceof ApplicationFailure)
      throw ApplicationFailure.create({
        message: `${step}: ${e.message}`,
        type: err.type ?? undefined,
        nonRetryable: err.nonRetryable ?? undefined,
        details: err.details ?? undefined,
      });
    throw ApplicationFailure.create({ message: `${step}: ${e.message}`, type: e.name, cause: e });
  }
}

export function provisioningActivities(deps: ActivityDeps) {
  const { db } = deps;
  const connectors = connectorsOf(deps);
  const sync = connectorSync(deps);
  return {
    /**
     * Reads the SCIM user and tenant configuration; returns only ids, flags, reasons and timings.
     * A login identifier another user holds is a reason to hold the user too (recorded, so the
     * user is told when it is released).
     */
    async planUser(input: StepInput): Promise<UserPlan> {
      const { config: current, state: read } = await readDesiredState(db, input.tenantId, input.userId);
      const timings = lifecycleTimings(current.config);
      if (!read) {
        // Gone before its `deleted` change reached the workflow: terminate under the deleting request.
        const deletedBy = isUuid(input.userId) ? await deletionRequestId(db, input.tenantId, input.userId) : undefined;
        return { exists: false, active: false, version: 0, missing: [], startAt: null, endAt: null, timings, deletedBy };
      }
      const { desired, version } = read;
      const missing = [...desired.missing];
      if (desired.active) {
        const taken = await loginHolders(db, input.tenantId, input.userId, loginsOf(desired));
        if (taken.length > 0) {
          await waitForLogins(db, input.tenantId, input.userId, taken);
          missing.push(...takenReason(taken));
        }
      }
      return {
        exists: true,
        active: desired.active,
        version,
        missing,
        startAt: epoch(desired.startDate),
        endAt: epoch(desired.endDate),
        timings,
        ...(readsBack(connectors.forConfig(input.tenantId, current)) ? { verifiesPropagation: true } : {}),
      };
    },

    /**
     * Reads the user's account back from the application and tells whether the security role and
     * the employee-area tags the ledger holds are in force there (after the application's caches).
     * Effective: the user's log says after how long. A user gone or without an account in the
     * application is not effective (the check after the window makes that `failed`).
     */
    async checkPropagation(input: PropagationCheckInput): Promise<PropagationCheck> {
      const { config, state: read } = await readDesired(db, input);
      const connector = connectors.forConfig(input.tenantId, config);
      const view = await ledgerWithConnector(db, input.tenantId, input.userId);
      const appId = view.account?.connectorKind === connector.kind ? view.account.appId : null;
      if (!read || !appId) return { effective: false, pending: ['the application has no account for the user'] };
      const call = { tenantId: input.tenantId, userId: input.userId, idempotencyKey: idempotencyKeyOf(input, read.version) };
      const held = await connector.readAccount(call, appId).catch((err: unknown) => {
        if (err instanceof ConnectorError && err.kind === 'transient') return undefined; // read again at the next poll
        throw err instanceof ConnectorError ? failureOf(err, 'readAccount') : err;
      });
      if (held === undefined) return { effective: false, pending: ['the application did not answer the read-back'] };
      if (held === null) return { effective: false, pending: ['the application has no account for the user'] };
      const pending = pendingChanges(input.windows, read.desired, held);
      if (pending.length > 0) return { effective: false, pending };
      await appendAudit(db, {
        tenantId: input.tenantId,
        userId: input.userId,
        action: 'propagation.verified',
        detail: { windows: input.windows, afterMs: input.elapsedMs },
        requestId: input.requestId,
        ...stepOrigin(),
      });
      return { effective: true };
    },

    /**
     * Login identifiers → profile → organisations and roles → licences → provider accounts →
     * access settings, in one transaction over one read of the desired state (the workflow runs
     * it as a local activity); then any hold ends. Stops at a full licence pool, keeping what the
     * earlier steps did, and before anything when a login is another user's. A failure rolls
     * every step back and names the step; a retry starts over, which changes nothing that is
     * already in place. Without `seats`, licences are released and none is taken.
     */
    async convergeUser(input: ConvergeInput): Promise<ConvergeResult> {
      const { visible, ...step } = input;
      const outcome = await db.withTransaction(async (tx) => {
        const read = await mustRead(tx, step);
        const logins = loginsOf(complete(read));
        const ctx: StepContext = { dir: (await directoryOf(tx, input.tenantId, [input.userId], { lock: true })).get(input.userId), audits: auditBatch() };
        if (visible) {
          const origin = stepOrigin();
          await recordProvisioningState(tx, { tenantId: input.tenantId, userId: input.userId, ...visible, runId: origin.runId, step: origin.step });
        }
        const claim = await claimLogins(tx, input.tenantId, input.userId, logins, ['email', 'phone']);
        if (claim.taken.length > 0) {
          await waitForLogins(tx, input.tenantId, input.userId, claim.taken);
          const held: ConvergeResult = { status: 'loginTaken', reason: takenReason(claim.taken).join('; ') };
          return { result: held, account: undefined, read, loginEnabled: false };
        }
        const withSeats: DesiredState = input.seats ? read : { ...read, desired: { ...read.desired, licences: [] } };
        const run = <R>(name: StepName, fn: Apply<R>): Promise<R> => named(name, () => fn(tx, { ...step, step: name }, withSeats, ctx));
        const converged = async (): Promise<ConvergeResult> => {
          await run('createProfile', apply.createProfile);
          await run('assignOrganisations', apply.assignOrganisations);
          const licences = await run('assignLicences', apply.assignLicences);
          if (licences.status === 'waitingForSeat') return licences;
          await run('assignProviderAccounts', apply.assignProviderAccounts);
          const access = await run('applyAccessSettings', apply.applyAccessSettings);
          if (ctx.dir?.user.holdReason && (await setHold(tx, input.tenantId, input.userId, null)))
            ctx.audits.add({ ...step, step: 'convergeUser' }, 'user.released');
          return { status: 'converged', ...access };
        };
        const result = await converged();
        await ctx.audits.flush(tx);
        // The application's login follows acceptance: enabled once the user is active (markActive), blocked before.
        return {
          result,
          account: result.status === 'converged' ? accountStateOf(withSeats.desired) : undefined,
          read,
          loginEnabled: ctx.dir?.user.status === 'active',
          status: ctx.dir?.user.status,
        };
      });
      // Then, the transaction committed, the same change to the application (nothing for `directory`).
      const connector = connectors.forConfig(input.tenantId, outcome.read.config);
      let appliedAt: number | undefined;
      if (connector.kind !== 'directory' && outcome.account) {
        await sync.pushAccount(step, {
          connector,
          account: outcome.account,
          scimVersion: outcome.read.version,
          loginEnabled: outcome.loginEnabled,
          create: true,
        });
        appliedAt = Date.now();
      }
      // A change to a user already invited or active is in force now: its asynchronous SCIM requests complete.
      if (outcome.result.status === 'converged' && (outcome.status === 'invited' || outcome.status === 'active'))
        await db.withTransaction((tx) => completeAsyncRequests(tx, { tenantId: input.tenantId, userId: input.userId, throughVersion: outcome.read.version }));
      return outcome.result.status === 'converged' && appliedAt !== undefined ? { ...outcome.result, appliedAt } : outcome.result;
    },

    /**
     * The user is held (data missing or a login taken): what the identity provider took away
     * goes at once (keepWhileHeld), nothing new is granted, and login is blocked until the data
     * is complete (convergeUser ends the hold). Nothing to do before the profile exists.
     */
    async restrictUser(input: StepInput & { reason: string }): Promise<{ changed: boolean }> {
      const outcome = await db.withTransaction(async (tx) => {
        const dir = (await directoryOf(tx, input.tenantId, [input.userId], { lock: true })).get(input.userId);
        const { config, state: read } = dir ? await readDesired(tx, input) : { config: undefined, state: undefined };
        if (!dir || !read || !config) return { changed: false };
        const restricted: DesiredState = { ...read, desired: keepWhileHeld(read.desired, heldAccessOf(dir)) };
        const ctx: StepContext = { dir, audits: auditBatch() };
        const step = (name: string) => ({ ...input, step: name });
        const organisations = await apply.assignOrganisations(tx, step('assignOrganisations'), restricted, ctx, true);
        const licences = await apply.assignLicences(tx, step('assignLicences'), restricted, ctx, true);
        const providers = await apply.assignProviderAccounts(tx, step('assignProviderAccounts'), restricted, ctx, true);
        const access = await apply.applyAccessSettings(tx, step('applyAccessSettings'), restricted, ctx, true);
        const blocked = await setHold(tx, input.tenantId, input.userId, input.reason);
        if (blocked) {
          ctx.audits.add(step('restrictUser'), 'user.held', { reason: input.reason });
          await appendLifecycleEvent(tx, {
            tenantId: input.tenantId,
            userId: input.userId,
            outcome: 'held',
            key: `hold@${read.version}`,
            reason: 'onboarding held: data missing or a login identifier taken',
          });
        }
        await ctx.audits.flush(tx);
        const changed =
          organisations.changed || (licences.status === 'assigned' && licences.changed) || providers.changed || access.roleChanged || access.tagsChanged;
        // What the ledger now holds for the held user, for the application: the licences it kept (a full pool grants none).
        const kept =
          licences.status === 'assigned'
            ? restricted.desired.licences
            : dir.licences.map((l) => ({ orgKey: l.orgKey, licenceLevel: l.licenceLevel, mobileLicence: l.mobileLicence }));
        return { changed: changed || blocked, account: accountStateOf({ ...restricted.desired, licences: kept }), config, version: read.version };
      });
      // The application's account, if it has one, loses what the ledger took away, and its login is blocked; none is made while held.
      if (outcome.account && outcome.config) {
        const connector = connectors.forConfig(input.tenantId, outcome.config);
        if (connector.kind !== 'directory')
          await sync.pushAccount(input, { connector, account: outcome.account, scimVersion: outcome.version, loginEnabled: false, create: false });
      }
      return { changed: outcome.changed };
    },

    /**
     * Checks, before anyone tells the user to log in, that the directory holds exactly what the
     * user should have now (a change that landed after the convergence shows up here) and that
     * login is not held. Not verified: the workflow converges again.
     */
    async verifyAccess(input: VerifyAccessInput): Promise<AccessCheck> {
      const read = await mustRead(db, input);
      const desired = complete(read);
      const dir = (await directoryOf(db, input.tenantId, [input.userId])).get(input.userId);
      const differences: string[] = [];
      if (!dir) differences.push('no profile');
      else {
        if (dir.user.status === 'terminated') differences.push('user is terminated');
        if (dir.user.holdReason) differences.push(`held: ${dir.user.holdReason}`);
        differences.push(...diffStates(comparableState(dir), stateOf(desired)).map((c) => c.field));
      }
      // And the application confirmed every part of it (no invitation for an account it refused).
      const connector = connectors.forConfig(input.tenantId, read.config);
      if (connector.kind !== 'directory' && differences.length === 0) differences.push(...(await sync.unconfirmed(input, connector, accountStateOf(desired))));
      if (differences.length > 0) return { verified: false, differences };
      // One statement each, atomic on its own.
      const origin = stepOrigin();
      if (input.waited)
        await appendAudit(db, {
          tenantId: input.tenantId,
          userId: input.userId,
          action: 'propagation.waited',
          detail: { windows: input.waited.windows, ms: input.waited.ms, readBack: false },
          requestId: input.requestId,
          ...origin,
        });
      await appendAudit(db, { tenantId: input.tenantId, userId: input.userId, action: 'access.verified', requestId: input.requestId, ...origin });
      return { verified: true };
    },
  };
}
