/**
 * The production shape (production-shape.fault.test.ts: two `scim-server` and two `worker`
 * processes on one PostgreSQL and one Temporal frontend, users pushed round-robin to both SCIM
 * servers, one SCIM server and one worker SIGKILLed mid-import, the other worker SIGKILLed inside
 * SMTP exchanges and replaced) with the tenant provisioning into the sample application through
 * the `http` connector (config/examples/sample-app-connector.yaml), as `SAMPLE_APP=1 npm start`
 * does: every acknowledged user exists exactly once in the sample application, none twice, and
 * each reached `invited` with one invitation.
 *
 * The sample application runs in this process over the test's PostgreSQL (a schema of its own).
 * Its tags come into force 8 s after a change and the tenant's tag window is 10 s: each user
 * waits in `waitingPropagation` while the workflow reads the account back (at once, after 5 s,
 * then at the window's end), which is where the first worker is killed, as in the original.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Db } from '../../common/db';
import { createTenant, saveConfigVersion } from '../../common/repositories/tenants';
import { createToken } from '../../common/repositories/tokens';
import { secretStore } from '../../connectors/secrets';
import type { RunningSampleApp } from '../../dev/sample-app/server';
import { sampleAppConnector, startTestSampleApp } from '../sample-app';
import { startSmtpCatcher, type SmtpCatcher } from '../../dev/smtp-catcher';
import { openTestDatabase, requireEnv, testTenantConfig } from '../harness';
import { runProductionShape } from './production-shape-run';
import { checkLedger } from './ledger';
import { killHard, sleep, startPrivatePostgres, type PostgresServer } from './support';

/** As production-shape.fault.test.ts. */
const USERS = 80;
const LANES = 6;
const SMTP_REPLY_DELAY_MS = 700;
/** The sample application's tag cache, within the tenant's 10 s tag window. */
const TAG_DELAY_MS = 8_000;
const SECRET = 'sample-app-token';

let pg: PostgresServer;
let db: Db & { urlForChildren: string };
let smtp: SmtpCatcher;
let app: RunningSampleApp;
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) await killHard(c);
  await app?.close();
  await smtp?.close();
  await db?.close();
  await pg?.dispose();
});

test('when SCIM servers and workers are SIGKILLed mid-import with the tenant on the http connector, then every acknowledged user is one account in the sample application and invited once', async () => {
  const startedAt = performance.now();
  const temporalAddress = process.env.SCIMFLOW_CLUSTER_TEMPORAL_ADDRESS || requireEnv('SCIMFLOW_TEST_TEMPORAL_ADDRESS');
  smtp = await startSmtpCatcher({ replyDelayMs: SMTP_REPLY_DELAY_MS });
  pg = await startPrivatePostgres();
  db = await openTestDatabase(pg.url);
  app = await startTestSampleApp(db, { tagDelayMs: TAG_DELAY_MS });
  const tenantId = `psh-${crypto.randomBytes(4).toString('hex')}`;
  await createTenant(db, tenantId, 'Production shape, http connector');
  await secretStore(db).set(tenantId, SECRET, app.token);
  await saveConfigVersion(
    db,
    tenantId,
    testTenantConfig({ propagation: { tags: '10s', securityRole: '0s' }, connector: sampleAppConnector(app.url) as never }),
    'test',
  );
  const { token } = await createToken(db, tenantId, 'idp');
  let accountsAtWorkerKill = -1;
  const { acknowledged, requests, waitingAtWorkerKill, invitedAtWorkerKill, inExchangeAtKill, readyAt } = await runProductionShape({
    db,
    smtp,
    tenantId,
    token,
    temporalAddress,
    users: USERS,
    lanes: LANES,
    children,
    atWorkerKill: async () => {
      accountsAtWorkerKill = await app.store.count();
    },
  });
  const count = async (sql: string) => (await db.query<{ n: number }>(sql, [tenantId])).rows[0].n;
  expect(new Set(acknowledged.map((a) => a.userName)).size).toBe(USERS);
  expect(acknowledged.filter((a) => a.by === 0).length).toBeGreaterThan(0);
  expect(acknowledged.filter((a) => a.by === 1).length).toBeGreaterThan(0);
  expect(waitingAtWorkerKill).toBeGreaterThan(0);
  expect(invitedAtWorkerKill).toBe(0);
  expect(accountsAtWorkerKill).toBeGreaterThan(0);

  const mailsTo = (address: string) => smtp.messages.filter((m) => m.to.includes(address)).map((m) => m.raw);
  const deadline = Date.now() + 150_000;
  const settled = () => count(`SELECT count(*)::int AS n FROM provisioning_states WHERE tenant_id = $1 AND state IN ('failed', 'awaitingData')`);
  while (acknowledged.some((a) => mailsTo(a.userName).length === 0) && Date.now() < deadline && (await settled()) === 0) await sleep(250);
  await sleep(1_000);

  // Each reached invited (and what stopped those that did not).
  const notInvited = (
    await db.query<{ state: string; last_error: string | null }>(
      `SELECT state, last_error FROM provisioning_states WHERE tenant_id = $1 AND state <> 'invited' ORDER BY user_id`,
      [tenantId],
    )
  ).rows;
  expect(notInvited).toEqual([]);
  expect(await count(`SELECT count(*)::int AS n FROM provisioning_states WHERE tenant_id = $1 AND state = 'invited'`)).toBe(USERS);

  // Each acknowledged user: exactly one account in the sample application (its own API, every status), and no account besides.
  const accountsPerUser = await Promise.all(
    acknowledged.map(async (a) => {
      const res = await fetch(`${app.url}/users?status=all&email=${encodeURIComponent(a.userName)}`, { headers: { Authorization: `Bearer ${app.token}` } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { users: { id: string }[] }).users;
    }),
  );
  const perUser = accountsPerUser.map((list) => list.length);
  expect(perUser.filter((n) => n !== 1)).toEqual([]);
  expect(await app.store.count()).toBe(USERS);
  // The ledger's view agrees: the application's id of each user is the account found, its calls confirmed.
  const rows = (
    await db.query<{ user_id: string; app_id: string | null; last_error: string | null }>(
      'SELECT user_id::text, app_id, last_error FROM connector_accounts WHERE tenant_id = $1',
      [tenantId],
    )
  ).rows;
  const byUser = new Map(rows.map((r) => [r.user_id, r]));
  expect(acknowledged.filter((a, i) => byUser.get(a.id)?.app_id !== accountsPerUser[i][0].id || byUser.get(a.id)?.last_error !== null)).toEqual([]);

  const figures = await checkLedger(
    db,
    tenantId,
    `Two SCIM servers and two workers, the tenant on the http connector into the sample application; one of each SIGKILLed mid-import, then the other worker inside SMTP exchanges (${process.env.SCIMFLOW_CLUSTER_TEMPORAL_ADDRESS ? 'Temporal server on PostgreSQL' : 'Temporal dev server'})`,
    requests,
    acknowledged,
    mailsTo,
  );
  expect(figures).toMatchObject({ acknowledged: USERS, applied: USERS, duplicated: 0, invitations: USERS, duplicateInvitations: 0 });
  expect(inExchangeAtKill).toBeGreaterThan(0);
  const invitedWithoutMail = await count(`SELECT count(*)::int AS n FROM mail_deliveries WHERE tenant_id = $1 AND kind = 'invitation' AND status <> 'sent'`);
  expect(invitedWithoutMail).toBe(0);

  const resent = await count(`SELECT count(*)::int AS n FROM audit_log WHERE tenant_id = $1 AND action = 'mail.resent'`);
  const summary = {
    scenario: 'http connector: SCIM server and workers SIGKILLed mid-import',
    users: USERS,
    kills: { scimServers: 1, workers: 2 },
    waitingAtWorkerKill,
    accountsAtWorkerKill,
    inExchangeAtKill,
    accountsPerUser: { min: Math.min(...perUser), max: Math.max(...perUser) },
    resent,
    fromReadySeconds: Math.round((performance.now() - readyAt) / 100) / 10,
    totalSeconds: Math.round((performance.now() - startedAt) / 100) / 10,
    at: new Date().toISOString(),
  };
  fs.appendFileSync(path.join(__dirname, '..', '..', 'test-results', 'reliability.jsonl'), `${JSON.stringify(summary)}\n`);
  process.stderr.write(`[production-shape-http] ${JSON.stringify(summary)}\n`);
}, 240_000);
