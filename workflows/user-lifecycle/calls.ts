/**
 * How the user workflow calls its activities: which run as regular activities, which as local
 * activities, with what retries; and a failure named after the activity that failed.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities, proxyLocalActivities, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../../activities';

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
export const steps = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: STEP_RETRY });

/**
 * Onboarding as local activities: the plan, the convergence (all five steps in one activity),
 * the access check and the invitation run in the worker that holds the workflow, inside its
 * workflow task, and leave one marker each instead of three events and a workflow task per
 * step (60 → ~18 history events per onboarding, less than half the CPU of the whole stack;
 * see docs/performance.md). They are idempotent, which local activities need: a worker crash
 * mid-task runs them again (the mail ledger keeps an invitation to at most one). Backoffs
 * beyond a few seconds become durable timers: they survive a worker restart and show in the UI.
 */
export const localSteps = proxyLocalActivities<Activities>({ startToCloseTimeout: '30 seconds', localRetryThreshold: '2 seconds', retry: STEP_RETRY });

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
export const localMail = proxyLocalActivities<Activities>({ startToCloseTimeout: '1 minute', localRetryThreshold: '2 seconds', retry: MAIL_RETRY });

/** Recording the visible state: one short statement. */
export const local = proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds', retry: { maximumInterval: '10 seconds' } });

/** A step's activity failed for good (after its retries); `message` names the activity for `lastError`. */
export class StepFailure extends Error {
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
export async function call<T>(activity: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ActivityFailure || err instanceof ApplicationFailure) throw new StepFailure(activity, err);
    throw err;
  }
}
