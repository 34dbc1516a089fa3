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

/** The access fields of a user's record as they are, with its settings (what syncAccessSettings compares with). */
export interface CurrentAccess {
  securityRole: string | null;
  employeeType: string | null;
  allowGridExport: boolean;
  receivesDocumentation: boolean;
  settings: SettingRow[];
}

/** A record just created by upsertProfile: the access columns at their defaults (migration 002), no settings. */
export const NO_ACCESS: CurrentAccess = Object.freeze({
  securityRole: null,
  employeeType: null,
  allowGridExport: false,
  receivesDocumentation: false,
  settings: [],
});

/**
 * Brings the access fields and settings in line with `desired` (the profile must exist). A new
 * security role stamps role_changed_at and new or removed employee areas stamp tags_changed_at:
 * the application's caches take time to catch up with each (the propagation windows).
 * `current`: what the caller's transaction already read with the record locked (directoryOf),
 * else it is read and locked here. At most one UPDATE, one DELETE and one INSERT.
 */
export async function syncAccessSettings(
  tx: Queryable,
  tenantId: string,
  userId: string,
  desired: DesiredUser,
  current?: CurrentAccess,
): Promise<AccessSettingsChange> {
  const cur = current ?? (await readCurrentAccess(tx, tenantId, userId));
  const changedFields: string[] = [];
  if (cur.securityRole !== desired.securityRole) changedFields.push('securityRole');
  if (cur.employeeType !== desired.employeeType) changedFields.push('employeeType');
  if (cur.allowGridExport !== desired.allowGridExport) changedFields.push('allowGridExport');
  if (cur.receivesDocumentation !== desired.receivesDocumentation) changedFields.push('receivesDocumentation');
  const roleChanged = changedFields.includes('securityRole') && desired.securityRole !== null;
  const settingsAdded: AccessSettingsChange['settingsAdded'] = {};
  const settingsRemoved: AccessSettingsChange['settingsRemoved'] = {};
  const removals: { kind: SettingKind; value: string }[] = [];
  const additions: { kind: SettingKind; value: string }[] = [];
  for (const kind of SETTING_KINDS) {
    const have = cur.settings.filter((r) => r.kind === kind).map((r) => r.value);
    const want = desired.settings[kind];
    const add = want.filter((v) => !have.includes(v));
    const remove = have.filter((v) => !want.includes(v));
    if (remove.length) {
      settingsRemoved[kind] = remove;
      removals.push(...remove.map((value) => ({ kind, value })));
    }
    if (add.length) {
      settingsAdded[kind] = add;
      additions.push(...add.map((value) => ({ kind, value })));
    }
  }
  // Employee-area tags go through the application's cache: their window restarts when they change.
  const tagsChanged = Boolean(settingsAdded.employeeArea?.length || settingsRemoved.employeeArea?.length);
  if (changedFields.length > 0 || tagsChanged) {
    await tx.query(
      `UPDATE app_users SET security_role = $3, employee_type = $4, allow_grid_export = $5, receives_documentation = $6,
         role_changed_at = CASE WHEN $7 THEN now() ELSE role_changed_at END, tags_changed_at = CASE WHEN $8 THEN now() ELSE tags_changed_at END,
         updated_at = CASE WHEN $9 THEN now() ELSE updated_at END
       WHERE tenant_id = $1 AND user_id = $2`,
      [
        tenantId,
        userId,
        desired.securityRole,
        desired.employeeType,
        desired.allowGridExport,
        desired.receivesDocumentation,
        roleChanged,
        tagsChanged,
        changedFields.length > 0,
      ],
    );
  }
  if (removals.length)
    await tx.query(
      `DELETE FROM app_user_settings s USING unnest($3::text[], $4::text[]) AS r(kind, value)
       WHERE s.tenant_id = $1 AND s.user_id = $2 AND s.kind = r.kind AND s.value = r.value`,
      [tenantId, userId, removals.map((r) => r.kind), removals.map((r) => r.value)],
    );
  if (additions.length)
    await tx.query(
      `INSERT INTO app_user_settings (tenant_id, user_id, kind, value) SELECT $1, $2, a.kind, a.value FROM unnest($3::text[], $4::text[]) AS a(kind, value)
       ON CONFLICT DO NOTHING`,
      [tenantId, userId, additions.map((r) => r.kind), additions.map((r) => r.value)],
    );
  const previous = {
    securityRole: cur.securityRole,
    employeeType: cur.employeeType,
    allowGridExport: cur.allowGridExport,
    receivesDocumentation: cur.receivesDocumentation,
  };
  return { roleChanged, tagsChanged, changedFields, settingsAdded, settingsRemoved, previous };
}

async function readCurrentAccess(tx: Queryable, tenantId: string, userId: string): Promise<CurrentAccess> {
  const row = (
    await tx.query<{ security_role: string | null; employee_type: string | null; allow_grid_export: boolean; receives_documentation: boolean }>(
      'SELECT security_role, employee_type, allow_grid_export, receives_documentation FROM app_users WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE',
      [tenantId, userId],
    )
  ).rows[0];
  return {
    securityRole: row.security_role,
    employeeType: row.employee_type,
    allowGridExport: row.allow_grid_export,
    receivesDocumentation: row.receives_documentation,
    settings: await settingsOf(tx, tenantId, [userId]),
  };
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
