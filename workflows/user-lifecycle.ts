/**
 * userLifecycle: one long-lived workflow per provisioned user (id: user-<tenant>-<scimId>).
 *
 * 1. Plan: read what the SCIM data and tenant configuration ask for (ids and flags only).
 * 2. Deleted → terminate (compensates every step that ran) and finish.
 *    Inactive → suspend and wait for a change; active again → reactivate.
 *    Data missing → wait in `awaitingData` until a SCIM update supplies it.
 * 3. Converge: create the profile → organisations and roles → licences (wait for a free seat
 *    when the pool is full) → provider accounts → security role, employee type, tags, teams,
 *    facilities, notifications.
 * 4. Wait out the propagation windows the changes opened (tags 10 min, security role 1 h by
 *    default); a later change restarts only the windows it affects.
 * 5. Hold the invitation until the HR start date's lead time; verify access; send the
 *    invitation once; remind on schedule; expire; record acceptance → active.
 * 6. An HR end date suspends or terminates on the day.
 * Every SCIM change arrives as a signal and sends the workflow back to step 1; duplicates and
 * reordering are harmless because the activities read the latest state from PostgreSQL.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  proxyActivities,
  proxyLocalActivities,
  type RetryPolicy,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AccessSettingsResult, AppliedAccess, ConvergeResult, UserPlan } from '../activities/types';
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

/** Converging steps: short, retried with backoff, surfaced as `failed` after ~10 attempts. */
const STEP_RETRY: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts: 10,
  nonRetryableErrorTypes: ['InvalidData'],
};
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
  /** The role and tags last applied; recorded by runs on the local-activity path only. */
  applied?: AppliedAccess;
  invitation?: { id: string; round: number; sentAt: number; reminders: number; expired: boolean };
  invitationRound: number;
  accepted: boolean;
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

/**
 * The propagation windows a convergence opens: where it changed the directory (also a drift
 * repair), or where what is applied differs from what this workflow last recorded (the same
 * convergence re-run after a crash finds its changes already made).
 */
function windowsOpened(access: AccessSettingsResult, known: AppliedAccess | undefined): { tags: boolean; role: boolean } {
  const now = access.applied;
  return {
    tags: access.tagsChanged || (!!now && !!known && now.tags !== known.tags),
    role: access.roleChanged || (!!now && !!known && now.role !== known.role && now.role !== ''),
  };
}

export async function userLifecycle(input: UserLifecycleInput): Promise<{ state: ProvisioningState }> {
  const { tenantId, userId } = input;
  const s: LifecycleState = input.carried ?? {
    latestVersion: 0,
    requestId: input.requestId ?? 'unknown',
    appliedVersion: 0,
    deleted: false,
    suspended: false,
    windows: {},
    invitationRound: 1,
    accepted: false,
  };
  let dirty = true;
  let acceptedSignalled = false;
  let resendRequested = false;
  let retryRequested = false;
  let status: UserStatus = { state: 'pending', appliedVersion: s.appliedVersion };

  setHandler(resourceChangedSignal, (change) => {
    if (change.change === 'deleted') s.deleted = true;
    if (change.version >= s.latestVersion) {
      s.latestVersion = change.version;
      s.requestId = change.requestId;
    }
    dirty = true;
  });
  setHandler(invitationAcceptedSignal, ({ invitationId }) => {
    if (s.invitation?.id === invitationId) acceptedSignalled = true;
  });
  setHandler(resendInvitationSignal, () => {
    resendRequested = true;
  });
  setHandler(retrySignal, () => {
    retryRequested = true;
    dirty = true;
  });
  setHandler(statusQuery, () => status);

  const ref = () => ({ tenantId, userId, requestId: s.requestId });

  async function setState(state: ProvisioningState, extra: { waitingFor?: string; waitingUntil?: number; lastError?: string } = {}): Promise<void> {
    const next: UserStatus = {
      state,
      waitingFor: extra.waitingFor,
      waitingUntil: extra.waitingUntil !== undefined ? new Date(extra.waitingUntil).toISOString() : undefined,
      lastError: extra.lastError,
      appliedVersion: s.appliedVersion,
      invitationId: s.invitation?.id,
    };
    const same =
      next.state === status.state && next.waitingFor === status.waitingFor && next.waitingUntil === status.waitingUntil && next.lastError === status.lastError;
    status = next;
    if (same) return;
    if (input.indexState !== false) upsertSearchAttributes([{ key: SA_STATE, value: state }]);
    upsertMemo({ summary: `${state}${extra.waitingFor ? ` (waiting for ${extra.waitingFor})` : ''}` });
    await local.recordState({
      tenantId,
      userId,
      state,
      waitingFor: extra.waitingFor ?? null,
      waitingUntil: extra.waitingUntil ?? null,
      lastError: extra.lastError ?? null,
      workflowId: workflowInfo().workflowId,
    });
  }

  /** Waits until something happens that needs the loop: a change, a deletion, an operator action; or until `ms` pass. True when woken early. */
  const interrupted = () => dirty || s.deleted || retryRequested;
  const waitForChange = async (ms?: number): Promise<boolean> =>
    ms === undefined ? (await condition(interrupted), true) : condition(interrupted, Math.max(ms, 1));

  async function terminate(reason: string): Promise<{ state: ProvisioningState }> {
    await steps.terminateUser({ ...ref(), reason });
    await setState('terminated');
    return { state: 'terminated' };
  }

  let plan: UserPlan | undefined;
  let endHandled = false;
  // The step in flight, for `lastError`: a local activity's last failure after a backoff timer
  // arrives as the bare ApplicationFailure, without the ActivityFailure that names it.
  let running = '';
  s.applied ??= { role: '', tags: '' };
  const onboardingSteps = (step: string): typeof localSteps => {
    running = step;
    return localSteps;
  };
  const mailSteps = (step: string): typeof localMail => {
    running = step;
    return localMail;
  };

  /** The convergence steps. */
  async function converge(): Promise<ConvergeResult | undefined> {
    return onboardingSteps('convergeUser').convergeUser(ref());
  }

  for (;;) {
    if (s.deleted) return terminate('SCIM delete');
    const info = workflowInfo();
    if (!dirty && (info.continueAsNewSuggested || info.historyLength > (input.historyLimit ?? HISTORY_LIMIT))) {
      await continueAsNew<typeof userLifecycle>({ tenantId, userId, indexState: input.indexState, historyLimit: input.historyLimit, carried: s });
    }

    try {
      if (dirty || !plan) {
        dirty = false;
        retryRequested = false;
        plan = await onboardingSteps('planUser').planUser(ref());
        if (!plan.exists) {
          if (plan.deletedBy) s.requestId = plan.deletedBy;
          s.deleted = true;
          continue;
        }
        if (!plan.active) {
          if (!s.suspended) await steps.suspendUser({ ...ref(), reason: 'SCIM active=false' });
          s.suspended = true;
          s.appliedVersion = plan.version;
          await setState('suspended', { waitingFor: 'reactivation' });
          await waitForChange();
          continue;
        }
        if (plan.missing.length > 0) {
          await setState('awaitingData', { waitingFor: 'data', lastError: plan.missing.join('; ') });
          await waitForChange();
          continue;
        }
        if (s.suspended) {
          await steps.reactivateUser({ ...ref(), accepted: s.accepted, invited: !!s.invitation && !s.invitation.expired });
          s.suspended = false;
          endHandled = false;
        }
        if (status.state === 'pending' || status.state === 'awaitingData' || status.state === 'failed') await setState('onboarding');

        const access = await converge();
        if (!access) continue;
        if (access.status === 'waitingForSeat') {
          const recheck = plan.timings.seatRecheckMs;
          await setState('waitingForSeat', { waitingFor: `seat:${access.orgKey}`, waitingUntil: Date.now() + recheck });
          await waitForChange(recheck);
          dirty = true;
          continue;
        }
        const now = Date.now();
        const opened = windowsOpened(access, s.applied);
        if (opened.tags) s.windows.tags = now + plan.timings.tagPropagationMs;
        if (opened.role) s.windows.securityRole = now + plan.timings.rolePropagationMs;
        if (access.applied) s.applied = access.applied;
        s.appliedVersion = plan.version;
      }

      // Propagation: the application's caches must have caught up before the user relies on the change.
      const open = Object.entries(s.windows).filter(([, until]) => until !== undefined && until > Date.now()) as [string, number][];
      if (open.length > 0) {
        const until = Math.max(...open.map(([, t]) => t));
        await setState('waitingPropagation', { waitingFor: `propagation:${open.map(([k]) => k).join(',')}`, waitingUntil: until });
        if (await waitForChange(until - Date.now())) continue;
      }
      s.windows = {};

      // HR end date: suspend or terminate on the day.
      if (plan.endAt !== null && Date.now() >= plan.endAt && !endHandled) {
        if (plan.timings.endDateAction === 'terminate') return terminate('HR end date');
        await steps.suspendUser({ ...ref(), reason: 'HR end date' });
        s.suspended = true;
        endHandled = true;
        await setState('suspended', { waitingFor: 'endDate change' });
        await waitForChange();
        continue;
      }
      const endTimer = plan.endAt !== null && !endHandled ? plan.endAt - Date.now() : undefined;

      if (s.accepted) {
        await setState('active', endTimer !== undefined ? { waitingFor: 'endDate', waitingUntil: plan.endAt as number } : {});
        await waitForChange(endTimer);
        continue;
      }

      if (!s.invitation) {
        if (plan.startAt !== null) {
          const sendAt = plan.startAt - plan.timings.startLeadMs;
          if (Date.now() < sendAt) {
            await setState('scheduled', { waitingFor: 'startDate', waitingUntil: sendAt });
            if (await waitForChange(sendAt - Date.now())) continue;
          }
        }
        await onboardingSteps('verifyAccess').verifyAccess(ref());
        if (s.deleted || dirty) continue;
        const sent = await mailSteps('sendInvitation').sendInvitation({ ...ref(), round: s.invitationRound, expiresInMs: plan.timings.expiryMs });
        // Reminders and expiry run on workflow time (the database's clock is not the workflow's).
        s.invitation = { id: sent.invitationId, round: s.invitationRound, sentAt: Date.now(), reminders: 0, expired: false };
      }

      const inv = s.invitation;
      if (inv.expired) {
        await setState('expired', { waitingFor: 'resendInvitation' });
        await condition(() => interrupted() || resendRequested);
        if (resendRequested) {
          resendRequested = false;
          s.invitation = undefined;
          s.invitationRound += 1;
        }
        continue;
      }
      if (resendRequested) {
        resendRequested = false;
        s.invitation = undefined;
        s.invitationRound += 1;
        continue;
      }
      const offsets = plan.timings.reminderOffsetsMs.filter((o) => o < plan!.timings.expiryMs);
      const nextReminder = inv.reminders < offsets.length ? inv.sentAt + offsets[inv.reminders] : undefined;
      const deadline = Math.min(nextReminder ?? Number.POSITIVE_INFINITY, inv.sentAt + plan.timings.expiryMs, plan.endAt ?? Number.POSITIVE_INFINITY);
      await setState('invited', { waitingFor: 'acceptance', waitingUntil: deadline });
      const woke = await condition(() => interrupted() || acceptedSignalled || resendRequested, Math.max(deadline - Date.now(), 1));
      if (acceptedSignalled) {
        await steps.markActive({ ...ref(), invitationId: inv.id });
        s.accepted = true;
        continue;
      }
      if (woke) continue;
      if (Date.now() >= inv.sentAt + plan.timings.expiryMs) {
        await steps.expireInvitation({ ...ref(), invitationId: inv.id });
        inv.expired = true;
      } else if (nextReminder !== undefined && Date.now() >= nextReminder) {
        inv.reminders += 1;
        await mailSteps('sendReminder').sendReminder({ ...ref(), invitationId: inv.id, reminder: inv.reminders });
      }
    } catch (err) {
      // A step that cannot complete is surfaced, not hidden: the workflow waits in `failed`
      // with the reason until a SCIM change or an operator's retry signal.
      let lastError: string;
      if (err instanceof ActivityFailure) {
        const cause = err.cause instanceof ApplicationFailure ? err.cause.message : (err.cause?.message ?? err.message);
        lastError = `${err.activityType}: ${cause}`;
      } else if (err instanceof ApplicationFailure) {
        lastError = `${running}: ${err.message}`;
      } else throw err;
      await setState('failed', { waitingFor: 'change or retry', lastError });
      await waitForChange();
      dirty = true;
    }
  }
}
