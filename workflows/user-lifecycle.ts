/**
 * userLifecycle: one long-lived workflow per provisioned user (id: user-<tenant>-<scimId>).
 * Each numbered step is a function of the same name below; each returns the next step.
 *
 * 1. plan: read what the SCIM data and tenant configuration ask for (ids and flags only).
 *    Deleted → terminate; inactive → suspend; data missing → awaitData; else → converge.
 * 2. suspend: block login (entitlements kept) and wait for a change; awaitData: wait in
 *    `awaitingData` until a SCIM update supplies what is missing.
 * 3. converge: (reactivate a suspended user) create the profile → organisations and roles →
 *    licences (wait for a free seat when the pool is full) → provider accounts → security role,
 *    employee type, tags, teams, facilities, notifications; all in one local activity.
 * 4. propagate: wait out the propagation windows the changes opened (tags 10 min, security role
 *    1 h by default); a later change restarts only the windows it affects.
 * 5. endDate: an HR end date suspends or terminates on the day; otherwise on to the user's
 *    place in the invitation cycle (schedule, awaitAcceptance or active).
 * 6. schedule: hold the invitation until the HR start date's lead time.
 * 7. invite: verify access, then send the invitation once.
 * 8. awaitAcceptance: remind on schedule, expire, or record the acceptance → active.
 * 9. expired: wait for an operator's resend; active: wait for a change or the end date.
 * 10. terminate: end every entitlement (also the compensation of an onboarding cut short).
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
import type { AccessRemovalCause, AccessSettingsResult, AppliedAccess, UserPlan } from '../activities/types';
import type { ProvisioningState } from '../domain/roles';
import { SA_STATE } from '../common/temporal/constants';
import {
  invitationAcceptedSignal,
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

/** Mail: SMTP outages last; keep retrying (at most once per mail is kept by the delivery ledger). */
const MAIL_RETRY: RetryPolicy = { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', nonRetryableErrorTypes: ['InvalidData'] };
const localMail = proxyLocalActivities<Activities>({ startToCloseTimeout: '1 minute', localRetryThreshold: '2 seconds', retry: MAIL_RETRY });

const local = proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds', retry: { maximumInterval: '10 seconds' } });

/** Carried across continue-as-new. */
export interface LifecycleState {
  latestVersion: number;
  requestId: string;
  appliedVersion: number;
  deleted: boolean;
  suspended: boolean;
  /** Propagation deadlines (epoch ms) by change kind. */
  windows: { tags?: number; securityRole?: number };
  /** The role and tags last applied, to tell a convergence re-run after a crash from a no-op. */
  applied: AppliedAccess;
  invitation?: { id: string; round: number; sentAt: number; reminders: number; expired: boolean };
  invitationRound: number;
  accepted: boolean;
  /** An HR end date's suspension has been applied (reset by a reactivation). */
  endHandled?: boolean;
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
  const offsets = plan.timings.reminderOffsetsMs.filter((o) => o < plan.timings.expiryMs);
  const nextReminder = inv.reminders < offsets.length ? inv.sentAt + offsets[inv.reminders] : undefined;
  const expiresAt = inv.sentAt + plan.timings.expiryMs;
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

  const ref = () => ({ tenantId, userId, requestId: s.requestId });
  let plan!: UserPlan;
  let terminationCause: AccessRemovalCause = 'scimRequest';

  /** The one place the visible state changes: status query, search attribute, memo, Temporal UI details, database. */
  async function show(v: Visible): Promise<void> {
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
    if (input.indexState !== false) upsertSearchAttributes([{ key: SA_STATE, value: v.state }]);
    upsertMemo({ summary: `${v.state}${v.waitingFor ? ` (waiting for ${v.waitingFor})` : ''}` });
    setCurrentDetails(describeStatus(next));
    await local.recordState({
      tenantId,
      userId,
      state: v.state,
      waitingFor: v.waitingFor ?? null,
      waitingUntil: v.waitingUntil ?? null,
      lastError: v.lastError ?? null,
      workflowId: workflowInfo().workflowId,
    });
  }

  /** Shows `v` and waits for a change (or deletion or retry), for `until`, or for `signal()` to hold. */
  async function waitIn(v: Visible, options: { until?: number; signal?: () => boolean } = {}): Promise<Woken> {
    await show(v);
    const changed = () => inbox.changed || s.deleted;
    const woken = () => changed() || (options.signal?.() ?? false);
    const early = options.until === undefined ? (await condition(woken), true) : await condition(woken, Math.max(options.until - Date.now(), 1));
    if (!early) return 'timeout';
    return changed() ? 'change' : 'signal';
  }

  /** A resend (after expiry, or while invited) starts a new round: a new invitation and link. */
  function startNewRound(): void {
    inbox.resend = false;
    s.invitation = undefined;
    s.invitationRound += 1;
  }

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
      if (!plan.active) return 'suspend';
      if (plan.missing.length > 0) return 'awaitData';
      return 'converge';
    },

    async suspend() {
      if (!s.suspended) await call('suspendUser', () => steps.suspendUser({ ...ref(), cause: 'scimRequest' }));
      s.suspended = true;
      s.appliedVersion = plan.version;
      await waitIn({ state: 'suspended', waitingFor: 'reactivation' });
      return 'plan';
    },

    async awaitData() {
      await waitIn({ state: 'awaitingData', waitingFor: 'data', lastError: plan.missing.join('; ') });
      return 'plan';
    },

    async converge() {
      if (s.suspended) {
        await call('reactivateUser', () => steps.reactivateUser({ ...ref(), accepted: s.accepted, invited: !!s.invitation && !s.invitation.expired }));
        s.suspended = false;
        s.endHandled = false;
      }
      if (status.state === 'pending' || status.state === 'awaitingData' || status.state === 'failed') await show({ state: 'onboarding' });
      const result = await call('convergeUser', () => localSteps.convergeUser(ref()));
      if (result.status === 'waitingForSeat') {
        const recheck = plan.timings.seatRecheckMs;
        await waitIn({ state: 'waitingForSeat', waitingFor: `seat:${result.orgKey}`, waitingUntil: Date.now() + recheck }, { until: Date.now() + recheck });
        return 'plan';
      }
      const now = Date.now();
      const opened = windowsOpened(result, s.applied);
      if (opened.tags) s.windows.tags = now + plan.timings.tagPropagationMs;
      if (opened.role) s.windows.securityRole = now + plan.timings.rolePropagationMs;
      if (result.applied) s.applied = result.applied;
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
      if (plan.endAt !== null && Date.now() >= plan.endAt && !s.endHandled) {
        if (plan.timings.endDateAction === 'terminate') {
          terminationCause = 'hrEndDate';
          return 'terminate';
        }
        await call('suspendUser', () => steps.suspendUser({ ...ref(), cause: 'hrEndDate' }));
        s.suspended = true;
        s.endHandled = true;
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
      return 'invite';
    },

    async invite() {
      await call('verifyAccess', () => localSteps.verifyAccess(ref()));
      if (inbox.changed || s.deleted) return 'plan';
      const sent = await call('sendInvitation', () => localMail.sendInvitation({ ...ref(), round: s.invitationRound, expiresInMs: plan.timings.expiryMs }));
      // Reminders and expiry run on workflow time (the database's clock is not the workflow's).
      s.invitation = { id: sent.invitationId, round: s.invitationRound, sentAt: Date.now(), reminders: 0, expired: false };
      return 'awaitAcceptance';
    },

    async awaitAcceptance() {
      const inv = s.invitation!;
      if (inv.expired) return 'expired';
      if (inbox.resend) {
        startNewRound();
        return 'endDate';
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
      return 'endDate';
    },

    async active() {
      const until = plan.endAt !== null && !s.endHandled ? plan.endAt : undefined;
      const woken = await waitIn(until !== undefined ? { state: 'active', waitingFor: 'endDate', waitingUntil: until } : { state: 'active' }, { until });
      return woken === 'timeout' ? 'endDate' : 'plan';
    },

    async terminate() {
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
