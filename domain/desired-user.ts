/**
 * From a stored SCIM user, the groups it is a member of, and its tenant's configuration to what
 * the application directory should hold for that user. Pure: activities call it, tests
 * exercise it directly.
 *
 * Precedence, field by field (docs/tenant-policy.md): an explicit value in the scimflow
 * extension wins; otherwise the tenant's mapping rules (domain/policy.ts); otherwise
 * the tenant defaults. A value is explicit when present and not empty (an empty list or
 * string counts as absent; a boolean, even false, is explicit).
 */
import { evaluatePolicy, type PolicyValues } from './policy';
import type { ClientRole, SecurityRole, SettingKind } from './roles';
import { CLIENT_ROLES, SECURITY_ROLES } from './roles';
import type { Organisation, TenantConfig } from './tenant-config';

export const CORE_USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const SCIMFLOW_USER_URN = 'urn:ietf:params:scim:schemas:extension:scimflow:2.0:User';

export interface DesiredProfile {
  externalId: string | null;
  firstName: string | null;
  lastName: string | null;
  title: string | null;
  email: string | null;
  primaryPhone: string | null;
  alternatePhones: string[];
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

function primaryOf(list: unknown, preferType?: string): string | null {
  if (!Array.isArray(list)) return null;
  const items = list.filter((x): x is Json => typeof x === 'object' && x !== null && asString((x as Json).value) !== null);
  const pick = items.find((x) => x.primary === true) ?? (preferType ? items.find((x) => x.type === preferType) : undefined) ?? items[0];
  return pick ? asString(pick.value) : null;
}

function findOrganisation(cfg: TenantConfig, ref: string): Organisation | undefined {
  const needle = ref.toLowerCase();
  return cfg.organisations.find((o) => o.key.toLowerCase() === needle) ?? cfg.organisations.find((o) => o.name.toLowerCase() === needle);
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

  const email = primaryOf(doc.emails, 'work') ?? (asString(doc.userName)?.includes('@') ? asString(doc.userName) : null);
  if (!email) missing.push('email: no work email and userName is not an address');
  const phones = Array.isArray(doc.phoneNumbers) ? (doc.phoneNumbers as Json[]) : [];
  const primaryPhone = primaryOf(phones, 'mobile');
  const profile: DesiredProfile = {
    externalId: asString(doc.externalId),
    firstName: asString(name.givenName),
    lastName: asString(name.familyName),
    title: asString(doc.title),
    email: email?.toLowerCase() ?? null,
    primaryPhone,
    alternatePhones: phones.map((p) => asString(p?.value)).filter((p): p is string => p !== null && p !== primaryPhone),
  };
  if (!profile.firstName) missing.push('name.givenName: first name is required');
  if (!profile.lastName) missing.push('name.familyName: last name is required');

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

  // Licences: offered only where the organisation has the service; level follows the organisation.
  const licences: DesiredLicence[] = [];
  for (const m of memberships) {
    if (m.kind === 'extra') continue;
    const org = findOrganisation(cfg, m.orgKey);
    if (org?.licenceLevel) licences.push({ orgKey: org.key, licenceLevel: org.licenceLevel, mobileLicence: org.mobileLicence ?? null });
  }
  const mobileUser = explicitBool(ext.mobileAppUser) ?? rules.mobileAppUser ?? false;
  if (mobileUser && cfg.requirements.phoneForMobileUsers && !primaryPhone) {
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
      else if (!providerAccounts.some((p) => p.providerType === type && p.orgKey === org.key)) providerAccounts.push({ providerType: type, orgKey: org.key });
    }
  }

  const roleRef = asString(ext.securityRole) ?? rules.securityRole ?? cfg.defaults.securityRole ?? null;
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
  for (const ref of settings.facility) {
    if (cfg.organisations.length > 0 && !findOrganisation(cfg, ref)) missing.push(`facilities: "${ref}" is not an organisation of this tenant`);
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
  };
}
