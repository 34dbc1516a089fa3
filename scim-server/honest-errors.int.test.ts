/**
 * Honest errors, against the real server and database: sortBy on every attribute /Schemas
 * declares is answered 200 or 400, never 503 (finding 5); hand-made cursors, ids and version
 * numbers are 400 or 404, never 500 (finding 6).
 */
import { createToken } from '../common/repositories/tokens';
import { ENTERPRISE, newUser, startHarness, type Harness } from '../test/harness';
import { LIMITS_SCHEMA_URN } from './discovery';

let h: Harness;
let adminToken: string;
beforeAll(async () => {
  h = await startHarness({ withWorker: false });
  adminToken = (await createToken(h.db, h.tenantId, 'admin', 'admin', 'Super User')).token;
  for (const [title, family, email, department] of [
    ['Bravo', 'Young', 'b@example.org', 'Surgery'],
    ['Alpha', 'Zimmer', 'c@example.org', 'Oncology'],
    ['Charlie', 'Adams', 'a@example.org', 'Radiology'],
  ]) {
    const res = await h.scim(
      'POST',
      '/Users',
      newUser({ title, name: { givenName: 'T', familyName: family }, emails: [{ value: email, type: 'work' }], [ENTERPRISE]: { department } }),
    );
    expect(res.status).toBe(201);
  }
});
afterAll(async () => h?.close());

interface SchemaAttribute {
  name: string;
  subAttributes?: SchemaAttribute[];
}

/** Every attribute path /Schemas declares for a resource type, sub-attributes included, extensions with their URN. */
async function declaredPaths(): Promise<{ resource: 'Users' | 'Groups'; path: string }[]> {
  const schemas = (await h.scim('GET', '/Schemas')).body.Resources as { id: string; attributes: SchemaAttribute[] }[];
  const out: { resource: 'Users' | 'Groups'; path: string }[] = [];
  for (const schema of schemas) {
    // Users and Groups, with their extensions; the limits document and the entitlement types (/Roles, /Licenses: their own suite) are not sorted here.
    if (schema.id === LIMITS_SCHEMA_URN || !/:(User|Group)$/.test(schema.id)) continue;
    const resource = schema.id.endsWith(':Group') ? 'Groups' : 'Users';
    const prefix = schema.id.includes(':core:') ? '' : `${schema.id}:`;
    for (const a of schema.attributes) {
      out.push({ resource, path: `${prefix}${a.name}` });
      for (const s of a.subAttributes ?? []) out.push({ resource, path: `${prefix}${a.name}.${s.name}` });
    }
  }
  return out;
}

describe('finding 5: sortBy works on what /Schemas declares, or is a 400; never a 503', () => {
  test('when a list is sorted by title, name.familyName, emails or an enterprise attribute, then it is 200 in that order', async () => {
    const order = async (sortBy: string, pick: (u: any) => string, sortOrder = 'ascending') => {
      const res = await h.scim('GET', `/Users?sortBy=${encodeURIComponent(sortBy)}&sortOrder=${sortOrder}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('retry-after')).toBeNull();
      return (res.body.Resources as unknown[]).map(pick);
    };
    expect(await order('title', (u) => u.title)).toEqual(['Alpha', 'Bravo', 'Charlie']);
    expect(await order('title', (u) => u.title, 'descending')).toEqual(['Charlie', 'Bravo', 'Alpha']);
    expect(await order('name.familyName', (u) => u.name.familyName)).toEqual(['Adams', 'Young', 'Zimmer']);
    expect(await order('emails', (u) => u.emails[0].value)).toEqual(['a@example.org', 'b@example.org', 'c@example.org']);
    expect(await order(`${ENTERPRISE}:department`, (u) => u[ENTERPRISE].department)).toEqual(['Oncology', 'Radiology', 'Surgery']);
  });

  test('when every attribute path /Schemas declares is used as sortBy (with a filter and paging), then each answer is 200 or 400 invalidPath, never 5xx', async () => {
    const paths = await declaredPaths();
    expect(paths.length).toBeGreaterThan(80);
    const outcomes: Record<string, number> = {};
    for (const { resource, path } of paths) {
      const res = await h.scim('GET', `/${resource}?sortBy=${encodeURIComponent(path)}&filter=${encodeURIComponent('id pr')}&startIndex=2&count=2`);
      outcomes[`${resource} ${path}`] = res.status;
      if (res.status === 400) {
        expect(res.body.scimType).toBe('invalidPath');
        expect(res.body.detail).toMatch(/^Cannot sort by /);
      } else expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
    const sorted = Object.entries(outcomes).filter(([, s]) => s === 200).length;
    expect(sorted).toBeGreaterThan(60);
    for (const sortable of [
      'Users title',
      'Users emails',
      'Users emails.value',
      'Users name.familyName',
      `Users ${ENTERPRISE}:department`,
      'Users urn:ietf:params:scim:schemas:extension:scimflow:2.0:User:provisioning.state',
      'Groups displayName',
    ]) {
      expect({ sortable, status: outcomes[sortable] }).toEqual({ sortable, status: 200 });
    }
  });
});

describe('finding 6: crafted cursors, ids and version numbers are 400 or 404, never 500', () => {
  const cursor = (c: Record<string, unknown>) =>
    Buffer.from(JSON.stringify({ p: 1, d: 'n', t: Math.floor(Date.now() / 1000), q: 'x', ...c })).toString('base64url');

  test.each([
    ['a position as text', cursor({ p: '1' })],
    ['a negative position', cursor({ p: -1 })],
    ['a position beyond 2^53', cursor({ p: 1e30 })],
    ['an unknown direction', cursor({ d: 'sideways' })],
    ['a text for the time', cursor({ t: 'now' })],
    ['a made-up query digest', cursor({})],
    ['not JSON', Buffer.from('{').toString('base64url')],
  ])('when a hand-made cursor holds %s, then 400 invalidCursor', async (_what, value) => {
    for (const resource of ['Users', 'Groups']) {
      const res = await h.scim('GET', `/${resource}?cursor=${value}&count=1`);
      expect(res.status).toBe(400);
      expect(res.body.scimType).toBe('invalidCursor');
      expect(res.body.detail).toMatch(/cursor/);
    }
  });

  test('when a cursor this server issued is used, then the next page follows', async () => {
    const first = await h.scim('GET', '/Users?cursor=&count=1');
    expect(first.status).toBe(200);
    const next = await h.scim('GET', `/Users?cursor=${first.body.nextCursor}&count=1`);
    expect(next.status).toBe(200);
    expect(next.body.Resources[0].id).not.toBe(first.body.Resources[0].id);
  });

  test.each(['99999999999999999999', '2147483648', '1e3', '-1', '0', 'x'])(
    'when the admin API is asked for configuration version %s, then 404',
    async (version) => {
      const res = await fetch(`${h.publicUrl}/admin/v1/tenants/${h.tenantId}/config/versions/${version}`, {
        headers: { Authorization: `Bearer ${adminToken}` },
      });
      expect(res.status).toBe(404);
    },
  );

  test('when ids are hand-made (36 dashes, a NUL, 300 characters), then 404 for users and groups, in SCIM and the admin API', async () => {
    for (const id of ['-'.repeat(36), '%00', 'x'.repeat(300), '00000000-0000-0000-0000-00000000000g']) {
      expect((await h.scim('GET', `/Users/${id}`)).status).toBe(404);
      expect((await h.scim('GET', `/Groups/${id}`)).status).toBe(404);
      const admin = await fetch(`${h.publicUrl}/admin/v1/tenants/${h.tenantId}/users/${id}`, { headers: { Authorization: `Bearer ${adminToken}` } });
      expect(admin.status).toBe(404);
    }
  });
});
