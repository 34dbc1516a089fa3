/**
 * Signals, queries and payload types of the user workflow, shared by the workflow, the
 * outbox relay and the invitation endpoint. Payloads carry ids and versions, never personal data.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ChangeKind } from '../domain/resource-changes';
import type { ProvisioningState } from '../domain/roles';

export interface UserRef {
  tenantId: string;
  /** The SCIM id of the user. */
  userId: string;
}

/** A SCIM write to this user, as recorded in the outbox. Duplicates and reordering are harmless: the highest version wins. */
export interface ResourceChanged {
  version: number;
  change: ChangeKind;
  requestId: string;
}

export interface InvitationAccepted {
  invitationId: string;
}

export interface UserStatus {
  state: ProvisioningState;
  waitingFor?: string;
  /** ISO timestamp of the end of the current wait, when it has one. */
  waitingUntil?: string;
  lastError?: string;
  /** The SCIM resource version the workflow last applied. */
  appliedVersion: number;
  invitationId?: string;
}

export const resourceChangedSignal = defineSignal<[ResourceChanged]>('resourceChanged');
export const invitationAcceptedSignal = defineSignal<[InvitationAccepted]>('invitationAccepted');
/** Operator actions from the admin API or the Temporal UI: re-run a failed step, send a fresh invitation. */
export const retrySignal = defineSignal<[]>('retry');
export const resendInvitationSignal = defineSignal<[]>('resendInvitation');
export const statusQuery = defineQuery<UserStatus>('status');

/** What a resend request started: the round whose invitation (a new link) is on its way. */
export interface ResendRequested {
  round: number;
}

/**
 * Resend the invitation, answered truthfully (admin API, console): rejected with the reason
 * when there is nothing to resend (the user accepted, is held, suspended, not yet invited);
 * otherwise a new round starts and the earlier link stops working once the new one is sent.
 * The `resendInvitation` signal does the same for operators in the Temporal UI, without an answer.
 */
export const requestResendUpdate = defineUpdate<ResendRequested, []>('requestResend');
