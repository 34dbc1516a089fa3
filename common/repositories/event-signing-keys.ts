/**
 * The keys tenants' Security Event Tokens are signed with (event_signing_keys, migration 021),
 * as stored: the public JWK in clear, the private key as ciphertext. Generation, encryption and
 * signing are events/signing.ts's; nothing here sees a private key in clear.
 */
import type { Queryable } from '../db';

export interface StoredSigningKey {
  kid: string;
  tenantId: string;
  alg: 'ES256';
  publicJwk: Record<string, unknown>;
  encryptionKeyId: string;
  privateKey: Buffer;
  createdAt: Date;
  supersededAt: Date | null;
  retiredAt: Date | null;
}

const COLUMNS = 'kid, tenant_id, alg, public_jwk, encryption_key_id, private_key, created_at, superseded_at, retired_at';

function toKey(r: Record<string, never>): StoredSigningKey {
  return {
    kid: r.kid,
    tenantId: r.tenant_id,
    alg: r.alg,
    publicJwk: r.public_jwk,
    encryptionKeyId: r.encryption_key_id,
    privateKey: r.private_key,
    createdAt: r.created_at,
    supersededAt: r.superseded_at,
    retiredAt: r.retired_at,
  };
}

/** The key that signs the tenant's SETs now: the newest neither superseded nor retired. */
export async function currentSigningKey(db: Queryable, tenantId: string): Promise<StoredSigningKey | undefined> {
  const r = (
    await db.query<Record<string, never>>(
      `SELECT ${COLUMNS} FROM event_signing_keys WHERE tenant_id = $1 AND superseded_at IS NULL AND retired_at IS NULL ORDER BY created_at DESC LIMIT 1`,
      [tenantId],
    )
  ).rows[0];
  return r ? toKey(r) : undefined;
}

/** Every key of the tenant, newest first (retired ones included). */
export async function signingKeysOf(db: Queryable, tenantId: string): Promise<StoredSigningKey[]> {
  return (
    await db.query<Record<string, never>>(`SELECT ${COLUMNS} FROM event_signing_keys WHERE tenant_id = $1 ORDER BY created_at DESC`, [tenantId])
  ).rows.map(toKey);
}

/** The public JWKs of the tenant's keys not retired (its JWKS), newest first. */
export async function publishedSigningKeys(db: Queryable, tenantId: string): Promise<Record<string, unknown>[]> {
  return (
    await db.query<{ public_jwk: Record<string, unknown> }>(
      'SELECT public_jwk FROM event_signing_keys WHERE tenant_id = $1 AND retired_at IS NULL ORDER BY created_at DESC',
      [tenantId],
    )
  ).rows.map((r) => r.public_jwk);
}

/**
 * Inserts `key` unless the tenant already has a current key, and returns the current key; in
 * the caller's transaction, serialised per tenant (two processes signing their first SET at once
 * make one key, not two).
 */
export async function insertSigningKeyIfNone(
  tx: Queryable,
  key: Omit<StoredSigningKey, 'createdAt' | 'supersededAt' | 'retiredAt'>,
): Promise<StoredSigningKey> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('scimflow-event-signing-key:' || $1))`, [key.tenantId]);
  const existing = await currentSigningKey(tx, key.tenantId);
  if (existing) return existing;
  const r = (
    await tx.query<Record<string, never>>(
      `INSERT INTO event_signing_keys (kid, tenant_id, alg, public_jwk, encryption_key_id, private_key)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6) RETURNING ${COLUMNS}`,
      [key.kid, key.tenantId, key.alg, JSON.stringify(key.publicJwk), key.encryptionKeyId, key.privateKey],
    )
  ).rows[0];
  return toKey(r);
}

/** Rotation: the tenant's current key stops signing (it stays published); the next SET is signed with a new key. Returns the kids superseded. */
export async function supersedeSigningKeys(db: Queryable, tenantId: string): Promise<string[]> {
  return (
    await db.query<{ kid: string }>(
      'UPDATE event_signing_keys SET superseded_at = now() WHERE tenant_id = $1 AND superseded_at IS NULL AND retired_at IS NULL RETURNING kid',
      [tenantId],
    )
  ).rows.map((r) => r.kid);
}

/** One key of the tenant, superseded only (it can no longer be decrypted): the next SET gets a new key. */
export async function supersedeSigningKey(db: Queryable, tenantId: string, kid: string): Promise<void> {
  await db.query('UPDATE event_signing_keys SET superseded_at = now() WHERE tenant_id = $1 AND kid = $2 AND superseded_at IS NULL', [tenantId, kid]);
}

/**
 * Retirement: the key leaves the tenant's JWKS (SETs it signed no longer verify) and never
 * signs again. Returns false when the tenant has no such key or it was retired already.
 */
export async function retireSigningKey(db: Queryable, tenantId: string, kid: string): Promise<boolean> {
  return (
    (
      await db.query(
        'UPDATE event_signing_keys SET retired_at = now(), superseded_at = COALESCE(superseded_at, now()) WHERE tenant_id = $1 AND kid = $2 AND retired_at IS NULL',
        [tenantId, kid],
      )
    ).rowCount > 0
  );
}
