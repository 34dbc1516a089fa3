/**
 * Credentials and what they reach, against the real server and database: failures throttled
 * per client address (finding 10), monitoring on the ops port behind its token (finding 11),
 * token expiry with its metric (the optional item of the same issue).
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { createToken } from '../common/repositories/tokens';
import { newUser, startHarness, type Harness } from './harness';

const OPS_TOKEN = `ops_${crypto.randomBytes(24).toString('base64url')}`;
let h: Harness;
/** A server of its own for the throttling tests: their address stays throttled for minutes. */
let t: Harness;
beforeAll(async () => {
  h = await startHarness({ withWorker: false, opsToken: OPS_TOKEN });
  t = await startHarness({ failureLimit: { perMinute: 6, burst: 20 } });
});
afterAll(async () => {
  await h?.close();
  await t?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const consoleSignIn = (harness: Harness, token: string) =>
  fetch(`${harness.publicUrl}/console/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
    redirect: 'manual',
  });
const users = (token: string, harness = h) => fetch(`${harness.baseUrl}/Users?count=1`, { headers: { Authorization: `Bearer ${token}` } });

describe('finding 10: failures are throttled per client address', () => {
  test('when one client sends 300 wrong bearer tokens, then after the burst it gets 429 with Retry-After (no lookup) on the SCIM API, the admin API and the console sign-in, and valid tokens still pass', async () => {
    // The IdP's token and an operator's console sign-in at work from this address before the guessing starts.
    expect((await users(t.token, t)).status).toBe(200);
    const operator = await createToken(t.db, t.tenantId, 'operator', 'admin', 'Super User');
    expect((await consoleSignIn(t, operator.token)).status).toBe(303);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 300; i++) {
      const res = await users(`sfs_guess_${i}_${crypto.randomBytes(8).toString('hex')}`, t);
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers.get('retry-after');
        expect(((await res.json()) as { detail: string }).detail).toMatch(/Too many failed authentications from this address/);
      } else await res.text();
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    // The tenant's own token, from the same (throttled) address: answered as usual.
    expect((await users(t.token, t)).status).toBe(200);
    // So is a live token this address has never used (test/credential-throttle.int.test.ts has the cases).
    const fresh = await createToken(t.db, t.tenantId, 'fresh');
    await sleep(500); // the server learns of it by NOTIFY within milliseconds
    expect((await users(fresh.token, t)).status).toBe(200);
    // The admin API shares the budget.
    const admin = await fetch(`${t.publicUrl}/admin/v1/tenants`, { headers: { Authorization: 'Bearer sfa_wrong' } });
    expect(admin.status).toBe(429);
    expect(admin.headers.get('retry-after')).toBeTruthy();
    // So does the console's sign-in: a guessed admin token is refused before it is looked up,
    // while the operator's token, live, still signs in.
    const guessed = await consoleSignIn(t, `sfa_${crypto.randomBytes(32).toString('base64url')}`);
    expect(guessed.status).toBe(429);
    expect(await guessed.text()).toMatch(/Too many failed sign-ins from this address/);
    expect((await consoleSignIn(t, operator.token)).status).toBe(303);
  });

  test('when one client tries 100 guessed invitation links, then after the burst it gets 429 with Retry-After, and a link it used before still opens', async () => {
    const user = newUser();
    const created = await t.scim('POST', '/Users', user);
    expect(created.status).toBe(201);
    await t.waitForState(created.body.id, 'invited');
    const link = t.acceptLink(user.userName);
    expect((await fetch(link)).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${t.publicUrl}/invitations/${crypto.randomBytes(32).toString('base64url')}`);
      await res.text();
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 20).every((s) => s === 404)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    const limited = await fetch(`${t.publicUrl}/invitations/${crypto.randomBytes(32).toString('base64url')}`);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await fetch(link)).status).toBe(200);
  });
});

describe('finding 11: monitoring is on the ops port, behind its token', () => {
  test('when /metrics and /readyz are asked on the public port, then 404; on the ops port, 401 without the ops token and 200 with it', async () => {
    expect((await fetch(`${h.publicUrl}/metrics`)).status).toBe(404);
    expect((await fetch(`${h.publicUrl}/readyz`)).status).toBe(404);
    expect((await fetch(`${h.publicUrl}/healthz`)).status).toBe(200);
    expect(h.opsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${h.opsUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${h.opsUrl}/readyz`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${h.opsUrl}/healthz`)).status).toBe(200);
    const metrics = await fetch(`${h.opsUrl}/metrics`, { headers: { Authorization: `Bearer ${OPS_TOKEN}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('scimflow_scim_requests_total');
    const ready = await fetch(`${h.opsUrl}/readyz`, { headers: { Authorization: `Bearer ${OPS_TOKEN}` } });
    expect(((await ready.json()) as { checks: Record<string, string> }).checks.database).toBe('ok');
  });
});

describe('token expiry', () => {
  test('when a token is created to expire, then it works until then, is refused after with the reason, and is counted while it expires soon', async () => {
    const expiring = await createToken(h.db, h.tenantId, 'short', 'scim', undefined, 1500);
    expect(expiring.expiresAt).toBeInstanceOf(Date);
    const longer = await createToken(h.db, h.tenantId, 'ten-days', 'admin', 'Super User', 10 * 86_400_000);
    expect((await users(expiring.token)).status).toBe(200);

    await sleep(600); // past the gauges' scrape cache (0.5 s)
    const scrape = await (await fetch(`${h.opsUrl}/metrics`, { headers: { Authorization: `Bearer ${OPS_TOKEN}` } })).text();
    expect(scrape).toMatch(new RegExp(`^scimflow_tokens_expiring_soon\\{tenant="${h.tenantId}",kind="admin"\\} 1$`, 'm'));
    expect(scrape).toMatch(new RegExp(`^scimflow_tokens_expiring_soon\\{tenant="${h.tenantId}",kind="scim"\\} 1$`, 'm'));

    const listed = await fetch(`${h.publicUrl}/admin/v1/tenants/${h.tenantId}/tokens`, { headers: { Authorization: `Bearer ${longer.token}` } });
    const tokens = ((await listed.json()) as { tokens: { id: string; expiresAt: string | null; kind: string }[] }).tokens;
    expect(tokens.find((t) => t.id === longer.id)?.expiresAt).toBe(new Date(longer.expiresAt as Date).toISOString());
    expect(tokens.find((t) => t.id === expiring.id)).toMatchObject({ kind: 'scim' });
    expect(JSON.stringify(tokens)).not.toContain(longer.token);

    await sleep(1700);
    const refused = await users(expiring.token);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/expired at \d{4}-/);

    // The admin API creates SCIM tokens that expire, too (after the expired one is revoked: two live SCIM tokens at most).
    const asAdmin = (method: string, path: string, body?: unknown) =>
      fetch(`${h.publicUrl}/admin/v1/tenants/${h.tenantId}${path}`, {
        method,
        headers: { Authorization: `Bearer ${longer.token}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    expect((await asAdmin('POST', `/tokens/${expiring.id}/revoke`)).status).toBe(200);
    expect((await asAdmin('POST', '/tokens', { name: 'okta-2025', expires: 'soon' })).status).toBe(400);
    const made = await asAdmin('POST', '/tokens', { name: 'okta-2025', expires: '30d' });
    expect(made.status).toBe(201);
    const expiresAt = ((await made.json()) as { expiresAt: string }).expiresAt;
    expect(Math.round((Date.parse(expiresAt) - Date.now()) / 86_400_000)).toBe(30);
  });

  test('when the tokens CLI creates with --expires and lists, then the listing shows each expiry', async () => {
    const run = promisify(execFile);
    const env = { ...process.env, DATABASE_URL: h.databaseUrlForChildren as string, LOG_LEVEL: 'silent' };
    const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'cli/tokens.ts', ...args], { cwd: path.join(__dirname, '..'), env });
    const created = await cli('create', '--tenant', h.tenantId, '--name', 'rotating', '--expires', '90d');
    expect(created.stdout).toMatch(/^SCIM_TOKEN=sfs_/m);
    expect(created.stderr).toMatch(/expires at \d{4}-/);
    const listed = (await cli('list', '--tenant', h.tenantId)).stdout.split('\n');
    const line = listed.find((l) => l.includes('name=rotating')) as string;
    const expires = /expires=(\S+)/.exec(line)?.[1] as string;
    expect(Math.round((Date.parse(expires) - Date.now()) / 86_400_000)).toBe(90);
    expect(listed.find((l) => l.includes('name=test'))).toMatch(/expires=never/);
    await expect(cli('create', '--tenant', h.tenantId, '--expires', 'soon')).rejects.toThrow(/--expires "soon" must be a duration/);
  });
});
