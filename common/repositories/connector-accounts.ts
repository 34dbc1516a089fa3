/**
 * What the application a tenant provisions into confirmed for each user (connector_accounts,
 * migration 020): its account id, the digest of each part it accepted, login as last set, and
 * the last refusal or outage. Written by the activities after each connector call, never in a
 * transaction that spans one.
 */
import type { Queryable } from '../db';

export type ConnectorKind = 'directory' | 'http' | 'scim';
export type ConnectorErrorKind = 'permanent' | 'conflict' | 'transient';

export interface ConnectorAccount {
  connectorKind: ConnectorKind;
  appId: string | null;
  pushedVersion: number | null;
  pushedDigest: string | null;
  /** When the account scimflow sends last changed (a repeat of the same account keeps it). */
  pushedAt: Date | null;
  /** Part → digest of what the application accepted (connectors/account-state.ts). */
  confirmedParts: Record<string, string>;
  confirmedAt: Date | null;
  /** Login as the application last confirmed it; null: never set. */
  loginEnabled: boolean | null;
  terminatedAt: Date | null;
  lastError: string | null;
  lastErrorKind: ConnectorErrorKind | null;
  lastErrorAt: Date | null;
}

const COLUMNS = `c.connector_kind, c.app_id, c.pushed_version, c.pushed_digest, c.pushed_at, c.confirmed_parts, c.confirmed_at, c.login_enabled, c.terminated_at,
  c.last_error, c.last_error_kind, c.last_error_at`;

function accountOf(r: Record<string, any>): ConnectorAccount | null {
  if (!r.connector_kind) return null;
  return {
    connectorKind: r.connector_kind,
    appId: r.app_id,
    pushedVersion: r.pushed_version,
    pushedDigest: r.pushed_digest,
    pushedAt: r.pushed_at,
    confirmedParts: r.confirmed_parts ?? {},
    confirmedAt: r.confirmed_at,
    loginEnabled: r.login_enabled,
    terminatedAt: r.terminated_at,
    lastError: r.last_error,
    lastErrorKind: r.last_error_kind,
    lastErrorAt: r.last_error_at,
  };
}

export async function connectorAccountOf(db: Queryable, tenantId: string, userId: string): Promise<ConnectorAccount | null> {
  const r = (
    await db.query<Record<string, any>>(`SELECT ${COLUMNS} FROM connector_accounts c WHERE c.tenant_id = $1 AND c.user_id = $2::uuid`, [tenantId, userId])
  ).rows[0];
  return r ? accountOf(r) : null;
}

/**
 * A user's ledger record (whether it exists, its status and hold) with its connector row and its
 * SCIM version, in one statement: the lifecycle activities read it where they read the record
 * alone before, so the default connector costs them no extra round trip.
 */
export interface LedgerWithConnector {
  exists: boolean;
  status: string | null;
  holdReason: string | null;
  /** The SCIM resource's version (0 when it is gone): the idempotency key's version. */
  scimVersion: number;
  account: ConnectorAccount | null;
}

export async function ledgerWithConnector(db: Queryable, tenantId: string, userId: string): Promise<LedgerWithConnector> {
  const r = (
    await db.query<Record<string, any>>(
      `SELECT a.status, a.hold_reason, COALESCE(u.version, 0)::int AS scim_version, ${COLUMNS}
       FROM app_users a
       LEFT JOIN connector_accounts c ON c.tenant_id = a.tenant_id AND c.user_id = a.user_id
       LEFT JOIN scim_users u ON u.tenant_id = a.tenant_id AND u.id = a.user_id
       WHERE a.tenant_id = $1 AND a.user_id = $2::uuid`,
      [tenantId, userId],
    )
  ).rows[0];
  if (!r) return { exists: false, status: null, holdReason: null, scimVersion: 0, account: null };
  return { exists: true, status: r.status, holdReason: r.hold_reason, scimVersion: r.scim_version, account: accountOf(r) };
}

export interface ConnectorAccountWrite {
  tenantId: string;
  userId: string;
  connectorKind: ConnectorKind;
  appId: string | null;
  pushedVersion: number | null;
  pushedDigest: string | null;
  confirmedParts: Record<string, string>;
  /** Something was confirmed by this write (confirmed_at is stamped). */
  confirmed: boolean;
  loginEnabled: boolean | null;
  terminated: boolean;
  error: { kind: ConnectorErrorKind; message: string } | null;
}

/** The row as the caller computed it (from the one it read and the calls' outcome). */
export async function saveConnectorAccount(tx: Queryable, w: ConnectorAccountWrite): Promise<void> {
  await tx.query(
    `INSERT INTO connector_accounts AS c (tenant_id, user_id, connector_kind, app_id, pushed_version, pushed_digest, pushed_at, confirmed_parts, confirmed_at,
       login_enabled, terminated_at, last_error, last_error_kind, last_error_at, updated_at)
     VALUES ($1, $2::uuid, $3, $4, $5, $6, CASE WHEN $6::text IS NULL THEN NULL ELSE now() END, $7::jsonb, CASE WHEN $8 THEN now() END,
       $9, CASE WHEN $10 THEN now() END, $11, $12, CASE WHEN $11::text IS NULL THEN NULL ELSE now() END, now())
     ON CONFLICT (tenant_id, user_id) DO UPDATE SET
       connector_kind = EXCLUDED.connector_kind, app_id = EXCLUDED.app_id,
       pushed_version = EXCLUDED.pushed_version, pushed_digest = EXCLUDED.pushed_digest,
       pushed_at = CASE WHEN EXCLUDED.pushed_digest IS DISTINCT FROM c.pushed_digest THEN now() ELSE c.pushed_at END,
       confirmed_parts = EXCLUDED.confirmed_parts, confirmed_at = COALESCE(EXCLUDED.confirmed_at, c.confirmed_at),
       login_enabled = EXCLUDED.login_enabled,
       terminated_at = CASE WHEN $10 THEN COALESCE(c.terminated_at, now()) ELSE NULL END,
       last_error = EXCLUDED.last_error, last_error_kind = EXCLUDED.last_error_kind, last_error_at = EXCLUDED.last_error_at, updated_at = now()`,
    [
      w.tenantId,
      w.userId,
      w.connectorKind,
      w.appId,
      w.pushedVersion,
      w.pushedDigest,
      JSON.stringify(w.confirmedParts),
      w.confirmed,
      w.loginEnabled,
      w.terminated,
      w.error?.message ?? null,
      w.error?.kind ?? null,
    ],
  );
}

/** A tenant's connector health from its users' rows: how many, the last confirmation, the users whose last call failed (newest first). */
export interface ConnectorAccountsSummary {
  accounts: number;
  lastConfirmedAt: Date | null;
  failing: number;
  recentErrors: { userId: string; kind: ConnectorErrorKind; message: string; at: Date }[];
}

export async function connectorAccountsSummary(db: Queryable, tenantId: string, limit = 10): Promise<ConnectorAccountsSummary> {
  const totals = (
    await db.query<{ accounts: number; last_confirmed_at: Date | null; failing: number }>(
      `SELECT count(*)::int AS accounts, max(confirmed_at) AS last_confirmed_at, count(*) FILTER (WHERE last_error IS NOT NULL)::int AS failing
       FROM connector_accounts WHERE tenant_id = $1`,
      [tenantId],
    )
  ).rows[0];
  const errors = (
    await db.query<{ user_id: string; last_error_kind: ConnectorErrorKind; last_error: string; last_error_at: Date }>(
      `SELECT user_id::text AS user_id, last_error_kind, last_error, last_error_at FROM connector_accounts
       WHERE tenant_id = $1 AND last_error IS NOT NULL ORDER BY last_error_at DESC LIMIT $2`,
      [tenantId, limit],
    )
  ).rows;
  return {
    accounts: totals?.accounts ?? 0,
    lastConfirmedAt: totals?.last_confirmed_at ?? null,
    failing: totals?.failing ?? 0,
    recentErrors: errors.map((e) => ({ userId: e.user_id, kind: e.last_error_kind, message: e.last_error, at: e.last_error_at })),
  };
}

/** The rows of those of `userIds` that have one, in one statement (drift repair reads a page of them). */
export async function connectorAccountsOf(db: Queryable, tenantId: string, userIds: string[]): Promise<Map<string, ConnectorAccount>> {
  const result = new Map<string, ConnectorAccount>();
  if (userIds.length === 0) return result;
  const rows = (
    await db.query<Record<string, any>>(
      `SELECT c.user_id::text AS user_id, ${COLUMNS} FROM connector_accounts c WHERE c.tenant_id = $1 AND c.user_id = ANY($2::uuid[])`,
      [tenantId, userIds],
    )
  ).rows;
  for (const r of rows) {
    const account = accountOf(r);
    if (account) result.set(r.user_id, account);
  }
  return result;
}

/**
 * What the application no longer holds as confirmed (drift repair read it back different): the
 * digests of `parts` are dropped, login (when `login`) is taken as never set, and (when
 * `account`: the application has no account any more) the account id too, so the next
 * convergence of the user sends them again (activities/connector-sync.ts sends what is not
 * confirmed). Only a row still of `connectorKind` and the account `appId` is changed.
 */
export async function unconfirmParts(
  tx: Queryable,
  w: { tenantId: string; userId: string; connectorKind: ConnectorKind; appId: string; parts: string[]; login: boolean; account: boolean },
): Promise<boolean> {
  const r = await tx.query(
    `UPDATE connector_accounts SET
       confirmed_parts = CASE WHEN $6 THEN '{}'::jsonb ELSE confirmed_parts - $5::text[] END,
       login_enabled = CASE WHEN $6 OR $7 THEN NULL ELSE login_enabled END,
       app_id = CASE WHEN $6 THEN NULL ELSE app_id END,
       updated_at = now()
     WHERE tenant_id = $1 AND user_id = $2::uuid AND connector_kind = $3 AND app_id = $4 AND terminated_at IS NULL`,
    [w.tenantId, w.userId, w.connectorKind, w.appId, w.parts, w.account, w.login],
  );
  return (r.rowCount ?? 0) > 0;
}

/** A user's latest `drift.detected` that compared the application (activities/reconcile.ts): its detail and time. */
export interface ApplicationDriftEntry {
  detail: { parts?: string[]; notKept?: boolean };
  at: Date;
}

/** The latest application drift entry of each of `userIds` that has one (the audit log's (tenant, user, id) index). */
export async function latestApplicationDrift(db: Queryable, tenantId: string, userIds: string[]): Promise<Map<string, ApplicationDriftEntry>> {
  const result = new Map<string, ApplicationDriftEntry>();
  if (userIds.length === 0) return result;
  const rows = (
    await db.query<{ user_id: string; detail: ApplicationDriftEntry['detail']; created_at: Date }>(
      `SELECT DISTINCT ON (user_id) user_id::text AS user_id, detail, created_at FROM audit_log
       WHERE tenant_id = $1 AND user_id = ANY($2::uuid[]) AND action = 'drift.detected' AND detail->>'source' = 'application'
       ORDER BY user_id, id DESC`,
      [tenantId, userIds],
    )
  ).rows;
  for (const r of rows) result.set(r.user_id, { detail: r.detail ?? {}, at: r.created_at });
  return result;
}
