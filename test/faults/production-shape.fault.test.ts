/**
 * The production shape on one machine: two `scim-server` and two `worker` processes (the
 * entry points docker-compose.yml runs) on one PostgreSQL and one Temporal frontend. The
 * identity provider pushes users round-robin to both SCIM servers, as behind a load balancer;
 * mid-import one SCIM server and one worker are SIGKILLed and stay down. What got no answer is
 * retried on the other server (lookup by userName, then create), as Entra and Okta retry.
 *
 * The first worker dies with onboarding under way, before any invitation is sent (users sit in a
 * 10 s propagation window). The mail server answers slowly (the recipient and the final dot), and
 * the other worker is SIGKILLed while it is inside SMTP exchanges; a replacement starts, as an
 * orchestrator restarts a dead container. Every acknowledged user is onboarded once and gets its
 * invitation: at least once, one invitation and one Message-ID per user (a try cut off mid-send
 * is repeated with the same Message-ID once its lease is over; docs/reliability.md).
 *
 * Temporal is the test run's dev server, or the Temporal server on PostgreSQL when
 * SCIMFLOW_CLUSTER_TEMPORAL_ADDRESS is set (`npm run test:cluster`, test/cluster.ts).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Db } from '../../common/db';
import { createTenant, saveConfigVersion } from '../../common/repositories/tenants';
import { createToken } from '../../common/repositories/tokens';
import { startSmtpCatcher, type SmtpCatcher } from '../../dev/smtp-catcher';
import { freePort } from '../../dev/temporal-dev-server';
import { EXT, newUser, openTestDatabase, requireEnv, SCIM_USER, testTenantConfig } from '../harness';
import { checkLedger, messageIdOf } from './ledger';
import { killHard, sleep, spawnScimServer, spawnWorker, startPrivatePostgres, waitUntilOk, type PostgresServer } from './support';

const USERS = 80;
const LANES = 6;

/** The slow mail server: each reply that leads into DATA, and the one to the final dot, this late. */
const SMTP_REPLY_DELAY_MS = 700;

let pg: PostgresServer;
let db: Db & { urlForChildren: string };
let smtp: SmtpCatcher;
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) await killHard(c);
  await smtp?.close();
  await db?.close();
  await pg?.dispose();
});

test('when SCIM servers and workers are SIGKILLed mid-import, one worker inside SMTP exchanges, then every acknowledged user gets one invitation', async () => {
  const temporalAddress = process.env.SCIMFLOW_CLUSTER_TEMPORAL_ADDRESS || requireEnv('SCIMFLOW_TEST_TEMPORAL_ADDRESS');
  smtp = await startSmtpCatcher({ replyDelayMs: SMTP_REPLY_DELAY_MS });
  pg = await startPrivatePostgres();
  db = await openTestDatabase(pg.url);
  const tenantId = `ps-${crypto.randomBytes(4).toString('hex')}`;
  await createTenant(db, tenantId, 'Production shape');
  await saveConfigVersion(db, tenantId, testTenantConfig({ propagation: { tags: '10s', securityRole: '0s' } }), 'test');
  const { token } = await createToken(db, tenantId, 'idp');
  const shared = {
    DATABASE_URL: db.urlForChildren,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: `tq-${tenantId}`,
    SMTP_URL: smtp.url,
    // A try cut off mid-send is repeated this long after it began (production: 2 min).
    MAIL_SEND_LEASE: '5s',
    PAYLOAD_KEYS: `ps:${crypto.randomBytes(32).toString('base64')}`,
  };
  const serverPorts = [await freePort(), await freePort()];
  // Each SCIM server's /readyz is on its ops port, apart from the SCIM port.
  const opsPorts = [await freePort(), await freePort()];
  const publicUrl = `http://127.0.0.1:${serverPorts[0]}`;
  const workerPorts = [await freePort(), await freePort()];
  const servers = serverPorts.map((port, i) =>
    spawnScimServer({ ...shared, PORT: String(port), OPS_PORT: String(opsPorts[i]), PUBLIC_URL: `http://127.0.0.1:${port}` }),
  );
  const workers = workerPorts.map((port) => spawnWorker({ ...shared, METRICS_PORT: String(port), PUBLIC_URL: publicUrl }));
  const replacementPort = await freePort();
  children.push(...servers, ...workers);
  await Promise.all([
    ...opsPorts.map((p) => waitUntilOk(`http://127.0.0.1:${p}/readyz`)),
    ...workerPorts.map((p) => waitUntilOk(`http://127.0.0.1:${p}/readyz`, 90_000)),
  ]);

  const bases = serverPorts.map((p) => `http://127.0.0.1:${p}/scim/v2`);
  const alive = [true, true];
  const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' };
  const users = Array.from({ length: USERS }, () => newUser({ [EXT]: { employeeAreas: ['Care Coordinator'] } }));
  const acknowledged: { id: string; userName: string; by: number }[] = [];
  const invitedCount = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM invitations WHERE tenant_id = $1', [tenantId])).rows[0].n;
  const waitingCount = async () =>
    (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM provisioning_states WHERE tenant_id = $1 AND state = 'waitingPropagation'`, [tenantId]))
      .rows[0].n;
  let requests = 0;
  let invitedAtWorkerKill = -1;
  let waitingAtWorkerKill = -1;
  let inExchangeAtKill = -1;

  const killer = (async () => {
    while (acknowledged.length < USERS / 3) await sleep(10);
    await killHard(servers[0]);
    alive[0] = false;
    // The worker dies with onboarding under way: users in their propagation window, none invited yet.
    while ((await waitingCount()) === 0) await sleep(20);
    waitingAtWorkerKill = await waitingCount();
    await killHard(workers[0]);
    invitedAtWorkerKill = await invitedCount();
    // The other worker dies inside SMTP exchanges (between the recipient and the answer to the final dot).
    while (smtp.inExchange() === 0) await sleep(5);
    // Read before the kill: once the worker is gone its sessions close.
    inExchangeAtKill = smtp.inExchange();
    await killHard(workers[1]);
    const replacement = spawnWorker({ ...shared, METRICS_PORT: String(replacementPort), PUBLIC_URL: publicUrl });
    children.push(replacement);
  })();

  await Promise.all(
    Array.from({ length: LANES }, async (_, lane) => {
      for (let i = lane; i < users.length; i += LANES) {
        const u = users[i];
        let target = i % 2; // round-robin, as a load balancer
        for (let attempt = 0; ; attempt++) {
          if (attempt > 100) throw new Error(`gave up on ${u.userName}`);
          if (!alive[target]) target = 1 - target; // the balancer takes a dead backend out
          const base = bases[target];
          try {
            requests += 1;
            const found = await fetch(`${base}/Users?filter=${encodeURIComponent(`userName eq "${u.userName}"`)}`, { headers });
            if (found.status !== 200) throw new Error(`lookup ${found.status}`);
            const list = (await found.json()) as { Resources: { id: string }[] };
            if (list.Resources.length === 1) {
              acknowledged.push({ id: list.Resources[0].id, userName: u.userName, by: target });
              break;
            }
            requests += 1;
            const res = await fetch(`${base}/Users`, { method: 'POST', headers, body: JSON.stringify({ ...u, schemas: [SCIM_USER] }) });
            if (res.status === 201) {
              acknowledged.push({ id: ((await res.json()) as { id: string }).id, userName: u.userName, by: target });
              break;
            }
            throw new Error(`create ${res.status}`);
          } catch {
            target = 1 - target;
            await sleep(100); // connection refused or reset: the other backend next
          }
        }
      }
    }),
  );
  await killer;
  expect(new Set(acknowledged.map((a) => a.userName)).size).toBe(USERS);
  // Both SCIM servers took part, and the worker was killed mid-onboarding.
  expect(acknowledged.filter((a) => a.by === 0).length).toBeGreaterThan(0);
  expect(acknowledged.filter((a) => a.by === 1).length).toBeGreaterThan(0);
  expect(waitingAtWorkerKill).toBeGreaterThan(0);
  expect(invitedAtWorkerKill).toBe(0);

  const mailsTo = (address: string) => smtp.messages.filter((m) => m.to.includes(address)).map((m) => m.raw);
  const deadline = Date.now() + 180_000;
  while (acknowledged.some((a) => mailsTo(a.userName).length === 0) && Date.now() < deadline) await sleep(250);
  // A moment for a duplicate, if there were one, to show up.
  await sleep(1_000);
  const rows = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM scim_users WHERE tenant_id = $1', [tenantId])).rows[0].n;
  expect(rows).toBe(USERS);
  const figures = await checkLedger(
    db,
    tenantId,
    `Two SCIM servers and two workers; one of each SIGKILLed mid-import (${process.env.SCIMFLOW_CLUSTER_TEMPORAL_ADDRESS ? 'Temporal server on PostgreSQL' : 'Temporal dev server'})`,
    requests,
    acknowledged,
    mailsTo,
  );
  expect(figures).toMatchObject({ acknowledged: USERS, applied: USERS, duplicated: 0, invitations: USERS, duplicateInvitations: 0 });
  // The second kill did land inside SMTP exchanges, and what it cut off was sent again and says so.
  expect(inExchangeAtKill).toBeGreaterThan(0);
  const resent = (
    await db.query<{ user_id: string }>(`SELECT user_id::text FROM audit_log WHERE tenant_id = $1 AND action = 'mail.resent'`, [tenantId])
  ).rows.map((r) => r.user_id);
  fs.appendFileSync(
    path.join(__dirname, '..', '..', 'test-results', 'reliability.jsonl'),
    `${JSON.stringify({ scenario: 'Worker SIGKILLed inside SMTP exchanges', inExchangeAtKill, resent: resent.length, secondCopies: figures.secondCopies, at: new Date().toISOString() })}\n`,
  );
  expect(resent.length).toBeGreaterThan(0);
  for (const id of resent) {
    const user = acknowledged.find((a) => a.id === id)!;
    expect(new Set(mailsTo(user.userName).map(messageIdOf)).size).toBe(1);
  }
  // Nobody is said to be invited without a completed send of the round.
  const invitedWithoutMail = (
    await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM mail_deliveries WHERE tenant_id = $1 AND kind = 'invitation' AND status <> 'sent'`, [
      tenantId,
    ])
  ).rows[0].n;
  expect(invitedWithoutMail).toBe(0);
});
