/**
 * The README's first command as a new user runs it: `npm start` on embedded defaults (its own
 * Temporal dev server with UI, embedded PostgreSQL server, local SMTP catcher), then a SCIM
 * user onboarded to an invitation, the database reached through the printed DATABASE_URL, a
 * token minted by `npm run tokens` beside the running stack, a second `npm start` on the same
 * DATA_DIR refused, a clean stop, and a restart on the same DATA_DIR that carries the running
 * workflow on to acceptance.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { openDatabase } from '../common/db';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../dev/temporal-dev-server';
import { LIMITS_PATH, LIMITS_SCHEMA_URN } from '../scim-server/discovery';
import { acceptInvitation, requireEnv, SCIM_USER } from './harness';

interface Started {
  child: ChildProcess;
  lines: Record<string, string>;
}

async function startAllInOne(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/start-all.ts'], {
    cwd: path.join(__dirname, '..'),
    env: { ...process.env, ...env, DATABASE_URL: '', SMTP_URL: '', TEMPORAL_ADDRESS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, string> = {};
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not print its lines within 90 s:\n${stderr.slice(-2000)}`)), 90_000);
    let buffer = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (const m of buffer.matchAll(/^(SCIM_BASE_URL|SCIM_TOKEN|TEMPORAL_UI_URL|CONSOLE_URL|DATABASE_URL|METRICS_URL|WORKER_METRICS_URL|EVENTS_URL)=(.+)$/gm))
        lines[m[1]] = m[2].trim();
      if (
        lines.SCIM_BASE_URL &&
        lines.SCIM_TOKEN &&
        lines.TEMPORAL_UI_URL &&
        lines.CONSOLE_URL &&
        lines.DATABASE_URL &&
        lines.METRICS_URL &&
        lines.EVENTS_URL
      ) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${stderr.slice(-2000)}`));
    });
  });
  return { child, lines };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('when a new user runs npm start, then SCIM, the Temporal UI and onboarding work, and a restart continues the workflows', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-aio-'));
  fs.chmodSync(dataDir, 0o755); // as root the embedded PostgreSQL runs as `postgres`, which must reach DATA_DIR
  const env = {
    DATA_DIR: dataDir,
    PORT: String(await freePort()),
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
    OPS_PORT: String(await freePort()),
    TAG_PROPAGATION_DELAY: '0s',
    ROLE_PROPAGATION_DELAY: '0s',
    SETTLE_DELAY: '0s',
    TEMPORAL_CLI_PATH: requireEnv('SCIMFLOW_TEST_CLI_PATH'),
    LOG_LEVEL: 'warn',
  };
  let run = await startAllInOne(env);
  try {
    const { SCIM_BASE_URL, SCIM_TOKEN, TEMPORAL_UI_URL, METRICS_URL } = run.lines;
    const auth = { Authorization: `Bearer ${SCIM_TOKEN}` };
    expect((await fetch(`${SCIM_BASE_URL}/ServiceProviderConfig`, { headers: auth })).status).toBe(200);
    // The limits are a document of their own (RFC 7643 §5 has no place for them), with the default body limit.
    expect(await (await fetch(`${SCIM_BASE_URL}${LIMITS_PATH}`, { headers: auth })).json()).toMatchObject({
      schemas: [LIMITS_SCHEMA_URN],
      bodyBytes: 4 * 1024 * 1024,
    });
    expect((await fetch(TEMPORAL_UI_URL)).status).toBe(200);

    // Monitoring on the ops port (loopback), not on the public one.
    const publicBase = SCIM_BASE_URL.replace(/\/scim\/v2$/, '');
    expect(METRICS_URL).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${env.OPS_PORT}/metrics$`));
    expect(await (await fetch(METRICS_URL)).text()).toContain('scimflow_scim_requests_total');
    // The lifecycle metrics are the worker's, on the URL printed for it.
    expect(await (await fetch(run.lines.WORKER_METRICS_URL)).text()).toContain('scimflow_mail_rejected_total');
    expect([200, 503]).toContain((await fetch(METRICS_URL.replace(/\/metrics$/, '/readyz'))).status);
    expect((await fetch(`${publicBase}/metrics`)).status).toBe(404);
    expect((await fetch(`${publicBase}/readyz`)).status).toBe(404);
    // The codec needs the operator's credential here too: in the URL the dev server's UI was given.
    const codecToken = fs.readFileSync(path.join(dataDir, 'codec-token'), 'utf8').trim();
    const codecBody = JSON.stringify({ payloads: [] });
    const codecHeaders = { 'Content-Type': 'application/json' };
    expect((await fetch(`${publicBase}/codec/decode`, { method: 'POST', headers: codecHeaders, body: codecBody })).status).toBe(401);
    expect((await fetch(`${publicBase}/codec/${codecToken}/decode`, { method: 'POST', headers: codecHeaders, body: codecBody })).status).toBe(200);

    const created = await fetch(`${SCIM_BASE_URL}/Users`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/scim+json' },
      body: JSON.stringify({
        schemas: [SCIM_USER],
        userName: 'new.nurse@example.org',
        name: { givenName: 'New', familyName: 'Nurse' },
        emails: [{ value: 'new.nurse@example.org', primary: true }],
      }),
    });
    expect(created.status).toBe(201);
    // The demo tenant's event feed (docs/events.md): polled with the SCIM token, advertised in /ServiceProviderConfig.
    expect(run.lines.EVENTS_URL).toBe(`${SCIM_BASE_URL}/Events`);
    const poll = await fetch(run.lines.EVENTS_URL, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: '{"returnImmediately":true}',
    });
    expect(poll.status).toBe(200);
    expect(Object.keys(((await poll.json()) as { sets: Record<string, string> }).sets).length).toBeGreaterThan(0);
    const spc = (await (await fetch(`${SCIM_BASE_URL}/ServiceProviderConfig`, { headers: auth })).json()) as { securityEvents?: { eventUris: string[] } };
    expect(spc.securityEvents?.eventUris).toContain('urn:ietf:params:scim:event:prov:create:notice');
    const outbox = path.join(dataDir, 'outbox');
    const mailFile = await until(async () => fs.readdirSync(outbox).find((f) => f.endsWith('.eml')), 60_000, 'the invitation mail');
    const mail = fs.readFileSync(path.join(outbox, mailFile), 'utf8').replace(/=\r?\n/g, '');
    const link = /(http:\/\/\S+\/invitations\/[A-Za-z0-9_-]+)/.exec(mail)?.[1] as string;
    expect(link).toBeDefined();

    // The printed DATABASE_URL reaches the running embedded server (as psql would).
    const direct = await openDatabase({ databaseUrl: run.lines.DATABASE_URL, poolSize: 1 });
    try {
      const users = await direct.query<{ n: number }>(`SELECT count(*)::int AS n FROM scim_users WHERE user_name = 'new.nurse@example.org'`);
      expect(users.rows[0].n).toBe(1);
    } finally {
      await direct.close();
    }

    // The tokens CLI beside the running stack: finds its database, prints its real address, and the token works at once.
    const cliEnv = { ...process.env, ...env, DATABASE_URL: '', PORT: '1' };
    const minted = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'cli/tokens.ts', 'create', '--tenant', 'demo', '--name', 'beside'], {
      cwd: path.join(__dirname, '..'),
      env: cliEnv,
    });
    const cliToken = /^SCIM_TOKEN=(\S+)$/m.exec(minted.stdout)?.[1];
    expect(/^SCIM_BASE_URL=(\S+)$/m.exec(minted.stdout)?.[1]).toBe(SCIM_BASE_URL);
    expect((await fetch(`${SCIM_BASE_URL}/Users`, { headers: { Authorization: `Bearer ${cliToken}` } })).status).toBe(200);

    // A second npm start on the same DATA_DIR says who runs there, and starts nothing.
    const second = spawn(process.execPath, ['--import', 'tsx', 'cli/start-all.ts'], {
      cwd: path.join(__dirname, '..'),
      env: cliEnv,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let secondErr = '';
    second.stderr?.on('data', (d: Buffer) => (secondErr += d.toString()));
    expect(await new Promise((resolve) => second.once('exit', resolve))).toBe(1);
    expect(secondErr).toMatch(/npm start is already running on DATA_DIR=.*\(pid \d+/);

    expect(await stop(run.child)).toBe(0);
    // The README's way into the console: an admin token for the demo tenant (with the stack stopped, the CLI starts the embedded database for itself).
    const tokensCli = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'cli/tokens.ts', 'create', '--tenant', 'demo', '--name', 'me', '--admin', '--role', 'Super User'],
      {
        cwd: path.join(__dirname, '..'),
        env: { ...process.env, ...env, DATABASE_URL: '' },
        encoding: 'utf8',
      },
    );
    const adminToken = /^ADMIN_TOKEN=(\S+)$/m.exec(tokensCli.stdout)?.[1] as string;
    expect(adminToken).toMatch(/^sfa_/);
    run = await startAllInOne(env);
    const consoleUrl = run.lines.CONSOLE_URL;
    const signIn = await fetch(`${consoleUrl}/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: new URL(consoleUrl).origin },
      body: new URLSearchParams({ token: adminToken }),
    });
    expect(signIn.status).toBe(303);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0];
    const overview = await fetch(consoleUrl, { headers: { Cookie: cookie } });
    expect(overview.status).toBe(200);
    expect(await overview.text()).toContain('Demo tenant');
    const token = run.lines.SCIM_TOKEN;
    expect(token).not.toBe(SCIM_TOKEN);
    // The old token was retired; the new one works.
    expect((await fetch(`${SCIM_BASE_URL}/Users`, { headers: auth })).status).toBe(401);

    expect((await acceptInvitation(link)).status).toBe(200);
    const state = await until(
      async () => {
        const list = (await (
          await fetch(`${SCIM_BASE_URL}/Users?filter=userName%20eq%20%22new.nurse@example.org%22`, { headers: { Authorization: `Bearer ${token}` } })
        ).json()) as {
          Resources: Record<string, { provisioning?: { state: string } }>[];
        };
        const s = list.Resources[0]['urn:ietf:params:scim:schemas:extension:scimflow:2.0:User']?.provisioning?.state;
        return s === 'active' ? s : undefined;
      },
      60_000,
      'the user to become active after the restart',
    );
    expect(state).toBe('active');
  } finally {
    if (run.child.exitCode === null) await stop(run.child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
