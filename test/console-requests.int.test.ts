/**
 * The console's Requests page (the SCIM request log) in a real browser (Debian's Chromium through
 * playwright-core) against a real SCIM server and PostgreSQL: a refused push is found by its
 * status with what the identity provider was told; the page passes axe at 1280 px and 390 px.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createToken } from '../common/repositories/tokens';
import { axeViolations, launchBrowser } from './browser';
import { newUser, startHarness, type Harness } from './harness';

let h: Harness;
let browser: Browser;
let adminToken: string;
let consoleUrl: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  h = await startHarness({ withWorker: false });
  adminToken = (await createToken(h.db, h.tenantId, 'auditor', 'admin', 'Read Only')).token;
  consoleUrl = `${h.publicUrl}/console`;
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function signedIn(viewport: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(`${page.url()}: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`${page.url()}: ${m.text()}`);
  });
  await page.goto(consoleUrl);
  await page.getByLabel('Admin token').fill(adminToken);
  await page.keyboard.press('Enter');
  await page.waitForURL(consoleUrl);
  return { context, page };
}

async function expectAccessible(page: Page, what: string): Promise<void> {
  const violations = await axeViolations(page);
  expect({ page: what, violations }).toEqual({ page: what, violations: [] });
  // A 4xx resource load (the browser's favicon request) is not a script error.
  const errors = pageErrors.filter((e) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e));
  expect({ page: what, errors }).toEqual({ page: what, errors: [] });
}

test('when an admin opens Requests and filters by 4xx, then the refused push is listed with its detail, and the page passes axe at 1280 and 390 px', async () => {
  const refusedUser = newUser({ emails: [{ value: 'jane at example', type: 'work', primary: true }] });
  const refused = await h.scim('POST', '/Users', refusedUser);
  expect(refused.status).toBe(400);
  const accepted = newUser();
  expect((await h.scim('POST', '/Users', accepted)).status).toBe(201);
  await h.server.requestLog.flush();

  for (const viewport of [
    { width: 1280, height: 800 },
    { width: 390, height: 844 },
  ]) {
    const { context, page } = await signedIn(viewport);
    if (viewport.width > 800) await page.getByRole('link', { name: 'Requests' }).click();
    else await page.goto(`${consoleUrl}/requests`);
    await page.waitForURL(`${consoleUrl}/requests`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Requests');
    // Unfiltered: both pushes.
    const table = page.getByRole('region', { name: 'Requests found' });
    expect(await table.textContent()).toContain(accepted.userName);

    await page.getByLabel('Status').selectOption('4xx');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/status=4xx/);
    const text = (await page.getByRole('region', { name: 'Requests found' }).textContent()) ?? '';
    expect(text).toContain(refusedUser.userName);
    expect(text).toContain(refused.body.detail);
    expect(text).toContain('400');
    expect(text).not.toContain(accepted.userName);
    await expectAccessible(page, `requests?status=4xx at ${viewport.width} px`);

    // The Connection page shows the token's last error.
    await page.goto(`${consoleUrl}/connection`);
    expect(await page.getByRole('region', { name: 'SCIM tokens, table' }).textContent()).toContain(refused.body.detail);
    await expectAccessible(page, `connection at ${viewport.width} px`);
    await context.close();
  }
}, 60_000);
