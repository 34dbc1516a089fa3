/**
 * Drift repair against the application (activities/reconcile.ts), with the `http` connector and
 * the sample application (dev/sample-app/) on the real Temporal dev server, PostgreSQL and SMTP
 * server: someone changes a user's account in the application itself (its REST API, not through
 * scimflow); the next drift-repair run reads the account back, finds it different from the ledger
 * part by part, says so in the user's log, and the user's workflow puts the application back.
 */
import { saveConfigVersion } from '../common/repositories/tenants';
import { createToken } from '../common/repositories/tokens';
import { userWorkflowId } from '../common/temporal/constants';
import type { RunningSampleApp } from '../dev/sample-app/server';
import { sampleAppConnector, startTestSampleApp } from '../test/sample-app';
import type { ReconcileTotals } from '../activities/reconcile';
import { adminRequest, eventually, EXT, newUser, startHarness, testTenantConfig, type Harness } from '../test/harness';
import { secretStore } from './secrets';

let h: Harness;
let app: RunningSampleApp;
let adminToken: string;

beforeAll(async () => {
  h = await startHarness();
  app = await startTestSampleApp(h.db);
  await secretStore(h.db).set(h.tenantId, 'sample-app-token', app.token);
  const connector = sampleAppConnector(app.url);
  await saveConfigVersion(h.db, h.tenantId, testTenantConfig({ employeeAreas: ['Care Coordinator', 'Assigned Agent'], connector: connector as never }), 'test');
  adminToken = (await createToken(h.db, h.tenantId, 'reader', 'admin', 'Read Only')).token;
});
afterAll(async () => {
  await app?.close();
  await h?.close();
});

/** The sample application's REST API, as someone working in the application would use it (no Idempotency-Key). */
async function sampleApi(method: string, route: string, body?: unknown): Promise<any> {
  const res = await fetch(`${app.url}${route}`, {
    method,
    headers: { Authorization: `Bearer ${app.token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.status).toBeLessThan(300);
  return res.json();
}

/** Runs drift repair once, as the Schedule would, without the settle time. */
async function reconcile(): Promise<{ totals: ReconcileTotals; requestId: string }> {
  const workflowId = `reconcile-${h.tenantId}-test-${Date.now()}`;
  const totals = await h.client.workflow.execute('reconcileTenant', { taskQueue: h.taskQueue, workflowId, args: [{ tenantId: h.tenantId, settleMs: 0 }] });
  return { totals: totals as ReconcileTotals, requestId: `reconcile:${workflowId}` };
}

const auditOf = async (userId: string, requestId: string) =>
  (
    await h.db.query<{ action: string; detail: any }>(
      'SELECT action, detail FROM audit_log WHERE tenant_id = $1 AND user_id = $2::uuid AND request_id = $3 ORDER BY id',
      [h.tenantId, userId, requestId],
    )
  ).rows;

describe('drift repair compares the application with the ledger', () => {
  test('when an account is changed in the application itself, then drift repair finds the parts that differ, logs them, and the workflow puts the application back', async () => {
    const user = newUser({
      [EXT]: {
        organisations: [{ value: 'north', role: 'Client Admin', primary: true }],
        securityRole: 'VOB Worker',
        employeeType: 'Intake',
        employeeAreas: ['Care Coordinator'],
      },
    });
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    await h.waitForState(id, 'invited');
    const [account] = (await sampleApi('GET', `/users?email=${encodeURIComponent(user.userName)}`)).users;

    // Nothing changed in the application: every settled account is read, none differs.
    const clean = await reconcile();
    expect(clean.totals).toMatchObject({ drifted: 0, readBack: 1, readBackSkipped: 0 });

    // Someone in the application takes the role away and moves the user out of its organisation.
    await sampleApi('PUT', `/users/${account.id}/access`, { securityRole: 'Analytics Only', employeeType: 'Intake', tags: [] });
    await sampleApi('PUT', `/users/${account.id}/memberships`, { memberships: [] });
    const run = await reconcile();
    expect(run.totals).toMatchObject({ drifted: 1, readBack: 1 });

    // The application is put back, by the user's own workflow, under the run's request id; only the differing parts are sent.
    await eventually(
      async () => {
        const a = await sampleApi('GET', `/users/${account.id}`);
        return { role: a.access.securityRole, tags: a.access.tags, memberships: a.memberships };
      },
      (v) => v.role === 'VOB Worker' && v.tags.length === 1 && v.memberships.length === 1,
      'the application put back',
    );
    const entries = await eventually(
      () => auditOf(id, run.requestId),
      (rows) => rows.filter((r) => r.action === 'connector.call').length >= 2,
      'the repair calls in the log',
    );
    const detected = entries.find((e) => e.action === 'drift.detected');
    expect(detected?.detail).toEqual({
      source: 'application',
      connector: 'http',
      fields: ['application.organisations', 'application.access'],
      parts: ['organisations', 'access'],
    });
    // Part names only in the log: nothing the application holds.
    expect(JSON.stringify(detected)).not.toContain('Analytics Only');
    const calls = entries.filter((e) => e.action === 'connector.call').map((e) => e.detail);
    expect(calls.map((c) => `${c.operation}.${c.part}:${c.outcome}`)).toEqual(['apply.organisations:ok', 'apply.access:ok']);
    // A key of its own: the application's memory of the first (identical) request does not answer it.
    expect(calls[0].idempotencyKey).toMatch(new RegExp(`^${userWorkflowId(h.tenantId, id)}:convergeUser:\\d+:repair-[\\w-]{10}$`));
    const row = (await h.db.query<{ confirmed_parts: Record<string, string> }>('SELECT confirmed_parts FROM connector_accounts WHERE user_id = $1::uuid', [id]))
      .rows[0];
    expect(Object.keys(row.confirmed_parts).sort()).toEqual(['access', 'licences', 'organisations', 'profile', 'providerAccounts']);
    await h.waitForState(id, 'invited');

    // The user's log (admin API, as the console shows it) says what was found and what was sent.
    const timeline = await adminRequest(h.publicUrl, adminToken, 'GET', `/tenants/${h.tenantId}/users/${id}/timeline`);
    const titles = (timeline.body.groups as { requestId: string; steps: { title: string }[] }[])
      .filter((g) => g.requestId === run.requestId)
      .flatMap((g) => g.steps.map((s) => s.title));
    expect(titles).toContain("Drift repair found the application's account different from scimflow's ledger");
    expect(titles.some((t) => /^Application: apply access settings — ok, \d+ (ms|s)$/.test(t))).toBe(true);

    // Login enabled in the application before the user accepted: blocked again.
    await sampleApi('POST', `/users/${account.id}/login`, { enabled: true });
    const login = await reconcile();
    expect(login.totals).toMatchObject({ drifted: 1 });
    await eventually(
      async () => (await sampleApi('GET', `/users/${account.id}`)).loginEnabled,
      (enabled) => enabled === false,
      'login blocked again',
    );
    const loginEntries = await eventually(
      () => auditOf(id, login.requestId),
      (rows) => rows.some((r) => r.action === 'connector.call'),
      'the login call in the log',
    );
    expect(loginEntries.find((e) => e.action === 'drift.detected')?.detail).toMatchObject({ source: 'application', parts: ['login'] });
    expect(loginEntries.filter((e) => e.action === 'connector.call').map((e) => `${e.detail.operation}:${e.detail.outcome}`)).toEqual(['setLogin:ok']);

    // Put back: the next run finds nothing.
    expect((await reconcile()).totals).toMatchObject({ drifted: 0, readBack: 1 });
  });

  test('when the application reports the same parts different again after it accepted their repair, then they are logged once as not kept and not sent every run; a change in scimflow sends them again', async () => {
    const user = newUser({ [EXT]: { securityRole: 'VOB Worker', employeeAreas: ['Care Coordinator'] } });
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    await h.waitForState(id, 'invited');
    const [account] = (await sampleApi('GET', `/users?email=${encodeURIComponent(user.userName)}`)).users;
    const takeRoleAway = () => sampleApi('PUT', `/users/${account.id}/access`, { securityRole: 'Analytics Only', tags: ['Care Coordinator'] });

    await takeRoleAway();
    const first = await reconcile();
    expect(first.totals).toMatchObject({ drifted: 1, notKept: 0 });
    await eventually(
      () => auditOf(id, first.requestId),
      (rows) => rows.some((r) => r.action === 'connector.call' && r.detail.outcome === 'ok'),
      'the repair confirmed',
    );
    expect((await sampleApi('GET', `/users/${account.id}`)).access.securityRole).toBe('VOB Worker');

    // The same parts different again, nothing new sent since: what an application that does not keep them looks like.
    await takeRoleAway();
    const second = await reconcile();
    expect(second.totals).toMatchObject({ drifted: 0, notKept: 1 });
    const entries = await auditOf(id, second.requestId);
    expect(entries.map((e) => e.action)).toEqual(['drift.detected']);
    expect(entries[0].detail).toMatchObject({ source: 'application', parts: ['access'], notKept: true });
    const third = await reconcile();
    expect(third.totals).toMatchObject({ drifted: 0, notKept: 1 });
    expect(await auditOf(id, third.requestId)).toEqual([]);
    expect((await sampleApi('GET', `/users/${account.id}`)).access.securityRole).toBe('Analytics Only');

    // The user changes in scimflow: the access part is sent (a new account to send), and drift repair compares as before.
    await h.scim('PATCH', `/Users/${id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: `${EXT}:employeeAreas`, value: ['Care Coordinator', 'Assigned Agent'] }],
    });
    await eventually(
      async () => (await sampleApi('GET', `/users/${account.id}`)).access,
      (a) => a.securityRole === 'VOB Worker' && a.tags.length === 2,
      'the change sent',
    );
    await h.waitForState(id, 'invited');
    expect((await reconcile()).totals).toMatchObject({ drifted: 0, notKept: 0 });
  });

  test('when the application does not answer a read, then the user is skipped, not taken for drift', async () => {
    const user = newUser();
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    await h.waitForState(id, 'invited');
    app.faults.add({ fault: '500', times: 100, method: 'GET', path: '^/users/[^/]+$' });
    try {
      const run = await reconcile();
      expect(run.totals).toMatchObject({ drifted: 0, readBack: 0 });
      expect(run.totals.readBackSkipped).toBeGreaterThanOrEqual(1);
    } finally {
      app.faults.clear();
    }
  });
});
