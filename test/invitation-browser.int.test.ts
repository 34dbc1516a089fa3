/**
 * Accepting an invitation as a person does: the mailed link opened in a real browser (Debian's
 * Chromium through playwright-core), the button pressed. The browser decides which Origin and
 * Fetch Metadata headers the form's POST carries (from the page's Referrer-Policy and where the
 * form lives), so only this test shows what a real person meets; hand-made requests cannot.
 * A cross-site form and a link scanner still accept nothing.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { launchBrowser } from './browser';
import { newUser, startHarness, type Harness } from './harness';

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  h = await startHarness();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function invitedUser(): Promise<{ id: string; link: string }> {
  const user = newUser();
  const created = await h.scim('POST', '/Users', user);
  expect(created.status).toBe(201);
  await h.waitForState(created.body.id, 'invited');
  return { id: created.body.id, link: h.acceptLink(user.userName) };
}

/** Another site (its own origin on loopback) serving `html`: what a phishing page or a forum post would be. */
async function otherSite(html: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end(html));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('when a person opens the mailed link in Chromium and presses Accept, then the invitation is accepted and the user becomes active', async () => {
  const { id, link } = await invitedUser();
  const context = await browser.newContext();
  const page = await context.newPage();
  const posted: { origin?: string; fetchSite?: string }[] = [];
  page.on('request', async (r) => {
    if (r.method() === 'POST')
      posted.push({ origin: await r.headerValue('origin').then((v) => v ?? undefined), fetchSite: (await r.headerValue('sec-fetch-site')) ?? undefined });
  });

  await page.goto(link);
  await page.getByRole('button', { name: 'Accept invitation' }).click();
  await page.getByRole('heading', { name: 'Invitation accepted' }).waitFor();
  expect(await page.textContent('main')).toContain('being activated');
  // What the browser sent: this server's origin, same-origin (not the "null" a no-referrer page gets).
  expect(posted).toEqual([{ origin: new URL(link).origin, fetchSite: 'same-origin' }]);
  await h.waitForState(id, 'active');

  // Back to the link later: it says so, and nothing is accepted twice.
  await page.goto(link);
  await page.getByRole('heading', { name: 'Already accepted' }).waitFor();
  await context.close();
});

test('when another site posts the invitation form (even with a valid confirmation) or a scanner only opens the link, then nothing is accepted', async () => {
  const { id, link } = await invitedUser();

  // A link scanner: fetches the page, and a browser-based one renders it without pressing anything.
  const scanned = await fetch(link);
  expect(scanned.status).toBe(200);
  const confirm = /name="confirm" value="([^"]+)"/.exec(await scanned.text())![1];
  const scannerContext = await browser.newContext();
  await (await scannerContext.newPage()).goto(link);
  await scannerContext.close();

  // A page elsewhere holding the form with a real confirmation, pressed by the person in the browser.
  const site = await otherSite(
    `<!doctype html><html><body><form method="post" action="${link}"><input type="hidden" name="confirm" value="${confirm}"><button>Claim your prize</button></form></body></html>`,
  );
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(site.url);
    const [response] = await Promise.all([page.waitForResponse((r) => r.url() === link), page.getByRole('button', { name: 'Claim your prize' }).click()]);
    expect(response.status()).toBe(403);
    await page.getByRole('heading', { name: 'Open the link in your browser' }).waitFor();
    await context.close();
  } finally {
    await site.close();
  }
  // A script outside a browser with the page's confirmation but no browser headers: refused too.
  const bare = await fetch(link, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `confirm=${encodeURIComponent(confirm)}`,
  });
  expect(bare.status).toBe(403);

  expect((await h.workflowStatus(id)).state).toBe('invited');
  const accepted = await h.db.query(`SELECT 1 FROM invitations WHERE tenant_id = $1 AND user_id::text = $2 AND status = 'accepted'`, [h.tenantId, id]);
  expect(accepted.rowCount).toBe(0);
});
