/**
 * Walks of the whole /Users listing while the identity provider creates and deletes users, as
 * Entra's account discovery and Okta's imports page through it (issue 25): by startIndex with
 * count 7 and 100, and by cursor (RFC 9865). Every user that existed throughout the walk is
 * listed exactly once, nobody is listed twice, and the order is the same for every page size
 * (listing positions, migration 024; before them, a walk with count=7 while 30 users were
 * deleted and 30 created skipped 2 users that existed throughout).
 */
import { createLogger } from '../common/logger';
import { listCompaction } from '../scim-server/list-compaction';
import { SCIM_USER, startHarness, type Harness } from './harness';

let h: Harness;
const USERS = 300;
const CHURN = 30;

beforeAll(async () => {
  h = await startHarness({ withWorker: false });
});
afterAll(async () => h?.close());

let created = 0;
/** Which users were created by the setup ("walk-…"), not by the churn. */
const walkUsers = new Set<string>();
async function createUser(prefix: string): Promise<string> {
  created += 1;
  const userName = `${prefix}-${String(created).padStart(4, '0')}@walk.example.org`;
  const res = await h.scim('POST', '/Users', { schemas: [SCIM_USER], userName, emails: [{ value: userName, primary: true }] });
  expect(res.status).toBe(201);
  if (prefix === 'walk') walkUsers.add(res.body.id);
  return res.body.id as string;
}

async function deleteUser(id: string): Promise<void> {
  expect((await h.scim('DELETE', `/Users/${id}`)).status).toBe(204);
}

/** A walk by startIndex as RFC 7644 §3.4.2.4 shows it: the next startIndex is this one plus count, until it passes totalResults. */
async function indexWalk(count: number, filter = '', between: () => Promise<void> = async () => undefined): Promise<string[]> {
  const seen: string[] = [];
  for (let startIndex = 1; ; startIndex += count) {
    const res = await h.scim('GET', `/Users?startIndex=${startIndex}&count=${count}&attributes=userName${filter}`);
    expect(res.status).toBe(200);
    expect(res.body.startIndex).toBe(startIndex);
    expect(res.body.itemsPerPage).toBe(res.body.Resources.length);
    expect(res.body.Resources.length).toBeLessThanOrEqual(count);
    seen.push(...res.body.Resources.map((r: { id: string }) => r.id));
    if (startIndex + count > res.body.totalResults) return seen;
    await between();
  }
}

/** A walk by cursor: the next page is the previous page's nextCursor, until there is none. */
async function cursorWalk(count: number, filter = '', between: () => Promise<void> = async () => undefined): Promise<string[]> {
  const seen: string[] = [];
  let cursor = '';
  for (;;) {
    const res = await h.scim('GET', `/Users?cursor=${cursor}&count=${count}&attributes=userName${filter}`);
    expect(res.status).toBe(200);
    expect(res.body.startIndex).toBeUndefined();
    seen.push(...res.body.Resources.map((r: { id: string }) => r.id));
    if (!res.body.nextCursor) return seen;
    cursor = res.body.nextCursor;
    await between();
  }
}

/**
 * Between pages, one change: a deletion (alternately at the front and at the back of the
 * remaining pool, behind and ahead of the walker), then a creation, until CHURN of each are done.
 */
function churn(pool: string[]) {
  const deleted: string[] = [];
  const added: string[] = [];
  let step = 0;
  return {
    deleted,
    added,
    done: () => deleted.length >= CHURN && added.length >= CHURN,
    async between() {
      step += 1;
      if (step % 2 === 1 && deleted.length < CHURN) {
        const victim = step % 4 === 1 ? pool.shift()! : pool.pop()!;
        deleted.push(victim);
        await deleteUser(victim);
      } else if (added.length < CHURN) {
        added.push(await createUser('churn'));
      }
    },
  };
}

function expectExactlyOnce(seen: string[], existedThroughout: string[]) {
  const counts = new Map<string, number>();
  for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
  const repeated = [...counts].filter(([, n]) => n > 1);
  const missing = existedThroughout.filter((id) => !counts.has(id));
  expect({ repeated, missing }).toEqual({ repeated: [], missing: [] });
}

describe('a whole-listing walk while users are created and deleted', () => {
  let ids: string[] = [];

  beforeAll(async () => {
    for (let i = 0; i < USERS; i++) ids.push(await createUser('walk'));
  }, 300_000);

  test('when the listing is quiet, then the order is the same for every page size, by index and by cursor', async () => {
    const by100 = await indexWalk(100);
    expect(by100).toHaveLength(USERS);
    expect(await indexWalk(7)).toEqual(by100);
    expect(await cursorWalk(13)).toEqual(by100);
    expect(await cursorWalk(100)).toEqual(by100);
  }, 120_000);

  test.each([7, 100])(
    'when Entra walks by startIndex with count=%i while 30 users are deleted and 30 created, then every user that existed throughout is listed exactly once, in the same order',
    async (count) => {
      const before = await indexWalk(100);
      // Spread the churn over the walk: with count 100 there are only 3 pages between which to change things.
      const pool = [...ids];
      const changes = churn(pool);
      const between = async () => {
        for (let i = 0; i < (count >= 100 ? 15 : 1); i++) await changes.between();
      };
      const seen = await indexWalk(count, '', between);
      while (!changes.done()) await changes.between();
      const survivors = ids.filter((id) => !changes.deleted.includes(id));
      expectExactlyOnce(seen, survivors);
      // Survivors keep their order: the walk's order restricted to them is the quiet listing's.
      expect(seen.filter((id) => survivors.includes(id))).toEqual(before.filter((id) => survivors.includes(id)));
      ids = [...survivors, ...changes.added];
    },
    300_000,
  );

  test('when a client walks by cursor while 30 users are deleted and 30 created, then every user that existed throughout is listed exactly once', async () => {
    const pool = [...ids];
    const changes = churn(pool);
    const seen = await cursorWalk(9, '', changes.between);
    while (!changes.done()) await changes.between();
    const survivors = ids.filter((id) => !changes.deleted.includes(id));
    expectExactlyOnce(seen, survivors);
    ids = [...survivors, ...changes.added];
  }, 300_000);

  test('when a client walks by cursor with a filter while users are deleted and created, then every matching user that existed throughout is listed exactly once', async () => {
    const filter = `&filter=${encodeURIComponent('userName sw "walk-"')}`;
    const pool = ids.filter((id) => walkUsers.has(id));
    const changes = churn(pool);
    const seen = await cursorWalk(11, filter, changes.between);
    while (!changes.done()) await changes.between();
    const survivors = ids.filter((id) => walkUsers.has(id) && !changes.deleted.includes(id));
    expectExactlyOnce(seen, survivors);
    expect(seen.every((id) => !changes.added.includes(id))).toBe(true);
    ids = [...ids.filter((id) => !changes.deleted.includes(id)), ...changes.added];
  }, 300_000);

  test('when a client pages back with previousCursor, then it reads the pages it came through, in the same order', async () => {
    const forward: { cursor: string; ids: string[] }[] = [];
    let cursor = '';
    for (;;) {
      const res = await h.scim('GET', `/Users?cursor=${cursor}&count=50&attributes=userName`);
      forward.push({ cursor, ids: res.body.Resources.map((r: { id: string }) => r.id) });
      if (!res.body.nextCursor) break;
      cursor = res.body.nextCursor;
    }
    expect(forward.length).toBeGreaterThan(3);
    const last = await h.scim('GET', `/Users?cursor=${forward[forward.length - 1].cursor}&count=50&attributes=userName`);
    const back = await h.scim('GET', `/Users?cursor=${last.body.previousCursor}&count=50&attributes=userName`);
    expect(back.status).toBe(200);
    expect(back.body.Resources.map((r: { id: string }) => r.id)).toEqual(forward[forward.length - 2].ids);
    const first = await h.scim('GET', '/Users?cursor=&count=50&attributes=userName');
    expect(first.body.previousCursor).toBeUndefined();
  }, 120_000);
});

describe('holes left by deletions', () => {
  test('when more users are deleted than created and the listing is then quiet, then the renumbering closes the holes and keeps the order', async () => {
    const tenant = 'walk-holes';
    const token = await h.newTenant(tenant);
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${h.baseUrl}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (res.status === 204 ? undefined : await res.json()) as any };
    };
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const userName = `hole-${i}@walk.example.org`;
      ids.push((await call('POST', '/Users', { schemas: [SCIM_USER], userName })).body.id);
    }
    for (const i of [1, 4, 5, 9]) expect((await call('DELETE', `/Users/${ids[i]}`)).status).toBe(204);
    const page = async () => (await call('GET', '/Users?startIndex=1&count=4&attributes=userName')).body;
    const before = await page();
    // Positions 1-4 hold users 0, 2 and 3: a page shorter than count, while totalResults is exact.
    expect([before.itemsPerPage, before.totalResults]).toEqual([3, 8]);
    const compaction = listCompaction({ db: h.db, logger: createLogger('silent'), quietSeconds: 0 });
    expect(await compaction.runOnce()).toBeGreaterThan(0);
    const after = await page();
    expect(after.itemsPerPage).toBe(4);
    const all = (await call('GET', '/Users?startIndex=1&count=8&attributes=userName')).body;
    expect(all.Resources.map((r: { id: string }) => r.id)).toEqual(ids.filter((_, i) => ![1, 4, 5, 9].includes(i)));
  });
});

describe('cursor paging through POST /.search', () => {
  test('when a SearchRequest carries cursor and count, then the pages follow by nextCursor as with GET', async () => {
    const search = (body: Record<string, unknown>) =>
      h.scim('POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], attributes: ['userName'], ...body });
    for (let i = 0; i < 10; i++) await createUser('search');
    const byGet = (await h.scim('GET', '/Users?cursor=&count=10&attributes=userName')).body;
    expect(byGet.Resources).toHaveLength(10);
    const first = await search({ cursor: '', count: 5 });
    expect(first.status).toBe(200);
    const second = await search({ cursor: first.body.nextCursor, count: 5 });
    expect([...first.body.Resources, ...second.body.Resources].map((r: { id: string }) => r.id)).toEqual(byGet.Resources.map((r: { id: string }) => r.id));
    const groups = await h.scim('POST', '/Groups/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      cursor: first.body.nextCursor,
      count: 5,
    });
    expect([groups.status, groups.body.scimType]).toEqual([400, 'invalidCursor']);
  });
});

describe('cursor errors over HTTP (RFC 9865 §2.2)', () => {
  test('when a cursor from another tenant is used, then 400 invalidCursor and the other tenant reads nothing', async () => {
    const other = await h.newTenant('walk-other');
    const mine = await h.scim('GET', '/Users?cursor=&count=1');
    const res = await fetch(`${h.baseUrl}/Users?cursor=${mine.body.nextCursor}&count=1`, { headers: { Authorization: `Bearer ${other}` } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ status: '400', scimType: 'invalidCursor' });
  });

  test('when a cursor is used with another filter, then 400 invalidCursor', async () => {
    const mine = await h.scim('GET', '/Users?cursor=&count=1');
    const res = await h.scim('GET', `/Users?cursor=${mine.body.nextCursor}&count=1&filter=${encodeURIComponent('active eq true')}`);
    expect([res.status, res.body.scimType]).toEqual([400, 'invalidCursor']);
  });

  test('when count=-1 or 0 comes with a cursor, then 400 invalidCount; by index, count=-1 and startIndex=0 are read as 0 and 1', async () => {
    for (const count of ['-1', '0']) {
      const res = await h.scim('GET', `/Users?cursor=&count=${count}`);
      expect([res.status, res.body.scimType]).toEqual([400, 'invalidCount']);
      expect(res.body.detail).toMatch(/count/);
    }
    const byIndex = await h.scim('GET', '/Users?startIndex=0&count=-1');
    expect(byIndex.status).toBe(200);
    expect(byIndex.body).toMatchObject({ startIndex: 1, itemsPerPage: 0, Resources: [] });
    expect(byIndex.body.totalResults).toBeGreaterThan(0);
  });

  test('when ServiceProviderConfig is read, then it advertises both paging methods with the cursor timeout', async () => {
    const res = await h.scim('GET', '/ServiceProviderConfig');
    expect(res.body.pagination).toEqual({
      cursor: true,
      index: true,
      defaultPaginationMethod: 'index',
      defaultPageSize: 100,
      maxPageSize: 1000,
      cursorTimeout: 600,
    });
  });
});
