/**
 * Admin console sessions. The session id is random (256 bits), given to the browser once as an
 * HttpOnly cookie and stored as a SHA-256 hash. A session is valid while it has not expired, has
 * been used within the idle limit, and its admin token is neither revoked nor expired: revoking
 * the token (or its expiry) ends every session made with it at the next request.
 */
import crypto from 'node:crypto';
import type { Queryable } from '../db';
import { hashToken } from './tokens';

export interface ConsoleSession {
  idHash: string;
  tenantId: string;
  tokenId: string;
  tokenName: string;
  adminRole: string | null;
  csrfToken: string;
  expiresAt: Date;
}

export async function createConsoleSession(
  db: Queryable,
  s: { tenantId: string; tokenId: string; lifetimeMs: number },
): Promise<{ sessionId: string; csrfToken: string; expiresAt: Date }> {
  const sessionId = crypto.randomBytes(32).toString('base64url');
  const csrfToken = crypto.randomBytes(32).toString('base64url');
  const row = (
    await db.query<{ expires_at: Date }>(
      `INSERT INTO console_sessions (id_hash, tenant_id, token_id, csrf_token, expires_at)
       VALUES ($1, $2, $3, $4, now() + ($5::bigint * interval '1 millisecond')) RETURNING expires_at`,
      [hashToken(sessionId), s.tenantId, s.tokenId, csrfToken, s.lifetimeMs],
    )
  ).rows[0];
  return { sessionId, csrfToken, expiresAt: row.expires_at };
}

/**
 * The live session for a cookie value, or undefined (unknown, expired, idle longer than
 * `idleMs`, or its token revoked or expired). Records the use at most once a minute.
 */
export async function findConsoleSession(db: Queryable, sessionId: string, idleMs: number): Promise<ConsoleSession | undefined> {
  const r = (
    await db.query<Record<string, any>>(
      `SELECT s.id_hash, s.tenant_id, s.token_id::text AS token_id, s.csrf_token, s.expires_at, t.name, t.admin_role,
              s.last_seen_at < now() - interval '1 minute' AS stale
       FROM console_sessions s JOIN scim_tokens t ON t.id = s.token_id
       WHERE s.id_hash = $1 AND s.expires_at > now() AND s.last_seen_at > now() - ($2::bigint * interval '1 millisecond')
         AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now()) AND t.kind = 'admin' AND t.tenant_id = s.tenant_id`,
      [hashToken(sessionId), idleMs],
    )
  ).rows[0];
  if (!r) return undefined;
  if (r.stale) await db.query('UPDATE console_sessions SET last_seen_at = now() WHERE id_hash = $1', [r.id_hash]);
  return {
    idHash: r.id_hash,
    tenantId: r.tenant_id,
    tokenId: r.token_id,
    tokenName: r.name,
    adminRole: r.admin_role,
    csrfToken: r.csrf_token,
    expiresAt: r.expires_at,
  };
}

export async function deleteConsoleSession(db: Queryable, sessionId: string): Promise<void> {
  await db.query('DELETE FROM console_sessions WHERE id_hash = $1', [hashToken(sessionId)]);
}

/** Removes expired sessions (at most `limit`); called now and then by the console. */
export async function deleteExpiredConsoleSessions(db: Queryable, limit = 1000): Promise<number> {
  return (
    await db.query(
      "DELETE FROM console_sessions WHERE id_hash IN (SELECT id_hash FROM console_sessions WHERE expires_at < now() - interval '1 day' LIMIT $1)",
      [limit],
    )
  ).rowCount;
}
