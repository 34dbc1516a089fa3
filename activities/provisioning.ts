/**
 * Onboarding steps: each reads the desired state from PostgreSQL (SCIM data + groups + tenant
 * configuration with its mapping rules), converges the application directory to it in one
 * transaction, and audits what it changed. Re-running a step changes nothing, so retries and
 * re-deliveries are safe.
 */
import crypto from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { Queryable } from '../common/db';
import type { DesiredUser } from '../domain/desired-user';
import { lifecycleTimings } from '../domain/tenant-config';
import { desiredStateOf, type DesiredState } from '../policy/desired-state';
import { syncAccessSettings } from '../common/repositories/access-settings';
import { getAppUser, markRehired, upsertProfile } from '../common/repositories/app-users';
import { activeLicencesOf, syncLicences } from '../common/repositories/licences';
import { syncMemberships } from '../common/repositories/memberships';
import { deletionRequestId } from '../common/repositories/outbox';
import { syncProviderAccounts } from '../common/repositories/provider-accounts';
import { currentConfig } from '../common/repositories/tenants';
import { isUuid } from '../domain/uuid';
import type { ActivityDeps } from './deps';
import { audit } from './step-context';
import { FAILURE_TYPES, type AccessSettingsResult, type AppliedAccess, type ConvergeResult, type LicenceResult, type StepInput, type UserPlan } from './types';

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

  async assignOrganisations(tx: Queryable, input: Step, read: DesiredState): Promise<{ changed: boolean }> {
    const desired = complete(read);
    const r = await syncMemberships(tx, input.tenantId, input.userId, desired.memberships);
    const changed = r.added.length + r.removed.length + r.changed.length > 0;
    if (changed) await audit(tx, input, 'organisations.synced', { ...r });
    return { changed };
  },

  async assignLicences(tx: Queryable, input: Step, read: DesiredState): Promise<LicenceResult> {
    const desired = complete(read);
    const r = await syncLicences(tx, input.tenantId, input.userId, desired.licences);
    const changed = r.assigned.length + r.released.length + r.updated.length > 0;
    if (changed) await audit(tx, input, 'licences.synced', { assigned: r.assigned, released: r.released, updated: r.updated });
    if (r.noSeatIn) return { status: 'waitingForSeat', orgKey: r.noSeatIn };
    return { status: 'assigned', changed };
  },

  async assignProviderAccounts(tx: Queryable, input: Step, read: DesiredState): Promise<{ changed: boolean }> {
    const desired = complete(read);
    const r = await syncProviderAccounts(tx, input.tenantId, input.userId, desired.providerAccounts);
    const changed = r.added.length + r.removed.length > 0;
    if (changed) await audit(tx, input, 'providerAccounts.synced', r);
    return { changed };
  },

  async applyAccessSettings(tx: Queryable, input: Step, read: DesiredState): Promise<AccessSettingsResult> {
    const desired = complete(read);
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
    /** Reads the SCIM user and tenant configuration; returns only ids, flags, reasons and timings. */
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
      return {
        exists: true,
        active: desired.active,
        version,
        missing: desired.missing,
        startAt: epoch(desired.startDate),
        endAt: epoch(desired.endDate),
        timings,
      };
    },

    /**
     * Profile → organisations and roles → licences → provider accounts → access settings, in
     * one transaction over one read of the desired state (the workflow runs it as a local
     * activity). Stops at a full licence pool, keeping what the earlier steps did. A failure
     * rolls every step back and names the step; a retry starts over, which changes nothing
     * that is already in place.
     */
    async convergeUser(input: StepInput): Promise<ConvergeResult> {
      return db.withTransaction(async (tx) => {
        const read = await mustRead(tx, input);
        const run = <R>(step: StepName, fn: Apply<R>): Promise<R> => named(step, () => fn(tx, { ...input, step }, read));
        await run('createProfile', apply.createProfile);
        await run('assignOrganisations', apply.assignOrganisations);
        const licences = await run('assignLicences', apply.assignLicences);
        if (licences.status === 'waitingForSeat') return licences;
        await run('assignProviderAccounts', apply.assignProviderAccounts);
        const access = await run('applyAccessSettings', apply.applyAccessSettings);
        return { status: 'converged', ...access };
      });
    },

    /** Checks that what the user will log in to matches what was asked for, before anyone tells them to log in. */
    async verifyAccess(input: StepInput): Promise<{ verified: true }> {
      const desired = complete(await mustRead(db, input));
      const user = await getAppUser(db, input.tenantId, input.userId);
      const problems: string[] = [];
      if (!user) problems.push('no profile');
      else {
        if (user.status === 'terminated') problems.push('user is terminated');
        if (user.securityRole !== desired.securityRole) problems.push('security role not applied');
        if (user.clientKey !== desired.clientKey) problems.push('client not applied');
      }
      const licences = (await activeLicencesOf(db, input.tenantId, [input.userId])).map((l) => l.orgKey);
      for (const l of desired.licences) if (!licences.includes(l.orgKey)) problems.push(`licence for ${l.orgKey} missing`);
      if (problems.length > 0) throw ApplicationFailure.retryable(`access not effective: ${problems.join('; ')}`, FAILURE_TYPES.accessNotEffective);
      await db.withTransaction((tx) => audit(tx, input, 'access.verified'));
      return { verified: true };
    },
  };
}
