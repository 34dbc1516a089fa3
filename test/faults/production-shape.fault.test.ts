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
import { openTestDatabase, requireEnv, testTenantConfig } from '../harness';
import { runProductionShape } from './production-shape-run';
import { checkLedger, messageIdOf } from './ledger';
import { killHard, sleep, startPrivatePostgres, type PostgresServer } from './support';

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
  const { acknowledged, requests, waitingAtWorkerKill, invitedAtWorkerKill, inExchangeAtKill } = await runProductionShape({
    db,
    smtp,
    tenantId,
    token,
    temporalAddress,
    users: USERS,
    lanes: LANES,
    children,
  });
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
