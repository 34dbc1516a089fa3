/**
 * The Microsoft Entra app gallery's validation checks for a SCIM application (issue 25), one
 * describe per check, each named after it: what the SCIM Validator
 * (https://scimvalidator.microsoft.com, "Tutorial: Validate a SCIM endpoint") and the gallery
 * onboarding ("Microsoft Entra app gallery user provisioning requirements") test before an
 * application is listed. Requests are shaped as Entra sends them: `application/scim+json`,
 * capitalised op names, string booleans, the manager as a plain id, and the `aadOptscim062020`
 * flag on every URL. The request shapes test/entra-id.int.test.ts already replays (lookups
 * before create, value-path adds, manager Add/Replace/Remove by path, soft then hard delete,
 * one-by-one member removal) are not repeated here.
 *
 * The checks on the SCIM surface run without a worker; "unassign then reassign" and "provision
 * on demand" need the user's workflow (the user must come back usable, the group's rule must
 * reach the application), so they run on a second harness with a worker.
 */
import { createToken } from '../common/repositories/tokens';
import { adminRequest, ENTERPRISE, eventually, EXT, PATCH_OP, SCIM_GROUP, SCIM_USER, startHarness, testTenantConfig, type Harness } from './harness';

const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';
const FLAG = 'aadOptscim062020';
const ENTRA_GROUP_URN = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';

type Response = { status: number; body: any };

/** Entra sends application/scim+json and, with the 2020 compliance flag, the flag on every URL. */
function entraOn(harness: Harness, token?: string) {
  return (method: string, path: string, body?: unknown): Promise<Response> => {
    const withFlag = `${path}${path.includes('?') ? '&' : '?'}${FLAG}`;
    return harness.scim(method, withFlag, body, { Accept: 'application/scim+json', ...(token ? { Authorization: `Bearer ${token}` } : {}) });
  };
}

let counter = 0;
/** A user as Entra's default attribute mappings create it (objectId → externalId, UPN → userName). */
function entraUser(overrides: Record<string, unknown> = {}) {
  counter += 1;
  const tag = `${counter}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const userName = `gallery.${tag}@contoso.example`;
  return {
    schemas: [SCIM_USER, ENTERPRISE],
    externalId: `6c2d9a4e-0000-4000-8000-${tag.padStart(12, '0').slice(-12)}`,
    userName,
    active: true,
    displayName: `Gallery User ${counter}`,
    title: 'Staff Nurse',
    emails: [{ primary: true, type: 'work', value: userName }],
    name: { formatted: `Gallery User ${counter}`, familyName: `User${counter}`, givenName: 'Gallery' },
    [ENTERPRISE]: { department: 'Nursing', employeeNumber: `G${counter}` },
    ...overrides,
  };
}

const patch = (...operations: Record<string, unknown>[]) => ({ schemas: [PATCH_OP], Operations: operations });
const filterQuery = (filter: string) => `filter=${encodeURIComponent(filter)}`;
const ids = (list: { Resources?: { id: string }[] }) => (list.Resources ?? []).map((r) => r.id);

describe('Entra gallery checks on the SCIM surface', () => {
  let h: Harness;
  let entra: ReturnType<typeof entraOn>;

  beforeAll(async () => {
    h = await startHarness({ withWorker: false });
    entra = entraOn(h);
  });
  afterAll(async () => h?.close());

  async function createUser(overrides: Record<string, unknown> = {}) {
    const user = entraUser(overrides);
    const res = await entra('POST', '/Users', user);
    expect(res.status).toBe(201);
    return { id: res.body.id as string, user };
  }

  /** The users a filter finds among the one named `userName` (so other tests' users do not count). */
  async function findWith(filter: string, userName: string): Promise<string[]> {
    const res = await entra('GET', `/Users?${filterQuery(`(${filter}) and userName eq "${userName}"`)}`);
    expect(res.status).toBe(200);
    return ids(res.body);
  }

  describe('Check: a PATCH to "" then to null leaves the attribute empty', () => {
    // RFC 7643 §2.5: unassigned and null are equivalent; an empty string is no value either
    // (RFC 7644 §3.4.2.2 "pr": a match needs a non-empty value). Entra sends "" when the source
    // attribute is emptied and null when its mapping yields nothing.
    const cases: { name: string; path: string; read: (doc: any) => unknown; initial?: Record<string, unknown> }[] = [
      { name: 'a core string attribute (title)', path: 'title', read: (d) => d.title },
      { name: 'an enterprise extension attribute (department)', path: `${ENTERPRISE}:department`, read: (d) => d[ENTERPRISE]?.department },
      {
        name: 'a scimflow extension attribute (employeeType)',
        path: `${EXT}:employeeType`,
        read: (d) => d[EXT]?.employeeType,
        initial: { schemas: [SCIM_USER, ENTERPRISE, EXT], [EXT]: { employeeType: 'Registered Nurse' } },
      },
      { name: 'a sub-attribute (name.givenName)', path: 'name.givenName', read: (d) => d.name?.givenName },
    ];

    for (const c of cases) {
      test(`when Entra replaces ${c.name} with "" and then with null, then GET shows it absent each time and "pr" does not match it`, async () => {
        const { id, user } = await createUser(c.initial);
        expect(c.read((await entra('GET', `/Users/${id}`)).body)).toEqual(expect.any(String));
        expect(await findWith(`${c.path} pr`, user.userName)).toEqual([id]);

        for (const value of ['', null]) {
          const res = await entra('PATCH', `/Users/${id}`, patch({ op: 'Replace', path: c.path, value }));
          expect(res.status).toBe(200);
          const read = await entra('GET', `/Users/${id}`);
          expect(read.status).toBe(200);
          expect(c.read(read.body)).toBeUndefined();
          expect(c.read(res.body)).toBeUndefined();
          expect(await findWith(`${c.path} pr`, user.userName)).toEqual([]);
          expect(await findWith(`not (${c.path} pr)`, user.userName)).toEqual([id]);
        }
        // Nothing else was touched.
        const after = (await entra('GET', `/Users/${id}`)).body;
        expect(after).toMatchObject({ userName: user.userName, active: true, name: { familyName: user.name.familyName } });
        expect(after[ENTERPRISE]).toMatchObject({ employeeNumber: user[ENTERPRISE].employeeNumber });
      });
    }

    test('when Entra sends the no-path form with "" and null values (the SCIM Validator\'s shape), then each attribute is absent afterwards', async () => {
      const { id, user } = await createUser({ nickName: 'Gal', schemas: [SCIM_USER, ENTERPRISE, EXT], [EXT]: { employeeType: 'Porter' } });

      const emptied = await entra(
        'PATCH',
        `/Users/${id}`,
        patch({ op: 'replace', value: { title: '', 'name.givenName': '', [`${ENTERPRISE}:department`]: '', [`${EXT}:employeeType`]: '' } }),
      );
      expect(emptied.status).toBe(200);
      const nulled = await entra(
        'PATCH',
        `/Users/${id}`,
        patch({ op: 'replace', value: { nickName: null, displayName: null, [`${ENTERPRISE}:employeeNumber`]: null } }),
      );
      expect(nulled.status).toBe(200);

      const read = (await entra('GET', `/Users/${id}`)).body;
      for (const gone of [
        read.title,
        read.nickName,
        read.displayName,
        read.name?.givenName,
        read[ENTERPRISE]?.department,
        read[ENTERPRISE]?.employeeNumber,
        read[EXT]?.employeeType,
      ])
        expect(gone).toBeUndefined();
      expect(read).toMatchObject({ userName: user.userName, name: { familyName: user.name.familyName } });
      expect(await findWith('title pr or nickName pr or displayName pr or name.givenName pr', user.userName)).toEqual([]);
    });

    test('when Entra replaces the required userName with "" or null, then the answer is 400 invalidValue and the user is unchanged', async () => {
      const { id, user } = await createUser();
      for (const value of ['', null]) {
        const res = await entra('PATCH', `/Users/${id}`, patch({ op: 'Replace', path: 'title', value: 'Changed' }, { op: 'Replace', path: 'userName', value }));
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '400', scimType: 'invalidValue', detail: expect.stringContaining('userName') });
      }
      const read = (await entra('GET', `/Users/${id}`)).body;
      expect(read).toMatchObject({ userName: user.userName, title: 'Staff Nurse', meta: { version: 'W/"1"' } });
    });
    test('when Entra replaces a group\'s externalId with "" and then with null (group tests), then the group reads without it; an emptied displayName is 400 and changes nothing', async () => {
      const name = `Emptied ${Date.now()}`;
      const created = await entra('POST', '/Groups', { schemas: [SCIM_GROUP, ENTRA_GROUP_URN], displayName: name, externalId: `ext-${Date.now()}` });
      expect(created.status).toBe(201);
      const gid = created.body.id as string;
      const withExternalId = async () => ids((await entra('GET', `/Groups?${filterQuery(`externalId pr and displayName eq "${name}"`)}`)).body);
      expect(await withExternalId()).toEqual([gid]);

      for (const operation of [
        { op: 'Replace', path: 'externalId', value: '' },
        { op: 'Replace', path: 'externalId', value: null },
        { op: 'replace', value: { externalId: null } },
      ]) {
        expect((await entra('PATCH', `/Groups/${gid}`, patch({ op: 'Replace', path: 'externalId', value: 'again' }))).status).toBe(204);
        const res = await entra('PATCH', `/Groups/${gid}`, patch(operation));
        expect({ operation, status: res.status }).toEqual({ operation, status: 204 });
        const read = await entra('GET', `/Groups/${gid}`);
        expect(read.body).toMatchObject({ id: gid, displayName: name });
        expect(read.body.externalId).toBeUndefined();
        expect(await withExternalId()).toEqual([]);
      }

      for (const value of ['', null]) {
        const res = await entra('PATCH', `/Groups/${gid}`, patch({ op: 'Replace', path: 'displayName', value }));
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ schemas: [ERROR_URN], scimType: 'invalidValue', detail: expect.stringContaining('displayName') });
      }
      expect((await entra('GET', `/Groups/${gid}`)).body.displayName).toBe(name);
    });
  });

  describe('Check: /Schemas lists every attribute an admin may map', () => {
    type Attr = { name: string; type: string; multiValued: boolean; mutability: string; required?: boolean; subAttributes?: Attr[] };
    /** name → [type, multiValued, mutability] (and sub-attributes "name.sub"), as an Entra admin maps them (RFC 7643 §4.1, §4.3). */
    const EXPECTED: Record<string, Record<string, [string, boolean, string]>> = {
      [SCIM_USER]: {
        userName: ['string', false, 'readWrite'],
        active: ['boolean', false, 'readWrite'],
        displayName: ['string', false, 'readWrite'],
        title: ['string', false, 'readWrite'],
        nickName: ['string', false, 'readWrite'],
        userType: ['string', false, 'readWrite'],
        preferredLanguage: ['string', false, 'readWrite'],
        locale: ['string', false, 'readWrite'],
        timezone: ['string', false, 'readWrite'],
        profileUrl: ['reference', false, 'readWrite'],
        name: ['complex', false, 'readWrite'],
        'name.givenName': ['string', false, 'readWrite'],
        'name.familyName': ['string', false, 'readWrite'],
        'name.formatted': ['string', false, 'readWrite'],
        'name.middleName': ['string', false, 'readWrite'],
        'name.honorificPrefix': ['string', false, 'readWrite'],
        'name.honorificSuffix': ['string', false, 'readWrite'],
        emails: ['complex', true, 'readWrite'],
        'emails.value': ['string', false, 'readWrite'],
        'emails.type': ['string', false, 'readWrite'],
        'emails.primary': ['boolean', false, 'readWrite'],
        phoneNumbers: ['complex', true, 'readWrite'],
        'phoneNumbers.value': ['string', false, 'readWrite'],
        'phoneNumbers.type': ['string', false, 'readWrite'],
        addresses: ['complex', true, 'readWrite'],
        'addresses.formatted': ['string', false, 'readWrite'],
        'addresses.streetAddress': ['string', false, 'readWrite'],
        'addresses.locality': ['string', false, 'readWrite'],
        'addresses.region': ['string', false, 'readWrite'],
        'addresses.postalCode': ['string', false, 'readWrite'],
        'addresses.country': ['string', false, 'readWrite'],
        'addresses.type': ['string', false, 'readWrite'],
        roles: ['complex', true, 'readWrite'],
        'roles.value': ['string', false, 'readWrite'],
        'roles.type': ['string', false, 'readWrite'],
        'roles.primary': ['boolean', false, 'readWrite'],
        entitlements: ['complex', true, 'readWrite'],
        groups: ['complex', true, 'readOnly'],
        password: ['string', false, 'writeOnly'],
      },
      [ENTERPRISE]: {
        employeeNumber: ['string', false, 'readWrite'],
        costCenter: ['string', false, 'readWrite'],
        organization: ['string', false, 'readWrite'],
        division: ['string', false, 'readWrite'],
        department: ['string', false, 'readWrite'],
        manager: ['complex', false, 'readWrite'],
        'manager.value': ['string', false, 'readWrite'],
        'manager.displayName': ['string', false, 'readOnly'],
      },
      [EXT]: {
        client: ['string', false, 'readWrite'],
        clientRole: ['string', false, 'readWrite'],
        organisations: ['complex', true, 'readWrite'],
        'organisations.value': ['string', false, 'readWrite'],
        'organisations.role': ['string', false, 'readWrite'],
        'organisations.primary': ['boolean', false, 'readWrite'],
        extraClientAccess: ['string', true, 'readWrite'],
        caseManager: ['boolean', false, 'readWrite'],
        mobileAppUser: ['boolean', false, 'readWrite'],
        providerAccounts: ['complex', true, 'readWrite'],
        'providerAccounts.type': ['string', false, 'readWrite'],
        'providerAccounts.organisations': ['string', true, 'readWrite'],
        securityRole: ['string', false, 'readWrite'],
        employeeType: ['string', false, 'readWrite'],
        allowGridExport: ['boolean', false, 'readWrite'],
        receivesDocumentation: ['boolean', false, 'readWrite'],
        employeeAreas: ['string', true, 'readWrite'],
        biGroups: ['string', true, 'readWrite'],
        teams: ['string', true, 'readWrite'],
        facilities: ['string', true, 'readWrite'],
        emailNotifications: ['string', true, 'readWrite'],
        systemNotifications: ['string', true, 'readWrite'],
        toastrNotifications: ['string', true, 'readWrite'],
        startDate: ['dateTime', false, 'readWrite'],
        endDate: ['dateTime', false, 'readWrite'],
        provisioning: ['complex', false, 'readOnly'],
        'provisioning.state': ['string', false, 'readOnly'],
      },
    };

    function flatten(attributes: Attr[]): Map<string, Attr> {
      const out = new Map<string, Attr>();
      for (const a of attributes) {
        out.set(a.name, a);
        for (const s of a.subAttributes ?? []) out.set(`${a.name}.${s.name}`, s);
      }
      return out;
    }

    test('when the SCIM Validator discovers the schema, then core User, enterprise and scimflow extension list every mappable attribute with its type, multiValued and mutability', async () => {
      const res = await entra('GET', '/Schemas');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ schemas: [LIST_URN], totalResults: res.body.Resources.length });
      const byId = new Map<string, { attributes: Attr[] }>(res.body.Resources.map((s: { id: string }) => [s.id, s]));

      for (const [urn, expected] of Object.entries(EXPECTED)) {
        const schema = byId.get(urn);
        expect(schema).toBeDefined();
        const attrs = flatten(schema!.attributes);
        const actual = Object.fromEntries(
          Object.keys(expected).map((name) => {
            const a = attrs.get(name);
            return [name, a ? [a.type, a.multiValued, a.mutability] : 'missing'];
          }),
        );
        expect({ urn, attributes: actual }).toEqual({ urn, attributes: expected });
        // Each attribute states its qualities (RFC 7643 §7): Entra's attribute editor reads them.
        for (const [name, a] of attrs) {
          expect({ name, type: typeof a.type, multiValued: typeof a.multiValued, mutability: typeof a.mutability }).toEqual({
            name,
            type: 'string',
            multiValued: 'boolean',
            mutability: 'string',
          });
        }
      }
      expect(flatten(byId.get(SCIM_USER)!.attributes).get('userName')).toMatchObject({ required: true, uniqueness: 'server' });

      // The one-schema reads agree with the list, and the User resource type names both extensions.
      for (const urn of Object.keys(EXPECTED)) {
        const one = await entra('GET', `/Schemas/${encodeURIComponent(urn)}`);
        expect(one.status).toBe(200);
        expect(one.body.attributes).toEqual(byId.get(urn)!.attributes);
      }
      const userType = await entra('GET', '/ResourceTypes/User');
      expect(userType.body).toMatchObject({ endpoint: '/Users', schema: SCIM_USER });
      expect(userType.body.schemaExtensions).toEqual(
        expect.arrayContaining([
          { schema: ENTERPRISE, required: false },
          { schema: EXT, required: false },
        ]),
      );
    });

    test('when Entra provisions a user with every attribute /Schemas declares writable for an admin to map, then each one is stored and returned', async () => {
      const manager = await createUser();
      const { id, user } = await createUser({
        schemas: [SCIM_USER, ENTERPRISE, EXT],
        nickName: 'Gal',
        userType: 'Employee',
        preferredLanguage: 'en-GB',
        locale: 'en-GB',
        timezone: 'Europe/London',
        phoneNumbers: [
          { type: 'work', value: '+44 20 7946 0018' },
          { type: 'mobile', value: '+44 7700 900123' },
        ],
        addresses: [{ type: 'work', streetAddress: '1 Ward Rd', locality: 'Leeds', region: 'West Yorkshire', postalCode: 'LS1 1AA', country: 'GB' }],
        [ENTERPRISE]: { employeeNumber: 'E-1', costCenter: 'CC-7', organization: 'Care Group', division: 'Acute', department: 'Nursing', manager: manager.id },
        [EXT]: {
          client: 'north',
          clientRole: 'Client Staff',
          extraClientAccess: 'south',
          caseManager: 'True',
          mobileAppUser: 'False',
          securityRole: 'VOB Worker',
          employeeType: 'Registered Nurse',
          allowGridExport: 'False',
          receivesDocumentation: 'True',
          employeeAreas: 'Care Coordinator;Assigned Agent',
          teams: 'Blue',
          facilities: 'Main Campus',
          startDate: '2030-01-06T00:00:00Z',
        },
      });
      const read = (await entra('GET', `/Users/${id}`)).body;
      expect(read).toMatchObject({ nickName: 'Gal', userType: 'Employee', preferredLanguage: 'en-GB', locale: 'en-GB', timezone: 'Europe/London' });
      expect(read.addresses).toEqual([expect.objectContaining({ locality: 'Leeds', region: 'West Yorkshire', postalCode: 'LS1 1AA', country: 'GB' })]);
      expect(read.phoneNumbers).toHaveLength(2);
      expect(read[ENTERPRISE]).toMatchObject({ costCenter: 'CC-7', organization: 'Care Group', division: 'Acute', manager: { value: manager.id } });
      expect(read[EXT]).toMatchObject({
        client: 'north',
        extraClientAccess: ['south'],
        caseManager: true,
        mobileAppUser: false,
        securityRole: 'VOB Worker',
        employeeAreas: ['Care Coordinator', 'Assigned Agent'],
        startDate: expect.stringMatching(/^2030-01-06T00:00:00(\.000)?Z$/),
      });
      expect(read.userName).toBe(user.userName);
    });
  });

  describe('Check: manager set, change and remove through the enterprise extension', () => {
    const managerOf = async (id: string) => (await entra('GET', `/Users/${id}`)).body[ENTERPRISE]?.manager;
    const reportsOf = async (managerId: string, userName: string) => findWith(`${ENTERPRISE}:manager.value eq "${managerId}"`, userName);

    test('when Entra sets the manager in the no-path form, changes it with { value } and removes it with "" and with null, then GET and a manager filter follow each step', async () => {
      const [first, second] = [await createUser(), await createUser()];
      const { id, user } = await createUser();

      // Set: the SCIM Validator's no-path replace with the URN-qualified key and a plain id.
      const set = await entra('PATCH', `/Users/${id}`, patch({ op: 'replace', value: { [`${ENTERPRISE}:manager`]: first.id } }));
      expect(set.status).toBe(200);
      expect(await managerOf(id)).toMatchObject({ value: first.id });
      expect(await reportsOf(first.id, user.userName)).toEqual([id]);

      // Change: the object form, as RFC 7643 §4.3 declares it.
      const changed = await entra('PATCH', `/Users/${id}`, patch({ op: 'Replace', path: `${ENTERPRISE}:manager`, value: { value: second.id } }));
      expect(changed.status).toBe(200);
      expect(await managerOf(id)).toMatchObject({ value: second.id });
      expect(await reportsOf(first.id, user.userName)).toEqual([]);
      expect(await reportsOf(second.id, user.userName)).toEqual([id]);

      // Remove: Entra clears a manager whose source is emptied with "" (and, without a value, null).
      for (const value of ['', null]) {
        const removed = await entra('PATCH', `/Users/${id}`, patch({ op: 'Replace', path: `${ENTERPRISE}:manager`, value }));
        expect(removed.status).toBe(200);
        expect(await managerOf(id)).toBeUndefined();
        expect(await findWith(`${ENTERPRISE}:manager pr`, user.userName)).toEqual([]);
        // Put it back for the null round.
        await entra('PATCH', `/Users/${id}`, patch({ op: 'Add', path: `${ENTERPRISE}:manager`, value: first.id }));
      }
      expect((await entra('GET', `/Users/${id}`)).body[ENTERPRISE]).toMatchObject({ department: 'Nursing', manager: { value: first.id } });
    });

    test('when Entra creates a user with its manager in the extension and later clears it in a no-path replace, then the manager is there and then gone with the other attributes kept', async () => {
      const boss = await createUser();
      const { id } = await createUser({ [ENTERPRISE]: { department: 'Theatres', manager: { value: boss.id } } });
      expect(await managerOf(id)).toMatchObject({ value: boss.id });

      const res = await entra('PATCH', `/Users/${id}`, patch({ op: 'Replace', value: { [ENTERPRISE]: { manager: null, costCenter: 'CC-9' } } }));
      expect(res.status).toBe(200);
      expect(res.body[ENTERPRISE]).toEqual(expect.objectContaining({ department: 'Theatres', costCenter: 'CC-9' }));
      expect(res.body[ENTERPRISE].manager).toBeUndefined();
    });
  });

  describe('Check: pages of 5 over at least 11 users with startIndex echoed', () => {
    test('when Entra pages 12 users and 11 groups 5 at a time, then each page echoes its startIndex, holds 5, 5 and the rest, and together they list every resource once', async () => {
      // A tenant of its own, so that the other checks' users do not count.
      const tenant = `gallery-${Date.now().toString(36)}`;
      const token = await h.newTenant(tenant);
      const inTenant = entraOn(h, token);
      const created: string[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await inTenant('POST', '/Users', entraUser());
        expect(res.status).toBe(201);
        created.push(res.body.id);
      }

      const seen: string[] = [];
      for (const [startIndex, size] of [
        [1, 5],
        [6, 5],
        [11, 2],
      ]) {
        const page = await inTenant('GET', `/Users?startIndex=${startIndex}&count=5`);
        expect(page.status).toBe(200);
        expect(page.body).toMatchObject({ schemas: [LIST_URN], totalResults: 12, itemsPerPage: size, startIndex });
        expect(page.body.Resources).toHaveLength(size);
        seen.push(...ids(page.body));
      }
      expect([...seen].sort()).toEqual([...created].sort());
      expect(new Set(seen).size).toBe(12);

      // Past the end: an empty page that still echoes its startIndex.
      const beyond = await inTenant('GET', `/Users?startIndex=13&count=5`);
      expect(beyond.body).toMatchObject({ totalResults: 12, itemsPerPage: 0, startIndex: 13 });
      expect(beyond.body.Resources ?? []).toEqual([]);

      // The same walk with a filter (Entra pages its filtered reads the same way) and over POST /.search.
      const filtered = await inTenant('GET', `/Users?startIndex=6&count=5&${filterQuery('userName sw "gallery."')}`);
      expect(filtered.body).toMatchObject({ totalResults: 12, itemsPerPage: 5, startIndex: 6 });
      expect(ids(filtered.body)).toEqual(seen.slice(5, 10));
      const searched = await inTenant('POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], startIndex: 11, count: 5 });
      expect(searched.body).toMatchObject({ totalResults: 12, itemsPerPage: 2, startIndex: 11 });
      expect(ids(searched.body)).toEqual(seen.slice(10));

      // With group tests enabled, the same over 11 groups.
      const groups: string[] = [];
      for (let i = 0; i < 11; i++) {
        const res = await inTenant('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: `Paged group ${i}` });
        expect(res.status).toBe(201);
        groups.push(res.body.id);
      }
      const seenGroups: string[] = [];
      for (const [startIndex, size] of [
        [1, 5],
        [6, 5],
        [11, 1],
      ]) {
        const page = await inTenant('GET', `/Groups?excludedAttributes=members&startIndex=${startIndex}&count=5`);
        expect(page.body).toMatchObject({ schemas: [LIST_URN], totalResults: 11, itemsPerPage: size, startIndex });
        seenGroups.push(...ids(page.body));
      }
      expect([...seenGroups].sort()).toEqual([...groups].sort());
    });
  });

  describe('Check: a filter on the matching attribute that finds nobody answers 200 with an empty list', () => {
    const EMPTY = { schemas: [LIST_URN], totalResults: 0, itemsPerPage: 0, startIndex: 1, Resources: [] };

    test('when Entra matches on the work email, the enterprise employeeNumber, a scimflow attribute or a userName with quotes and plus signs that nobody has, then each is 200 with an empty list', async () => {
      // Someone close to each value exists, so that an over-eager match would show.
      const { user } = await createUser({ schemas: [SCIM_USER, ENTERPRISE, EXT], [EXT]: { employeeType: 'Porter' } });
      const filters = [
        `emails[type eq "work"].value eq "nobody.${user.userName}"`,
        `${ENTERPRISE}:employeeNumber eq "${user[ENTERPRISE].employeeNumber}-none"`,
        `${EXT}:employeeType eq "Porter (none)"`,
        `userName eq "o'brien+\\"none\\"@contoso.example"`,
        `externalId eq "${user.externalId}-none" and userName eq "${user.userName}"`,
      ];
      for (const filter of filters) {
        const res = await entra('GET', `/Users?${filterQuery(filter)}`);
        expect({ filter, status: res.status, body: res.body }).toEqual({ filter, status: 200, body: EMPTY });
      }
      const groups = await entra('GET', `/Groups?excludedAttributes=members&${filterQuery(`externalId eq "no-such-group-${Date.now()}"`)}`);
      expect(groups.status).toBe(200);
      expect(groups.body).toEqual(EMPTY);
    });
  });

  describe('Check: multi-member group PATCH', () => {
    const membersOf = async (groupId: string) =>
      ((await entra('GET', `/Groups/${groupId}`)).body.members ?? []).map((m: { value: string }) => m.value).sort() as string[];

    test("when Entra adds several members in one operation, removes several in one, and mixes adds and removes in one request, then the group and each user's groups follow", async () => {
      const users = [] as string[];
      for (let i = 0; i < 6; i++) users.push((await createUser()).id);
      const [a, b, c, d, e, f] = users;
      const group = await entra('POST', '/Groups', {
        schemas: [SCIM_GROUP, ENTRA_GROUP_URN],
        displayName: `Ward 7 ${Date.now()}`,
        externalId: `ward7-${Date.now()}`,
      });
      expect(group.status).toBe(201);
      const gid = group.body.id as string;
      const value = (...list: string[]) => list.map((v) => ({ $ref: null, value: v }));

      const added = await entra('PATCH', `/Groups/${gid}`, patch({ op: 'Add', path: 'members', value: value(a, b, c, d) }));
      expect(added.status).toBe(204);
      expect(await membersOf(gid)).toEqual([a, b, c, d].sort());

      const removed = await entra('PATCH', `/Groups/${gid}`, patch({ op: 'Remove', path: 'members', value: value(a, b) }));
      expect(removed.status).toBe(204);
      expect(await membersOf(gid)).toEqual([c, d].sort());

      const mixed = await entra(
        'PATCH',
        `/Groups/${gid}`,
        patch({ op: 'Add', path: 'members', value: value(e, f, d) }, { op: 'Remove', path: 'members', value: value(c) }),
      );
      expect(mixed.status).toBe(204);
      expect(await membersOf(gid)).toEqual([d, e, f].sort());

      const byFilter = await entra('PATCH', `/Groups/${gid}`, patch({ op: 'Remove', path: `members[value eq "${d}" or value eq "${e}"]` }));
      expect(byFilter.status).toBe(204);
      expect(await membersOf(gid)).toEqual([f]);

      for (const [id, member] of [
        [f, true],
        [a, false],
        [d, false],
      ] as const) {
        const groups = ((await entra('GET', `/Users/${id}`)).body.groups ?? []).map((g: { value: string }) => g.value);
        expect({ id, member: groups.includes(gid) }).toEqual({ id, member });
      }
      // Every member who came or went got its own membership change, for its workflow.
      const signalled = (
        await h.db.query<{ resource_id: string }>(
          "SELECT DISTINCT resource_id::text FROM outbox WHERE tenant_id = $1 AND change = 'membership' AND resource_type = 'User' AND resource_id::text = ANY($2)",
          [h.tenantId, users],
        )
      ).rows.map((r) => r.resource_id);
      expect(signalled.sort()).toEqual([...users].sort());
    });

    test('when one member of a multi-member add does not exist, then the answer is 400 naming it and no member is added', async () => {
      const [a, b] = [(await createUser()).id, (await createUser()).id];
      const gid = (await entra('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: `Ward 8 ${Date.now()}` })).body.id as string;
      const missing = '00000000-0000-4000-8000-000000000000';

      const res = await entra('PATCH', `/Groups/${gid}`, patch({ op: 'Add', path: 'members', value: [{ value: a }, { value: missing }, { value: b }] }));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ schemas: [ERROR_URN], detail: expect.stringContaining(missing) });
      expect(res.body.scimType).toEqual(expect.any(String));
      expect(await membersOf(gid)).toEqual([]);
    });
  });
});

describe('Entra gallery checks through the user workflow', () => {
  const TAG_RULE = { name: 'Ward 9', when: { group: 'Ward 9' }, set: { employeeAreas: ['Care Coordinator'] } };
  let h: Harness;
  let entra: ReturnType<typeof entraOn>;
  let superToken: string;

  beforeAll(async () => {
    h = await startHarness({ tenantConfig: testTenantConfig({ rules: [TAG_RULE] }) });
    entra = entraOn(h);
    superToken = (await createToken(h.db, h.tenantId, 'gallery', 'admin', 'Super User')).token;
  });
  afterAll(async () => h?.close());

  const appUser = async (id: string) =>
    (await h.db.query<Record<string, any>>('SELECT * FROM app_users WHERE tenant_id = $1 AND user_id::text = $2', [h.tenantId, id])).rows[0];
  const lookup = (userName: string) => entra('GET', `/Users?${filterQuery(`userName eq "${userName}"`)}`);

  /** Creates a user as Entra does and takes it to `active`: invited, then the invitation accepted. */
  async function activeUser(body: ReturnType<typeof entraUser>): Promise<string> {
    expect((await lookup(body.userName)).body.totalResults).toBe(0);
    const created = await entra('POST', '/Users', body);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await h.waitForState(id, 'invited', 60_000);
    expect((await h.acceptInvitation(h.acceptLink(body.userName))).status).toBe(200);
    await h.waitForState(id, 'active', 60_000);
    expect((await appUser(id)).login_enabled).toBe(true);
    return id;
  }

  describe('Check: unassign then reassign (restore)', () => {
    test('when Entra unassigns a working user with active "False" and reassigns it with active "True", then the same user is back, active and able to log in', async () => {
      const body = entraUser();
      const id = await activeUser(body);

      // Unassign: Entra's soft delete.
      const off = await entra('PATCH', `/Users/${id}`, patch({ op: 'Replace', path: 'active', value: 'False' }));
      expect(off.status).toBe(200);
      await h.waitForState(id, 'suspended', 60_000);
      expect((await appUser(id)).login_enabled).toBe(false);

      // Reassign: the lookup finds the soft-deleted user, and Entra updates it in place.
      const found = await lookup(body.userName);
      expect(found.body.Resources).toEqual([expect.objectContaining({ id, active: false })]);
      const on = await entra(
        'PATCH',
        `/Users/${id}`,
        patch({ op: 'Replace', path: 'active', value: 'True' }, { op: 'Replace', path: 'title', value: 'Ward Manager' }),
      );
      expect(on.status).toBe(200);
      expect(on.body).toMatchObject({ id, active: true, title: 'Ward Manager' });
      await h.waitForState(id, 'active', 60_000);
      await eventually(
        () => appUser(id),
        (u) => u?.login_enabled === true && u?.title === 'Ward Manager',
        'the reassigned user can log in with its new title',
      );
      // The same account: no second invitation to accept.
      expect(h.mailsTo(body.userName)).toHaveLength(1);
    });

    test('when Entra unassigns a working user with DELETE and reassigns it, then the lookup is empty, the re-POST creates it again and the new account is invited, accepted and able to log in', async () => {
      const body = entraUser();
      const oldId = await activeUser(body);

      expect((await entra('DELETE', `/Users/${oldId}`)).status).toBe(204);
      await h.waitForState(oldId, 'terminated', 60_000);
      expect((await appUser(oldId)).login_enabled).toBe(false);

      // Reassign: nobody matches any more, so Entra creates the user again with the same userName and externalId.
      expect((await lookup(body.userName)).body).toMatchObject({ totalResults: 0, Resources: [] });
      const again = await entra('POST', '/Users', body);
      expect(again.status).toBe(201);
      const newId = again.body.id as string;
      expect(newId).not.toBe(oldId);
      expect((await lookup(body.userName)).body.Resources).toEqual([expect.objectContaining({ id: newId, active: true })]);

      await h.waitForState(newId, 'invited', 60_000);
      await eventually(
        async () => h.mailsTo(body.userName).length,
        (n) => n === 2,
        'a new invitation for the re-created account',
      );
      expect((await h.acceptInvitation(h.acceptLink(body.userName, 1))).status).toBe(200);
      await h.waitForState(newId, 'active', 60_000);
      expect(await appUser(newId)).toMatchObject({ login_enabled: true, rehired_from: oldId });
      // The earlier account stays closed.
      expect((await appUser(oldId)).login_enabled).toBe(false);
    });
  });

  describe('Check: provision on demand', () => {
    /**
     * Entra's "Provision on demand" for a group provisions the group (looked up by displayName,
     * created if absent), then picks up to five of its users and runs the provisioning steps for
     * each at once: look the user up by its matching attribute, create or update it, then add it
     * to the group. Replayed without pauses, the users in parallel.
     */
    async function provisionGroupOnDemand(groupName: string): Promise<string> {
      const found = await entra('GET', `/Groups?excludedAttributes=members&${filterQuery(`displayName eq "${groupName}"`)}`);
      expect(found.status).toBe(200);
      if (found.body.totalResults > 0) return found.body.Resources[0].id;
      const created = await entra('POST', '/Groups', { schemas: [SCIM_GROUP, ENTRA_GROUP_URN], displayName: groupName, externalId: `od-${Date.now()}` });
      expect(created.status).toBe(201);
      return created.body.id;
    }

    async function provisionUserOnDemand(body: ReturnType<typeof entraUser>, groupId: string): Promise<string> {
      const found = await lookup(body.userName);
      expect(found.status).toBe(200);
      let userId: string;
      if (found.body.totalResults === 0) {
        const created = await entra('POST', '/Users', body);
        expect(created.status).toBe(201);
        userId = created.body.id;
      } else {
        userId = found.body.Resources[0].id;
        const updated = await entra(
          'PATCH',
          `/Users/${userId}`,
          // On-demand provisioning ignores aadOptscim062020: Entra's older format, booleans as strings.
          patch(
            { op: 'Replace', path: 'title', value: body.title },
            { op: 'Replace', path: 'displayName', value: body.displayName },
            { op: 'Replace', path: 'active', value: 'True' },
          ),
        );
        expect(updated.status).toBe(200);
      }
      const joined = await entra('PATCH', `/Groups/${groupId}`, patch({ op: 'Add', path: 'members', value: [{ $ref: null, value: userId }] }));
      expect(joined.status).toBe(204);
      return userId;
    }

    test('when Entra provisions three users of a group on demand at once and then one of them again, then each is created once, joins the group once and gets the group rule in the application', async () => {
      const bodies = [entraUser(), entraUser(), entraUser()];
      const groupId = await provisionGroupOnDemand('Ward 9');
      const userIds = await Promise.all(bodies.map((b) => provisionUserOnDemand(b, groupId)));

      // Again for the first user, changed in Entra since: found, updated, already a member.
      expect(await provisionGroupOnDemand('Ward 9')).toBe(groupId);
      expect(await provisionUserOnDemand({ ...bodies[0], title: 'Charge Nurse', displayName: 'Renamed On Demand' }, groupId)).toBe(userIds[0]);

      const groups = await entra('GET', `/Groups?excludedAttributes=members&${filterQuery('displayName eq "Ward 9"')}`);
      expect(groups.body.totalResults).toBe(1);
      const members = ((await entra('GET', `/Groups/${groupId}`)).body.members ?? []).map((m: { value: string }) => m.value).sort();
      expect(members).toEqual([...userIds].sort());
      for (const b of bodies) expect((await lookup(b.userName)).body.totalResults).toBe(1);
      expect((await entra('GET', `/Users/${userIds[0]}`)).body).toMatchObject({ title: 'Charge Nurse', displayName: 'Renamed On Demand' });

      // The application follows: every user invited, with the group rule's employee area in force.
      for (const id of userIds) await h.waitForState(id, 'invited', 60_000);
      const tagged = async () =>
        (await adminRequest(h.publicUrl, superToken, 'GET', `/tenants/${h.tenantId}/users?employeeArea=${encodeURIComponent('Care Coordinator')}`)).body.users
          .map((u: { userId: string }) => u.userId)
          .sort();
      expect(await eventually(tagged, (list) => userIds.every((id) => list.includes(id)), 'the group rule in force for every user')).toEqual(
        expect.arrayContaining(userIds),
      );
      await eventually(
        () => appUser(userIds[0]),
        (u) => u?.title === 'Charge Nurse',
        'the update on demand in the application',
      );
      for (const b of bodies) expect(h.mailsTo(b.userName)).toHaveLength(1);
    });
  });
});
