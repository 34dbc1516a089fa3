/** The codec endpoint's credentials against a throttled address, with a counting stand-in for the database. */
import crypto from 'node:crypto';
import express from 'express';
import type { Queryable } from '../db';
import { FailureThrottle } from '../failure-throttle';
import { hashToken } from '../repositories/tokens';
import { generatePayloadKey } from './keys';
import { AesGcmPayloadCodec } from './aes-gcm-codec';
import { remoteCodecRouter } from './remote-codec';

const OPERATOR = `op_${crypto.randomBytes(24).toString('base64url')}`;
const CODEC = `sfc_${crypto.randomBytes(32).toString('base64url')}`;

function countingDb() {
  const counter = { lookups: 0 };
  const db: Queryable = {
    async query<R>(_sql: string, params?: readonly unknown[]) {
      counter.lookups += 1;
      const found = params?.[0] === hashToken(CODEC);
      const rows = found ? [{ id: 'c1', tenant_id: 'acme', kind: 'codec', token_hash: hashToken(CODEC), admin_role: null, expires_at: null }] : [];
      return { rows: rows as R[], rowCount: rows.length };
    },
    exec: async () => undefined,
  };
  return { db, counter };
}

test('when an address is over its failure budget, then the operator token and a live codec token never used before still decode, and guesses get 429 before any look-up', async () => {
  const { db, counter } = countingDb();
  const live = new Set([hashToken(CODEC)]);
  const failures = new FailureThrottle({ perMinute: 1, burst: 3, liveCredentials: { has: (hash) => live.has(hash) } });
  const app = express();
  app.use(
    remoteCodecRouter({ codec: new AesGcmPayloadCodec([generatePayloadKey('k1')]), db, auth: 'token', operatorToken: OPERATOR, corsOrigins: [], failures }),
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/codec/decode`;
  const decode = (token: string) =>
    fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{"payloads":[]}' });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await decode(`sfc_guess_${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
    expect(counter.lookups).toBe(3);
    const limited = await decode('sfc_guess_again');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(counter.lookups).toBe(3);
    expect((await decode(OPERATOR)).status).toBe(200);
    expect(counter.lookups).toBe(3); // the operator token is not in the table: compared, never looked up
    expect((await decode(CODEC)).status).toBe(200);
    expect(counter.lookups).toBe(4);
    // Revoked (no longer in the live set): refused like a guess.
    live.delete(hashToken(CODEC));
    expect((await decode(CODEC)).status).toBe(429);
    expect(counter.lookups).toBe(4);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
