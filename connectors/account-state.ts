/**
 * AccountState (connectors/port.ts) from what the activities decided a user should hold, and a
 * digest of each part: the activities compare the parts' digests with those the application last
 * confirmed (connector_accounts) to know what to send, so a retry after a crash or a refusal
 * sends what the application has not confirmed, and nothing it has.
 */
import crypto from 'node:crypto';
import type { DesiredUser } from '../domain/desired-user';
import { SETTING_KINDS, type SettingKind } from '../domain/roles';
import { ACCOUNT_PARTS, type AccountPart, type AccountState } from './port';

/** The account a desired user converges to. `loginEnabled` is the caller's (login follows the lifecycle, not the data). */
/** An account holding nothing: what a read-back fills in, attribute by attribute. */
export function emptyAccount(): AccountState {
  return {
    profile: { externalId: null, firstName: null, lastName: null, title: null, email: null, primaryPhone: null, alternatePhones: [], displayName: null },
    loginEnabled: false,
    organisations: [],
    licences: [],
    providerAccounts: [],
    access: {
      securityRole: null,
      employeeType: null,
      caseManager: false,
      allowGridExport: false,
      receivesDocumentation: false,
      settings: Object.fromEntries(SETTING_KINDS.map((k) => [k, [] as string[]])) as Record<SettingKind, string[]>,
    },
  };
}

export function accountStateOf(desired: DesiredUser, loginEnabled = false): AccountState {
  const settings = Object.fromEntries(SETTING_KINDS.map((k) => [k, [...desired.settings[k]]])) as Record<SettingKind, string[]>;
  return {
    profile: { ...desired.profile, alternatePhones: [...desired.profile.alternatePhones] },
    loginEnabled,
    organisations: desired.memberships.map((m) => ({ ...m })),
    licences: desired.licences.map((l) => ({ ...l })),
    providerAccounts: desired.providerAccounts.map((p) => ({ ...p })),
    access: {
      securityRole: desired.securityRole,
      employeeType: desired.employeeType,
      caseManager: desired.caseManager,
      allowGridExport: desired.allowGridExport,
      receivesDocumentation: desired.receivesDocumentation,
      settings,
    },
  };
}

/** JSON with object keys sorted and lists of scalars or objects sorted by their JSON: two states that hold the same compare equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).sort().join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value ?? null);
}

export function digestOf(value: unknown): string {
  return crypto.createHash('sha256').update(canonical(value)).digest('base64url').slice(0, 22);
}

export type PartDigests = Record<AccountPart, string>;

export function partDigests(account: AccountState): PartDigests {
  return Object.fromEntries(ACCOUNT_PARTS.map((p) => [p, digestOf(account[p])])) as PartDigests;
}

/** The parts whose digest differs from the confirmed one (all of them when nothing was confirmed). */
export function partsToSend(wanted: PartDigests, confirmed: Partial<Record<string, string>> | null | undefined): AccountPart[] {
  return ACCOUNT_PARTS.filter((p) => confirmed?.[p] !== wanted[p]);
}

/** The value at a dotted attribute path of an account (`access.settings.employeeArea`); null when absent. */
function valueAt(account: AccountState, path: string): unknown {
  let node: unknown = account;
  for (const key of path.split('.')) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  return node ?? null;
}

/**
 * The parts of an account on which what the application reports differs from the ledger's, by
 * their digests: each part whole, or, when the connector reads back only some attributes
 * (`attributes`, the http connector's `readAccount.read`), those of the part it reads (a part it
 * reads nothing of is never taken to differ). Login is the caller's to compare (it follows the
 * lifecycle, and the application's is what scimflow last set).
 */
export function differingParts(ledger: AccountState, reported: AccountState, attributes: readonly string[] | null): AccountPart[] {
  if (attributes === null) {
    const want = partDigests(ledger);
    const have = partDigests(reported);
    return ACCOUNT_PARTS.filter((p) => want[p] !== have[p]);
  }
  return ACCOUNT_PARTS.filter((part) => {
    const read = attributes.filter((a) => a === part || a.startsWith(`${part}.`)).sort();
    if (read.length === 0) return false;
    const project = (account: AccountState) => Object.fromEntries(read.map((a) => [a, valueAt(account, a)]));
    return digestOf(project(ledger)) !== digestOf(project(reported));
  });
}
