/**
 * Repository SQL against a real database: PostgreSQL when DATABASE_URL is set (a schema of its
 * own; the server CI gives or the one test/global-setup.ts starts). No Temporal needed.
 *
 *  - list pages (keys first, then the joins) equal the straightforward join-then-OFFSET query
 *    for every filter, sort, direction and page tried; unique-key filters are looked up directly;
 *  - a user's write and its outbox row are one statement; every writer's rows are written alike;
 *  - the outbox retention deletes only delivered rows older than the retention, in batches, and
 *    the relay runs it at most once per interval;
 *  - licences lock the organisation row only when it has a seat limit;
 *  - the onboarding's one-statement reads and writes (directory, audit entries, login claims,
 *    mail ledger, invitation) behave as the statements they replaced.
 */
import crypto from 'node:crypto';
import { type Db, type Queryable } from '../db';
import { openTestDatabase } from '../../test/harness';
import { createLogger } from '../logger';
import { parseListRequest } from '../../scim-server/list-params';
import { createOutboxRelay } from '../../scim-server/outbox-relay';
import { activeLicencesOf, syncLicences } from './licences';
import { appendAudits } from './audit-log';
import { comparableState, directoryOf } from './entitlements';
import { claimDelivery, completeDelivery, ensureInvitation } from './invitations';
import { claimLogins, loginHolders, waitForLogins } from './login-claims';
import { membershipsOf, syncMemberships } from './memberships';
import { providerAccountsOf, syncProviderAccounts } from './provider-accounts';
import { claimDue, deleteDelivered, markDelivered, recordChanges, userChanges, type RecordedChange } from './outbox';
import * as groups from './scim-groups';
import { listingsDueForRenumbering, noteListed, renumberListing } from './list-positions';
import * as users from './scim-users';

const SF = 'urn:ietf:params:scim:schemas:extension:scimflow:2.0:User';
const uuid = (tenant: number, n: number) => `00000000-0000-4000-8000-${String(tenant).padStart(4, '0')}${String(n).padStart(8, '0')}`;

let db: Db;

async function openTestDb(): Promise<Db> {
  return openTestDatabase();
}

const USERS = 45;

beforeAll(async () => {
  db = await openTestDb();
  await db.query(`INSERT INTO tenants (id, name) VALUES ('t1', 'T1'), ('t2', 'T2')`);
  for (const tenant of [1, 2]) {
    for (let i = 0; i < USERS; i++) {
      const doc = {
        userName: `User${String(i).padStart(2, '0')}@Example.org`,
        // every 4th without a displayName (NULLS LAST), repeated names (ties broken by created_at, id)
        ...(i % 4 === 3 ? {} : { displayName: `Name ${i % 7}` }),
        title: i % 5 === 0 ? undefined : `T${i % 3}`,
        active: i % 3 !== 0,
        emails: [{ value: `u${i}@example.org`, type: i % 2 ? 'work' : 'home', primary: i % 4 === 0 }],
      };
      // groups of three users share a created_at (ties broken by id)
      const created = new Date(Date.UTC(2024, 0, 1) + Math.floor(i / 3) * 1000 + (tenant === 2 ? 500 : 0)).toISOString();
      await db.query(
        `INSERT INTO scim_users (tenant_id, id, user_name, display_name, active, email_values, doc, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $8)`,
        [`t${tenant}`, uuid(tenant, 44 - i), doc.userName, doc.displayName ?? null, doc.active, [`u${i}@example.org`], JSON.stringify(doc), created],
      );
      if (i % 2 === 0) {
        await db.query(`INSERT INTO provisioning_states (tenant_id, user_id, state, workflow_id) VALUES ($1, $2, $3, $4)`, [
          `t${tenant}`,
          uuid(tenant, 44 - i),
          i % 4 === 0 ? 'active' : 'invited',
          `wf-${i}`,
        ]);
      }
    }
    for (let g = 0; g < 12; g++) {
      const created = new Date(Date.UTC(2024, 0, 1) + Math.floor(g / 2) * 1000).toISOString();
      await db.query(`INSERT INTO scim_groups (tenant_id, id, display_name, doc, created_at) VALUES ($1, $2, $3, '{}'::jsonb, $4)`, [
        `t${tenant}`,
        uuid(tenant, 900 + (11 - g)),
        `Group ${g % 5}`,
        created,
      ]);
    }
  }
});

afterAll(async () => {
  await db?.close();
});

describe('migrations', () => {
  test('when migrated, then scim_users and provisioning_states are re-analysed after 2 % changed', async () => {
    const rows = (
      await db.query<{ relname: string; reloptions: string[] | null }>(
        `SELECT c.relname, c.reloptions FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relname IN ('scim_users', 'provisioning_states') ORDER BY c.relname`,
      )
    ).rows;
    expect(rows).toEqual([
      { relname: 'provisioning_states', reloptions: ['autovacuum_analyze_scale_factor=0.02'] },
      { relname: 'scim_users', reloptions: ['autovacuum_analyze_scale_factor=0.02'] },
    ]);
  });
});

/** The list written the straightforward way: join, ORDER BY (the sort key, then the listing position), the window's bounds, LIMIT/OFFSET in one. */
async function reference(table: 'scim_users' | 'scim_groups', tenantId: string, q: users.ListQuery): Promise<string[]> {
  const params = [tenantId, ...q.params, ...(q.orderParams ?? [])];
  const dir = q.descending ? 'DESC' : 'ASC';
  const p = q.page;
  let bounds = '';
  let offset = 0;
  if (p.kind === 'range') bounds = ` AND r.list_position >= ${p.from} AND r.list_position < ${p.from + p.limit}`;
  if (p.kind === 'keyset' && p.after !== undefined) bounds = ` AND r.list_position > ${p.after}`;
  if (p.kind === 'offset') offset = p.offset;
  params.push(p.limit, offset);
  const join = table === 'scim_users' ? 'LEFT JOIN provisioning_states p ON p.tenant_id = r.tenant_id AND p.user_id = r.id' : '';
  const sql = `SELECT r.id::text AS id FROM ${table} r ${join} WHERE r.tenant_id = $1 AND (${q.where})${bounds}
    ORDER BY ${q.orderBy ? `${q.orderBy} ${dir} NULLS LAST, ` : ''}r.list_position ${dir} LIMIT $${params.length - 1} OFFSET $${params.length}`;
  return (await db.query<{ id: string }>(sql, params)).rows.map((r) => r.id);
}

describe('list pages', () => {
  const USER_FILTERS = [
    undefined,
    'active eq true',
    `${SF}:provisioning.state eq "active"`,
    `${SF}:provisioning pr`,
    'not (displayName pr)',
    'emails[type eq "work"]',
    'displayName sw "name 1" or title eq "T2"',
  ];
  const USER_SORTS = [undefined, 'displayName', 'userName', 'title', 'emails', 'meta.created'];
  const PAGES: [number, number][] = [
    [1, 100],
    [1, 7],
    [6, 10],
    [40, 10],
    [46, 10],
  ];

  test('when users are listed with any filter, sort, direction and page, then the rows and their order equal the join-then-OFFSET query', async () => {
    let compared = 0;
    for (const filter of USER_FILTERS) {
      for (const sortBy of USER_SORTS) {
        for (const sortOrder of ['ascending', 'descending']) {
          for (const [startIndex, count] of PAGES) {
            const q = parseListRequest({ filter, sortBy, sortOrder, startIndex: String(startIndex), count: String(count) }, 'User', 't1').query;
            const got = (await users.listUsers(db, 't1', q)).map((r) => r.id);
            expect({ filter, sortBy, sortOrder, startIndex, count, ids: got }).toEqual({
              filter,
              sortBy,
              sortOrder,
              startIndex,
              count,
              ids: await reference('scim_users', 't1', q),
            });
            compared += got.length;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  test('when a page is read, then each user carries its provisioning state and its listing position (insertion order)', async () => {
    const rows = await users.listUsers(db, 't1', parseListRequest({ count: '4' }, 'User', 't1').query);
    expect(rows.map((r) => [r.doc.userName, r.listPosition])).toEqual([
      ['User00@Example.org', 1],
      ['User01@Example.org', 2],
      ['User02@Example.org', 3],
      ['User03@Example.org', 4],
    ]);
    expect(rows[2].provisioning).toEqual({ state: 'invited', waitingFor: null, waitingUntil: null, lastError: null, workflowId: 'wf-2' });
    expect(rows[1].provisioning).toBeNull();
    expect(rows[0].provisioning?.state).toBe('active');
  });

  test('when users are paged by cursor position, then every user of the tenant is seen once, in the reference order', async () => {
    const seen: string[] = [];
    let after: number | undefined;
    for (let page = 0; page < 20; page++) {
      const base = parseListRequest({ cursor: '', count: '4', filter: 'active eq true' }, 'User', 't1').query;
      const q = { ...base, page: { kind: 'keyset' as const, after, limit: 5 } };
      const rows = await users.listUsers(db, 't1', q);
      expect(rows.map((r) => r.id)).toEqual(await reference('scim_users', 't1', q));
      seen.push(...rows.slice(0, 4).map((r) => r.id));
      if (rows.length <= 4) break;
      after = rows[3].listPosition;
    }
    const all = await reference('scim_users', 't1', { ...parseListRequest({ filter: 'active eq true', count: '1000' }, 'User', 't1').query });
    expect(seen).toEqual(all);
  });

  test('when groups are listed with any filter, sort, direction and page, then the rows equal the reference query', async () => {
    for (const filter of [undefined, 'displayName eq "group 1"', 'displayName sw "Group"']) {
      for (const sortBy of [undefined, 'displayName']) {
        for (const sortOrder of ['ascending', 'descending']) {
          for (const [startIndex, count] of [
            [1, 100],
            [3, 4],
            [12, 5],
          ]) {
            const q = parseListRequest({ filter, sortBy, sortOrder, startIndex: String(startIndex), count: String(count) }, 'Group', 't1').query;
            expect((await groups.listGroups(db, 't1', q)).map((r) => r.id)).toEqual(await reference('scim_groups', 't1', q));
          }
        }
      }
    }
  });

  test('when the total is asked with the page, then it counts the filter over the whole tenant', async () => {
    const q = parseListRequest({ filter: 'active eq true', startIndex: '5', count: '3' }, 'User', 't1').query;
    const { total, rows } = await users.listUsersWithTotal(db, 't1', q);
    expect(total).toBe(30);
    expect(rows).toHaveLength(3);
    expect(await users.listUsersWithTotal(db, 't1', { ...q, page: { kind: 'offset', offset: 4, limit: 0 } })).toEqual({ total: 30, rows: [] });
    expect((await groups.listGroupsWithTotal(db, 't1', parseListRequest({}, 'Group', 't1').query)).total).toBe(12);
  });
});

describe('unique-key filters', () => {
  test('when userName eq names a user in another case, then one look-up answers the row and a total of 1', async () => {
    const calls: string[] = [];
    const spy: Queryable = {
      query: (sql, params) => {
        calls.push(sql);
        return db.query(sql, params);
      },
      exec: (sql) => db.exec(sql),
    };
    const q = parseListRequest({ filter: 'userName eq "user07@EXAMPLE.ORG"' }, 'User', 't1').query;
    const { total, rows } = await users.listUsersWithTotal(spy, 't1', q);
    expect(calls).toHaveLength(1);
    expect(calls[0]).not.toMatch(/ORDER BY|LIMIT|count\(/);
    expect(total).toBe(1);
    expect(rows.map((r) => [r.id, r.doc.userName, r.provisioning])).toEqual([[uuid(1, 37), 'User07@Example.org', null]]);
    expect(rows[0].listPosition).toBe(8);
    expect(
      (await users.listUsersWithTotal(db, 't1', parseListRequest({ filter: 'userName eq "User08@example.org"' }, 'User', 't1').query)).rows[0].provisioning
        ?.state,
    ).toBe('active');
  });

  test('when the look-up is paged past its row, asks for no rows, or misses, then the total still says what matched', async () => {
    const byName = (extra: Record<string, string>) => parseListRequest({ filter: 'userName eq "user07@example.org"', ...extra }, 'User', 't1').query;
    expect(await users.listUsersWithTotal(db, 't1', byName({ startIndex: '2' }))).toEqual({ total: 1, rows: [] });
    expect(await users.listUsersWithTotal(db, 't1', byName({ count: '0' }))).toEqual({ total: 1, rows: [] });
    expect(await users.listUsers(db, 't1', byName({}))).toHaveLength(1);
    expect(await users.listUsersWithTotal(db, 't2', byName({}))).toMatchObject({ total: 1, rows: [{ id: uuid(2, 37) }] });
    expect(await users.listUsersWithTotal(db, 't1', parseListRequest({ filter: 'userName eq "nobody"' }, 'User', 't1').query)).toEqual({ total: 0, rows: [] });
    expect(await users.listUsersWithTotal(db, 't1', parseListRequest({ filter: 'id eq "not-a-uuid"' }, 'User', 't1').query)).toEqual({ total: 0, rows: [] });
    expect(await users.listUsersWithTotal(db, 't1', parseListRequest({ filter: `id eq "${uuid(2, 3)}"` }, 'User', 't1').query)).toEqual({ total: 0, rows: [] });
    expect(
      (await users.listUsersWithTotal(db, 't1', parseListRequest({ filter: `id eq "${uuid(1, 3).toUpperCase()}"` }, 'User', 't1').query)).rows.map((r) => r.id),
    ).toEqual([uuid(1, 3)]);
    const group = await groups.listGroupsWithTotal(db, 't1', parseListRequest({ filter: `id eq "${uuid(1, 905)}"` }, 'Group', 't1').query);
    expect(group.total).toBe(1);
    expect(group.rows.map((r) => r.id)).toEqual([uuid(1, 905)]);
  });

  test('when the look-up carries a cursor, then its row is answered only when it lies after the cursor', async () => {
    const q = parseListRequest({ filter: 'userName eq "user07@example.org"', cursor: '' }, 'User', 't1').query;
    const [row] = await users.listUsers(db, 't1', q);
    expect(await users.listUsersWithTotal(db, 't1', { ...q, page: { kind: 'keyset', after: row.listPosition, limit: 2 } })).toEqual({ total: 1, rows: [] });
    const before = { kind: 'keyset' as const, after: row.listPosition - 1, limit: 2 };
    expect((await users.listUsersWithTotal(db, 't1', { ...q, page: before })).rows.map((r) => r.id)).toEqual([row.id]);
  });
});

describe('listing positions (migration 024)', () => {
  const positions = async (tenant: string) =>
    (
      await db.query<{ user_name: string; list_position: string }>(
        'SELECT user_name, list_position FROM scim_users WHERE tenant_id = $1 ORDER BY list_position',
        [tenant],
      )
    ).rows.map((r) => `${r.user_name}@${r.list_position}`);
  const add = (tenant: string, name: string) => users.insertUser(db, tenant, crypto.randomUUID(), { userName: name, emails: [] });
  const remove = async (tenant: string, name: string) => {
    const id = (await db.query<{ id: string }>('SELECT id::text AS id FROM scim_users WHERE tenant_id = $1 AND user_name = $2', [tenant, name])).rows[0].id;
    await db.withTransaction((tx) => users.deleteUser(tx, tenant, id));
  };

  test('when users are deleted and others created, then the deleted positions are holes the new users fill, lowest first; no one else moves', async () => {
    await db.query(`INSERT INTO tenants (id, name) VALUES ('pos1', 'Positions')`);
    for (const n of ['a', 'b', 'c', 'd', 'e']) await add('pos1', n);
    await remove('pos1', 'd');
    await remove('pos1', 'b');
    expect(await positions('pos1')).toEqual(['a@1', 'c@3', 'e@5']);
    await add('pos1', 'f');
    expect(await positions('pos1')).toEqual(['a@1', 'f@2', 'c@3', 'e@5']);
    await add('pos1', 'g');
    await add('pos1', 'h');
    expect(await positions('pos1')).toEqual(['a@1', 'f@2', 'c@3', 'g@4', 'e@5', 'h@6']);
  });

  test('when a failed insert (a taken userName) is rolled back, then it took no position', async () => {
    await db.query(`INSERT INTO tenants (id, name) VALUES ('pos2', 'Positions')`);
    await add('pos2', 'a');
    await expect(add('pos2', 'A')).rejects.toThrow();
    await add('pos2', 'b');
    expect(await positions('pos2')).toEqual(['a@1', 'b@2']);
  });

  test('when the holes are renumbered, then positions are 1..N in the same order and the next user takes N + 1; not while the listing is paged', async () => {
    await db.query(`INSERT INTO tenants (id, name) VALUES ('pos3', 'Positions')`);
    for (const n of ['a', 'b', 'c', 'd', 'e', 'f']) await add('pos3', n);
    await remove('pos3', 'a');
    await remove('pos3', 'c');
    await noteListed(db, 'pos3', 'User');
    expect(await listingsDueForRenumbering(db, 60)).not.toContainEqual({ tenantId: 'pos3', resource: 'User' });
    expect(await renumberListing(db, 'pos3', 'User', 60)).toBe(0);
    expect(await positions('pos3')).toEqual(['b@2', 'd@4', 'e@5', 'f@6']);
    expect(await listingsDueForRenumbering(db, 0)).toContainEqual({ tenantId: 'pos3', resource: 'User' });
    expect(await renumberListing(db, 'pos3', 'User', 0)).toBe(4);
    expect(await positions('pos3')).toEqual(['b@1', 'd@2', 'e@3', 'f@4']);
    expect(await listingsDueForRenumbering(db, 0)).not.toContainEqual({ tenantId: 'pos3', resource: 'User' });
    await add('pos3', 'g');
    expect(await positions('pos3')).toEqual(['b@1', 'd@2', 'e@3', 'f@4', 'g@5']);
  });
});

const outboxOf = async (id: string) =>
  (
    await db.query<{ change: string; resource_version: number; request_id: string }>(
      'SELECT change, resource_version, request_id FROM outbox WHERE resource_id = $1::uuid ORDER BY id',
      [id],
    )
  ).rows;
const change = (id: string, kind: RecordedChange['change'], version: number, requestId: string): RecordedChange => ({
  tenantId: 't1',
  resourceType: 'User',
  resourceId: id,
  change: kind,
  resourceVersion: version,
  requestId,
});

describe('user writes with their outbox row', () => {
  test('when a user is inserted or updated with a change to record, then the outbox row is written by the same statement; without one, none', async () => {
    const id = crypto.randomUUID();
    const inserted = await users.insertUser(db, 't1', id, { userName: `write-${id}`, emails: [] }, [change(id, 'created', users.FIRST_VERSION, 'req-1')]);
    expect(inserted).toMatchObject({ id, version: 1, provisioning: null });
    const updated = await users.updateUser(db, 't1', id, { userName: `write-${id}`, title: 'x' }, [change(id, 'updated', 2, 'req-2')]);
    expect(updated).toMatchObject({ id, version: 2, doc: { title: 'x' }, provisioning: null });
    await users.updateUser(db, 't1', id, { userName: `write-${id}`, title: 'y' });
    expect(await outboxOf(id)).toEqual([
      { change: 'created', resource_version: 1, request_id: 'req-1' },
      { change: 'updated', resource_version: 2, request_id: 'req-2' },
    ]);
  });

  test('when the update returns, then the row carries the provisioning state as a read would', async () => {
    const id = uuid(1, 44); // User00, provisioning 'active'
    const before = (await users.getUser(db, 't1', id))!;
    const updated = await users.updateUser(db, 't1', id, { ...before.doc, title: 'changed' });
    expect(updated.provisioning).toEqual(before.provisioning);
    expect(await users.getUser(db, 't1', id)).toEqual(updated);
    await db.withTransaction(async (tx) => expect(await users.getUserForUpdate(tx, 't1', id)).toEqual(updated));
  });

  test('when the userName is taken, then the insert fails as a unique violation and writes no outbox row', async () => {
    const id = crypto.randomUUID();
    await expect(users.insertUser(db, 't1', id, { userName: 'USER01@example.org' }, [change(id, 'created', 1, 'req-dup')])).rejects.toMatchObject({
      name: 'UniqueViolationError',
    });
    expect(await outboxOf(id)).toEqual([]);
  });
});

describe('recording changes', () => {
  test('when an update matches no user, then its change is not recorded either', async () => {
    const id = crypto.randomUUID();
    await expect(users.updateUser(db, 't1', id, { userName: `gone-${id}` }, [change(id, 'updated', 2, 'req-gone')])).rejects.toThrow();
    expect(await outboxOf(id)).toEqual([]);
  });

  test('when one change or several are recorded, then each gets its row, in order, with its subject', async () => {
    const [a, b, invitation] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const many = userChanges('t1', 'membership', 'req-many', [
      { id: a, version: 3 },
      { id: b, version: 7 },
    ]);
    expect(await recordChanges(db, many)).toBe(2);
    expect(await recordChanges(db, [{ ...change(a, 'invitationAccepted', 0, 'req-many'), subjectId: invitation }])).toBe(1);
    const rows = (
      await db.query<Record<string, unknown>>(
        `SELECT resource_id::text AS resource, change, resource_version, subject_id::text AS subject FROM outbox WHERE request_id = 'req-many' ORDER BY outbox.id`,
      )
    ).rows;
    expect(rows).toEqual([
      { resource: a, change: 'membership', resource_version: 3, subject: null },
      { resource: b, change: 'membership', resource_version: 7, subject: null },
      { resource: a, change: 'invitationAccepted', resource_version: 0, subject: invitation },
    ]);
    expect(await recordChanges(db, [])).toBe(0);
  });
});

describe('claiming changes for the relay', () => {
  test('when a change removes access, then it is claimed ahead of older changes, with the earlier changes of its user, in order', async () => {
    const [a, b, c] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await recordChanges(db, [change(a, 'created', 1, 'req-claim'), change(b, 'created', 1, 'req-claim')]);
    await recordChanges(db, [{ ...change(b, 'updated', 2, 'req-claim'), urgent: true }]);
    await recordChanges(db, [change(c, 'created', 1, 'req-claim')]);
    // Older undelivered rows of other tests are due too; b's deactivation and its creation come first.
    const first = await claimDue(db, 2, 60_000);
    expect(first.map((x) => [x.resourceId, x.change, x.urgent])).toEqual([
      [b, 'created', false],
      [b, 'updated', true],
    ]);
    await markDelivered(
      db,
      first.map((x) => x.id),
    );
    const rest = await claimDue(db, 10_000, 60_000);
    const ours = rest.filter((x) => [a, b, c].some((id) => id === x.resourceId)).map((x) => x.resourceId);
    expect(ours).toEqual([a, c]);
  });
});

describe('outbox retention', () => {
  const insertRow = async (tenant: string, ageDays: number, delivered: boolean): Promise<number> =>
    (
      await db.query<{ id: number }>(
        `INSERT INTO outbox (tenant_id, resource_type, resource_id, change, resource_version, request_id, created_at, delivered_at)
         VALUES ($1, 'User', $2, 'updated', 1, 'retention', now() - ($3::int * interval '1 day'), CASE WHEN $4::boolean THEN now() - ($3::int * interval '1 day') END)
         RETURNING id::int AS id`,
        [tenant, crypto.randomUUID(), ageDays, delivered],
      )
    ).rows[0].id;
  const remaining = async (ids: number[]) =>
    (await db.query<{ id: number }>('SELECT id::int AS id FROM outbox WHERE id = ANY($1::bigint[]) ORDER BY id', [ids])).rows.map((r) => r.id);

  beforeEach(async () => {
    await db.query(`DELETE FROM outbox WHERE request_id = 'retention'`);
  });

  test('when delivered rows are older than the retention, then they are deleted in batches; younger and undelivered rows stay', async () => {
    const old = [await insertRow('t1', 40, true), await insertRow('t2', 31, true), await insertRow('t1', 400, true)];
    const young = [await insertRow('t1', 29, true), await insertRow('t1', 0, true)];
    const pending = [await insertRow('t1', 400, false), await insertRow('t1', 40, false)];
    expect(await deleteDelivered(db, 30, 2)).toBe(2);
    expect(await deleteDelivered(db, 30, 2)).toBe(1);
    expect(await deleteDelivered(db, 30, 2)).toBe(0);
    expect(await remaining([...old, ...young, ...pending])).toEqual([...young, ...pending]);
  });

  test('when the relay runs, then it deletes old delivered rows at once and then waits for the next clean-up', async () => {
    const old = [await insertRow('t1', 40, true), await insertRow('t1', 35, true), await insertRow('t1', 31, true)];
    const relay = createOutboxRelay({
      db,
      temporal: async () => {
        throw new Error('no Temporal in this test');
      },
      taskQueue: 'unused',
      logger: createLogger('silent'),
      pollMs: 20,
      retentionDays: 30,
      retentionBatchSize: 2,
      retentionIntervalMs: 3_600_000,
    });
    relay.start();
    try {
      const deadline = Date.now() + 10_000;
      while ((await remaining(old)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await remaining(old)).toEqual([]);
      const later = await insertRow('t1', 50, true);
      await new Promise((r) => setTimeout(r, 300)); // many relay passes, no second clean-up within the hour
      expect(await remaining([later])).toEqual([later]);
    } finally {
      await relay.stop();
    }
  });

  test('when the retention is 0, then the relay keeps every row', async () => {
    const old = await insertRow('t1', 400, true);
    const relay = createOutboxRelay({
      db,
      temporal: async () => Promise.reject(new Error('unused')),
      taskQueue: 'unused',
      logger: createLogger('silent'),
      pollMs: 20,
      retentionDays: 0,
    });
    relay.start();
    await new Promise((r) => setTimeout(r, 200));
    await relay.stop();
    expect(await remaining([old])).toEqual([old]);
  });
});

describe('licences and the organisation row', () => {
  beforeAll(async () => {
    await db.query(
      `INSERT INTO organisations (tenant_id, key, name, kind, licence_level, seat_limit) VALUES ('t1', 'open', 'Open', 'client', 'Basic', NULL), ('t1', 'one-seat', 'One seat', 'client', 'Basic', 1)`,
    );
  });

  const appUser = async () => {
    const id = crypto.randomUUID();
    await db.query(`INSERT INTO app_users (tenant_id, user_id) VALUES ('t1', $1)`, [id]);
    return id;
  };
  const licence = (orgKey: string) => [{ orgKey, licenceLevel: 'Basic', mobileLicence: null }];

  test('when an organisation has one seat, then the first user takes it and the second is told there is none', async () => {
    const [a, b] = [await appUser(), await appUser()];
    expect(await db.withTransaction((tx) => syncLicences(tx, 't1', a, licence('one-seat')))).toEqual({ assigned: ['one-seat'], released: [], updated: [] });
    expect(await db.withTransaction((tx) => syncLicences(tx, 't1', b, licence('one-seat')))).toMatchObject({ assigned: [], noSeatIn: 'one-seat' });
    expect(await db.withTransaction((tx) => syncLicences(tx, 't1', b, licence('open')))).toMatchObject({ assigned: ['open'] });
    await db.query(`UPDATE app_licences SET released_at = now() WHERE tenant_id = 't1' AND org_key = 'one-seat'`);
  });

  test("when a transaction holds an unlimited organisation's licence, then another is assigned without waiting; with a seat limit it waits", async () => {
    const [a, b, c, d] = [await appUser(), await appUser(), await appUser(), await appUser()];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const inside = new Promise<void>((r) => (reached = r));
    const first = db.withTransaction(async (tx) => {
      await syncLicences(tx, 't1', a, licence('open'));
      reached();
      await held;
    });
    await inside;
    // Unlimited: no lock on the organisation row, so this commits while `first` is open.
    try {
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('waited for the organisation row')), 5_000).unref());
      await expect(Promise.race([db.withTransaction((tx) => syncLicences(tx, 't1', b, licence('open'))), timeout])).resolves.toMatchObject({
        assigned: ['open'],
      });
    } finally {
      release();
      await first;
    }

    // One seat, two users at once: the row lock serialises them, exactly one gets it.
    const results = await Promise.all([c, d].map((u) => db.withTransaction((tx) => syncLicences(tx, 't1', u, licence('one-seat')))));
    expect(results.map((r) => r.assigned.length).sort()).toEqual([0, 1]);
    expect(results.filter((r) => r.noSeatIn === 'one-seat')).toHaveLength(1);
  });
});

describe('onboarding reads and writes in few statements', () => {
  const tenant = 't1';
  const appUser = async () => {
    const id = crypto.randomUUID();
    await db.query(`INSERT INTO app_users (tenant_id, user_id, email, security_role) VALUES ($1, $2, 'x@example.org', 'Nurse')`, [tenant, id]);
    return id;
  };

  test("when a user's directory is read in one statement, then it holds the same rows as the tables read one by one", async () => {
    const id = await appUser();
    await db.query(
      `INSERT INTO organisations (tenant_id, key, name, kind, licence_level) VALUES ($1, 'dir-org', 'Dir', 'client', 'Basic') ON CONFLICT DO NOTHING`,
      [tenant],
    );
    await db.withTransaction(async (tx) => {
      await syncMemberships(tx, tenant, id, [{ orgKey: 'dir-org', kind: 'primary', role: 'Client Staff' }]);
      await syncLicences(tx, tenant, id, [{ orgKey: 'dir-org', licenceLevel: 'Basic', mobileLicence: null }]);
      await syncProviderAccounts(tx, tenant, id, [{ providerType: 'RN', orgKey: 'dir-org' }]);
    });
    await db.query(`INSERT INTO app_user_settings (tenant_id, user_id, kind, value) VALUES ($1, $2, 'team', 'B'), ($1, $2, 'team', 'A')`, [tenant, id]);
    const dir = (await db.withTransaction((tx) => directoryOf(tx, tenant, [id, crypto.randomUUID()], { lock: true }))).get(id)!;
    expect(dir.user).toMatchObject({ userId: id, securityRole: 'Nurse', status: 'provisioning', holdReason: null, profile: { email: 'x@example.org' } });
    expect(dir.memberships).toEqual(await membershipsOf(db, tenant, [id]));
    expect(dir.licences).toEqual(await activeLicencesOf(db, tenant, [id]));
    expect(dir.providerAccounts).toEqual(await providerAccountsOf(db, tenant, [id]));
    expect(comparableState(dir).settings.team).toEqual(['A', 'B']);
  });

  test('when several audit entries are written at once, then they keep their order', async () => {
    const id = crypto.randomUUID();
    const actions = ['first', 'second', 'third', 'fourth'];
    await appendAudits(
      db,
      actions.map((action, i) => ({ tenantId: tenant, userId: id, action, detail: { i }, requestId: 'r', workflowId: 'w', runId: 'run', step: `s${i}` })),
    );
    const rows = (
      await db.query<{ action: string; detail: { i: number }; step: string }>('SELECT action, detail, step FROM audit_log WHERE user_id = $1 ORDER BY id', [id])
    ).rows;
    expect(rows.map((r) => r.action)).toEqual(actions);
    expect(rows.map((r) => [r.detail.i, r.step])).toEqual(actions.map((_, i) => [i, `s${i}`]));
  });

  test('when logins are claimed in one statement, then free ones are taken, a taken one names its holder, and a changed one is released to its waiter', async () => {
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    const email = (v: string) => ({ kind: 'email' as const, value: v });
    expect(
      await db.withTransaction((tx) => claimLogins(tx, tenant, a, [email('a@x.org'), { kind: 'phone', value: '+15550000001' }], ['email', 'phone'])),
    ).toEqual({
      taken: [],
      released: [],
    });
    // Claiming again changes nothing.
    expect(await db.withTransaction((tx) => claimLogins(tx, tenant, a, [email('a@x.org')], ['email']))).toEqual({ taken: [], released: [] });
    const taken = await db.withTransaction(async (tx) => {
      const claim = await claimLogins(tx, tenant, b, [email('a@x.org')], ['email']);
      await waitForLogins(tx, tenant, b, claim.taken);
      return claim;
    });
    expect(taken.taken).toEqual([{ kind: 'email', value: 'a@x.org', holder: a }]);
    // a's email changes: the old one is released, and b (waiting for it) gets a `login` change.
    expect(await db.withTransaction((tx) => claimLogins(tx, tenant, a, [email('a2@x.org')], ['email']))).toEqual({
      taken: [],
      released: [email('a@x.org')],
    });
    const told = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE resource_id = $1 AND change = 'login'`, [b])).rows[0].n;
    expect(told).toBe(1);
    // b claims the released email; its wait ends.
    expect(await db.withTransaction((tx) => claimLogins(tx, tenant, b, [email('a@x.org')], ['email']))).toEqual({ taken: [], released: [] });
    expect((await db.query('SELECT 1 FROM login_waiters WHERE user_id = $1', [b])).rowCount).toBe(0);
    expect(await loginHolders(db, tenant, crypto.randomUUID(), [email('a@x.org'), email('a2@x.org')])).toEqual(
      expect.arrayContaining([
        { kind: 'email', value: 'a@x.org', holder: b },
        { kind: 'email', value: 'a2@x.org', holder: a },
      ]),
    );
  });

  test('when a mail delivery is claimed, then a sent one is not sent again, one in progress waits, one cut off mid-send is sent again once its lease is over, a failed one is retried', async () => {
    const user = crypto.randomUUID();
    const key = `k-${user}`;
    const LEASE = 60_000;
    expect(await claimDelivery(db, key, tenant, user, 'invitation', LEASE)).toBe('send');
    // Another try while the first holds its lease (a slow SMTP exchange): not now.
    expect(await claimDelivery(db, key, tenant, user, 'invitation', LEASE)).toBe('inProgress');
    // The first try's worker died mid-send: once the lease is over, the mail is sent again (not taken for sent).
    await db.query(`UPDATE mail_deliveries SET lease_until = now() - interval '1 second' WHERE idempotency_key = $1`, [key]);
    expect(await claimDelivery(db, key, tenant, user, 'invitation', LEASE)).toBe('resend');
    expect(await claimDelivery(db, key, tenant, user, 'invitation', LEASE)).toBe('inProgress');
    await completeDelivery(db, key, { sent: false, error: 'connection refused' });
    expect(await claimDelivery(db, key, tenant, user, 'invitation', LEASE)).toBe('send');
    await completeDelivery(db, key, { sent: true, messageId: '<m@x>' });
    expect(await claimDelivery(db, key, tenant, user, 'invitation', LEASE)).toBe('alreadySent');
    const row = (
      await db.query<{ attempts: number; resends: number; lease_until: Date | null }>(
        'SELECT attempts, resends, lease_until FROM mail_deliveries WHERE idempotency_key = $1',
        [key],
      )
    ).rows[0];
    expect(row).toEqual({ attempts: 3, resends: 1, lease_until: null });
  });

  test('when a delivery claimed before leases existed is still sending, then it is sent again', async () => {
    const user = crypto.randomUUID();
    const key = `legacy-${user}`;
    await db.query(
      `INSERT INTO mail_deliveries (idempotency_key, tenant_id, user_id, kind, status, attempts) VALUES ($1, $2, $3, 'invitation', 'sending', 1)`,
      [key, tenant, user],
    );
    expect(await claimDelivery(db, key, tenant, user, 'invitation', 60_000)).toBe('resend');
  });

  test('when the invitation of a round is ensured twice, then the second call returns the same invitation and token', async () => {
    const user = await appUser();
    const first = await ensureInvitation(db, `inv-${user}`, tenant, user, 60_000);
    const again = await ensureInvitation(db, `inv-${user}`, tenant, user, 60_000);
    expect(again).toEqual(first);
    expect(first.status).toBe('pending');
  });
});
