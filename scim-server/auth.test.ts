/** bearerAuth with a counting stand-in for the database: a throttled address costs no look-up (finding 10). */
import express from 'express';
import type { Db } from '../common/db';
import { FailureThrottle } from '../common/failure-throttle';
import { hashToken } from '../common/repositories/tokens';
import { bearerAuth } from './auth';

const VALID = 'sfs_valid-token-of-the-tenant-000000000000000';

function countingDb() {
  const counter = { lookups: 0 };
  const db = {
    kind: 'postgres',
    async query(sql: string, params?: readonly unknown[]) {
      if (!/^\s*SELECT/.test(sql)) return { rows: [], rowCount: 1 }; // last_used_at
      counter.lookups += 1;
      const found = params?.[0] === hashToken(VALID);
      return {
        rows: found ? [{ id: 't1', tenant_id: 'acme', kind: 'scim', token_hash: hashToken(VALID), admin_role: null, expires_at: null }] : [],
        rowCount: found ? 1 : 0,
      };
    },
  } as unknown as Db;
  return { db, counter };
}

async function serve(db: Db, throttle: FailureThrottle) {
  const app = express();
  app.use(bearerAuth({ db, kind: 'scim', rateLimit: { perSecond: 1000, burst: 1000 }, cacheMs: 0, failures: throttle }));
  app.get('/', (_req, res) => void res.json({ ok: true }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  return { url, close: () => new Promise((r) => server.close(r)) };
}

test('when an address is over its failure budget, then its guesses are refused with 429 before any look-up, and a live token never used before still passes', async () => {
  const { db, counter } = countingDb();
  const live = new Set([hashToken(VALID)]);
  const srv = await serve(db, new FailureThrottle({ perMinute: 1, burst: 5, liveCredentials: { has: (hash) => live.has(hash) } }));
  try {
    const get = (token?: string) => fetch(srv.url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) statuses.push((await get(`sfs_guess_${i}`)).status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(45);
    expect(counter.lookups).toBe(5);
    expect((await get()).status).toBe(429); // no header at all: refused too, without a look-up
    expect((await get(VALID)).status).toBe(200);
    expect(counter.lookups).toBe(6);
    expect((await get('sfs_guess_again')).status).toBe(429);
    expect(counter.lookups).toBe(6);
    // No longer live (revoked or expired): refused like a guess, without a look-up.
    live.delete(hashToken(VALID));
    expect((await get(VALID)).status).toBe(429);
    expect(counter.lookups).toBe(6);
  } finally {
    await srv.close();
  }
});

test('when the throttle knows no live tokens, then a token that passed before is refused while its address is throttled (successes are not remembered)', async () => {
  const { db } = countingDb();
  const srv = await serve(db, new FailureThrottle({ perMinute: 1, burst: 2 }));
  try {
    const get = (token: string) => fetch(srv.url, { headers: { Authorization: `Bearer ${token}` } });
    expect((await get(VALID)).status).toBe(200);
    expect((await get('sfs_guess_1')).status).toBe(401);
    expect((await get('sfs_guess_2')).status).toBe(401);
    expect((await get(VALID)).status).toBe(429);
  } finally {
    await srv.close();
  }
});
