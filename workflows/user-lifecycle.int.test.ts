/**
 * The user workflow on a real Temporal dev server and worker, real PostgreSQL and a real SMTP
 * server: each test pushes SCIM requests and checks the application directory, the mail and
 * the workflow's visible state.
 */
import { EXT, newUser, PATCH_OP, startHarness, testTenantConfig, type Harness } from '../test/harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    tenantConfig: testTenantConfig({
      organisations: [
        { key: 'north', name: 'North Office', kind: 'client', licenceLevel: 'Professional', mobileLicence: 'Mobile Standard', services: ['app', 'mobile'] },
        { key: 'south', name: 'South Office', kind: 'client', licenceLevel: 'Basic', services: ['app'] },
        { key: 'tiny', name: 'Tiny Office', kind: 'client', licenceLevel: 'Basic', services: ['app'], seatLimit: 1 },
        { key: 'main-campus', name: 'Main Campus', kind: 'facility' },
      ],
    }),
  });
});
afterAll(async () => h?.close());

async function appUser(userId: string) {
  return (await h.db.query<Record<string, any>>('SELECT * FROM app_users WHERE tenant_id = $1 AND user_id::text = $2', [h.tenantId, userId])).rows[0];
}

describe('onboarding', () => {
  test('when a user is pushed with core attributes only, then it is provisioned, invited once, and active after accepting the link', async () => {
    const user = newUser({ phoneNumbers: [{ value: '+1 555 010 0100', type: 'mobile', primary: true }], title: 'RN' });
    const created = await h.scim('POST', '/Users', user);
    expect(created.status).toBe(201);
    const id = created.body.id as string;

    await h.waitForState(id, 'invited');
    const row = await appUser(id);
    expect(row).toMatchObject({
      first_name: 'Test',
      email: user.userName,
      client_key: 'north',
      status: 'invited',
      login_enabled: true,
      title: 'RN',
      primary_phone: '+15550100100', // E.164 in the directory
    });
    const memberships = (await h.db.query('SELECT org_key, kind, role FROM app_memberships WHERE tenant_id = $1 AND user_id::text = $2', [h.tenantId, id]))
      .rows;
    expect(memberships).toEqual([{ org_key: 'north', kind: 'primary', role: 'Client Staff' }]);
    const licences = (
      await h.db.query('SELECT org_key, licence_level, mobile_licence FROM app_licences WHERE tenant_id = $1 AND user_id::text = $2', [h.tenantId, id])
    ).rows;
    // Not a mobile-app user: the app licence only (a mobile licence follows mobile use).
    expect(licences).toEqual([{ org_key: 'north', licence_level: 'Professional', mobile_licence: null }]);

    const mails = h.mailsTo(user.userName);
    expect(mails).toHaveLength(1);
    expect(mails[0].text).toContain('Welcome to CareConnect');
    const link = h.acceptLink(user.userName);

    // A prefetching mail scanner (GET) changes nothing.
    const page = await fetch(link);
    expect(page.status).toBe(200);
    // The page runs no script, cannot be framed, and sends its Referer (with the token) to this server only.
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    expect(page.headers.get('content-security-policy')).not.toContain('script-src');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('same-origin');
    expect(await page.text()).toContain('<form method="post">');
    // A scanner that posts without the page (no confirmation field), even from the same origin, accepts nothing.
    const scanner = await fetch(link, { method: 'POST', headers: { Origin: new URL(link).origin } });
    expect(scanner.status).toBe(403);
    expect((await h.workflowStatus(id)).state).toBe('invited');

    // A form posted from elsewhere (no page, another origin) accepts nothing.
    const forged = await fetch(link, { method: 'POST', headers: { Origin: 'https://evil.example' } });
    expect(forged.status).toBe(403);
    expect((await h.workflowStatus(id)).state).toBe('invited');

    const accept = await h.acceptInvitation(link);
    expect(accept.status).toBe(200);
    expect(accept.text).toContain('being activated');
    await h.waitForState(id, 'active');
    expect((await appUser(id)).status).toBe('active');

    // Operators find it in the Temporal UI by tenant and state (search attributes).
    const query = `ScimflowTenant = "${h.tenantId}" AND ScimflowState = "active" AND ScimflowUserId = "${id}"`;
    let listed: string[] = [];
    for (let i = 0; i < 50 && listed.length === 0; i++) {
      listed = [];
      for await (const wf of h.client.workflow.list({ query })) listed.push(wf.workflowId);
      if (listed.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(listed).toEqual([`user-${h.tenantId}-${id}`]);
    const description = await h.client.workflow.getHandle(`user-${h.tenantId}-${id}`).describe();
    expect(description.memo).toMatchObject({ summary: 'active' });
    // The Temporal UI's summary and current details: ids and plain language, no personal data.
    expect(await description.staticSummary()).toBe(`Provisioning of SCIM user ${id} in tenant ${h.tenantId}`);
    const metadata = await h.client.workflow.getHandle(`user-${h.tenantId}-${id}`).query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toBe('Active: invitation accepted.');
    expect(metadata.currentDetails).not.toContain(user.userName);

    // The SCIM resource shows the workflow's state.
    const read = await h.scim('GET', `/Users/${id}`);
    expect(read.body[EXT].provisioning).toMatchObject({ state: 'active', workflowId: `user-${h.tenantId}-${id}` });

    // The link is single-use, and the audit log traces the SCIM request to the workflow.
    expect((await h.acceptInvitation(link)).status).toBe(200);
    expect(h.mailsTo(user.userName)).toHaveLength(1);
    await h.recordHistory('onboard-accept', id);
    const audit = (
      await h.db.query<{ action: string; request_id: string; workflow_id: string | null }>(
        'SELECT action, request_id, workflow_id FROM audit_log WHERE tenant_id = $1 AND user_id::text = $2 ORDER BY id',
        [h.tenantId, id],
      )
    ).rows;
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining([
        'profile.created',
        'organisations.synced',
        'licences.synced',
        'access.verified',
        'invitation.sent',
        'invitation.accepted',
        'user.activated',
      ]),
    );
    const createRequest = created.headers.get('x-request-id');
    expect(audit.find((a) => a.action === 'profile.created')).toMatchObject({ request_id: createRequest, workflow_id: `user-${h.tenantId}-${id}` });
  });

  test('when mandatory data is missing, then the workflow waits in awaitingData and continues when an update supplies it', async () => {
    const user = newUser({ [EXT]: { client: 'Atlantis', mobileAppUser: true } });
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    const waiting = await h.waitForState(id, 'awaitingData');
    expect(waiting.lastError).toContain('"Atlantis" is not an organisation');
    expect(waiting.lastError).toContain('primary phone');
    expect((await h.scim('GET', `/Users/${id}`)).body[EXT].provisioning).toMatchObject({ state: 'awaitingData', waitingFor: 'data' });
    expect(h.mailsTo(user.userName)).toHaveLength(0);

    const patched = await h.scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'replace', path: `${EXT}:client`, value: 'south' },
        { op: 'add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 010 0199' },
      ],
    });
    expect(patched.status).toBe(200);
    await h.waitForState(id, 'invited');
    expect(await appUser(id)).toMatchObject({ client_key: 'south', primary_phone: '+15550100199' });
    expect(h.mailsTo(user.userName)).toHaveLength(1);
    await h.recordHistory('awaiting-data-then-update', id);
  });

  test('when the seat pool is full, then the user waits visibly for a seat and onboards once one is freed', async () => {
    const first = newUser({ [EXT]: { client: 'tiny' } });
    const firstId = (await h.scim('POST', '/Users', first)).body.id as string;
    await h.waitForState(firstId, 'invited');
    const second = newUser({ [EXT]: { client: 'tiny' } });
    const secondId = (await h.scim('POST', '/Users', second)).body.id as string;
    const waiting = await h.waitForState(secondId, 'waitingForSeat');
    expect(waiting.waitingFor).toBe('seat:tiny');
    expect(h.mailsTo(second.userName)).toHaveLength(0);

    // Terminating the first user releases its seat.
    expect((await h.scim('DELETE', `/Users/${firstId}`)).status).toBe(204);
    await h.waitForState(secondId, 'invited', 30_000);
    const seats = (
      await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM app_licences WHERE tenant_id = $1 AND org_key = $2 AND released_at IS NULL', [
        h.tenantId,
        'tiny',
      ])
    ).rows[0].n;
    expect(seats).toBe(1);
    await h.recordHistory('seat-wait', secondId);
  });
});

describe('after onboarding', () => {
  test('when the security role changes, then it is applied and its propagation window is waited out before the user relies on it', async () => {
    await h.db.query(
      `INSERT INTO tenant_config_versions (tenant_id, version, config, created_by)
       SELECT tenant_id, version + 1, jsonb_set(config, '{propagation,securityRole}', '"3s"'), 'test' FROM tenant_config_versions WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1`,
      [h.tenantId],
    );
    const user = newUser({ [EXT]: { securityRole: 'VOB Worker' } });
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    const propagating = await h.waitForState(id, 'waitingPropagation');
    expect(propagating.waitingFor).toBe('propagation:securityRole');
    expect(h.mailsTo(user.userName)).toHaveLength(0);
    await h.waitForState(id, 'invited');
    expect(h.mailsTo(user.userName)).toHaveLength(1);

    await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: `${EXT}:securityRole`, value: 'Analytics Only' }] });
    const again = await h.waitForState(id, 'waitingPropagation');
    expect(again.waitingFor).toBe('propagation:securityRole');
    expect((await appUser(id)).security_role).toBe('Analytics Only');
    await h.waitForState(id, 'invited');
    // Only the difference was applied: no second invitation.
    expect(h.mailsTo(user.userName)).toHaveLength(1);
    await h.recordHistory('role-change-propagation', id);
    await h.db.query(
      `DELETE FROM tenant_config_versions WHERE tenant_id = $1 AND version = (SELECT max(version) FROM tenant_config_versions WHERE tenant_id = $1)`,
      [h.tenantId],
    );
  });

  test('when a user is deactivated and reactivated, then login is blocked at once and restored afterwards', async () => {
    const user = newUser();
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    await h.waitForState(id, 'invited');
    await h.acceptInvitation(h.acceptLink(user.userName));
    await h.waitForState(id, 'active');

    await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', value: { active: 'False' } }] });
    await h.waitForState(id, 'suspended');
    expect(await appUser(id)).toMatchObject({ status: 'suspended', login_enabled: false });
    // Inactive users stay readable.
    expect((await h.scim('GET', `/Users/${id}`)).body.active).toBe(false);

    await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: true }] });
    await h.waitForState(id, 'active');
    expect(await appUser(id)).toMatchObject({ status: 'active', login_enabled: true });
    expect(h.mailsTo(user.userName)).toHaveLength(1);
    await h.recordHistory('suspend-reactivate', id);
  });

  test('when a user is deleted in the middle of onboarding, then the remaining steps stop and what was done is undone; the record is kept', async () => {
    await h.db.query(
      `INSERT INTO tenant_config_versions (tenant_id, version, config, created_by)
       SELECT tenant_id, version + 1, jsonb_set(config, '{propagation,tags}', '"1h"'), 'test' FROM tenant_config_versions WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1`,
      [h.tenantId],
    );
    const user = newUser({
      // A provider account needs access to its organisations (issue 15): south as extra access.
      [EXT]: { employeeAreas: ['Care Coordinator'], providerAccounts: [{ type: 'RN', organisations: ['north', 'south'] }], extraClientAccess: ['south'] },
    });
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    await h.waitForState(id, 'waitingPropagation');
    expect((await h.db.query('SELECT 1 FROM app_provider_accounts WHERE tenant_id = $1 AND user_id::text = $2', [h.tenantId, id])).rowCount).toBe(2);

    expect((await h.scim('DELETE', `/Users/${id}`)).status).toBe(204);
    await h.waitForState(id, 'terminated');
    expect(await appUser(id)).toMatchObject({ status: 'terminated', login_enabled: false });
    const left = await h.db.query(
      `SELECT (SELECT count(*)::int FROM app_licences WHERE tenant_id = $1 AND user_id::text = $2 AND released_at IS NULL) AS licences,
              (SELECT count(*)::int FROM app_memberships WHERE tenant_id = $1 AND user_id::text = $2) AS memberships,
              (SELECT count(*)::int FROM app_provider_accounts WHERE tenant_id = $1 AND user_id::text = $2) AS providers`,
      [h.tenantId, id],
    );
    expect(left.rows[0]).toEqual({ licences: 0, memberships: 0, providers: 0 });
    expect(h.mailsTo(user.userName)).toHaveLength(0);
    expect((await h.scim('GET', `/Users/${id}`)).status).toBe(404);
    await h.recordHistory('terminate-mid-onboarding', id);
    await h.db.query(
      `DELETE FROM tenant_config_versions WHERE tenant_id = $1 AND version = (SELECT max(version) FROM tenant_config_versions WHERE tenant_id = $1)`,
      [h.tenantId],
    );
  });

  test('when the same change is delivered twice and changes arrive out of order, then the directory converges on the latest version with one invitation', async () => {
    const user = newUser();
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    await h.waitForState(id, 'invited');
    await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'LPN' }] });
    await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'RN' }] });
    // Re-deliver every outbox row of this user, oldest last, as a crashed relay would.
    await h.db.query(`UPDATE outbox SET delivered_at = NULL, next_attempt_at = now() WHERE tenant_id = $1 AND resource_id::text = $2`, [h.tenantId, id]);
    await h.server.relay.drain();
    await new Promise((r) => setTimeout(r, 1500));
    await h.waitForState(id, 'invited');
    expect((await appUser(id)).title).toBe('RN');
    expect(h.mailsTo(user.userName)).toHaveLength(1);
    expect((await h.db.query('SELECT count(*)::int AS n FROM invitations WHERE tenant_id = $1 AND user_id::text = $2', [h.tenantId, id])).rows[0].n).toBe(1);
  });

  test('when a terminated user is re-hired with the same externalId within the retention window, then the earlier entitlements come back', async () => {
    const externalId = `hr-${Date.now()}`;
    const first = newUser({
      externalId,
      [EXT]: {
        client: 'south',
        securityRole: 'Admissions Worker with Reports',
        teams: ['Intake'],
        providerAccounts: [{ type: 'SW', organisations: ['south'] }],
      },
    });
    const firstId = (await h.scim('POST', '/Users', first)).body.id as string;
    await h.waitForState(firstId, 'invited');
    expect((await h.scim('DELETE', `/Users/${firstId}`)).status).toBe(204);
    await h.waitForState(firstId, 'terminated');

    // The HR system pushes the person again with core attributes only.
    const again = newUser({ externalId, userName: first.userName, emails: [{ value: first.userName, primary: true }] });
    const created = await h.scim('POST', '/Users', again);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await h.waitForState(id, 'invited');
    expect(await appUser(id)).toMatchObject({ client_key: 'south', security_role: 'Admissions Worker with Reports', rehired_from: firstId });
    const teams = (await h.db.query('SELECT value FROM app_user_settings WHERE tenant_id = $1 AND user_id::text = $2 AND kind = $3', [h.tenantId, id, 'team']))
      .rows;
    expect(teams).toEqual([{ value: 'Intake' }]);
    const providers = (
      await h.db.query('SELECT provider_type, org_key FROM app_provider_accounts WHERE tenant_id = $1 AND user_id::text = $2', [h.tenantId, id])
    ).rows;
    expect(providers).toEqual([{ provider_type: 'SW', org_key: 'south' }]);
    const actions = (
      await h.db.query<{ action: string }>('SELECT action FROM audit_log WHERE tenant_id = $1 AND user_id::text = $2', [h.tenantId, id])
    ).rows.map((r) => r.action);
    expect(actions).toContain('user.rehired');
    // The earlier record is kept for audit.
    expect((await appUser(firstId)).status).toBe('terminated');
  });
});
