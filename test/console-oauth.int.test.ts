/**
 * The Connection page's OAuth clients (client credentials, issue 25) in a real browser (Debian's
 * Chromium through playwright-core) against a real server and database (test/harness.ts): a
 * Super User creates a client and reads its id and secret from the page (shown once, in the
 * POST's answer, with the fields Microsoft Entra ID asks for); the secret gets an access token at
 * /oauth/token that lists /scim/v2/Users; a rotation stops the old secret and keeps the tokens
 * already issued; a third live client is refused in an error notice; a revocation cuts the
 * access token off at its next request. A read-only admin sees the list only. Checked with
 * axe-core (WCAG 2.1 A and AA).
 */
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { createOAuthClient } from '../common/repositories/oauth-clients';
import { createToken } from '../common/repositories/tokens';
import { axeViolations, launchBrowser } from './browser';
import { startHarness, type Harness } from './harness';

/** Not the server's default (60 min), so the page is seen to say the configured lifetime. */
const TTL_MS = 90 * 60_000;

let h: Harness;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let consoleUrl: string;
let readerToken: string;

/** Script errors and CSP violations of every page opened in a context (the page's script must run under the CSP). */
const pageErrors: string[] = [];
function watchErrors(c: BrowserContext): void {
  c.on('page', (p) => {
    p.on('pageerror', (err) => pageErrors.push(`${p.url()}: ${err.message}`));
    p.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`${p.url()}: ${m.text()}`);
    });
  });
}

async function signedIn(token: string): Promise<{ context: BrowserContext; page: Page }> {
  const c = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  watchErrors(c);
  const p = await c.newPage();
  await p.goto(consoleUrl);
  await p.getByLabel('Admin token').fill(token);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.waitForURL(consoleUrl);
  return { context: c, page: p };
}

beforeAll(async () => {
  h = await startHarness({ withWorker: false, oauthAccessTokenTtlMs: TTL_MS });
  consoleUrl = `${h.publicUrl}/console`;
  browser = await launchBrowser();
  const superToken = (await createToken(h.db, h.tenantId, 'alice', 'admin', 'Super User')).token;
  readerToken = (await createToken(h.db, h.tenantId, 'auditor', 'admin', 'Read Only')).token;
  ({ context, page } = await signedIn(superToken));
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await h?.close();
});

async function expectAccessible(p: Page, what: string): Promise<void> {
  expect({ page: what, violations: await axeViolations(p) }).toEqual({ page: what, violations: [] });
  expect({ page: what, errors: pageErrors.filter((e) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e)) }).toEqual({
    page: what,
    errors: [],
  });
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** The token endpoint, as an identity provider calls it (HTTP Basic). */
async function tokenRequest(clientId: string, secret: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${h.publicUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic(clientId, secret) },
    body: 'grant_type=client_credentials',
  });
  return { status: res.status, body: await res.json() };
}

const listUsers = async (accessToken: string) => (await fetch(`${h.baseUrl}/Users?count=1`, { headers: { Authorization: `Bearer ${accessToken}` } })).status;

/** Clicks a button that posts a form and returns the answer to that POST (not to a later request). */
async function submit(p: Page, button: string, path: string): Promise<Response> {
  const [answer] = await Promise.all([
    p.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/console${path}`),
    p.getByRole('button', { name: button, exact: true }).click(),
  ]);
  await p.waitForLoadState();
  return answer;
}

/** What the page shows for a new client or a rotated secret. */
async function shownSecret(p: Page) {
  const text = async (id: string) => (await p.textContent(`#${id}`))!.trim();
  return {
    heading: await text('h-oauth-secret'),
    tenantUrl: await text('oauth-tenant-url'),
    tokenEndpoint: await text('oauth-token-endpoint'),
    clientId: await text('oauth-client-id'),
    clientSecret: await text('oauth-client-secret'),
  };
}

/** The client's row in the OAuth clients table, cell by column header. */
async function clientRow(p: Page, clientId: string): Promise<Record<string, string>> {
  const headers = (await p.locator('#oauth-clients thead th').allTextContents()).map((t) => t.trim());
  const row = p.locator('#oauth-clients tbody tr', { has: p.locator(`code:text-is("${clientId}")`) });
  const cells = await row.locator('td').allTextContents();
  return Object.fromEntries(cells.map((c, i) => [headers[i], c.replace(/\s+/g, ' ').trim()]));
}

let clientId: string;
let firstSecret: string;
let firstAccessToken: string;
let newSecret: string;

describe('the Connection page: OAuth clients (client credentials)', () => {
  test('when a Super User creates a client, then its id, secret and token URL are shown once in the answer with the Entra fields, and the secret gets an access token that lists /Users', async () => {
    await page.goto(`${consoleUrl}/connection`);
    const section = page.locator('section[aria-labelledby="h-oauth"]');
    expect(await section.locator('h2').textContent()).toBe('OAuth clients (client credentials)');
    expect(await page.textContent('#oauth-token-url')).toBe(`${h.publicUrl}/oauth/token`);
    expect(await page.textContent('#oauth-scim-url')).toBe(h.baseUrl);
    expect((await page.textContent('#oauth-ttl'))!.replace(/\s+/g, ' ')).toContain('Access tokens live 90 min (OAUTH_ACCESS_TOKEN_TTL)');
    expect(await section.textContent()).toContain('No OAuth client yet.');

    await page.getByLabel('Name of the new OAuth client').fill('entra');
    const answer = await submit(page, 'Create OAuth client', '/connection/oauth-clients');
    // Shown in the POST's own answer: no redirect, nothing in the URL or a cookie.
    expect(answer.status()).toBe(201);
    expect(answer.request().redirectedFrom()).toBeNull();
    expect(page.url()).toBe(`${consoleUrl}/connection/oauth-clients`);
    const shown = await shownSecret(page);
    expect(shown).toEqual({
      heading: 'New OAuth client "entra"',
      tenantUrl: `${h.baseUrl}?aadOptscim062020`,
      tokenEndpoint: `${h.publicUrl}/oauth/token`,
      clientId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      clientSecret: expect.stringMatching(/^sfo_/),
    });
    const fields = (await page.locator('#oauth-fields th').allTextContents()).map((t) => t.trim());
    expect(fields).toEqual(['Tenant URL', 'Token Endpoint', 'Client Identifier', 'Client Secret']);
    ({ clientId, clientSecret: firstSecret } = shown);
    expect(page.url()).not.toContain(firstSecret);
    expect(JSON.stringify(await context.cookies())).not.toContain(firstSecret);
    expect(await clientRow(page, clientId)).toMatchObject({ Name: 'entra', 'Secret starts with': `${firstSecret.slice(0, 8)}…`, Status: 'active' });
    await expectAccessible(page, 'connection (OAuth client created)');

    const issued = await tokenRequest(clientId, firstSecret);
    expect(issued).toEqual({ status: 200, body: { access_token: expect.any(String), token_type: 'Bearer', expires_in: TTL_MS / 1000 } });
    firstAccessToken = issued.body.access_token;
    expect(await listUsers(firstAccessToken)).toBe(200);
    await h.server.requestLog.flush();

    // Shown once: the page read again lists the client without its secret, with its use.
    await page.goto(`${consoleUrl}/connection`);
    expect(await page.content()).not.toContain(firstSecret);
    expect(await page.locator('#oauth-client-secret').count()).toBe(0);
    const row = await clientRow(page, clientId);
    expect(row).toMatchObject({ Name: 'entra', 'Secret rotated': 'never', 'Live access tokens': '1', 'Last error': 'none recorded', Status: 'active' });
    expect(row['Last used']).not.toBe('never');
    expect(row['Last request']).toMatch(/ 200$/);
  });

  test('when its secret is rotated, then the new secret is shown once, the old one is refused, and the access token already issued still works', async () => {
    await page.goto(`${consoleUrl}/connection`);
    await page.getByRole('link', { name: 'Rotate secret of entra', exact: true }).click();
    expect((await page.textContent('main'))!.toLowerCase()).toContain('the old secret stops now; tokens already issued work until they expire');
    await expectAccessible(page, 'rotate an OAuth client (confirmation)');
    const answer = await submit(page, 'Rotate secret', `/connection/oauth-clients/${clientId}/rotate`);
    expect(answer.status()).toBe(200);
    const shown = await shownSecret(page);
    expect(shown).toMatchObject({ heading: 'New secret of the OAuth client "entra"', clientId, tokenEndpoint: `${h.publicUrl}/oauth/token` });
    newSecret = shown.clientSecret;
    expect(newSecret).toMatch(/^sfo_/);
    expect(newSecret).not.toBe(firstSecret);
    expect(JSON.stringify(await context.cookies())).not.toContain(newSecret);

    expect(await tokenRequest(clientId, firstSecret)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await listUsers(firstAccessToken)).toBe(200);
    const fresh = await tokenRequest(clientId, newSecret);
    expect(fresh.status).toBe(200);
    expect(await listUsers(fresh.body.access_token)).toBe(200);
    expect((await clientRow(page, clientId))['Secret rotated']).not.toBe('never');
  });

  test('when two clients are live and a third is created, then the page answers 409 with an error notice and offers no create form', async () => {
    await page.goto(`${consoleUrl}/connection`);
    // Another admin creates a second client while this page is open.
    await createOAuthClient(h.db, h.tenantId, 'okta');
    await page.getByLabel('Name of the new OAuth client').fill('third');
    const answer = await submit(page, 'Create OAuth client', '/connection/oauth-clients');
    expect(answer.status()).toBe(409);
    const alert = (await page.getByRole('alert').textContent())!;
    expect(alert).toContain('2 live OAuth clients ("entra", "okta")');
    expect(await page.locator('#oauth-client-secret').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Create OAuth client' }).count()).toBe(0);
    expect(await page.locator('section[aria-labelledby="h-oauth"]').textContent()).toContain('2 clients are live');
    await expectAccessible(page, 'connection (a third OAuth client refused)');
  });

  test('when the client is revoked, then its access tokens get 401 at the next request and its secret no longer gets one', async () => {
    await page.goto(`${consoleUrl}/connection`);
    await page.getByRole('link', { name: 'Revoke entra', exact: true }).click();
    expect((await page.textContent('main'))!.toLowerCase()).toContain('the identity provider gets 401 at its next request');
    await page.getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.waitForURL(`${consoleUrl}/connection`);
    expect(await page.getByRole('status').first().textContent()).toContain('Revoked the OAuth client "entra".');

    expect(await listUsers(firstAccessToken)).toBe(401);
    expect(await tokenRequest(clientId, newSecret)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    await page.reload();
    const row = await clientRow(page, clientId);
    expect(row).toMatchObject({ Status: expect.stringMatching(/^revoked /), 'Live access tokens': '0' });
    expect(await page.getByRole('link', { name: 'Revoke entra', exact: true }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Rotate secret of entra', exact: true }).count()).toBe(0);
    // One live client again: the form is back.
    expect(await page.getByRole('button', { name: 'Create OAuth client' }).count()).toBe(1);
  });

  test('when a read-only admin opens the page, then the clients are listed without actions, and a forged create or rotation is refused', async () => {
    const reader = await signedIn(readerToken);
    try {
      await reader.page.goto(`${consoleUrl}/connection`);
      expect(await clientRow(reader.page, clientId)).toMatchObject({ Name: 'entra', Status: expect.stringMatching(/^revoked /) });
      expect(await reader.page.locator('#oauth-clients tbody tr').count()).toBe(2);
      expect(await reader.page.getByRole('button', { name: 'Create OAuth client' }).count()).toBe(0);
      expect(await reader.page.getByRole('link', { name: /^(Rotate secret|Revoke) / }).count()).toBe(0);
      await expectAccessible(reader.page, 'connection (read-only)');

      const csrf = await reader.page.locator('input[name=_csrf]').first().inputValue();
      const live = (await h.db.query('SELECT client_id FROM oauth_clients WHERE tenant_id = $1 AND revoked_at IS NULL', [h.tenantId])).rows[0]
        .client_id as string;
      const create = await reader.page.request.post(`${consoleUrl}/connection/oauth-clients`, {
        form: { _csrf: csrf, name: 'sneaky' },
        headers: { Origin: h.publicUrl },
      });
      expect(create.status()).toBe(403);
      const rotate = await reader.page.request.post(`${consoleUrl}/connection/oauth-clients/${live}/rotate`, {
        form: { _csrf: csrf },
        headers: { Origin: h.publicUrl },
      });
      expect(rotate.status()).toBe(403);
      expect(await rotate.text()).not.toMatch(/sfo_/);
      const revoke = await reader.page.request.post(`${consoleUrl}/connection/oauth-clients/${live}/revoke`, {
        form: { _csrf: csrf },
        headers: { Origin: h.publicUrl },
      });
      expect(revoke.status()).toBe(403);
      expect((await h.db.query('SELECT count(*)::int AS n FROM oauth_clients WHERE tenant_id = $1 AND revoked_at IS NULL', [h.tenantId])).rows[0].n).toBe(1);
    } finally {
      await reader.context.close();
    }
  });
});
