/**
 * Tenant policy on real Temporal, PostgreSQL and SMTP: group pushes and policy versions
 * re-provision exactly the affected users through their own workflows, previews change
 * nothing, drift introduced behind the workflows' back is detected and repaired, and the
 * admin API enforces its roles.
 */
import { createToken } from '../common/repositories/tokens';
import { reconcileScheduleId } from '../common/temporal/reconcile-schedule';
import type { ReconcileTotals } from '../activities/reconcile';
import { adminRequest, ENTERPRISE, EXT, newUser, PATCH_OP, SCIM_GROUP, startHarness, testTenantConfig, type Harness, eventually } from './harness';

const VOB_RULE = { name: 'VOB team', when: { group: 'VOB Team' }, set: { securityRole: 'VOB Worker' as const } };
const ADMISSIONS_RULE = {
  name: 'Admissions',
  when: { attribute: `${ENTERPRISE}:department`, equals: 'Admissions' },
  set: { employeeAreas: ['Care Coordinator'], teams: ['Admissions Team A'] },
};

let h: Harness;
let superToken: string;
let readerToken: string;

beforeAll(async () => {
  h = await startHarness({ tenantConfig: testTenantConfig({ rules: [VOB_RULE] }) });
  superToken = (await createToken(h.db, h.tenantId, 'super', 'admin', 'Super User')).token;
  readerToken = (await createToken(h.db, h.tenantId, 'reader', 'admin', 'Analytics Only')).token;
});
afterAll(async () => {
  await h?.client.schedule
    .getHandle(reconcileScheduleId(h.tenantId))
    .delete()
    .catch(() => undefined);
  await h?.close();
});

const adminCall = (method: string, path: string, body?: unknown, token = superToken) => adminRequest(h.publicUrl, token, method, path, body);

const appUser = async (id: string) =>
  (await h.db.query<Record<string, any>>('SELECT * FROM app_users WHERE tenant_id = $1 AND user_id::text = $2', [h.tenantId, id])).rows[0];
const settings = async (id: string, kind: string) =>
  (
    await h.db.query<{ value: string }>('SELECT value FROM app_user_settings WHERE tenant_id = $1 AND user_id::text = $2 AND kind = $3 ORDER BY value', [
      h.tenantId,
      id,
      kind,
    ])
  ).rows.map((r) => r.value);
const auditOf = async (id: string) =>
  (
    await h.db.query<{ action: string; request_id: string; workflow_id: string | null; detail: any }>(
      'SELECT action, request_id, workflow_id, detail FROM audit_log WHERE tenant_id = $1 AND user_id::text = $2 ORDER BY id',
      [h.tenantId, id],
    )
  ).rows;
const outboxOf = async (id: string) =>
  (
    await h.db.query<{ change: string; resource_version: number; request_id: string }>(
      'SELECT change, resource_version, request_id FROM outbox WHERE tenant_id = $1 AND resource_id::text = $2 ORDER BY id',
      [h.tenantId, id],
    )
  ).rows;

async function provision(extra: Record<string, unknown> = {}): Promise<string> {
  const created = await h.scim('POST', '/Users', newUser(extra));
  expect(created.status).toBe(201);
  await h.waitForState(created.body.id, 'invited');
  return created.body.id as string;
}

/** Runs drift repair once, as the Schedule would, without the settle time. */
async function reconcile(): Promise<{ totals: ReconcileTotals; requestId: string }> {
  const workflowId = `reconcile-${h.tenantId}-test-${Date.now()}`;
  const totals = await h.client.workflow.execute('reconcileTenant', { taskQueue: h.taskQueue, workflowId, args: [{ tenantId: h.tenantId, settleMs: 0 }] });
  return { totals: totals as ReconcileTotals, requestId: `reconcile:${workflowId}` };
}

describe('groups pushed by the IdP', () => {
  test('when a user is added to a group a rule names, then its workflow applies the role; rename and delete take it away again', async () => {
    const id = await provision();
    expect((await appUser(id)).security_role).toBeNull();
    const group = await h.scim('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: 'VOB Team' });
    expect(group.status).toBe(201);

    // Okta Group Push: PATCH members add.
    const push = await h.scim('PATCH', `/Groups/${group.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'add', path: 'members', value: [{ value: id }] }],
    });
    expect(push.status).toBeLessThan(300);
    const version = (await h.scim('GET', `/Users/${id}`)).body.meta.version;
    expect((await outboxOf(id)).filter((r) => r.change === 'membership')).toEqual([
      { change: 'membership', resource_version: Number(String(version).replace(/\D/g, '')), request_id: push.headers.get('x-request-id') },
    ]);
    await eventually(
      () => appUser(id),
      (u) => u.security_role === 'VOB Worker',
      'security role after the group push',
    );
    expect((await auditOf(id)).find((a) => a.action === 'accessSettings.synced' && a.request_id === push.headers.get('x-request-id'))).toBeDefined();

    // A rename away from the rule's group name removes the role; the old name back restores it.
    await h.scim('PATCH', `/Groups/${group.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { id: group.body.id, displayName: 'Former VOB Team' } }],
    });
    await eventually(
      () => appUser(id),
      (u) => u.security_role === null,
      'security role after the rename',
    );
    await h.scim('PATCH', `/Groups/${group.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'VOB Team' }] });
    await eventually(
      () => appUser(id),
      (u) => u.security_role === 'VOB Worker',
      'security role after renaming back',
    );

    // Entra's removal form, then the group's deletion.
    await h.scim('PATCH', `/Groups/${group.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${id}"]` }] });
    await eventually(
      () => appUser(id),
      (u) => u.security_role === null,
      'security role after the removal',
    );
    await h.scim('PATCH', `/Groups/${group.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: id }] }] });
    await eventually(
      () => appUser(id),
      (u) => u.security_role === 'VOB Worker',
      'security role after re-adding',
    );
    expect((await h.scim('DELETE', `/Groups/${group.body.id}`)).status).toBe(204);
    await eventually(
      () => appUser(id),
      (u) => u.security_role === null,
      'security role after the group was deleted',
    );
    await h.waitForState(id, 'invited');
  });
});

describe('policy versions', () => {
  let admissions: string[];
  let finance: string;

  test('when a new version changes what some users should have, then exactly those are re-provisioned; the others get no signal and no audit entry', async () => {
    admissions = [await provision({ [ENTERPRISE]: { department: 'Admissions' } }), await provision({ [ENTERPRISE]: { department: 'Admissions' } })];
    finance = await provision({ [ENTERPRISE]: { department: 'Finance' } });
    const financeAudit = (await auditOf(finance)).length;
    const financeOutbox = (await outboxOf(finance)).length;

    const saved = await adminCall('POST', `/tenants/${h.tenantId}/config/versions`, testTenantConfig({ rules: [VOB_RULE, ADMISSIONS_RULE] }));
    expect(saved.status).toBe(201);
    expect(saved.body).toMatchObject({ signalled: 2, summary: { usersChanged: 2 } });
    expect(saved.body.summary.text).toEqual(
      expect.arrayContaining(['2 users would gain employee area Care Coordinator', '2 users would gain team Admissions Team A']),
    );

    for (const id of admissions) {
      expect((await outboxOf(id)).filter((r) => r.change === 'policy')).toEqual([expect.objectContaining({ request_id: saved.requestId })]);
      await eventually(
        () => settings(id, 'employeeArea'),
        (v) => v.join() === 'Care Coordinator',
        'employee areas after the policy change',
      );
      expect(await settings(id, 'team')).toEqual(['Admissions Team A']);
      expect((await auditOf(id)).filter((a) => a.request_id === saved.requestId).map((a) => a.action)).toContain('accessSettings.synced');
      await h.waitForState(id, 'invited');
    }
    // The unaffected user: no outbox row, no workflow activity, no audit entry.
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await outboxOf(finance)).length).toBe(financeOutbox);
    expect((await auditOf(finance)).length).toBe(financeAudit);
    const configAudit = await h.db.query<{ detail: any }>(`SELECT detail FROM audit_log WHERE tenant_id = $1 AND user_id IS NULL AND action = 'config.saved'`, [
      h.tenantId,
    ]);
    expect(configAudit.rows.at(-1)?.detail).toMatchObject({ signalled: 2 });
  });

  test('when a draft is previewed, for the tenant or one user, then the answer shows the changes and nothing is written', async () => {
    const tables = [
      'app_users',
      'app_memberships',
      'app_licences',
      'app_provider_accounts',
      'app_user_settings',
      'outbox',
      'audit_log',
      'tenant_config_versions',
      'invitations',
      'provisioning_states',
    ];
    const counts = async () => Promise.all(tables.map(async (t) => (await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n));
    const before = await counts();
    const draft = testTenantConfig({
      rules: [
        VOB_RULE,
        ADMISSIONS_RULE,
        { when: { attribute: `${ENTERPRISE}:department`, equals: 'Finance' }, set: { securityRole: 'Analytics Only' as const } },
      ],
    });

    const tenantWide = await adminCall('POST', `/tenants/${h.tenantId}/preview`, { config: draft }, readerToken);
    expect(tenantWide.status).toBe(200);
    expect(tenantWide.body.summary.text).toEqual(['1 user would gain security role Analytics Only']);
    expect(tenantWide.body.warnings).toEqual([]);
    // A shorter invitation expiry is said to apply to new invitations only, with the open ones counted.
    const open = (await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM invitations WHERE tenant_id = $1 AND status = 'sent'`, [h.tenantId])).rows[0]
      .n;
    const shorter = await adminCall(
      'POST',
      `/tenants/${h.tenantId}/preview`,
      { config: { ...draft, invitation: { ...draft.invitation, expiresAfter: '2d' } } },
      readerToken,
    );
    expect(shorter.body.warnings).toEqual([
      expect.stringMatching(
        new RegExp(`^invitation\\.expiresAfter: 2d applies to invitations sent from now on; the ${open} open invitations? keeps? the expiry`),
      ),
    ]);
    expect(tenantWide.body.users).toEqual([
      expect.objectContaining({ userId: finance, changes: [{ field: 'securityRole', from: null, to: 'Analytics Only' }] }),
    ]);

    const newcomer = await adminCall(
      'POST',
      `/tenants/${h.tenantId}/preview/user`,
      { user: newUser({ [ENTERPRISE]: { department: 'Admissions' } }), groups: ['VOB Team'] },
      readerToken,
    );
    expect(newcomer.status).toBe(200);
    expect(newcomer.body.desired).toMatchObject({ securityRole: 'VOB Worker', matchedRules: ['VOB team', 'Admissions'], missing: [] });
    expect(newcomer.body.state.settings.employeeArea).toEqual(['Care Coordinator']);

    const stored = await adminCall('POST', `/tenants/${h.tenantId}/preview/user`, { userId: finance, config: draft }, readerToken);
    expect(stored.body).toMatchObject({
      configVersion: 'draft',
      changesFromCurrentConfig: [{ field: 'securityRole', to: 'Analytics Only' }],
      changesFromDirectory: [{ field: 'securityRole', from: null, to: 'Analytics Only' }],
    });

    expect(await counts()).toEqual(before);
  });

  test('when the application directory is edited behind the workflows, then drift repair detects it and the user workflow repairs it', async () => {
    const id = admissions[0];
    await h.db.query(`UPDATE app_users SET security_role = 'Super User', title = 'edited' WHERE tenant_id = $1 AND user_id::text = $2`, [h.tenantId, id]);
    await h.db.query(`DELETE FROM app_user_settings WHERE tenant_id = $1 AND user_id::text = $2 AND kind = 'employeeArea'`, [h.tenantId, id]);

    const first = await reconcile();
    expect(first.totals).toMatchObject({ drifted: 1 });
    const detected = (await auditOf(id)).filter((a) => a.action === 'drift.detected');
    expect(detected).toEqual([expect.objectContaining({ request_id: first.requestId, workflow_id: expect.stringContaining(`reconcile-${h.tenantId}-test-`) })]);
    expect(detected[0].detail.fields).toEqual(expect.arrayContaining(['profile.title', 'securityRole', 'settings.employeeArea']));
    expect(JSON.stringify(detected[0].detail)).not.toContain('edited'); // no personal data in the audit detail

    await eventually(
      () => appUser(id),
      (u) => u.security_role === null && u.title === null,
      'directory row after the repair',
    );
    await eventually(
      () => settings(id, 'employeeArea'),
      (v) => v.join() === 'Care Coordinator',
      'employee areas after the repair',
    );
    const repairs = (await auditOf(id)).filter((a) => a.request_id === first.requestId).map((a) => a.action);
    expect(repairs).toEqual(expect.arrayContaining(['drift.detected', 'profile.updated', 'accessSettings.synced']));
    await h.waitForState(id, 'invited');

    // Nothing else drifted, and after the repair nothing is left.
    expect((await reconcile()).totals).toMatchObject({ drifted: 0 });
  });

  test('when a user is scheduled for a later HR start date, then its seat not yet taken is not drift', async () => {
    const startDate = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const created = await h.scim('POST', '/Users', newUser({ [EXT]: { startDate } }));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await h.waitForState(id, 'scheduled');
    const run = await reconcile();
    expect(run.totals.drifted).toBe(0);
    expect((await auditOf(id)).filter((a) => a.action === 'drift.detected')).toEqual([]);
    expect((await outboxOf(id)).filter((o) => o.change === 'drift')).toEqual([]);
  });
});

describe('drift-repair schedule', () => {
  test('when the worker has started, then the tenant has a reconcile Schedule; saving a new interval updates it', async () => {
    const handle = h.client.schedule.getHandle(reconcileScheduleId(h.tenantId));
    const described = await handle.describe();
    expect(described.spec.intervals?.[0]?.every).toBe(60 * 60 * 1000);
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'reconcileTenant', taskQueue: h.taskQueue });

    const saved = await adminCall(
      'POST',
      `/tenants/${h.tenantId}/config/versions`,
      testTenantConfig({ rules: [VOB_RULE, ADMISSIONS_RULE], reconcile: { interval: '30m' } }),
    );
    expect(saved.body).toMatchObject({ signalled: 0, schedule: { outcome: 'updated' } });
    expect((await handle.describe()).spec.intervals?.[0]?.every).toBe(30 * 60 * 1000);
  });
});

describe('admin API', () => {
  test('when tokens of the wrong kind, tenant or role call it, then they get 401, 404 and 403', async () => {
    expect((await adminCall('GET', '/tenants', undefined, h.token)).status).toBe(401);
    const reader = await adminCall('GET', '/tenants', undefined, readerToken);
    expect(reader.status).toBe(200);
    expect(reader.body.tenants).toEqual([expect.objectContaining({ id: h.tenantId })]);
    expect((await adminCall('GET', '/tenants/some-other-tenant/users', undefined, superToken)).status).toBe(404);
    for (const [method, path, body] of [
      ['POST', `/tenants/${h.tenantId}/config/versions`, testTenantConfig()],
      ['POST', `/tenants/${h.tenantId}/users`, newUser()],
      ['POST', `/tenants/${h.tenantId}/users/00000000-0000-4000-8000-000000000000/suspend`, undefined],
      ['POST', `/tenants/${h.tenantId}/reconcile`, undefined],
    ] as const) {
      const res = await adminCall(method, path, body, readerToken);
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
      expect(res.body.error.message).toContain('Super User');
    }
  });

  test('when an invalid configuration is posted, then the answer is 400 with every problem and no version is saved', async () => {
    const versions = (await adminCall('GET', `/tenants/${h.tenantId}/config/versions`)).body.versions.length;
    const res = await adminCall('POST', `/tenants/${h.tenantId}/config/versions`, {
      ...testTenantConfig(),
      rules: [{ when: { group: 'x' }, set: { securityRole: 'Boss', client: 'atlantis' } }],
      propagation: { tags: 'soon' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^rules\.0\.set\.securityRole: "Boss"/),
        expect.stringMatching(/^rules\.0\.set\.client: "atlantis"/),
        expect.stringMatching(/^propagation\.tags:/),
      ]),
    );
    expect((await adminCall('GET', `/tenants/${h.tenantId}/config/versions`)).body.versions.length).toBe(versions);
  });

  test('when a Super User creates, suspends, reactivates, re-invites, retries and terminates a user, then the same workflow carries it out and the trail shows it', async () => {
    const user = newUser({ [EXT]: { employeeAreas: ['Assigned Agent'] } });
    const created = await adminCall('POST', `/tenants/${h.tenantId}/users`, user);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await h.waitForState(id, 'invited');
    expect(h.mailsTo(user.userName)).toHaveLength(1);

    const listed = await adminCall('GET', `/tenants/${h.tenantId}/users?state=invited&limit=1000`, undefined, readerToken);
    expect(listed.body.users).toEqual(
      expect.arrayContaining([expect.objectContaining({ userId: id, state: 'invited', waitingFor: 'acceptance', appStatus: 'invited' })]),
    );
    const detail = await adminCall('GET', `/tenants/${h.tenantId}/users/${id}`, undefined, readerToken);
    expect(detail.body).toMatchObject({
      userId: id,
      workflow: { state: 'invited' },
      drift: [],
      desired: { state: { settings: { employeeArea: ['Assigned Agent'] } } },
    });

    const suspended = await adminCall('POST', `/tenants/${h.tenantId}/users/${id}/suspend`);
    expect(suspended.status).toBe(202);
    expect(suspended.body.requestId).toMatch(/^admin:/);
    await h.waitForState(id, 'suspended');
    expect((await h.scim('GET', `/Users/${id}`)).body.active).toBe(false); // the IdP sees what the app does
    expect((await appUser(id)).login_enabled).toBe(false);

    expect((await adminCall('POST', `/tenants/${h.tenantId}/users/${id}/reactivate`)).status).toBe(202);
    await h.waitForState(id, 'invited');
    expect((await h.scim('GET', `/Users/${id}`)).body.active).toBe(true);
    // The suspension revoked the open invitation: the reactivated user got a new one.
    await eventually(
      async () => h.mailsTo(user.userName).length,
      (n) => n === 2,
      'invitation mails after the reactivation',
    );

    expect((await adminCall('POST', `/tenants/${h.tenantId}/users/${id}/resend-invitation`)).status).toBe(202);
    await eventually(
      async () => h.mailsTo(user.userName).length,
      (n) => n === 3,
      'invitation mails after the resend',
    );
    expect((await adminCall('POST', `/tenants/${h.tenantId}/users/${id}/retry`)).status).toBe(202);

    const terminated = await adminCall('POST', `/tenants/${h.tenantId}/users/${id}/terminate`);
    expect(terminated.status).toBe(202);
    await h.waitForState(id, 'terminated');
    expect((await h.scim('GET', `/Users/${id}`)).status).toBe(404);
    expect((await adminCall('POST', `/tenants/${h.tenantId}/users/${id}/retry`)).status).toBe(409);

    const trail = await adminCall('GET', `/tenants/${h.tenantId}/users/${id}/audit`, undefined, readerToken);
    expect(trail.status).toBe(200);
    const byRequest = new Map<string, string[]>(
      trail.body.requests.map((r: any) => [r.requestId, [...r.changes.map((c: any) => `outbox:${c.change}`), ...r.entries.map((e: any) => e.action)]]),
    );
    expect(byRequest.get(created.requestId as string)).toEqual(
      expect.arrayContaining(['outbox:created', 'admin.createUser', 'profile.created', 'invitation.sent']),
    );
    expect(byRequest.get(suspended.body.requestId)).toEqual(expect.arrayContaining(['outbox:updated', 'admin.suspend', 'user.suspended']));
    expect(byRequest.get(terminated.body.requestId)).toEqual(expect.arrayContaining(['outbox:deleted', 'admin.terminate', 'user.terminated']));
    expect(trail.body.entries.find((e: any) => e.action === 'profile.created')).toMatchObject({
      workflowId: `user-${h.tenantId}-${id}`,
      step: 'createProfile',
    });
  });
});
