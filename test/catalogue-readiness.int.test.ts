/**
 * The Okta Integration Network's submission rules (issue 25), and the readiness check an
 * operator runs before submitting to the catalogues (`npm run catalogue-check`,
 * cli/catalogue-check.ts; the rules in domain/catalogue-readiness.ts): Okta wants the same
 * listing order whatever `count` and `startIndex`, and an HTTPS base URL without underscores;
 * the Entra gallery wants OAuth client credentials with access tokens of 60 to 360 minutes. No
 * worker: only the SCIM surface and the CLI against this harness's database.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createOAuthClient, revokeOAuthClient } from '../common/repositories/oauth-clients';
import { newUser, startHarness, type Harness } from './harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ withWorker: false });
});
afterAll(async () => h?.close());

describe('Okta OIN: the same listing order whatever count and startIndex', () => {
  test('when Okta lists 23 users with page sizes 1, 2, 5, 7 and 100 and from odd start indexes, then every walk and every page is a slice of one order', async () => {
    const tenant = `oin-${Date.now().toString(36)}`;
    const token = await h.newTenant(tenant);
    const list = async (query: string): Promise<string[]> => {
      const res = await h.scim('GET', `/Users?${query}`, undefined, { Authorization: `Bearer ${token}` });
      expect(res.status).toBe(200);
      return (res.body.Resources ?? []).map((r: { id: string }) => r.id);
    };
    for (let i = 0; i < 23; i++) {
      const res = await h.scim('POST', '/Users', newUser(), { Authorization: `Bearer ${token}` });
      expect(res.status).toBe(201);
    }

    const order = await list('startIndex=1&count=100');
    expect(order).toHaveLength(23);
    expect(await list('')).toEqual(order);
    for (const count of [1, 2, 5, 7]) {
      const walked: string[] = [];
      for (let startIndex = 1; startIndex <= 23; startIndex += count) walked.push(...(await list(`startIndex=${startIndex}&count=${count}`)));
      expect({ count, walked }).toEqual({ count, walked: order });
    }
    for (const [startIndex, count] of [
      [4, 3],
      [9, 10],
      [22, 5],
    ]) {
      expect({ startIndex, count, page: await list(`startIndex=${startIndex}&count=${count}`) }).toEqual({
        startIndex,
        count,
        page: order.slice(startIndex - 1, startIndex - 1 + count),
      });
    }
    // Okta's import filters nothing, but a filtered list keeps the same relative order.
    const filtered = await list(`startIndex=1&count=100&filter=${encodeURIComponent('active eq true')}`);
    expect(filtered).toEqual(order);
  });
});

describe('npm run catalogue-check', () => {
  const run = promisify(execFile);
  // A DATA_DIR of its own: no `npm start` of this clone lends the CLI its addresses.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-catalogue-check-'));
  const check = (env: Record<string, string>, ...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'cli/catalogue-check.ts', ...args], {
      cwd: path.join(__dirname, '..'),
      env: { ...process.env, DATABASE_URL: h.databaseUrlForChildren, DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
    );

  test('when the deployment is public HTTPS without underscores, has an OAuth client and 90-minute tokens, then every check passes and it exits 0; an http URL with an underscore, no live client and 30-minute tokens fail with their reasons and exit 1', async () => {
    const { clientId } = await createOAuthClient(h.db, h.tenantId, 'entra');

    const good = await check({ PUBLIC_URL: 'https://scim.care-group.example.com', OAUTH_ACCESS_TOKEN_TTL: '90m' }, '--tenant', h.tenantId);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(
      /^PASS {2}https\s+\[Okta OIN, Entra gallery\] {2}the SCIM base URL https:\/\/scim\.care-group\.example\.com\/scim\/v2 uses HTTPS\.$/m,
    );
    expect(good.stdout).toMatch(/^PASS {2}oauth-client\s+\[Entra gallery\] {2}the tenant has 1 OAuth client \("entra"\)/m);
    expect(good.stdout).toMatch(/^PASS {2}access-token-lifetime\s+\[Entra gallery\] {2}access tokens live 90 min/m);
    expect(good.stdout).toMatch(/^Ready: every check passed\.$/m);
    expect(good.stdout).not.toMatch(/^FAIL/m);

    await revokeOAuthClient(h.db, clientId);
    const bad = await check({ PUBLIC_URL: 'http://scim_flow.care-group.example.com', OAUTH_ACCESS_TOKEN_TTL: '30m' }, '--tenant', h.tenantId, '--json');
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout);
    expect(report).toMatchObject({ tenant: h.tenantId, ok: false });
    expect(Object.fromEntries(report.checks.map((c: { id: string; ok: boolean }) => [c.id, c.ok]))).toEqual({
      https: false,
      'no-underscore': false,
      'public-host': true,
      'oauth-client': false,
      'access-token-lifetime': false,
    });
    const reason = (id: string) => report.checks.find((c: { id: string }) => c.id === id).reason as string;
    expect(reason('https')).toContain('set PUBLIC_URL');
    expect(reason('no-underscore')).toContain('host "scim_flow.care-group.example.com"');
    expect(reason('oauth-client')).toContain('npm run tokens -- create-client');
    expect(reason('access-token-lifetime')).toContain('30 min');
  });

  test('when the tenant is missing or not named, then it says so and exits 2 without a report', async () => {
    const missing = await check({ PUBLIC_URL: 'https://scim.care-group.example.com' }, '--tenant', 'no-such-tenant');
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toContain('tenant "no-such-tenant" does not exist');
    const unnamed = await check({});
    expect(unnamed).toMatchObject({ code: 2, stdout: '' });
    expect(unnamed.stderr).toContain('--tenant is required');
  });
});
