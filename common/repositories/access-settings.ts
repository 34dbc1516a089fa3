/**
 * What a user may do and see in the application: security role, employee type and flags
 * (columns of app_users), and the settings lists: employee areas (tags), BI groups, teams,
 * facilities, notifications (app_user_settings).
 */
import type { Queryable } from '../db';
import type { DesiredUser } from '../../domain/desired-user';
import { SETTING_KINDS, type SettingKind } from '../../domain/roles';

export interface AccessSettingsChange {
  roleChanged: boolean;
  tagsChanged: boolean;
  changedFields: string[];
  settingsAdded: Partial<Record<SettingKind, string[]>>;
  settingsRemoved: Partial<Record<SettingKind, string[]>>;
  /** The four fields as they were before (no personal data), for old → new in the audit log. */
  previous: { securityRole: string | null; employeeType: string | null; allowGridExport: boolean; receivesDocumentation: boolean };
}

export interface SettingRow {
  userId: string;
  kind: SettingKind;
  value: string;
}

export async function settingsOf(db: Queryable, tenantId: string, userIds: string[]): Promise<SettingRow[]> {
  if (userIds.length === 0) return [];
  return (
    await db.query<SettingRow>('SELECT user_id::text AS "userId", kind, value FROM app_user_settings WHERE tenant_id = $1 AND user_id = ANY($2::uuid[])', [
      tenantId,
      userIds,
    ])
  ).rows;
}

/**
 * Brings the access fields and settings in line with `desired` (the profile must exist). A new
 * security role stamps role_changed_at and new or removed employee areas stamp tags_changed_at:
 * the application's caches take time to catch up with each (the propagation windows).
 */
export async function syncAccessSettings(tx: Queryable, tenantId: string, userId: string, desired: DesiredUser): Promise<AccessSettingsChange> {
  const cur = (
    await tx.query<{ security_role: string | null; employee_type: string | null; allow_grid_export: boolean; receives_documentation: boolean }>(
      'SELECT security_role, employee_type, allow_grid_export, receives_documentation FROM app_users WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE',
      [tenantId, userId],
    )
  ).rows[0];
  const changedFields: string[] = [];
  if (cur.security_role !== desired.securityRole) changedFields.push('securityRole');
  if (cur.employee_type !== desired.employeeType) changedFields.push('employeeType');
  if (cur.allow_grid_export !== desired.allowGridExport) changedFields.push('allowGridExport');
  if (cur.receives_documentation !== desired.receivesDocumentation) changedFields.push('receivesDocumentation');
  const roleChanged = changedFields.includes('securityRole') && desired.securityRole !== null;
  if (changedFields.length > 0) {
    await tx.query(
      `UPDATE app_users SET security_role = $3, employee_type = $4, allow_grid_export = $5, receives_documentation = $6,
         role_changed_at = CASE WHEN $7 THEN now() ELSE role_changed_at END, updated_at = now()
       WHERE tenant_id = $1 AND user_id = $2`,
      [tenantId, userId, desired.securityRole, desired.employeeType, desired.allowGridExport, desired.receivesDocumentation, roleChanged],
    );
  }
  const rows = await settingsOf(tx, tenantId, [userId]);
  const settingsAdded: AccessSettingsChange['settingsAdded'] = {};
  const settingsRemoved: AccessSettingsChange['settingsRemoved'] = {};
  for (const kind of SETTING_KINDS) {
    const have = rows.filter((r) => r.kind === kind).map((r) => r.value);
    const want = desired.settings[kind];
    const add = want.filter((v) => !have.includes(v));
    const remove = have.filter((v) => !want.includes(v));
    if (remove.length) {
      settingsRemoved[kind] = remove;
      await tx.query('DELETE FROM app_user_settings WHERE tenant_id = $1 AND user_id = $2 AND kind = $3 AND value = ANY($4::text[])', [
        tenantId,
        userId,
        kind,
        remove,
      ]);
    }
    if (add.length) {
      settingsAdded[kind] = add;
      await tx.query(
        `INSERT INTO app_user_settings (tenant_id, user_id, kind, value) SELECT $1, $2, $3, v FROM unnest($4::text[]) AS v ON CONFLICT DO NOTHING`,
        [tenantId, userId, kind, add],
      );
    }
  }
  // Employee-area tags go through the application's cache: their window restarts when they change.
  const tagsChanged = Boolean(settingsAdded.employeeArea?.length || settingsRemoved.employeeArea?.length);
  if (tagsChanged) await tx.query('UPDATE app_users SET tags_changed_at = now() WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId]);
  const previous = {
    securityRole: cur.security_role,
    employeeType: cur.employee_type,
    allowGridExport: cur.allow_grid_export,
    receivesDocumentation: cur.receives_documentation,
  };
  return { roleChanged, tagsChanged, changedFields, settingsAdded, settingsRemoved, previous };
}

/** Removes every setting of the user (termination). */
export async function deleteSettings(tx: Queryable, tenantId: string, userId: string): Promise<void> {
  await tx.query('DELETE FROM app_user_settings WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId]);
}

/** Clears the entitlement flags of the user's record (termination): security role, grid export, release notes, case manager. */
export async function clearEntitlementFlags(tx: Queryable, tenantId: string, userId: string): Promise<void> {
  await tx.query(
    `UPDATE app_users SET security_role = NULL, allow_grid_export = false, receives_documentation = false, case_manager = false, updated_at = now()
     WHERE tenant_id = $1 AND user_id = $2`,
    [tenantId, userId],
  );
}
