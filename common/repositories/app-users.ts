/**
 * The application's user records (app_users): profile, status, the re-hire link and the
 * snapshot of a terminated user's entitlements. Convergence functions are idempotent: run
 * twice, they change nothing the second time, and they report what they changed so the caller
 * can audit it. Access settings (security role, employee type, flags) live in
 * access-settings.ts; the rows across the directory's tables in entitlements.ts.
 */
import type { Queryable } from '../db';
import type { DesiredProfile, DesiredUser } from '../../domain/desired-user';
import { isUuid } from '../../domain/uuid';

export type AppUserStatus = 'provisioning' | 'invited' | 'active' | 'suspended' | 'terminated';

export interface AppUser {
  userId: string;
  externalId: string | null;
  firstName: string | null;
  email: string | null;
  status: AppUserStatus;
  loginEnabled: boolean;
  securityRole: string | null;
  clientKey: string | null;
  /** Why the user is held (missing or conflicting data): login blocked until it is complete. */
  holdReason: string | null;
}

export async function getAppUser(db: Queryable, tenantId: string, userId: string): Promise<AppUser | undefined> {
  if (!isUuid(userId)) return undefined;
  const r = (
    await db.query<Record<string, never>>(
      `SELECT user_id::text AS user_id, external_id, first_name, email, status, login_enabled, security_role, client_key, hold_reason
       FROM app_users WHERE tenant_id = $1 AND user_id = $2::uuid`,
      [tenantId, userId],
    )
  ).rows[0];
  return r
    ? {
        userId: r.user_id,
        externalId: r.external_id,
        firstName: r.first_name,
        email: r.email,
        status: r.status,
        loginEnabled: r.login_enabled,
        securityRole: r.security_role,
        clientKey: r.client_key,
        holdReason: r.hold_reason,
      }
    : undefined;
}

/** A user's profile and access fields, in the comparable shape of directory-diff (entitlements.ts). */
export interface AppUserRecord {
  userId: string;
  profile: DesiredProfile;
  clientKey: string | null;
  caseManager: boolean;
  securityRole: string | null;
  employeeType: string | null;
  allowGridExport: boolean;
  receivesDocumentation: boolean;
}

/** The records of those of `userIds` that have one. */
export async function appUsersOf(db: Queryable, tenantId: string, userIds: string[]): Promise<AppUserRecord[]> {
  if (userIds.length === 0) return [];
  const rows = (
    await db.query<Record<string, any>>(
      `SELECT user_id::text AS user_id, external_id, first_name, last_name, title, email, primary_phone, alternate_phones, display_name, client_key, case_manager,
              security_role, employee_type, allow_grid_export, receives_documentation
       FROM app_users WHERE tenant_id = $1 AND user_id = ANY($2::uuid[])`,
      [tenantId, userIds],
    )
  ).rows;
  return rows.map(appUserRecordOf);
}

/** An app_users row (its columns by name, user_id as text) as the record. */
export function appUserRecordOf(u: Record<string, any>): AppUserRecord {
  return {
    userId: u.user_id,
    profile: {
      externalId: u.external_id,
      firstName: u.first_name,
      lastName: u.last_name,
      title: u.title,
      email: u.email,
      primaryPhone: u.primary_phone,
      alternatePhones: u.alternate_phones ?? [],
      displayName: u.display_name,
    },
    clientKey: u.client_key,
    caseManager: u.case_manager,
    securityRole: u.security_role,
    employeeType: u.employee_type,
    allowGridExport: u.allow_grid_export,
    receivesDocumentation: u.receives_documentation,
  };
}

const PROFILE_COLUMNS: [keyof DesiredProfile | 'clientKey' | 'caseManager', string][] = [
  ['externalId', 'external_id'],
  ['firstName', 'first_name'],
  ['lastName', 'last_name'],
  ['title', 'title'],
  ['email', 'email'],
  ['primaryPhone', 'primary_phone'],
  ['alternatePhones', 'alternate_phones'],
  ['displayName', 'display_name'],
  ['clientKey', 'client_key'],
  ['caseManager', 'case_manager'],
];

/**
 * Creates the profile or brings it in line; returns the names of the fields that changed.
 * `current`: the record as the caller's transaction read it with the row locked (directoryOf;
 * null: there is none), else it is read and locked here.
 */
export async function upsertProfile(
  tx: Queryable,
  tenantId: string,
  userId: string,
  desired: DesiredUser,
  current?: AppUserRecord | null,
): Promise<{ created: boolean; changed: string[] }> {
  const values: Record<string, unknown> = { ...desired.profile, clientKey: desired.clientKey, caseManager: desired.caseManager };
  const stored: Record<string, unknown> | undefined =
    current === undefined
      ? (
          await tx.query<Record<string, unknown>>(
            `SELECT ${PROFILE_COLUMNS.map(([, c]) => c).join(', ')}, status FROM app_users WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE`,
            [tenantId, userId],
          )
        ).rows[0]
      : current === null
        ? undefined
        : Object.fromEntries(
            PROFILE_COLUMNS.map(([k, c]) => [c, k === 'clientKey' ? current.clientKey : k === 'caseManager' ? current.caseManager : current.profile[k]]),
          );
  if (!stored) {
    await tx.query(
      `INSERT INTO app_users (tenant_id, user_id, ${PROFILE_COLUMNS.map(([, c]) => c).join(', ')})
       VALUES ($1, $2, ${PROFILE_COLUMNS.map((_, i) => `$${i + 3}`).join(', ')})`,
      [tenantId, userId, ...PROFILE_COLUMNS.map(([k]) => values[k])],
    );
    return { created: true, changed: PROFILE_COLUMNS.map(([k]) => k) };
  }
  const changed = PROFILE_COLUMNS.filter(([k, c]) => JSON.stringify(stored[c] ?? null) !== JSON.stringify(values[k] ?? null)).map(([k]) => k);
  if (changed.length > 0) {
    await tx.query(
      `UPDATE app_users SET ${PROFILE_COLUMNS.map(([, c], i) => `${c} = $${i + 3}`).join(', ')}, updated_at = now() WHERE tenant_id = $1 AND user_id = $2`,
      [tenantId, userId, ...PROFILE_COLUMNS.map(([k]) => values[k])],
    );
  }
  return { created: false, changed };
}

/** Links a re-hire to the terminated user whose entitlements it inherited. */
export async function markRehired(tx: Queryable, tenantId: string, userId: string, earlierUserId: string): Promise<void> {
  await tx.query('UPDATE app_users SET rehired_from = $3 WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId, earlierUserId]);
}

/**
 * Sets status and login; true when either changed. A held user's login stays blocked whatever
 * the status; termination ends a hold. Termination also stamps terminated_at (the re-hire
 * window starts there).
 */
export async function setStatus(tx: Queryable, tenantId: string, userId: string, status: AppUserStatus, loginEnabled: boolean): Promise<boolean> {
  const r = await tx.query(
    `UPDATE app_users SET status = $3, login_enabled = $4 AND (hold_reason IS NULL OR $3 = 'terminated'), updated_at = now(),
       hold_reason = CASE WHEN $3 = 'terminated' THEN NULL ELSE hold_reason END,
       terminated_at = CASE WHEN $3 = 'terminated' THEN now() ELSE terminated_at END
     WHERE tenant_id = $1 AND user_id = $2 AND (status <> $3 OR login_enabled <> ($4 AND (hold_reason IS NULL OR $3 = 'terminated')))`,
    [tenantId, userId, status, loginEnabled],
  );
  return r.rowCount > 0;
}

/**
 * Holds the user (login blocked, `reason` kept) or ends the hold (`reason` null: login back as
 * its status allows: invited and active users may log in). True when anything changed.
 */
export async function setHold(tx: Queryable, tenantId: string, userId: string, reason: string | null): Promise<boolean> {
  const r =
    reason === null
      ? await tx.query(
          `UPDATE app_users SET hold_reason = NULL, login_enabled = status IN ('invited', 'active'), updated_at = now()
           WHERE tenant_id = $1 AND user_id = $2 AND hold_reason IS NOT NULL`,
          [tenantId, userId],
        )
      : await tx.query(
          `UPDATE app_users SET hold_reason = $3, login_enabled = false, updated_at = now()
           WHERE tenant_id = $1 AND user_id = $2 AND status <> 'terminated' AND (hold_reason IS DISTINCT FROM $3 OR login_enabled)`,
          [tenantId, userId, reason],
        );
  return r.rowCount > 0;
}

/** Keeps what a terminated user had (entitlements.ts), so a re-hire can be given the same (desired-inputs.ts). */
export async function saveEntitlementsSnapshot(tx: Queryable, tenantId: string, userId: string, snapshot: Record<string, unknown>): Promise<void> {
  await tx.query('UPDATE app_users SET entitlements_snapshot = $3::jsonb WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId, JSON.stringify(snapshot)]);
}

/**
 * Users drift repair may compare: provisioned (an app_users row), not terminated, with their
 * workflow's visible state. Their documents are read with their other inputs (desired-inputs.ts).
 */
export async function reconcileCandidates(
  db: Queryable,
  tenantId: string,
  afterId: string | null,
  limit: number,
): Promise<{ id: string; version: number; status: AppUserStatus; state: string | null }[]> {
  return (
    await db.query<{ id: string; version: number; status: AppUserStatus; state: string | null }>(
      `SELECT u.id::text AS id, u.version, a.status, p.state
       FROM scim_users u
       JOIN app_users a ON a.tenant_id = u.tenant_id AND a.user_id = u.id
       LEFT JOIN provisioning_states p ON p.tenant_id = u.tenant_id AND p.user_id = u.id
       WHERE u.tenant_id = $1 AND ($2::uuid IS NULL OR u.id > $2::uuid) AND a.status <> 'terminated'
       ORDER BY u.id LIMIT $3`,
      [tenantId, afterId, limit],
    )
  ).rows;
}
