/**
 * AccountState <-> a SCIM 2.0 User resource, both ways, for the outbound SCIM connector.
 *
 * The profile goes into the core schema (and the enterprise extension's `organization` where the
 * target advertises it). The rest of the account (organisations with roles, licences, provider
 * accounts, access settings) goes either into scimflow's own extension
 * (`urn:ietf:params:scim:schemas:extension:scimflow:2.0:Account`, only when the target
 * advertises it) or, by default, into the core multi-valued attributes any SCIM server stores:
 * one `roles` entry per organisation (`<orgKey>:<role>`), one `entitlements` entry per licence,
 * provider account, flag and setting (`<kind>:<value>`, the kinds in the table ENTITLEMENTS
 * below). docs/connectors.md has the table.
 *
 * The kind travels in the value, not in `type`: servers lower-case `type` and some allow each
 * `type` once per attribute (Better Auth: "entitlements cannot contain duplicate defined
 * types"), so entries are untyped and self-describing.
 *
 * Pure: no I/O. `toScim` builds the attributes of the named parts; `fromScim` reads a resource
 * back; `mergeParts` overlays the named parts on a resource read from the target (what `apply`
 * PUTs), leaving every attribute and entry it does not own as the target holds it.
 */
import type { DesiredLicence, DesiredMembership, DesiredProfile } from '../../domain/desired-user';
import { CORE_USER_URN, ENTERPRISE_USER_URN } from '../../domain/desired-user';
import { CLIENT_ROLES, SETTING_KINDS, type ClientRole, type SettingKind } from '../../domain/roles';
import type { AccountPart, AccountState } from '../port';
import { emptyAccount } from '../account-state';

export const SCIMFLOW_ACCOUNT_URN = 'urn:ietf:params:scim:schemas:extension:scimflow:2.0:Account';
export { CORE_USER_URN, ENTERPRISE_USER_URN };

/** Where the non-profile parts of an account go on the target. */
export type AccountCarrier = 'extension' | 'attributes';

/** What the target stores, from its discovery endpoints (connectors/scim.ts), and how to map onto it. */
export interface MappingTarget {
  carrier: AccountCarrier;
  /** Send and read the enterprise extension's `organization` (the primary organisation). */
  enterprise: boolean;
}

type Json = Record<string, unknown>;
export type ScimUser = Json & { id?: string };

/** The `roles` value of an organisation the user has extra access to (no role of its own there). */
export const EXTRA_ACCESS_ROLE = 'Extra access';
/** The `roles` value of a primary or member organisation without a role (not produced by the policy today). */
export const NO_ROLE = 'No role';

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.filter((x): x is Json => typeof x === 'object' && x !== null) : []);
const isClientRole = (v: unknown): v is ClientRole => (CLIENT_ROLES as readonly string[]).includes(String(v));

/** `<orgKey>:<value>`: organisation keys are letters, digits, `_ . -` (domain/tenant-config.ts), never a colon. */
const orgValue = (orgKey: string, value: string) => `${orgKey}:${value}`;
/** `a:b:c` -> `a` and `b:c` (an organisation key or an entitlement kind, and the rest); null without a non-empty head and tail. */
function splitPrefix(v: string): { head: string; value: string } | null {
  const i = v.indexOf(':');
  return i > 0 && i < v.length - 1 ? { head: v.slice(0, i), value: v.slice(i + 1) } : null;
}

/**
 * The `entitlements` of the default mapping, one row per kind (the value's `<kind>:` prefix):
 * the part it belongs to, the values it takes from the account, and how it puts them back.
 * Reading keeps the target's order; an entry of another kind is left alone (and kept by `apply`).
 */
interface EntitlementRow {
  kind: string;
  part: Exclude<AccountPart, 'profile' | 'organisations'>;
  values(a: AccountState): string[];
  read(values: string[], into: AccountState): void;
}

const FLAGS = ['caseManager', 'allowGridExport', 'receivesDocumentation'] as const;

export const ENTITLEMENTS: readonly EntitlementRow[] = [
  {
    kind: 'licence',
    part: 'licences',
    values: (a) => a.licences.map((l) => orgValue(l.orgKey, l.licenceLevel)),
    read: (values, into) => {
      for (const v of values) {
        const p = splitPrefix(v);
        if (p) into.licences.push({ orgKey: p.head, licenceLevel: p.value, mobileLicence: null });
      }
    },
  },
  {
    // Read after `licence`: attaches to the licence of the same organisation.
    kind: 'mobileLicence',
    part: 'licences',
    values: (a) => a.licences.flatMap((l) => (l.mobileLicence ? [orgValue(l.orgKey, l.mobileLicence)] : [])),
    read: (values, into) => {
      for (const v of values) {
        const p = splitPrefix(v);
        const licence = p && into.licences.find((l) => l.orgKey === p.head);
        if (licence && p) licence.mobileLicence = p.value;
      }
    },
  },
  {
    kind: 'providerAccount',
    part: 'providerAccounts',
    values: (a) => a.providerAccounts.map((p) => orgValue(p.orgKey, p.providerType)),
    read: (values, into) => {
      for (const v of values) {
        const p = splitPrefix(v);
        if (p) into.providerAccounts.push({ orgKey: p.head, providerType: p.value });
      }
    },
  },
  {
    kind: 'securityRole',
    part: 'access',
    values: (a) => (a.access.securityRole ? [a.access.securityRole] : []),
    read: (values, into) => {
      into.access.securityRole = values[0] ?? null;
    },
  },
  {
    kind: 'flag',
    part: 'access',
    values: (a) => FLAGS.filter((f) => a.access[f]),
    read: (values, into) => {
      for (const f of FLAGS) into.access[f] = values.includes(f);
    },
  },
  ...SETTING_KINDS.map((kind): EntitlementRow => ({
    kind,
    part: 'access',
    values: (a) => a.access.settings[kind],
    read: (values, into) => {
      into.access.settings[kind] = [...values];
    },
  })),
];

/** The core and extension attributes each part owns on the target (PUT overlays exactly these). */
function ownedAttributes(part: AccountPart, target: MappingTarget): string[] {
  // userName is replaced, never removed: a profile without an email keeps the target's login.
  if (part === 'profile') return ['externalId', 'name', 'displayName', 'title', 'emails', 'phoneNumbers'];
  if (target.carrier === 'extension') return [];
  if (part === 'organisations') return ['roles'];
  if (part === 'access') return ['userType'];
  return [];
}

function profileAttributes(p: DesiredProfile): Json {
  const phones = [
    ...(p.primaryPhone ? [{ value: p.primaryPhone, type: 'mobile', primary: true }] : []),
    // Untyped: some servers allow each phone type once.
    ...p.alternatePhones.map((value) => ({ value })),
  ];
  const name: Json = {};
  if (p.firstName) name.givenName = p.firstName;
  if (p.lastName) name.familyName = p.lastName;
  return {
    ...(p.email ? { userName: p.email } : {}),
    ...(p.externalId ? { externalId: p.externalId } : {}),
    name,
    ...(p.displayName ? { displayName: p.displayName } : {}),
    ...(p.title ? { title: p.title } : {}),
    emails: p.email ? [{ value: p.email, type: 'work', primary: true }] : [],
    phoneNumbers: phones,
  };
}

function rolesOf(memberships: DesiredMembership[]): Json[] {
  return memberships.map((m) => {
    const role = m.kind === 'extra' ? EXTRA_ACCESS_ROLE : (m.role ?? NO_ROLE);
    return { value: orgValue(m.orgKey, role), display: `${role} (${m.orgKey})`, primary: m.kind === 'primary' };
  });
}

/** The values of the default-mapping entitlements, by kind (the `<kind>:` prefix), in the target's order. */
function entitlementValues(entries: Json[]): Map<string, string[]> {
  const byKind = new Map<string, string[]>();
  for (const e of entries) {
    const p = typeof e.value === 'string' ? splitPrefix(e.value) : null;
    if (p) byKind.set(p.head, [...(byKind.get(p.head) ?? []), p.value]);
  }
  return byKind;
}

const primaryOrg = (a: AccountState) => a.organisations.find((m) => m.kind === 'primary')?.orgKey ?? null;

/** The extension object: the non-profile parts as they are in AccountState. */
function extensionOf(a: AccountState, parts: readonly AccountPart[], current: Json = {}): Json {
  const out: Json = { ...current };
  if (parts.includes('organisations')) out.organisations = a.organisations.map((m) => ({ ...m }));
  if (parts.includes('licences')) out.licences = a.licences.map((l) => ({ ...l }));
  if (parts.includes('providerAccounts')) out.providerAccounts = a.providerAccounts.map((p) => ({ ...p }));
  if (parts.includes('access')) out.access = { ...a.access, settings: Object.fromEntries(SETTING_KINDS.map((k) => [k, [...a.access.settings[k]]])) };
  return out;
}

const ALL_PARTS: readonly AccountPart[] = ['profile', 'organisations', 'licences', 'providerAccounts', 'access'];

/**
 * Overlays the named parts of `account` on `current` (a resource read from the target, or `{}`
 * to build a new one): every attribute a named part owns is replaced whole; the rest (other
 * parts, attributes scimflow does not manage, entitlements of other types) stays. `active`,
 * `id`, `meta` and `groups` are the caller's: `meta` and `groups` are dropped (read-only).
 */
export function mergeParts(current: ScimUser, account: AccountState, parts: readonly AccountPart[], target: MappingTarget): ScimUser {
  const out: ScimUser = { ...current };
  delete out.meta;
  delete out.groups;
  const schemas = new Set<string>(Array.isArray(current.schemas) ? (current.schemas as string[]) : []);
  schemas.add(CORE_USER_URN);

  for (const part of parts) for (const attr of ownedAttributes(part, target)) delete out[attr];
  if (parts.includes('profile')) Object.assign(out, profileAttributes(account.profile));

  if (target.enterprise && parts.includes('organisations')) {
    const ent = { ...((current[ENTERPRISE_USER_URN] as Json | undefined) ?? {}) };
    const org = primaryOrg(account);
    if (org) ent.organization = org;
    else delete ent.organization;
    out[ENTERPRISE_USER_URN] = ent;
    schemas.add(ENTERPRISE_USER_URN);
  }

  if (target.carrier === 'extension') {
    const named = parts.filter((p) => p !== 'profile');
    if (named.length > 0) {
      out[SCIMFLOW_ACCOUNT_URN] = extensionOf(account, named, (current[SCIMFLOW_ACCOUNT_URN] as Json | undefined) ?? {});
      schemas.add(SCIMFLOW_ACCOUNT_URN);
    }
  } else {
    if (parts.includes('organisations')) out.roles = rolesOf(account.organisations);
    if (parts.includes('access') && account.access.employeeType) out.userType = account.access.employeeType;
    const rows = ENTITLEMENTS.filter((r) => parts.includes(r.part));
    if (rows.length > 0) {
      const replaced = new Set(rows.map((r) => r.kind));
      const kept = list(current.entitlements).filter((e) => !replaced.has(splitPrefix(String(e.value ?? ''))?.head ?? ''));
      out.entitlements = [...kept, ...rows.flatMap((r) => r.values(account).map((value) => ({ value: `${r.kind}:${value}` })))];
    }
  }
  out.schemas = [...schemas];
  return out;
}

/** A new resource for POST: every part, login as given. */
export function toScim(account: AccountState, target: MappingTarget): ScimUser {
  return { ...mergeParts({}, account, ALL_PARTS, target), active: account.loginEnabled };
}

/** The value of the primary entry, else of `preferType`, else the first. */
function primaryValue(entries: Json[], preferType?: string): { value: string; entry: Json } | null {
  const withValue = entries.filter((e) => str(e.value) !== null);
  const pick = withValue.find((e) => e.primary === true) ?? (preferType ? withValue.find((e) => e.type === preferType) : undefined) ?? withValue[0];
  return pick ? { value: str(pick.value) as string, entry: pick } : null;
}

function readExtension(ext: Json, into: AccountState): void {
  const memberships = list(ext.organisations).flatMap((m): DesiredMembership[] => {
    const orgKey = str(m.orgKey);
    const kind = m.kind === 'primary' || m.kind === 'member' || m.kind === 'extra' ? m.kind : null;
    return orgKey && kind ? [{ orgKey, kind, role: isClientRole(m.role) ? m.role : null }] : [];
  });
  into.organisations = memberships;
  into.licences = list(ext.licences).flatMap((l): DesiredLicence[] => {
    const orgKey = str(l.orgKey);
    const licenceLevel = str(l.licenceLevel);
    return orgKey && licenceLevel ? [{ orgKey, licenceLevel, mobileLicence: str(l.mobileLicence) }] : [];
  });
  into.providerAccounts = list(ext.providerAccounts).flatMap((p) => {
    const orgKey = str(p.orgKey);
    const providerType = str(p.providerType);
    return orgKey && providerType ? [{ providerType, orgKey }] : [];
  });
  const access = (ext.access ?? {}) as Json;
  const settings = (access.settings ?? {}) as Json;
  into.access = {
    securityRole: str(access.securityRole),
    employeeType: str(access.employeeType),
    caseManager: access.caseManager === true,
    allowGridExport: access.allowGridExport === true,
    receivesDocumentation: access.receivesDocumentation === true,
    settings: Object.fromEntries(
      SETTING_KINDS.map((k) => [k, Array.isArray(settings[k]) ? (settings[k] as unknown[]).map(str).filter((v): v is string => v !== null) : []]),
    ) as Record<SettingKind, string[]>,
  };
}

/** What the target holds, as an AccountState (a part the target does not store reads as empty). */
export function fromScim(resource: ScimUser, target: MappingTarget): AccountState {
  const a = emptyAccount();
  const name = (resource.name ?? {}) as Json;
  const email = primaryValue(list(resource.emails), 'work')?.value ?? str(resource.userName);
  const phones = list(resource.phoneNumbers);
  // The primary phone is the entry marked primary (else the mobile one); the others are alternates.
  const primaryPhone = primaryValue(phones.filter((p) => p.primary === true || p.type === 'mobile'));
  a.profile = {
    externalId: str(resource.externalId),
    firstName: str(name.givenName),
    lastName: str(name.familyName),
    title: str(resource.title),
    email: email?.toLowerCase() ?? null,
    primaryPhone: primaryPhone?.value ?? null,
    alternatePhones: phones
      .filter((p) => p !== primaryPhone?.entry)
      .map((p) => str(p.value))
      .filter((v): v is string => v !== null),
    displayName: str(resource.displayName),
  };
  a.loginEnabled = resource.active !== false;

  const ext = resource[SCIMFLOW_ACCOUNT_URN];
  if (target.carrier === 'extension' && typeof ext === 'object' && ext !== null) {
    readExtension(ext as Json, a);
    return a;
  }
  a.organisations = list(resource.roles).flatMap((r): DesiredMembership[] => {
    const p = typeof r.value === 'string' ? splitPrefix(r.value) : null;
    if (!p) return [];
    if (p.value === EXTRA_ACCESS_ROLE) return [{ orgKey: p.head, kind: 'extra', role: null }];
    return [{ orgKey: p.head, kind: r.primary === true ? 'primary' : 'member', role: isClientRole(p.value) ? p.value : null }];
  });
  // A target that keeps only the enterprise extension still says which organisation is the primary one.
  const entOrg = target.enterprise ? str(((resource[ENTERPRISE_USER_URN] ?? {}) as Json).organization) : null;
  if (entOrg && !a.organisations.some((m) => m.kind === 'primary')) {
    const same = a.organisations.find((m) => m.orgKey === entOrg && m.kind === 'member');
    if (same) same.kind = 'primary';
    else if (!a.organisations.some((m) => m.orgKey === entOrg)) a.organisations.unshift({ orgKey: entOrg, kind: 'primary', role: null });
  }
  a.access.employeeType = str(resource.userType);
  const byKind = entitlementValues(list(resource.entitlements));
  for (const row of ENTITLEMENTS) row.read(byKind.get(row.kind) ?? [], a);
  return a;
}
