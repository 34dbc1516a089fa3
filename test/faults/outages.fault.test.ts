/**
 * Outages of the services around the SCIM server: Temporal unreachable, PostgreSQL restarted,
 * the mail server refusing, the Temporal dev server restarted on its database file. SCIM keeps
 * answering correctly (2xx, or 503 with Retry-After while the database is down, never 404 or
 * 500), and everything acknowledged is applied exactly once when the service returns.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSmtpCatcher, type SmtpCatcher } from '../../dev/smtp-catcher';
import { freePort, startDevServer, type DevServer } from '../../dev/temporal-dev-server';
import { newUser, requireEnv, startHarness, testTenantConfig, type Harness } from '../harness';
import { checkLedger } from './ledger';
import { sleep, startPrivatePostgres } from './support';

const cliPath = () => requireEnv('SCIMFLOW_TEST_CLI_PATH');

async function privateDevServer(port: number, dbFile: string): Promise<DevServer> {
  return startDevServer({ cliPath: cliPath(), port, namespace: 'default', dbFile, logFile: `${dbFile}.log` });
}

function countIn(catcher: SmtpCatcher) {
  return (address: string) => catcher.messages.filter((m) => m.to.includes(address)).map((m) => m.raw);
}

async function postAll(h: Harness, count: number) {
  const acknowledged: { id: string; userName: string }[] = [];
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const u = newUser();
    const res = await h.scim('POST', '/Users', u);
    statuses.push(res.status);
    if (res.status === 201) acknowledged.push({ id: res.body.id, userName: u.userName });
  }
  return { acknowledged, statuses };
}

test('when Temporal is unreachable, then SCIM keeps answering and the outbox delivers everything once Temporal is back; a dev-server restart on its file keeps workflows', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-fault-temporal-'));
  const port = await freePort();
  const dbFile = path.join(dir, 'temporal.sqlite');
  let dev = await privateDevServer(port, dbFile);
  const catcher = await startSmtpCatcher();
  const h = await startHarness({
    temporalAddress: dev.address,
    smtpUrl: catcher.url,
    tenantConfig: testTenantConfig({ propagation: { tags: '0s', securityRole: '3s' } }),
  });
  try {
    // A user in a propagation wait survives a dev-server restart on the same file.
    const early = newUser({ 'urn:ietf:params:scim:schemas:extension:scimflow:2.0:User': { securityRole: 'VOB Worker' } });
    const earlyRes = await h.scim('POST', '/Users', early);
    await h.waitForState(earlyRes.body.id, 'waitingPropagation');

    await dev.stop();
    const { acknowledged, statuses } = await postAll(h, 20);
    expect(statuses.every((s) => s === 201)).toBe(true);
    expect((await h.scim('GET', `/Users/${acknowledged[0].id}`)).status).toBe(200);
    await sleep(1000);
    const pending = (await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1 AND delivered_at IS NULL', [h.tenantId]))
      .rows[0].n;
    expect(pending).toBe(20);
    const ready = await fetch(`${h.opsUrl}/readyz`);
    expect(ready.status).toBe(503);

    dev = await privateDevServer(port, dbFile);
    const all = [...acknowledged, { id: earlyRes.body.id as string, userName: early.userName }];
    for (const a of all) await h.waitForState(a.id, 'invited', 120_000);
    const figures = await checkLedger(h.db, h.tenantId, 'Temporal unreachable, then back (dev server restarted on its SQLite file)', 21, all, countIn(catcher));
    expect(figures).toMatchObject({ acknowledged: 21, applied: 21, duplicated: 0, invitations: 21, duplicateInvitations: 0 });
  } finally {
    await h.close();
    await catcher.close();
    await dev.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('when PostgreSQL restarts during traffic, then SCIM answers 503 with Retry-After meanwhile (never 404 or 500) and recovers without a restart', async () => {
  const pg = await startPrivatePostgres();
  const catcher = await startSmtpCatcher();
  const h = await startHarness({ databaseUrl: pg.url, smtpUrl: catcher.url });
  try {
    const before = await postAll(h, 5);
    await pg.stop();
    const during: number[] = [];
    for (let i = 0; i < 6; i++) {
      const get = await h.scim('GET', `/Users/${before.acknowledged[0].id}`);
      const post = await h.scim('POST', '/Users', newUser());
      during.push(get.status, post.status);
      if (get.status === 503) expect(get.headers.get('retry-after')).toBeTruthy();
      expect(get.body?.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    }
    expect(new Set(during)).toEqual(new Set([503]));
    expect((await fetch(`${h.opsUrl}/readyz`)).status).toBe(503);
    await pg.start();
    let after = await postAll(h, 5);
    for (let i = 0; i < 20 && after.acknowledged.length < 5; i++) {
      await sleep(500);
      after = await postAll(h, 5);
    }
    expect(after.statuses.slice(-5).every((s) => s === 201)).toBe(true);
    const all = [...before.acknowledged, ...after.acknowledged];
    for (const a of all) await h.waitForState(a.id, 'invited', 60_000);
    const figures = await checkLedger(h.db, h.tenantId, 'PostgreSQL restarted during traffic', 5 + 12 / 2 + after.statuses.length, all, countIn(catcher));
    expect(figures).toMatchObject({ duplicated: 0, duplicateInvitations: 0, applied: all.length, invitations: all.length });
  } finally {
    await h.close();
    await catcher.close();
    await pg.dispose();
  }
});

test('when the mail server refuses mail for a while, then invitations are retried with backoff and each is sent exactly once', async () => {
  const catcher = await startSmtpCatcher();
  const h = await startHarness({ smtpUrl: catcher.url });
  try {
    catcher.setRefusing(true);
    const { acknowledged } = await postAll(h, 5);
    // Wait until the worker has met the refusal (on a loaded machine that can take a while).
    let attempts = 0;
    for (let i = 0; i < 300 && attempts === 0; i++) {
      await sleep(200);
      attempts = (await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM mail_deliveries WHERE tenant_id = $1 AND status = 'failed'`, [h.tenantId]))
        .rows[0].n;
    }
    expect(attempts).toBeGreaterThan(0);
    expect(catcher.messages).toHaveLength(0);
    catcher.setRefusing(false);
    for (const a of acknowledged) await h.waitForState(a.id, 'invited', 60_000);
    const figures = await checkLedger(h.db, h.tenantId, 'SMTP server refusing, then back', 5, acknowledged, countIn(catcher));
    expect(figures).toMatchObject({ acknowledged: 5, applied: 5, duplicated: 0, invitations: 5, duplicateInvitations: 0 });
  } finally {
    await h.close();
    await catcher.close();
  }
});
