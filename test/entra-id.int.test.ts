/**
 * The request sequences Microsoft Entra ID sends to a SCIM endpoint, replayed as Microsoft's
 * "Tutorial: Develop and plan provisioning for a SCIM endpoint" shows them: lookups by
 * userName / externalId, create with the enterprise extension, PATCH with capitalised op
 * names and string booleans, value-path adds for attributes the user lacks, the manager as a
 * plain id, group membership by value arrays, soft then hard delete, and the
 * `aadOptscim062020` feature flag on every URL. No worker: only the SCIM surface.
 */
import { ENTERPRISE, EXT, PATCH_OP, SCIM_GROUP, SCIM_USER, startHarness, type Harness } from './harness';

const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const FLAG = 'aadOptscim062020';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ withWorker: false });
});
afterAll(async () => h?.close());

/** Entra sends application/scim+json and, with the 2020 compliance flag, the flag on every URL. */
function entra(method: string, path: string, body?: unknown) {
  const withFlag = `${path}${path.includes('?') ? '&' : '?'}${FLAG}`;
  return h.scim(method, withFlag, body, { Accept: 'application/scim+json' });
}

let counter = 0;
function entraUser(overrides: Record<string, unknown> = {}) {
  counter += 1;
  const tag = `${counter}_${Date.now()}`;
  return {
    schemas: [SCIM_USER, ENTERPRISE],
    externalId: `0a21f0f2-8d2a-4f8e-bf98-${tag}`,
    userName: `Test_User_${tag}@testuser.com`,
    active: true,
    emails: [{ primary: true, type: 'work', value: `Test_User_${tag}@testuser.com` }],
    meta: { resourceType: 'User' },
    name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    roles: [],
    [ENTERPRISE]: { department: 'Nursing', employeeNumber: `E${counter}` },
    ...overrides,
  };
}

function patch(...operations: Record<string, unknown>[]) {
  return { schemas: [PATCH_OP], Operations: operations };
}

async function createUser(overrides: Record<string, unknown> = {}): Promise<{ id: string; user: ReturnType<typeof entraUser> }> {
  const user = entraUser(overrides);
  const res = await entra('POST', '/Users', user);
  expect(res.status).toBe(201);
  return { id: res.body.id, user };
}

describe('Entra ID user provisioning', () => {
  test('when Entra looks a user up by userName and by externalId before and after creating it, then empty then exactly it', async () => {
    const user = entraUser();
    const byUserName = `/Users?filter=${encodeURIComponent(`userName eq "${user.userName}"`)}`;
    const byExternalId = `/Users?filter=${encodeURIComponent(`externalId eq "${user.externalId}"`)}`;

    for (const path of [byUserName, byExternalId]) {
      const res = await entra('GET', path);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ schemas: [LIST_URN], totalResults: 0, itemsPerPage: 0, startIndex: 1, Resources: [] });
    }

    const created = await entra('POST', '/Users', user);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      userName: user.userName,
      externalId: user.externalId,
      active: true,
      schemas: expect.arrayContaining([SCIM_USER, ENTERPRISE]),
      [ENTERPRISE]: { department: 'Nursing' },
    });

    for (const path of [byUserName, byExternalId]) {
      const res = await entra('GET', path);
      expect(res.body.totalResults).toBe(1);
      expect(res.body.Resources[0].id).toBe(created.body.id);
    }
  });

  test('when Entra PATCHes with capitalised ops, value paths and string booleans, then each attribute lands where it belongs', async () => {
    const { id } = await createUser();

    const res = await entra(
      'PATCH',
      `/Users/${id}`,
      patch(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
        { op: 'Add', path: 'title', value: 'Charge Nurse' },
        { op: 'Add', path: `${ENTERPRISE}:department`, value: 'Cardiology' },
        { op: 'Replace', path: 'active', value: 'False' },
      ),
    );

    expect(res.status).toBe(200);
    expect(res.body.emails).toEqual([expect.objectContaining({ type: 'work', value: 'updatedEmail@microsoft.com', primary: true })]);
    expect(res.body.name).toMatchObject({ familyName: 'updatedFamilyName', givenName: 'givenName' });
    expect(res.body.title).toBe('Charge Nurse');
    expect(res.body[ENTERPRISE]).toMatchObject({ department: 'Cardiology', employeeNumber: expect.any(String) });
    expect(res.body.active).toBe(false);
  });

  test('when Entra sends a no-path Replace with string booleans, dotted and URN-qualified keys, then each is applied', async () => {
    const { id } = await createUser();

    const res = await entra(
      'PATCH',
      `/Users/${id}`,
      patch({ op: 'Replace', value: { active: 'False', displayName: 'New Display', 'name.givenName': 'Newgiven', [`${ENTERPRISE}:employeeNumber`]: '4711' } }),
    );

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ active: false, displayName: 'New Display', name: { givenName: 'Newgiven', familyName: 'familyName' } });
    expect(res.body[ENTERPRISE]).toMatchObject({ employeeNumber: '4711', department: 'Nursing' });
  });

  test('when Entra adds a work address field by field to a user without one, then one work address holds them all', async () => {
    const { id } = await createUser();

    const res = await entra(
      'PATCH',
      `/Users/${id}`,
      patch(
        { op: 'Add', path: 'addresses[type eq "work"].formatted', value: '1 Main St, Springfield' },
        { op: 'Add', path: 'addresses[type eq "work"].streetAddress', value: '1 Main St' },
        { op: 'Add', path: 'addresses[type eq "work"].locality', value: 'Springfield' },
        { op: 'Add', path: 'addresses[type eq "work"].postalCode', value: '98052' },
        { op: 'Add', path: 'addresses[type eq "work"].country', value: 'US' },
        { op: 'Add', path: 'phoneNumbers[type eq "work"].value', value: '+1 555 0100' },
        { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0199' },
      ),
    );

    expect(res.status).toBe(200);
    expect(res.body.addresses).toEqual([
      { type: 'work', formatted: '1 Main St, Springfield', streetAddress: '1 Main St', locality: 'Springfield', postalCode: '98052', country: 'US' },
    ]);
    expect(res.body.phoneNumbers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'work', value: '+1 555 0100' }),
        expect.objectContaining({ type: 'mobile', value: '+1 555 0199' }),
      ]),
    );
    expect(res.body.phoneNumbers).toHaveLength(2);

    const changed = await entra('PATCH', `/Users/${id}`, patch({ op: 'Replace', path: 'addresses[type eq "work"].postalCode', value: '98053' }));
    expect(changed.body.addresses).toEqual([expect.objectContaining({ postalCode: '98053', locality: 'Springfield' })]);
  });

  test('when Entra sets and replaces the manager as a plain id and later removes it, then it is { value: id } and then gone', async () => {
    const [manager, nextManager] = [await createUser(), await createUser()];
    const { id } = await createUser();

    const set = await entra('PATCH', `/Users/${id}`, patch({ op: 'Add', path: `${ENTERPRISE}:manager`, value: manager.id }));
    expect(set.status).toBe(200);
    expect(set.body[ENTERPRISE].manager).toMatchObject({ value: manager.id });

    const replaced = await entra('PATCH', `/Users/${id}`, patch({ op: 'Replace', path: `${ENTERPRISE}:manager`, value: nextManager.id }));
    expect(replaced.status).toBe(200);
    expect(replaced.body[ENTERPRISE].manager).toMatchObject({ value: nextManager.id });

    const removed = await entra('PATCH', `/Users/${id}`, patch({ op: 'Remove', path: `${ENTERPRISE}:manager` }));
    expect(removed.status).toBe(200);
    expect(removed.body[ENTERPRISE].manager).toBeUndefined();
    expect(removed.body[ENTERPRISE].department).toBe('Nursing');
  });

  test('when a multi-valued scimflow attribute arrives as a ";"-joined string, then it is stored as an array (POST and PATCH)', async () => {
    const { id } = await createUser({ schemas: [SCIM_USER, ENTERPRISE, EXT], [EXT]: { teams: 'Blue;Red', facilities: 'Main Campus' } });

    const read = await entra('GET', `/Users/${id}`);
    expect(read.body[EXT]).toMatchObject({ teams: ['Blue', 'Red'], facilities: ['Main Campus'] });

    const res = await entra(
      'PATCH',
      `/Users/${id}`,
      patch({ op: 'Replace', path: `${EXT}:teams`, value: 'A;B; C' }, { op: 'Add', path: `${EXT}:caseManager`, value: 'True' }),
    );
    expect(res.status).toBe(200);
    expect(res.body[EXT]).toMatchObject({ teams: ['A', 'B', 'C'], facilities: ['Main Campus'], caseManager: true });
  });

  test('when Entra soft-deletes (active "False") and then deletes, then the user reads inactive, then 204, then 404', async () => {
    const { id, user } = await createUser();

    const soft = await entra('PATCH', `/Users/${id}`, patch({ op: 'Replace', path: 'active', value: 'False' }));
    expect(soft.status).toBe(200);
    expect((await entra('GET', `/Users/${id}`)).body.active).toBe(false);
    const lookup = await entra('GET', `/Users?filter=${encodeURIComponent(`userName eq "${user.userName}"`)}`);
    expect(lookup.body.Resources).toEqual([expect.objectContaining({ id, active: false })]);

    expect((await entra('DELETE', `/Users/${id}`)).status).toBe(204);
    expect((await entra('GET', `/Users/${id}`)).status).toBe(404);
    const changes = (
      await h.db.query<{ change: string }>('SELECT change FROM outbox WHERE tenant_id = $1 AND resource_id::text = $2 ORDER BY id', [h.tenantId, id])
    ).rows;
    expect(changes.map((c) => c.change)).toEqual(['created', 'updated', 'deleted']);
  });
});

describe('Entra ID group provisioning', () => {
  test('when Entra provisions a group and its members, then lookups, Add and both Remove forms behave', async () => {
    const [a, b, c] = [(await createUser()).id, (await createUser()).id, (await createUser()).id];
    const name = `Entra group ${Date.now()}`;
    const lookup = `/Groups?excludedAttributes=members&filter=${encodeURIComponent(`displayName eq "${name}"`)}`;

    expect((await entra('GET', lookup)).body).toMatchObject({ totalResults: 0, Resources: [] });

    const created = await entra('POST', '/Groups', {
      schemas: [SCIM_GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId: `8aa1a0c0-${Date.now()}`,
      displayName: name,
      meta: { resourceType: 'Group' },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;

    const found = await entra('GET', lookup);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0]).toMatchObject({ id, displayName: name });
    expect(found.body.Resources[0].members).toBeUndefined();

    const added = await entra(
      'PATCH',
      `/Groups/${id}`,
      patch({
        op: 'Add',
        path: 'members',
        value: [
          { $ref: null, value: a },
          { $ref: null, value: b },
          { $ref: null, value: c },
        ],
      }),
    );
    expect(added.status).toBe(204);

    const removedByFilter = await entra('PATCH', `/Groups/${id}`, patch({ op: 'Remove', path: `members[value eq "${a}"]` }));
    expect(removedByFilter.status).toBe(204);

    const removedByValue = await entra('PATCH', `/Groups/${id}`, patch({ op: 'Remove', path: 'members', value: [{ $ref: null, value: b }] }));
    expect(removedByValue.status).toBe(204);

    const read = await entra('GET', `/Groups/${id}`);
    expect(read.body.members.map((m: { value: string }) => m.value)).toEqual([c]);

    const renamed = await entra('PATCH', `/Groups/${id}`, patch({ op: 'Replace', path: 'displayName', value: `${name} updated` }));
    expect(renamed.status).toBe(204);
    expect((await entra('GET', `/Groups/${id}?excludedAttributes=members`)).body).toMatchObject({ displayName: `${name} updated` });

    expect((await entra('DELETE', `/Groups/${id}`)).status).toBe(204);
    expect((await entra('GET', `/Groups/${id}`)).status).toBe(404);
  });

  test('when Entra filters groups by id with members excluded, then only that group is returned without members', async () => {
    const member = (await createUser()).id;
    const id = (await entra('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: `By id ${Date.now()}`, members: [{ value: member }] })).body.id as string;

    const res = await entra('GET', `/Groups?excludedAttributes=members&filter=${encodeURIComponent(`id eq "${id}"`)}`);

    expect(res.status).toBe(200);
    expect(res.body.Resources).toEqual([expect.not.objectContaining({ members: expect.anything() })]);
    expect(res.body.Resources[0].id).toBe(id);
  });

  // An app role's value is the id of one of the tenant's roles (GET /Roles; issue 25): Entra app role values cannot hold spaces, ids have none.
  test('when Entra sends app role assignments, then roles with type WindowsAzureActiveDirectoryRole are accepted and returned', async () => {
    const id = (await createUser()).id;
    const res = await entra(
      'PATCH',
      `/Users/${id}`,
      patch({ op: 'Add', path: 'roles', value: [{ primary: 'True', type: 'WindowsAzureActiveDirectoryRole', value: 'vob-worker' }] }),
    );
    expect(res.status).toBe(200);
    expect(res.body.roles).toEqual([{ primary: true, type: 'WindowsAzureActiveDirectoryRole', value: 'vob-worker' }]);
  });
});
