/**
 * A user's entitlements across the directory's tables (app-users.ts, access-settings.ts,
 * memberships.ts, licences.ts, provider-accounts.ts): what drift repair and the admin API
 * compare with the desired state, what a re-hire inherits, and what termination ends.
 */
import type { Queryable } from '../db';
import { emptySettings, licenceKey, membershipKey, providerKey, type DirectoryState } from '../../domain/directory-diff';
import { SETTING_KINDS, type SettingKind } from '../../domain/roles';
import { deleteSettings, type SettingRow } from './access-settings';
import { appUserRecordOf, saveEntitlementsSnapshot, type AppUserRecord, type AppUserStatus } from './app-users';
import { revokeInvitations } from './invitations';
import { releaseLicences, type LicenceRow } from './licences';
import { deleteMemberships, type MembershipRow } from './memberships';
import { deleteProviderAccounts, type ProviderAccountRow } from './provider-accounts';

/** A user's record and every row of the directory's tables that belongs to it. */
export interface UserDirectory {
  user: AppUserRecord & { status: AppUserStatus; holdReason: string | null };
  memberships: MembershipRow[];
  licences: LicenceRow[];
  providerAccounts: ProviderAccountRow[];
  settings: SettingRow[];
}

/**
 * What the directory holds for each of `userIds` that has an app_users row, in one statement
 * (a convergence, an access check and drift repair read it on every onboarding). `lock`: the
 * app_users rows are locked for the caller's transaction (FOR UPDATE), as a read-modify-write needs.
 */
export async function directoryOf(db: Queryable, tenantId: string, userIds: string[], options: { lock?: boolean } = {}): Promise<Map<string, UserDirectory>> {
  const result = new Map<string, UserDirectory>();
  if (userIds.length === 0) return result;
  const rows = (
    await db.query<Record<string, any>>(
      `WITH u AS (
         SELECT user_id, external_id, first_name, last_name, title, email, primary_phone, alternate_phones, display_name, client_key, case_manager,
                security_role, employee_type, allow_grid_export, receives_documentation, status, hold_reason
         FROM app_users WHERE tenant_id = $1 AND user_id = ANY($2::uuid[])${options.lock ? ' FOR UPDATE' : ''})
       SELECT u.*, u.user_id::text AS user_id,
         (SELECT json_agg(json_build_object('orgKey', m.org_key, 'kind', m.kind, 'role', m.role)) FROM app_memberships m
          WHERE m.tenant_id = $1 AND m.user_id = u.user_id) AS memberships,
         (SELECT json_agg(json_build_object('orgKey', l.org_key, 'licenceLevel', l.licence_level, 'mobileLicence', l.mobile_licence)) FROM app_licences l
          WHERE l.tenant_id = $1 AND l.user_id = u.user_id AND l.released_at IS NULL) AS licences,
         (SELECT json_agg(json_build_object('providerType', p.provider_type, 'orgKey', p.org_key)) FROM app_provider_accounts p
          WHERE p.tenant_id = $1 AND p.user_id = u.user_id) AS provider_accounts,
         (SELECT json_agg(json_build_object('kind', s.kind, 'value', s.value)) FROM app_user_settings s
          WHERE s.tenant_id = $1 AND s.user_id = u.user_id) AS settings
       FROM u`,
      [tenantId, userIds],
    )
  ).rows;
  for (const u of rows) {
    const userId: string = u.user_id;
    const withUser = <T>(list: T[] | null): (T & { userId: string })[] => (list ?? []).map((x) => ({ ...x, userId }));
    result.set(userId, {
      user: { ...appUserRecordOf(u), status: u.status, holdReason: u.hold_reason },
      memberships: withUser<Omit<MembershipRow, 'userId'>>(u.memberships),
      licences: withUser<Omit<LicenceRow, 'userId'>>(u.licences),
      providerAccounts: withUser<Omit<ProviderAccountRow, 'userId'>>(u.provider_accounts),
      settings: withUser<Omit<SettingRow, 'userId'>>(u.settings),
    });
  }
  return result;
}

/** A user's directory rows in the comparable shape of directory-diff. */
export function comparableState(d: UserDirectory): DirectoryState {
  const settings = emptySettings();
  for (const s of d.settings) settings[s.kind].push(s.value);
  for (const kind of SETTING_KINDS) settings[kind].sort();
  return {
    profile: d.user.profile,
    clientKey: d.user.clientKey,
    caseManager: d.user.caseManager,
    memberships: d.memberships.map(membershipKey).sort(),
    licences: d.licences.map(licenceKey).sort(),
    providerAccounts: d.providerAccounts.map(providerKey).sort(),
    securityRole: d.user.securityRole,
    employeeType: d.user.employeeType,
    allowGridExport: d.user.allowGridExport,
    receivesDocumentation: d.user.receivesDocumentation,
    settings,
  };
}

/** What the application directory holds for each of `userIds` (those with an app_users row), in the comparable shape of directory-diff. */
export async function observedStates(db: Queryable, tenantId: string, userIds: string[]): Promise<Map<string, DirectoryState>> {
  const result = new Map<string, DirectoryState>();
  for (const [id, d] of await directoryOf(db, tenantId, userIds)) result.set(id, comparableState(d));
  return result;
}

/**
 * What the user had, in the shape of the scimflow SCIM extension, so a re-hire can be given
 * the same entitlements (desired-inputs.ts reads it back).
 */
async function snapshotEntitlements(tx: Queryable, tenantId: string, userId: string): Promise<Record<string, unknown>> {
  const held = (await directoryOf(tx, tenantId, [userId])).get(userId);
  const user = held?.user;
  const memberships = held?.memberships ?? [];
  const providers = held?.providerAccounts ?? [];
  const settings = held?.settings ?? [];
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
