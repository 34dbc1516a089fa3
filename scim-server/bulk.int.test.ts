/**
 * POST /Bulk (RFC 7644 §3.7) over HTTP against the real (embedded) PostgreSQL: bulkId
 * references, per-operation status and location, failOnErrors, and the request limits.
 */
import { ENTERPRISE, newUser, PATCH_OP, SCIM_GROUP, SCIM_USER, startHarness, type Harness } from '../test/harness';

const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ withWorker: false });
});
afterAll(async () => h?.close());

function bulk(operations: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  return { schemas: [BULK_REQUEST], Operations: operations, ...extra };
}

async function outboxTotal(): Promise<number> {
  return (await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1', [h.tenantId])).rows[0].n;
}

async function userCount(userName: string): Promise<number> {
  return (await h.scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&count=0`)).body.totalResults;
}

describe('POST /Bulk', () => {
  test('when a group references a user by bulkId, then both are created and the member is the new user', async () => {
    const user = newUser();
    const before = await outboxTotal();

    // The group comes first: it waits until the user it references exists (RFC 7644 §3.7.2).
    const res = await h.scim(
      'POST',
      '/Bulk',
      bulk([
        {
          method: 'POST',
          path: '/Groups',
          bulkId: 'g1',
          data: { schemas: [SCIM_GROUP], displayName: `Bulk group ${Date.now()}`, members: [{ value: 'bulkId:u1' }] },
        },
        { method: 'POST', path: '/Users', bulkId: 'u1', data: user },
      ]),
    );

    expect(res.status).toBe(200);
    expect(res.body.schemas).toEqual([BULK_RESPONSE]);
    const [groupOp, userOp] = res.body.Operations as any[];
    expect(userOp).toMatchObject({
      method: 'POST',
      bulkId: 'u1',
      status: '201',
      location: expect.stringMatching(new RegExp(`^${h.baseUrl}/Users/[0-9a-f-]{36}$`)),
      version: 'W/"1"',
    });
    expect(groupOp).toMatchObject({
      method: 'POST',
      bulkId: 'g1',
      status: '201',
      location: expect.stringMatching(new RegExp(`^${h.baseUrl}/Groups/[0-9a-f-]{36}$`)),
    });
    const userId = userOp.location.split('/').pop();
    const group = await h.scim('GET', `/Groups/${groupOp.location.split('/').pop()}`);
    expect(group.body.members.map((m: any) => m.value)).toEqual([userId]);
    // The user's "created", the group's "created", and the user's "membership" (tenant policy may test its groups).
    expect(await outboxTotal()).toBe(before + 3);
  });

  test('when PUT, PATCH and DELETE run in bulk, then each answers its own status and location', async () => {
    const created = await h.scim('POST', '/Users', newUser());
    const id = created.body.id as string;
    const userName = created.body.userName as string;
    const group = await h.scim('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: `Bulk ops ${Date.now()}` });

    const res = await h.scim(
      'POST',
      '/Bulk',
      bulk([
        { method: 'PUT', path: `/Users/${id}`, data: { schemas: [SCIM_USER], userName, title: 'Put' } },
        { method: 'PATCH', path: `/Users/${id}`, data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Patched' }] } },
        {
          method: 'PATCH',
          path: `/Groups/${group.body.id}`,
          data: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: id }] }] },
        },
        { method: 'DELETE', path: `/Groups/${group.body.id}` },
      ]),
    );

    expect(res.status).toBe(200);
    expect(res.body.Operations).toEqual([
      { method: 'PUT', location: `${h.baseUrl}/Users/${id}`, version: 'W/"2"', status: '200' },
      { method: 'PATCH', location: `${h.baseUrl}/Users/${id}`, version: 'W/"3"', status: '200' },
      { method: 'PATCH', location: `${h.baseUrl}/Groups/${group.body.id}`, status: '204' },
      { method: 'DELETE', location: `${h.baseUrl}/Groups/${group.body.id}`, status: '204' },
    ]);
    expect((await h.scim('GET', `/Users/${id}`)).body.title).toBe('Patched');
  });

  test('when an operation fails, then its status and SCIM error are reported and the others still run', async () => {
    const taken = newUser();
    await h.scim('POST', '/Users', taken);
    const fresh = newUser();

    const res = await h.scim(
      'POST',
      '/Bulk',
      bulk([
        { method: 'POST', path: '/Users', bulkId: 'dup', data: newUser({ userName: taken.userName }) },
        { method: 'DELETE', path: '/Users/00000000-0000-4000-8000-000000000000' },
        { method: 'PATCH', path: '/Users/bulkId:nowhere', data: { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'title' }] } },
        { method: 'POST', path: '/Users', bulkId: 'ok', data: fresh },
      ]),
    );

    expect(res.status).toBe(200);
    const [dup, missing, unresolved, ok] = res.body.Operations as any[];
    expect(dup).toMatchObject({ bulkId: 'dup', status: '409', response: { schemas: [ERROR_URN], status: '409', scimType: 'uniqueness' } });
    expect(missing).toMatchObject({ method: 'DELETE', status: '404', response: { schemas: [ERROR_URN], status: '404' } });
    expect(unresolved).toMatchObject({ method: 'PATCH', status: '409' });
    expect(ok).toMatchObject({ bulkId: 'ok', status: '201' });
    expect(await userCount(fresh.userName)).toBe(1);
  });

  test('when failOnErrors is reached, then the remaining operations are not run', async () => {
    const taken = newUser();
    await h.scim('POST', '/Users', taken);
    const [after1, after2] = [newUser(), newUser()];
    const before = await outboxTotal();

    const res = await h.scim(
      'POST',
      '/Bulk',
      bulk(
        [
          { method: 'POST', path: '/Users', bulkId: 'a', data: newUser({ userName: taken.userName }) },
          { method: 'POST', path: '/Users', bulkId: 'b', data: newUser({ userName: taken.userName.toUpperCase() }) },
          { method: 'POST', path: '/Users', bulkId: 'c', data: after1 },
          { method: 'POST', path: '/Users', bulkId: 'd', data: after2 },
        ],
        { failOnErrors: 2 },
      ),
    );

    expect(res.status).toBe(200);
    expect(res.body.Operations.map((o: any) => [o.bulkId, o.status])).toEqual([
      ['a', '409'],
      ['b', '409'],
    ]);
    expect(await userCount(after1.userName)).toBe(0);
    expect(await userCount(after2.userName)).toBe(0);
    expect(await outboxTotal()).toBe(before);
  });

  test('when failOnErrors is 1 and the first operation succeeds, then processing stops at the first error', async () => {
    const [first, last] = [newUser(), newUser()];

    const res = await h.scim(
      'POST',
      '/Bulk',
      bulk(
        [
          { method: 'POST', path: '/Users', bulkId: 'first', data: first },
          { method: 'POST', path: '/Users', bulkId: 'bad', data: { schemas: [SCIM_USER] } },
          { method: 'POST', path: '/Users', bulkId: 'last', data: last },
        ],
        { failOnErrors: 1 },
      ),
    );

    expect(res.body.Operations.map((o: any) => [o.bulkId, o.status])).toEqual([
      ['first', '201'],
      ['bad', '400'],
    ]);
    expect(await userCount(last.userName)).toBe(0);
  });

  test('when failOnErrors is zero or negative, then the request is 400 invalidValue and nothing runs', async () => {
    const before = await outboxTotal();
    for (const failOnErrors of [0, -1]) {
      const res = await h.scim('POST', '/Bulk', bulk([{ method: 'POST', path: '/Users', bulkId: 'u', data: newUser() }], { failOnErrors }));
      expect(res.status).toBe(400);
      expect(res.body.scimType).toBe('invalidValue');
    }
    expect(await outboxTotal()).toBe(before);
  });

  test('when an operation references a bulkId whose POST failed, then it fails with a message naming that POST', async () => {
    const res = await h.scim(
      'POST',
      '/Bulk',
      bulk([
        { method: 'POST', path: '/Users', bulkId: 'bad', data: { schemas: [SCIM_USER] } },
        { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [SCIM_GROUP], displayName: `Dep ${Date.now()}`, members: [{ value: 'bulkId:bad' }] } },
      ]),
    );
    expect(res.status).toBe(200);
    const [user, group] = res.body.Operations;
    expect(user.status).toBe('400');
    expect(group.status).toBe('409');
    expect(group.response.detail).toContain('its POST failed');
  });

  test('when more than 1000 operations are sent, then the answer is 413 tooMany and nothing runs', async () => {
    const before = await outboxTotal();
    const operations = Array.from({ length: 1001 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `u${i}`, data: newUser() }));

    const res = await h.scim('POST', '/Bulk', bulk(operations));

    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '413', scimType: 'tooMany' });
    expect(await outboxTotal()).toBe(before);
  });

  test.each([
    ['the schemas are wrong', { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ method: 'DELETE', path: '/Users/x' }] }],
    ['schemas are missing', { Operations: [{ method: 'DELETE', path: '/Users/x' }] }],
    ['Operations is empty', { schemas: [BULK_REQUEST], Operations: [] }],
    ['a method is unknown', { schemas: [BULK_REQUEST], Operations: [{ method: 'GET', path: '/Users' }] }],
    [
      'a POST has no bulkId',
      { schemas: [BULK_REQUEST], Operations: [{ method: 'POST', path: '/Users', data: { schemas: [SCIM_USER], userName: 'nobulkid@example.org' } }] },
    ],
  ])('when %s, then the answer is 400 invalidSyntax', async (_what, body) => {
    const before = await outboxTotal();

    const res = await h.scim('POST', '/Bulk', body);

    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '400', scimType: 'invalidSyntax' });
    expect(await outboxTotal()).toBe(before);
  });

  test('when an operation path is not a SCIM resource, then that operation is 400 invalidPath', async () => {
    const res = await h.scim('POST', '/Bulk', bulk([{ method: 'DELETE', path: '/Schemas/x' }]));

    expect(res.status).toBe(200);
    expect(res.body.Operations).toEqual([{ method: 'DELETE', status: '400', response: expect.objectContaining({ scimType: 'invalidPath' }) }]);
  });

  describe('finding 9: bulkId references only where RFC 7644 §3.7.2 puts them', () => {
    test('when plain text mentions "bulkId:u1" or an undefined "bulkId:nothere", then it is stored as sent and the operations succeed', async () => {
      const referenced = newUser();
      const text = newUser({ displayName: 'See bulkId:u1 for details', title: 'bulkId:nothere', nickName: 'bulkId:u1' });
      const res = await h.scim(
        'POST',
        '/Bulk',
        bulk([
          { method: 'POST', path: '/Users', bulkId: 'u1', data: referenced },
          { method: 'POST', path: '/Users', bulkId: 'u2', data: text },
        ]),
      );
      expect(res.body.Operations.map((o: any) => o.status)).toEqual(['201', '201']);
      const stored = await h.scim('GET', res.body.Operations[1].location.slice(h.baseUrl.length));
      expect(stored.body).toMatchObject({ displayName: 'See bulkId:u1 for details', title: 'bulkId:nothere', nickName: 'bulkId:u1' });
    });

    test('when a manager, group members (POST and PATCH) and a path name a bulkId, then each becomes the created id', async () => {
      const manager = newUser();
      const report = newUser({ [ENTERPRISE]: { manager: { value: 'bulkId:boss' } } });
      const res = await h.scim(
        'POST',
        '/Bulk',
        bulk([
          { method: 'POST', path: '/Users', bulkId: 'report', data: report },
          { method: 'POST', path: '/Users', bulkId: 'boss', data: manager },
          {
            method: 'POST',
            path: '/Groups',
            bulkId: 'team',
            data: { schemas: [SCIM_GROUP], displayName: `Team ${Date.now()}`, members: [{ value: 'bulkId:boss' }] },
          },
          {
            method: 'PATCH',
            path: '/Groups/bulkId:team',
            data: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: 'bulkId:report' }] }] },
          },
          {
            method: 'PATCH',
            path: '/Users/bulkId:boss',
            data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Head of bulkId:report' }] },
          },
        ]),
      );
      const [reportOp, bossOp, teamOp, membersOp, titleOp] = res.body.Operations as any[];
      expect([reportOp, bossOp, teamOp, membersOp, titleOp].map((o) => o.status)).toEqual(['201', '201', '201', '204', '200']);
      const idOf = (op: any) => op.location.split('/').pop();
      const stored = await h.scim('GET', `/Users/${idOf(reportOp)}`);
      expect(stored.body[ENTERPRISE].manager.value).toBe(idOf(bossOp));
      const team = await h.scim('GET', `/Groups/${idOf(teamOp)}`);
      expect(team.body.members.map((m: any) => m.value).sort()).toEqual([idOf(bossOp), idOf(reportOp)].sort());
      expect((await h.scim('GET', `/Users/${idOf(bossOp)}`)).body.title).toBe('Head of bulkId:report');
    });

    test('when a reference slot names a bulkId no POST defines, then that operation is 409 and the others run', async () => {
      const res = await h.scim(
        'POST',
        '/Bulk',
        bulk([
          {
            method: 'POST',
            path: '/Groups',
            bulkId: 'g',
            data: { schemas: [SCIM_GROUP], displayName: `Orphan ${Date.now()}`, members: [{ value: 'bulkId:nothere' }] },
          },
          { method: 'POST', path: '/Users', bulkId: 'fine', data: newUser() },
        ]),
      );
      expect(res.body.Operations.map((o: any) => o.status)).toEqual(['409', '201']);
      expect(res.body.Operations[0].response.detail).toContain('bulkId "nothere" is not defined');
    });
  });
});
