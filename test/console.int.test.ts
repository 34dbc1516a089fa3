/**
 * The admin console in a real browser (Debian's Chromium through playwright-core) against a real
 * stack: Temporal dev server, PostgreSQL, SMTP, worker and SCIM server (test/harness.ts).
 * Every page is checked with axe-core (WCAG 2.1 A and AA). With SCIMFLOW_SCREENSHOTS=1 the main
 * pages are saved under docs/images/ (`npm run screenshots`).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { saveConfigVersion } from '../common/repositories/tenants';
import { createToken } from '../common/repositories/tokens';
import { parseTenantConfigDocument } from '../domain/tenant-config-document';
import { USER_ACTIONS } from '../console/pages/user';
import { axeViolations, launchBrowser } from './browser';
import { EXT, newUser, PATCH_OP, startHarness, testTenantConfig, type Harness } from './harness';

const SCREENSHOTS = process.env.SCIMFLOW_SCREENSHOTS === '1';
const IMAGES = path.join(__dirname, '..', 'docs', 'images');

let h: Harness;
let browser: Browser;
let superToken: string;
let readerToken: string;
let consoleUrl: string;

beforeAll(async () => {
  // A security-role window of a few seconds, so a user's page shows the wait before the invitation.
  h = await startHarness({
    tenantConfig: testTenantConfig({ propagation: { tags: '0s', securityRole: '4s' } }),
    temporalUi: { url: 'http://127.0.0.1:8233', namespace: 'default' },
  });
  superToken = (await createToken(h.db, h.tenantId, 'alice', 'admin', 'Super User')).token;
  readerToken = (await createToken(h.db, h.tenantId, 'auditor', 'admin', 'Read Only')).token;
  consoleUrl = `${h.publicUrl}/console`;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** Script errors and CSP violations of every page opened in the context (the pages' script must run under the CSP). */
const pageErrors: string[] = [];
function watchErrors(context: BrowserContext): void {
  context.on('page', (p) => {
    p.on('pageerror', (err) => pageErrors.push(`${p.url()}: ${err.message}`));
    p.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`${p.url()}: ${m.text()}`);
    });
  });
}

async function signedIn(token: string, viewport = { width: 1280, height: 800 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  watchErrors(context);
  const page = await context.newPage();
  await page.goto(consoleUrl);
  expect(page.url()).toContain('/console/sign-in');
  // Keyboard only: focus the field, type, Enter.
  await page.getByLabel('Admin token').focus();
  await page.keyboard.type(token);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${consoleUrl}`);
  return { context, page };
}

async function expectAccessible(page: Page, what: string): Promise<void> {
  const violations = await axeViolations(page);
  expect({ page: what, violations }).toEqual({ page: what, violations: [] });
  expect({ page: what, errors: pageErrors.filter((e) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e)) }).toEqual({
    page: what,
    errors: [],
  });
}

async function screenshot(page: Page, name: string, scrollTo?: string): Promise<void> {
  if (!SCREENSHOTS) return;
  if (scrollTo)
    await page
      .locator(scrollTo)
      .first()
      .evaluate((el) => el.scrollIntoView({ block: 'start' }));
  fs.mkdirSync(IMAGES, { recursive: true });
  await page.screenshot({ path: path.join(IMAGES, `console-${name}.png`), fullPage: false });
}

/** No horizontal scrolling at this width (tablet and desktop); names the elements that stick out when there is. */
async function expectNoHorizontalScroll(page: Page): Promise<void> {
  const wider = await page.evaluate(() => {
    const doc = (globalThis as any).document;
    const width = (globalThis as any).innerWidth;
    if (doc.documentElement.scrollWidth <= width) return [];
    return [...doc.querySelectorAll('body *')]
      .filter((el: any) => el.getBoundingClientRect().right > width + 1)
      .slice(0, 5)
      .map((el: any) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${el.className} (${Math.round(el.getBoundingClientRect().right)} px)`);
  });
  expect({ url: page.url(), wider }).toEqual({ url: page.url(), wider: [] });
}

async function pushUser(extra: Record<string, unknown> = {}): Promise<{ id: string; userName: string; familyName: string }> {
  const user = newUser(extra);
  const res = await h.scim('POST', '/Users', user);
  expect(res.status).toBe(201);
  return { id: res.body.id, userName: user.userName, familyName: (user.name as { familyName: string }).familyName };
}

describe('signing in', () => {
  test('when the sign-in page is served, then it has a strict CSP, a framing guard and no violations', async () => {
    const res = await fetch(`${consoleUrl}/sign-in`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${consoleUrl}/sign-in`);
    await expectAccessible(page, 'sign-in');
    await screenshot(page, 'sign-in');
    await context.close();
  });

  test('when a wrong token or a SCIM token is given, then sign-in is refused with a reason', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${consoleUrl}/sign-in`);
    await page.getByLabel('Admin token').fill(h.token); // the IdP's SCIM token
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('SCIM token');
    expect((await context.cookies()).find((c) => c.name === 'scimflow_console')).toBeUndefined();
    await context.close();
  });

  test('when a Super User signs in, then the session cookie is HttpOnly, SameSite=Strict, expiring, and sign-out ends it', async () => {
    const { context, page } = await signedIn(superToken);
    const cookie = (await context.cookies()).find((c) => c.name === 'scimflow_console')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    expect(cookie.expires).toBeGreaterThan(Date.now() / 1000);
    expect(cookie.expires).toBeLessThan(Date.now() / 1000 + 9 * 3600);
    expect(await page.textContent('header')).toContain('Super User');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/console\/sign-in$/);
    await page.goto(`${consoleUrl}/users`);
    expect(page.url()).toContain('/console/sign-in');
    await context.close();
  });

  test('when the admin token is revoked, then its console session ends at the next request', async () => {
    const { token, id } = await createToken(h.db, h.tenantId, 'temp', 'admin', 'Super User');
    const { context, page } = await signedIn(token);
    await h.db.query('UPDATE scim_tokens SET revoked_at = now() WHERE id = $1', [id]);
    await page.goto(`${consoleUrl}/users`);
    expect(page.url()).toContain('/console/sign-in');
    await context.close();
  });
});

describe('a Super User', () => {
  let context: BrowserContext;
  let page: Page;
  let jane: { id: string; userName: string; familyName: string };

  beforeAll(async () => {
    ({ context, page } = await signedIn(superToken));
    // Users in a few states for the overview: one held for data (no first name).
    await pushUser({ name: { familyName: 'Nofirstname' } });
    jane = await pushUser({ [EXT]: { securityRole: 'VOB Worker' } });
  });
  afterAll(async () => context.close());

  test('when a user is pushed over SCIM, then it is found by search and followed from onboarding to invited on its page without a reload', async () => {
    await page.goto(`${consoleUrl}/users`);
    await page.getByLabel('Name, userName, email or id').fill(jane.familyName);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: `Test ${jane.familyName}`, exact: true }).click();
    await page.waitForURL(`${consoleUrl}/users/${jane.id}`);
    await page.evaluate(() => ((globalThis as any).__sameDocument = true));
    // The security-role window: the page shows the wait with a countdown, then the invitation, by itself.
    await page.locator('[data-state="waitingPropagation"]').waitFor({ timeout: 20_000 });
    expect(await page.locator('#live .countdown').first().textContent()).toMatch(/in \d+ s|due now/);
    await expectAccessible(page, 'user (waiting)');
    await page.locator('[data-state="invited"]').waitFor({ timeout: 30_000 });
    await page.getByText('Invitation sent (round 1)').waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => (globalThis as any).__sameDocument)).toBe(true);
    // Both ways between the console and the Temporal UI: the workflow's static details link back to this page.
    const described = await h.client.workflow.getHandle(`user-${h.tenantId}-${jane.id}`).describe();
    expect(await described.staticDetails()).toContain(`${consoleUrl}/users/${jane.id}`);
    expect(await page.getByRole('link', { name: 'Workflow in the Temporal UI' }).getAttribute('href')).toBe(
      `http://127.0.0.1:8233/namespaces/default/workflows/user-${h.tenantId}-${jane.id}`,
    );
    expect(await page.textContent('#live')).toContain('the user to accept the invitation');
    // Old → new of the security role, and where each request came from.
    expect(await page.textContent('#live')).toMatch(/security role\s*\(none\)\s*→\s*VOB Worker/);
    expect(await page.textContent('#live')).toContain('SCIM');
    await screenshot(page, 'user');
  });

  test('when the resend is confirmed, then the answer says what happened and the new round appears in the log', async () => {
    await page.goto(`${consoleUrl}/users/${jane.id}`);
    await page.getByRole('link', { name: 'Resend invitation' }).click();
    await expectAccessible(page, 'confirm');
    await page.getByRole('button', { name: 'Resend invitation' }).click();
    await page.waitForURL(`${consoleUrl}/users/${jane.id}`);
    expect(await page.getByRole('status').first().textContent()).toContain('Invitation round 2 requested');
    await page.getByText('Invitation sent (round 2)').waitFor({ timeout: 30_000 });
    expect(h.mailsTo(jane.userName)).toHaveLength(2);
    const csv = await page.request.get(`${consoleUrl}/users/${jane.id}/timeline.csv`);
    expect(csv.headers()['content-type']).toContain('text/csv');
    const text = await csv.text();
    expect(text.split('\r\n')[0]).toContain('requestId,source,acceptedAt,deliveredAt');
    expect(text.match(/invitation\.sent/g)?.length).toBe(2);
    const json = await (await page.request.get(`${consoleUrl}/users/${jane.id}/timeline.json`)).json();
    expect(json.groups.flatMap((g: any) => g.steps.map((s: any) => s.action))).toEqual(expect.arrayContaining(['admin.resendInvitation', 'invitation.sent']));
  });

  test('when a user is held for data, then neither resend nor retry is offered, and a retry asked for anyway says why nothing was retried', async () => {
    const held = await pushUser({ name: { familyName: 'Heldfordata' } });
    await h.waitForState(held.id, 'awaitingData');
    await page.goto(`${consoleUrl}/users/${held.id}`);
    expect(await page.getByRole('link', { name: USER_ACTIONS['resend-invitation'].label, exact: true }).count()).toBe(0);
    expect(await page.getByRole('link', { name: USER_ACTIONS.retry.label, exact: true }).count()).toBe(0);
    await page.goto(`${consoleUrl}/users/${held.id}/confirm/retry`);
    await page.getByRole('button', { name: USER_ACTIONS.retry.label }).click();
    await page.waitForURL(`${consoleUrl}/users/${held.id}`);
    expect(await page.getByRole('alert').first().textContent()).toContain('Nothing was retried: it is held for missing or conflicting data');
    // The resend's refusal is the workflow's own (the admin API's 409), not a silent no-op.
    await page.goto(`${consoleUrl}/users/${held.id}/confirm/resend-invitation`);
    await page.getByRole('button', { name: USER_ACTIONS['resend-invitation'].label }).click();
    await page.waitForURL(`${consoleUrl}/users/${held.id}`);
    expect(await page.getByRole('alert').first().textContent()).toContain('Nothing was resent: nothing to resend: the user is held for missing data');
  });

  test('when the overview is opened, then it shows users per state as a chart, the held user with what to do, and passes axe', async () => {
    await page.goto(consoleUrl);
    await page.locator('canvas#chart-states').waitFor();
    expect(await page.evaluate(() => !!(globalThis as any).Chart?.getChart((globalThis as any).document.getElementById('chart-states')))).toBe(true);
    const attention = await page.locator('section[aria-labelledby="h-attention"]').textContent();
    expect(attention).toContain('first name is required');
    expect(attention).toMatch(/Send the missing data/);
    expect(await page.textContent('body')).toContain('Nothing held. The guard holds suspensions and terminations beyond');
    await expectAccessible(page, 'overview');
    await screenshot(page, 'overview');
  });

  test('when users are listed and filtered, then the list and a tablet-sized page pass axe without horizontal scrolling', async () => {
    await page.goto(`${consoleUrl}/users?state=invited`);
    expect(await page.textContent('table.users')).toContain(jane.userName);
    await expectAccessible(page, 'users');
    await screenshot(page, 'users');
    await page.goto(`${consoleUrl}/users?waitingFor=data`);
    expect(await page.textContent('main')).not.toContain(jane.userName);
    const tablet = await context.newPage();
    await tablet.setViewportSize({ width: 768, height: 1024 });
    for (const p of ['', '/users', `/users/${jane.id}`, '/policy', '/connection', '/preview']) {
      await tablet.goto(`${consoleUrl}${p}`);
      await expectNoHorizontalScroll(tablet);
      await expectAccessible(tablet, `tablet ${p || '/'}`);
    }
    await tablet.close();
  });

  test('when a draft policy is checked, then problems show with their paths; when a valid one is previewed and saved, the affected users are re-provisioned', async () => {
    await page.goto(`${consoleUrl}/policy`);
    const current = await page.getByLabel('Configuration (YAML or JSON)').inputValue();
    expect(current).toContain('licenceLevel: Professional');
    await page.getByLabel('Configuration (YAML or JSON)').fill(current.replace('kind: client', 'kind: galaxy'));
    await page.getByRole('button', { name: 'Check and preview' }).click();
    await page.waitForLoadState();
    if ((await page.locator('ul.problems').count()) === 0) throw new Error(`no problems listed: ${(await page.content()).slice(0, 3000)}`);
    expect(await page.locator('ul.problems').textContent()).toMatch(/organisations\.0\.kind/);
    await expectAccessible(page, 'policy (problems)');

    // A rule that can never change anything (an earlier one with the same condition sets the same field): a warning, not a problem.
    expect(current).toContain('rules: []');
    const shadowed = current.replace(
      'rules: []',
      'rules:\n  - name: VOB\n    when: { group: VOB }\n    set: { securityRole: VOB Worker }\n  - name: VOB again\n    when: { group: VOB }\n    set: { securityRole: Analytics Only }',
    );
    await page.getByLabel('Configuration (YAML or JSON)').fill(shadowed);
    await page.getByRole('button', { name: 'Check and preview' }).click();
    expect(await page.locator('section.check').textContent()).toContain('The draft is valid.');
    expect(await page.locator('ul.warnings').textContent()).toMatch(/rules\.1: rule "VOB again" can never change what a user gets/);

    await page.getByLabel('Configuration (YAML or JSON)').fill(current.replace('licenceLevel: Professional', 'licenceLevel: Enterprise'));
    await page.getByRole('button', { name: 'Check and preview' }).click();
    const preview = await page.locator('section.check').textContent();
    expect(preview).toMatch(/\d+ users? would gain licence north: Enterprise/);
    expect(preview).toContain(jane.userName);
    await expectAccessible(page, 'policy (preview)');
    await screenshot(page, 'policy', '#h-check');
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await page.waitForURL(`${consoleUrl}/policy`);
    expect(await page.getByRole('status').first().textContent()).toMatch(/Saved version 2\. \d+ users compared, \d+ signalled/);
    await page.goto(`${consoleUrl}/policy?from=1&to=2`);
    expect(await page.locator('pre.diff .added').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('licenceLevel: Enterprise')]));

    await page.goto(`${consoleUrl}/users/${jane.id}`);
    await page.getByText('policy change').first().waitFor({ timeout: 30_000 });
    await page.getByText('north: Enterprise').first().waitFor({ timeout: 30_000 });
    const licences = await h.db.query<{ licence_level: string }>(
      'SELECT licence_level FROM app_licences WHERE tenant_id = $1 AND user_id = $2 AND released_at IS NULL',
      [h.tenantId, jane.id],
    );
    expect(licences.rows.map((r) => r.licence_level)).toEqual(['Enterprise']);
  });

  test('when a user is previewed on demand and run now, then nothing is written by the preview and the run shows in its log', async () => {
    await page.goto(`${consoleUrl}/preview`);
    await page.getByLabel('Id, userName or email').fill(jane.userName);
    await page.getByRole('button', { name: 'Preview' }).first().click();
    expect(await page.locator('section.result').textContent()).toContain('VOB Worker');
    expect(await page.locator('section.result').textContent()).toContain('None: the directory already holds all of it.');
    await expectAccessible(page, 'preview (stored user)');

    await page.getByLabel('SCIM User (JSON)').fill(JSON.stringify(newUser({ title: 'RN' })));
    await page.getByLabel('Groups, one display name per line').fill('Night Shift');
    await page.getByRole('button', { name: 'Preview' }).nth(1).click();
    expect(await page.locator('section.result').textContent()).toContain('Profile (name, email, phones, client)');
    await screenshot(page, 'preview');

    await page.goto(`${consoleUrl}/preview?user=${jane.id}`);
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.waitForURL(`${consoleUrl}/users/${jane.id}#h-log`);
    expect(await page.getByRole('status').first().textContent()).toContain('Run now: signalled');
  });

  test('when a SCIM token is created, it is shown once, passes the connection test, a third live token is refused, and revoking works', async () => {
    await page.goto(`${consoleUrl}/connection`);
    expect(await page.textContent('#scim-url')).toBe(h.baseUrl);
    await page.getByLabel('Name of the new token').fill('okta-next');
    await page.getByRole('button', { name: 'Create SCIM token' }).click();
    const token = (await page.textContent('#new-token'))!.trim();
    expect(token).toMatch(/^sfs_/);
    expect(await page.locator('#test-token').inputValue()).toBe(token);
    await page.getByRole('button', { name: 'Test connection' }).click();
    expect(await page.textContent('main')).toContain('Every request answered as an identity provider expects.');
    expect(await page.locator('td:has-text("passed")').count()).toBe(4);
    await expectAccessible(page, 'connection');
    await screenshot(page, 'connection', '#h-test');

    // Two live now (the harness's and this one): a third is refused, by the page and by the server.
    await page.goto(`${consoleUrl}/connection`);
    expect(await page.textContent('main')).toContain('Two tokens are live');
    const third = await page.request.post(`${consoleUrl}/connection/tokens`, {
      form: { name: 'third', _csrf: await page.locator('input[name=_csrf]').first().inputValue() },
      headers: { Origin: h.publicUrl },
    });
    expect(third.status()).toBe(409);

    await page.getByRole('link', { name: /Revoke okta-next/ }).click();
    await page.getByRole('button', { name: 'Revoke' }).click();
    expect(await page.getByRole('status').first().textContent()).toContain('Revoked the SCIM token "okta-next"');
    expect((await fetch(`${h.baseUrl}/Users`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);

    await page.goto(`${consoleUrl}/guides/okta`);
    expect(await page.textContent('h1')).toMatch(/Okta/);
    await expectAccessible(page, 'guide');
  });

  test('when a POST lacks the CSRF token or comes from another origin, then it is refused and nothing changes', async () => {
    const target = await pushUser();
    await h.waitForState(target.id, ['invited', 'waitingPropagation']);
    const csrf = await (async () => {
      await page.goto(consoleUrl);
      return page.locator('input[name=_csrf]').first().inputValue();
    })();
    const noToken = await page.request.post(`${consoleUrl}/users/${target.id}/terminate`, { form: {}, headers: { Origin: h.publicUrl } });
    expect(noToken.status()).toBe(403);
    const otherSite = await page.request.post(`${consoleUrl}/users/${target.id}/terminate`, {
      form: { _csrf: csrf },
      headers: { Origin: 'https://evil.example' },
    });
    expect(otherSite.status()).toBe(403);
    expect((await h.scim('GET', `/Users/${target.id}`)).status).toBe(200);
  });
});

describe('a read-only admin', () => {
  test('when signed in, then every page shows data and no actions, and a forged POST with a valid CSRF token is refused by the server', async () => {
    const target = await pushUser();
    await h.waitForState(target.id, ['invited', 'waitingPropagation']);
    const { context, page } = await signedIn(readerToken);
    expect(await page.textContent('header')).toContain('read-only');
    expect(await page.getByRole('button', { name: 'Run drift repair now' }).count()).toBe(0);
    await page.goto(`${consoleUrl}/users/${target.id}`);
    expect(await page.textContent('#live')).toContain('Provisioning log');
    expect(await page.getByRole('navigation', { name: 'Actions on this user' }).count()).toBe(0);
    await expectAccessible(page, 'user (read-only)');
    await page.goto(`${consoleUrl}/policy`);
    expect(await page.getByRole('button', { name: 'Save as a new version' }).count()).toBe(0);
    await page.goto(`${consoleUrl}/connection`);
    expect(await page.getByRole('button', { name: 'Create SCIM token' }).count()).toBe(0);

    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    const forged = await page.request.post(`${consoleUrl}/users/${target.id}/terminate`, { form: { _csrf: csrf }, headers: { Origin: h.publicUrl } });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain('Super User');
    expect((await h.scim('GET', `/Users/${target.id}`)).status).toBe(200);
    const save = await page.request.post(`${consoleUrl}/policy/save`, { form: { _csrf: csrf, draft: 'organisations: []' }, headers: { Origin: h.publicUrl } });
    expect(save.status()).toBe(403);
    await context.close();
  });
});

describe('a tenant loaded from config/examples', () => {
  test('when its admin signs in, then the overview, policy and a pasted user preview work with its rules and pass axe', async () => {
    const doc = parseTenantConfigDocument(fs.readFileSync(path.join(__dirname, '..', 'config', 'examples', 'call-centre.yaml'), 'utf8'));
    expect(doc.problems).toEqual([]);
    const tenantId = `cc-${h.tenantId.slice(2)}`;
    await h.newTenant(tenantId, doc.config as never);
    const { token } = await createToken(h.db, tenantId, 'cc-admin', 'admin', 'Super User');
    const { context, page } = await signedIn(token);
    expect(await page.textContent('header')).toContain(tenantId);
    await expectAccessible(page, 'example overview');
    await page.goto(`${consoleUrl}/policy`);
    expect(await page.getByLabel('Configuration (YAML or JSON)').inputValue()).toContain('Sunrise Hospice');
    await page.goto(`${consoleUrl}/preview`);
    await page
      .getByLabel('SCIM User (JSON)')
      .fill(JSON.stringify({ ...newUser({ title: 'RN' }), phoneNumbers: [{ value: '+1 555 0100', type: 'mobile', primary: true }] }));
    await page.getByLabel('Groups, one display name per line').fill('Regional Managers');
    await page.getByRole('button', { name: 'Preview' }).nth(1).click();
    const result = await page.locator('section.result').textContent();
    expect(result).toMatch(/Rules that match: .+/);
    expect(result).toContain('Client Admin');
    await expectAccessible(page, 'example preview');
    // Another tenant's user is not reachable from this session.
    const other = await pushUser();
    const res = await page.request.get(`${consoleUrl}/users/${other.id}`);
    expect(res.status()).toBe(404);
    await context.close();
  });
});

describe('the mass-deprovisioning guard in an incident', () => {
  test('when a Super User allows one held deactivation and rejects another, then each click answers with what was applied and the list empties', async () => {
    // Every deprovisioning from here on is beyond the threshold: held for a decision.
    const counted = (await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM deprovision_requests WHERE tenant_id = $1', [h.tenantId])).rows[0].n;
    await saveConfigVersion(
      h.db,
      h.tenantId,
      testTenantConfig({ propagation: { tags: '0s', securityRole: '0s' }, deprovisionGuard: { threshold: Math.max(1, counted) } }),
      'test',
    );
    if (counted === 0) {
      const first = await pushUser();
      await h.waitForState(first.id, 'invited');
      await h.scim('PATCH', `/Users/${first.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
      await h.waitForState(first.id, 'suspended');
    }
    const [allowed, rejected, onItsPage] = [await pushUser(), await pushUser(), await pushUser()];
    for (const u of [allowed, rejected, onItsPage]) {
      await h.waitForState(u.id, 'invited');
      expect((await h.scim('PATCH', `/Users/${u.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] })).status).toBe(
        200,
      );
      await h.waitForState(u.id, 'deprovisionHeld');
    }

    const { context, page } = await signedIn(superToken);
    await page.getByRole('button', { name: `Allow the suspension of Test ${allowed.familyName}` }).click();
    await page.waitForURL(consoleUrl);
    expect(await page.textContent('body')).toContain(`Allowed: the suspension is being applied (user ${allowed.id}).`);
    await h.waitForState(allowed.id, 'suspended');

    await page.getByRole('button', { name: `Reject the suspension of Test ${rejected.familyName}` }).click();
    await page.waitForURL(consoleUrl);
    expect(await page.textContent('body')).toContain(`Rejected: the user keeps its access`);
    await h.waitForState(rejected.id, 'invited');
    expect(await page.textContent('body')).not.toContain(`Test ${rejected.familyName}</a>`);
    await expectAccessible(page, 'overview after the guard decisions');

    // The same decision on the user's own page, which it answers on.
    await page.goto(`${consoleUrl}/users/${onItsPage.id}`);
    expect(await page.textContent('section.held')).toContain('Waiting for a decision: suspension');
    await expectAccessible(page, 'user page with a held change');
    await page.getByRole('button', { name: 'Allow the suspension' }).click();
    await page.waitForURL(`${consoleUrl}/users/${onItsPage.id}`);
    expect(await page.getByRole('status').first().textContent()).toContain('Allowed: the suspension is being applied');
    await h.waitForState(onItsPage.id, 'suspended');
    await page.reload();
    expect(await page.locator('section.held').count()).toBe(0);
    await context.close();
  });
});
