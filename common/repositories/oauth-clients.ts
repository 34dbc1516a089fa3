/**
 * OAuth 2.0 clients (RFC 6749 §4.4, client credentials) and the access tokens issued to them
 * (migration 023). A client belongs to one tenant; its id is a UUID, its secret random (256
 * bits), shown once at creation or rotation, stored as a SHA-256 hash (hashToken, as the bearer
 * tokens) and compared in constant time. Access tokens are random too, stored as hashes with
 * their expiry on the database clock. Secrets and tokens are never logged.
 */
import crypto from 'node:crypto';
import { isUuid } from '../../domain/uuid';
import type { Queryable } from '../db';
import { hashToken } from './tokens';

/** Prefix of client secrets: tells them from bearer tokens (sfs_, sfa_, sfc_) and access tokens. */
export const CLIENT_SECRET_PREFIX = 'sfo_';
/** Prefix of access tokens: the SCIM API looks them up in oauth_access_tokens, never in scim_tokens. */
export const ACCESS_TOKEN_PREFIX = 'sft_';

/** Where the SCIM server answers token requests (scim-server/oauth-token.ts). */
export const OAUTH_TOKEN_PATH = '/oauth/token';

/** The token endpoint of a server whose public origin is `publicUrl` (TOKEN_URL of the CLI, tokenUrl of the admin API). */
export function tokenUrlOf(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${OAUTH_TOKEN_PATH}`;
}

/** Expired access tokens are kept this long (a late request is told "expired"), then deleted. */
const EXPIRED_KEPT = "interval '1 day'";
/** Expired access tokens deleted per issuance, at most. */
const CLEANUP_BATCH = 100;

export interface OAuthClientInfo {
  clientId: string;
  tenantId: string;
  name: string;
  /** The first characters of the current secret (sfo_ and 4 more), to tell secrets apart; never the secret. */
  secretPrefix: string;
  createdAt: Date;
  /** When the secret was last replaced; null: never. */
  secretRotatedAt: Date | null;
  revokedAt: Date | null;
  /** The last time it was given an access token or one of its tokens was used (at most once a minute per server). */
  lastUsedAt: Date | null;
  /** Its access tokens that have not expired (none once it is revoked: they are refused). */
  liveAccessTokens: number;
}

function newSecret(): string {
  return `${CLIENT_SECRET_PREFIX}${crypto.randomBytes(32).toString('base64url')}`;
}

/** Whether `token` has the shape of an access token (its prefix); says nothing of whether it is valid. */
export function isAccessToken(token: string): boolean {
  return token.startsWith(ACCESS_TOKEN_PREFIX);
}

/** A new client of `tenantId`; the secret is in the answer only. */
export async function createOAuthClient(db: Queryable, tenantId: string, name: string): Promise<{ clientId: string; clientSecret: string; createdAt: Date }> {
  const clientId = crypto.randomUUID();
  const clientSecret = newSecret();
  const row = await db.query<{ created_at: Date }>(
    `INSERT INTO oauth_clients (client_id, tenant_id, name, secret_hash, secret_prefix) VALUES ($1, $2, $3, $4, $5) RETURNING created_at`,
    [clientId, tenantId, name, hashToken(clientSecret), clientSecret.slice(0, 8)],
  );
  return { clientId, clientSecret, createdAt: row.rows[0].created_at };
}

/**
 * A new secret for a live client (of `tenantId`, when given); the old one stops working at once.
 * Access tokens issued before keep working until they expire, so the IdP keeps provisioning while
 * its admin enters the new secret; revoke the client to end them too. Undefined: no such live client.
 */
export async function rotateOAuthClientSecret(
  db: Queryable,
  clientId: string,
  tenantId?: string,
): Promise<{ clientId: string; clientSecret: string } | undefined> {
  if (!isUuid(clientId)) return undefined;
  const clientSecret = newSecret();
  const result = await db.query(
    `UPDATE oauth_clients SET secret_hash = $2, secret_prefix = $3, secret_rotated_at = now()
      WHERE client_id = $1::uuid AND revoked_at IS NULL AND ($4::text IS NULL OR tenant_id = $4)`,
    [clientId, hashToken(clientSecret), clientSecret.slice(0, 8), tenantId ?? null],
  );
  return result.rowCount > 0 ? { clientId: clientId.toLowerCase(), clientSecret } : undefined;
}

/** Revokes a live client (of `tenantId`, when given): no new access token, and the ones issued are refused from the next request on. */
export async function revokeOAuthClient(db: Queryable, clientId: string, tenantId?: string): Promise<boolean> {
  if (!isUuid(clientId)) return false;
  const result = await db.query(
    'UPDATE oauth_clients SET revoked_at = now() WHERE client_id = $1::uuid AND revoked_at IS NULL AND ($2::text IS NULL OR tenant_id = $2)',
    [clientId, tenantId ?? null],
  );
  return result.rowCount > 0;
}

export async function listOAuthClients(db: Queryable, tenantId?: string): Promise<OAuthClientInfo[]> {
  const rows = (
    await db.query<Record<string, any>>(
      `SELECT c.client_id, c.tenant_id, c.name, c.secret_prefix, c.created_at, c.secret_rotated_at, c.revoked_at, c.last_used_at,
              CASE WHEN c.revoked_at IS NULL
                   THEN (SELECT count(*)::int FROM oauth_access_tokens a WHERE a.client_id = c.client_id AND a.expires_at > now())
                   ELSE 0 END AS live_access_tokens
         FROM oauth_clients c
        WHERE ($1::text IS NULL OR c.tenant_id = $1)
        ORDER BY c.created_at, c.client_id`,
      [tenantId ?? null],
    )
  ).rows;
  return rows.map((r) => ({
    clientId: r.client_id,
    tenantId: r.tenant_id,
    name: r.name,
    secretPrefix: r.secret_prefix,
    createdAt: r.created_at,
    secretRotatedAt: r.secret_rotated_at,
    revokedAt: r.revoked_at,
    lastUsedAt: r.last_used_at,
    liveAccessTokens: r.live_access_tokens,
  }));
}

/**
 * The live client `clientId` if `secret` is its current secret; undefined for an unknown or
 * revoked client and a wrong secret. The comparison of the hashes is constant-time.
 */
export async function verifyClientSecret(db: Queryable, clientId: string, secret: string): Promise<{ clientId: string; tenantId: string } | undefined> {
  if (!isUuid(clientId)) return undefined;
  const row = (
    await db.query<{ client_id: string; tenant_id: string; secret_hash: string }>(
      'SELECT client_id, tenant_id, secret_hash FROM oauth_clients WHERE client_id = $1::uuid AND revoked_at IS NULL',
      [clientId],
    )
  ).rows[0];
  const hash = hashToken(secret);
  if (!row || !crypto.timingSafeEqual(Buffer.from(row.secret_hash, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
  return { clientId: row.client_id, tenantId: row.tenant_id };
}

/**
 * A new access token for the live client `clientId`, valid `ttlMs` from now (database clock);
 * undefined if the client was revoked meanwhile. One statement: the token, the client's
 * last_used_at, and up to 100 access tokens expired for over a day deleted (so one notification).
 */
export async function issueAccessToken(
  db: Queryable,
  clientId: string,
  ttlMs: number,
): Promise<{ accessToken: string; hash: string; tenantId: string; expiresAt: Date } | undefined> {
  const accessToken = `${ACCESS_TOKEN_PREFIX}${crypto.randomBytes(32).toString('base64url')}`;
  const hash = hashToken(accessToken);
  const row = (
    await db.query<{ tenant_id: string; expires_at: Date }>(
      `WITH client AS (
         UPDATE oauth_clients SET last_used_at = now() WHERE client_id = $2::uuid AND revoked_at IS NULL RETURNING client_id, tenant_id
       ), old AS (
         DELETE FROM oauth_access_tokens WHERE token_hash IN (
           SELECT token_hash FROM oauth_access_tokens WHERE expires_at < now() - ${EXPIRED_KEPT} LIMIT ${CLEANUP_BATCH} FOR UPDATE SKIP LOCKED)
       )
       INSERT INTO oauth_access_tokens (token_hash, client_id, tenant_id, expires_at)
       SELECT $1, client_id, tenant_id, now() + $3::bigint * interval '1 millisecond' FROM client
       RETURNING tenant_id, expires_at`,
      [hash, clientId, ttlMs],
    )
  ).rows[0];
  return row ? { accessToken, hash, tenantId: row.tenant_id, expiresAt: new Date(row.expires_at) } : undefined;
}

/**
 * The access token `presented` is, with whether it expired (database clock) and whether its
 * client is revoked; undefined when no such token is stored. One primary-key look-up: the SCIM
 * API makes it on every request with an access token, so a revocation holds from the next one.
 */
export async function verifyAccessToken(
  db: Queryable,
  presented: string,
): Promise<{ clientId: string; tenantId: string; expiresAt: Date; expired: boolean; revoked: boolean } | undefined> {
  const hash = hashToken(presented);
  const row = (
    await db.query<{ token_hash: string; client_id: string; tenant_id: string; expires_at: Date; expired: boolean; revoked: boolean }>(
      `SELECT a.token_hash, a.client_id, a.tenant_id, a.expires_at, a.expires_at <= now() AS expired, c.revoked_at IS NOT NULL AS revoked
         FROM oauth_access_tokens a JOIN oauth_clients c ON c.client_id = a.client_id AND c.tenant_id = a.tenant_id
        WHERE a.token_hash = $1`,
      [hash],
    )
  ).rows[0];
  // The look-up is by hash, so its timing reveals nothing of the token; the final comparison is constant-time too.
  if (!row || !crypto.timingSafeEqual(Buffer.from(row.token_hash, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
  return { clientId: row.client_id, tenantId: row.tenant_id, expiresAt: new Date(row.expires_at), expired: row.expired, revoked: row.revoked };
}

/** Records that the client's access tokens are in use (the SCIM API calls it at most once a minute per client). */
export async function touchOAuthClient(db: Queryable, clientId: string): Promise<void> {
  await db.query('UPDATE oauth_clients SET last_used_at = now() WHERE client_id = $1::uuid', [clientId]);
}
