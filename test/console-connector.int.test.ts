/**
 * The console's Connector section (Connection page) in a real browser (Debian's Chromium through
 * playwright-core) against a real stack (test/harness.ts): the default `directory` connector,
 * then the `http` connector provisioning into the sample application (dev/sample-app/, started
 * in this process): kind, base URL, health, the users the application refused (linked to their
 * page, whose log shows the refused call), and the "test connection" button answered in the
 * page's notice. Checked with axe-core (WCAG 2.1 A and AA).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { saveConfigVersion } from '../common/repositories/tenants';
import { createToken } from '../common/repositories/tokens';
import { secretStore } from '../connectors/secrets';
import type { RunningSampleApp } from '../dev/sample-app/server';
import { sampleAppConnector, startTestSampleApp } from './sample-app';
import { axeViolations, launchBrowser } from './browser';
import { newUser, startHarness, testTenantConfig, type Harness } from './harness';

let h: Harness;
let app: RunningSampleApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let consoleUrl: string;

const TEST_BUTTON = 'Test the connection to the application';

beforeAll(async () => {
  h = await startHarness();
  consoleUrl = `${h.publicUrl}/console`;
  app = await startTestSampleApp(h.db);
  browser = await launchBrowser();
  const superToken = (await createToken(h.db, h.tenantId, 'alice', 'admin', 'Super User')).token;
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  await page.goto(consoleUrl);
  await page.getByLabel('Admin token').fill(superToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(consoleUrl);
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await app?.close();
  await h?.close();
});

async function expectAccessible(what: string): Promise<void> {
  expect({ page: what, violations: await axeViolations(page) }).toEqual({ page: what, violations: [] });
}

/** Clicks the connector's test button; the answer is the notice of the Connection page it returns to. */
async function testConnection(): Promise<{ role: 'status' | 'alert'; text: string }> {
  await page.getByRole('button', { name: TEST_BUTTON }).click();
  await page.waitForURL(`${consoleUrl}/connection#h-connector`);
  const notice = page.locator('p.notice').first();
  const role = (await notice.getAttribute('role')) as 'status' | 'alert';
  return { role, text: (await notice.textContent())!.trim() };
}

describe('the Connection page: the connector', () => {
  test('when the tenant has the default connector, then the page says so and its test connection passes', async () => {
    await page.goto(`${consoleUrl}/connection`);
    const section = page.locator('section[aria-labelledby="h-connector"]');
    expect(await section.locator('#connector-facts').textContent()).toContain('directory');
    expect(await section.locator('#connector-health').count()).toBe(0);
    const answer = await testConnection();
    expect(answer.role).toBe('status');
    expect(answer.text).toContain('Connection to the application (directory connector');
    expect(answer.text).toContain('works');
    await expectAccessible('connection (directory connector)');
  });

  test('when the tenant provisions through the http connector, then the page shows its base URL and health, links the users the application refused, and tests it', async () => {
    const connector = sampleAppConnector(app.url);
    await secretStore(h.db).set(h.tenantId, 'sample-app-token', app.token);
    await saveConfigVersion(h.db, h.tenantId, testTenantConfig({ connector: connector as never }), 'test');

    // One user provisioned into the application, one the application refuses.
    const ok = (await h.scim('POST', '/Users', newUser())).body.id as string;
    await h.waitForState(ok, 'invited');
    app.faults.add({ fault: '400', times: 1, method: 'POST', path: '^/users$', message: 'Email domain example.org is not allowed for this client' });
    const refused = (await h.scim('POST', '/Users', newUser())).body.id as string;
    await h.waitForState(refused, 'failed');

    await page.goto(`${consoleUrl}/connection`);
    const facts = (await page.locator('#connector-facts').textContent())!;
    expect(facts).toContain('http');
    expect(facts).toContain(app.url);
    expect(facts).toContain('bearer token (secret sample-app-token)');
    expect(facts).not.toContain(app.token);
    const health = (await page.locator('#connector-health').textContent())!;
    expect(health).toMatch(/Calls per minute\s*[\d.]+ \(1 failed\)/);
    expect(health).toMatch(/p50 \d+ ms · p95 \d+ ms/);
    expect(health).toContain('Email domain example.org is not allowed for this client');
    const failing = page.locator('#connector-failing li');
    expect(await failing.count()).toBe(1);
    expect(await failing.textContent()).toContain('permanent');
    await expectAccessible('connection (http connector)');

    // The failing user is a link to its page, whose log shows the refused call.
    await failing.getByRole('link', { name: refused }).click();
    await page.waitForURL(`${consoleUrl}/users/${refused}`);
    expect(await page.textContent('#live')).toContain('Application refused createAccount (HTTP 400)');

    await page.goto(`${consoleUrl}/connection`);
    const works = await testConnection();
    expect(works.role).toBe('status');
    expect(works.text).toContain(`works. reached ${app.url} with the configured credentials`);

    // A token the application does not accept: the notice says so, as an alert.
    await secretStore(h.db).set(h.tenantId, 'sample-app-token', 'not-the-token');
    const fails = await testConnection();
    expect(fails.role).toBe('alert');
    expect(fails.text).toContain('failed. reached');
    expect(fails.text).toContain("refused scimflow's credentials (HTTP 401)");
    await secretStore(h.db).set(h.tenantId, 'sample-app-token', app.token);
  });

  test('when a draft policy names a connector secret the tenant does not have, then the policy page shows the problem with its path, on check and on save, and saves nothing', async () => {
    await page.goto(`${consoleUrl}/policy`);
    const current = await page.getByLabel('Configuration (YAML or JSON)').inputValue();
    expect(current).toContain('secret: sample-app-token');
    const versions = async () => (await h.db.query('SELECT count(*)::int AS n FROM tenant_config_versions WHERE tenant_id = $1', [h.tenantId])).rows[0].n;
    const before = await versions();
    await page.getByLabel('Configuration (YAML or JSON)').fill(current.replace('secret: sample-app-token', 'secret: not-set-yet'));
    await page.getByRole('button', { name: 'Check and preview' }).click();
    await page.waitForLoadState();
    expect(await page.locator('ul.problems').textContent()).toContain('connector.auth.bearer.secret');
    expect(await page.locator('ul.problems').textContent()).toContain('no secret named not-set-yet');
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await page.waitForLoadState();
    expect(await page.locator('ul.problems').textContent()).toContain('no secret named not-set-yet');
    expect(await versions()).toBe(before);
    await expectAccessible('policy (connector problems)');
  });
});
