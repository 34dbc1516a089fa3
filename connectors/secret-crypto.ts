/**
 * Encryption of connector secrets (AES-256-GCM, bound to tenant and name) and the
 * CONNECTOR_SECRETS_KEYS format; pure, so common/config.ts can check the variable at start.
 * The store is connectors/secrets.ts.
 */
import crypto from 'node:crypto';

export interface SecretKey {
  id: string;
  key: Buffer;
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** The key id of the key kept in the database. */
export const DB_KEY_ID = 'db';
export const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Parses CONNECTOR_SECRETS_KEYS; throws naming the bad entry (never its key). */
export function parseSecretKeys(value: string): SecretKey[] {
  const keys: SecretKey[] = [];
  for (const entry of value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const i = entry.indexOf(':');
    if (i < 0) throw new Error('CONNECTOR_SECRETS_KEYS entries must be <key id>:<base64 of 32 bytes>');
    const id = entry.slice(0, i).trim();
    if (!KEY_ID.test(id) || id === DB_KEY_ID)
      throw new Error(`CONNECTOR_SECRETS_KEYS key id "${id.slice(0, 64)}" must be 1-64 characters of A-Z a-z 0-9 . _ - (not "db")`);
    const key = Buffer.from(entry.slice(i + 1).trim(), 'base64');
    if (key.length !== 32)
      throw new Error(`CONNECTOR_SECRETS_KEYS key "${id}" must be 32 bytes in base64 (got ${key.length}); generate one with: openssl rand -base64 32`);
    if (keys.some((k) => k.id === id)) throw new Error(`CONNECTOR_SECRETS_KEYS names key "${id}" twice`);
    keys.push({ id, key });
  }
  if (keys.length === 0) throw new Error('CONNECTOR_SECRETS_KEYS is set but holds no key');
  return keys;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

function aad(tenantId: string, name: string): Buffer {
  // Bound to its tenant and name: a ciphertext copied to another row does not decrypt.
  return Buffer.from(`scimflow-connector-secret:${tenantId}:${name}`);
}

export function encryptSecret(key: SecretKey, tenantId: string, name: string, plaintext: string): Buffer {
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(aad(tenantId, name));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

export function decryptSecret(key: SecretKey, tenantId: string, name: string, data: Buffer): string {
  const decipher = crypto.createDecipheriv('aes-256-gcm', key.key, data.subarray(0, IV_BYTES));
  decipher.setAAD(aad(tenantId, name));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  return Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]).toString('utf8');
}
