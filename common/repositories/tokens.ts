/**
 * Bearer tokens. A token is random (256 bits), shown once, stored as a SHA-256 hash,
 * compared in constant time, revocable. Tokens are never logged.
 */
import { isUuid } from '../../domain/uuid';
import crypto from 'node:crypto';
import type { Queryable } from '../db';

/** scim: a tenant's IdP; admin: the admin API of a tenant; codec: the payload codec endpoint (common/codec/remote-codec.ts), for one tenant's payloads. */
export type TokenKind = 'scim' | 'admin' | 'codec';

/** The admin role that may change users and configuration through the admin API; every other role reads (as in the application, only Super Users create users). */
export const ADMIN_WRITE_ROLE = 'Super User';

export interface TokenInfo {
  id: string;
  tenantId: string;
  name: string;
  kind: TokenKind;
  prefix: string;
  /** Admin tokens: the role (see ADMIN_WRITE_ROLE); null for SCIM tokens and admin tokens made before roles. */
  adminRole: string | null;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  /** When the token stops working; null: it does not expire. */
  expiresAt: Date | null;
}

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

const PREFIX: Record<TokenKind, string> = { scim: 'sfs', admin: 'sfa', codec: 'sfc' };

/** A new token, shown once; with `expiresInMs` it stops working that long from now (on the database clock). */
export async function createToken(
  db: Queryable,
  tenantId: string,
  name: string,
  kind: TokenKind = 'scim',
  adminRole?: string,
  expiresInMs?: number,
): Promise<{ token: string; id: string; expiresAt: Date | null }> {
  const token = `${PREFIX[kind]}_${crypto.randomBytes(32).toString('base64url')}`;
  const id = crypto.randomUUID();
  const row = await db.query<{ expires_at: Date | null }>(
    `INSERT INTO scim_tokens (id, tenant_id, name, kind, token_hash, prefix, admin_role, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $8::bigint IS NULL THEN NULL ELSE now() + $8::bigint * interval '1 millisecond' END)
     RETURNING expires_at`,
    [id, tenantId, name, kind, hashToken(token), token.slice(0, 8), kind === 'admin' ? (adminRole ?? null) : null, expiresInMs ?? null],
  );
  return { token, id, expiresAt: row.rows[0].expires_at };
}

/**
 * Finds the live token matching `presented`; undefined for unknown, revoked and expired tokens.
 * With `includeExpired`, an expired token is returned with its `expiresAt` in the past, for a
 * caller that refuses it and says why.
 */
export async function verifyToken(
  db: Queryable,
  presented: string,
  options: { includeExpired?: boolean } = {},
): Promise<{ id: string; tenantId: string; kind: TokenKind; adminRole: string | null; expiresAt: Date | null } | undefined> {
  const hash = hashToken(presented);
  const row = (
    await db.query<{ id: string; tenant_id: string; kind: TokenKind; token_hash: string; admin_role: string | null; expires_at: Date | null }>(
      'SELECT id, tenant_id, kind, token_hash, admin_role, expires_at FROM scim_tokens WHERE token_hash = $1 AND revoked_at IS NULL',
      [hash],
    )
  ).rows[0];
  // The lookup is by hash, so its timing reveals nothing of the token; the final comparison is constant-time too.
  if (!row || !crypto.timingSafeEqual(Buffer.from(row.token_hash, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
  const expiresAt = row.expires_at ? new Date(row.expires_at) : null;
  if (expiresAt && expiresAt.getTime() <= Date.now() && !options.includeExpired) return undefined;
  return { id: row.id, tenantId: row.tenant_id, kind: row.kind, adminRole: row.admin_role, expiresAt };
}

/**
 * The hashes of the live credentials, newest first, at most `limit`, with when each expires
 * (null: never): the tokens of every kind (not revoked, not expired) and the OAuth credentials
 * (common/repositories/oauth-clients.ts: the secrets of the clients not revoked, their access
 * tokens not expired). They are few: the SCIM server keeps them in memory (common/live-credentials.ts).
 */
export async function liveTokenHashes(db: Queryable, limit: number): Promise<{ hash: string; expiresAt: Date | null }[]> {
  return (
    await db.query<{ token_hash: string; expires_at: Date | null }>(
      `SELECT token_hash, expires_at FROM (
         SELECT token_hash, expires_at, created_at AS at FROM scim_tokens
          WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
         UNION ALL
         SELECT secret_hash, NULL::timestamptz, coalesce(secret_rotated_at, created_at) FROM oauth_clients WHERE revoked_at IS NULL
         UNION ALL
         SELECT a.token_hash, a.expires_at, a.created_at
           FROM oauth_access_tokens a JOIN oauth_clients c ON c.client_id = a.client_id
          WHERE c.revoked_at IS NULL AND a.expires_at > now()
       ) live ORDER BY at DESC LIMIT $1`,
      [limit],
    )
  ).rows.map((r) => ({ hash: r.token_hash, expiresAt: r.expires_at ? new Date(r.expires_at) : null }));
}

/** Live tokens (not revoked) that expire within `withinMs` from now, counted by tenant and kind (scimflow_tokens_expiring_soon). */
export async function expiringTokenCounts(db: Queryable, withinMs: number): Promise<{ tenantId: string; kind: TokenKind; n: number }[]> {
  return (
    await db.query<{ tenant_id: string; kind: TokenKind; n: number }>(
      `SELECT tenant_id, kind, count(*)::int AS n FROM scim_tokens
       WHERE revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at > now() AND expires_at <= now() + $1::bigint * interval '1 millisecond'
       GROUP BY tenant_id, kind ORDER BY tenant_id, kind`,
      [withinMs],
    )
  ).rows.map((r) => ({ tenantId: r.tenant_id, kind: r.kind, n: r.n }));
}

export async function touchToken(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE scim_tokens SET last_used_at = now() WHERE id = $1', [id]);
}

export async function listTokens(db: Queryable, tenantId?: string): Promise<TokenInfo[]> {
  const rows = (
    await db.query<Record<string, never>>(
      `SELECT id, tenant_id, name, kind, prefix, admin_role, created_at, revoked_at, last_used_at, expires_at FROM scim_tokens
       WHERE ($1::text IS NULL OR tenant_id = $1) ORDER BY created_at`,
      [tenantId ?? null],
    )
  ).rows;
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    kind: r.kind,
    prefix: r.prefix,
    adminRole: r.admin_role,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
    lastUsedAt: r.last_used_at,
    expiresAt: r.expires_at,
  }));
}

export async function revokeToken(db: Queryable, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const result = await db.query('UPDATE scim_tokens SET revoked_at = now() WHERE id = $1::uuid AND revoked_at IS NULL', [id]);
  return result.rowCount > 0;
}
