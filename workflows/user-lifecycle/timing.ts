/** The user workflow's arithmetic of time and windows: pure functions of the plan and the carried state. */
import type { AccessSettingsResult, AppliedAccess, UserPlan } from '../../activities/types';
import type { Invitation } from './state';

/**
 * The propagation windows a convergence opens: where it changed the directory (also a drift
 * repair), or where what is applied differs from what this workflow last recorded (the same
 * convergence re-run after a crash finds its changes already made).
 */
export function windowsOpened(access: AccessSettingsResult, known: AppliedAccess): { tags: boolean; role: boolean } {
  const now = access.applied;
  return {
    tags: access.tagsChanged || (!!now && now.tags !== known.tags),
    role: access.roleChanged || (!!now && now.role !== known.role && now.role !== ''),
  };
}

/** What an invitation's deadlines are counted from: when it was sent, reminders sent so far, its lifetime. */
export type InvitationClock = Pick<Invitation, 'sentAt' | 'reminders' | 'expiryMs'>;

/** The next moment the invitation needs attention: a reminder, its expiry, or the HR end date (`endAt`). */
export function invitationDeadline(
  inv: InvitationClock,
  timings: UserPlan['timings'],
  endAt: number | null,
): { at: number; nextReminder?: number; expiresAt: number } {
  const expiryMs = inv.expiryMs ?? timings.expiryMs;
  const offsets = timings.reminderOffsetsMs.filter((o) => o < expiryMs);
  const nextReminder = inv.reminders < offsets.length ? inv.sentAt + offsets[inv.reminders] : undefined;
  const expiresAt = inv.sentAt + expiryMs;
  return { at: Math.min(nextReminder ?? Infinity, expiresAt, endAt ?? Infinity), nextReminder, expiresAt };
}

/** The invitation is due: no HR start date holds it any more. */
export function invitationDue(plan: UserPlan, now: number): boolean {
  return plan.startAt === null || now >= plan.startAt - plan.timings.startLeadMs;
}

export function pastEndDate(plan: UserPlan, now: number): boolean {
  return plan.endAt !== null && now >= plan.endAt;
}
