/**
 * The console as the truth of what needs a person (issue 23), in a real browser (Debian's
 * Chromium through playwright-core) against a real stack (test/harness.ts): the overview starts
 * with held changes, users held for data or a login conflict, failed users, full seat pools and
 * the sync backlog, each linked to its list; "Needs someone" by severity with totals; a user's
 * notes and login conflicts by name; a readable policy diff; Allow all / Reject all of a burst
 * (console and admin API); and every page axe clean without sideways scrolling at 1280 and 390 px.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { saveConfigVersion } from '../common/repositories/tenants';
import { createToken } from '../common/repositories/tokens';
import { axeViolations, launchBrowser } from './browser';
import { adminRequest, EXT, newUser, PATCH_OP, startHarness, testTenantConfig, type Harness } from './harness';

const WIDTHS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
];

/** North has one seat; south has no limit. Every suspension after the first is held by the guard. */
const config = () =>
  testTenantConfig({
    organisations: [
      {
        key: 'north',
        name: 'North Office',
        kind: 'client',
        licenceLevel: 'Professional',
        mobileLicence: 'Mobile Standard',
        services: ['app', 'mobile'],
        seatLimit: 1,
      },
      { key: 'south', name: 'South Office', kind: 'client', licenceLevel: 'Basic', services: ['app'] },
      { key: 'main-campus', name: 'Main Campus', kind: 'facility' },
    ],
    deprovisionGuard: { threshold: 1 },
  });

let h: Harness;
let browser: Browser;
let superToken: string;
let readerToken: string;
let consoleUrl: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  h = await startHarness({ tenantConfig: config() });
  superToken = (await createToken(h.db, h.tenantId, 'alice', 'admin', 'Super User')).token;
  readerToken = (await createToken(h.db, h.tenantId, 'auditor', 'admin', 'Read Only')).token;
  consoleUrl = `${h.publicUrl}/console`;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function signedIn(token = superToken, viewport = WIDTHS[0]): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  context.on('page', (p) => {
    p.on('pageerror', (err) => pageErrors.push(`${p.url()}: ${err.message}`));
    p.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`${p.url()}: ${m.text()}`);
    });
  });
  const page = await context.newPage();
  await page.goto(consoleUrl);
  await page.getByLabel('Admin token').fill(token);
  await page.keyboard.press('Enter');
  await page.waitForURL(consoleUrl);
  return { context, page };
}

async function expectAccessible(page: Page, what: string): Promise<void> {
  const violations = await axeViolations(page);
  expect({ page: what, violations }).toEqual({ page: what, violations: [] });
  const errors = pageErrors.filter((e) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e));
  expect({ page: what, errors }).toEqual({ page: what, errors: [] });
}

/** No sideways scrolling of the page; names the elements that stick out when there is. */
async function expectNoHorizontalScroll(page: Page, what: string): Promise<void> {
  const wider = await page.evaluate(() => {
    const doc = (globalThis as any).document;
    const width = (globalThis as any).innerWidth;
    if (doc.documentElement.scrollWidth <= width) return [];
    // What sticks out of the page itself, not what scrolls inside a table's own scroll box.
    // (An absolutely positioned element escapes a scroll box that is not its containing block.)
    const clipped = (el: any): boolean => {
      if (['absolute', 'fixed'].includes((globalThis as any).getComputedStyle(el).position)) return false;
      for (let p = el.parentElement; p && p !== doc.body; p = p.parentElement) {
        if ((globalThis as any).getComputedStyle(p).overflowX !== 'visible') return true;
      }
      return false;
    };
    const sticking = [...doc.querySelectorAll('body *')]
      .filter((el: any) => el.getBoundingClientRect().right > width + 1 && !clipped(el))
      .slice(0, 5)
      .map((el: any) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${el.className} (${Math.round(el.getBoundingClientRect().right)} px)`);
    // Text that runs out of its box (a long word, an address) sticks out without its element.
    const texts: string[] = [];
    const walker = doc.createTreeWalker(doc.body, 4 /* NodeFilter.SHOW_TEXT */);
    for (let node = walker.nextNode(); node && texts.length < 5; node = walker.nextNode()) {
      const range = doc.createRange();
      range.selectNodeContents(node);
      if (range.getBoundingClientRect().right > width + 1 && !clipped(node.parentElement))
        texts.push(
          `text "${String(node.textContent).trim().slice(0, 60)}" in ${node.parentElement.tagName.toLowerCase()}.${node.parentElement.className} in ${node.parentElement.parentElement.tagName.toLowerCase()}.${node.parentElement.parentElement.className} (${Math.round(range.getBoundingClientRect().left)}-${Math.round(range.getBoundingClientRect().right)} px)`,
        );
    }
    return [`the page is ${doc.documentElement.scrollWidth} px wide in ${width} px`, ...sticking, ...texts];
  });
  expect({ page: what, wider }).toEqual({ page: what, wider: [] });
}

async function push(extra: Record<string, unknown> = {}): Promise<{ id: string; userName: string; name: string }> {
  const user = newUser(extra);
  const res = await h.scim('POST', '/Users', user);
  expect(res.status).toBe(201);
  const name = user.name as { givenName?: string; familyName: string };
  return { id: res.body.id, userName: user.userName, name: [name.givenName, name.familyName].filter(Boolean).join(' ') };
}

const deactivate = async (id: string) =>
  expect((await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] })).status).toBe(200);

const south = { [EXT]: { client: 'south' } };

/** The people of the tenant, each in the state a test looks at. */
const people = {} as Record<'holder' | 'conflict' | 'noFirstName' | 'failed' | 'seatWaiter' | 'noted', { id: string; userName: string; name: string }>;

beforeAll(async () => {
  people.holder = await push(); // north's only seat
  await h.waitForState(people.holder.id, 'invited');
  people.seatWaiter = await push();
  people.conflict = await push({ ...south, emails: [{ value: people.holder.userName, type: 'work', primary: true }] });
  people.noFirstName = await push({ ...south, name: { familyName: 'Nofirstname' } });
  const failing = newUser(south);
  failing.emails = [{ value: `nobody.${failing.userName.split('@')[0]}@mailbox.invalid`, type: 'work', primary: true }];
  people.failed = await push(failing);
  people.noted = await push({
    [EXT]: { client: 'south', mobileAppUser: true },
    phoneNumbers: [
      { value: '+1 555 010 4242', type: 'mobile', primary: true },
      { value: 'call me maybe', type: 'home' },
    ],
  });
  await Promise.all([
    h.waitForState(people.seatWaiter.id, 'waitingForSeat'),
    h.waitForState(people.conflict.id, 'awaitingData'),
    h.waitForState(people.noFirstName.id, 'awaitingData'),
    h.waitForState(people.failed.id, 'failed'),
    h.waitForState(people.noted.id, 'invited'),
  ]);
}, 120_000);

describe('the overview starts with what needs a person', () => {
  test('when users are held, failed and waiting for a full seat pool, then the strip counts each with a link to its list, in words', async () => {
    const { context, page } = await signedIn();
    const strip = page.locator('section[aria-labelledby="h-needs"]');
    // The strip comes before everything else on the page.
    expect(await page.locator('main h2').first().textContent()).toBe('Needs a person');
    const link = (name: RegExp) => strip.getByRole('link', { name });
    expect(await link(/^0 held changes$/).getAttribute('href')).toBe('#h-held');
    expect(await link(/^2 held for data or a login conflict$/).getAttribute('href')).toBe('/console/users?state=awaitingData');
    expect(await link(/^1 failed$/).getAttribute('href')).toBe('/console/users?state=failed');
    expect(await link(/^north 1\/1, 1 waiting$/).getAttribute('href')).toBe(`/console/users?waitingFor=${encodeURIComponent('seat:north')}`);
    expect(await strip.textContent()).toContain('seat pool of North Office full');
    expect(await link(/^0 changes not started$/).count()).toBe(1);

    await link(/^2 held for data or a login conflict$/).click();
    await page.waitForURL(`${consoleUrl}/users?state=awaitingData`);
    const listed = await page.locator('table.users').textContent();
    expect(listed).toContain(people.conflict.userName);
    expect(listed).toContain(people.noFirstName.userName);
    expect(listed).not.toContain(people.failed.userName);
    await page.goBack();
    await link(/^north 1\/1, 1 waiting$/).click();
    expect(await page.locator('table.users').textContent()).toContain(people.seatWaiter.userName);

    // Words, not tokens: the chart's labels and every state on the page.
    await page.goto(consoleUrl);
    const labels = await page.locator('#chart-states').getAttribute('data-chart');
    expect(JSON.parse(labels!).labels).toEqual(expect.arrayContaining(['waiting for a seat', 'waiting for data', 'failed', 'invited']));
    const text = (await page.locator('main').textContent())!;
    for (const token of ['awaitingData', 'waitingForSeat', 'deprovisionHeld', 'decision:', 'seat:north']) expect(text).not.toContain(token);
    expect(JSON.parse(labels!).labels.filter((l: string) => /[a-z][A-Z]/.test(l))).toEqual([]);
    await context.close();
  });

  test('when the overview lists who needs someone, then failed come first, then held for data, then seat waiters, each with its total and a link to all', async () => {
    const { context, page } = await signedIn();
    const section = page.locator('section[aria-labelledby="h-attention"]');
    expect(await section.locator('h3').allTextContents()).toEqual(['Failed (1)', 'Held for data or a login conflict (2)', 'Waiting for a seat (1)']);
    expect(await section.getByRole('link', { name: 'All failed users (1)' }).getAttribute('href')).toBe('/console/users?state=failed');
    expect(await section.getByRole('link', { name: 'All users held for data or a login conflict (2)' }).getAttribute('href')).toBe(
      '/console/users?state=awaitingData',
    );
    expect(await section.getByRole('link', { name: 'All users waiting for a seat (1)' }).getAttribute('href')).toBe('/console/users?state=waitingForSeat');
    const rows = (await section.locator('tbody tr td:first-child').allTextContents()).map((r) => r.trim());
    expect(rows).toHaveLength(4);
    expect(rows[0]).toBe(people.failed.userName);
    expect(rows.slice(1, 3).sort()).toEqual([people.noFirstName.userName, people.conflict.userName].sort());
    expect(rows[3]).toBe(people.seatWaiter.userName);
    // The conflict names the other user, linked to its page, not its id.
    const conflictRow = section.locator('tr', { hasText: people.conflict.userName });
    expect(await conflictRow.textContent()).not.toContain(people.holder.id);
    await conflictRow.getByRole('link', { name: people.holder.name }).click();
    await page.waitForURL(`${consoleUrl}/users/${people.holder.id}`);
    await context.close();
  });

  test('when a sync has been acknowledged but not started, then the backlog and the users not started yet are counted', async () => {
    await h.server.relay.stop();
    try {
      const waiting = [await push(south), await push(south)];
      const { context, page } = await signedIn();
      const strip = page.locator('section[aria-labelledby="h-needs"]');
      const backlog = strip.getByRole('link', { name: /^2 changes not started$/ });
      expect(await backlog.getAttribute('href')).toBe('/console/users?state=notStarted');
      expect(await strip.textContent()).toMatch(/not yet handed to 2 workflows \(oldest \d+ s\); 2 users not started yet/);
      expect(await page.locator('.lead').textContent()).toContain('2 not started yet');
      expect(JSON.parse((await page.locator('#chart-states').getAttribute('data-chart'))!).labels).toContain('not started yet');
      await backlog.click();
      const listed = await page.locator('table.users').textContent();
      for (const u of waiting) expect(listed).toContain(u.userName);
      expect(listed).toContain('not started yet');
      expect(listed).not.toContain(people.holder.userName);
      await context.close();
    } finally {
      h.server.relay.start();
    }
  });
});

describe("a user's notes and login conflicts", () => {
  test('when the policy left values out, then the user page lists them under Notes', async () => {
    const { context, page } = await signedIn();
    await page.goto(`${consoleUrl}/users/${people.noted.id}`);
    const notes = await page.locator('section[aria-labelledby="h-notes"] li').allTextContents();
    expect(notes).toEqual([
      'phoneNumbers[1].value: "call me maybe" is not a phone number; left out of the directory (not a login phone)',
      "mobileLicence: none of the user's organisations (south) offers the mobile service; the user has no mobile licence",
    ]);
    await context.close();
  });

  test('when a user is held because another holds its email, then its page and the user list name that user and link to it instead of its id', async () => {
    const { context, page } = await signedIn();
    await page.goto(`${consoleUrl}/users/${people.conflict.id}`);
    const now = page.locator('section[aria-labelledby="h-now"]');
    expect(await now.textContent()).toContain(`email ${people.holder.userName} is already the login of user ${people.holder.name} (${people.holder.userName})`);
    expect(await now.textContent()).not.toContain(people.holder.id);
    expect(await page.locator('#live').textContent()).not.toContain(`login of user ${people.holder.id}`);
    const api = await adminRequest(h.publicUrl, readerToken, 'GET', `/tenants/${h.tenantId}/users/${people.conflict.id}`);
    expect(api.body.loginConflicts).toEqual([
      { kind: 'email', value: people.holder.userName, userId: people.holder.id, userName: people.holder.userName, name: people.holder.name },
    ]);

    await page.goto(`${consoleUrl}/users?state=awaitingData`);
    const row = page.locator('table.users tr', { hasText: people.conflict.userName });
    expect(await row.textContent()).not.toContain(people.holder.id);
    await row.getByRole('link', { name: people.holder.name }).click();
    await page.waitForURL(`${consoleUrl}/users/${people.holder.id}`);

    await page.goto(`${consoleUrl}/users/${people.conflict.id}`);
    await now.getByRole('link', { name: people.holder.name }).click();
    await page.waitForURL(`${consoleUrl}/users/${people.holder.id}`);
    await context.close();
  });
});

describe('the policy diff', () => {
  test('when two versions are compared, then the diff is line by line with context collapsed and long lines wrapped at 390 px', async () => {
    const next = config();
    next.organisations![1] = { ...next.organisations![1], licenceLevel: 'Enterprise', name: `South Office ${'and-its-annex-'.repeat(40)}end` };
    const version = await saveConfigVersion(h.db, h.tenantId, next, 'test');
    const { context, page } = await signedIn(superToken, WIDTHS[1]);
    await page.goto(`${consoleUrl}/policy?from=${version - 1}&to=${version}`);
    const diff = page.locator('pre.diff');
    expect(await diff.locator('.added').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('licenceLevel: Enterprise'), expect.stringContaining('and-its-annex-and-its-annex-')]),
    );
    expect(await diff.locator('.removed').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('licenceLevel: Basic')]));
    const skipped = await diff.locator('.skipped').allTextContents();
    expect(skipped.length).toBeGreaterThan(0);
    for (const s of skipped) expect(s).toMatch(/^… \d+ unchanged lines?$/);
    // Every line its own row, at most 3 unchanged lines on either side of a change; no sideways scrolling inside the diff either.
    const rows = await diff.locator(':scope > span').evaluateAll((els) => els.map((e) => ({ kind: e.className, top: e.getBoundingClientRect().top })));
    expect(new Set(rows.map((r) => r.top)).size).toBe(rows.length);
    let run = 0;
    for (const r of rows) {
      run = r.kind === 'same' ? run + 1 : 0;
      expect(run).toBeLessThanOrEqual(2 * 3 + 1); // 3 after a change, 3 before the next, and a single line between them is shown
    }
    expect(await diff.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    await expectNoHorizontalScroll(page, 'policy diff at 390 px');
    await expectAccessible(page, 'policy diff at 390 px');
    await context.close();
  });
});

describe('Allow all / Reject all of a burst', () => {
  const burst = async (n: number) => {
    const users = [];
    for (let i = 0; i < n; i += 1) users.push(await push(south));
    for (const u of users) await h.waitForState(u.id, 'invited');
    for (const u of users) await deactivate(u.id);
    return users;
  };

  test('when a Super User rejects all and then allows all of a held burst, then each confirmation states the count and the answer says what was applied', async () => {
    // The guard's threshold is 1: the first suspension goes through, the rest are held.
    const first = (await burst(1))[0];
    await h.waitForState(first.id, 'suspended');
    const held = await burst(3);
    for (const u of held) await h.waitForState(u.id, 'deprovisionHeld');

    const { context, page } = await signedIn();
    expect(
      await page
        .locator('section[aria-labelledby="h-needs"]')
        .getByRole('link', { name: /^3 held changes$/ })
        .count(),
    ).toBe(1);
    // The held users' state in words, on the chart as in the page.
    expect(JSON.parse((await page.locator('#chart-states').getAttribute('data-chart'))!).labels).toContain('held for a decision');
    expect(await page.locator('main').textContent()).not.toContain('deprovisionHeld');
    await page.getByRole('link', { name: 'Reject all 3' }).click();
    expect(await page.locator('h1').textContent()).toBe('Reject all 3 held changes?');
    expect(await page.locator('main').textContent()).toContain('The guard holds 3 suspensions.');
    for (const u of held) expect(await page.locator('main').textContent()).toContain(u.name);
    await expectAccessible(page, 'confirm reject all');
    await page.getByRole('button', { name: 'Reject all 3' }).click();
    await page.waitForURL(`${consoleUrl}#h-held`);
    expect(await page.getByRole('status').first().textContent()).toContain(
      'Rejected 3 held changes (3 suspensions): the users keep their access; each can still be allowed later.',
    );
    for (const u of held) await h.waitForState(u.id, 'invited');
    expect(await page.locator('section[aria-labelledby="h-held"]').textContent()).toContain('Nothing held.');

    const next = await burst(2);
    for (const u of next) await h.waitForState(u.id, 'deprovisionHeld');
    await page.goto(consoleUrl);
    await page.getByRole('link', { name: 'Allow all 2' }).click();
    expect(await page.locator('h1').textContent()).toBe('Allow all 2 held changes?');
    // Held after the confirmation was shown: not part of what was confirmed.
    const late = (await burst(1))[0];
    await h.waitForState(late.id, 'deprovisionHeld');
    await page.getByRole('button', { name: 'Allow all 2' }).click();
    await page.waitForURL(`${consoleUrl}#h-held`);
    expect(await page.getByRole('status').first().textContent()).toContain('Allowed 2 held changes: 2 suspensions are being applied.');
    for (const u of next) await h.waitForState(u.id, 'suspended');
    expect((await h.workflowStatus(late.id)).state).toBe('deprovisionHeld');
    expect(await page.locator('section[aria-labelledby="h-held"] tbody tr').count()).toBe(1);

    // A read-only admin sees the held change and no way to decide it.
    const reader = await signedIn(readerToken);
    expect(await reader.page.getByRole('link', { name: /Allow all|Reject all/ }).count()).toBe(0);
    await reader.context.close();
    await context.close();
  });

  test('when the admin API decides a burst, then it answers per change what was applied, and without ids it decides everything held', async () => {
    const list = async () =>
      (await adminRequest(h.publicUrl, superToken, 'GET', `/tenants/${h.tenantId}/held-changes`)).body.held as { id: string; userId: string }[];
    const more = await burst(2);
    for (const u of more) await h.waitForState(u.id, 'deprovisionHeld');
    const held = await list();
    expect(held.length).toBeGreaterThanOrEqual(3);
    const route = `/tenants/${h.tenantId}/held-changes/decide`;

    expect((await adminRequest(h.publicUrl, readerToken, 'POST', route, { decision: 'allow' })).status).toBe(403);
    expect((await adminRequest(h.publicUrl, superToken, 'POST', route, { decision: 'maybe' })).status).toBe(400);

    const bogus = '00000000-0000-4000-8000-000000000000';
    const some = await adminRequest(h.publicUrl, superToken, 'POST', route, { decision: 'allow', ids: [held[0].id, bogus] });
    expect(some.status).toBe(200);
    expect(some.body).toMatchObject({ decision: 'allow', decided: 1, notDecided: 1 });
    expect(some.body.results).toEqual([
      expect.objectContaining({ id: held[0].id, applied: true, userId: held[0].userId, change: 'suspend', outcome: 'the suspension is being applied' }),
      { id: bogus, applied: false, status: 404, reason: expect.stringContaining('no held change') },
    ]);
    await h.waitForState(held[0].userId, 'suspended');

    const rest = await adminRequest(h.publicUrl, superToken, 'POST', route, { decision: 'reject' });
    expect(rest.status).toBe(200);
    expect(rest.body.decided).toBe(held.length - 1);
    expect(rest.body.results.map((r: { id: string }) => r.id)).toEqual(held.slice(1).map((x) => x.id));
    for (const r of rest.body.results) expect(r).toMatchObject({ applied: true, change: 'suspend' });
    expect(await list()).toEqual([]);
    for (const x of held.slice(1)) await h.waitForState(x.userId, 'invited');
  });
});

describe('every console page', () => {
  test('when every page is opened at 1280 px and at 390 px, then axe finds no violation and nothing scrolls sideways', async () => {
    // One held change at least, so that the held list and its confirmation exist (alone, the first suspension goes through).
    const pair = [await push(south), await push(south)];
    for (const u of pair) await h.waitForState(u.id, 'invited');
    for (const u of pair) await deactivate(u.id);
    const states = await Promise.all(pair.map((u) => h.waitForState(u.id, ['deprovisionHeld', 'suspended'])));
    const heldUser = pair[states.findIndex((st) => st.state === 'deprovisionHeld')];
    expect(heldUser).toBeDefined();
    const versions = (await h.db.query<{ v: number }>('SELECT max(version)::int AS v FROM tenant_config_versions WHERE tenant_id = $1', [h.tenantId])).rows[0]
      .v;
    for (const viewport of WIDTHS) {
      const at = `at ${viewport.width} px`;
      const anonymous = await browser.newContext({ viewport });
      const signIn = await anonymous.newPage();
      await signIn.goto(`${consoleUrl}/sign-in`);
      await expectNoHorizontalScroll(signIn, `sign-in ${at}`);
      await expectAccessible(signIn, `sign-in ${at}`);
      await anonymous.close();

      const { context, page } = await signedIn(superToken, viewport);
      const pages = [
        '',
        '/users',
        '/users?state=awaitingData',
        `/users/${people.conflict.id}`,
        `/users/${people.noted.id}`,
        `/users/${people.seatWaiter.id}`,
        `/users/${people.failed.id}`,
        `/users/${heldUser.id}`,
        `/users/${people.holder.id}/confirm/suspend`,
        '/held-changes/confirm/allow',
        '/held-changes/confirm/reject',
        '/policy',
        `/policy?from=1&to=${versions}`,
        '/preview',
        `/preview?user=${people.noted.id}`,
        '/connection',
        '/requests',
        '/requests?status=4xx',
        '/guides/okta',
        '/guides/entra-id',
        '/no-such-page',
      ];
      for (const p of pages) {
        await page.goto(`${consoleUrl}${p}`);
        await expectNoHorizontalScroll(page, `${p || '/'} ${at}`);
        await expectAccessible(page, `${p || '/'} ${at}`);
      }
      // A draft checked and previewed (a POST that answers with a page).
      await page.goto(`${consoleUrl}/policy`);
      const draft = await page.getByLabel('Configuration (YAML or JSON)').inputValue();
      await page.getByLabel('Configuration (YAML or JSON)').fill(draft.replace('licenceLevel: Enterprise', 'licenceLevel: Basic'));
      await page.getByRole('button', { name: 'Check and preview' }).click();
      await page.locator('section.check').waitFor();
      await expectNoHorizontalScroll(page, `policy preview ${at}`);
      await expectAccessible(page, `policy preview ${at}`);
      // A pasted user previewed on demand.
      await page.goto(`${consoleUrl}/preview`);
      await page.getByLabel('SCIM User (JSON)').fill(JSON.stringify(newUser({ title: 'RN' })));
      await page.getByRole('button', { name: 'Preview' }).nth(1).click();
      await page.locator('section.result').waitFor();
      await expectNoHorizontalScroll(page, `preview result ${at}`);
      await expectAccessible(page, `preview result ${at}`);
      // A connection test's result.
      await page.goto(`${consoleUrl}/connection`);
      await page.locator('#test-token').fill(h.token);
      await page.getByRole('button', { name: 'Test connection' }).click();
      await page.getByRole('region', { name: 'Connection test results' }).waitFor();
      await expectNoHorizontalScroll(page, `connection test ${at}`);
      await expectAccessible(page, `connection test ${at}`);
      await context.close();
    }
  });
});
