/**
 * Issue 25, Okta Identity Governance: the application's security roles, client roles and licence
 * tiers as read-only SCIM resource types (/Roles, /Licenses) discovered from /ResourceTypes and
 * /Schemas, and users' core `roles` / `entitlements` naming them, carried by the real worker into
 * the application directory through the tenant policy (docs/okta.md, "Okta Identity Governance:
 * entitlements").
 */
import { EXT, PATCH_OP, SCIM_USER, eventually, newUser, startHarness, testTenantConfig, type Harness } from '../../test/harness';
import { OKTA_ENTITLEMENT_SCHEMA_URN, OKTA_ROLE_SCHEMA_URN } from './resource-types';
import { SECURITY_ROLES } from '../../domain/roles';

const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

let h: Harness;
beforeAll(async () => {
  // A security role change waits 3 s: long enough to see the wait, short enough for a test.
  h = await startHarness({ tenantConfig: testTenantConfig({ propagation: { tags: '0s', securityRole: '3s' } }) });
});
afterAll(async () => h?.close());

const appUser = async (id: string) =>
  (await h.db.query<Record<string, any>>('SELECT * FROM app_users WHERE tenant_id = $1 AND user_id::text = $2', [h.tenantId, id])).rows[0];
const memberships = async (id: string) =>
  (await h.db.query('SELECT org_key, kind, role FROM app_memberships WHERE tenant_id = $1 AND user_id::text = $2 ORDER BY org_key', [h.tenantId, id])).rows;
const licences = async (id: string) =>
  (await h.db.query('SELECT org_key, licence_level FROM app_licences WHERE tenant_id = $1 AND user_id::text = $2 ORDER BY org_key', [h.tenantId, id])).rows;
const q = (filter: string) => encodeURIComponent(filter);

describe('issue 25: entitlement types are discovered as Okta Identity Governance reads them', () => {
  test('when /ResourceTypes and /Schemas are read, then Role (/Roles) and License (/Licenses) are listed with Okta’s schemas, each also by id', async () => {
    const types = await h.scim('GET', '/ResourceTypes');
    expect(types.status).toBe(200);
    expect(types.body.totalResults).toBe(types.body.Resources.length);
    const byId = Object.fromEntries((types.body.Resources as any[]).map((t) => [t.id, t]));
    expect(byId.Role).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'Role',
      name: 'Role',
      endpoint: '/Roles',
      description: expect.stringContaining('security roles'),
      schema: OKTA_ROLE_SCHEMA_URN,
      meta: { resourceType: 'ResourceType', location: `${h.baseUrl}/ResourceTypes/Role` },
    });
    expect(byId.License).toMatchObject({ id: 'License', name: 'License', endpoint: '/Licenses', schema: OKTA_ENTITLEMENT_SCHEMA_URN });
    expect(byId.User).toBeDefined();
    expect((await h.scim('GET', '/ResourceTypes/License')).body).toEqual(byId.License);

    const schemas = await h.scim('GET', '/Schemas');
    expect(schemas.body.totalResults).toBe(schemas.body.Resources.length);
    const role = (schemas.body.Resources as any[]).find((s) => s.id === OKTA_ROLE_SCHEMA_URN);
    expect(role).toMatchObject({ name: 'Role', meta: { resourceType: 'Schema', location: `${h.baseUrl}/Schemas/${OKTA_ROLE_SCHEMA_URN}` } });
    expect((role.attributes as any[]).map((a) => [a.name, a.mutability])).toEqual([
      ['displayName', 'readOnly'],
      ['type', 'readOnly'],
      ['description', 'readOnly'],
    ]);
    expect((await h.scim('GET', `/Schemas/${OKTA_ENTITLEMENT_SCHEMA_URN}`)).body).toEqual(
      (schemas.body.Resources as any[]).find((s) => s.id === OKTA_ENTITLEMENT_SCHEMA_URN),
    );
  });
});

describe('issue 25: /Roles and /Licenses list the tenant’s entitlements, read-only', () => {
  test('when GET /Roles, then the 11 security roles and the 2 client roles are listed with stable ids, display names and descriptions', async () => {
    const res = await h.scim('GET', '/Roles');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    expect(res.body).toMatchObject({ schemas: [LIST_URN], totalResults: 13, itemsPerPage: 13, startIndex: 1 });
    const resources = res.body.Resources as any[];
    expect(resources.filter((r) => r.type === 'securityRole').map((r) => r.displayName)).toEqual([...SECURITY_ROLES]);
    expect(resources.filter((r) => r.type === 'clientRole').map((r) => r.id)).toEqual(['client-admin', 'client-staff']);
    expect(resources.find((r) => r.displayName === 'VOB Worker')).toEqual({
      schemas: [OKTA_ROLE_SCHEMA_URN],
      id: 'vob-worker',
      displayName: 'VOB Worker',
      type: 'securityRole',
      description: expect.stringContaining('exactly one security role'),
      meta: { resourceType: 'Role', location: `${h.baseUrl}/Roles/vob-worker` },
    });
    expect(resources.every((r) => typeof r.description === 'string' && r.description.length > 0)).toBe(true);
  });

  test('when GET /Roles/{id}, then that role is answered; an id it does not offer is 404', async () => {
    const one = await h.scim('GET', '/Roles/business-development-w-reports');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: 'business-development-w-reports', displayName: 'Business Development w/Reports', type: 'securityRole' });
    const missing = await h.scim('GET', '/Roles/nurse');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ schemas: [ERROR_URN], status: '404' });
  });

  test('when /Roles is filtered, sorted, paged or searched by POST, then the answer is what RFC 7644 §3.4.2 says', async () => {
    const byName = await h.scim('GET', `/Roles?filter=${q('displayName eq "vob worker"')}`);
    expect(byName.body).toMatchObject({ totalResults: 1, itemsPerPage: 1, startIndex: 1, Resources: [{ id: 'vob-worker' }] });
    const byId = await h.scim('GET', `/Roles?filter=${q('id eq "client-admin"')}`);
    expect(byId.body.Resources.map((r: any) => r.displayName)).toEqual(['Client Admin']);
    // id is caseExact (RFC 7643 §3.1).
    expect((await h.scim('GET', `/Roles?filter=${q('id eq "CLIENT-ADMIN"')}`)).body.totalResults).toBe(0);
    const kinds = await h.scim('GET', `/Roles?filter=${q(`type eq "clientRole" or ${OKTA_ROLE_SCHEMA_URN}:displayName sw "Super"`)}`);
    expect(kinds.body.Resources.map((r: any) => r.id)).toEqual(['super-user', 'client-admin', 'client-staff']);

    const page = await h.scim('GET', '/Roles?startIndex=11&count=2&attributes=displayName');
    expect(page.body).toMatchObject({ totalResults: 13, itemsPerPage: 2, startIndex: 11 });
    expect(page.body.Resources).toEqual([
      { schemas: [OKTA_ROLE_SCHEMA_URN], id: 'analytics-only', displayName: 'Analytics Only' },
      { schemas: [OKTA_ROLE_SCHEMA_URN], id: 'client-admin', displayName: 'Client Admin' },
    ]);
    const sorted = await h.scim('GET', '/Roles?sortBy=displayName&sortOrder=descending&count=1');
    expect(sorted.body.Resources.map((r: any) => r.displayName)).toEqual(['VOB Worker']);
    expect((await h.scim('GET', '/Roles?count=0')).body).toMatchObject({ totalResults: 13, itemsPerPage: 0, Resources: [] });

    const search = await h.scim('POST', '/Roles/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'displayName co "worker"',
    });
    expect(search.status).toBe(200);
    expect(search.body.Resources.map((r: any) => r.id)).toEqual([
      'vob-worker',
      'admissions-worker-with-reports',
      'admissions-and-vob-worker-with-reports',
      'alumni-aftercare-worker',
    ]);

    const bad = await h.scim('GET', `/Roles?filter=${q('userName eq "x"')}`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ scimType: 'invalidFilter', detail: expect.stringContaining('id, displayName, type, description') });
    expect((await h.scim('GET', '/Roles?count=many')).status).toBe(400);
  });

  test('when GET /Licenses, then the licence tiers the organisations give are listed as License entitlements', async () => {
    const res = await h.scim('GET', '/Licenses');
    expect(res.status).toBe(200);
    expect(res.body.Resources.map((r: any) => [r.id, r.displayName, r.type])).toEqual([
      ['app.professional', 'Professional', 'License'],
      ['mobile.mobile-standard', 'Mobile Standard (mobile)', 'License'],
      ['app.basic', 'Basic', 'License'],
    ]);
    expect(res.body.Resources[0]).toMatchObject({
      schemas: [OKTA_ENTITLEMENT_SCHEMA_URN],
      description: expect.stringContaining('users of north'),
      meta: { resourceType: 'License', location: `${h.baseUrl}/Licenses/app.professional` },
    });
    expect((await h.scim('GET', '/Licenses/app.basic')).body.displayName).toBe('Basic');
  });

  test.each([
    ['POST', '/Roles', 'GET'],
    ['PUT', '/Roles/vob-worker', 'GET'],
    ['PATCH', '/Roles/vob-worker', 'GET'],
    ['DELETE', '/Roles/vob-worker', 'GET'],
    ['POST', '/Licenses', 'GET'],
    ['DELETE', '/Licenses/app.basic', 'GET'],
    ['GET', '/Roles/.search', 'POST'],
  ])('when %s %s, then it is refused 501 with a SCIM error and Allow: %s, and nothing changes', async (method, path, allow) => {
    const body = ['POST', 'PUT', 'PATCH'].includes(method) ? { schemas: [OKTA_ROLE_SCHEMA_URN], displayName: 'Nurse' } : undefined;
    const res = await h.scim(method, path, body);
    expect(res.status).toBe(501);
    expect(res.headers.get('allow')).toBe(allow);
    expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '501', detail: expect.stringContaining('read-only') });
    expect((await h.scim('GET', '/Roles')).body.totalResults).toBe(13);
  });
});

describe('issue 25: roles assigned by the identity provider reach the application through the tenant policy', () => {
  test('when a user is created with roles naming a security role and a client role, then the application gives them, after the role’s propagation wait', async () => {
    // Okta's shape: { value, display } (Okta's "Build a SCIM 2.0 server with entitlements").
    const user = newUser({
      roles: [
        { value: 'vob-worker', display: 'VOB Worker' },
        { value: 'client-admin', display: 'Client Admin' },
      ],
    });
    const created = await h.scim('POST', '/Users', user);
    expect(created.status).toBe(201);
    expect(created.body.roles).toEqual(user.roles);
    const id = created.body.id as string;
    const propagating = await h.waitForState(id, 'waitingPropagation');
    expect(propagating.waitingFor).toBe('propagation:securityRole');
    await h.waitForState(id, 'invited');
    expect(await appUser(id)).toMatchObject({ security_role: 'VOB Worker', status: 'invited' });
    expect(await memberships(id)).toEqual([{ org_key: 'north', kind: 'primary', role: 'Client Admin' }]);
  });

  test('when a PATCH of roles (Okta’s replace, then Entra’s remove and add, then Entra’s primary-role replace) changes the security role, then the workflow applies each and waits out the propagation', async () => {
    const user = newUser({ roles: [{ value: 'vob-worker' }] });
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    await h.waitForState(id, 'invited');
    expect((await appUser(id)).security_role).toBe('VOB Worker');

    const okta = await h.scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'roles', value: [{ value: 'analytics-only', display: 'Analytics Only' }] }],
    });
    expect(okta.status).toBe(200);
    expect(okta.body.roles).toEqual([{ value: 'analytics-only', display: 'Analytics Only' }]);
    const again = await h.waitForState(id, 'waitingPropagation');
    expect(again.waitingFor).toBe('propagation:securityRole');
    expect((await appUser(id)).security_role).toBe('Analytics Only');
    await h.waitForState(id, 'invited');
    // Only the difference was applied: one invitation, as before.
    expect(h.mailsTo(user.userName)).toHaveLength(1);

    const entra = await h.scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'Remove', path: 'roles', value: [{ value: 'analytics-only' }] },
        {
          op: 'Add',
          path: 'roles',
          value: [{ primary: 'True', type: 'WindowsAzureActiveDirectoryRole', value: 'combined-admissions-and-business-development' }],
        },
      ],
    });
    expect(entra.status).toBe(200);
    expect(entra.body.roles).toEqual([{ primary: true, type: 'WindowsAzureActiveDirectoryRole', value: 'combined-admissions-and-business-development' }]);
    await eventually(
      () => appUser(id),
      (u) => u.security_role === 'Combined Admissions and Business Development',
      'security role after Entra add',
    );

    // Entra's SingleAppRoleAssignment mapping: replace the primary role's value.
    const single = await h.scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'Replace', path: 'roles[primary eq "True"].value', value: 'referral-source-management' }],
    });
    expect(single.status).toBe(200);
    await eventually(
      () => appUser(id),
      (u) => u.security_role === 'Referral Source Management',
      'security role after Entra replace',
    );
    await h.waitForState(id, 'invited');
  });

  test('when roles name an id the tenant does not offer, then the request is 400 invalidValue naming the known ids, and nothing changes', async () => {
    const user = newUser({ roles: [{ value: 'vob-worker' }] });
    const id = (await h.scim('POST', '/Users', user)).body.id as string;
    await h.waitForState(id, 'invited');
    const before = (await h.scim('GET', `/Users/${id}`)).body;

    const res = await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'roles', value: [{ value: 'nurse' }] }] });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ schemas: [ERROR_URN], scimType: 'invalidValue' });
    expect(res.body.detail).toMatch(
      /^roles\[1\]\.value "nurse" is not a role of this tenant; use the id of one of its roles \(GET \/Roles\): super-user \(Super User\), /,
    );
    expect(res.body.detail).toContain('vob-worker (VOB Worker)');
    expect(res.body.detail).toContain('client-staff (Client Staff)');

    const after = (await h.scim('GET', `/Users/${id}`)).body;
    expect(after.roles).toEqual([{ value: 'vob-worker' }]);
    expect(after.meta.version).toBe(before.meta.version);
    expect(await appUser(id)).toMatchObject({ security_role: 'VOB Worker', status: 'invited' });

    const create = await h.scim('POST', '/Users', newUser({ roles: [{ value: 'Nurse' }] }));
    expect(create.status).toBe(400);
    expect(create.body.detail).toContain('roles[0].value "Nurse" is not a role of this tenant');
  });

  test('when roles and the extension name different security roles, or roles name two, then the request is 400 saying so; the same role in both is accepted', async () => {
    const contradiction = await h.scim(
      'POST',
      '/Users',
      newUser({ schemas: [SCIM_USER, EXT], roles: [{ value: 'vob-worker' }], [EXT]: { securityRole: 'Analytics Only' } }),
    );
    expect(contradiction.status).toBe(400);
    expect(contradiction.body).toMatchObject({
      scimType: 'invalidValue',
      detail: expect.stringContaining('roles names security role vob-worker (VOB Worker), but'),
    });
    expect(contradiction.body.detail).toContain(`${EXT}:securityRole is "Analytics Only"`);

    const two = await h.scim('POST', '/Users', newUser({ roles: [{ value: 'vob-worker' }, { value: 'super-user' }] }));
    expect(two.status).toBe(400);
    expect(two.body.detail).toBe('roles names 2 security roles (vob-worker (VOB Worker), super-user (Super User)); a user has exactly one security role.');

    const agreeing = await h.scim(
      'POST',
      '/Users',
      newUser({ schemas: [SCIM_USER, EXT], roles: [{ value: 'VOB Worker' }], [EXT]: { securityRole: 'VOB Worker' } }),
    );
    expect(agreeing.status).toBe(201);
  });

  test('when entitlements name a licence tier, then it is checked but never grants: the licence stays the organisation’s', async () => {
    const user = newUser({ entitlements: [{ value: 'app.basic', display: 'Basic', type: 'License' }] });
    const created = await h.scim('POST', '/Users', user);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await h.waitForState(id, 'invited');
    // North Office gives Professional; Basic (South Office's) is not given for the asking.
    expect(await licences(id)).toEqual([{ org_key: 'north', licence_level: 'Professional' }]);

    const unknown = await h.scim('POST', '/Users', newUser({ entitlements: [{ value: 'app.platinum', type: 'License' }] }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.detail).toBe(
      'entitlements[0].value "app.platinum" is not a licence tier of this tenant; use the id of one of its tiers (GET /Licenses): ' +
        'app.professional (Professional), mobile.mobile-standard (Mobile Standard (mobile)), app.basic (Basic).',
    );
    const otherType = await h.scim('POST', '/Users', newUser({ entitlements: [{ value: 'profile123', type: 'Profile' }] }));
    expect(otherType.status).toBe(400);
    expect(otherType.body.detail).toContain('entitlements[0].type "Profile" is not an entitlement type of this server');
  });

  test('when the tenant’s rules test roles, then other role values are accepted as the rules’ inputs (Entra app roles)', async () => {
    const tenant = `t-rules-${Date.now()}`;
    const token = await h.newTenant(
      tenant,
      testTenantConfig({ rules: [{ name: 'Night shift', when: { attribute: 'roles.value', equals: 'Night shift' }, set: { caseManager: true } }] }),
    );
    const res = await fetch(`${h.baseUrl}/Users`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' },
      body: JSON.stringify(newUser({ roles: [{ value: 'Night shift', type: 'WindowsAzureActiveDirectoryRole' }] })),
    });
    expect(res.status).toBe(201);
  });
});
