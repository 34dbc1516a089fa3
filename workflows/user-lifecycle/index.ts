/**
 * userLifecycle: one long-lived workflow per provisioned user (id: user-<tenant>-<scimId>).
 * Each numbered step is a function of the same name in steps.ts; each returns the next step with
 * what that step needs. This module wires them: handlers, the loop, continue-as-new.
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
 *    of an onboarding cut short); a rejected deletion that restored the SCIM user goes back to 1.
 *
 * Every SCIM change arrives as a signal and sends the workflow back to step 1 from any wait;
 * duplicates and reordering are harmless because the activities read the latest state from
 * PostgreSQL. A step that fails after its retries leaves the workflow in `failed` with the
 * reason until a change or an operator's retry.
 */
import { continueAsNew, workflowInfo } from '@temporalio/workflow';
import type { ProvisioningState } from '../../domain/roles';
import { StepFailure } from './calls';
import type { UserLifecycleInput } from './state';
import { failed, STEPS, type Next } from './steps';
import { LifecycleUser } from './user';

export type { LifecycleState, UserLifecycleInput } from './state';

const HISTORY_LIMIT = 4_000;

/** The access checks in a row that failed so far in this pass (a change does not reset the count). */
function unverifiedIn(next: Next): number {
  if (next.step === 'plan') return next.unverified ?? 0;
  return 'pass' in next ? next.pass.unverified : 0;
}

export async function userLifecycle(input: UserLifecycleInput): Promise<{ state: ProvisioningState }> {
  const user = new LifecycleUser(input);
  user.listen();
  let next: Next = { step: 'plan' };
  for (;;) {
    if (next.step === 'done') return { state: next.state };
    if (user.s.deleted && next.step !== 'terminate') next = { step: 'terminate', cause: 'scimRequest' };
    const info = workflowInfo();
    if (!user.inbox.changed && (info.continueAsNewSuggested || info.historyLength > (input.historyLimit ?? HISTORY_LIMIT))) {
      const { tenantId, userId, indexState, historyLimit } = input;
      await continueAsNew<typeof userLifecycle>({ tenantId, userId, indexState, historyLimit, carried: user.s });
    }
    // A change sends the user back to the plan from wherever it was (a deletion goes on to terminate).
    if (user.inbox.changed && next.step !== 'terminate') next = { step: 'plan', unverified: unverifiedIn(next) };
    try {
      next = await (STEPS[next.step] as (u: LifecycleUser, n: Next) => Promise<Next>)(user, next);
    } catch (err) {
      if (!(err instanceof StepFailure)) throw err;
      next = await failed(user, err);
    }
  }
}
