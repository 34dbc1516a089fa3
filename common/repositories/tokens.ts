/**
 * Bearer tokens. A token is random (256 bits), shown once, stored as a SHA-256 hash,
 * compared in constant time, revocable. Tokens are never logged.
 */
import { isUuid } from '../../domain/uuid';
import crypto from 'node:crypto';
import type { Queryable } from '../db';

export type TokenKind = 'scim' | 'admin';

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
}

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

export async function createToken(
  db: Queryable,
  tenantId: string,
  name: string,
  kind: TokenKind = 'scim',
  adminRole?: string,
): Promise<{ token: string; id: string }> {
  const token = `sf${kind === 'admin' ? 'a' : 's'}_${crypto.randomBytes(32).toString('base64url')}`;
  const id = crypto.randomUUID();
  await db.query('INSERT INTO scim_tokens (id, tenant_id, name, kind, token_hash, prefix, admin_role) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
    id,
    tenantId,
    name,
    kind,
    hashToken(token),
    token.slice(0, 8),
    kind === 'admin' ? (adminRole ?? null) : null,
  ]);
  return { token, id };
}

/** Finds the live token matching `presented`; undefined for unknown or revoked tokens. */
export async function verifyToken(
  db: Queryable,
  presented: string,
): Promise<{ id: string; tenantId: string; kind: TokenKind; adminRole: string | null } | undefined> {
  const hash = hashToken(presented);
  const row = (
    await db.query<{ id: string; tenant_id: string; kind: TokenKind; token_hash: string; admin_role: string | null }>(
      'SELECT id, tenant_id, kind, token_hash, admin_role FROM scim_tokens WHERE token_hash = $1 AND revoked_at IS NULL',
      [hash],
    )
  ).rows[0];
  // The lookup is by hash, so its timing reveals nothing of the token; the final comparison is constant-time too.
  if (!row || !crypto.timingSafeEqual(Buffer.from(row.token_hash, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
  return { id: row.id, tenantId: row.tenant_id, kind: row.kind, adminRole: row.admin_role };
}

export async function touchToken(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE scim_tokens SET last_used_at = now() WHERE id = $1', [id]);
}

export async function listTokens(db: Queryable, tenantId?: string): Promise<TokenInfo[]> {
  const rows = (
    await db.query<Record<string, never>>(
      `SELECT id, tenant_id, name, kind, prefix, admin_role, created_at, revoked_at, last_used_at FROM scim_tokens
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
  }));
}

export async function revokeToken(db: Queryable, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const result = await db.query('UPDATE scim_tokens SET revoked_at = now() WHERE id = $1::uuid AND revoked_at IS NULL', [id]);
  return result.rowCount > 0;
}
