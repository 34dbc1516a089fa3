/**
 * Where payload keys come from.
 *
 * PAYLOAD_KEYS="k2:<base64 32 bytes>,k1:<base64 32 bytes>": the first key encrypts, every key
 * decrypts (rotation: prepend the new key, keep the old ones until no open history needs them).
 * Generate one with `openssl rand -base64 32`.
 *
 * All-in-one mode (`npm start`) without PAYLOAD_KEYS: one key is generated on the first start
 * and kept in DATA_DIR/payload-keys (mode 0600, same format as PAYLOAD_KEYS), so a restart can
 * decrypt the histories it wrote. When PAYLOAD_KEYS is set later, the file's keys are still
 * used to decrypt (not to encrypt).
 *
 * Split deployment (`npm run scim-server` and `npm run worker`) without PAYLOAD_KEYS: payloads
 * are not encrypted (both processes must share the keys, so neither can invent one); the
 * processes log a warning at start.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { PayloadCodec } from '@temporalio/common';
import { AesGcmPayloadCodec, type PayloadKey } from './aes-gcm-codec';

export const KEY_FILE_NAME = 'payload-keys';
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Parses the PAYLOAD_KEYS format; throws with a message naming the bad entry. */
export function parsePayloadKeys(value: string): PayloadKey[] {
  const keys: PayloadKey[] = [];
  for (const entry of value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const i = entry.indexOf(':');
    if (i < 0) throw new Error(`PAYLOAD_KEYS entry "${entry.slice(0, 20)}…" must be <key id>:<base64 key>`);
    const id = entry.slice(0, i).trim();
    if (!KEY_ID.test(id)) throw new Error(`PAYLOAD_KEYS key id "${id.slice(0, 64)}" must be 1-64 characters of A-Z a-z 0-9 . _ -`);
    const key = Buffer.from(entry.slice(i + 1).trim(), 'base64');
    if (key.length !== 32)
      throw new Error(`PAYLOAD_KEYS key "${id}" must be 32 bytes encoded in base64 (got ${key.length} bytes); generate one with: openssl rand -base64 32`);
    if (keys.some((k) => k.id === id)) throw new Error(`PAYLOAD_KEYS names key "${id}" twice`);
    keys.push({ id, key });
  }
  if (keys.length === 0) throw new Error('PAYLOAD_KEYS is set but holds no key');
  return keys;
}

export function formatPayloadKeys(keys: PayloadKey[]): string {
  return keys.map((k) => `${k.id}:${k.key.toString('base64')}`).join(',');
}

export function generatePayloadKey(id = `local-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`): PayloadKey {
  return { id, key: crypto.randomBytes(32) };
}

/**
 * Reads DATA_DIR/payload-keys, creating it with one fresh key when absent (exclusive create,
 * mode 0600). Tightens the file's mode if someone loosened it.
 */
export function loadOrCreateKeyFile(dataDir: string): { keys: PayloadKey[]; file: string; created: boolean } {
  const file = path.join(dataDir, KEY_FILE_NAME);
  fs.mkdirSync(dataDir, { recursive: true });
  let created = false;
  try {
    fs.writeFileSync(file, `${formatPayloadKeys([generatePayloadKey()])}\n`, { mode: 0o600, flag: 'wx' });
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  return { keys: parsePayloadKeys(fs.readFileSync(file, 'utf8')), file, created };
}

export interface ResolvedPayloadKeys {
  /** Undefined when payloads are not encrypted. */
  codec?: AesGcmPayloadCodec;
  source: 'env' | 'file' | 'none';
  /** For the start-up log line: ids only, never the keys. */
  keyIds: string[];
  file?: string;
}

/** The codec for this process: PAYLOAD_KEYS, else (all-in-one) the DATA_DIR key file, else none. */
export function resolvePayloadKeys(options: { payloadKeys?: string; dataDir: string; allInOne: boolean }): ResolvedPayloadKeys {
  const fromEnv = options.payloadKeys ? parsePayloadKeys(options.payloadKeys) : undefined;
  const fileExists = fs.existsSync(path.join(options.dataDir, KEY_FILE_NAME));
  if (fromEnv) {
    // Keys an earlier all-in-one run generated still decrypt what it wrote.
    const extra = options.allInOne && fileExists ? loadOrCreateKeyFile(options.dataDir).keys.filter((k) => !fromEnv.some((e) => e.id === k.id)) : [];
    const keys = [...fromEnv, ...extra];
    return { codec: new AesGcmPayloadCodec(keys), source: 'env', keyIds: keys.map((k) => k.id) };
  }
  if (options.allInOne) {
    const { keys, file } = loadOrCreateKeyFile(options.dataDir);
    return { codec: new AesGcmPayloadCodec(keys), source: 'file', keyIds: keys.map((k) => k.id), file };
  }
  return { source: 'none', keyIds: [] };
}

/**
 * All-in-one: the keys `npm start` uses (PAYLOAD_KEYS first, then the DATA_DIR key file's), as
 * the PAYLOAD_KEYS value of the SCIM server and worker processes it starts.
 */
export function allInOnePayloadKeys(options: { payloadKeys?: string; dataDir: string }): string {
  const fromEnv = options.payloadKeys ? parsePayloadKeys(options.payloadKeys) : [];
  const useFile = fromEnv.length === 0 || fs.existsSync(path.join(options.dataDir, KEY_FILE_NAME));
  const fromFile = useFile ? loadOrCreateKeyFile(options.dataDir).keys.filter((k) => !fromEnv.some((e) => e.id === k.id)) : [];
  return formatPayloadKeys([...fromEnv, ...fromFile]);
}

export const CODEC_TOKEN_FILE = 'codec-token';

/**
 * The operator's codec credential for `npm start`: CODEC_TOKEN, else one generated on the first
 * start and kept in DATA_DIR/codec-token (mode 0600), so the Temporal UI's endpoint URL stays
 * the same across restarts.
 */
export function allInOneCodecToken(options: { codecToken?: string; dataDir: string }): { token: string; file?: string } {
  if (options.codecToken) return { token: options.codecToken };
  const file = path.join(options.dataDir, CODEC_TOKEN_FILE);
  fs.mkdirSync(options.dataDir, { recursive: true });
  try {
    fs.writeFileSync(file, `sfo_${crypto.randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  return { token: fs.readFileSync(file, 'utf8').trim(), file };
}

/** The payload codecs to hand to a Temporal client or worker. */
export function payloadCodecsOf(resolved: { codec?: PayloadCodec }): PayloadCodec[] {
  return resolved.codec ? [resolved.codec] : [];
}
