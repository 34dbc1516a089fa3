/**
 * The production shape's run, shared by production-shape.fault.test.ts (the built-in directory)
 * and production-shape-http.fault.test.ts (the `http` connector into the sample application):
 * two `scim-server` and two `worker` processes on one PostgreSQL and one Temporal frontend; the
 * identity provider pushes users round-robin to both SCIM servers, as behind a load balancer,
 * retrying what got no answer on the other server (lookup by userName, then create), as Entra
 * and Okta retry. Mid-import one SCIM server is SIGKILLed, then one worker with onboarding under
 * way (users in their propagation window), then the other worker inside SMTP exchanges; a
 * replacement worker starts, as an orchestrator restarts a dead container.
 *
 * Each test asserts on what it provisions into; this module only drives the run and reports
 * what it saw at each kill.
 */
import crypto from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { Db } from '../../common/db';
import type { SmtpCatcher } from '../../dev/smtp-catcher';
import { freePort } from '../../dev/temporal-dev-server';
import { EXT, newUser, SCIM_USER } from '../harness';
import { killHard, sleep, spawnScimServer, spawnWorker, waitUntilOk } from './support';

export interface Acknowledged {
  id: string;
  userName: string;
  /** Which SCIM server answered it (0 or 1). */
  by: number;
}

export interface ShapeRun {
  acknowledged: Acknowledged[];
  /** SCIM requests sent, retries included. */
  requests: number;
  /** Users in their propagation window, and invitations sent, when the first worker was killed. */
  waitingAtWorkerKill: number;
  invitedAtWorkerKill: number;
  /** SMTP exchanges under way when the second worker was killed. */
  inExchangeAtKill: number;
  /** performance.now() when every process was ready, before the first user was pushed. */
  readyAt: number;
}

export async function runProductionShape(options: {
  db: Db & { urlForChildren: string };
  smtp: SmtpCatcher;
  tenantId: string;
  token: string;
  temporalAddress: string;
  users: number;
  lanes: number;
  /** The test's list of children, killed in its afterAll. */
  children: ChildProcess[];
  /** Called right after the first worker is killed, to read the state the test cares about then. */
  atWorkerKill?: () => Promise<void>;
}): Promise<ShapeRun> {
  const { db, smtp, tenantId, token, children } = options;
  const shared = {
    DATABASE_URL: db.urlForChildren,
    TEMPORAL_ADDRESS: options.temporalAddress,
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
  const users = Array.from({ length: options.users }, () => newUser({ [EXT]: { employeeAreas: ['Care Coordinator'] } }));
  const count = async (sql: string) => (await db.query<{ n: number }>(sql, [tenantId])).rows[0].n;
  const waitingCount = () => count(`SELECT count(*)::int AS n FROM provisioning_states WHERE tenant_id = $1 AND state = 'waitingPropagation'`);
  const run: ShapeRun = { acknowledged: [], requests: 0, waitingAtWorkerKill: -1, invitedAtWorkerKill: -1, inExchangeAtKill: -1, readyAt: performance.now() };

  const killer = (async () => {
    while (run.acknowledged.length < options.users / 3) await sleep(10);
    await killHard(servers[0]);
    alive[0] = false;
    // The worker dies with onboarding under way: users in their propagation window, none invited yet.
    while ((await waitingCount()) === 0) await sleep(20);
    run.waitingAtWorkerKill = await waitingCount();
    await killHard(workers[0]);
    run.invitedAtWorkerKill = await count('SELECT count(*)::int AS n FROM invitations WHERE tenant_id = $1');
    await options.atWorkerKill?.();
    // The other worker dies inside SMTP exchanges (between the recipient and the answer to the final dot).
    while (smtp.inExchange() === 0) await sleep(5);
    // Read before the kill: once the worker is gone its sessions close.
    run.inExchangeAtKill = smtp.inExchange();
    await killHard(workers[1]);
    children.push(spawnWorker({ ...shared, METRICS_PORT: String(replacementPort), PUBLIC_URL: publicUrl }));
  })();

  await Promise.all(
    Array.from({ length: options.lanes }, async (_, lane) => {
      for (let i = lane; i < users.length; i += options.lanes) {
        const u = users[i];
        let target = i % 2; // round-robin, as a load balancer
        for (let attempt = 0; ; attempt++) {
          if (attempt > 100) throw new Error(`gave up on ${u.userName}`);
          if (!alive[target]) target = 1 - target; // the balancer takes a dead backend out
          const base = bases[target];
          try {
            run.requests += 1;
            const found = await fetch(`${base}/Users?filter=${encodeURIComponent(`userName eq "${u.userName}"`)}`, { headers });
            if (found.status !== 200) throw new Error(`lookup ${found.status}`);
            const list = (await found.json()) as { Resources: { id: string }[] };
            if (list.Resources.length === 1) {
              run.acknowledged.push({ id: list.Resources[0].id, userName: u.userName, by: target });
              break;
            }
            run.requests += 1;
            const res = await fetch(`${base}/Users`, { method: 'POST', headers, body: JSON.stringify({ ...u, schemas: [SCIM_USER] }) });
            if (res.status === 201) {
              run.acknowledged.push({ id: ((await res.json()) as { id: string }).id, userName: u.userName, by: target });
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
  return run;
}
