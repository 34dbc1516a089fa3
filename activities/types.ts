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
  /**
   * The tenant's application reports its effective state (a connector that reads back): the
   * propagation windows are then verified by reading the account back and end as soon as the
   * change is in force; the window is the upper bound. Absent or false: the windows are waited.
   */
  verifiesPropagation?: boolean;
}

/** The application caches verified by reading the account back (the settling window is the identity provider's, never read back). */
export type CacheWindow = 'tags' | 'securityRole';

export interface PropagationCheckInput extends StepInput {
  windows: CacheWindow[];
  /** Workflow time since the oldest of these windows opened, for the user's log. */
  elapsedMs: number;
}

/** Whether the application has the change in force; `pending`: what it does not show yet, in words. */
export type PropagationCheck = { effective: true } | { effective: false; pending: string[] };

/** The access check's input: with the windows waited out without read-back, for the user's log. */
export interface VerifyAccessInput extends StepInput {
  waited?: { windows: string[]; ms: number };
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

/**
 * All convergence steps done (and which propagation windows they opened); or stopped at a full
 * licence pool; or not started because a login identifier of the user is another user's (the
 * user is then held: `reason` is what to fix).
 */
export type ConvergeResult =
  | ({
      status: 'converged';
      /**
       * When the tenant's application (a connector other than `directory`) confirmed the change
       * (ms since the epoch): its caches start then, which may be well after the workflow task
       * that ran this local activity began, so the propagation windows open from it.
       */
      appliedAt?: number;
    } & AccessSettingsResult)
  | { status: 'waitingForSeat'; orgKey: string }
  | { status: 'loginTaken'; reason: string };

export interface ConvergeInput extends StepInput {
  /**
   * Whether the user should hold its licence seats now: from the moment its invitation is due
   * until it ends. False while an HR start date holds the invitation (the seat is taken when the
   * invitation is due) and after an invitation expired (the seat is freed; a resend takes one).
   */
  seats: boolean;
  /** The workflow's visible state to record in the convergence's transaction (as recordState would), when it changes with this step. */
  visible?: VisibleState;
}

/** The access check: the directory holds exactly what the user should have, and login is not held. */
export type AccessCheck = { verified: true } | { verified: false; differences: string[] };

/**
 * The mass-deprovisioning guard's answer for a suspension or termination a SCIM request asked
 * for: apply it, wait for a Super User's decision, or keep the user as it is (rejected).
 * `restored` (terminations only): the rejection restored the deleted SCIM user, which the
 * workflow then plans like any other change.
 */
export type DeprovisionDecision = 'proceed' | 'held' | 'rejected' | 'restored';

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

/** A state change a step records in its own transaction instead of a separate recordState. */
export type VisibleState = Omit<RecordStateInput, 'tenantId' | 'userId'>;

/** Stable `type`s of non-retryable failures. */
export const FAILURE_TYPES = {
  invalidData: 'InvalidData',
  accessNotEffective: 'AccessNotEffective',
  /** The mail server refused the message for good (5xx, no valid recipient): retrying cannot help. */
  mailRejected: 'MailRejected',
  /** Another try holds the mail's delivery lease: retried until it reports back or the lease ends. */
  mailInProgress: 'MailInProgress',
  /** The application refused a change for good (connectors: 400, 403, 422, an answer of an unknown shape…); its message is the reason. */
  connectorRefused: 'ConnectorRefused',
  /** The application holds something that clashes with the change (409): a person resolves it there, then retries. */
  connectorConflict: 'ConnectorConflict',
  /** The application did not answer (down, slow, 5xx, 429): retried, after its Retry-After. */
  connectorUnavailable: 'ConnectorUnavailable',
} as const;
