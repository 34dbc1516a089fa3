/** Db.listen on the real PostgreSQL server: notifications, a lost connection opened again, and the scim_tokens trigger (migration 017). */
import crypto from 'node:crypto';
import { eventually, openTestDatabase } from '../../test/harness';
import { createTenant } from '../repositories/tenants';
import { createToken, revokeToken, touchToken } from '../repositories/tokens';
import type { Db } from './db';

let db: Db;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => db?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const notify = (channel: string, payload: string) => db.query('SELECT pg_notify($1, $2)', [channel, payload]);
/** Terminates the backends whose last statement was this channel's LISTEN; returns how many. */
const terminate = async (channel: string) =>
  (await db.query<{ n: number }>('SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE query = $1', [`LISTEN "${channel}"`])).rows[0]
    .n;

test('when the listening connection is terminated, then it is opened again after a backoff, onConnect says so, and notifications arrive again', async () => {
  const channel = `t_listen_${crypto.randomBytes(4).toString('hex')}`;
  const got: string[] = [];
  const errors: string[] = [];
  let connects = 0;
  const listener = await db.listen!(channel, (payload) => got.push(payload), { onConnect: () => (connects += 1), onError: (err) => errors.push(err.message) });
  try {
    expect(connects).toBe(1);
    await notify(channel, 'one');
    await eventually(
      async () => [...got],
      (g) => g.includes('one'),
      'the first notification',
      5_000,
    );

    expect(await terminate(channel)).toBe(1);
    await eventually(
      async () => errors.length,
      (n) => n >= 1,
      'the loss noticed',
      5_000,
    );
    await notify(channel, 'missed'); // while it waits to reconnect: lost, which is why onConnect tells
    await eventually(
      async () => connects,
      (n) => n === 2,
      'connected again',
      10_000,
    );
    await notify(channel, 'two');
    await eventually(
      async () => [...got],
      (g) => g.includes('two'),
      'a notification after reconnecting',
      5_000,
    );
    expect(got).toEqual(['one', 'two']);

    // Closed while waiting to reconnect: it stays closed.
    expect(await terminate(channel)).toBe(1);
    await eventually(
      async () => errors.length,
      (n) => n >= 2,
      'the second loss noticed',
      5_000,
    );
  } finally {
    await listener.close();
  }
  await sleep(1_200);
  expect(connects).toBe(2);
  expect(await terminate(channel)).toBe(0);
});

test('when scim_tokens is written, then each statement that changes the live tokens notifies scimflow_tokens, and recording a use does not', async () => {
  const tenant = `l-${crypto.randomBytes(4).toString('hex')}`;
  await createTenant(db, tenant, tenant);
  let n = 0;
  const listener = await db.listen!('scimflow_tokens', () => (n += 1));
  try {
    const settle = async (expected: number, what: string) => {
      await eventually(
        async () => n,
        (v) => v >= expected,
        what,
        5_000,
      );
      await sleep(100);
      expect(n).toBe(expected);
    };
    const made = await createToken(db, tenant, 'notified');
    await settle(1, 'the insert notified');
    await touchToken(db, made.id);
    await sleep(300);
    expect(n).toBe(1);
    await revokeToken(db, made.id);
    await settle(2, 'the revocation notified');
    await db.query('UPDATE scim_tokens SET expires_at = now() WHERE tenant_id = $1', [tenant]);
    await settle(3, 'the expiry change notified');
    await db.query('DELETE FROM scim_tokens WHERE tenant_id = $1', [tenant]);
    await settle(4, 'the delete notified');
  } finally {
    await listener.close();
  }
});
