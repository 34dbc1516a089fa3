/**
 * From a stored SCIM user and its tenant's configuration to what the application directory
 * should hold for that user. Pure: activities call it, tests exercise it directly.
 *
 * Precedence: explicit values in the scimflow extension win; otherwise the tenant defaults.
 */
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
}

type Json = Record<string, unknown>;

const asString = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
const asStrings = (v: unknown): string[] =>
  Array.isArray(v) ? [...new Set(v.map((x) => (typeof x === 'object' && x ? asString((x as Json).value) : asString(x))).filter((x): x is string => x !== null))] : [];
const asBool = (v: unknown): boolean => v === true || (typeof v === 'string' && v.toLowerCase() === 'true');

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

export function desiredUser(doc: Json, cfg: TenantConfig): DesiredUser {
  const ext = (doc[SCIMFLOW_USER_URN] ?? {}) as Json;
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
  const roleOf = (v: unknown): ClientRole => (CLIENT_ROLES as readonly string[]).includes(String(v)) ? (v as ClientRole) : cfg.defaults.role;
  const orgEntries = Array.isArray(ext.organisations) ? (ext.organisations as Json[]) : [];
  const clientRef = asString(ext.client) ?? asString(orgEntries.find((o) => o.primary === true)?.value) ?? asString(orgEntries[0]?.value) ?? cfg.defaults.client ?? null;
  if (clientRef) {
    const primaryEntry = orgEntries.find((o) => asString(o.value)?.toLowerCase() === clientRef.toLowerCase());
    addMembership(clientRef, 'primary', roleOf(primaryEntry?.role ?? ext.clientRole), 'client');
  } else if (cfg.organisations.length > 0) {
    missing.push('client: no client given and the tenant has no default client');
  }
  for (const o of orgEntries) {
    const ref = asString(o.value);
    if (ref) addMembership(ref, 'member', roleOf(o.role), 'organisations');
  }
  for (const ref of asStrings(ext.extraClientAccess)) addMembership(ref, 'extra', null, 'extraClientAccess');
  const clientKey = memberships.find((m) => m.kind === 'primary')?.orgKey ?? null;

  // Licences: offered only where the organisation has the service; level follows the organisation.
  const licences: DesiredLicence[] = [];
  for (const m of memberships) {
    if (m.kind === 'extra') continue;
    const org = findOrganisation(cfg, m.orgKey);
    if (org?.licenceLevel) licences.push({ orgKey: org.key, licenceLevel: org.licenceLevel, mobileLicence: org.mobileLicence ?? null });
  }
  const mobileUser = asBool(ext.mobileAppUser);
  if (mobileUser && cfg.requirements.phoneForMobileUsers && !primaryPhone) {
    missing.push('phoneNumbers: a primary phone is required for mobile-app users (it is their mobile login id)');
  }

  const providerAccounts: { providerType: string; orgKey: string }[] = [];
  for (const pa of Array.isArray(ext.providerAccounts) ? (ext.providerAccounts as Json[]) : []) {
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

  const roleRef = asString(ext.securityRole) ?? cfg.defaults.securityRole ?? null;
  let securityRole: SecurityRole | null = null;
  if (roleRef) {
    const match = SECURITY_ROLES.find((r) => r.toLowerCase() === roleRef.toLowerCase());
    if (match) securityRole = match;
    else missing.push(`securityRole: "${roleRef}" is not a security role`);
  } else if (cfg.requirements.securityRole) {
    missing.push('securityRole: a security role is required');
  }
  const employeeType = asString(ext.employeeType) ?? cfg.defaults.employeeType ?? null;
  if (!employeeType && cfg.requirements.employeeType) missing.push('employeeType: an employee type is required');
  if (employeeType && cfg.employeeTypes.length > 0 && !cfg.employeeTypes.includes(employeeType)) {
    missing.push(`employeeType: "${employeeType}" is not an employee type of this tenant`);
  }

  const notifications = (ext.notifications ?? {}) as Json;
  const settings: Record<SettingKind, string[]> = {
    employeeArea: asStrings(ext.employeeAreas),
    biGroup: asStrings(ext.biGroups),
    team: asStrings(ext.teams),
    facility: asStrings(ext.facilities),
    emailNotification: asStrings(notifications.email ?? ext.emailNotifications),
    systemNotification: asStrings(notifications.system ?? ext.systemNotifications),
    toastrNotification: asStrings(notifications.toastr ?? ext.toastrNotifications),
  };
  for (const ref of settings.facility) {
    if (cfg.organisations.length > 0 && !findOrganisation(cfg, ref)) missing.push(`facilities: "${ref}" is not an organisation of this tenant`);
  }

  return {
    active: doc.active !== false,
    profile,
    clientKey,
    caseManager: asBool(ext.caseManager),
    memberships,
    licences,
    providerAccounts,
    securityRole,
    employeeType,
    allowGridExport: asBool(ext.allowGridExport),
    receivesDocumentation: asBool(ext.receivesDocumentation),
    settings,
    startDate: asString(ext.startDate),
    endDate: asString(ext.endDate),
    missing,
  };
}
