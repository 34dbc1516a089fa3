/**
 * What the user workflow remembers: the state carried across continue-as-new, and its input.
 * Plain data (it travels in the history); the entity (user.ts) owns and changes it.
 */
import type { AppliedAccess } from '../../activities/types';
import type { UserRef } from '../definitions';

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
  invitation?: Invitation;
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

export interface Invitation {
  id: string;
  round: number;
  /** Workflow time (epoch ms) it was sent. */
  sentAt: number;
  reminders: number;
  expired: boolean;
  expiryMs?: number;
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

export function initialState(input: UserLifecycleInput): LifecycleState {
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
