/**
 * The `http` connector against the sample application (dev/sample-app/), on the real Temporal
 * dev server, PostgreSQL and SMTP server: the whole lifecycle of a user carried into the
 * application through config/examples/sample-app-connector.yaml, and the application
 * misbehaving on purpose (5xx, 429 with Retry-After, 409, 400 with a message, a timeout after it
 * committed, an answer of an unknown shape). None may lose a change, make a second account, or
 * show the user as provisioned (invited) when the application said no.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { userWorkflowId } from '../common/temporal/constants';
import { saveConfigVersion } from '../common/repositories/tenants';
import { startSampleApp, type RunningSampleApp } from '../dev/sample-app/server';
import { sampleAppConnector, startTestSampleApp } from '../test/sample-app';
import { EXT, newUser, PATCH_OP, startHarness, testTenantConfig, type Harness } from '../test/harness';
import { retrySignal } from '../workflows/definitions';
import type { Fault } from '../dev/sample-app/app';
import { connectorHealth, testConnection } from './health';
import { connectorRegistry } from './registry';
import { secretStore } from './secrets';

let h: Harness;
let app: RunningSampleApp;

/** The shipped example, pointed at this test's sample application, with a short timeout (the timeout scenario). */
function connectorConfig(baseUrl: string): Record<string, unknown> {
  return sampleAppConnector(baseUrl, { timeout: '1s' });
}

beforeAll(async () => {
  h = await startHarness();
  app = await startTestSampleApp(h.db);
  await secretStore(h.db).set(h.tenantId, 'sample-app-token', app.token);
  await saveConfigVersion(
    h.db,
    h.tenantId,
    testTenantConfig({
      employeeAreas: ['Care Coordinator', 'Assigned Agent'],
      connector: connectorConfig(app.url) as never,
    }),
    'test',
  );
});
afterAll(async () => {
  await app?.close();
  await h?.close();
});
afterEach(() => app.faults.clear());

async function sampleAccounts(email: string) {
  const res = await fetch(`${app.url}/users?status=all&email=${encodeURIComponent(email)}`, { headers: { Authorization: `Bearer ${app.token}` } });
  return ((await res.json()) as { users: any[] }).users;
}

async function sampleAccount(email: string) {
  const accounts = await sampleAccounts(email);
  expect(accounts).toHaveLength(1);
  return accounts[0];
}

/** The creates the user's workflow sent (each carries the workflow's idempotency key). */
const postsOf = (userId: string) =>
  app.calls.filter((c) => c.method === 'POST' && c.path === '/users' && c.idempotencyKey?.startsWith(`${userWorkflowId(h.tenantId, userId)}:`));
const inject = (f: Partial<Fault> & Pick<Fault, 'fault'>) => app.faults.add(f);

async function connectorRow(userId: string) {
  return (await h.db.query<Record<string, any>>('SELECT * FROM connector_accounts WHERE tenant_id = $1 AND user_id = $2::uuid', [h.tenantId, userId])).rows[0];
}

describe('the http connector: the whole lifecycle in the sample application', () => {
  test('when a user is created, accepted, suspended, reactivated and deleted through SCIM, then the sample application holds each change, with one account', async () => {
    const user = newUser({
      title: 'RN',
      phoneNumbers: [{ value: '+1 555 010 4242', type: 'mobile', primary: true }],
      [EXT]: {
        mobileAppUser: true,
        organisations: [{ value: 'north', role: 'Client Admin', primary: true }, { value: 'south' }],
        providerAccounts: [{ type: 'RN', organisations: ['north', 'south'] }],
        securityRole: 'VOB Worker',
        employeeType: 'Intake',
        employeeAreas: ['Care Coordinator'],
        facilities: ['main-campus'],
      },
    });
    const created = await h.scim('POST', '/Users', user);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await h.waitForState(id, 'invited');

    // The account exists in the application with every part, and its login waits for the acceptance.
    const account = await sampleAccount(user.userName);
    expect(account).toMatchObject({
      email: user.userName,
      firstName: 'Test',
      title: 'RN',
      primaryPhone: '+15550104242',
      status: 'active',
      loginEnabled: false,
    });
    expect(account.memberships).toEqual([
      { orgKey: 'north', kind: 'primary', role: 'Client Admin' },
      { orgKey: 'south', kind: 'member', role: 'Client Staff' },
    ]);
    expect(account.licences).toEqual([
      { orgKey: 'north', licenceLevel: 'Professional', mobileLicence: 'Mobile Standard' },
      { orgKey: 'south', licenceLevel: 'Basic', mobileLicence: null },
    ]);
    expect(account.providerAccounts).toEqual([
      { providerType: 'RN', orgKey: 'north' },
      { providerType: 'RN', orgKey: 'south' },
    ]);
    expect(account.access).toMatchObject({ securityRole: 'VOB Worker', employeeType: 'Intake', tags: ['Care Coordinator'], facilities: ['main-campus'] });
    // The ledger keeps what scimflow applied, as before (the console, the diff, drift repair read it).
    expect((await h.db.query('SELECT count(*)::int AS n FROM app_memberships WHERE tenant_id = $1 AND user_id = $2::uuid', [h.tenantId, id])).rows[0]).toEqual({
      n: 2,
    });
    // What the application confirmed, and each call in the user's log (no personal data).
    const row = await connectorRow(id);
    expect(row).toMatchObject({ connector_kind: 'http', app_id: account.id, login_enabled: false, last_error: null });
    expect(Object.keys(row.confirmed_parts).sort()).toEqual(['access', 'licences', 'organisations', 'profile', 'providerAccounts']);
    const calls = (
      await h.db.query<{ detail: any }>(`SELECT detail FROM audit_log WHERE tenant_id = $1 AND user_id = $2::uuid AND action = 'connector.call' ORDER BY id`, [
        h.tenantId,
        id,
      ])
    ).rows.map((r) => r.detail);
    expect(calls.map((c) => `${c.operation}${c.part ? `.${c.part}` : ''}:${c.outcome}`)).toEqual([
      'ensureAccount:ok',
      'apply.profile:ok',
      'apply.organisations:ok',
      'apply.licences:ok',
      'apply.providerAccounts:ok',
      'apply.access:ok',
    ]);
    expect(calls[0].idempotencyKey).toMatch(new RegExp(`^${userWorkflowId(h.tenantId, id)}:convergeUser:\\d+$`));
    expect(JSON.stringify(calls)).not.toContain(user.userName);
    // Every write carried an Idempotency-Key.
    expect(
      app.calls.filter((c) => c.method !== 'GET' && c.path.includes(account.id)).every((c) => c.idempotencyKey?.startsWith(userWorkflowId(h.tenantId, id))),
    ).toBe(true);

    // Accepted: login enabled in the application.
    expect((await h.acceptInvitation(h.acceptLink(user.userName))).status).toBe(200);
    await h.waitForState(id, 'active');
    await expectEventually(async () => (await sampleAccount(user.userName)).loginEnabled, true);

    // Suspended (active=false): login blocked at once, licences given back.
    await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
    await h.waitForState(id, 'suspended');
    expect(await sampleAccount(user.userName)).toMatchObject({ loginEnabled: false, licences: [], status: 'active' });

    // Reactivated: login back (the user had accepted), licences taken again.
    await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: true }] });
    await h.waitForState(id, 'active');
    await expectEventually(
      async () => {
        const a = await sampleAccount(user.userName);
        return { login: a.loginEnabled, licences: a.licences.length };
      },
      { login: true, licences: 2 },
    );

    // A change of access reaches the application (only the part that changed is sent).
    const before = app.calls.length;
    await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: `${EXT}:securityRole`, value: 'Analytics Only' }] });
    await expectEventually(async () => (await sampleAccount(user.userName)).access.securityRole, 'Analytics Only');
    expect(
      app.calls
        .slice(before)
        .filter((c) => c.method !== 'GET')
        .map((c) => `${c.method} ${c.path.replace(account.id, ':id')}`),
    ).toEqual(['PUT /users/:id/access']);

    // Deleted: terminated in the application, the record kept.
    expect((await h.scim('DELETE', `/Users/${id}`)).status).toBe(204);
    await h.waitForState(id, 'terminated');
    expect(await sampleAccount(user.userName)).toMatchObject({
      status: 'terminated',
      loginEnabled: false,
      memberships: [],
      licences: [],
      providerAccounts: [],
    });
    expect((await connectorRow(id)).terminated_at).not.toBeNull();
  });
});

describe('the http connector: a held user', () => {
  test('when an active user loses required data, then its login is blocked in the application and what it lost is removed; complete again, login is back', async () => {
    const user = newUser({ [EXT]: { organisations: [{ value: 'north', primary: true }, { value: 'south' }] } });
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    await h.waitForState(id, 'invited');
    expect((await h.acceptInvitation(h.acceptLink(user.userName))).status).toBe(200);
    await h.waitForState(id, 'active');
    await expectEventually(async () => (await sampleAccount(user.userName)).loginEnabled, true);

    // The last name removed (required) and the south office dropped: held.
    await h.scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'remove', path: 'name.familyName' },
        { op: 'replace', path: `${EXT}:organisations`, value: [{ value: 'north', primary: true }] },
      ],
    });
    await h.waitForState(id, 'awaitingData');
    await expectEventually(
      async () => {
        const a = await sampleAccount(user.userName);
        return { login: a.loginEnabled, orgs: a.memberships.map((m: { orgKey: string }) => m.orgKey) };
      },
      { login: false, orgs: ['north'] },
    );

    // Complete again: onboarded as before, login back (the user had accepted).
    await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'name.familyName', value: 'Again' }] });
    await h.waitForState(id, 'active');
    await expectEventually(
      async () => {
        const a = await sampleAccount(user.userName);
        return { login: a.loginEnabled, lastName: a.lastName };
      },
      { login: true, lastName: 'Again' },
    );
    expect(await sampleAccounts(user.userName)).toHaveLength(1);
  });
});

describe('the http connector: the application misbehaving', () => {
  test('when the application answers 500 twice, then the create is retried and the user is invited with one account', async () => {
    inject({ fault: '500', times: 2, method: 'POST', path: '^/users$' });
    const user = newUser();
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    await h.waitForState(id, 'invited');
    expect(await sampleAccounts(user.userName)).toHaveLength(1);
    expect(postsOf(id).map((c) => c.status)).toEqual([500, 500, 201]);
    expect((await connectorRow(id)).last_error).toBeNull();
    expect(h.mailsTo(user.userName)).toHaveLength(1);
  });

  test('when the application answers 429 with Retry-After, then the create is retried no sooner than it asked', async () => {
    inject({ fault: '429', times: 1, method: 'POST', path: '^/users$', retryAfter: 3 });
    const user = newUser();
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    await h.waitForState(id, 'invited', 60_000);
    const posts = postsOf(id);
    const limited = posts.find((c) => c.status === 429)!;
    const created = posts.find((c) => c.status === 201 && Date.parse(c.at) > Date.parse(limited.at))!;
    expect(Date.parse(created.at) - Date.parse(limited.at)).toBeGreaterThanOrEqual(2_900);
    expect(await sampleAccounts(user.userName)).toHaveLength(1);
  });

  test('when the application refuses the create with 400 and a message, then the user is failed with that message, no invitation is sent, and a retry after the fix onboards it', async () => {
    inject({ fault: '400', times: 1, method: 'POST', path: '^/users$', message: 'Email domain example.org is not allowed for this client' });
    const user = newUser();
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    const failed = await h.waitForState(id, 'failed');
    expect(failed.lastError).toContain('Email domain example.org is not allowed for this client');
    expect(failed.lastError).toMatch(/^convergeUser: the application refused createAccount \(HTTP 400\)/);
    expect(await sampleAccounts(user.userName)).toHaveLength(0);
    expect(h.mailsTo(user.userName)).toHaveLength(0);
    expect(await connectorRow(id)).toMatchObject({ app_id: null, last_error_kind: 'permanent' });
    // Not retried: one refused create only.
    expect(postsOf(id).map((c) => c.status)).toEqual([400]);

    // The application fixed (the fault was one-off): an operator's retry onboards the user, nothing lost.
    await h.client.workflow.getHandle(userWorkflowId(h.tenantId, id)).signal(retrySignal);
    await h.waitForState(id, 'invited');
    expect(await sampleAccounts(user.userName)).toHaveLength(1);
    expect(h.mailsTo(user.userName)).toHaveLength(1);
  });

  test('when the application refuses a part (400 on access), then the account is not shown as provisioned and no invitation is sent', async () => {
    inject({ fault: '400', times: 1, method: 'PUT', path: '/access$', message: 'Security role VOB Worker is not licensed' });
    const user = newUser({ [EXT]: { securityRole: 'VOB Worker' } });
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    const failed = await h.waitForState(id, 'failed');
    expect(failed.lastError).toContain('Security role VOB Worker is not licensed');
    expect(h.mailsTo(user.userName)).toHaveLength(0);
    const row = await connectorRow(id);
    expect(row.confirmed_parts.access).toBeUndefined();
    expect(row.confirmed_parts.profile).toBeDefined();
    // A retry sends what is missing (the access, and the licences the failed user gave back), not the account again.
    const before = app.calls.length;
    await h.client.workflow.getHandle(userWorkflowId(h.tenantId, id)).signal(retrySignal);
    await h.waitForState(id, 'invited');
    expect(
      app.calls
        .slice(before)
        .filter((c) => c.method !== 'GET')
        .map((c) => `${c.method} ${c.path.replace(/[0-9a-f-]{36}/, ':id')}`),
    ).toEqual(['PUT /users/:id/licences', 'PUT /users/:id/access']);
    expect((await sampleAccount(user.userName)).access.securityRole).toBe('VOB Worker');
  });

  test('when the application answers 409, then the user is failed with a conflict to resolve, and no invitation is sent', async () => {
    inject({ fault: '409', times: 1, method: 'POST', path: '^/users$', message: 'login already in use by account 4711' });
    const user = newUser();
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    const failed = await h.waitForState(id, 'failed');
    expect(failed.lastError).toContain('conflict on createAccount (HTTP 409): login already in use by account 4711');
    expect(h.mailsTo(user.userName)).toHaveLength(0);
    expect(await sampleAccounts(user.userName)).toHaveLength(0);
    expect((await connectorRow(id)).last_error_kind).toBe('conflict');
  });

  test('when the application commits the create but its answer times out, then the retry finds the account: exactly one', async () => {
    inject({ fault: 'timeout', times: 1, method: 'POST', path: '^/users$', delayMs: 3_000 });
    const user = newUser();
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    await h.waitForState(id, 'invited');
    expect(await sampleAccounts(user.userName)).toHaveLength(1);
    // One create, whose caller gave up waiting; the retry found the account instead of making another.
    expect(postsOf(id).map((c) => c.status)).toEqual([499]);
    const log = (
      await h.db.query<{ detail: any }>(`SELECT detail FROM audit_log WHERE tenant_id = $1 AND user_id = $2::uuid AND action = 'connector.call' ORDER BY id`, [
        h.tenantId,
        id,
      ])
    ).rows.map((r) => `${r.detail.operation}:${r.detail.outcome}`);
    expect(log.slice(0, 2)).toEqual(['createAccount:transient', 'ensureAccount:ok']);
  });

  test('when the application answers the create with an unknown shape, then the user is failed saying what was missing; a retry finds the account made', async () => {
    inject({ fault: 'unknown-shape', times: 1, method: 'POST', path: '^/users$' });
    const user = newUser();
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    const failed = await h.waitForState(id, 'failed');
    expect(failed.lastError).toContain("the application's answer to createAccount has no /id");
    expect(h.mailsTo(user.userName)).toHaveLength(0);
    await h.client.workflow.getHandle(userWorkflowId(h.tenantId, id)).signal(retrySignal);
    await h.waitForState(id, 'invited');
    expect(await sampleAccounts(user.userName)).toHaveLength(1);
    expect(postsOf(id)).toHaveLength(1);
  });
});

describe("the connector's operator tools", () => {
  test('when the health and the test connection are asked for, then they report the calls, the failing users and the reach', async () => {
    const registry = connectorRegistry({ db: h.db, secrets: secretStore(h.db) });
    const health = await connectorHealth(h.db, registry, h.tenantId);
    expect(health).toMatchObject({ kind: 'http', baseUrl: app.url, readsBack: true });
    expect(health.accounts).toBeGreaterThan(3);
    expect(health.failedCalls).toBeGreaterThan(0); // the misbehaviours above
    expect(health.callsPerMinute).toBeGreaterThan(0);
    expect(health.latencyMs.p50).not.toBeNull();
    expect(await testConnection(h.db, registry, h.tenantId)).toMatchObject({ kind: 'http', ok: true });
  });

  test('when the CLI validates a connector whose secret is missing, then it refuses with the path; set-secret reads the value from stdin and the same file validates', async () => {
    const root = path.join(__dirname, '..');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'connector-cli-'));
    const file = path.join(dir, 'connector.yaml');
    const yaml = fs.readFileSync(path.join(root, 'config/examples/sample-app-connector.yaml'), 'utf8');
    fs.writeFileSync(file, yaml.replace('http://127.0.0.1:8095', app.url).replace('secret: sample-app-token', 'secret: cli-token'));
    const cli = (args: string[], stdin?: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'cli/tenant-config.ts', ...args], {
          cwd: root,
          env: { ...process.env, DATABASE_URL: h.databaseUrlForChildren },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
        child.stdin.end(stdin ?? '');
      });
    const missing = await cli(['validate', '--tenant', h.tenantId, file]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      `connector.auth.bearer.secret: no secret named cli-token; set it with: npm run tenant-config -- set-secret --tenant ${h.tenantId} --name cli-token`,
    );

    const set = await cli(['set-secret', '--tenant', h.tenantId, '--name', 'cli-token'], `${app.token}\n`);
    expect(set).toMatchObject({ code: 0, stdout: `tenant ${h.tenantId}: secret cli-token created (encrypted with key db)\n` });
    expect(set.stdout + set.stderr).not.toContain(app.token);
    expect(await secretStore(h.db).get(h.tenantId, 'cli-token')).toBe(app.token);
    const stored = (
      await h.db.query<{ ciphertext: Buffer }>('SELECT ciphertext FROM connector_secrets WHERE tenant_id = $1 AND name = $2', [h.tenantId, 'cli-token'])
    ).rows[0];
    expect(stored.ciphertext.toString('latin1')).not.toContain(app.token);
    expect(await cli(['set-secret', '--tenant', h.tenantId, '--name', 'cli-token', 'on-the-command-line'])).toMatchObject({ code: 1 });

    const valid = await cli(['validate', '--tenant', h.tenantId, file]);
    expect(valid).toMatchObject({ code: 0 });
    expect(valid.stdout).toContain('connector.yaml: valid');

    // An unreachable URL is refused with its path (and --offline skips the check).
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(app.url, 'http://127.0.0.1:1'));
    const unreachable = await cli(['validate', '--tenant', h.tenantId, file]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/connector\.baseUrl: http:\/\/127\.0\.0\.1:1 is unreachable/);
    expect((await cli(['validate', '--tenant', h.tenantId, '--offline', file])).code).toBe(0);
  });
});

describe('the sample application', () => {
  test('when a security role and tags change, then reads show the previous values until the delays pass', async () => {
    const slow = await startSampleApp({ db: h.db, token: 'sat_slow', schema: app.store.schema, tagDelayMs: 400, roleDelayMs: 800 });
    try {
      const call = (method: string, p: string, body?: unknown) =>
        fetch(`${slow.url}${p}`, {
          method,
          headers: { Authorization: 'Bearer sat_slow', 'Content-Type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        }).then(async (r) => ({ status: r.status, body: (await r.json().catch(() => undefined)) as any }));
      const email = `delay.${crypto.randomBytes(3).toString('hex')}@example.org`;
      const created = await call('POST', '/users', { email, firstName: 'D', lastName: 'Elay' });
      expect(created.status).toBe(201);
      await call('PUT', `/users/${created.body.id}/access`, { securityRole: 'VOB Worker', tags: ['Care Coordinator'] });
      const early = (await call('GET', `/users/${created.body.id}`)).body;
      expect(early.access).toMatchObject({ securityRole: null, tags: [] });
      expect(early.pending).toMatchObject({ securityRole: { value: 'VOB Worker' }, tags: { value: ['Care Coordinator'] } });
      await new Promise((r) => setTimeout(r, 450));
      expect((await call('GET', `/users/${created.body.id}`)).body.access).toMatchObject({ securityRole: null, tags: ['Care Coordinator'] });
      await new Promise((r) => setTimeout(r, 400));
      expect((await call('GET', `/users/${created.body.id}`)).body.access).toMatchObject({ securityRole: 'VOB Worker', tags: ['Care Coordinator'] });

      // The same Idempotency-Key gets the same answer, and no second account.
      const again = { email: `idem.${crypto.randomBytes(3).toString('hex')}@example.org` };
      const first = await fetch(`${slow.url}/users`, {
        method: 'POST',
        headers: { Authorization: 'Bearer sat_slow', 'Content-Type': 'application/json', 'Idempotency-Key': 'k-1' },
        body: JSON.stringify(again),
      });
      const second = await fetch(`${slow.url}/users`, {
        method: 'POST',
        headers: { Authorization: 'Bearer sat_slow', 'Content-Type': 'application/json', 'Idempotency-Key': 'k-1' },
        body: JSON.stringify(again),
      });
      expect(second.status).toBe(first.status);
      expect(((await second.json()) as any).id).toBe(((await first.json()) as any).id);
      expect(await slow.store.count({ email: again.email })).toBe(1);
      // Without a token: 401.
      expect((await fetch(`${slow.url}/users`)).status).toBe(401);
    } finally {
      await slow.close();
    }
  });
});

async function expectEventually<T>(read: () => Promise<T>, expected: T, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (JSON.stringify(last) === JSON.stringify(expected)) return;
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(last)}, expected ${JSON.stringify(expected)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
