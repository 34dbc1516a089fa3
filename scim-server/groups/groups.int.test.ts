/**
 * RFC 7644 behaviour of /Groups over HTTP against the real (embedded) PostgreSQL: members
 * with their display names, membership PATCH forms of Okta and Entra ID, filters, PUT,
 * DELETE, and a group of 5,000 members. No worker: group changes drive no workflow.
 */
import { newUser, PATCH_OP, SCIM_GROUP, startHarness, type Harness } from '../../test/harness';

const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ withWorker: false });
});
afterAll(async () => h?.close());

async function createUser(extra: Record<string, unknown> = {}): Promise<string> {
  const res = await h.scim('POST', '/Users', newUser(extra));
  expect(res.status).toBe(201);
  return res.body.id;
}

async function createGroup(displayName: string, memberIds: string[] = []): Promise<{ id: string; body: any }> {
  const res = await h.scim('POST', '/Groups', { schemas: [SCIM_GROUP], displayName, members: memberIds.map((value) => ({ value })) });
  expect(res.status).toBe(201);
  return { id: res.body.id, body: res.body };
}

async function memberIds(groupId: string): Promise<string[]> {
  const res = await h.scim('GET', `/Groups/${groupId}`);
  expect(res.status).toBe(200);
  return ((res.body.members ?? []) as { value: string }[]).map((m) => m.value).sort();
}

async function outboxChanges(id: string): Promise<string[]> {
  const rows = await h.db.query<{ change: string }>('SELECT change FROM outbox WHERE tenant_id = $1 AND resource_id = $2::uuid ORDER BY id', [h.tenantId, id]);
  return rows.rows.map((r) => r.change);
}

function patch(...operations: Record<string, unknown>[]) {
  return { schemas: [PATCH_OP], Operations: operations };
}

const unique = (name: string) => `${name} ${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
const sorted = (ids: string[]) => [...ids].sort();

describe('POST and GET /Groups', () => {
  test('when a group is created with members, then 201 answers with the members, their display names and $ref', async () => {
    const alice = await createUser({ displayName: 'Alice Example' });
    const bob = await createUser();
    const name = unique('Nurses');

    const res = await h.scim('POST', '/Groups', {
      schemas: [SCIM_GROUP],
      displayName: name,
      externalId: 'okta-g-1',
      members: [{ value: alice }, { value: bob }],
    });

    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`${h.baseUrl}/Groups/${res.body.id}`);
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(res.body).toMatchObject({ schemas: [SCIM_GROUP], displayName: name, externalId: 'okta-g-1', meta: { resourceType: 'Group', version: 'W/"1"' } });
    expect(res.body.members).toHaveLength(2);
    expect(res.body.members).toEqual(
      expect.arrayContaining([
        { value: alice, display: 'Alice Example', type: 'User', $ref: `${h.baseUrl}/Users/${alice}` },
        expect.objectContaining({ value: bob, type: 'User', display: expect.stringContaining('@example.org') }),
      ]),
    );
    expect(await outboxChanges(res.body.id)).toEqual(['created']);
  });

  test('when a group is read, then members are included with display; excludedAttributes=members leaves them out', async () => {
    const alice = await createUser({ displayName: 'Alice Reader' });
    const { id } = await createGroup(unique('Readers'), [alice]);

    const full = await h.scim('GET', `/Groups/${id}`);
    expect(full.body.members).toEqual([expect.objectContaining({ value: alice, display: 'Alice Reader' })]);

    const slim = await h.scim('GET', `/Groups/${id}?excludedAttributes=members`);
    expect(slim.status).toBe(200);
    expect(slim.body.members).toBeUndefined();
    expect(slim.body).toMatchObject({ id, displayName: full.body.displayName });
  });

  test('when a member id is unknown, then the answer is 400 invalidValue and no group is created', async () => {
    const name = unique('Ghosts');

    const res = await h.scim('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: name, members: [{ value: '00000000-0000-4000-8000-00000000dead' }] });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '400', scimType: 'invalidValue' });
    const list = await h.scim('GET', `/Groups?filter=${encodeURIComponent(`displayName eq "${name}"`)}`);
    expect(list.body.totalResults).toBe(0);
  });

  test('when the group id is unknown or not a uuid, then the answer is 404', async () => {
    expect((await h.scim('GET', '/Groups/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await h.scim('GET', '/Groups/not-a-uuid')).status).toBe(404);
    expect((await h.scim('PATCH', '/Groups/not-a-uuid', patch({ op: 'replace', path: 'displayName', value: 'x' }))).status).toBe(404);
  });
});

describe('PATCH /Groups/:id', () => {
  test('when members are added, then they join; re-adding an existing member is a no-op with no outbox row', async () => {
    const [a, b] = [await createUser(), await createUser()];
    const { id } = await createGroup(unique('Adders'), [a]);

    const added = await h.scim('PATCH', `/Groups/${id}`, patch({ op: 'add', path: 'members', value: [{ value: b }] }));
    expect(added.status).toBe(204);
    expect(added.headers.get('etag')).toBe('W/"2"');
    expect(await memberIds(id)).toEqual(sorted([a, b]));

    const again = await h.scim('PATCH', `/Groups/${id}`, patch({ op: 'add', path: 'members', value: [{ value: a }, { value: b }] }));
    expect(again.status).toBe(204);
    expect(again.headers.get('etag')).toBe('W/"2"');
    expect(await memberIds(id)).toEqual(sorted([a, b]));
    expect(await outboxChanges(id)).toEqual(['created', 'membership']);
  });

  test('when a member is removed with members[value eq "id"], then only that member leaves', async () => {
    const [a, b, c] = [await createUser(), await createUser(), await createUser()];
    const { id } = await createGroup(unique('Filters'), [a, b, c]);

    const res = await h.scim('PATCH', `/Groups/${id}`, patch({ op: 'remove', path: `members[value eq "${b}"]` }));

    expect(res.status).toBe(204);
    expect(await memberIds(id)).toEqual(sorted([a, c]));
  });

  test('when remove carries a value array, then only those members leave, never everyone', async () => {
    const [a, b, c] = [await createUser(), await createUser(), await createUser()];
    const { id } = await createGroup(unique('Arrays'), [a, b, c]);

    const res = await h.scim('PATCH', `/Groups/${id}`, patch({ op: 'remove', path: 'members', value: [{ value: a }, { value: c }] }));

    expect(res.status).toBe(204);
    expect(await memberIds(id)).toEqual([b]);
  });

  test('when remove names members without a value, then all members leave', async () => {
    const [a, b] = [await createUser(), await createUser()];
    const { id } = await createGroup(unique('Emptied'), [a, b]);

    const res = await h.scim('PATCH', `/Groups/${id}`, patch({ op: 'remove', path: 'members' }));

    expect(res.status).toBe(204);
    expect(await memberIds(id)).toEqual([]);
    expect(await outboxChanges(id)).toEqual(['created', 'membership']);
  });

  test('when members are replaced, then the list becomes exactly the value', async () => {
    const [a, b, c] = [await createUser(), await createUser(), await createUser()];
    const { id } = await createGroup(unique('Replaced'), [a, b]);

    const res = await h.scim('PATCH', `/Groups/${id}`, patch({ op: 'replace', path: 'members', value: [{ value: b }, { value: c }] }));

    expect(res.status).toBe(204);
    expect(await memberIds(id)).toEqual(sorted([b, c]));
  });

  test('when displayName is replaced by path or by a no-path object, then the name changes and an "updated" row is written', async () => {
    const { id } = await createGroup(unique('Renamed'));
    const first = unique('Renamed once');
    const second = unique('Renamed twice');

    expect((await h.scim('PATCH', `/Groups/${id}`, patch({ op: 'replace', path: 'displayName', value: first }))).status).toBe(204);
    expect((await h.scim('GET', `/Groups/${id}`)).body.displayName).toBe(first);

    expect((await h.scim('PATCH', `/Groups/${id}`, patch({ op: 'replace', value: { displayName: second } }))).status).toBe(204);
    const read = await h.scim('GET', `/Groups/${id}`);
    expect(read.body).toMatchObject({ displayName: second, meta: { version: 'W/"3"' } });
    expect(await outboxChanges(id)).toEqual(['created', 'updated', 'updated']);
  });

  test('when an added member id is unknown, then the answer is 400 invalidValue and nothing changes', async () => {
    const a = await createUser();
    const { id } = await createGroup(unique('Strict'), [a]);

    const res = await h.scim('PATCH', `/Groups/${id}`, patch({ op: 'add', path: 'members', value: [{ value: '00000000-0000-4000-8000-00000000beef' }] }));

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '400', scimType: 'invalidValue' });
    expect(await memberIds(id)).toEqual([a]);
    expect(await outboxChanges(id)).toEqual(['created']);
  });

  test('when a stale If-Match is sent, then the answer is 412 and nothing changes', async () => {
    const { id } = await createGroup(unique('Guarded'));
    await h.scim('PATCH', `/Groups/${id}`, patch({ op: 'replace', path: 'displayName', value: unique('Guarded v2') }));

    const res = await h.scim('PATCH', `/Groups/${id}`, patch({ op: 'replace', path: 'displayName', value: 'lost update' }), { 'If-Match': 'W/"1"' });

    expect(res.status).toBe(412);
    expect((await h.scim('GET', `/Groups/${id}`)).body.displayName).not.toBe('lost update');
  });
});

describe("a user's groups (RFC 7643 §4.1.2)", () => {
  test('when a user is in a group that is in another, then GET /Users lists both, direct and indirect, with $ref; groups sent on PUT change nothing', async () => {
    const user = await createUser();
    const ward = await createGroup(`Ward 7 ${user.slice(0, 8)}`, [user]);
    const nursing = await createGroup(`Nursing ${user.slice(0, 8)}`, [ward.id]);
    const read = await h.scim('GET', `/Users/${user}`);
    expect(read.status).toBe(200);
    expect(read.body.groups).toEqual(
      expect.arrayContaining([
        { value: ward.id, $ref: expect.stringMatching(new RegExp(`/Groups/${ward.id}$`)), display: ward.body.displayName, type: 'direct' },
        { value: nursing.id, $ref: expect.stringMatching(new RegExp(`/Groups/${nursing.id}$`)), display: nursing.body.displayName, type: 'indirect' },
      ]),
    );
    expect(read.body.groups).toHaveLength(2);
    // The same in a filtered list, and left out when excluded.
    const listed = await h.scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${read.body.userName}"`)}`);
    expect(listed.body.Resources[0].groups).toEqual(read.body.groups);
    expect((await h.scim('GET', `/Users/${user}?excludedAttributes=groups`)).body.groups).toBeUndefined();
    // A client that sends the resource back with other groups (read-only) changes no membership.
    const { id: _id, meta: _meta, ...body } = read.body;
    const put = await h.scim('PUT', `/Users/${user}`, { ...body, groups: [{ value: nursing.id }] });
    expect(put.status).toBe(200);
    expect(put.body.groups).toEqual(read.body.groups);
    expect(await memberIds(nursing.id)).toEqual([ward.id]);
    // Leaving the inner group leaves both.
    expect((await h.scim('PATCH', `/Groups/${ward.id}`, patch({ op: 'remove', path: `members[value eq "${user}"]` }))).status).toBeLessThan(300);
    expect((await h.scim('GET', `/Users/${user}`)).body.groups).toBeUndefined();
  });
});

describe('GET /Groups (list)', () => {
  test('when filtering by displayName eq or by a member, then exactly the matching groups are returned', async () => {
    const a = await createUser();
    const b = await createUser();
    const name = unique('Listed');
    const g1 = await createGroup(name, [a]);
    const g2 = await createGroup(unique('Listed other'), [a, b]);

    const byName = await h.scim('GET', `/Groups?filter=${encodeURIComponent(`displayName eq "${name.toUpperCase()}"`)}`);
    expect(byName.status).toBe(200);
    expect(byName.body.Resources.map((g: any) => g.id)).toEqual([g1.id]);

    const byMember = await h.scim('GET', `/Groups?filter=${encodeURIComponent(`members[value eq "${b}"]`)}`);
    expect(byMember.status).toBe(200);
    expect(byMember.body.Resources.map((g: any) => g.id)).toEqual([g2.id]);

    const withA = await h.scim('GET', `/Groups?filter=${encodeURIComponent(`members[value eq "${a}"]`)}&excludedAttributes=members`);
    expect(withA.body.Resources.map((g: any) => g.id).sort()).toEqual(sorted([g1.id, g2.id]));
    expect(withA.body.Resources.every((g: any) => g.members === undefined)).toBe(true);
  });

  test('when paging groups by cursor, then every group is seen exactly once', async () => {
    const prefix = unique('Cursor');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createGroup(`${prefix} ${i}`)).id);
    const filter = encodeURIComponent(`displayName sw "${prefix}"`);

    const seen: string[] = [];
    let cursor = '';
    for (let page = 0; page < 10; page++) {
      const res = await h.scim('GET', `/Groups?filter=${filter}&cursor=${encodeURIComponent(cursor)}&count=2`);
      expect(res.status).toBe(200);
      seen.push(...res.body.Resources.map((g: any) => g.id));
      if (!res.body.nextCursor) break;
      cursor = res.body.nextCursor;
    }
    expect(sorted(seen)).toEqual(sorted(ids));
  });
});

describe('PUT and DELETE /Groups/:id', () => {
  test('when a group is replaced, then name and members become those of the body', async () => {
    const [a, b] = [await createUser(), await createUser()];
    const { id } = await createGroup(unique('Put'), [a]);
    const name = unique('Put v2');

    const res = await h.scim('PUT', `/Groups/${id}`, { schemas: [SCIM_GROUP], displayName: name, members: [{ value: b }] });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, displayName: name, meta: { version: 'W/"2"' } });
    expect(res.body.members.map((m: any) => m.value)).toEqual([b]);
    expect(res.body.externalId).toBeUndefined();
  });

  test('when a group is deleted, then 204 and 404 afterwards', async () => {
    const { id } = await createGroup(unique('Deleted'), [await createUser()]);

    expect((await h.scim('DELETE', `/Groups/${id}`)).status).toBe(204);
    expect((await h.scim('GET', `/Groups/${id}`)).status).toBe(404);
    expect(await outboxChanges(id)).toEqual(['created', 'deleted']);
  });

  test('when a member user is deleted, then it leaves its groups and their version moves on', async () => {
    const [a, b] = [await createUser(), await createUser()];
    const { id } = await createGroup(unique('Leavers'), [a, b]);

    expect((await h.scim('DELETE', `/Users/${a}`)).status).toBe(204);

    const read = await h.scim('GET', `/Groups/${id}`);
    expect(read.body.members.map((m: any) => m.value)).toEqual([b]);
    // The member list changed, so the ETag must (RFC 7644 §3.14): a cached copy is not current.
    expect(read.body.meta.version).not.toBe('W/"1"');
    expect((await h.scim('GET', `/Groups/${id}`, undefined, { 'If-None-Match': 'W/"1"' })).status).toBe(200);
  });
});

describe('a group of 5,000 members', () => {
  test('when 5,000 members are added in chunks and 2 removed, then the membership stays exact', async () => {
    const started = Date.now();
    const ids = (
      await h.db.query<{ id: string }>(
        `INSERT INTO scim_users (tenant_id, id, user_name, doc)
         SELECT $1, gen_random_uuid(), 'big' || i || '.' || $2 || '@example.org', jsonb_build_object('userName', 'big' || i || '.' || $2 || '@example.org')
         FROM generate_series(1, 5000) AS i RETURNING id::text AS id`,
        [h.tenantId, Date.now()],
      )
    ).rows.map((r) => r.id);
    const { id } = await createGroup(unique('Everyone'));

    for (let i = 0; i < ids.length; i += 1000) {
      const res = await h.scim('PATCH', `/Groups/${id}`, patch({ op: 'add', path: 'members', value: ids.slice(i, i + 1000).map((value) => ({ value })) }));
      expect(res.status).toBe(204);
    }
    const removed = await h.scim(
      'PATCH',
      `/Groups/${id}`,
      patch({ op: 'remove', path: `members[value eq "${ids[10]}"]` }, { op: 'remove', path: 'members', value: [{ value: ids[4000] }] }),
    );
    expect(removed.status).toBe(204);

    const read = await h.scim('GET', `/Groups/${id}`);
    expect(read.body.members).toHaveLength(4998);
    const present = new Set(read.body.members.map((m: any) => m.value));
    expect(present.has(ids[10]) || present.has(ids[4000])).toBe(false);
    expect(ids.filter((m) => !present.has(m))).toEqual([ids[10], ids[4000]]);
    expect(
      (await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM scim_group_members WHERE tenant_id = $1 AND group_id::text = $2', [h.tenantId, id]))
        .rows[0].n,
    ).toBe(4998);
    expect(await outboxChanges(id)).toEqual(['created', 'membership', 'membership', 'membership', 'membership', 'membership', 'membership']);
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 90_000);
});
