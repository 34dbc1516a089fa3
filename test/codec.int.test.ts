/**
 * Finding 4: the codec endpoint opens payloads for operators' credentials only, and one
 * tenant's credential never opens another tenant's payloads (per-tenant data keys).
 */
import crypto from 'node:crypto';
import { DefaultPayloadConverter, type Payload } from '@temporalio/common';
import { AesGcmPayloadCodec, ENCODING_ENCRYPTED } from '../common/codec/aes-gcm-codec';
import { generatePayloadKey } from '../common/codec/keys';
import { createLogger } from '../common/logger';
import { createTenant, saveConfigVersion } from '../common/repositories/tenants';
import { createToken } from '../common/repositories/tokens';
import { runScimServer, type RunningServer } from '../scim-server/run-server';
import { openTestDatabase, testTenantConfig } from './harness';
import type { Db } from '../common/db';

const converter = new DefaultPayloadConverter();
const codec = new AesGcmPayloadCodec([generatePayloadKey('k1')]);
const OPERATOR = `sfo_${crypto.randomBytes(32).toString('base64url')}`;
const A = `ca-${crypto.randomBytes(3).toString('hex')}`;
const B = `cb-${crypto.randomBytes(3).toString('hex')}`;

let db: Db;
let server: RunningServer;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  db = await openTestDatabase();
  for (const tenant of [A, B]) {
    await createTenant(db, tenant, tenant);
    await saveConfigVersion(db, tenant, testTenantConfig(), 'test');
  }
  tokens.codecA = (await createToken(db, A, 'ops-a', 'codec')).token;
  tokens.codecB = (await createToken(db, B, 'ops-b', 'codec')).token;
  tokens.adminA = (await createToken(db, A, 'admin-a', 'admin', 'Super User')).token;
  tokens.scimA = (await createToken(db, A, 'idp-a')).token;
  tokens.expiredA = (await createToken(db, A, 'old', 'codec', undefined, 1)).token;
  server = await runScimServer({
    db,
    logger: createLogger('silent'),
    temporal: async () => {
      throw new Error('no Temporal in this test');
    },
    taskQueue: 'none',
    host: '127.0.0.1',
    port: 0,
    bodyLimitBytes: 1024 * 1024,
    rateLimit: { perSecond: 1000, burst: 1000 },
    tokenCacheMs: 0,
    codec: { codec, auth: 'token', operatorToken: OPERATOR, corsOrigins: [] },
    failureLimit: { perMinute: 1000, burst: 1000 },
  });
});
afterAll(async () => {
  await server?.close();
  await db?.close();
});

const toJson = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v as Uint8Array).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});
const fromJson = (p: { metadata: Record<string, string>; data: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data, 'base64'),
});

async function call(direction: 'decode' | 'encode', payloads: Payload[], token?: string, inPath = false) {
  const url = inPath && token ? `${server.url}/codec/${token}/${direction}` : `${server.url}/codec/${direction}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token && !inPath ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ payloads: payloads.map(toJson) }),
  });
  const body = (await res.json()) as { payloads?: { metadata: Record<string, string>; data: string }[]; message?: string };
  return { status: res.status, payloads: body.payloads?.map(fromJson), message: body.message };
}

const opened = (p: Payload) => Buffer.from(p.metadata?.encoding ?? []).toString() !== ENCODING_ENCRYPTED;

describe('finding 4: operator-only codec, per-tenant data keys', () => {
  test("when a tenant's admin or SCIM token, an expired codec token or no token asks the codec, then 401", async () => {
    const sealed = await codec.encode([converter.toPayload({ tenantId: A, userId: crypto.randomUUID() })]);
    for (const token of [undefined, tokens.adminA, tokens.scimA, tokens.expiredA, 'sfc_unknown']) {
      expect((await call('decode', sealed, token)).status).toBe(401);
      expect((await call('encode', [converter.toPayload({ tenantId: A })], token)).status).toBe(401);
    }
  });

  test("when tenant A's codec token decodes payloads of A, B and the platform, then only A's are opened", async () => {
    const sealed = await codec.encode([
      converter.toPayload({ tenantId: A, userId: 'a-user' }),
      converter.toPayload({ tenantId: B, userId: 'b-user' }),
      converter.toPayload({ version: 2, change: 'updated', requestId: 'r1' }),
    ]);
    for (const inPath of [false, true]) {
      const res = await call('decode', sealed, tokens.codecA, inPath);
      expect(res.status).toBe(200);
      const [a, b, platform] = res.payloads as Payload[];
      expect(converter.fromPayload(a)).toEqual({ tenantId: A, userId: 'a-user' });
      expect(opened(b)).toBe(false);
      expect(Buffer.from(b.data ?? []).toString('latin1')).not.toContain('b-user');
      expect(opened(platform)).toBe(false);
    }
    const asB = await call('decode', sealed, tokens.codecB);
    expect(converter.fromPayload((asB.payloads as Payload[])[1])).toEqual({ tenantId: B, userId: 'b-user' });
    expect(opened((asB.payloads as Payload[])[0])).toBe(false);
  });

  test('when the operator token decodes, then every payload is opened, through the header or the URL the Temporal UI is given', async () => {
    const sealed = await codec.encode([converter.toPayload({ tenantId: A }), converter.toPayload({ tenantId: B }), converter.toPayload('x')]);
    for (const inPath of [false, true]) {
      const res = await call('decode', sealed, OPERATOR, inPath);
      expect(res.status).toBe(200);
      expect((res.payloads as Payload[]).map((p) => converter.fromPayload(p))).toEqual([{ tenantId: A }, { tenantId: B }, 'x']);
    }
  });

  test("when tenant A's codec token encodes, then its own tenant's payloads are sealed for A and another tenant's are refused (403)", async () => {
    const own = await call('encode', [converter.toPayload({ tenantId: A, note: 'retry' })], tokens.codecA);
    expect(own.status).toBe(200);
    expect(converter.fromPayload((await codec.decode(own.payloads as Payload[]))[0])).toEqual({ tenantId: A, note: 'retry' });
    const other = await call('encode', [converter.toPayload({ tenantId: B })], tokens.codecA);
    expect(other.status).toBe(403);
    expect(other.message).toMatch(/own tenant's payloads only/);
    expect((await call('encode', [converter.toPayload({ tenantId: B })], OPERATOR)).status).toBe(200);
  });
});
