/**
 * The user as the workflow holds it: the carried state, the inbox the signal handlers fill, and
 * the visible state (status query, search attribute, memo, Temporal UI details, database).
 * Handlers only record what arrived; the steps (steps.ts) act on it.
 */
import { condition, setCurrentDetails, setHandler, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { StepInput, VisibleState } from '../../activities/types';
import { SA_STATE } from '../../common/temporal/constants';
import type { ProvisioningState } from '../../domain/roles';
import { encodeWait, type Situation } from '../../domain/visible-state';
import {
  invitationAcceptedSignal,
  requestResendUpdate,
  resendInvitationSignal,
  resourceChangedSignal,
  retrySignal,
  statusQuery,
  type UserStatus,
} from '../definitions';
import { describeStatus } from '../status-text';
import { local } from './calls';
import { initialState, type LifecycleState, type UserLifecycleInput } from './state';

/**
 * States a user passes through within a workflow task or two: shown in the status query, the UI's
 * details and the database, but not indexed (no search attribute or memo update: each is a
 * visibility write in Temporal).
 */
const TRANSIENT: readonly ProvisioningState[] = ['onboarding'];

/** Why a wait ended: a change (or deletion or retry) arrived, the deadline passed, or a signal the wait listens for came. */
export type Woken = 'change' | 'timeout' | 'signal';

/** Why a resend cannot start, by the user's state (the update answers 409 with it). */
const NOTHING_TO_RESEND: Partial<Record<ProvisioningState, (status: UserStatus) => string>> = {
  active: () => 'the user has accepted the invitation',
  suspended: () => 'the user is suspended; reactivate it first (a reactivated user gets a new invitation)',
  terminated: () => 'the user is terminated',
  awaitingData: (st) => `the user is held for missing data (${st.lastError ?? 'see its state'}); a new invitation follows once the data is complete`,
  deprovisionHeld: () => 'a suspension or termination of the user waits for a decision',
  deletionRejected: () => 'the identity provider deleted the user',
};

export class LifecycleUser {
  readonly s: LifecycleState;
  /** What the signals brought since the steps last looked. */
  readonly inbox = { changed: true, accepted: false, resend: false, retry: false };
  private status: UserStatus;

  constructor(private readonly input: UserLifecycleInput) {
    this.s = input.carried ?? initialState(input);
    this.status = { state: 'pending', appliedVersion: this.s.appliedVersion };
  }

  /** Registers the signal, query and update handlers. */
  listen(): void {
    const { s, inbox } = this;
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
    setHandler(statusQuery, () => this.status);
    setHandler(
      requestResendUpdate,
      () => {
        inbox.resend = true;
        return { round: s.invitationRound + (s.invitation ? 1 : 0) };
      },
      { validator: () => this.resendRefusal() },
    );
  }

  get state(): ProvisioningState {
    return this.status.state;
  }

  /** Who the activities act for, under the latest SCIM request. */
  ref(): StepInput {
    return { tenantId: this.input.tenantId, userId: this.input.userId, requestId: this.s.requestId };
  }

  /** What recordState writes for `v`; a step that changes the state itself records it in its own transaction. */
  recordOf(v: Situation): VisibleState {
    return {
      state: v.state,
      waitingFor: 'wait' in v && v.wait ? encodeWait(v.wait) : null,
      waitingUntil: 'until' in v && v.until !== undefined ? v.until : null,
      lastError: 'lastError' in v ? v.lastError : null,
      workflowId: workflowInfo().workflowId,
    };
  }

  /**
   * The one place the visible state changes: status query, search attribute and memo (not for a
   * transient state), Temporal UI details, database (`recorded`: the step's own activity wrote it).
   */
  async show(v: Situation, recorded = false): Promise<void> {
    const r = this.recordOf(v);
    const next: UserStatus = {
      state: r.state,
      waitingFor: r.waitingFor ?? undefined,
      waitingUntil: r.waitingUntil !== null ? new Date(r.waitingUntil).toISOString() : undefined,
      lastError: r.lastError ?? undefined,
      appliedVersion: this.s.appliedVersion,
      invitationId: this.s.invitation?.id,
    };
    const was = this.status;
    this.status = next;
    if (next.state === was.state && next.waitingFor === was.waitingFor && next.waitingUntil === was.waitingUntil && next.lastError === was.lastError) return;
    if (!TRANSIENT.includes(next.state)) {
      if (this.input.indexState !== false) upsertSearchAttributes([{ key: SA_STATE, value: next.state }]);
      upsertMemo({ summary: `${next.state}${next.waitingFor ? ` (waiting for ${next.waitingFor})` : ''}` });
    }
    setCurrentDetails(describeStatus(next));
    if (!recorded) await local.recordState({ tenantId: this.input.tenantId, userId: this.input.userId, ...r });
  }

  /**
   * Shows `v` and waits for a change (or deletion or retry), for `signal()` to hold, or until
   * `v.until` where it has one (or the earlier `wakeAt`: a poll inside a longer wait).
   */
  async waitIn(v: Situation, signal?: () => boolean, wakeAt?: number): Promise<Woken> {
    await this.show(v);
    const woken = () => this.inbox.changed || (signal?.() ?? false);
    const until = wakeAt ?? ('until' in v ? v.until : undefined);
    const early = until === undefined ? (await condition(woken), true) : await condition(woken, Math.max(until - Date.now(), 1));
    if (!early) return 'timeout';
    return this.inbox.changed ? 'change' : 'signal';
  }

  /** Why a resend cannot start now (the update's validator throws it: a 409 with the reason), or nothing when it can. */
  private resendRefusal(): void {
    const st = this.status;
    if (st.state === 'invited' || st.state === 'expired') return;
    const why = NOTHING_TO_RESEND[st.state]?.(st) ?? `no invitation has been sent yet; the user is ${st.state}`;
    throw new Error(`nothing to resend: ${why}`);
  }

  /** A resend starts a new round: a new invitation and link (the convergence takes the seats again after an expiry). */
  startNewRound(): void {
    this.inbox.resend = false;
    this.s.invitation = undefined;
    this.s.invitationRound += 1;
  }

  /** Licence seats are held from the moment the invitation is due until it expires unaccepted. */
  wantsSeats(invitationDue: boolean): boolean {
    const { s } = this;
    return s.accepted || (s.invitation ? !s.invitation.expired : invitationDue);
  }
}
