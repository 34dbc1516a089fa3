/**
 * "A valid credential is always served; only failures are throttled" (issue 21, item 4),
 * against the real server and database: whatever an address's failure budget, a token that is
 * valid now (never used before, created after the server started, by another writer, on
 * another SCIM server) is answered as usual, while wrong tokens from that address get 429
 * before any look-up. Each test sends from loopback addresses of its own (127.0.0.0/8), so its
 * throttled addresses are its own.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { createLogger } from '../common/logger';
import { createMetrics } from '../common/metrics';
import { createToken, revokeToken } from '../common/repositories/tokens';
import { runScimServer } from '../scim-server/run-server';
import { MAIL_FROM, startHarness, type Harness } from './harness';

const LIMIT = { perMinute: 6, burst: 20 };
/** Longer than a notification takes to arrive and be loaded (a debounce of 50 ms and one query). */
const NOTIFY_WAIT_MS = 500;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ withWorker: false, failureLimit: LIMIT });
});
afterAll(async () => h?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let lastOctet = 10;
/** A loopback address no test has sent from yet. */
const freshAddress = () => `127.0.0.${lastOctet++}`;

interface Answer {
  status: number;
  retryAfter: string | undefined;
  text: string;
}

/** One request from the local address `from` (a connection of its own). */
function send(from: string, method: string, url: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, localAddress: from, agent: false, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const scimUsers = (from: string, token: string, baseUrl = h.baseUrl) => send(from, 'GET', `${baseUrl}/Users?count=1`, { Authorization: `Bearer ${token}` });
const adminGet = (from: string, token: string, route: string) => send(from, 'GET', `${h.publicUrl}/admin/v1${route}`, { Authorization: `Bearer ${token}` });
const consoleSignIn = (from: string, token: string) =>
  send(from, 'POST', `${h.publicUrl}/console/sign-in`, { 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams({ token }).toString());
const guess = (prefix: 'sfs' | 'sfa') => `${prefix}_${crypto.randomBytes(32).toString('base64url')}`;

/** Sends 50 wrong tokens from `from`; the first `burst` are 401, the rest 429 (the address is throttled). */
async function throttle(from: string, request: (token: string) => Promise<Answer>, prefix: 'sfs' | 'sfa' = 'sfs'): Promise<void> {
  const statuses: number[] = [];
  for (let i = 0; i < 50; i++) statuses.push((await request(guess(prefix))).status);
  expect(statuses.slice(0, LIMIT.burst)).toEqual(Array(LIMIT.burst).fill(401));
  expect(statuses.slice(LIMIT.burst)).toEqual(Array(50 - LIMIT.burst).fill(429));
}

/** Polls until `request` answers `status`; returns the milliseconds it took and the statuses seen before. */
async function timeUntil(status: number, request: () => Promise<Answer>, timeoutMs = 5_000): Promise<{ ms: number; before: number[] }> {
  const start = Date.now();
  const before: number[] = [];
  for (;;) {
    const answer = await request();
    if (answer.status === status) return { ms: Date.now() - start, before };
    before.push(answer.status);
    if (Date.now() - start > timeoutMs) throw new Error(`still ${answer.status} after ${timeoutMs} ms`);
    await sleep(20);
  }
}

describe('a valid credential is always served; only failures are throttled', () => {
  test('when an address sent 50 wrong tokens, then a SCIM token never used before (created before the server started, or after it) is answered 200, and the next wrong token 429 with Retry-After', async () => {
    const from = freshAddress();
    await throttle(from, (token) => scimUsers(from, token));
    // The tenant's token was created before this server started and has never been used: a restarted server's case.
    expect((await scimUsers(from, h.token)).status).toBe(200);
    // A token created after the server started (a rotation), never used before.
    const rotated = await createToken(h.db, h.tenantId, 'rotated');
    await sleep(NOTIFY_WAIT_MS);
    expect((await scimUsers(from, rotated.token)).status).toBe(200);
    const wrong = await scimUsers(from, guess('sfs'));
    expect(wrong.status).toBe(429);
    expect(Number(wrong.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(wrong.text).detail).toMatch(/Too many failed authentications from this address/);
    // No header at all is a failure too.
    expect((await send(from, 'GET', `${h.baseUrl}/Users?count=1`)).status).toBe(429);
  });

  test('when an address sent 50 wrong admin tokens, then an admin token created after the server started is answered on the admin API and signs in to the console, a SCIM token it creates is served at once, and wrong tokens get 429', async () => {
    const from = freshAddress();
    await throttle(from, (token) => adminGet(from, token, '/tenants'), 'sfa');
    const tenant = `rot-${crypto.randomBytes(4).toString('hex')}`;
    await h.newTenant(tenant);
    const admin = await createToken(h.db, tenant, 'operator', 'admin', 'Super User');
    await sleep(NOTIFY_WAIT_MS);
    expect((await adminGet(from, admin.token, `/tenants/${tenant}/tokens`)).status).toBe(200);
    const wrong = await adminGet(from, guess('sfa'), `/tenants/${tenant}/tokens`);
    expect(wrong.status).toBe(429);
    expect(Number(wrong.retryAfter)).toBeGreaterThanOrEqual(1);

    expect((await consoleSignIn(from, admin.token)).status).toBe(303);
    const guessed = await consoleSignIn(from, guess('sfa'));
    expect(guessed.status).toBe(429);
    expect(guessed.text).toMatch(/Too many failed sign-ins from this address/);

    // A rotation through the admin API: the new SCIM token is served to the (throttled) IdP's address.
    const made = await send(
      from,
      'POST',
      `${h.publicUrl}/admin/v1/tenants/${tenant}/tokens`,
      { Authorization: `Bearer ${admin.token}`, 'Content-Type': 'application/json' },
      JSON.stringify({ name: 'entra-next' }),
    );
    expect(made.status).toBe(201);
    await sleep(NOTIFY_WAIT_MS);
    expect((await scimUsers(from, JSON.parse(made.text).token)).status).toBe(200);
  });

  test('when another writer creates a token in the database, then a second SCIM server on it serves the token to a throttled address within a second, without having seen it before', async () => {
    const second = await runScimServer({
      db: h.db,
      logger: createLogger('silent'),
      temporal: async () => h.client,
      taskQueue: h.taskQueue,
      host: '127.0.0.1',
      port: 0,
      bodyLimitBytes: 1024 * 1024,
      rateLimit: { perSecond: 100_000, burst: 100_000 },
      tokenCacheMs: 0,
      failureLimit: LIMIT,
      metrics: createMetrics(),
      senderPolicy: { platformFrom: MAIL_FROM, allowedFromDomains: [] },
    });
    try {
      const baseUrl = `${second.url}/scim/v2`;
      const from = freshAddress();
      await throttle(from, (token) => scimUsers(from, token, baseUrl));
      expect((await scimUsers(from, h.token, baseUrl)).status).toBe(200);
      const other = await createToken(h.db, h.tenantId, 'written-elsewhere');
      // Until the notification is loaded the token cannot be told from a guess (429, no look-up); then it is served.
      const served = await timeUntil(200, () => scimUsers(from, other.token, baseUrl));
      expect(served.ms).toBeLessThan(1_000);
      expect(served.before.every((s) => s === 429)).toBe(true);
      expect((await scimUsers(from, guess('sfs'), baseUrl)).status).toBe(429);
    } finally {
      await second.close();
    }
  });

  test('when a token is revoked, then within a second a throttled address is refused it before any look-up, and each use of it counts as a failure', async () => {
    const from = freshAddress();
    await throttle(from, (token) => scimUsers(from, token));
    const doomed = await createToken(h.db, h.tenantId, 'doomed');
    await sleep(NOTIFY_WAIT_MS);
    expect((await scimUsers(from, doomed.token)).status).toBe(200);

    expect(await revokeToken(h.db, doomed.id)).toBe(true);
    const refused = await timeUntil(429, () => scimUsers(from, doomed.token));
    expect(refused.ms).toBeLessThan(1_000);
    expect(refused.before.every((s) => s === 401)).toBe(true); // looked up and refused until the notification arrived

    // From an address with its budget intact: refused with 401, and each use counts against the budget.
    const other = freshAddress();
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT.burst; i++) statuses.push((await scimUsers(other, doomed.token)).status);
    expect(statuses.slice(0, LIMIT.burst)).toEqual(Array(LIMIT.burst).fill(401));
    expect(statuses[LIMIT.burst]).toBe(429);
  });
});
