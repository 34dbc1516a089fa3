/**
 * Payload encryption for Temporal: every payload the client or the worker sends is sealed with
 * AES-256-GCM before it reaches the Temporal server, so workflow inputs, signals, activity
 * arguments and results are stored in Temporal's history as ciphertext.
 *
 * Wire format of an encrypted payload (as in Temporal's encryption samples):
 *   metadata.encoding          = "binary/encrypted"
 *   metadata.encryption-key-id = id of the key that sealed it
 *   data                       = 12-byte IV ‖ ciphertext ‖ 16-byte GCM tag
 * where the plaintext is the original Payload, protobuf-encoded (its own metadata included).
 *
 * Rotation: payloads are encoded with the current key (the first) and decoded with whichever
 * known key their `encryption-key-id` names, so old histories stay readable while the key
 * they were written with is still listed. Payloads without the encrypted encoding (written
 * before encryption was turned on) pass through unchanged.
 */
import crypto from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCODING_ENCRYPTED = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
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

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;
  private readonly current: PayloadKey;

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

  private seal(payload: Payload): Payload {
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.current.key, iv);
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return { metadata: { encoding: text(ENCODING_ENCRYPTED), [METADATA_KEY_ID]: text(this.current.id) }, data: sealed };
  }

  private open(payload: Payload): Payload {
    if (str(payload.metadata?.encoding) !== ENCODING_ENCRYPTED) return payload;
    const keyId = str(payload.metadata?.[METADATA_KEY_ID]);
    if (!keyId) throw new PayloadDecryptionError(`encrypted payload without ${METADATA_KEY_ID}`);
    const key = this.byId.get(keyId);
    if (!key) throw new PayloadDecryptionError(`payload encrypted with unknown key "${keyId}" (known: ${this.keyIds.join(', ')}); add it to PAYLOAD_KEYS`);
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError('encrypted payload is too short');
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      const inner = temporal.api.common.v1.Payload.decode(plain);
      return { metadata: { ...inner.metadata }, data: inner.data };
    } catch {
      throw new PayloadDecryptionError(`payload could not be decrypted with key "${keyId}" (wrong key or tampered data)`);
    }
  }
}
