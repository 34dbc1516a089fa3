/**
 * Payload encryption for Temporal: every payload the client or the worker sends is sealed with
 * AES-256-GCM before it reaches the Temporal server, so workflow inputs, signals, activity
 * arguments and results are stored in Temporal's history as ciphertext.
 *
 * Per-tenant data keys: a payload that belongs to a tenant (its JSON value has a `tenantId`, as
 * workflow inputs and activity arguments do) is sealed with a key derived from the master key
 * for that tenant alone (HKDF-SHA256, info "tenant:<id>"); any other payload (signals, activity
 * results: ids and versions) with the key derived for "platform". The scope is in the payload's
 * metadata, in clear, so the codec endpoint can tell whose payload it is before opening it, and
 * it is authenticated (GCM additional data): relabelling a payload makes it undecryptable. One
 * tenant's codec token can therefore never open another tenant's payloads.
 *
 * Wire format of an encrypted payload (as in Temporal's encryption samples, plus the scope):
 *   metadata.encoding          = "binary/encrypted"
 *   metadata.encryption-key-id = id of the master key the data key was derived from
 *   metadata.scimflow-key-scope = "tenant:<id>" or "platform"
 *   data                       = 12-byte IV ‖ ciphertext ‖ 16-byte GCM tag
 * where the plaintext is the original Payload, protobuf-encoded (its own metadata included).
 * Payloads without a scope were sealed with the master key itself (before per-tenant keys) and
 * still decode; only the operator's credential opens them.
 *
 * Rotation: payloads are encoded with the current master key (the first) and decoded with
 * whichever known key their `encryption-key-id` names, so old histories stay readable while the
 * key they were written with is still listed. Payloads without the encrypted encoding (written
 * before encryption was turned on) pass through unchanged.
 */
import crypto from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCODING_ENCRYPTED = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
export const METADATA_SCOPE = 'scimflow-key-scope';
/** The scope of payloads that belong to no tenant. */
export const PLATFORM_SCOPE = 'platform';
const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Payloads larger than this are not read for a tenant id (scope platform): the ones we send are small. */
const MAX_INSPECTED_BYTES = 256 * 1024;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface PayloadKey {
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

/** Thrown when a payload names a key this process does not know, or fails authentication. */
export class PayloadDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

/** `tenant:<id>` for a payload whose JSON value names a tenant (`tenantId`), else `platform`. */
export function scopeOf(payload: Payload): string {
  if (str(payload.metadata?.encoding) !== 'json/plain' || !payload.data || payload.data.length > MAX_INSPECTED_BYTES) return PLATFORM_SCOPE;
  try {
    const value = JSON.parse(Buffer.from(payload.data).toString('utf8')) as { tenantId?: unknown } | null;
    const tenant = value && typeof value === 'object' && !Array.isArray(value) ? value.tenantId : undefined;
    return typeof tenant === 'string' && TENANT_ID.test(tenant) ? `tenant:${tenant}` : PLATFORM_SCOPE;
  } catch {
    return PLATFORM_SCOPE;
  }
}

/** The scope of an encrypted payload as written in its metadata; undefined: sealed with the master key (before scopes). */
export function sealedScopeOf(payload: Payload): string | undefined {
  return str(payload.metadata?.[METADATA_SCOPE]);
}

/** Whether the payload is one this codec seals (and a credential must be allowed to open). */
export function isEncrypted(payload: Payload): boolean {
  return str(payload.metadata?.encoding) === ENCODING_ENCRYPTED;
}

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;
  private readonly current: PayloadKey;
  private readonly derived = new Map<string, Buffer>();

  /** @param keys the first is used to encode; all of them decode. */
  constructor(keys: PayloadKey[]) {
    if (keys.length === 0) throw new Error('AesGcmPayloadCodec needs at least one key');
    for (const k of keys) {
      if (k.key.length !== 32) throw new Error(`payload key "${k.id}" must be 32 bytes (AES-256), got ${k.key.length}`);
    }
    this.current = keys[0];
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  get keyIds(): string[] {
    return [...this.byId.keys()];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.seal(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.open(p));
  }

  /**
   * Opens only the encrypted payloads whose scope `mayOpen` accepts (the codec endpoint, for a
   * credential of one tenant); the others are returned as they are, still sealed.
   */
  async decodeWhere(payloads: Payload[], mayOpen: (scope: string | undefined) => boolean): Promise<Payload[]> {
    return payloads.map((p) => (isEncrypted(p) && !mayOpen(sealedScopeOf(p)) ? p : this.open(p)));
  }

  /** The data key of `scope` under master key `keyId` (HKDF-SHA256); cached, one per tenant and key. */
  private dataKey(keyId: string, master: Buffer, scope: string): Buffer {
    const cacheKey = `${keyId}\u0000${scope}`;
    let key = this.derived.get(cacheKey);
    if (!key) {
      key = Buffer.from(crypto.hkdfSync('sha256', master, 'scimflow payload data key v1', scope, 32));
      this.derived.set(cacheKey, key);
    }
    return key;
  }

  private seal(payload: Payload): Payload {
    const scope = scopeOf(payload);
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.dataKey(this.current.id, this.current.key, scope), iv);
    cipher.setAAD(Buffer.from(scope, 'utf8'));
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { encoding: text(ENCODING_ENCRYPTED), [METADATA_KEY_ID]: text(this.current.id), [METADATA_SCOPE]: text(scope) },
      data: sealed,
    };
  }

  private open(payload: Payload): Payload {
    if (str(payload.metadata?.encoding) !== ENCODING_ENCRYPTED) return payload;
    const keyId = str(payload.metadata?.[METADATA_KEY_ID]);
    if (!keyId) throw new PayloadDecryptionError(`encrypted payload without ${METADATA_KEY_ID}`);
    const master = this.byId.get(keyId);
    if (!master) throw new PayloadDecryptionError(`payload encrypted with unknown key "${keyId}" (known: ${this.keyIds.join(', ')}); add it to PAYLOAD_KEYS`);
    const scope = sealedScopeOf(payload);
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError('encrypted payload is too short');
    try {
      // No scope: sealed with the master key itself, before per-tenant keys.
      const decipher = crypto.createDecipheriv('aes-256-gcm', scope === undefined ? master : this.dataKey(keyId, master, scope), data.subarray(0, IV_BYTES));
      if (scope !== undefined) decipher.setAAD(Buffer.from(scope, 'utf8'));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      const inner = temporal.api.common.v1.Payload.decode(plain);
      return { metadata: { ...inner.metadata }, data: inner.data };
    } catch {
      throw new PayloadDecryptionError(`payload could not be decrypted with key "${keyId}" (wrong key or tampered data)`);
    }
  }
}
