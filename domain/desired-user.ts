/**
 * From a stored SCIM user, the groups it is a member of, and its tenant's configuration to what
 * the application directory should hold for that user. Pure: activities call it, tests
 * exercise it directly.
 *
 * Precedence, field by field (docs/tenant-policy.md): an explicit value in the scimflow
 * extension wins; otherwise the tenant's mapping rules (domain/policy.ts); otherwise
 * the tenant defaults. A value is explicit when present and not empty (an empty list or
 * string counts as absent; a boolean, even false, is explicit). A role named in core `roles`
 * (domain/entitlement-catalogue.ts, Okta Identity Governance's assignments) is explicit too,
 * like the extension's `securityRole` / `clientRole`; the two disagreeing hold the user.
 */
import { emailAddressProblem } from './email-address';
import { entitlementCatalogue, licencesOfUser, rolesOfUser } from './entitlement-catalogue';
import { parsePhone, storedPhone } from './phone-number';
import { evaluatePolicy, type PolicyValues } from './policy';
import type { ClientRole, SecurityRole, SettingKind } from './roles';
import { CLIENT_ROLES, SECURITY_ROLES } from './roles';
import { servicesOf, type Organisation, type TenantConfig } from './tenant-config';

export const CORE_USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const SCIMFLOW_USER_URN = 'urn:ietf:params:scim:schemas:extension:scimflow:2.0:User';

export interface DesiredProfile {
  externalId: string | null;
  firstName: string | null;
  lastName: string | null;
  title: string | null;
  email: string | null;
  /** E.164; the mobile login id of a mobile-app user. */
  primaryPhone: string | null;
  /** E.164 (`;ext=` for an extension), without the primary one. */
  alternatePhones: string[];
  /** The application's single "Name" field (admissions CRM): displayName, else name.formatted, else "givenName familyName". */
  displayName: string | null;
}

export interface DesiredMembership {
  orgKey: string;
  kind: 'primary' | 'member' | 'extra';
  role: ClientRole | null;
}

export interface DesiredLicence {
  orgKey: string;
  licenceLevel: string;
  mobileLicence: string | null;
}

export interface DesiredUser {
  active: boolean;
  profile: DesiredProfile;
  clientKey: string | null;
  caseManager: boolean;
  memberships: DesiredMembership[];
  licences: DesiredLicence[];
  providerAccounts: { providerType: string; orgKey: string }[];
  securityRole: SecurityRole | null;
  employeeType: string | null;
  allowGridExport: boolean;
  receivesDocumentation: boolean;
  settings: Record<SettingKind, string[]>;
  startDate: string | null;
  endDate: string | null;
  /** Why the user cannot be onboarded yet (awaitingData); empty when complete. */
  missing: string[];
  /** The tenant's mapping rules that matched this user, in order (explains where values came from). */
  matchedRules: string[];
  /** What was left out of the directory and why, without holding the user (e.g. an informational phone number that is not usable). */
  notes: string[];
  /** Uses the mobile app: the primary phone is then the mobile login, unique in the tenant. */
  mobileAppUser: boolean;
}

type Json = Record<string, unknown>;

const asString = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
const asStrings = (v: unknown): string[] =>
  Array.isArray(v)
    ? [...new Set(v.map((x) => (typeof x === 'object' && x ? asString((x as Json).value) : asString(x))).filter((x): x is string => x !== null))]
    : [];
/** An explicit boolean (Entra sends "True"/"False"); undefined when absent. */
const explicitBool = (v: unknown): boolean | undefined =>
  typeof v === 'boolean' ? v : typeof v === 'string' && ['true', 'false'].includes(v.trim().toLowerCase()) ? v.trim().toLowerCase() === 'true' : undefined;
/** The explicit list when it has values, else the rules' list. */
const listOr = (explicit: unknown, fromRules: string[]): string[] => {
  const own = asStrings(explicit);
  return own.length > 0 ? own : [...fromRules];
};

/** The entry of a multi-valued attribute that is primary, else of `preferType`, else the first; with its index in the list. */
function primaryEntryOf(list: unknown, preferType?: string): { value: string; index: number } | null {
  if (!Array.isArray(list)) return null;
  const items = list.flatMap((x, index) => (typeof x === 'object' && x !== null && asString((x as Json).value) !== null ? [{ x: x as Json, index }] : []));
  const pick = items.find((i) => i.x.primary === true) ?? (preferType ? items.find((i) => i.x.type === preferType) : undefined) ?? items[0];
  return pick ? { value: asString(pick.x.value) as string, index: pick.index } : null;
}

function findOrganisation(cfg: TenantConfig, ref: string, kind?: Organisation['kind']): Organisation | undefined {
  const needle = ref.toLowerCase();
  const orgs = kind ? cfg.organisations.filter((o) => o.kind === kind) : cfg.organisations;
  return orgs.find((o) => o.key.toLowerCase() === needle) ?? orgs.find((o) => o.name.toLowerCase() === needle);
}

/** Whether the user needs a primary phone as the mobile login id (a mobile-app user of a tenant that requires it). */
export function needsLoginPhone(doc: Json, cfg: TenantConfig, rules: Pick<PolicyValues, 'mobileAppUser'>): boolean {
  const ext = (doc[SCIMFLOW_USER_URN] ?? {}) as Json;
  return (explicitBool(ext.mobileAppUser) ?? rules.mobileAppUser ?? false) && cfg.requirements.phoneForMobileUsers;
}

/**
 * The login phone (primary phone, else mobile, else the first) and why it cannot be the mobile
 * login, or undefined when it can; only for a user that needs one (needsLoginPhone).
 */
export function loginPhoneProblem(doc: Json, cfg: TenantConfig): { index: number; value: string; problem: string } | undefined {
  const entry = primaryEntryOf(doc.phoneNumbers, 'mobile');
  if (!entry) return undefined;
  const parsed = parsePhone(entry.value, cfg.phoneRegion);
  if (!parsed.ok) return { ...entry, problem: parsed.problem };
  if (parsed.extension) return { ...entry, problem: 'has an extension; the mobile login needs a direct number' };
  return undefined;
}

/**
 * @param groups displayNames of the SCIM groups the user is a direct member of (Okta Group
 *   Push, Entra group provisioning); the mapping rules may test them.
 */
export function desiredUser(doc: Json, cfg: TenantConfig, groups: readonly string[] = []): DesiredUser {
  const ext = (doc[SCIMFLOW_USER_URN] ?? {}) as Json;
  const rules: PolicyValues = evaluatePolicy(cfg.rules, { doc, groups });
  const name = (doc.name ?? {}) as Json;
  const missing: string[] = [];

  const notes: string[] = [];

  // Email: one address (the SCIM boundary rejects anything else; a value stored before that check holds the user here).
  const primaryEmail = primaryEntryOf(doc.emails, 'work');
  const userName = asString(doc.userName);
  let email: string | null = null;
  if (primaryEmail) {
    const problem = emailAddressProblem(primaryEmail.value);
    if (problem) missing.push(`emails[${primaryEmail.index}].value: ${JSON.stringify(primaryEmail.value)} ${problem}`);
    else email = primaryEmail.value;
  } else if (userName && emailAddressProblem(userName) === undefined) email = userName;
  else missing.push('email: no work email and userName is not an address');

  // Phones in E.164 with the tenant's region. The login phone of a mobile-app user must be usable
  // (else the user is held for it); an informational number that is not usable is left out, with a note.
  const phones = Array.isArray(doc.phoneNumbers) ? (doc.phoneNumbers as Json[]) : [];
  const loginNeeded = needsLoginPhone(doc, cfg, rules);
  const primaryEntry = primaryEntryOf(phones, 'mobile');
  let primaryPhone: string | null = null;
  const alternatePhones: string[] = [];
  phones.forEach((p, index) => {
    const raw = typeof p === 'object' && p !== null ? asString(p.value) : null;
    if (raw === null) return;
    const parsed = parsePhone(raw, cfg.phoneRegion);
    const isPrimary = index === primaryEntry?.index;
    if (isPrimary && loginNeeded) {
      const problem = loginPhoneProblem(doc, cfg);
      if (problem) missing.push(`phoneNumbers[${index}].value: ${JSON.stringify(raw)} cannot be the mobile login: it ${problem.problem}`);
      else if (parsed.ok) primaryPhone = parsed.e164;
      return;
    }
    if (!parsed.ok) {
      notes.push(`phoneNumbers[${index}].value: ${JSON.stringify(raw)} ${parsed.problem}; left out of the directory (not a login phone)`);
      return;
    }
    const stored = storedPhone(parsed);
    if (isPrimary) primaryPhone = stored;
    else if (!alternatePhones.includes(stored)) alternatePhones.push(stored);
  });
  const firstName = asString(name.givenName);
  const lastName = asString(name.familyName);
  const profile: DesiredProfile = {
    externalId: asString(doc.externalId),
    firstName,
    lastName,
    title: asString(doc.title),
    email: email?.toLowerCase() ?? null,
    primaryPhone,
    alternatePhones: alternatePhones.filter((p) => p !== primaryPhone),
    displayName: asString(doc.displayName) ?? asString(name.formatted) ?? (([firstName, lastName].filter(Boolean).join(' ') || null) as string | null),
  };
  if (cfg.requirements.name === 'full') {
    // One Name field: any one full name will do.
    if (!profile.displayName) missing.push('displayName: a name is required (displayName, name.formatted, or name.givenName and name.familyName)');
  } else {
    if (!profile.firstName) missing.push('name.givenName: first name is required');
    if (!profile.lastName) missing.push('name.familyName: last name is required');
  }

  // Core `roles` naming the tenant's roles (/Roles): a security role and a client role, as explicit as
  // the extension's. More than one of a kind, or a disagreement with the extension, is for the IdP to
  // settle: the SCIM boundary refuses it, and data stored before that check holds the user (least privilege).
  const offered = entitlementCatalogue(cfg);
  const assigned = rolesOfUser(doc, offered);
  for (const [kind, list, extValue] of [
    ['security', assigned.securityRoles, asString(ext.securityRole)],
    ['client', assigned.clientRoles, asString(ext.clientRole)],
  ] as const) {
    if (list.length > 1) missing.push(`roles: names ${list.length} ${kind} roles (${list.map((r) => r.name).join(', ')}); a user has one`);
    else if (list.length === 1 && extValue !== null && extValue.toLowerCase() !== list[0].name.toLowerCase()) {
      missing.push(`roles: names ${kind} role "${list[0].name}", but the extension's ${kind}Role is "${extValue}"; send one of them, or the same in both`);
    }
  }
  const rolesClientRole = assigned.clientRoles.length === 1 ? assigned.clientRoles[0].name : undefined;
  if (assigned.unknown.length > 0) {
    notes.push(
      `roles: ${assigned.unknown.map((u) => JSON.stringify(u.value)).join(', ')} name no role of this tenant (GET /Roles); used only by rules that test roles`,
    );
  }

  // Organisations: the primary client, further client memberships with a role each, extra access.
  const memberships: DesiredMembership[] = [];
  const addMembership = (ref: string, kind: DesiredMembership['kind'], role: ClientRole | null, field: string) => {
    const org = findOrganisation(cfg, ref);
    if (!org) {
      missing.push(`${field}: "${ref}" is not an organisation of this tenant`);
      return;
    }
    if (!memberships.some((m) => m.orgKey === org.key)) memberships.push({ orgKey: org.key, kind, role });
  };
  const isRole = (v: unknown): v is ClientRole => (CLIENT_ROLES as readonly string[]).includes(String(v));
  const roleOf = (v: unknown): ClientRole => (isRole(v) ? v : cfg.defaults.role);
  const ownEntries = (Array.isArray(ext.organisations) ? (ext.organisations as Json[]) : []).filter((o) => asString(o?.value) !== null);
  // Explicit organisations replace the rules' list as a whole; the client follows the same order.
  const orgEntries: Json[] = ownEntries.length > 0 ? ownEntries : rules.organisations.map((o) => ({ ...o }));
  const entryFor = (list: Json[], ref: string) => list.find((o) => asString(o.value)?.toLowerCase() === ref.toLowerCase());
  const primaryOfList = (list: Json[]) => asString(list.find((o) => o.primary === true)?.value) ?? asString(list[0]?.value);
  const clientRef =
    asString(ext.client) ?? primaryOfList(ownEntries) ?? rules.client ?? primaryOfList(rules.organisations as unknown as Json[]) ?? cfg.defaults.client ?? null;
  if (clientRef) {
    const role = [
      entryFor(ownEntries, clientRef)?.role,
      ext.clientRole,
      rolesClientRole,
      entryFor(rules.organisations as unknown as Json[], clientRef)?.role,
      rules.clientRole,
    ].find(isRole);
    addMembership(clientRef, 'primary', roleOf(role), 'client');
  } else if (cfg.organisations.length > 0) {
    missing.push('client: no client given and the tenant has no default client');
  }
  for (const o of orgEntries) {
    const ref = asString(o.value);
    if (ref) addMembership(ref, 'member', roleOf(o.role), 'organisations');
  }
  for (const ref of listOr(ext.extraClientAccess, rules.extraClientAccess)) addMembership(ref, 'extra', null, 'extraClientAccess');
  const clientKey = memberships.find((m) => m.kind === 'primary')?.orgKey ?? null;

  // Licences: offered only where the organisation has the service (`app`; `mobile` for the mobile
  // licence, which comes with the app licence and only to users of the mobile app); the level
  // follows the organisation.
  const mobileAppUser = explicitBool(ext.mobileAppUser) ?? rules.mobileAppUser ?? false;
  const licences: DesiredLicence[] = [];
  for (const m of memberships) {
    if (m.kind === 'extra') continue;
    const org = findOrganisation(cfg, m.orgKey);
    const services = org ? servicesOf(org) : [];
    if (org?.licenceLevel && services.includes('app')) {
      const mobileLicence = mobileAppUser && services.includes('mobile') ? (org.mobileLicence ?? null) : null;
      licences.push({ orgKey: org.key, licenceLevel: org.licenceLevel, mobileLicence });
    }
  }
  if (mobileAppUser && licences.length > 0 && licences.every((l) => l.mobileLicence === null)) {
    notes.push(
      `mobileLicence: none of the user's organisations (${licences.map((l) => l.orgKey).join(', ')}) offers the mobile service; the user has no mobile licence`,
    );
  }
  // Licence tiers in core `entitlements` (/Licenses) never grant: the licence follows the organisation.
  // One the user's organisations do not give is noted for the admin, not given.
  const requested = licencesOfUser(doc, offered);
  for (const tier of requested.licences) {
    const held = tier.kind === 'app' ? licences.some((l) => l.licenceLevel === tier.name) : licences.some((l) => l.mobileLicence === tier.name);
    if (!held) {
      notes.push(
        `entitlements: ${tier.id} (${tier.kind === 'app' ? 'licence level' : 'mobile licence'} ${tier.name}) is not given: licences follow the user's organisations (${tier.name} comes with ${tier.organisations.join(', ')})`,
      );
    }
  }
  if (loginNeeded && !primaryEntry) {
    missing.push('phoneNumbers: a primary phone is required for mobile-app users (it is their mobile login id)');
  }

  const providerAccounts: { providerType: string; orgKey: string }[] = [];
  const ownProviders = (Array.isArray(ext.providerAccounts) ? (ext.providerAccounts as Json[]) : []).filter((pa) => asString(pa?.type) ?? asString(pa?.value));
  const providerEntries: Json[] = ownProviders.length > 0 ? ownProviders : rules.providerAccounts.map((pa) => ({ ...pa }));
  for (const pa of providerEntries) {
    const type = asString(pa.type) ?? asString(pa.value);
    if (!type) continue;
    if (cfg.providerTypes.length > 0 && !cfg.providerTypes.includes(type)) {
      missing.push(`providerAccounts: "${type}" is not a provider type of this tenant`);
      continue;
    }
    const orgs = asStrings(pa.organisations);
    for (const ref of orgs.length > 0 ? orgs : clientKey ? [clientKey] : []) {
      const org = findOrganisation(cfg, ref);
      if (!org) missing.push(`providerAccounts: "${ref}" is not an organisation of this tenant`);
      // A provider account shows the user in an organisation: only one the user belongs to or has access to.
      else if (!memberships.some((m) => m.orgKey === org.key)) {
        missing.push(
          `providerAccounts: ${type} in "${org.name}" (${org.key}), which is not one of the user's organisations (${memberships.map((m) => m.orgKey).join(', ') || 'none'}); add it to organisations or extraClientAccess, or remove the provider account`,
        );
      } else if (!providerAccounts.some((p) => p.providerType === type && p.orgKey === org.key)) providerAccounts.push({ providerType: type, orgKey: org.key });
    }
  }

  const roleRef =
    asString(ext.securityRole) ??
    (assigned.securityRoles.length === 1 ? assigned.securityRoles[0].name : null) ??
    rules.securityRole ??
    cfg.defaults.securityRole ??
    null;
  let securityRole: SecurityRole | null = null;
  if (roleRef) {
    const match = SECURITY_ROLES.find((r) => r.toLowerCase() === roleRef.toLowerCase());
    if (!match) missing.push(`securityRole: "${roleRef}" is not a security role`);
    else if (cfg.securityRoles.length > 0 && !cfg.securityRoles.includes(match)) missing.push(`securityRole: "${match}" is not a security role of this tenant`);
    else securityRole = match;
  } else if (cfg.requirements.securityRole) {
    missing.push('securityRole: a security role is required');
  }
  const employeeType = asString(ext.employeeType) ?? rules.employeeType ?? cfg.defaults.employeeType ?? null;
  if (!employeeType && cfg.requirements.employeeType) missing.push('employeeType: an employee type is required');
  if (employeeType && cfg.employeeTypes.length > 0 && !cfg.employeeTypes.includes(employeeType)) {
    missing.push(`employeeType: "${employeeType}" is not an employee type of this tenant`);
  }

  const notifications = (ext.notifications ?? {}) as Json;
  const settings: Record<SettingKind, string[]> = {
    employeeArea: listOr(ext.employeeAreas, rules.employeeAreas),
    biGroup: listOr(ext.biGroups, rules.biGroups),
    team: listOr(ext.teams, rules.teams),
    facility: listOr(ext.facilities, rules.facilities),
    emailNotification: listOr(notifications.email ?? ext.emailNotifications, rules.notifications.email),
    systemNotification: listOr(notifications.system ?? ext.systemNotifications, rules.notifications.system),
    toastrNotification: listOr(notifications.toastr ?? ext.toastrNotifications, rules.notifications.toastr),
  };
  // Facilities name organisations of kind facility (key or name, any case) and are stored as their keys.
  if (cfg.organisations.length > 0) {
    const keys: string[] = [];
    for (const ref of settings.facility) {
      const facility = findOrganisation(cfg, ref, 'facility');
      const other = facility ? undefined : findOrganisation(cfg, ref);
      if (facility) {
        if (!keys.includes(facility.key)) keys.push(facility.key);
      } else if (other) missing.push(`facilities: "${ref}" is an organisation of kind ${other.kind}, not a facility`);
      else missing.push(`facilities: "${ref}" is not a facility of this tenant`);
    }
    settings.facility = keys;
  }
  // Catalogues, where the tenant keeps one: a value outside it is a mapping mistake to fix in the IdP.
  const catalogue: [SettingKind, string, string[]][] = [
    ['employeeArea', 'employeeAreas', cfg.employeeAreas],
    ['biGroup', 'biGroups', cfg.biGroups],
    ['team', 'teams', cfg.teams],
    ['emailNotification', 'notifications.email', cfg.notifications.email],
    ['systemNotification', 'notifications.system', cfg.notifications.system],
    ['toastrNotification', 'notifications.toastr', cfg.notifications.toastr],
  ];
  for (const [kind, field, allowed] of catalogue) {
    for (const v of allowed.length > 0 ? settings[kind] : []) if (!allowed.includes(v)) missing.push(`${field}: "${v}" is not one of this tenant's ${field}`);
  }

  return {
    active: doc.active !== false,
    profile,
    clientKey,
    caseManager: explicitBool(ext.caseManager) ?? rules.caseManager ?? false,
    memberships,
    licences,
    providerAccounts,
    securityRole,
    employeeType,
    allowGridExport: explicitBool(ext.allowGridExport) ?? rules.allowGridExport ?? false,
    receivesDocumentation: explicitBool(ext.receivesDocumentation) ?? rules.receivesDocumentation ?? false,
    settings,
    startDate: asString(ext.startDate),
    endDate: asString(ext.endDate),
    missing,
    matchedRules: rules.matchedRules,
    notes,
    mobileAppUser,
  };
}
