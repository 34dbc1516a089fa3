/**
 * The steps of the user workflow, one function each. A step receives what the step before it
 * found (its `Next`) and returns the next step with what that one needs; nothing else passes
 * between steps. The carried state (`user.s`) is what outlives a pass: the invitation, the
 * windows, suspended or not.
 */
import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { AccessCheck, AccessRemovalCause, DeprovisionDecision, UserPlan } from '../../activities/types';
import type { ProvisioningState } from '../../domain/roles';
import type { PropagationWindow } from '../../domain/visible-state';
import { call, localMail, localSteps, StepFailure, steps } from './calls';
import { invitationDeadline, invitationDue, pastEndDate, windowsOpened } from './timing';
import type { LifecycleUser } from './user';

/** Convergences in a row whose result the access check could not confirm before the workflow gives up (`failed`). */
const MAX_UNVERIFIED = 3;

/** What a pass from the plan to the invitation carries. */
export interface Pass {
  plan: UserPlan;
  /** Whether the last convergence took the licence seats (it may run before the invitation is due). */
  seatsHeld: boolean;
  /** Access checks in a row that found the directory not yet as planned. */
  unverified: number;
  /** The propagation windows this pass waited out without reading the application back, for the user's log. */
  waited?: { windows: PropagationWindow[]; ms: number };
}

type PassStep = 'suspend' | 'converge' | 'propagate' | 'endDate' | 'schedule' | 'invite' | 'awaitAcceptance' | 'expired' | 'active';

/** What a step leads to, with what the next step needs; `done` ends the workflow in a final state. */
export type Next =
  | { step: 'plan'; unverified?: number }
  | { step: PassStep; pass: Pass }
  | { step: 'awaitData'; reason: string }
  | { step: 'terminate'; cause: AccessRemovalCause }
  | { step: 'done'; state: ProvisioningState };

export type StepName = Exclude<Next['step'], 'done'>;
/** What step K receives. */
type NextOf<K extends StepName> = K extends PassStep ? { step: K; pass: Pass } : Extract<Next, { step: K }>;
type Step<K extends StepName> = (user: LifecycleUser, next: NextOf<K>) => Promise<Next>;

const toPlan: Next = { step: 'plan' };

/** The guard's decision on a suspension or termination a SCIM request asked for. */
function guard(user: LifecycleUser, action: 'suspend' | 'terminate', scimVersion: number): Promise<DeprovisionDecision> {
  return call('requestDeprovision', () => localSteps.requestDeprovision({ ...user.ref(), action, scimVersion }));
}

/**
 * 1. Read what the SCIM data and tenant configuration ask for (ids and flags only). Deleted →
 * terminate; inactive → suspend; past its HR end date → endDate; data missing or a login taken
 * by another user → awaitData; else → converge.
 */
const plan: Step<'plan'> = async (user, next) => {
  const { s, inbox } = user;
  inbox.changed = false;
  inbox.retry = false;
  const planned = await call('planUser', () => localSteps.planUser(user.ref()));
  const pass: Pass = { plan: planned, seatsHeld: false, unverified: next.unverified ?? 0 };
  if (!planned.exists) {
    if (planned.deletedBy) s.requestId = planned.deletedBy;
    s.deleted = true;
    return { step: 'terminate', cause: 'scimRequest' };
  }
  if (!planned.active) {
    s.inactiveSince ??= planned.version;
    return { step: 'suspend', pass };
  }
  s.inactiveSince = undefined;
  if (pastEndDate(planned, Date.now())) return { step: 'endDate', pass };
  if (planned.missing.length > 0) return { step: 'awaitData', reason: planned.missing.join('; ') };
  return { step: 'converge', pass };
};

/** 2a. Past the mass-deprovisioning guard: block login, free the seats, revoke the pending invitation; wait for a change. */
const suspend: Step<'suspend'> = async (user, { pass }) => {
  const { s } = user;
  if (!s.suspended) {
    const decision = await guard(user, 'suspend', s.inactiveSince ?? pass.plan.version);
    if (decision === 'held') {
      await user.waitIn({ state: 'deprovisionHeld', wait: { kind: 'decision', action: 'suspend' } });
      return toPlan;
    }
    // Rejected: the user keeps its access as if the identity provider had not asked.
    if (decision === 'rejected') return pass.plan.missing.length > 0 ? { step: 'awaitData', reason: pass.plan.missing.join('; ') } : { step: 'converge', pass };
    await call('suspendUser', () => steps.suspendUser({ ...user.ref(), cause: 'scimRequest' }));
    s.suspended = true;
  }
  s.appliedVersion = pass.plan.version;
  await user.waitIn({ state: 'suspended', wait: { kind: 'reactivation' } });
  return toPlan;
};

/** 2b. Least privilege while held: what is no longer wanted goes now, and login waits until a SCIM update (or a released login) completes the data. */
const awaitData: Step<'awaitData'> = async (user, { reason }) => {
  await call('restrictUser', () => localSteps.restrictUser({ ...user.ref(), reason }));
  await user.waitIn({ state: 'awaitingData', wait: { kind: 'data' }, lastError: reason });
  return toPlan;
};

/**
 * 3. (Reactivate a suspended user,) claim the login identifiers, create the profile →
 * organisations and roles → licences (only once the invitation is due; wait for a free seat
 * when the pool is full) → provider accounts → access settings; all in one local activity.
 */
const converge: Step<'converge'> = async (user, { pass }) => {
  const { s } = user;
  const { plan } = pass;
  if (s.suspended) {
    await call('reactivateUser', () => steps.reactivateUser({ ...user.ref(), accepted: s.accepted }));
    s.suspended = false;
    s.endHandled = false;
    // The suspension revoked the open invitation: a reactivated user who had not accepted gets a new one.
    if (s.invitation && !s.invitation.expired && !s.accepted) user.startNewRound();
  }
  // Entering onboarding: the convergence records the state in its own transaction.
  const entering = user.state === 'pending' || user.state === 'awaitingData' || user.state === 'failed';
  if (entering) await user.show({ state: 'onboarding' }, true);
  const seats = user.wantsSeats(invitationDue(plan, Date.now()));
  const result = await call('convergeUser', () =>
    localSteps.convergeUser({ ...user.ref(), seats, visible: entering ? user.recordOf({ state: 'onboarding' }) : undefined }),
  );
  if (result.status === 'loginTaken') return { step: 'awaitData', reason: result.reason };
  if (result.status === 'waitingForSeat') {
    await user.waitIn({ state: 'waitingForSeat', wait: { kind: 'seat', orgKey: result.orgKey }, until: Date.now() + plan.timings.seatRecheckMs });
    return toPlan;
  }
  const now = Date.now();
  const opened = windowsOpened(result, s.applied);
  // The application's caches start from its write, which the convergence (a local activity: the
  // workflow's clock stays at the task's start) may have made seconds later: the windows open then
  // (within a minute of this task, whatever the worker's clock says).
  const cachesFrom = result.appliedAt !== undefined ? Math.min(Math.max(now, result.appliedAt), now + 60_000) : now;
  if (opened.tags) s.windows.tags = cachesFrom + plan.timings.tagPropagationMs;
  if (opened.role) s.windows.securityRole = cachesFrom + plan.timings.rolePropagationMs;
  if (result.applied) s.applied = result.applied;
  // Before the first invitation: wait until the identity provider has gone quiet for this user.
  if (s.invitationRound === 1 && !s.invitation && !s.accepted && plan.timings.settleMs > 0) {
    s.windows.settle = Math.min((s.lastChangeAt ?? now) + plan.timings.settleMs, (s.firstChangeAt ?? now) + plan.timings.settleMaxMs);
  }
  s.appliedVersion = plan.version;
  return { step: 'propagate', pass: { ...pass, seatsHeld: seats } };
};

/**
 * 4. Wait out the windows the changes opened (tags 10 min, security role 1 h by default) and,
 * before the first invitation, the settling window (Okta pushes group memberships seconds after
 * the user): the application's caches must have caught up before the user relies on the change.
 */
const propagate: Step<'propagate'> = async (user, { pass }) => {
  const { s } = user;
  // Where the application reads back, its caches are verified instead of waited out.
  if (pass.plan.verifiesPropagation && (await verifyInApplication(user, pass)) === 'woken') return toPlan;
  const open = (Object.entries(s.windows) as [PropagationWindow, number | undefined][]).filter(
    (w): w is [PropagationWindow, number] => w[1] !== undefined && w[1] > Date.now(),
  );
  if (open.length > 0) {
    const until = Math.max(...open.map(([, t]) => t));
    const woken = await user.waitIn({ state: 'waitingPropagation', wait: { kind: 'propagation', windows: open.map(([k]) => k) }, until });
    if (woken !== 'timeout') return toPlan;
  }
  s.windows = {};
  const windows = open.map(([k]) => k);
  return {
    step: 'endDate',
    pass: windows.length > 0 ? { ...pass, waited: { windows, ms: Math.max(...windows.map((w) => windowLength(w, pass.plan))) } } : pass,
  };
};

/** How long a window lasts under the plan's timings. */
function windowLength(w: PropagationWindow, plan: UserPlan): number {
  return w === 'tags' ? plan.timings.tagPropagationMs : w === 'securityRole' ? plan.timings.rolePropagationMs : plan.timings.settleMs;
}

/** Polls of the application's read-back: 5 s, doubling, at most every 5 minutes. */
const pollDelay = (poll: number) => Math.min(5_000 * 2 ** poll, 300_000);

/**
 * 4a. Reads the account back from the application until the role and tags the convergence
 * changed are in force, then ends those windows at once; the windows are the upper bound, past
 * which the user is `failed` with what the application still shows. A window whose deadline has
 * passed unverified (a retry after that failure) is checked once more. `woken`: a change came.
 */
async function verifyInApplication(user: LifecycleUser, pass: Pass): Promise<'effective' | 'woken'> {
  const { s } = user;
  const cache = (['tags', 'securityRole'] as const).filter((w) => s.windows[w] !== undefined);
  if (cache.length === 0) return 'effective';
  const deadlines = cache.map((w) => s.windows[w] as number);
  const until = Math.max(...deadlines);
  const openedAt = Math.min(...cache.map((w, i) => deadlines[i] - windowLength(w, pass.plan)));
  for (let poll = 0; ; poll++) {
    const check = await call('checkPropagation', () => localSteps.checkPropagation({ ...user.ref(), windows: [...cache], elapsedMs: Date.now() - openedAt }));
    if (check.effective) {
      for (const w of cache) delete s.windows[w];
      return 'effective';
    }
    if (Date.now() >= until)
      throw new StepFailure(
        'checkPropagation',
        ApplicationFailure.nonRetryable(
          `not in force in the application when the propagation window ended: ${check.pending.join('; ')}. Check the account in the application, then retry the user`,
        ),
      );
    const wakeAt = Math.min(Date.now() + pollDelay(poll), until);
    const woken = await user.waitIn({ state: 'waitingPropagation', wait: { kind: 'propagation', windows: [...cache] }, until }, undefined, wakeAt);
    if (woken !== 'timeout') return 'woken';
  }
}

/** 5. An HR end date suspends or terminates on the day; otherwise on to the user's place in the invitation cycle. */
const endDate: Step<'endDate'> = async (user, { pass }) => {
  const { s } = user;
  if (pastEndDate(pass.plan, Date.now())) {
    if (pass.plan.timings.endDateAction === 'terminate') return { step: 'terminate', cause: 'hrEndDate' };
    if (!s.endHandled) {
      await call('suspendUser', () => steps.suspendUser({ ...user.ref(), cause: 'hrEndDate' }));
      s.suspended = true;
      s.endHandled = true;
    }
    await user.waitIn({ state: 'suspended', wait: { kind: 'endDateChange' } });
    return toPlan;
  }
  if (s.accepted) return { step: 'active', pass };
  return { step: s.invitation ? 'awaitAcceptance' : 'schedule', pass };
};

/** 6. Hold the invitation until the HR start date's lead time, then take the seats. */
const schedule: Step<'schedule'> = async (user, { pass }) => {
  const { plan } = pass;
  const sendAt = plan.startAt === null ? undefined : plan.startAt - plan.timings.startLeadMs;
  if (sendAt !== undefined && Date.now() < sendAt) {
    const woken = await user.waitIn({ state: 'scheduled', wait: { kind: 'startDate' }, until: sendAt });
    if (woken !== 'timeout') return toPlan;
  }
  // The seats are taken when the invitation is due, not when the user was created.
  return { step: pass.seatsHeld ? 'invite' : 'converge', pass };
};

/** 7. Verify that the directory holds exactly what the user should have, then send the invitation once. */
const invite: Step<'invite'> = async (user, { pass }) => {
  const { s, inbox } = user;
  const { plan } = pass;
  const check: AccessCheck = await call('verifyAccess', () => localSteps.verifyAccess({ ...user.ref(), waited: pass.waited }));
  if (!check.verified) {
    // A change landed after the convergence (or it did not hold): converge again, a few times at most.
    const unverified = pass.unverified + 1;
    if (unverified >= MAX_UNVERIFIED)
      throw new StepFailure('verifyAccess', ApplicationFailure.nonRetryable(`access not effective: ${check.differences.join('; ')}`));
    return { step: 'plan', unverified };
  }
  if (inbox.changed || s.deleted) return toPlan;
  // The wait for acceptance is recorded with the invitation (in its transaction): its deadline, counted from the send.
  const firstDeadline = invitationDeadline({ sentAt: 0, reminders: 0, expiryMs: plan.timings.expiryMs }, plan.timings, null);
  const sent = await call('sendInvitation', () =>
    localMail.sendInvitation({
      ...user.ref(),
      round: s.invitationRound,
      expiresInMs: plan.timings.expiryMs,
      visible: { ...user.recordOf({ state: 'invited', wait: { kind: 'acceptance' } }), waitingInMs: firstDeadline.at, waitingUntilAtMost: plan.endAt },
    }),
  );
  // Reminders and expiry run on workflow time (the database's clock is not the workflow's).
  s.invitation = { id: sent.invitationId, round: s.invitationRound, sentAt: Date.now(), reminders: 0, expired: false, expiryMs: plan.timings.expiryMs };
  await user.show({ state: 'invited', wait: { kind: 'acceptance' }, until: invitationDeadline(s.invitation, plan.timings, plan.endAt).at }, true);
  return { step: 'awaitAcceptance', pass: { ...pass, unverified: 0 } };
};

/** 8. Remind on schedule, expire (freeing the seats), or record the acceptance. */
const awaitAcceptance: Step<'awaitAcceptance'> = async (user, { pass }) => {
  const { s, inbox } = user;
  const inv = s.invitation!;
  if (inv.expired) return { step: 'expired', pass };
  if (inbox.resend) {
    user.startNewRound();
    return { step: 'converge', pass };
  }
  const deadline = invitationDeadline(inv, pass.plan.timings, pass.plan.endAt);
  const woken = await user.waitIn({ state: 'invited', wait: { kind: 'acceptance' }, until: deadline.at }, () => inbox.accepted || inbox.resend);
  if (inbox.accepted) {
    await call('markActive', () => steps.markActive({ ...user.ref(), invitationId: inv.id }));
    s.accepted = true;
    return { step: 'endDate', pass };
  }
  if (woken === 'change') return toPlan;
  if (woken === 'signal') return { step: 'awaitAcceptance', pass };
  if (Date.now() >= deadline.expiresAt) {
    await call('expireInvitation', () => steps.expireInvitation({ ...user.ref(), invitationId: inv.id }));
    inv.expired = true;
    return { step: 'expired', pass };
  }
  if (deadline.nextReminder !== undefined && Date.now() >= deadline.nextReminder) {
    inv.reminders += 1;
    await call('sendReminder', () => localMail.sendReminder({ ...user.ref(), invitationId: inv.id, reminder: inv.reminders }));
    return { step: 'awaitAcceptance', pass };
  }
  return { step: 'endDate', pass };
};

/** 9a. The invitation expired unaccepted: wait for a resend. */
const expired: Step<'expired'> = async (user, { pass }) => {
  const woken = await user.waitIn({ state: 'expired', wait: { kind: 'resendInvitation' } }, () => user.inbox.resend);
  if (woken === 'change') return toPlan;
  user.startNewRound();
  return { step: 'converge', pass };
};

/** 9b. Accepted: wait for a change or the HR end date. */
const active: Step<'active'> = async (user, { pass }) => {
  const endAt = pass.plan.endAt !== null && !user.s.endHandled ? pass.plan.endAt : undefined;
  const woken = await user.waitIn(endAt !== undefined ? { state: 'active', wait: { kind: 'endDate' }, until: endAt } : { state: 'active' });
  return woken === 'timeout' ? { step: 'endDate', pass } : toPlan;
};

/**
 * 10. Past the guard (SCIM deletions), end every entitlement; also the compensation of an
 * onboarding cut short. A deletion whose rejection restored the SCIM user goes back to the plan.
 */
const terminate: Step<'terminate'> = async (user, next) => {
  if (next.cause === 'scimRequest') {
    // Only a Super User's decision wakes these waits (the deletion itself has been seen).
    user.inbox.changed = false;
    const decision = await guard(user, 'terminate', 0);
    // A Super User rejected the deletion, which restored the SCIM user: plan it like any change.
    if (decision === 'restored') {
      user.s.deleted = false;
      return toPlan;
    }
    if (decision !== 'proceed') {
      await user.waitIn({ state: decision === 'held' ? 'deprovisionHeld' : 'deletionRejected', wait: { kind: 'decision', action: 'terminate' } });
      return next;
    }
  }
  await call('terminateUser', () => steps.terminateUser({ ...user.ref(), cause: next.cause }));
  await user.show({ state: 'terminated' });
  return { step: 'done', state: 'terminated' };
};

/** The steps by name. */
export const STEPS: { [K in StepName]: Step<K> } = {
  plan,
  suspend,
  awaitData,
  converge,
  propagate,
  endDate,
  schedule,
  invite,
  awaitAcceptance,
  expired,
  active,
  terminate,
};

/**
 * A step that could not complete is surfaced, not hidden: `failed` with the reason until a change
 * or an operator's retry. A user that never accepted gives its licence seats back meanwhile.
 */
export async function failed(user: LifecycleUser, err: StepFailure): Promise<Next> {
  if (!user.s.accepted && patched('failed-releases-seats')) {
    // Best effort: the failure is shown either way; a seat left taken is freed by the next failure or expiry.
    await call('releaseSeats', () => steps.releaseSeats({ ...user.ref(), reason: 'onboarding failed' })).catch((e: unknown) => {
      if (!(e instanceof StepFailure)) throw e;
    });
  }
  await user.waitIn({ state: 'failed', wait: { kind: 'changeOrRetry' }, lastError: err.message });
  return toPlan;
}
