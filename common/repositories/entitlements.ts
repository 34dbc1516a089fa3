/**
 * A user's entitlements across the directory's tables (app-users.ts, access-settings.ts,
 * memberships.ts, licences.ts, provider-accounts.ts): what drift repair and the admin API
 * compare with the desired state, what a re-hire inherits, and what termination ends.
 */
import type { Queryable } from '../db';
import { emptySettings, licenceKey, membershipKey, providerKey, type DirectoryState } from '../../domain/directory-diff';
import { SETTING_KINDS, type SettingKind } from '../../domain/roles';
import { deleteSettings, settingsOf } from './access-settings';
import { appUsersOf, saveEntitlementsSnapshot } from './app-users';
import { revokeInvitations } from './invitations';
import { activeLicencesOf, releaseLicences } from './licences';
import { deleteMemberships, membershipsOf } from './memberships';
import { deleteProviderAccounts, providerAccountsOf } from './provider-accounts';

/** What the application directory holds for each of `userIds` (those with an app_users row), in the comparable shape of directory-diff. */
export async function observedStates(db: Queryable, tenantId: string, userIds: string[]): Promise<Map<string, DirectoryState>> {
  const result = new Map<string, DirectoryState>();
  if (userIds.length === 0) return result;
  for (const u of await appUsersOf(db, tenantId, userIds)) {
    result.set(u.userId, {
      profile: u.profile,
      clientKey: u.clientKey,
      caseManager: u.caseManager,
      memberships: [],
      licences: [],
      providerAccounts: [],
      securityRole: u.securityRole,
      employeeType: u.employeeType,
      allowGridExport: u.allowGridExport,
      receivesDocumentation: u.receivesDocumentation,
      settings: emptySettings(),
    });
  }
  for (const m of await membershipsOf(db, tenantId, userIds)) result.get(m.userId)?.memberships.push(membershipKey(m));
  for (const l of await activeLicencesOf(db, tenantId, userIds)) result.get(l.userId)?.licences.push(licenceKey(l));
  for (const p of await providerAccountsOf(db, tenantId, userIds)) result.get(p.userId)?.providerAccounts.push(providerKey(p));
  for (const s of await settingsOf(db, tenantId, userIds)) result.get(s.userId)?.settings[s.kind].push(s.value);
  for (const state of result.values()) {
    state.memberships.sort();
    state.licences.sort();
    state.providerAccounts.sort();
    for (const kind of SETTING_KINDS) state.settings[kind].sort();
  }
  return result;
}

/**
 * What the user had, in the shape of the scimflow SCIM extension, so a re-hire can be given
 * the same entitlements (app-users.ts rehireSources).
 */
async function snapshotEntitlements(tx: Queryable, tenantId: string, userId: string): Promise<Record<string, unknown>> {
  const [user] = await appUsersOf(tx, tenantId, [userId]);
  const memberships = await membershipsOf(tx, tenantId, [userId]);
  const providers = await providerAccountsOf(tx, tenantId, [userId]);
  const settings = await settingsOf(tx, tenantId, [userId]);
  const of = (kind: SettingKind) => settings.filter((x) => x.kind === kind).map((x) => x.value);
  const byType = new Map<string, string[]>();
  for (const p of providers) byType.set(p.providerType, [...(byType.get(p.providerType) ?? []), p.orgKey]);
  return {
    ...(user?.clientKey ? { client: user.clientKey } : {}),
    organisations: memberships.filter((m) => m.kind !== 'extra').map((m) => ({ value: m.orgKey, role: m.role, primary: m.kind === 'primary' })),
    extraClientAccess: memberships.filter((m) => m.kind === 'extra').map((m) => m.orgKey),
    caseManager: user?.caseManager ?? false,
    providerAccounts: [...byType].map(([type, organisations]) => ({ type, organisations })),
    ...(user?.securityRole ? { securityRole: user.securityRole } : {}),
    ...(user?.employeeType ? { employeeType: user.employeeType } : {}),
    allowGridExport: user?.allowGridExport ?? false,
    receivesDocumentation: user?.receivesDocumentation ?? false,
    employeeAreas: of('employeeArea'),
    biGroups: of('biGroup'),
    teams: of('team'),
    facilities: of('facility'),
    emailNotifications: of('emailNotification'),
    systemNotifications: of('systemNotification'),
    toastrNotifications: of('toastrNotification'),
  };
}

/** Termination: a snapshot kept for a re-hire, then every entitlement ended; the user row stays for audit. */
export async function releaseEntitlements(
  tx: Queryable,
  tenantId: string,
  userId: string,
): Promise<{ licences: number; memberships: number; invitations: number }> {
  await saveEntitlementsSnapshot(tx, tenantId, userId, await snapshotEntitlements(tx, tenantId, userId));
  const licences = await releaseLicences(tx, tenantId, userId);
  const memberships = await deleteMemberships(tx, tenantId, userId);
  await deleteProviderAccounts(tx, tenantId, userId);
  await deleteSettings(tx, tenantId, userId);
  const invitations = await revokeInvitations(tx, tenantId, userId, 'terminated');
  return { licences, memberships, invitations };
}
