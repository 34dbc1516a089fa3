/**
 * RFC 7644 behaviour of /Users over HTTP against the real (embedded) PostgreSQL: creation,
 * reads, PUT/PATCH semantics, preconditions, listing (filters, sorting, index and cursor
 * paging, projections), errors, tenant isolation and the transactional outbox.
 * No worker: the relay only signals Temporal.
 */
import { ENTERPRISE, EXT, newUser, PATCH_OP, SCIM_USER, startHarness, type Harness } from '../../test/harness';

const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';
const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ withWorker: false });
});
afterAll(async () => h?.close());

async function create(extra: Record<string, unknown> = {}): Promise<{ id: string; userName: string; body: any }> {
  const user = newUser(extra);
  const res = await h.scim('POST', '/Users', user);
  expect(res.status).toBe(201);
  return { id: res.body.id, userName: user.userName, body: res.body };
}

async function outboxChanges(id: string, tenantId = h.tenantId): Promise<string[]> {
  const rows = await h.db.query<{ change: string }>('SELECT change FROM outbox WHERE tenant_id = $1 AND resource_id = $2::uuid ORDER BY id', [tenantId, id]);
  return rows.rows.map((r) => r.change);
}

async function outboxTotal(): Promise<number> {
  return (await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1', [h.tenantId])).rows[0].n;
}

function patch(...operations: Record<string, unknown>[]) {
  return { schemas: [PATCH_OP], Operations: operations };
}

function expectScimError(res: { status: number; body: any; headers: Headers }, status: number, scimType?: string): void {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
  expect(res.body.schemas).toEqual([ERROR_URN]);
  expect(res.body.status).toBe(String(status));
  expect(typeof res.body.detail).toBe('string');
  if (scimType) expect(res.body.scimType).toBe(scimType);
}

describe('POST /Users', () => {
  test('when a user is created, then the answer is 201 with Location, ETag and meta.version, and one "created" outbox row', async () => {
    const user = newUser({ title: 'RN' });
    const res = await h.scim('POST', '/Users', user);

    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    expect(res.body).toMatchObject({ schemas: expect.arrayContaining([SCIM_USER]), userName: user.userName, title: 'RN', active: true });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('location')).toBe(`${h.baseUrl}/Users/${res.body.id}`);
    expect(res.body.meta).toMatchObject({ resourceType: 'User', location: `${h.baseUrl}/Users/${res.body.id}`, version: 'W/"1"' });
    expect(res.headers.get('etag')).toBe(res.body.meta.version);
    expect(await outboxChanges(res.body.id)).toEqual(['created']);
  });

  test('when the userName is taken in another case, then the answer is 409 uniqueness and no outbox row is written', async () => {
    const { userName } = await create();
    const before = await outboxTotal();

    const res = await h.scim('POST', '/Users', newUser({ userName: userName.toUpperCase() }));

    expectScimError(res, 409, 'uniqueness');
    expect(await outboxTotal()).toBe(before);
  });

  test('when the body carries the read-only provisioning attribute, then it is ignored', async () => {
    const res = await h.scim('POST', '/Users', newUser({ [EXT]: { teams: ['Blue'], provisioning: { state: 'active', workflowId: 'forged' } } }));

    expect(res.status).toBe(201);
    const stored = (await h.db.query<{ doc: any }>('SELECT doc FROM scim_users WHERE tenant_id = $1 AND id::text = $2', [h.tenantId, res.body.id])).rows[0].doc;
    expect(stored[EXT]).toEqual({ teams: ['Blue'] });
    expect(res.body[EXT].provisioning?.workflowId).not.toBe('forged');
  });
});

describe('GET /Users/:id', () => {
  test('when the user exists, then it is returned with its ETag', async () => {
    const { id, userName } = await create();

    const res = await h.scim('GET', `/Users/${id}`);

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, userName, meta: { version: 'W/"1"' } });
    expect(res.headers.get('etag')).toBe('W/"1"');
  });

  test.each([
    ['an unknown uuid', '00000000-0000-4000-8000-000000000000'],
    ['a non-uuid id', 'not-a-uuid'],
    ['an id with SQL in it', "x' OR '1'='1"],
  ])('when the id is %s, then the answer is 404 (never 500)', async (_what, id) => {
    const res = await h.scim('GET', `/Users/${encodeURIComponent(id)}`);
    expectScimError(res, 404);
  });

  test('when If-None-Match names the current version, then the answer is 304; an older version gets 200', async () => {
    const { id } = await create();

    expect((await h.scim('GET', `/Users/${id}`, undefined, { 'If-None-Match': 'W/"1"' })).status).toBe(304);
    await h.scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'title', value: 'Changed' }));
    const res = await h.scim('GET', `/Users/${id}`, undefined, { 'If-None-Match': 'W/"1"' });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('W/"2"');
  });
});

describe('PUT /Users/:id', () => {
  test('when a user is replaced, then attributes left out are cleared and the version moves on', async () => {
    const { id, userName } = await create({ title: 'RN', phoneNumbers: [{ value: '+1 555 0100', type: 'work' }], [ENTERPRISE]: { department: 'Care' } });

    const res = await h.scim('PUT', `/Users/${id}`, { schemas: [SCIM_USER], userName, name: { givenName: 'New', familyName: 'Name' }, active: true });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, userName, name: { givenName: 'New', familyName: 'Name' }, meta: { version: 'W/"2"' } });
    expect(res.body.title).toBeUndefined();
    expect(res.body.phoneNumbers).toBeUndefined();
    expect(res.body.emails).toBeUndefined();
    expect(res.body[ENTERPRISE]).toBeUndefined();
    expect(res.headers.get('etag')).toBe('W/"2"');
    expect(await outboxChanges(id)).toEqual(['created', 'updated']);
  });

  test('when PUT sends the stored resource again (keys in another order), then the version stays and no outbox row is written', async () => {
    const { id, userName } = await create({ title: 'RN' });
    const current = (await h.scim('GET', `/Users/${id}`)).body;
    const { meta: _meta, ...resource } = current;
    const reordered = Object.fromEntries(Object.entries(resource).reverse());

    const res = await h.scim('PUT', `/Users/${id}`, reordered);

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ userName, title: 'RN', meta: { version: 'W/"1"' } });
    expect(await outboxChanges(id)).toEqual(['created']);
  });

  test('when PUT renames the user onto a taken userName, then the answer is 409 uniqueness and nothing changes', async () => {
    const a = await create();
    const b = await create();

    const res = await h.scim('PUT', `/Users/${b.id}`, { schemas: [SCIM_USER], userName: a.userName.toUpperCase() });

    expectScimError(res, 409, 'uniqueness');
    expect((await h.scim('GET', `/Users/${b.id}`)).body.userName).toBe(b.userName);
    expect(await outboxChanges(b.id)).toEqual(['created']);
  });
});

describe('PATCH /Users/:id', () => {
  test('when a value path replaces the work email, then only that email changes', async () => {
    const { id } = await create({
      emails: [
        { value: 'w@x.org', type: 'work', primary: true },
        { value: 'h@x.org', type: 'home' },
      ],
    });

    const res = await h.scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'emails[type eq "work"].value', value: 'new@x.org' }));

    expect(res.status).toBe(200);
    expect(res.body.emails).toEqual(
      expect.arrayContaining([expect.objectContaining({ value: 'new@x.org', type: 'work' }), expect.objectContaining({ value: 'h@x.org', type: 'home' })]),
    );
    expect(res.body.emails).toHaveLength(2);
  });

  test('when a value path sets the work postal code, then the work address keeps its other fields', async () => {
    const { id } = await create({ addresses: [{ type: 'work', locality: 'Springfield', postalCode: '11111' }] });

    const res = await h.scim('PATCH', `/Users/${id}`, patch({ op: 'add', path: 'addresses[type eq "work"].postalCode', value: '22222' }));

    expect(res.status).toBe(200);
    expect(res.body.addresses).toEqual([expect.objectContaining({ type: 'work', locality: 'Springfield', postalCode: '22222' })]);
  });

  test('when a value path filter matches nothing, then add creates the entry', async () => {
    const { id } = await create();

    const res = await h.scim('PATCH', `/Users/${id}`, patch({ op: 'add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0199' }));

    expect(res.status).toBe(200);
    expect(res.body.phoneNumbers).toEqual([expect.objectContaining({ type: 'mobile', value: '+1 555 0199' })]);
  });

  test('when a no-path replace carries dotted and URN-qualified keys, then each lands on its attribute', async () => {
    const { id } = await create({ name: { givenName: 'Old', familyName: 'Family' } });

    const res = await h.scim(
      'PATCH',
      `/Users/${id}`,
      patch({ op: 'replace', value: { 'name.givenName': 'New', title: 'Lead', [`${ENTERPRISE}:employeeNumber`]: '4711', active: false } }),
    );

    expect(res.status).toBe(200);
    expect(res.body.name).toEqual({ givenName: 'New', familyName: 'Family' });
    expect(res.body.title).toBe('Lead');
    expect(res.body.active).toBe(false);
    expect(res.body[ENTERPRISE]).toMatchObject({ employeeNumber: '4711' });
    expect(res.body['name.givenName']).toBeUndefined();
    expect(res.body[`${ENTERPRISE}:employeeNumber`]).toBeUndefined();
  });

  test('when the manager is set as a plain id string and later removed without a value, then it is stored as { value } and then gone', async () => {
    const manager = await create();
    const { id } = await create({ [ENTERPRISE]: { department: 'Care' } });

    const set = await h.scim('PATCH', `/Users/${id}`, patch({ op: 'add', path: `${ENTERPRISE}:manager`, value: manager.id }));
    expect(set.status).toBe(200);
    expect(set.body[ENTERPRISE].manager).toMatchObject({ value: manager.id });

    const removed = await h.scim('PATCH', `/Users/${id}`, patch({ op: 'remove', path: `${ENTERPRISE}:manager` }));
    expect(removed.status).toBe(200);
    expect(removed.body[ENTERPRISE]?.manager).toBeUndefined();
    expect(removed.body[ENTERPRISE]).toMatchObject({ department: 'Care' });
  });

  test('when an attribute is removed, then it is gone and one "updated" row is written', async () => {
    const { id } = await create({ title: 'RN' });

    const res = await h.scim('PATCH', `/Users/${id}`, patch({ op: 'remove', path: 'title' }));

    expect(res.status).toBe(200);
    expect(res.body.title).toBeUndefined();
    expect(await outboxChanges(id)).toEqual(['created', 'updated']);
  });

  test('when PATCH targets id, then the answer is 400 mutability and nothing is written', async () => {
    const { id } = await create();

    const res = await h.scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'id', value: '00000000-0000-4000-8000-000000000001' }));

    expectScimError(res, 400, 'mutability');
    expect(await outboxChanges(id)).toEqual(['created']);
  });

  test('when PATCH names an unknown attribute, then the answer is 400 invalidPath', async () => {
    const { id } = await create();

    const res = await h.scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'noSuchAttribute', value: 'x' }));

    expectScimError(res, 400, 'invalidPath');
    expect(await outboxChanges(id)).toEqual(['created']);
  });

  test('when PATCH changes nothing, then the answer is 200, the version stays and no outbox row is written', async () => {
    const { id } = await create({ title: 'RN' });

    const res = await h.scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'title', value: 'RN' }));

    expect(res.status).toBe(200);
    expect(res.body.meta.version).toBe('W/"1"');
    expect(await outboxChanges(id)).toEqual(['created']);
  });

  test.each([
    ['by path', { op: 'replace', path: 'password', value: 'S3cret!' }],
    ['without a path', { op: 'replace', value: { password: 'S3cret!' } }],
  ])(
    'when PATCH replaces the password %s (Okta password sync), then nothing is stored, the version stays and no outbox row is written',
    async (_how, operation) => {
      const { id } = await create();

      const res = await h.scim('PATCH', `/Users/${id}`, patch(operation));

      expect(res.status).toBe(200);
      expect(res.body.password).toBeUndefined();
      expect(res.body.meta.version).toBe('W/"1"');
      const stored = (await h.db.query<{ doc: unknown }>('SELECT doc FROM scim_users WHERE tenant_id = $1 AND id::text = $2', [h.tenantId, id])).rows[0].doc;
      expect(JSON.stringify(stored)).not.toContain('S3cret!');
      expect(await outboxChanges(id)).toEqual(['created']);
    },
  );

  test('when If-Match names a stale version, then the answer is 412; with the current version, 200', async () => {
    const { id } = await create();
    await h.scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'title', value: 'One' }));

    const stale = await h.scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'title', value: 'Two' }), { 'If-Match': 'W/"1"' });
    expectScimError(stale, 412);
    expect(await outboxChanges(id)).toEqual(['created', 'updated']);

    const current = await h.scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'title', value: 'Two' }), { 'If-Match': 'W/"2"' });
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({ title: 'Two', meta: { version: 'W/"3"' } });
  });
});

describe('DELETE /Users/:id', () => {
  test('when a user is deleted, then the answer is 204, reads are 404 and one "deleted" row is written', async () => {
    const { id } = await create();

    const res = await h.scim('DELETE', `/Users/${id}`);

    expect(res.status).toBe(204);
    expectScimError(await h.scim('GET', `/Users/${id}`), 404);
    expectScimError(await h.scim('DELETE', `/Users/${id}`), 404);
    expect(await outboxChanges(id)).toEqual(['created', 'deleted']);
  });

  test('when If-Match is stale on DELETE, then the answer is 412 and the user stays', async () => {
    const { id } = await create();
    const res = await h.scim('DELETE', `/Users/${id}`, undefined, { 'If-Match': 'W/"7"' });
    expectScimError(res, 412);
    expect((await h.scim('GET', `/Users/${id}`)).status).toBe(200);
  });
});

describe('changes that remove access are urgent', () => {
  test('when a user is deactivated or deleted, then its outbox row is marked urgent (relayed first); other changes are not', async () => {
    const created = await h.scim('POST', '/Users', newUser());
    const id = created.body.id as string;
    expect((await h.scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'title', value: 'Charge Nurse' }))).status).toBe(200);
    expect((await h.scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'active', value: false }))).status).toBe(200);
    expect((await h.scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'active', value: true }))).status).toBe(200);
    expect((await h.scim('DELETE', `/Users/${id}`)).status).toBe(204);
    const rows = await h.db.query<{ change: string; urgent: boolean }>(
      'SELECT change, urgent FROM outbox WHERE tenant_id = $1 AND resource_id = $2::uuid ORDER BY id',
      [h.tenantId, id],
    );
    expect(rows.rows).toEqual([
      { change: 'created', urgent: false },
      { change: 'updated', urgent: false },
      { change: 'updated', urgent: true },
      { change: 'updated', urgent: false },
      { change: 'deleted', urgent: true },
    ]);
  });
});

describe('GET /Users (list)', () => {
  const tag = `list${Date.now()}`;
  const users: Record<string, { id: string; userName: string }> = {};

  beforeAll(async () => {
    const specs: Record<string, Record<string, unknown>> = {
      anna: { title: `${tag}-Nurse`, displayName: 'Anna', emails: [{ value: `anna@x-${tag}.org`, type: 'work' }], [ENTERPRISE]: { employeeNumber: '100' } },
      bert: {
        title: `${tag}-Doctor`,
        displayName: 'Bert',
        emails: [
          { value: `bert@y-${tag}.org`, type: 'work' },
          { value: `bert@x-${tag}.org`, type: 'home' },
        ],
        active: false,
      },
      cleo: { title: `${tag}-Nurse`, displayName: 'Cleo', emails: [{ value: `cleo@x-${tag}.org`, type: 'work' }], [ENTERPRISE]: { employeeNumber: '300' } },
      dora: { title: `${tag}-Admin`, displayName: 'Dora', emails: [] },
    };
    for (const [key, extra] of Object.entries(specs)) {
      const { emails, ...rest } = extra as { emails: unknown[] };
      const created = await create({ ...rest, userName: `${key}.${tag}@example.org`, ...(emails.length ? { emails } : { emails: undefined }) });
      users[key] = created;
    }
  });

  async function names(filter: string, extra = ''): Promise<string[]> {
    const res = await h.scim('GET', `/Users?filter=${encodeURIComponent(filter)}${extra}`);
    expect(res.status).toBe(200);
    return (res.body.Resources as { userName: string }[]).map((r) => r.userName.split('.')[0]).sort();
  }

  test.each([
    ['eq', `userName eq "ANNA.${tag}@example.org"`, ['anna']],
    ['ne', `title ne "${tag}-Nurse" and title sw "${tag}"`, ['bert', 'dora']],
    ['co', `title co "${tag}-Nu"`, ['anna', 'cleo']],
    ['sw', `userName sw "cl"`, ['cleo']],
    ['ew', `title ew "tor" and title sw "${tag}"`, ['bert']],
    ['gt', `${ENTERPRISE}:employeeNumber gt "100" and title sw "${tag}"`, ['cleo']],
    ['ge', `${ENTERPRISE}:employeeNumber ge "100" and title sw "${tag}"`, ['anna', 'cleo']],
    ['lt', `${ENTERPRISE}:employeeNumber lt "300" and title sw "${tag}"`, ['anna']],
    ['le', `${ENTERPRISE}:employeeNumber le "300" and title sw "${tag}"`, ['anna', 'cleo']],
    ['pr', `${ENTERPRISE}:employeeNumber pr and title sw "${tag}"`, ['anna', 'cleo']],
    ['or', `displayName eq "Anna" or displayName eq "Dora"`, ['anna', 'dora']],
    ['not', `not (active eq true) and title sw "${tag}"`, ['bert']],
    ['a complex value filter', `emails[type eq "work" and value co "@x-${tag}"]`, ['anna', 'cleo']],
    ['a sub-attribute filter', `emails.value co "@x-${tag}"`, ['anna', 'bert', 'cleo']],
  ])('when filtering with %s, then exactly the matching users are returned', async (_op, filter, expected) => {
    expect(await names(filter)).toEqual(expected);
  });

  test('when the filter matches nothing, then the answer is 200 with an empty ListResponse', async () => {
    const res = await h.scim('GET', `/Users?filter=${encodeURIComponent('userName eq "nobody@nowhere.example"')}`);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ schemas: [LIST_URN], totalResults: 0, itemsPerPage: 0, startIndex: 1, Resources: [] });
  });

  test('when the filter is invalid, then the answer is 400 invalidFilter', async () => {
    expectScimError(await h.scim('GET', `/Users?filter=${encodeURIComponent('userName eq')}`), 400, 'invalidFilter');
    expectScimError(await h.scim('GET', `/Users?filter=${encodeURIComponent('userName zz "x"')}`), 400, 'invalidFilter');
    expectScimError(await h.scim('GET', `/Users?filter=${encodeURIComponent('noSuchAttr eq "x"')}`), 400, 'invalidFilter');
  });

  test('when sorting by displayName, then ascending and descending orders hold', async () => {
    const filter = encodeURIComponent(`title sw "${tag}"`);
    const asc = await h.scim('GET', `/Users?filter=${filter}&sortBy=displayName&sortOrder=ascending`);
    const desc = await h.scim('GET', `/Users?filter=${filter}&sortBy=displayName&sortOrder=descending`);

    expect(asc.body.Resources.map((r: any) => r.displayName)).toEqual(['Anna', 'Bert', 'Cleo', 'Dora']);
    expect(desc.body.Resources.map((r: any) => r.displayName)).toEqual(['Dora', 'Cleo', 'Bert', 'Anna']);
  });

  test('when paging with startIndex and count, then totalResults, itemsPerPage and startIndex are integers and pages do not overlap', async () => {
    const filter = encodeURIComponent(`title sw "${tag}"`);
    const first = await h.scim('GET', `/Users?filter=${filter}&sortBy=displayName&startIndex=1&count=3`);
    const second = await h.scim('GET', `/Users?filter=${filter}&sortBy=displayName&startIndex=4&count=3`);

    expect(first.body).toMatchObject({ totalResults: 4, itemsPerPage: 3, startIndex: 1 });
    expect(second.body).toMatchObject({ totalResults: 4, itemsPerPage: 1, startIndex: 4 });
    expect(Number.isInteger(first.body.totalResults) && Number.isInteger(first.body.itemsPerPage) && Number.isInteger(first.body.startIndex)).toBe(true);
    expect([...first.body.Resources, ...second.body.Resources].map((r: any) => r.displayName)).toEqual(['Anna', 'Bert', 'Cleo', 'Dora']);
  });

  test('when count is 0, then only totalResults is answered; a negative count reads as 0; startIndex below 1 reads as 1', async () => {
    const filter = encodeURIComponent(`title sw "${tag}"`);
    for (const count of ['0', '-5']) {
      const res = await h.scim('GET', `/Users?filter=${filter}&count=${count}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ totalResults: 4, itemsPerPage: 0, Resources: [] });
    }
    const res = await h.scim('GET', `/Users?filter=${filter}&startIndex=-3`);
    expect(res.body).toMatchObject({ totalResults: 4, itemsPerPage: 4, startIndex: 1 });
  });

  test('when attributes are asked for, then only those (and id, schemas) are returned; excludedAttributes leaves the named ones out', async () => {
    const filter = encodeURIComponent(`userName eq "${users.anna.userName}"`);
    const only = await h.scim('GET', `/Users?filter=${filter}&attributes=userName,emails.value,${ENTERPRISE}:employeeNumber`);
    expect(only.body.Resources[0]).toEqual({
      schemas: expect.any(Array),
      id: users.anna.id,
      userName: users.anna.userName,
      emails: [{ value: `anna@x-${tag}.org` }],
      [ENTERPRISE]: { employeeNumber: '100' },
    });

    const without = await h.scim('GET', `/Users?filter=${filter}&excludedAttributes=emails,title,id`);
    const resource = without.body.Resources[0];
    expect(resource.emails).toBeUndefined();
    expect(resource.title).toBeUndefined();
    expect(resource.id).toBe(users.anna.id);
    expect(resource.userName).toBe(users.anna.userName);

    const byId = await h.scim('GET', `/Users/${users.anna.id}?attributes=displayName`);
    expect(byId.body).toEqual({ schemas: expect.any(Array), id: users.anna.id, displayName: 'Anna' });
  });

  test('when searching with POST /Users/.search, then the SearchRequest is honoured like a GET', async () => {
    const res = await h.scim('POST', '/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: `title sw "${tag}"`,
      sortBy: 'displayName',
      sortOrder: 'descending',
      startIndex: 2,
      count: 2,
      attributes: ['displayName'],
    });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ schemas: [LIST_URN], totalResults: 4, itemsPerPage: 2, startIndex: 2 });
    expect(res.body.Resources).toEqual([
      { schemas: expect.any(Array), id: users.cleo.id, displayName: 'Cleo' },
      { schemas: expect.any(Array), id: users.bert.id, displayName: 'Bert' },
    ]);
  });
});

describe('list paging over many users', () => {
  let tokenC: string;
  const TOTAL = 1005;

  beforeAll(async () => {
    // A tenant of its own, filled by SQL so the test stays fast; some rows share one created_at.
    const tenant = `paging-${Date.now()}`;
    tokenC = await h.newTenant(tenant);
    await h.db.query(
      `INSERT INTO scim_users (tenant_id, id, user_name, doc, created_at)
       SELECT $1, gen_random_uuid(), 'bulk' || i || '@example.org', jsonb_build_object('userName', 'bulk' || i || '@example.org'),
              now() - ((i / 3) * interval '1 microsecond') - ((i % 2) * interval '1 millisecond')
       FROM generate_series(1, $2::int) AS i`,
      [tenant, TOTAL],
    );
  });

  async function get(path: string) {
    const res = await fetch(`${h.baseUrl}${path}`, { headers: { Authorization: `Bearer ${tokenC}` } });
    return { status: res.status, body: (await res.json()) as any };
  }

  test('when count is huge, then at most 1000 resources are returned', async () => {
    const res = await get('/Users?count=99999');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ totalResults: TOTAL, itemsPerPage: 1000, startIndex: 1 });
    expect(res.body.Resources).toHaveLength(1000);
  });

  test('when paging by cursor, then every user is seen exactly once and the last page has no nextCursor', async () => {
    const seen: string[] = [];
    let cursor = '';
    let pages = 0;
    for (;;) {
      const res = await get(`/Users?cursor=${encodeURIComponent(cursor)}&count=100&attributes=userName`);
      expect(res.status).toBe(200);
      expect(res.body.totalResults).toBe(TOTAL);
      expect(res.body.startIndex).toBeUndefined();
      seen.push(...res.body.Resources.map((r: any) => r.id));
      pages += 1;
      if (!res.body.nextCursor) break;
      expect(res.body.Resources).toHaveLength(100);
      cursor = res.body.nextCursor;
      expect(pages).toBeLessThan(20);
    }
    expect(seen).toHaveLength(TOTAL);
    expect(new Set(seen).size).toBe(TOTAL);
    expect(pages).toBe(Math.ceil(TOTAL / 100));
  });

  test('when the total is an exact multiple of the page size, then the last full page has no nextCursor', async () => {
    const all = await get(`/Users?count=0`);
    const total = all.body.totalResults as number;
    const size = [50, 25, 20, 10, 5, 4, 2, 1].find((n) => total % n === 0) as number;
    let cursor = '';
    let pages = 0;
    for (;;) {
      const res = await get(`/Users?cursor=${encodeURIComponent(cursor)}&count=${size}&attributes=userName`);
      pages += 1;
      expect(res.body.Resources).toHaveLength(size);
      if (!res.body.nextCursor) break;
      cursor = res.body.nextCursor;
    }
    expect(pages).toBe(total / size);
  });

  test('when a cursor is forged, then the answer is 400', async () => {
    const res = await get('/Users?cursor=not-a-cursor');
    expect(res.status).toBe(400);
  });
});

describe('errors and authentication', () => {
  test('when no token or an unknown token is sent, then the answer is 401 with a SCIM error', async () => {
    const none = await fetch(`${h.baseUrl}/Users`);
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    expect(await none.json()).toMatchObject({ schemas: [ERROR_URN], status: '401' });

    const bad = await fetch(`${h.baseUrl}/Users`, { headers: { Authorization: 'Bearer not-a-real-token' } });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ schemas: [ERROR_URN], status: '401' });
  });
});

describe('tenant isolation', () => {
  test("when tenant B names tenant A's user, then every method is 404 and lists never show it", async () => {
    const { id, userName } = await create({ title: 'isolated' });
    const tokenB = await h.newTenant(`tenant-b-${Date.now()}`);
    const asB = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${h.baseUrl}${path}`, {
        method,
        headers: { Authorization: `Bearer ${tokenB}`, ...(body ? { 'Content-Type': 'application/scim+json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };

    expect((await asB('GET', `/Users/${id}`)).status).toBe(404);
    expect((await asB('PUT', `/Users/${id}`, { schemas: [SCIM_USER], userName: 'hijack@example.org' })).status).toBe(404);
    expect((await asB('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'title', value: 'hijacked' }))).status).toBe(404);
    expect((await asB('DELETE', `/Users/${id}`)).status).toBe(404);
    const list = await asB('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
    expect(list.body).toMatchObject({ totalResults: 0, Resources: [] });
    expect((await asB('GET', '/Users')).body.Resources.map((r: any) => r.id)).not.toContain(id);
    // The same userName is free in tenant B.
    expect((await asB('POST', '/Users', newUser({ userName }))).status).toBe(201);

    const mine = await h.scim('GET', `/Users/${id}`);
    expect(mine.body).toMatchObject({ title: 'isolated', meta: { version: 'W/"1"' } });
    expect(await outboxChanges(id)).toEqual(['created']);
  });
});
