/** Inputs and results of the activities, as the workflow sees them (ids, flags and numbers only). */
import type { LifecycleTimings } from '../domain/tenant-config';
import type { ProvisioningState } from '../domain/roles';

export interface StepInput {
  tenantId: string;
  userId: string;
  /** The SCIM request behind this run of the step, for the audit log. */
  requestId: string;
}

/**
 * Why a user loses access (suspendUser, terminateUser): a SCIM request (active=false or
 * DELETE), or the HR end date falling due. Only a SCIM request is timed by
 * scimflow_time_to_access_removed_seconds: an end date has no request to time it from.
 */
export type AccessRemovalCause = 'scimRequest' | 'hrEndDate';

export interface UserPlan {
  /** False when the SCIM resource is gone (deleted). */
  exists: boolean;
  active: boolean;
  version: number;
  /** Why onboarding cannot proceed yet (awaitingData). */
  missing: string[];
  /** Epoch milliseconds, when the HR dates are set. */
  startAt: number | null;
  endAt: number | null;
  timings: LifecycleTimings;
  /** When the user is gone: the request id of its deletion, if recorded. */
  deletedBy?: string;
}

export type LicenceResult = { status: 'assigned'; changed: boolean } | { status: 'waitingForSeat'; orgKey: string };

export interface AccessSettingsResult {
  /** Whether this run changed the security role / the tags in the directory. */
  roleChanged: boolean;
  tagsChanged: boolean;
  /**
   * What is now applied, as short keys ('' for none): the workflow compares them with the last
   * keys it recorded, so a run repeated after a crash (which finds its own earlier changes and
   * reports nothing changed) still opens the propagation windows.
   */
  applied?: AppliedAccess;
}

export interface AppliedAccess {
  role: string;
  tags: string;
}

/** All convergence steps done (and which propagation windows they opened), or stopped at a full licence pool. */
export type ConvergeResult = ({ status: 'converged' } & AccessSettingsResult) | { status: 'waitingForSeat'; orgKey: string };

export interface InvitationResult {
  invitationId: string;
  /** Epoch milliseconds. */
  sentAt: number;
}

export interface RecordStateInput {
  tenantId: string;
  userId: string;
  state: ProvisioningState;
  waitingFor: string | null;
  waitingUntil: number | null;
  lastError: string | null;
  workflowId: string;
}

/** Stable `type`s of non-retryable failures. */
export const FAILURE_TYPES = {
  invalidData: 'InvalidData',
  accessNotEffective: 'AccessNotEffective',
} as const;
