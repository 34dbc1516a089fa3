/**
 * What a held user may keep. A user held for missing or conflicting data (awaitingData) must not
 * keep access the identity provider has taken away: a role, tag, organisation or licence that
 * is no longer wanted is removed at once, while nothing new is granted until the data is
 * complete. Pure: the activities apply the result with the usual convergence steps.
 */
import type { DesiredLicence, DesiredMembership, DesiredUser } from './desired-user';
import { SETTING_KINDS, type SecurityRole, type SettingKind } from './roles';

/** What the user holds now in the application directory. */
export interface HeldAccess {
  memberships: DesiredMembership[];
  licences: DesiredLicence[];
  providerAccounts: { providerType: string; orgKey: string }[];
  securityRole: string | null;
  employeeType: string | null;
  caseManager: boolean;
  allowGridExport: boolean;
  receivesDocumentation: boolean;
  settings: Record<SettingKind, string[]>;
}

/**
 * The desired state restricted to what the user already holds: each held value stays only if
 * it is still wanted; a client role may go down (Client Admin → Client Staff), never up; a
 * security role that changed is removed (the new one waits for complete data); flags only
 * turn off. Profile fields and the employee type are not access and are left as they are.
 */
export function keepWhileHeld(desired: DesiredUser, held: HeldAccess): DesiredUser {
  const wantedOrg = new Map(desired.memberships.map((m) => [m.orgKey, m]));
  const memberships = held.memberships
    .filter((m) => wantedOrg.has(m.orgKey))
    .map((m) => {
      const want = wantedOrg.get(m.orgKey)!;
      return want.role === 'Client Staff' && m.role === 'Client Admin' ? { ...m, role: want.role } : m;
    });
  const wantedLicences = new Set(desired.licences.map((l) => l.orgKey));
  const wantedProviders = new Set(desired.providerAccounts.map((p) => `${p.providerType}@${p.orgKey}`));
  const settings = Object.fromEntries(SETTING_KINDS.map((k) => [k, held.settings[k].filter((v) => desired.settings[k].includes(v))])) as Record<
    SettingKind,
    string[]
  >;
  return {
    ...desired,
    memberships,
    licences: held.licences.filter((l) => wantedLicences.has(l.orgKey)),
    providerAccounts: held.providerAccounts.filter((p) => wantedProviders.has(`${p.providerType}@${p.orgKey}`)),
    securityRole: held.securityRole !== null && held.securityRole === desired.securityRole ? (held.securityRole as SecurityRole) : null,
    employeeType: held.employeeType,
    caseManager: held.caseManager && desired.caseManager,
    allowGridExport: held.allowGridExport && desired.allowGridExport,
    receivesDocumentation: held.receivesDocumentation && desired.receivesDocumentation,
    settings,
  };
}
