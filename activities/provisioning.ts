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
import { desiredStateOf, type DesiredState } from '../policy/desired-state';
import { settingsOf, syncAccessSettings } from '../common/repositories/access-settings';
import { appUsersOf, getAppUser, markRehired, setHold, upsertProfile } from '../common/repositories/app-users';
import { observedStates } from '../common/repositories/entitlements';
import { activeLicencesOf, syncLicences } from '../common/repositories/licences';
import { claimLogins, loginHolders, waitForLogins, type LoginWanted } from '../common/repositories/login-claims';
import { membershipsOf, syncMemberships } from '../common/repositories/memberships';
import { deletionRequestId } from '../common/repositories/outbox';
import { providerAccountsOf, syncProviderAccounts } from '../common/repositories/provider-accounts';
import { currentConfig } from '../common/repositories/tenants';
import { isUuid } from '../domain/uuid';
import type { ActivityDeps } from './deps';
import { audit } from './step-context';
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
} from './types';

/**
 * SCIM data + the user's groups + tenant configuration (defaults and mapping rules), and a
 * re-hire's earlier entitlements where its SCIM data leaves them out; computed in
 * policy/desired-state.ts, which policy changes, previews and drift repair share.
 */
async function readDesired(db: Queryable, input: StepInput): Promise<DesiredState | undefined> {
  const { config } = await currentConfig(db, input.tenantId);
  return desiredStateOf(db, input.tenantId, input.userId, config);
}

/** The desired state, or a non-retryable failure when the user is gone. */
async function mustRead(db: Queryable, input: StepInput): Promise<DesiredState> {
  const read = await readDesired(db, input);
  if (!read) throw ApplicationFailure.nonRetryable(`SCIM user ${input.userId} no longer exists`, FAILURE_TYPES.invalidData);
  return read;
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

/** What the user holds now, for keepWhileHeld; undefined before its profile exists. */
async function heldAccessOf(tx: Queryable, tenantId: string, userId: string): Promise<HeldAccess | undefined> {
  const [user] = await appUsersOf(tx, tenantId, [userId]);
  if (!user) return undefined;
  const settings = Object.fromEntries(SETTING_KINDS.map((k) => [k, [] as string[]])) as HeldAccess['settings'];
  for (const row of await settingsOf(tx, tenantId, [userId])) settings[row.kind].push(row.value);
  return {
    memberships: (await membershipsOf(tx, tenantId, [userId])).map((m) => ({ orgKey: m.orgKey, kind: m.kind, role: m.role as DesiredMembership['role'] })),
    licences: (await activeLicencesOf(tx, tenantId, [userId])).map((l) => ({ orgKey: l.orgKey, licenceLevel: l.licenceLevel, mobileLicence: l.mobileLicence })),
    providerAccounts: (await providerAccountsOf(tx, tenantId, [userId])).map((p) => ({ providerType: p.providerType, orgKey: p.orgKey })),
    securityRole: user.securityRole,
    employeeType: user.employeeType,
    caseManager: user.caseManager,
    allowGridExport: user.allowGridExport,
    receivesDocumentation: user.receivesDocumentation,
    settings,
  };
}

/** A step's input with its name, so audit entries name the step also when several run in one activity. */
type Step = StepInput & { step: string };

/**
 * The convergence steps, each applying one part of the desired state inside the caller's
 * transaction and auditing what it changed; `convergeUser` runs them in order.
 */
const apply = {
  async createProfile(tx: Queryable, input: Step, read: DesiredState): Promise<{ created: boolean; changed: string[] }> {
    const desired = complete(read);
    const result = await upsertProfile(tx, input.tenantId, input.userId, desired);
    if (result.created && read.rehiredFrom) {
      await markRehired(tx, input.tenantId, input.userId, read.rehiredFrom);
      await audit(tx, input, 'user.rehired', { earlierUserId: read.rehiredFrom });
    }
    if (result.created) await audit(tx, input, 'profile.created', { fields: result.changed });
    else if (result.changed.length) await audit(tx, input, 'profile.updated', { fields: result.changed });
    return result;
  },

  async assignOrganisations(tx: Queryable, input: Step, read: DesiredState, held = false): Promise<{ changed: boolean }> {
    const desired = held ? read.desired : complete(read);
    const r = await syncMemberships(tx, input.tenantId, input.userId, desired.memberships);
    const changed = r.added.length + r.removed.length + r.changed.length > 0;
    if (changed) await audit(tx, input, 'organisations.synced', { ...r });
    return { changed };
  },

  async assignLicences(tx: Queryable, input: Step, read: DesiredState, held = false): Promise<LicenceResult> {
    const desired = held ? read.desired : complete(read);
    const r = await syncLicences(tx, input.tenantId, input.userId, desired.licences);
    const changed = r.assigned.length + r.released.length + r.updated.length > 0;
    if (changed) await audit(tx, input, 'licences.synced', { assigned: r.assigned, released: r.released, updated: r.updated });
    if (r.noSeatIn) return { status: 'waitingForSeat', orgKey: r.noSeatIn };
    return { status: 'assigned', changed };
  },

  async assignProviderAccounts(tx: Queryable, input: Step, read: DesiredState, held = false): Promise<{ changed: boolean }> {
    const desired = held ? read.desired : complete(read);
    const r = await syncProviderAccounts(tx, input.tenantId, input.userId, desired.providerAccounts);
    const changed = r.added.length + r.removed.length > 0;
    if (changed) await audit(tx, input, 'providerAccounts.synced', r);
    return { changed };
  },

  async applyAccessSettings(tx: Queryable, input: Step, read: DesiredState, held = false): Promise<AccessSettingsResult> {
    const desired = held ? read.desired : complete(read);
    const r = await syncAccessSettings(tx, input.tenantId, input.userId, desired);
    if (r.changedFields.length || Object.keys(r.settingsAdded).length || Object.keys(r.settingsRemoved).length) {
      // Old → new for the role, employee type and flags (no personal data), as the provisioning log shows them.
      const changes = r.changedFields.map((f) => ({ field: f, from: r.previous[f as keyof typeof r.previous], to: desired[f as keyof typeof r.previous] }));
      await audit(tx, input, 'accessSettings.synced', { fields: r.changedFields, changes, added: r.settingsAdded, removed: r.settingsRemoved });
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
type Apply<R> = (tx: Queryable, input: Step, read: DesiredState) => Promise<R>;

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

export function provisioningActivities({ db }: ActivityDeps) {
  return {
    /**
     * Reads the SCIM user and tenant configuration; returns only ids, flags, reasons and timings.
     * A login identifier another user holds is a reason to hold the user too (recorded, so the
     * user is told when it is released).
     */
    async planUser(input: StepInput): Promise<UserPlan> {
      const { config } = await currentConfig(db, input.tenantId);
      const timings = lifecycleTimings(config);
      const read = await desiredStateOf(db, input.tenantId, input.userId, config);
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
      };
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
      return db.withTransaction(async (tx) => {
        const read = await mustRead(tx, input);
        const logins = loginsOf(complete(read));
        const claim = await claimLogins(tx, input.tenantId, input.userId, logins, ['email', 'phone']);
        if (claim.taken.length > 0) {
          await waitForLogins(tx, input.tenantId, input.userId, claim.taken);
          return { status: 'loginTaken', reason: takenReason(claim.taken).join('; ') };
        }
        const withSeats: DesiredState = input.seats ? read : { ...read, desired: { ...read.desired, licences: [] } };
        const run = <R>(step: StepName, fn: Apply<R>): Promise<R> => named(step, () => fn(tx, { ...input, step }, withSeats));
        await run('createProfile', apply.createProfile);
        await run('assignOrganisations', apply.assignOrganisations);
        const licences = await run('assignLicences', apply.assignLicences);
        if (licences.status === 'waitingForSeat') return licences;
        await run('assignProviderAccounts', apply.assignProviderAccounts);
        const access = await run('applyAccessSettings', apply.applyAccessSettings);
        if (await setHold(tx, input.tenantId, input.userId, null)) await audit(tx, { ...input, step: 'convergeUser' }, 'user.released', {});
        return { status: 'converged', ...access };
      });
    },

    /**
     * The user is held (data missing or a login taken): what the identity provider took away
     * goes at once (keepWhileHeld), nothing new is granted, and login is blocked until the data
     * is complete (convergeUser ends the hold). Nothing to do before the profile exists.
     */
    async restrictUser(input: StepInput & { reason: string }): Promise<{ changed: boolean }> {
      return db.withTransaction(async (tx) => {
        const held = await heldAccessOf(tx, input.tenantId, input.userId);
        const read = await readDesired(tx, input);
        if (!held || !read) return { changed: false };
        const restricted: DesiredState = { ...read, desired: keepWhileHeld(read.desired, held) };
        const step = (name: string) => ({ ...input, step: name });
        const organisations = await apply.assignOrganisations(tx, step('assignOrganisations'), restricted, true);
        const licences = await apply.assignLicences(tx, step('assignLicences'), restricted, true);
        const providers = await apply.assignProviderAccounts(tx, step('assignProviderAccounts'), restricted, true);
        const access = await apply.applyAccessSettings(tx, step('applyAccessSettings'), restricted, true);
        const blocked = await setHold(tx, input.tenantId, input.userId, input.reason);
        if (blocked) await audit(tx, step('restrictUser'), 'user.held', { reason: input.reason });
        const changed =
          organisations.changed || (licences.status === 'assigned' && licences.changed) || providers.changed || access.roleChanged || access.tagsChanged;
        return { changed: changed || blocked };
      });
    },

    /**
     * Checks, before anyone tells the user to log in, that the directory holds exactly what the
     * user should have now (a change that landed after the convergence shows up here) and that
     * login is not held. Not verified: the workflow converges again.
     */
    async verifyAccess(input: StepInput): Promise<AccessCheck> {
      const desired = complete(await mustRead(db, input));
      const user = await getAppUser(db, input.tenantId, input.userId);
      const differences: string[] = [];
      if (!user) differences.push('no profile');
      else {
        if (user.status === 'terminated') differences.push('user is terminated');
        if (user.holdReason) differences.push(`held: ${user.holdReason}`);
        const observed = (await observedStates(db, input.tenantId, [input.userId])).get(input.userId);
        if (observed) differences.push(...diffStates(observed, stateOf(desired)).map((c) => c.field));
      }
      if (differences.length > 0) return { verified: false, differences };
      await db.withTransaction((tx) => audit(tx, input, 'access.verified'));
      return { verified: true };
    },
  };
}
