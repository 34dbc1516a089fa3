/**
 * The request sequences Okta sends to a SCIM 2.0 server, replayed as Okta's SCIM 2.0 reference
 * ("Okta and SCIM Version 2.0", developer.okta.com) shows them: lookup by userName before
 * create, create with password, full-profile PUT, deactivation and reactivation by PATCH,
 * Group Push, re-assignment, and "Import users" paging. No worker: only the SCIM surface.
 */
import { PATCH_OP, SCIM_GROUP, SCIM_USER, startHarness, type Harness } from './harness';

const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ withWorker: false });
});
afterAll(async () => h?.close());

/** Okta's headers: scim+json with a charset, and its own user agent. */
function okta(method: string, path: string, body?: unknown) {
  return h.scim(method, path, body, {
    Accept: 'application/scim+json',
    ...(body !== undefined ? { 'Content-Type': 'application/scim+json; charset=utf-8' } : {}),
    'User-Agent': 'Okta SCIM Client 1.0.0',
  });
}

let counter = 0;
function oktaUser(overrides: Record<string, unknown> = {}) {
  counter += 1;
  const userName = `okta.user${counter}.${Date.now()}@okta.local`;
  return {
    schemas: [SCIM_USER],
    userName,
    name: { givenName: 'Test', familyName: `User${counter}` },
    emails: [{ primary: true, value: userName, type: 'work' }],
    displayName: `Test User${counter}`,
    locale: 'en-US',
    externalId: `00ujl29u0le5T6Aj${counter}h7`,
    groups: [],
    password: '1mz050nq',
    active: true,
    ...overrides,
  };
}

const byUserName = (userName: string) => `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&startIndex=1&count=100`;

describe('Okta user provisioning', () => {
  test('when Okta assigns a new user, then the lookup is empty, the create stores no password, and the user reads back by id and by userName', async () => {
    const user = oktaUser();

    const lookup = await okta('GET', byUserName(user.userName));
    expect(lookup.status).toBe(200);
    expect(lookup.body).toEqual({ schemas: [LIST_URN], totalResults: 0, itemsPerPage: 0, startIndex: 1, Resources: [] });

    const created = await okta('POST', '/Users', user);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ userName: user.userName, externalId: user.externalId, displayName: user.displayName, locale: 'en-US', active: true });
    expect(created.body.password).toBeUndefined();
    const id = created.body.id as string;
    const stored = (await h.db.query<{ doc: Record<string, unknown> }>('SELECT doc FROM scim_users WHERE tenant_id = $1 AND id::text = $2', [h.tenantId, id]))
      .rows[0].doc;
    expect(JSON.stringify(stored)).not.toContain(user.password);

    const read = await okta('GET', `/Users/${id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id, userName: user.userName, name: user.name, emails: user.emails });
    expect(read.body.password).toBeUndefined();

    const found = await okta('GET', byUserName(user.userName));
    expect(found.body).toMatchObject({ totalResults: 1, itemsPerPage: 1, startIndex: 1 });
    expect(found.body.Resources[0].id).toBe(id);
  });

  test('when Okta pushes a full profile update by PUT, then omitted attributes are cleared and the password is not kept', async () => {
    const user = oktaUser({ title: 'Nurse' });
    const id = (await okta('POST', '/Users', user)).body.id as string;
    const current = (await okta('GET', `/Users/${id}`)).body;

    // Okta PUTs the whole resource it knows, id and meta included, without the attributes the admin cleared.
    const { title: _cleared, locale: _alsoCleared, ...rest } = user as Record<string, unknown>;
    const res = await okta('PUT', `/Users/${id}`, {
      ...rest,
      id,
      meta: current.meta,
      name: { givenName: 'Another', familyName: 'User' },
      password: 'n3wPassw0rd',
    });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id,
      userName: user.userName,
      name: { givenName: 'Another', familyName: 'User' },
      externalId: user.externalId,
      meta: { version: 'W/"2"' },
    });
    expect(res.body.title).toBeUndefined();
    expect(res.body.locale).toBeUndefined();
    expect(res.body.password).toBeUndefined();
    expect(res.body.meta.created).toBe(current.meta.created);
  });

  test('when Okta deactivates and reactivates a user by PATCH, then it stays readable by id and filter throughout', async () => {
    const user = oktaUser();
    const id = (await okta('POST', '/Users', user)).body.id as string;

    const off = await okta('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ id, active: false });
    expect((await okta('GET', `/Users/${id}`)).body.active).toBe(false);
    const filtered = await okta('GET', byUserName(user.userName));
    expect(filtered.body.Resources).toEqual([expect.objectContaining({ id, active: false })]);

    const on = await okta('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: true } }] });
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ id, active: true });
    const changes = (
      await h.db.query<{ change: string }>('SELECT change FROM outbox WHERE tenant_id = $1 AND resource_id::text = $2 ORDER BY id', [h.tenantId, id])
    ).rows;
    expect(changes.map((c) => c.change)).toEqual(['created', 'updated', 'updated']);
  });

  test('when Okta re-assigns a deactivated user, then the re-POST is 409 uniqueness and the userName lookup finds the user to reactivate', async () => {
    const user = oktaUser();
    const id = (await okta('POST', '/Users', user)).body.id as string;
    await okta('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] });

    const again = await okta('POST', '/Users', user);
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    expect(again.body).toMatchObject({ schemas: [ERROR_URN], status: '409', scimType: 'uniqueness' });

    const lookup = await okta('GET', byUserName(user.userName));
    expect(lookup.body.totalResults).toBe(1);
    expect(lookup.body.Resources[0]).toMatchObject({ id, externalId: user.externalId, active: false });
    const reactivated = await okta('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: true } }] });
    expect(reactivated.body.active).toBe(true);
  });
});

describe('Okta Group Push', () => {
  test('when Okta pushes a group, changes its members, renames it and PUTs it, then the group follows each step', async () => {
    const alice = (await okta('POST', '/Users', oktaUser())).body;
    const bob = (await okta('POST', '/Users', oktaUser())).body;
    const name = `Test SCIMv2 ${Date.now()}`;

    const byName = `/Groups?filter=${encodeURIComponent(`displayName eq "${name}"`)}&startIndex=1&count=100`;
    expect((await okta('GET', byName)).body).toMatchObject({ totalResults: 0, Resources: [] });

    const created = await okta('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: name, members: [] });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({ id, displayName: name, members: [] });

    const added = await okta('PATCH', `/Groups/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        {
          op: 'add',
          path: 'members',
          value: [
            { value: alice.id, display: alice.userName },
            { value: bob.id, display: bob.userName },
          ],
        },
      ],
    });
    expect(added.status).toBe(204);

    const removed = await okta('PATCH', `/Groups/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${alice.id}"]` }] });
    expect(removed.status).toBe(204);
    expect((await okta('GET', `/Groups/${id}`)).body.members).toEqual([expect.objectContaining({ value: bob.id, display: bob.displayName })]);

    // Okta's rename carries the group's own id in the value.
    const renamed = await okta('PATCH', `/Groups/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { id, displayName: `${name} renamed` } }],
    });
    expect(renamed.status).toBe(204);
    expect((await okta('GET', `/Groups/${id}`)).body.displayName).toBe(`${name} renamed`);

    const put = await okta('PUT', `/Groups/${id}`, { schemas: [SCIM_GROUP], id, displayName: name, members: [{ value: alice.id, display: alice.userName }] });
    expect(put.status).toBe(200);
    expect(put.body.members.map((m: { value: string }) => m.value)).toEqual([alice.id]);

    const found = await okta('GET', byName);
    expect(found.body).toMatchObject({ totalResults: 1, startIndex: 1 });
    expect(found.body.Resources[0]).toMatchObject({ id, displayName: name });
  });

  test('when Okta renames a group with a different id in the value, then the answer is 400 mutability', async () => {
    const id = (await okta('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: `Immutable ${Date.now()}` })).body.id as string;

    const res = await okta('PATCH', `/Groups/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { id: '00000000-0000-4000-8000-000000000001', displayName: 'x' } }],
    });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ schemas: [ERROR_URN], scimType: 'mutability' });
  });
});

describe('Okta Import users', () => {
  test('when Okta imports users page by page with startIndex and count, then every user is listed exactly once', async () => {
    for (let i = 0; i < 5; i++) await okta('POST', '/Users', oktaUser());

    const first = await okta('GET', '/Users?startIndex=1&count=100');
    expect(first.status).toBe(200);
    const total = first.body.totalResults as number;
    expect(total).toBeGreaterThanOrEqual(5);
    expect(first.body).toMatchObject({ schemas: [LIST_URN], itemsPerPage: total, startIndex: 1 });

    const seen: string[] = [];
    for (let startIndex = 1; startIndex <= total; startIndex += 2) {
      const page = await okta('GET', `/Users?startIndex=${startIndex}&count=2`);
      expect(page.body).toMatchObject({ totalResults: total, startIndex });
      expect(page.body.itemsPerPage).toBe(Math.min(2, total - startIndex + 1));
      seen.push(...page.body.Resources.map((r: { id: string }) => r.id));
    }
    expect(seen).toHaveLength(total);
    expect(new Set(seen)).toEqual(new Set(first.body.Resources.map((r: { id: string }) => r.id)));
  });
});
