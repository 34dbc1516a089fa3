/**
 * The SCIM server process is killed (SIGKILL) in the middle of an import and restarted. The
 * identity provider retries what got no answer (lookup by userName, then create), as Entra
 * and Okta do; every user that was acknowledged, or found on retry, is onboarded exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../dev/temporal-dev-server';
import { newUser, requireEnv, SCIM_USER, startHarness, type Harness } from '../harness';
import { checkLedger } from './ledger';
import { killHard, sleep, startPrivatePostgres, type PostgresServer } from './support';

let pg: PostgresServer;
let h: Harness;
let server: ChildProcess | undefined;
let port: number;

function spawnServer(): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'scim-server/main.ts'], {
    cwd: path.join(__dirname, '..', '..'),
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      METRICS_PORT: '0',
      OPS_PORT: '0',
      PORT: String(port),
      DATABASE_URL: h.databaseUrlForChildren as string,
      TEMPORAL_ADDRESS: requireEnv('SCIMFLOW_TEST_TEMPORAL_ADDRESS'),
      TEMPORAL_TASK_QUEUE: h.taskQueue,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
    },
    stdio: ['ignore', 'ignore', process.env.FAULT_DEBUG ? 'inherit' : 'ignore'],
  });
}

async function waitUp(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error('SCIM server did not come up');
}

beforeAll(async () => {
  pg = await startPrivatePostgres();
  h = await startHarness({ databaseUrl: pg.url });
  port = await freePort();
});

afterAll(async () => {
  if (server) await killHard(server);
  await h?.close();
  await pg?.dispose();
});

test('when the SCIM server is killed mid-import and restarted, then every acknowledged user is provisioned and invited exactly once', async () => {
  server = spawnServer();
  await waitUp();
  const base = `http://127.0.0.1:${port}/scim/v2`;
  const headers = { Authorization: `Bearer ${h.token}`, 'Content-Type': 'application/scim+json' };
  const users = Array.from({ length: 60 }, () => newUser());
  const acknowledged: { id: string; userName: string }[] = [];
  let killed = false;
  let requests = 0;

  // Kill the server while the import is in full flight.
  const killer = (async () => {
    while (acknowledged.length < 20) await sleep(10);
    await killHard(server as ChildProcess);
    killed = true;
    await sleep(500);
    server = spawnServer();
  })();

  await Promise.all(
    [0, 1, 2, 3].map(async (lane) => {
      for (let i = lane; i < users.length; i += 4) {
        const u = users[i];
        for (let attempt = 0; ; attempt++) {
          if (attempt > 100) throw new Error(`gave up on ${u.userName}`);
          try {
            requests += 1;
            // The IdP's retry: look the user up first, then create.
            const found = await fetch(`${base}/Users?filter=${encodeURIComponent(`userName eq "${u.userName}"`)}`, { headers });
            if (found.status !== 200) throw new Error(`lookup ${found.status}`);
            const list = (await found.json()) as { Resources: { id: string }[] };
            if (list.Resources.length === 1) {
              acknowledged.push({ id: list.Resources[0].id, userName: u.userName });
              break;
            }
            requests += 1;
            const res = await fetch(`${base}/Users`, { method: 'POST', headers, body: JSON.stringify({ ...u, schemas: [SCIM_USER] }) });
            if (res.status === 201) {
              acknowledged.push({ id: ((await res.json()) as { id: string }).id, userName: u.userName });
              break;
            }
            throw new Error(`create ${res.status}`);
          } catch {
            await sleep(200); // connection refused or reset while the server is down
          }
        }
      }
    }),
  );
  await killer;
  expect(killed).toBe(true);
  expect(new Set(acknowledged.map((a) => a.userName)).size).toBe(users.length);

  for (const a of acknowledged) await h.waitForState(a.id, 'invited', 90_000);
  const rows = (await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM scim_users WHERE tenant_id = $1', [h.tenantId])).rows[0].n;
  expect(rows).toBe(users.length);
  const figures = await checkLedger(h.db, h.tenantId, 'SCIM server SIGKILLed mid-import, IdP retries', requests, acknowledged, (address) =>
    h.mailsTo(address).map((m) => m.raw),
  );
  expect(figures).toMatchObject({ acknowledged: users.length, applied: users.length, duplicated: 0, invitations: users.length, duplicateInvitations: 0 });
});
