/**
 * Connector secrets: a tenant's tokens and client secrets, named in its configuration
 * (`auth.bearer.secret: NAME`), stored encrypted in connector_secrets (AES-256-GCM), set by
 * `npm run tenant-config -- set-secret` from stdin, never in the YAML and never logged.
 *
 * Keys: CONNECTOR_SECRETS_KEYS, "<key id>:<base64 of 32 bytes>" comma separated, the first
 * encrypts and all decrypt (rotation: prepend a new key, set the secrets again, then drop the
 * old one). Without it (development, `npm start`, the tests) a key generated on first use and
 * kept in the database (app_secrets, key id `db`) is used, as for the invitation-token key:
 * this keeps the secrets out of the YAML, the logs and backups of the configuration, not away
 * from someone who can read the whole database. Production sets CONNECTOR_SECRETS_KEYS.
 */
import crypto from 'node:crypto';
import type { Queryable } from '../common/db';
import { DB_KEY_ID, decryptSecret, encryptSecret, SECRET_NAME, type SecretKey } from './secret-crypto';
import { connectorSecretOf, putConnectorSecret } from '../common/repositories/connector-secrets';
import { getSecret } from '../common/repositories/secrets';

export { parseSecretKeys, type SecretKey } from './secret-crypto';

/** The app_secrets row of the key used when CONNECTOR_SECRETS_KEYS is not set. */
const DB_KEY_NAME = 'connector-secrets-key';

/** Thrown when a secret a configuration names cannot be had: its message says what to do. */
export class SecretUnavailableError extends Error {
  override readonly name = 'SecretUnavailableError';
}

export interface SecretStore {
  /** Encrypts and stores a secret (with the first configured key, else the database's). */
  set(tenantId: string, name: string, value: string): Promise<{ outcome: 'created' | 'replaced'; keyId: string }>;
  /** The plaintext; SecretUnavailableError when there is none or it cannot be decrypted. Cached for `cacheMs`. */
  get(tenantId: string, name: string): Promise<string>;
  /** Whether the tenant has a secret of that name (its value is not decrypted). */
  has(tenantId: string, name: string): Promise<boolean>;
}

/** The plaintext, or SecretUnavailableError when the key or the data is wrong. */
function decrypted(decrypt: () => string, name: string, keyId: string): string {
  try {
    return decrypt();
  } catch {
    throw new SecretUnavailableError(`secret ${name} could not be decrypted with key "${keyId}" (wrong key or altered data); set it again`);
  }
}

/**
 * The secret store over `db`. `keys`: CONNECTOR_SECRETS_KEYS parsed (undefined: the database's
 * key). Decrypted values are kept for `cacheMs` (default 30 s) so a connector does not read the
 * database on every call; a secret set again is used by the workers within that time.
 */
export function secretStore(db: Queryable, options: { keys?: SecretKey[]; cacheMs?: number; now?: () => number } = {}): SecretStore {
  const cacheMs = options.cacheMs ?? 30_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { value: string; at: number }>();
  let dbKey: Promise<SecretKey> | undefined;
  const databaseKey = (): Promise<SecretKey> => {
    if (!dbKey) {
      dbKey = getSecret(db, DB_KEY_NAME, () => crypto.randomBytes(32).toString('base64')).then((v) => ({ id: DB_KEY_ID, key: Buffer.from(v, 'base64') }));
      dbKey.catch(() => (dbKey = undefined)); // read again next time (the database was unavailable)
    }
    return dbKey;
  };
  const keyById = async (id: string): Promise<SecretKey | undefined> => (id === DB_KEY_ID ? databaseKey() : options.keys?.find((k) => k.id === id));
  return {
    async set(tenantId, name, value) {
      if (!SECRET_NAME.test(name)) throw new Error(`secret name "${name}" must be 1-64 characters of A-Z a-z 0-9 . _ - (starting with a letter or digit)`);
      if (value === '') throw new Error('the secret is empty');
      const key = options.keys?.[0] ?? (await databaseKey());
      const outcome = await putConnectorSecret(db, tenantId, name, key.id, encryptSecret(key, tenantId, name, value));
      cache.delete(`${tenantId}\u0000${name}`);
      return { outcome, keyId: key.id };
    },
    async get(tenantId, name) {
      const cacheKey = `${tenantId}\u0000${name}`;
      const hit = cache.get(cacheKey);
      if (hit && now() - hit.at < cacheMs) return hit.value;
      const stored = await connectorSecretOf(db, tenantId, name);
      if (!stored)
        throw new SecretUnavailableError(`no secret named ${name}; set it with: npm run tenant-config -- set-secret --tenant ${tenantId} --name ${name}`);
      const key = await keyById(stored.keyId);
      if (!key)
        throw new SecretUnavailableError(
          `secret ${name} is encrypted with key "${stored.keyId}", which is not in CONNECTOR_SECRETS_KEYS; add the key or set the secret again`,
        );
      const value = decrypted(() => decryptSecret(key, tenantId, name, stored.ciphertext), name, stored.keyId);
      cache.set(cacheKey, { value, at: now() });
      return value;
    },
    async has(tenantId, name) {
      return (await connectorSecretOf(db, tenantId, name)) !== undefined;
    },
  };
}
