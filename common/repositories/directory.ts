/**
 * SQL for the application directory (what the workflows provision). Every function is an
 * idempotent convergence: run twice, it changes nothing the second time, and it reports
 * what it changed so the caller can audit it.
 */
import { isUuid } from '../db/uuid';
import type { Queryable } from '../db';
import type { DesiredLicence, DesiredMembership, DesiredProfile, DesiredUser } from '../../domain/desired-user';
import { emptySettings, licenceKey, membershipKey, providerKey, type DirectoryState } from '../../domain/directory-diff';
import type { SettingKind } from '../../domain/roles';
import { SETTING_KINDS } from '../../domain/roles';

export type AppUserStatus = 'provisioning' | 'invited' | 'active' | 'suspended' | 'terminated';

export interface AppUser {
  userId: string;
  externalId: string | null;
  email: string | null;
  status: AppUserStatus;
  loginEnabled: boolean;
  securityRole: string | null;
  clientKey: string | null;
}

export async function getScimDoc(db: Queryable, tenantId: string, userId: string): Promise<{ doc: Record<string, unknown>; version: number } | undefined> {
  if (!isUuid(userId)) return undefined;
  return (
    await db.query<{ doc: Record<string, unknown>; version: number }>('SELECT doc, version FROM scim_users WHERE tenant_id = $1 AND id = $2::uuid', [
      tenantId,
      userId,
    ])
  ).rows[0];
}

export async function getAppUser(db: Queryable, tenantId: string, userId: string): Promise<AppUser | undefined> {
  if (!isUuid(userId)) return undefined;
  const r = (
    await db.query<Record<string, never>>(
      `SELECT user_id::text AS user_id, external_id, email, status, login_enabled, security_role, client_key
       FROM app_users WHERE tenant_id = $1 AND user_id = $2::uuid`,
      [tenantId, userId],
    )
  ).rows[0];
  return r
    ? {
        userId: r.user_id,
        externalId: r.external_id,
        email: r.email,
        status: r.status,
        loginEnabled: r.login_enabled,
        securityRole: r.security_role,
        clientKey: r.client_key,
      }
    : undefined;
}

const PROFILE_COLUMNS: [keyof DesiredProfile | 'clientKey' | 'caseManager', string][] = [
  ['externalId', 'external_id'],
  ['firstName', 'first_name'],
  ['lastName', 'last_name'],
  ['title', 'title'],
  ['email', 'email'],
  ['primaryPhone', 'primary_phone'],
  ['alternatePhones', 'alternate_phones'],
  ['clientKey', 'client_key'],
  ['caseManager', 'case_manager'],
];

/** Creates the profile or brings it in line; returns the names of the fields that changed. */
export async function upsertProfile(tx: Queryable, tenantId: string, userId: string, desired: DesiredUser): Promise<{ created: boolean; changed: string[] }> {
  const values: Record<string, unknown> = { ...desired.profile, clientKey: desired.clientKey, caseManager: desired.caseManager };
  const current = (
    await tx.query<Record<string, unknown>>(
      `SELECT ${PROFILE_COLUMNS.map(([, c]) => c).join(', ')}, status FROM app_users WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE`,
      [tenantId, userId],
    )
  ).rows[0];
  if (!current) {
    await tx.query(
      `INSERT INTO app_users (tenant_id, user_id, ${PROFILE_COLUMNS.map(([, c]) => c).join(', ')})
       VALUES ($1, $2, ${PROFILE_COLUMNS.map((_, i) => `$${i + 3}`).join(', ')})`,
      [tenantId, userId, ...PROFILE_COLUMNS.map(([k]) => values[k])],
    );
    return { created: true, changed: PROFILE_COLUMNS.map(([k]) => k) };
  }
  const changed = PROFILE_COLUMNS.filter(([k, c]) => JSON.stringify(current[c] ?? null) !== JSON.stringify(values[k] ?? null)).map(([k]) => k);
  if (changed.length > 0) {
    await tx.query(
      `UPDATE app_users SET ${PROFILE_COLUMNS.map(([, c], i) => `${c} = $${i + 3}`).join(', ')}, updated_at = now() WHERE tenant_id = $1 AND user_id = $2`,
      [tenantId, userId, ...PROFILE_COLUMNS.map(([k]) => values[k])],
    );
  }
  return { created: false, changed };
}

export async function syncMemberships(
  tx: Queryable,
  tenantId: string,
  userId: string,
  desired: DesiredMembership[],
): Promise<{ added: string[]; removed: string[]; changed: string[] }> {
  const current = (
    await tx.query<{ org_key: string; kind: string; role: string | null }>(
      'SELECT org_key, kind, role FROM app_memberships WHERE tenant_id = $1 AND user_id = $2',
      [tenantId, userId],
    )
  ).rows;
  const wanted = new Map(desired.map((m) => [m.orgKey, m]));
  const removed = current.filter((c) => !wanted.has(c.org_key)).map((c) => c.org_key);
  if (removed.length)
    await tx.query('DELETE FROM app_memberships WHERE tenant_id = $1 AND user_id = $2 AND org_key = ANY($3::text[])', [tenantId, userId, removed]);
  const added: string[] = [];
  const changed: string[] = [];
  for (const m of desired) {
    const c = current.find((x) => x.org_key === m.orgKey);
    if (c && c.kind === m.kind && c.role === m.role) continue;
    await tx.query(
      `INSERT INTO app_memberships (tenant_id, user_id, org_key, kind, role) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant_id, user_id, org_key) DO UPDATE SET kind = EXCLUDED.kind, role = EXCLUDED.role`,
      [tenantId, userId, m.orgKey, m.kind, m.role],
    );
    (c ? changed : added).push(m.orgKey);
  }
  return { added, removed, changed };
}

/**
 * Licences follow the organisation's level. A new licence takes a seat from the organisation's
 * pool when it has a seat limit; then the pool row is locked so two users cannot take the last
 * seat at once. Without a limit nothing is locked: onboardings into one organisation used to
 * queue on its row for the rest of their transactions.
 */
export async function syncLicences(
  tx: Queryable,
  tenantId: string,
  userId: string,
  desired: DesiredLicence[],
): Promise<{ assigned: string[]; released: string[]; updated: string[]; noSeatIn?: string }> {
  const current = (
    await tx.query<{ org_key: string; licence_level: string; mobile_licence: string | null }>(
      'SELECT org_key, licence_level, mobile_licence FROM app_licences WHERE tenant_id = $1 AND user_id = $2 AND released_at IS NULL',
      [tenantId, userId],
    )
  ).rows;
  const wanted = new Set(desired.map((l) => l.orgKey));
  const released = current.filter((c) => !wanted.has(c.org_key)).map((c) => c.org_key);
  if (released.length) {
    await tx.query('UPDATE app_licences SET released_at = now() WHERE tenant_id = $1 AND user_id = $2 AND org_key = ANY($3::text[]) AND released_at IS NULL', [
      tenantId,
      userId,
      released,
    ]);
  }
  const assigned: string[] = [];
  const updated: string[] = [];
  for (const l of desired) {
    const c = current.find((x) => x.org_key === l.orgKey);
    if (c) {
      if (c.licence_level !== l.licenceLevel || c.mobile_licence !== l.mobileLicence) {
        await tx.query('UPDATE app_licences SET licence_level = $4, mobile_licence = $5 WHERE tenant_id = $1 AND user_id = $2 AND org_key = $3', [
          tenantId,
          userId,
          l.orgKey,
          l.licenceLevel,
          l.mobileLicence,
        ]);
        updated.push(l.orgKey);
      }
      continue;
    }
    const seatLimit = async (lock: boolean) =>
      (
        await tx.query<{ seat_limit: number | null }>(`SELECT seat_limit FROM organisations WHERE tenant_id = $1 AND key = $2${lock ? ' FOR UPDATE' : ''}`, [
          tenantId,
          l.orgKey,
        ])
      ).rows[0]?.seat_limit ?? null;
    // Read without a lock first; with a limit, lock the row and read the limit again (it may have changed in between).
    const limit = (await seatLimit(false)) === null ? null : await seatLimit(true);
    if (limit !== null) {
      const used = (
        await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM app_licences WHERE tenant_id = $1 AND org_key = $2 AND released_at IS NULL', [
          tenantId,
          l.orgKey,
        ])
      ).rows[0].n;
      if (used >= limit) return { assigned, released, updated, noSeatIn: l.orgKey };
    }
    await tx.query(
      `INSERT INTO app_licences (tenant_id, user_id, org_key, licence_level, mobile_licence) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant_id, user_id, org_key) DO UPDATE SET licence_level = EXCLUDED.licence_level, mobile_licence = EXCLUDED.mobile_licence,
         assigned_at = now(), released_at = NULL`,
      [tenantId, userId, l.orgKey, l.licenceLevel, l.mobileLicence],
    );
    assigned.push(l.orgKey);
  }
  return { assigned, released, updated };
}

export async function syncProviderAccounts(
  tx: Queryable,
  tenantId: string,
  userId: string,
  desired: { providerType: string; orgKey: string }[],
): Promise<{ added: string[]; removed: string[] }> {
  const current = (
    await tx.query<{ provider_type: string; org_key: string }>(
      'SELECT provider_type, org_key FROM app_provider_accounts WHERE tenant_id = $1 AND user_id = $2',
      [tenantId, userId],
    )
  ).rows.map((r) => `${r.provider_type}@${r.org_key}`);
  const wanted = desired.map((d) => `${d.providerType}@${d.orgKey}`);
  const removed = current.filter((c) => !wanted.includes(c));
  const added = wanted.filter((w) => !current.includes(w));
  for (const r of removed) {
    const [type, org] = [r.slice(0, r.lastIndexOf('@')), r.slice(r.lastIndexOf('@') + 1)];
    await tx.query('DELETE FROM app_provider_accounts WHERE tenant_id = $1 AND user_id = $2 AND provider_type = $3 AND org_key = $4', [
      tenantId,
      userId,
      type,
      org,
    ]);
  }
  for (const d of desired.filter((x) => added.includes(`${x.providerType}@${x.orgKey}`))) {
    await tx.query('INSERT INTO app_provider_accounts (tenant_id, user_id, provider_type, org_key) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
      tenantId,
      userId,
      d.providerType,
      d.orgKey,
    ]);
  }
  return { added, removed };
}

export interface AccessSettingsChange {
  roleChanged: boolean;
  tagsChanged: boolean;
  changedFields: string[];
  settingsAdded: Partial<Record<SettingKind, string[]>>;
  settingsRemoved: Partial<Record<SettingKind, string[]>>;
}

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
  const rows = (
    await tx.query<{ kind: SettingKind; value: string }>('SELECT kind, value FROM app_user_settings WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId])
  ).rows;
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
  return { roleChanged, tagsChanged, changedFields, settingsAdded, settingsRemoved };
}

export async function setStatus(tx: Queryable, tenantId: string, userId: string, status: AppUserStatus, loginEnabled: boolean): Promise<boolean> {
  const r = await tx.query(
    `UPDATE app_users SET status = $3, login_enabled = $4, updated_at = now(), terminated_at = CASE WHEN $3 = 'terminated' THEN now() ELSE terminated_at END
     WHERE tenant_id = $1 AND user_id = $2 AND (status <> $3 OR login_enabled <> $4)`,
    [tenantId, userId, status, loginEnabled],
  );
  return r.rowCount > 0;
}

/**
 * What the user had, in the shape of the scimflow SCIM extension, so a re-hire can be given
 * the same entitlements (see rehireSources).
 */
export async function snapshotEntitlements(tx: Queryable, tenantId: string, userId: string): Promise<Record<string, unknown>> {
  const user = (
    await tx.query<Record<string, any>>(
      'SELECT client_key, case_manager, security_role, employee_type, allow_grid_export, receives_documentation FROM app_users WHERE tenant_id = $1 AND user_id = $2',
      [tenantId, userId],
    )
  ).rows[0];
  const memberships = (
    await tx.query<{ org_key: string; kind: string; role: string | null }>(
      'SELECT org_key, kind, role FROM app_memberships WHERE tenant_id = $1 AND user_id = $2',
      [tenantId, userId],
    )
  ).rows;
  const providers = (
    await tx.query<{ provider_type: string; org_key: string }>(
      'SELECT provider_type, org_key FROM app_provider_accounts WHERE tenant_id = $1 AND user_id = $2',
      [tenantId, userId],
    )
  ).rows;
  const settings = (
    await tx.query<{ kind: SettingKind; value: string }>('SELECT kind, value FROM app_user_settings WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId])
  ).rows;
  const of = (kind: SettingKind) => settings.filter((x) => x.kind === kind).map((x) => x.value);
  const byType = new Map<string, string[]>();
  for (const p of providers) byType.set(p.provider_type, [...(byType.get(p.provider_type) ?? []), p.org_key]);
  return {
    ...(user?.client_key ? { client: user.client_key } : {}),
    organisations: memberships.filter((m) => m.kind !== 'extra').map((m) => ({ value: m.org_key, role: m.role, primary: m.kind === 'primary' })),
    extraClientAccess: memberships.filter((m) => m.kind === 'extra').map((m) => m.org_key),
    caseManager: user?.case_manager ?? false,
    providerAccounts: [...byType].map(([type, organisations]) => ({ type, organisations })),
    ...(user?.security_role ? { securityRole: user.security_role } : {}),
    ...(user?.employee_type ? { employeeType: user.employee_type } : {}),
    allowGridExport: user?.allow_grid_export ?? false,
    receivesDocumentation: user?.receives_documentation ?? false,
    employeeAreas: of('employeeArea'),
    biGroups: of('biGroup'),
    teams: of('team'),
    facilities: of('facility'),
    emailNotifications: of('emailNotification'),
    systemNotifications: of('systemNotification'),
    toastrNotifications: of('toastrNotification'),
  };
}

/** Termination: every entitlement ended, the user row kept for audit. */
export async function releaseEntitlements(
  tx: Queryable,
  tenantId: string,
  userId: string,
): Promise<{ licences: number; memberships: number; invitations: number }> {
  const snapshot = await snapshotEntitlements(tx, tenantId, userId);
  await tx.query('UPDATE app_users SET entitlements_snapshot = $3::jsonb WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId, JSON.stringify(snapshot)]);
  const licences = await tx.query('UPDATE app_licences SET released_at = now() WHERE tenant_id = $1 AND user_id = $2 AND released_at IS NULL', [
    tenantId,
    userId,
  ]);
  const memberships = await tx.query('DELETE FROM app_memberships WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId]);
  await tx.query('DELETE FROM app_provider_accounts WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId]);
  await tx.query('DELETE FROM app_user_settings WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId]);
  const invitations = await revokeInvitations(tx, tenantId, userId);
  return { licences: licences.rowCount, memberships: memberships.rowCount, invitations };
}

export async function revokeInvitations(tx: Queryable, tenantId: string, userId: string): Promise<number> {
  return (
    await tx.query(`UPDATE invitations SET status = 'revoked', revoked_at = now() WHERE tenant_id = $1 AND user_id = $2 AND status IN ('pending', 'sent')`, [
      tenantId,
      userId,
    ])
  ).rowCount;
}

export interface AuditEntry {
  tenantId: string;
  userId: string | null;
  action: string;
  detail?: Record<string, unknown>;
  requestId?: string | null;
  workflowId?: string | null;
  runId?: string | null;
  step?: string | null;
}

export async function appendAudit(tx: Queryable, e: AuditEntry): Promise<void> {
  await tx.query(
    'INSERT INTO audit_log (tenant_id, user_id, action, detail, request_id, workflow_id, run_id, step) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)',
    [e.tenantId, e.userId, e.action, JSON.stringify(e.detail ?? {}), e.requestId ?? null, e.workflowId ?? null, e.runId ?? null, e.step ?? null],
  );
}

export async function recordProvisioningState(
  db: Queryable,
  s: { tenantId: string; userId: string; state: string; waitingFor: string | null; waitingUntil: number | null; lastError: string | null; workflowId: string },
): Promise<void> {
  await db.query(
    `INSERT INTO provisioning_states (tenant_id, user_id, state, waiting_for, waiting_until, last_error, workflow_id, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now())
     ON CONFLICT (tenant_id, user_id) DO UPDATE SET state = EXCLUDED.state, waiting_for = EXCLUDED.waiting_for, waiting_until = EXCLUDED.waiting_until,
       last_error = EXCLUDED.last_error, workflow_id = EXCLUDED.workflow_id, updated_at = now()`,
    [s.tenantId, s.userId, s.state, s.waitingFor, s.waitingUntil === null ? null : new Date(s.waitingUntil), s.lastError, s.workflowId],
  );
}

export async function getSecret(db: Queryable, name: string, generate: () => string): Promise<string> {
  await db.query('INSERT INTO app_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, generate()]);
  return (await db.query<{ value: string }>('SELECT value FROM app_secrets WHERE name = $1', [name])).rows[0].value;
}

/**
 * The re-hires' earlier selves: for each user with an externalId, the entitlements of the latest
 * other user with that externalId terminated within `retentionMs`.
 */
export async function rehireSources(
  db: Queryable,
  tenantId: string,
  users: { userId: string; externalId: string }[],
  retentionMs: number,
): Promise<Map<string, { userId: string; snapshot: Record<string, unknown> }>> {
  const result = new Map<string, { userId: string; snapshot: Record<string, unknown> }>();
  if (users.length === 0) return result;
  const rows = (
    await db.query<{ user_id: string; external_id: string; entitlements_snapshot: Record<string, unknown> }>(
      `SELECT user_id::text AS user_id, external_id, entitlements_snapshot FROM app_users
       WHERE tenant_id = $1 AND external_id = ANY($2::text[]) AND status = 'terminated' AND entitlements_snapshot IS NOT NULL
         AND terminated_at > now() - ($3::bigint * interval '1 millisecond')
       ORDER BY terminated_at DESC`,
      [tenantId, [...new Set(users.map((u) => u.externalId))], retentionMs],
    )
  ).rows;
  for (const u of users) {
    const source = rows.find((r) => r.external_id === u.externalId && r.user_id !== u.userId);
    if (source) result.set(u.userId, { userId: source.user_id, snapshot: source.entitlements_snapshot });
  }
  return result;
}

/** Users drift repair may compare: provisioned (an app_users row), not terminated, with their workflow's visible state. */
export async function reconcileCandidates(
  db: Queryable,
  tenantId: string,
  afterId: string | null,
  limit: number,
): Promise<{ id: string; doc: Record<string, unknown>; version: number; status: AppUserStatus; state: string | null }[]> {
  return (
    await db.query<{ id: string; doc: Record<string, unknown>; version: number; status: AppUserStatus; state: string | null }>(
      `SELECT u.id::text AS id, u.doc, u.version, a.status, p.state
       FROM scim_users u
       JOIN app_users a ON a.tenant_id = u.tenant_id AND a.user_id = u.id
       LEFT JOIN provisioning_states p ON p.tenant_id = u.tenant_id AND p.user_id = u.id
       WHERE u.tenant_id = $1 AND ($2::uuid IS NULL OR u.id > $2::uuid) AND a.status <> 'terminated'
       ORDER BY u.id LIMIT $3`,
      [tenantId, afterId, limit],
    )
  ).rows;
}

/** What the application directory holds for each of `userIds` (those with an app_users row), in the comparable shape of directory-diff. */
export async function observedStates(db: Queryable, tenantId: string, userIds: string[]): Promise<Map<string, DirectoryState>> {
  const result = new Map<string, DirectoryState>();
  if (userIds.length === 0) return result;
  const params = [tenantId, userIds];
  const users = (
    await db.query<Record<string, any>>(
      `SELECT user_id::text AS user_id, external_id, first_name, last_name, title, email, primary_phone, alternate_phones, client_key, case_manager,
              security_role, employee_type, allow_grid_export, receives_documentation
       FROM app_users WHERE tenant_id = $1 AND user_id = ANY($2::uuid[])`,
      params,
    )
  ).rows;
  for (const u of users) {
    result.set(u.user_id, {
      profile: {
        externalId: u.external_id,
        firstName: u.first_name,
        lastName: u.last_name,
        title: u.title,
        email: u.email,
        primaryPhone: u.primary_phone,
        alternatePhones: u.alternate_phones ?? [],
      },
      clientKey: u.client_key,
      caseManager: u.case_manager,
      memberships: [],
      licences: [],
      providerAccounts: [],
      securityRole: u.security_role,
      employeeType: u.employee_type,
      allowGridExport: u.allow_grid_export,
      receivesDocumentation: u.receives_documentation,
      settings: emptySettings(),
    });
  }
  const memberships = await db.query<{ user_id: string; org_key: string; kind: DesiredMembership['kind']; role: string | null }>(
    'SELECT user_id::text AS user_id, org_key, kind, role FROM app_memberships WHERE tenant_id = $1 AND user_id = ANY($2::uuid[])',
    params,
  );
  for (const m of memberships.rows) result.get(m.user_id)?.memberships.push(membershipKey({ orgKey: m.org_key, kind: m.kind, role: m.role }));
  const licences = await db.query<{ user_id: string; org_key: string; licence_level: string; mobile_licence: string | null }>(
    'SELECT user_id::text AS user_id, org_key, licence_level, mobile_licence FROM app_licences WHERE tenant_id = $1 AND user_id = ANY($2::uuid[]) AND released_at IS NULL',
    params,
  );
  for (const l of licences.rows)
    result.get(l.user_id)?.licences.push(licenceKey({ orgKey: l.org_key, licenceLevel: l.licence_level, mobileLicence: l.mobile_licence }));
  const providers = await db.query<{ user_id: string; provider_type: string; org_key: string }>(
    'SELECT user_id::text AS user_id, provider_type, org_key FROM app_provider_accounts WHERE tenant_id = $1 AND user_id = ANY($2::uuid[])',
    params,
  );
  for (const p of providers.rows) result.get(p.user_id)?.providerAccounts.push(providerKey({ providerType: p.provider_type, orgKey: p.org_key }));
  const settings = await db.query<{ user_id: string; kind: SettingKind; value: string }>(
    'SELECT user_id::text AS user_id, kind, value FROM app_user_settings WHERE tenant_id = $1 AND user_id = ANY($2::uuid[])',
    params,
  );
  for (const s of settings.rows) result.get(s.user_id)?.settings[s.kind].push(s.value);
  for (const state of result.values()) {
    state.memberships.sort();
    state.licences.sort();
    state.providerAccounts.sort();
    for (const kind of SETTING_KINDS) state.settings[kind].sort();
  }
  return result;
}
