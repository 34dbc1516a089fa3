/** Bearer tokens and the per-token rate limit, against the real server and database. */
import { createToken, listTokens, revokeToken, verifyToken } from '../common/repositories/tokens';
import { newUser, startHarness, type Harness } from '../test/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ withWorker: false, rateLimit: { perSecond: 2, burst: 5 } });
});
afterAll(async () => h?.close());

const get = (token: string | undefined) => fetch(`${h.baseUrl}/Users?count=1`, { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } });

test('when no token, an unknown token or a revoked token is sent, then the answer is 401 with a SCIM error and a Bearer challenge', async () => {
  for (const token of [undefined, 'sfs_not-a-real-token-at-all-0000000000000000000']) {
    const res = await get(token);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
    expect(res.headers.get('content-type')).toContain('application/scim+json');
    expect(((await res.json()) as { schemas: string[] }).schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
  }
  const { token, id } = await createToken(h.db, h.tenantId, 'to-revoke');
  expect((await get(token)).status).toBe(200);
  expect(await revokeToken(h.db, id)).toBe(true);
  expect((await get(token)).status).toBe(401);
});

test('when tokens are stored, then only a hash is kept and the listing never shows the token', async () => {
  const { token } = await createToken(h.db, h.tenantId, 'stored');
  const rows = (await h.db.query<{ token_hash: string; prefix: string }>('SELECT token_hash, prefix FROM scim_tokens WHERE name = $1', ['stored'])).rows;
  expect(rows[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
  expect(rows[0].token_hash).not.toContain(token);
  expect(token.startsWith(rows[0].prefix)).toBe(true);
  expect(JSON.stringify(await listTokens(h.db, h.tenantId))).not.toContain(token);
  expect(await verifyToken(h.db, token)).toMatchObject({ tenantId: h.tenantId });
  expect(await verifyToken(h.db, `${token}x`)).toBeUndefined();
});

test('when a token exceeds its request budget, then it gets 429 with Retry-After, and other tokens are not affected', async () => {
  const { token } = await createToken(h.db, h.tenantId, 'busy');
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < 12; i++) {
    const res = await get(token);
    statuses.push(res.status);
    if (res.status === 429) retryAfter = res.headers.get('retry-after');
  }
  expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5);
  expect(statuses).toContain(429);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  const other = await createToken(h.db, h.tenantId, 'quiet');
  expect((await get(other.token)).status).toBe(200);
});

test('when a rate-limited request is a write, then nothing is changed', async () => {
  const { token } = await createToken(h.db, h.tenantId, 'writer');
  const before = (await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1', [h.tenantId])).rows[0].n;
  const results: number[] = [];
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${h.baseUrl}/Users`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' },
      body: JSON.stringify(newUser()),
    });
    results.push(res.status);
  }
  const created = results.filter((s) => s === 201).length;
  expect(results).toContain(429);
  const after = (await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1', [h.tenantId])).rows[0].n;
  expect(after - before).toBe(created);
});
