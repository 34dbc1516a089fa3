/**
 * The connector port: every effect scimflow has on the application a tenant provisions into
 * goes through one of these calls. The activities decide *what* a user should hold (the
 * desired state, the seat pools, the guard) and record it in scimflow's ledger (the `app_*`
 * tables); a connector carries it to the application and reads back what the application holds.
 *
 * Rules every connector keeps:
 * - Every call is idempotent: `call.idempotencyKey` (workflow id, step, SCIM version) is sent to
 *   the application where it takes one, and a call repeated after a crash changes nothing more.
 * - `ensureAccount` finds an account made by an earlier try (by the known application id, else
 *   by externalId, else by login) before it creates one: a retry never makes a second account.
 * - `apply` sends the whole of each part it names (declarative, not a delta), so a repeat
 *   converges instead of adding twice.
 * - A failure is a ConnectorError that says whether trying again can help.
 */

import type { DesiredLicence, DesiredMembership, DesiredProfile } from '../domain/desired-user';
import type { SettingKind } from '../domain/roles';

/** What an account in the application holds (to apply, or as read back). No scimflow ids. */
export interface AccountState {
  profile: DesiredProfile;
  /** Login enabled: false while suspended, held or not yet onboarded. */
  loginEnabled: boolean;
  organisations: DesiredMembership[];
  licences: DesiredLicence[];
  providerAccounts: { providerType: string; orgKey: string }[];
  access: {
    securityRole: string | null;
    employeeType: string | null;
    caseManager: boolean;
    allowGridExport: boolean;
    receivesDocumentation: boolean;
    settings: Record<SettingKind, string[]>;
  };
}

/** The parts of an account `apply` can send, one application operation each where it has them. */
export const ACCOUNT_PARTS = ['profile', 'organisations', 'licences', 'providerAccounts', 'access'] as const;
export type AccountPart = (typeof ACCOUNT_PARTS)[number];

/** Who a call is for, and its idempotency key. */
export interface ConnectorCall {
  tenantId: string;
  /** scimflow's SCIM user id. */
  userId: string;
  /** Stable across retries of the same step for the same SCIM version: `<workflowId>:<step>:<version>`. */
  idempotencyKey: string;
}

/** The application's id of the account, and whether this call created it. */
export interface EnsuredAccount {
  appId: string;
  created: boolean;
}

export interface ApplicationConnector {
  readonly kind: 'directory' | 'http' | 'scim';
  /** Whether `readAccount` reports the application's effective state (propagation can then be verified, not only waited). */
  readonly readsBack: boolean;
  /** Finds the account an earlier try made (`knownAppId`, externalId, login) or creates it, with login disabled. */
  ensureAccount(call: ConnectorCall, account: AccountState, knownAppId: string | null): Promise<EnsuredAccount>;
  /** Sends the named parts of the account, each whole. */
  apply(call: ConnectorCall, appId: string, account: AccountState, parts: readonly AccountPart[]): Promise<void>;
  /** Enables or blocks login (suspension, reactivation, a hold). */
  setLogin(call: ConnectorCall, appId: string, enabled: boolean): Promise<void>;
  /** Ends the account: login blocked for good and every entitlement released. An account already gone is not an error. */
  terminate(call: ConnectorCall, appId: string): Promise<void>;
  /** What the application holds now, in effect (after its caches); null when the account does not exist. */
  readAccount(call: ConnectorCall, appId: string): Promise<AccountState | null>;
  /** The admin's "test connection": reaches the application with the configured credentials. */
  check(): Promise<{ ok: boolean; detail: string }>;
}

/**
 * Why a connector call failed:
 * - `permanent`: the application refused the change (400, 403, 422…); trying again cannot help.
 *   Its message becomes the user's `lastError` and the console's advice.
 * - `conflict`: the application holds something that clashes (409: login taken there).
 * - `transient`: down, slow, 5xx, 429; retried (after `retryAfterMs` when the application said).
 */
export type ConnectorFailureKind = 'permanent' | 'conflict' | 'transient';

export class ConnectorError extends Error {
  override readonly name = 'ConnectorError';
  constructor(
    readonly kind: ConnectorFailureKind,
    message: string,
    readonly details: { status?: number; retryAfterMs?: number; operation?: string } = {},
  ) {
    super(message);
  }
}
