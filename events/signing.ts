/**
 * Signing Security Event Tokens (RFC 8417) with a key of the tenant, and its JWKS.
 *
 * Keys: ES256 (P-256), one current key per tenant, generated on first use (the first SET
 * signed, or the first JWKS read) and kept in event_signing_keys: the public JWK in clear, the
 * private key (PKCS#8) encrypted with AES-256-GCM, bound to its tenant and kid, under the first of
 * CONNECTOR_SECRETS_KEYS (the deployment's keys for secrets at rest), else under a key generated
 * on first use and kept in the database (development, as for connector secrets). The kid is the
 * key's JWK thumbprint (RFC 7638).
 *
 * Rotation (`npm run tokens -- rotate-event-key --tenant <id>`): the current key is superseded;
 * the next SET is signed with a new key, within `cacheMs` (10 s) in every SCIM server. The old
 * key stays in the JWKS, so SETs it signed (and receivers' caches) still verify, until it is
 * retired (`npm run tokens -- retire-event-key --tenant <id> <kid>`). A key that can no longer be
 * decrypted (its encryption key was removed from CONNECTOR_SECRETS_KEYS) is superseded the same way.
 *
 * SETs are signed when they are delivered, from the stored claims: a redelivered SET has the
 * same claims (jti, iat) and, unless the key was rotated in between, the same signature.
 */
import crypto from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { Db, Queryable } from '../common/db';
import type { Logger } from '../common/logger';
import {
  currentSigningKey,
  insertSigningKeyIfNone,
  publishedSigningKeys,
  supersedeSigningKey,
  type StoredSigningKey,
} from '../common/repositories/event-signing-keys';
import { getSecret } from '../common/repositories/secrets';
import type { StoredSecurityEvent } from '../common/repositories/security-events';
import { setClaims } from './set';

/** The media type and JOSE `typ` of a SET (RFC 8417 §2.3). */
export const SET_TYPE = 'secevent+jwt';
export const SET_MEDIA_TYPE = 'application/secevent+jwt';
export const SET_ALG = 'ES256';

/** A key that encrypts the private keys: the shape of CONNECTOR_SECRETS_KEYS's entries (connectors/secret-crypto.ts). */
export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/** The id of the key kept in the database when no encryption key is configured. */
export const DB_ENCRYPTION_KEY_ID = 'db';
const DB_KEY_NAME = 'event-signing-keys-key';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const aad = (tenantId: string, kid: string) => Buffer.from(`scimflow-event-signing-key:${tenantId}:${kid}`);

export function encryptPrivateKey(key: EncryptionKey, tenantId: string, kid: string, pem: string): Buffer {
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(aad(tenantId, kid));
  const body = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

export function decryptPrivateKey(key: EncryptionKey, tenantId: string, kid: string, data: Buffer): string {
  const decipher = crypto.createDecipheriv('aes-256-gcm', key.key, data.subarray(0, IV_BYTES));
  decipher.setAAD(aad(tenantId, kid));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  return Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]).toString('utf8');
}

/** A new ES256 key pair for `tenantId`: its public JWK (with kid, alg, use) and the private key, encrypted. */
export async function newSigningKey(tenantId: string, encryption: EncryptionKey): Promise<Omit<StoredSigningKey, 'createdAt' | 'supersededAt' | 'retiredAt'>> {
  const { publicKey, privateKey } = await generateKeyPair(SET_ALG, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  const pem = await exportPKCS8(privateKey);
  return {
    kid,
    tenantId,
    alg: SET_ALG,
    publicJwk: { ...jwk, kid, alg: SET_ALG, use: 'sig' },
    encryptionKeyId: encryption.id,
    privateKey: encryptPrivateKey(encryption, tenantId, kid, pem),
  };
}

/** Signs the claims as a SET: JWS compact serialisation, header { alg: ES256, typ: secevent+jwt, kid }. */
export async function signSet(claims: Record<string, unknown>, key: { kid: string; privateKey: CryptoKey }): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: SET_ALG, typ: SET_TYPE, kid: key.kid }).sign(key.privateKey);
}

export interface EventSigner {
  /** The stored event as a signed SET of the tenant, issued under `publicUrl`. */
  sign(tenantId: string, event: Pick<StoredSecurityEvent, 'jti' | 'claims' | 'createdAt'>): Promise<string>;
  /** The tenant's JWKS: every key not retired (a first key is made when it has none). */
  jwks(tenantId: string): Promise<{ keys: JWK[] }>;
}

export interface EventSignerOptions {
  db: Db;
  /** This server's public base URL: SETs are issued as `${publicUrl}/events/<tenant>`. */
  publicUrl: string;
  /** CONNECTOR_SECRETS_KEYS, parsed: the first encrypts new keys, all decrypt. Default: a key kept in the database. */
  encryptionKeys?: EncryptionKey[];
  logger?: Logger;
  /** How long a tenant's current key is used without a look-up; a rotation takes effect within it. Default 10 s. */
  cacheMs?: number;
}

export function eventSigner(options: EventSignerOptions): EventSigner {
  const cacheMs = options.cacheMs ?? 10_000;
  const cache = new Map<string, { kid: string; privateKey: CryptoKey; at: number }>();
  let dbKey: Promise<EncryptionKey> | undefined;
  const databaseKey = (): Promise<EncryptionKey> => {
    if (!dbKey) {
      dbKey = getSecret(options.db, DB_KEY_NAME, () => crypto.randomBytes(32).toString('base64')).then((v) => ({
        id: DB_ENCRYPTION_KEY_ID,
        key: Buffer.from(v, 'base64'),
      }));
      dbKey.catch(() => (dbKey = undefined));
    }
    return dbKey;
  };
  const encryptionKey = async (id?: string): Promise<EncryptionKey | undefined> => {
    if (id === undefined) return options.encryptionKeys?.[0] ?? databaseKey();
    return id === DB_ENCRYPTION_KEY_ID ? databaseKey() : options.encryptionKeys?.find((k) => k.id === id);
  };

  /** The tenant's current key, made when it has none (one per tenant, whoever asks first). */
  const currentKey = async (db: Db, tenantId: string): Promise<StoredSigningKey> =>
    (await currentSigningKey(db, tenantId)) ??
    (await (async () => {
      const made = await newSigningKey(tenantId, (await encryptionKey()) as EncryptionKey);
      return db.withTransaction((tx: Queryable) => insertSigningKeyIfNone(tx, made));
    })());

  const usableKey = async (tenantId: string): Promise<{ kid: string; privateKey: CryptoKey }> => {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const stored = await currentKey(options.db, tenantId);
      const encryption = await encryptionKey(stored.encryptionKeyId);
      try {
        if (!encryption) throw new Error(`its encryption key "${stored.encryptionKeyId}" is not configured`);
        return { kid: stored.kid, privateKey: await importPKCS8(decryptPrivateKey(encryption, tenantId, stored.kid, stored.privateKey), SET_ALG) };
      } catch (err) {
        // Without its key the private key is lost: a new one signs from now on; the old public key stays published.
        options.logger?.warn({ tenant: tenantId, kid: stored.kid, err: (err as Error).message }, 'event signing key cannot be decrypted; superseding it');
        await supersedeSigningKey(options.db, tenantId, stored.kid);
      }
    }
    throw new Error(`no usable event signing key for tenant ${tenantId}`);
  };

  return {
    async sign(tenantId, event) {
      let key = cache.get(tenantId);
      if (!key || Date.now() - key.at > cacheMs) {
        key = { ...(await usableKey(tenantId)), at: Date.now() };
        cache.set(tenantId, key);
      }
      return signSet(setClaims(event, options.publicUrl, tenantId), key);
    },
    async jwks(tenantId) {
      let keys = await publishedSigningKeys(options.db, tenantId);
      if (keys.length === 0) {
        await currentKey(options.db, tenantId);
        keys = await publishedSigningKeys(options.db, tenantId);
      }
      return { keys: keys as JWK[] };
    },
  };
}
