/**
 * userLifecycle: one long-lived workflow per provisioned user (id: user-<tenant>-<scimId>).
 * Each numbered step is a function of the same name below; each returns the next step.
 *
 * 1. plan: read what the SCIM data and tenant configuration ask for (ids and flags only).
 *    Deleted → terminate; inactive → suspend; past its HR end date → endDate; data missing or
 *    a login taken by another user → awaitData; else → converge.
 * 2. suspend: past the mass-deprovisioning guard, block login, free the seats and revoke the
 *    pending invitation, and wait for a change. awaitData: take away what is no longer wanted,
 *    block login, and wait until a SCIM update (or the release of the login) completes the data.
 * 3. converge: (reactivate a suspended user) claim the login identifiers, create the profile →
 *    organisations and roles → licences (only once the invitation is due; wait for a free seat
 *    when the pool is full) → provider accounts → security role, employee type, tags, teams,
 *    facilities, notifications; all in one local activity.
 * 4. propagate: wait out the windows the changes opened (tags 10 min, security role 1 h by
 *    default) and, before the first invitation, the settling window (no change for a minute:
 *    Okta pushes group memberships seconds after the user); a change restarts what it affects.
 * 5. endDate: an HR end date suspends or terminates on the day; otherwise on to the user's
 *    place in the invitation cycle (schedule, awaitAcceptance or active).
 * 6. schedule: hold the invitation until the HR start date's lead time, then take the seats.
 * 7. invite: verify that the directory holds exactly what the user should have, then send the
 *    invitation once (a new round's link replaces the earlier ones).
 * 8. awaitAcceptance: remind on schedule, expire (freeing the seats), or record the acceptance.
 * 9. expired: wait for a resend; active: wait for a change or the end date.
 * 10. terminate: past the guard (SCIM deletions), end every entitlement (also the compensation
 *    of an onboarding cut short).
 *
 * Every SCIM change arrives as a signal and sends the workflow back to step 1 from any wait;
 * duplicates and reordering are harmless because the activities read the latest state from
 * PostgreSQL. A step that fails after its retries leaves the workflow in `failed` with the
 * reason until a change or an operator's retry.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  proxyActivities,
  proxyLocalActivities,
  type RetryPolicy,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AccessCheck, AccessRemovalCause, AccessSettingsResult, AppliedAccess, DeprovisionDecision, UserPlan, VisibleState } from '../activities/types';
import type { ProvisioningState } from '../domain/roles';
import { SA_STATE } from '../common/temporal/constants';
import {
  invitationAcceptedSignal,
  requestResendUpdate,
  resendInvitationSignal,
  resourceChangedSignal,
  retrySignal,
  statusQuery,
  type UserRef,
  type UserStatus,
} from './definitions';
import { describeStatus } from './status-text';

/** Converging steps: short, retried with backoff, surfaced as `failed` after ~10 attempts. */
const STEP_RETRY: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts: 10,
  nonRetryableErrorTypes: ['InvalidData'],
};

/**
 * Status changes after onboarding (suspend, reactivate, terminate, activate, expire) as regular
 * activities: each is one short transaction whose event in the history says when access changed.
 */
const steps = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: STEP_RETRY });

/**
 * Onboarding as local activities: the plan, the convergence (all five steps in one activity),
 * the access check and the invitation run in the worker that holds the workflow, inside its
 * workflow task, and leave one marker each instead of three events and a workflow task per
 * step (60 → ~18 history events per onboarding, less than half the CPU of the whole stack;
 * see docs/performance.md). They are idempotent, which local activities need: a worker crash
 * mid-task runs them again (the mail ledger keeps an invitation to at most one). Backoffs
 * beyond a few seconds become durable timers: they survive a worker restart and show in the UI.
 */
const localSteps = proxyLocalActivities<Activities>({ startToCloseTimeout: '30 seconds', localRetryThreshold: '2 seconds', retry: STEP_RETRY });

/**
 * Mail: SMTP outages last; retry for about a day (8 backoffs up to 10 minutes, then every 10
 * minutes: 150 attempts ≈ 24 h), then surface the user as `failed`. A refusal for good (5xx, no
 * valid recipient) is not retried. At most one mail per invitation is kept by the delivery ledger.
 */
const MAIL_RETRY: RetryPolicy = {
  initialInterval: '5 seconds',
  backoffCoefficient: 2,
  maximumInterval: '10 minutes',
  maximumAttempts: 150,
  nonRetryableErrorTypes: ['InvalidData', 'MailRejected'],
};
const localMail = proxyLocalActivities<Activities>({ startToCloseTimeout: '1 minute', localRetryThreshold: '2 seconds', retry: MAIL_RETRY });

const local = proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds', retry: { maximumInterval: '10 seconds' } });

/** Carried across continue-as-new. */
export interface LifecycleState {
  latestVersion: number;
  requestId: string;
  appliedVersion: number;
  deleted: boolean;
  suspended: boolean;
  /** Deadlines (epoch ms) of the open windows: propagation by change kind, and the settling window before the first invitation. */
  windows: { tags?: number; securityRole?: number; settle?: number };
  /** Workflow time of the first change and of the latest (the settling window). */
  firstChangeAt?: number;
  lastChangeAt?: number;
  /** The role and tags last applied, to tell a convergence re-run after a crash from a no-op. */
  applied: AppliedAccess;
  /**
   * The open invitation. `expiryMs`: its lifetime when sent (the tenant's `expiresAfter` then, as
   * its link's `expires_at` in the database says): a later change of `expiresAfter` applies to
   * new invitations only. Absent in invitations sent by 0.2 (they follow the current policy).
   */
  invitation?: { id: string; round: number; sentAt: number; reminders: number; expired: boolean; expiryMs?: number };
  invitationRound: number;
  accepted: boolean;
  /** An HR end date's suspension has been applied (reset by a reactivation). */
  endHandled?: boolean;
  /**
   * The SCIM version at which the user became inactive, until it is active again: the guard's
   * one decision for this deactivation, whatever later versions the identity provider sends.
   */
  inactiveSince?: number;
}

export interface UserLifecycleInput extends UserRef {
  /** The SCIM request that created the workflow (first delivery). */
  requestId?: string;
  /** Keep the ScimflowState search attribute current. Default true; false where the cluster lacks it (the time-skipping test server). */
  indexState?: boolean;
  /** Continue-as-new once the history has this many events (default 4,000), or when the server suggests it. */
  historyLimit?: number;
  carried?: LifecycleState;
}

const HISTORY_LIMIT = 4_000;

type StepName =
  'plan' | 'suspend' | 'awaitData' | 'converge' | 'propagate' | 'endDate' | 'schedule' | 'invite' | 'awaitAcceptance' | 'expired' | 'active' | 'terminate';
/** Convergences in a row whose result the access check could not confirm before the workflow gives up (`failed`). */
const MAX_UNVERIFIED = 3;

/** What a step leads to: the next step, or the end of the workflow in a final state. */
type Next = StepName | { done: ProvisioningState };

/** What the user is waiting in, as the status query, search attribute, memo and database show it. */
interface Visible {
  state: ProvisioningState;
  waitingFor?: string;
  /** Epoch milliseconds. */
  waitingUntil?: number;
  lastError?: string;
}

/**
 * States a user passes through within a workflow task or two: shown in the status query, the UI's
 * details and the database, but not indexed (no search attribute or memo update: each is a
 * visibility write in Temporal).
 */
const TRANSIENT: readonly ProvisioningState[] = ['onboarding'];

/** Why a wait ended: a change (or deletion or retry) arrived, the deadline passed, or a signal the wait listens for came. */
type Woken = 'change' | 'timeout' | 'signal';

/** A step's activity failed for good (after its retries); `message` names the activity for `lastError`. */
class StepFailure extends Error {
  constructor(
    readonly activity: string,
    err: ActivityFailure | ApplicationFailure,
  ) {
    const cause =
      err instanceof ActivityFailure ? (err.cause instanceof ApplicationFailure ? err.cause.message : (err.cause?.message ?? err.message)) : err.message;
    super(`${activity}: ${cause}`);
  }
}

/**
 * Runs one activity call; a failure is named after the activity. A local activity's last failure
 * after a backoff timer arrives as the bare ApplicationFailure, without the ActivityFailure that
 * names it, so the name is given here rather than read from the failure.
 */
async function call<T>(activity: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ActivityFailure || err instanceof ApplicationFailure) throw new StepFailure(activity, err);
    throw err;
  }
}

/**
 * The propagation windows a convergence opens: where it changed the directory (also a drift
 * repair), or where what is applied differs from what this workflow last recorded (the same
 * convergence re-run after a crash finds its changes already made).
 */
function windowsOpened(access: AccessSettingsResult, known: AppliedAccess): { tags: boolean; role: boolean } {
  const now = access.applied;
  return {
    tags: access.tagsChanged || (!!now && now.tags !== known.tags),
    role: access.roleChanged || (!!now && now.role !== known.role && now.role !== ''),
  };
}

/** The next moment the invitation needs attention: a reminder, its expiry, or the HR end date. */
function invitationDeadline(inv: NonNullable<LifecycleState['invitation']>, plan: UserPlan): { at: number; nextReminder?: number; expiresAt: number } {
  const offsets = plan.timings.reminderOffsetsMs.filter((o) => o < (inv.expiryMs ?? plan.timings.expiryMs));
  const nextReminder = inv.reminders < offsets.length ? inv.sentAt + offsets[inv.reminders] : undefined;
  const expiresAt = inv.sentAt + (inv.expiryMs ?? plan.timings.expiryMs);
  return { at: Math.min(nextReminder ?? Infinity, expiresAt, plan.endAt ?? Infinity), nextReminder, expiresAt };
}

function initialState(input: UserLifecycleInput): LifecycleState {
  return {
    latestVersion: 0,
    requestId: input.requestId ?? 'unknown',
    appliedVersion: 0,
    deleted: false,
    suspended: false,
    windows: {},
    applied: { role: '', tags: '' },
    invitationRound: 1,
    accepted: false,
  };
}

export async function userLifecycle(input: UserLifecycleInput): Promise<{ state: ProvisioningState }> {
  const { tenantId, userId } = input;
  const s: LifecycleState = input.carried ?? initialState(input);

  // Signals only record what arrived; the steps act on it.
  const inbox = { changed: true, accepted: false, resend: false, retry: false };
  let status: UserStatus = { state: 'pending', appliedVersion: s.appliedVersion };
  setHandler(resourceChangedSignal, (change) => {
    if (change.change === 'deleted') s.deleted = true;
    if (change.version >= s.latestVersion) {
      s.latestVersion = change.version;
      s.requestId = change.requestId;
    }
    s.firstChangeAt ??= Date.now();
    s.lastChangeAt = Date.now();
    inbox.changed = true;
  });
  setHandler(invitationAcceptedSignal, ({ invitationId }) => {
    if (s.invitation?.id === invitationId) inbox.accepted = true;
  });
  setHandler(resendInvitationSignal, () => void (inbox.resend = true));
  setHandler(retrySignal, () => {
    inbox.retry = true;
    inbox.changed = true;
  });
  setHandler(statusQuery, () => status);
  setHandler(
    requestResendUpdate,
    () => {
      inbox.resend = true;
      return { round: s.invitationRound + (s.invitation ? 1 : 0) };
    },
    { validator: () => resendRefusal() },
  );

  const ref = () => ({ tenantId, userId, requestId: s.requestId });
  let plan!: UserPlan;
  let terminationCause: AccessRemovalCause = 'scimRequest';

  /** What recordState writes for `v`; a step that changes the state itself records it in its own transaction. */
  const recordOf = (v: Visible): VisibleState => ({
    state: v.state,
    waitingFor: v.waitingFor ?? null,
    waitingUntil: v.waitingUntil ?? null,
    lastError: v.lastError ?? null,
    workflowId: workflowInfo().workflowId,
  });

  /**
   * The one place the visible state changes: status query, search attribute and memo (not for a
   * transient state), Temporal UI details, database (`recorded`: the step's own activity wrote it).
   */
  async function show(v: Visible, recorded = false): Promise<void> {
    const next: UserStatus = {
      state: v.state,
      waitingFor: v.waitingFor,
      waitingUntil: v.waitingUntil !== undefined ? new Date(v.waitingUntil).toISOString() : undefined,
      lastError: v.lastError,
      appliedVersion: s.appliedVersion,
      invitationId: s.invitation?.id,
    };
    const same =
      next.state === status.state && next.waitingFor === status.waitingFor && next.waitingUntil === status.waitingUntil && next.lastError === status.lastError;
    status = next;
    if (same) return;
    if (!TRANSIENT.includes(v.state)) {
      if (input.indexState !== false) upsertSearchAttributes([{ key: SA_STATE, value: v.state }]);
      upsertMemo({ summary: `${v.state}${v.waitingFor ? ` (waiting for ${v.waitingFor})` : ''}` });
    }
    setCurrentDetails(describeStatus(next));
    if (!recorded) await local.recordState({ tenantId, userId, ...recordOf(v) });
  }

  /** Shows `v` and waits for a change (or deletion or retry), for `until`, or for `signal()` to hold. */
  async function waitIn(v: Visible, options: { until?: number; signal?: () => boolean } = {}): Promise<Woken> {
    await show(v);
    const woken = () => inbox.changed || (options.signal?.() ?? false);
    const early = options.until === undefined ? (await condition(woken), true) : await condition(woken, Math.max(options.until - Date.now(), 1));
    if (!early) return 'timeout';
    return inbox.changed ? 'change' : 'signal';
  }

  /** Why a resend cannot start now (the update's validator throws it: a 409 with the reason), or nothing when it can. */
  function resendRefusal(): void {
    const why: Partial<Record<ProvisioningState, string>> = {
      active: 'the user has accepted the invitation',
      suspended: 'the user is suspended; reactivate it first (a reactivated user gets a new invitation)',
      terminated: 'the user is terminated',
      awaitingData: `the user is held for missing data (${status.lastError ?? 'see its state'}); a new invitation follows once the data is complete`,
      deprovisionHeld: 'a suspension or termination of the user waits for a decision',
      deletionRejected: 'the identity provider deleted the user',
    };
    if (status.state === 'invited' || status.state === 'expired') return;
    throw new Error(`nothing to resend: ${why[status.state] ?? `no invitation has been sent yet; the user is ${status.state}`}`);
  }

  /** A resend starts a new round: a new invitation and link (the convergence takes the seats again after an expiry). */
  function startNewRound(): void {
    inbox.resend = false;
    s.invitation = undefined;
    s.invitationRound += 1;
  }

  /** The invitation is due: no HR start date holds it any more. */
  const invitationDue = () => plan.startAt === null || Date.now() >= plan.startAt - plan.timings.startLeadMs;
  /** Licence seats are held from the moment the invitation is due until it expires unaccepted. */
  const wantsSeats = () => s.accepted || (s.invitation ? !s.invitation.expired : invitationDue());
  const pastEndDate = () => plan.endAt !== null && Date.now() >= plan.endAt;
  /** Whether the last convergence took the seats (it may have run before the invitation was due). */
  let seatsHeld = false;
  let holdReason = '';
  let unverified = 0;

  /** The guard's decision on a suspension or termination a SCIM request asked for. */
  const guard = (action: 'suspend' | 'terminate', scimVersion: number): Promise<DeprovisionDecision> =>
    call('requestDeprovision', () => localSteps.requestDeprovision({ ...ref(), action, scimVersion }));

  const stepsByName: Record<StepName, () => Promise<Next>> = {
    async plan() {
      inbox.changed = false;
      inbox.retry = false;
      plan = await call('planUser', () => localSteps.planUser(ref()));
      if (!plan.exists) {
        if (plan.deletedBy) s.requestId = plan.deletedBy;
        s.deleted = true;
        return 'terminate';
      }
      if (!plan.active) {
        s.inactiveSince ??= plan.version;
        return 'suspend';
      }
      s.inactiveSince = undefined;
      if (pastEndDate()) return 'endDate';
      if (plan.missing.length > 0) {
        holdReason = plan.missing.join('; ');
        return 'awaitData';
      }
      return 'converge';
    },

    async suspend() {
      if (!s.suspended) {
        const decision = await guard('suspend', s.inactiveSince ?? plan.version);
        if (decision === 'held') {
          await waitIn({ state: 'deprovisionHeld', waitingFor: 'decision:suspend' });
          return 'plan';
        }
        // Rejected: the user keeps its access as if the identity provider had not asked.
        if (decision === 'rejected') return plan.missing.length > 0 ? 'awaitData' : 'converge';
        await call('suspendUser', () => steps.suspendUser({ ...ref(), cause: 'scimRequest' }));
        s.suspended = true;
      }
      s.appliedVersion = plan.version;
      await waitIn({ state: 'suspended', waitingFor: 'reactivation' });
      return 'plan';
    },

    async awaitData() {
      // Least privilege while held: what is no longer wanted goes now, and login waits for the data.
      await call('restrictUser', () => localSteps.restrictUser({ ...ref(), reason: holdReason }));
      await waitIn({ state: 'awaitingData', waitingFor: 'data', lastError: holdReason });
      return 'plan';
    },

    async converge() {
      if (s.suspended) {
        await call('reactivateUser', () => steps.reactivateUser({ ...ref(), accepted: s.accepted }));
        s.suspended = false;
        s.endHandled = false;
        // The suspension revoked the open invitation: a reactivated user who had not accepted gets a new one.
        if (s.invitation && !s.invitation.expired && !s.accepted) startNewRound();
      }
      // Entering onboarding: the convergence records the state in its own transaction.
      const entering = status.state === 'pending' || status.state === 'awaitingData' || status.state === 'failed';
      const onboarding: Visible = { state: 'onboarding' };
      if (entering) await show(onboarding, true);
      const seats = wantsSeats();
      const result = await call('convergeUser', () => localSteps.convergeUser({ ...ref(), seats, visible: entering ? recordOf(onboarding) : undefined }));
      if (result.status === 'loginTaken') {
        holdReason = result.reason;
        return 'awaitData';
      }
      if (result.status === 'waitingForSeat') {
        const recheck = Date.now() + plan.timings.seatRecheckMs;
        await waitIn({ state: 'waitingForSeat', waitingFor: `seat:${result.orgKey}`, waitingUntil: recheck }, { until: recheck });
        return 'plan';
      }
      seatsHeld = seats;
      const now = Date.now();
      const opened = windowsOpened(result, s.applied);
      if (opened.tags) s.windows.tags = now + plan.timings.tagPropagationMs;
      if (opened.role) s.windows.securityRole = now + plan.timings.rolePropagationMs;
      if (result.applied) s.applied = result.applied;
      // Before the first invitation: wait until the identity provider has gone quiet for this user.
      if (s.invitationRound === 1 && !s.invitation && !s.accepted && plan.timings.settleMs > 0) {
        s.windows.settle = Math.min((s.lastChangeAt ?? now) + plan.timings.settleMs, (s.firstChangeAt ?? now) + plan.timings.settleMaxMs);
      }
      s.appliedVersion = plan.version;
      return 'propagate';
    },

    async propagate() {
      // The application's caches must have caught up before the user relies on the change.
      const open = Object.entries(s.windows).filter(([, until]) => until !== undefined && until > Date.now()) as [string, number][];
      if (open.length > 0) {
        const until = Math.max(...open.map(([, t]) => t));
        const woken = await waitIn(
          { state: 'waitingPropagation', waitingFor: `propagation:${open.map(([k]) => k).join(',')}`, waitingUntil: until },
          { until },
        );
        if (woken !== 'timeout') return 'plan';
      }
      s.windows = {};
      return 'endDate';
    },

    async endDate() {
      if (pastEndDate()) {
        if (plan.timings.endDateAction === 'terminate') {
          terminationCause = 'hrEndDate';
          return 'terminate';
        }
        if (!s.endHandled) {
          await call('suspendUser', () => steps.suspendUser({ ...ref(), cause: 'hrEndDate' }));
          s.suspended = true;
          s.endHandled = true;
        }
        await waitIn({ state: 'suspended', waitingFor: 'endDate change' });
        return 'plan';
      }
      if (s.accepted) return 'active';
      return s.invitation ? 'awaitAcceptance' : 'schedule';
    },

    async schedule() {
      const sendAt = plan.startAt === null ? undefined : plan.startAt - plan.timings.startLeadMs;
      if (sendAt !== undefined && Date.now() < sendAt) {
        const woken = await waitIn({ state: 'scheduled', waitingFor: 'startDate', waitingUntil: sendAt }, { until: sendAt });
        if (woken !== 'timeout') return 'plan';
      }
      // The seats are taken when the invitation is due, not when the user was created.
      return seatsHeld ? 'invite' : 'converge';
    },

    async invite() {
      const check: AccessCheck = await call('verifyAccess', () => localSteps.verifyAccess(ref()));
      if (!check.verified) {
        // A change landed after the convergence (or it did not hold): converge again, a few times at most.
        unverified += 1;
        if (unverified >= MAX_UNVERIFIED)
          throw new StepFailure('verifyAccess', ApplicationFailure.nonRetryable(`access not effective: ${check.differences.join('; ')}`));
        return 'plan';
      }
      unverified = 0;
      if (inbox.changed || s.deleted) return 'plan';
      // The wait for acceptance is recorded with the invitation (in its transaction): its deadline, counted from the send.
      const firstDeadline = invitationDeadline({ id: '', round: s.invitationRound, sentAt: 0, reminders: 0, expired: false }, { ...plan, endAt: null });
      const sent = await call('sendInvitation', () =>
        localMail.sendInvitation({
          ...ref(),
          round: s.invitationRound,
          expiresInMs: plan.timings.expiryMs,
          visible: { ...recordOf({ state: 'invited', waitingFor: 'acceptance' }), waitingInMs: firstDeadline.at, waitingUntilAtMost: plan.endAt },
        }),
      );
      // Reminders and expiry run on workflow time (the database's clock is not the workflow's).
      s.invitation = { id: sent.invitationId, round: s.invitationRound, sentAt: Date.now(), reminders: 0, expired: false, expiryMs: plan.timings.expiryMs };
      await show({ state: 'invited', waitingFor: 'acceptance', waitingUntil: invitationDeadline(s.invitation, plan).at }, true);
      return 'awaitAcceptance';
    },

    async awaitAcceptance() {
      const inv = s.invitation!;
      if (inv.expired) return 'expired';
      if (inbox.resend) {
        startNewRound();
        return 'converge';
      }
      const deadline = invitationDeadline(inv, plan);
      const woken = await waitIn(
        { state: 'invited', waitingFor: 'acceptance', waitingUntil: deadline.at },
        { until: deadline.at, signal: () => inbox.accepted || inbox.resend },
      );
      if (inbox.accepted) {
        await call('markActive', () => steps.markActive({ ...ref(), invitationId: inv.id }));
        s.accepted = true;
        return 'endDate';
      }
      if (woken === 'change') return 'plan';
      if (woken === 'signal') return 'awaitAcceptance';
      if (Date.now() >= deadline.expiresAt) {
        await call('expireInvitation', () => steps.expireInvitation({ ...ref(), invitationId: inv.id }));
        inv.expired = true;
        return 'expired';
      }
      if (deadline.nextReminder !== undefined && Date.now() >= deadline.nextReminder) {
        inv.reminders += 1;
        await call('sendReminder', () => localMail.sendReminder({ ...ref(), invitationId: inv.id, reminder: inv.reminders }));
        return 'awaitAcceptance';
      }
      return 'endDate';
    },

    async expired() {
      const woken = await waitIn({ state: 'expired', waitingFor: 'resendInvitation' }, { signal: () => inbox.resend });
      if (woken === 'change') return 'plan';
      startNewRound();
      return 'converge';
    },

    async active() {
      const until = plan.endAt !== null && !s.endHandled ? plan.endAt : undefined;
      const woken = await waitIn(until !== undefined ? { state: 'active', waitingFor: 'endDate', waitingUntil: until } : { state: 'active' }, { until });
      return woken === 'timeout' ? 'endDate' : 'plan';
    },

    async terminate() {
      if (terminationCause === 'scimRequest') {
        // Only a Super User's decision wakes these waits (the deletion itself has been seen).
        inbox.changed = false;
        const decision = await guard('terminate', 0);
        if (decision === 'held') {
          await waitIn({ state: 'deprovisionHeld', waitingFor: 'decision:terminate' });
          return 'terminate';
        }
        if (decision === 'rejected') {
          await waitIn({ state: 'deletionRejected', waitingFor: 'decision:terminate' });
          return 'terminate';
        }
      }
      await call('terminateUser', () => steps.terminateUser({ ...ref(), cause: terminationCause }));
      await show({ state: 'terminated' });
      return { done: 'terminated' };
    },
  };

  /** A step that could not complete is surfaced, not hidden: `failed` with the reason until a change or an operator's retry. */
  async function failed(err: StepFailure): Promise<Next> {
    await waitIn({ state: 'failed', waitingFor: 'change or retry', lastError: err.message });
    return 'plan';
  }

  let next: Next = 'plan';
  for (;;) {
    if (typeof next !== 'string') return { state: next.done };
    if (s.deleted && next !== 'terminate') {
      terminationCause = 'scimRequest';
      next = 'terminate';
    }
    const info = workflowInfo();
    if (!inbox.changed && (info.continueAsNewSuggested || info.historyLength > (input.historyLimit ?? HISTORY_LIMIT))) {
      await continueAsNew<typeof userLifecycle>({ tenantId, userId, indexState: input.indexState, historyLimit: input.historyLimit, carried: s });
    }
    if (inbox.changed && next !== 'terminate') next = 'plan';
    try {
      next = await stepsByName[next]();
    } catch (err) {
      if (!(err instanceof StepFailure)) throw err;
      next = await failed(err);
    }
  }
}
