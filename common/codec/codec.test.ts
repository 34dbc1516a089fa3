/** The payload codec and its keys, without services. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { AesGcmPayloadCodec, ENCODING_ENCRYPTED, METADATA_KEY_ID, METADATA_SCOPE, PayloadDecryptionError, scopeOf } from './aes-gcm-codec';
import { formatPayloadKeys, generatePayloadKey, KEY_FILE_NAME, loadOrCreateKeyFile, parsePayloadKeys, resolvePayloadKeys } from './keys';

const converter = new DefaultPayloadConverter();
const str = (b?: Uint8Array | null) => Buffer.from(b ?? new Uint8Array()).toString('utf8');

describe('AesGcmPayloadCodec', () => {
  const k1 = generatePayloadKey('k1');
  const k2 = generatePayloadKey('k2');
  const input = converter.toPayload({ tenantId: 'acme', userId: '6f1c1d2e-0000-4000-8000-000000000001', requestId: 'req-12345' });

  test('when a payload is encoded, then its data is ciphertext naming the key, and decoding gives it back', async () => {
    const codec = new AesGcmPayloadCodec([k1]);
    const [sealed] = await codec.encode([input]);
    expect(str(sealed.metadata?.encoding)).toBe(ENCODING_ENCRYPTED);
    expect(str(sealed.metadata?.[METADATA_KEY_ID])).toBe('k1');
    expect(str(sealed.data)).not.toContain('req-12345');
    expect(str(sealed.data)).not.toContain('json/plain');
    const [opened] = await codec.decode([sealed]);
    expect(converter.fromPayload(opened)).toEqual({ tenantId: 'acme', userId: '6f1c1d2e-0000-4000-8000-000000000001', requestId: 'req-12345' });
    expect(str(opened.metadata?.encoding)).toBe('json/plain');
  });

  test('when the same payload is encoded twice, then the ciphertexts differ (random IV)', async () => {
    const codec = new AesGcmPayloadCodec([k1]);
    const [a] = await codec.encode([input]);
    const [b] = await codec.encode([input]);
    expect(Buffer.from(a.data!).equals(Buffer.from(b.data!))).toBe(false);
  });

  test('when keys rotate, then new payloads use the new key and old ones still decode', async () => {
    const before = new AesGcmPayloadCodec([k1]);
    const after = new AesGcmPayloadCodec([k2, k1]);
    const [old] = await before.encode([input]);
    const [fresh] = await after.encode([input]);
    expect(str(fresh.metadata?.[METADATA_KEY_ID])).toBe('k2');
    expect(converter.fromPayload((await after.decode([old]))[0])).toMatchObject({ requestId: 'req-12345' });
    await expect(before.decode([fresh])).rejects.toThrow(PayloadDecryptionError);
    await expect(before.decode([fresh])).rejects.toThrow(/unknown key "k2"/);
  });

  test('when a ciphertext is tampered with, then decoding fails', async () => {
    const codec = new AesGcmPayloadCodec([k1]);
    const [sealed] = await codec.encode([input]);
    const data = Buffer.from(sealed.data!);
    data[20] ^= 1;
    await expect(codec.decode([{ ...sealed, data }])).rejects.toThrow(/could not be decrypted/);
  });

  test('when a payload is not encrypted, then decoding passes it through (histories written before encryption)', async () => {
    const codec = new AesGcmPayloadCodec([k1]);
    expect(await codec.decode([input])).toEqual([input]);
  });
});

describe('per-tenant data keys', () => {
  const master = generatePayloadKey('m1');
  const ofTenant = (tenantId: string) => converter.toPayload({ tenantId, userId: '6f1c1d2e-0000-4000-8000-000000000001' });

  test('when a payload names a tenant, then it is sealed for that tenant, the scope in clear; other payloads are sealed for the platform', async () => {
    const codec = new AesGcmPayloadCodec([master]);
    const [a, signal] = await codec.encode([ofTenant('acme'), converter.toPayload({ version: 3, change: 'updated', requestId: 'r' })]);
    expect(str(a.metadata?.[METADATA_SCOPE])).toBe('tenant:acme');
    expect(str(signal.metadata?.[METADATA_SCOPE])).toBe('platform');
    expect(scopeOf(ofTenant('Not A Slug'))).toBe('platform');
    expect(converter.fromPayload((await codec.decode([a]))[0])).toMatchObject({ tenantId: 'acme' });
  });

  test("when a decode is limited to one tenant's scope, then the other tenants' and platform payloads come back still sealed", async () => {
    const codec = new AesGcmPayloadCodec([master]);
    const sealed = await codec.encode([ofTenant('acme'), ofTenant('globex'), converter.toPayload('plain')]);
    const out = await codec.decodeWhere(sealed, (scope) => scope === 'tenant:acme');
    expect(converter.fromPayload(out[0])).toMatchObject({ tenantId: 'acme' });
    expect(out[1]).toBe(sealed[1]);
    expect(out[2]).toBe(sealed[2]);
  });

  test("when a payload's scope is relabelled to another tenant, then it cannot be decrypted (the data key and the authenticated scope differ)", async () => {
    const codec = new AesGcmPayloadCodec([master]);
    const [globex] = await codec.encode([ofTenant('globex')]);
    const relabelled = { ...globex, metadata: { ...globex.metadata, [METADATA_SCOPE]: Buffer.from('tenant:acme') } };
    await expect(codec.decode([relabelled])).rejects.toThrow(/could not be decrypted/);
  });

  test('when a payload was sealed with the master key itself (before per-tenant keys), then it still decodes', async () => {
    const plain = ofTenant('acme');
    const inner = temporal.api.common.v1.Payload.encode(plain).finish();
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', master.key, iv);
    const data = Buffer.concat([iv, cipher.update(inner), cipher.final(), cipher.getAuthTag()]);
    const legacy = { metadata: { encoding: Buffer.from(ENCODING_ENCRYPTED), [METADATA_KEY_ID]: Buffer.from('m1') }, data };
    expect(converter.fromPayload((await new AesGcmPayloadCodec([master]).decode([legacy]))[0])).toMatchObject({ tenantId: 'acme' });
  });
});

describe('payload keys', () => {
  test('when PAYLOAD_KEYS is parsed, then the first key is current and bad entries are named', () => {
    const a = generatePayloadKey('a');
    const b = generatePayloadKey('b');
    expect(parsePayloadKeys(formatPayloadKeys([a, b])).map((k) => k.id)).toEqual(['a', 'b']);
    expect(() => parsePayloadKeys('nokey')).toThrow(/<key id>:<base64 key>/);
    expect(() => parsePayloadKeys(`x:${Buffer.alloc(16).toString('base64')}`)).toThrow(/32 bytes/);
    expect(() => parsePayloadKeys(`${formatPayloadKeys([a])},${formatPayloadKeys([a])}`)).toThrow(/twice/);
  });

  test('when all-in-one starts without PAYLOAD_KEYS, then a key file is created with mode 0600 and reused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-keys-'));
    try {
      const first = resolvePayloadKeys({ dataDir: dir, allInOne: true });
      expect(first.source).toBe('file');
      const file = path.join(dir, KEY_FILE_NAME);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const again = loadOrCreateKeyFile(dir);
      expect(again.created).toBe(false);
      expect(again.keys.map((k) => k.id)).toEqual(first.keyIds);
      // Set PAYLOAD_KEYS later: it encrypts, the file's key still decrypts.
      const env = resolvePayloadKeys({ payloadKeys: formatPayloadKeys([generatePayloadKey('prod1')]), dataDir: dir, allInOne: true });
      expect(env.keyIds).toEqual(['prod1', ...first.keyIds]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('when a split deployment has no PAYLOAD_KEYS, then nothing is encrypted and no key file is made', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-keys-'));
    try {
      expect(resolvePayloadKeys({ dataDir: dir, allInOne: false })).toMatchObject({ source: 'none' });
      expect(resolvePayloadKeys({ dataDir: dir, allInOne: false }).codec).toBeUndefined();
      expect(fs.existsSync(path.join(dir, KEY_FILE_NAME))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
