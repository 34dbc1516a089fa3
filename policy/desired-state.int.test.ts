/**
 * The desired-state reader against a real PostgreSQL (no Temporal): the workflow's entry point
 * (one user, `readDesiredState`) and the batched one (a page of users under one or several
 * configurations: policy changes, previews, drift repair) give the same state for users in
 * nested groups, re-hires inside and outside the retention window, explicit extension values
 * over a re-hire's snapshot, and a deleted user.
 */
import crypto from 'node:crypto';
import type { Db } from '../common/db';
import { openTestDatabase, testTenantConfig } from '../test/harness';
import { addMembers, groupNamesOfUsers, insertGroup } from '../common/repositories/scim-groups';
import { deleteUser, insertUser } from '../common/repositories/scim-users';
import { saveConfigVersion } from '../common/repositories/tenants';
import { parseTenantConfig } from '../domain/tenant-config';
import { SCIMFLOW_USER_URN } from '../domain/desired-user';
import { desiredStateOf, desiredStatesUnder, readDesiredState, readDesiredStates } from './desired-state';

const T = 'reader';
const OUTER_RULE = { name: 'Outer group', when: { group: 'Outer' }, set: { securityRole: 'VOB Worker' as const } };
const config = testTenantConfig({ rules: [OUTER_RULE], rehireRetention: '30d' });
/** A draft with a shorter re-hire window and without the group rule. */
const draft = parseTenantConfig({ ...config, rules: [], rehireRetention: '7d' });

let db: Db;
const ids = {} as Record<'nested' | 'rehireInside' | 'rehireOutside' | 'explicit' | 'deleted' | 'plain', string>;
const earlier = {} as Record<'inside' | 'insideOlder' | 'outside' | 'explicit', string>;

const doc = (n: string, extra: Record<string, unknown> = {}) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  userName: `${n}@example.org`,
  name: { givenName: n, familyName: 'Reader' },
  emails: [{ value: `${n}@example.org`, type: 'work', primary: true }],
  active: true,
  ...extra,
});

/** A terminated earlier self with an entitlements snapshot, `daysAgo` days ago. */
async function terminated(externalId: string, daysAgo: number, snapshot: Record<string, unknown>): Promise<string> {
  const id = crypto.randomUUID();
  await db.query(
    `INSERT INTO app_users (tenant_id, user_id, external_id, status, terminated_at, entitlements_snapshot)
     VALUES ($1, $2, $3, 'terminated', now() - $4::int * interval '1 day', $5::jsonb)`,
    [T, id, externalId, daysAgo, JSON.stringify(snapshot)],
  );
  return id;
}

async function user(extra: Record<string, unknown> = {}): Promise<string> {
  const id = crypto.randomUUID();
  await insertUser(db, T, id, doc(id.slice(0, 8), extra));
  return id;
}

beforeAll(async () => {
  db = await openTestDatabase();
  await db.query(`INSERT INTO tenants (id, name) VALUES ($1, 'Reader')`, [T]);
  await saveConfigVersion(db, T, config, 'test');

  // Nested groups, with a cycle: the user is in Inner, Inner in Outer, Outer in Inner.
  ids.nested = await user();
  const [inner, outer] = [crypto.randomUUID(), crypto.randomUUID()];
  await insertGroup(db, T, inner, { displayName: 'Inner', externalId: null, doc: {} });
  await insertGroup(db, T, outer, { displayName: 'Outer', externalId: null, doc: {} });
  await addMembers(db, T, inner, [{ id: ids.nested, type: 'User' }]);
  await addMembers(db, T, outer, [{ id: inner, type: 'Group' }]);
  await addMembers(db, T, inner, [{ id: outer, type: 'Group' }]);

  earlier.insideOlder = await terminated('emp-inside', 20, { client: 'north', securityRole: 'Super User' });
  earlier.inside = await terminated('emp-inside', 10, { client: 'south', securityRole: 'Admissions Worker with Reports' });
  ids.rehireInside = await user({ externalId: 'emp-inside' });

  earlier.outside = await terminated('emp-outside', 120, { client: 'south', securityRole: 'Admissions Worker with Reports' });
  ids.rehireOutside = await user({ externalId: 'emp-outside' });

  earlier.explicit = await terminated('emp-explicit', 5, { client: 'south', securityRole: 'VOB Worker' });
  ids.explicit = await user({ externalId: 'emp-explicit', [SCIMFLOW_USER_URN]: { client: 'north' } });

  ids.deleted = await user({ externalId: 'emp-deleted' });
  await deleteUser(db, T, ids.deleted);

  ids.plain = await user({ externalId: '' });
});
afterAll(async () => {
  await db?.close();
});

const all = () => Object.values(ids);

test('when one user is read by the workflow and a page of users by the batched reader, then each user has the same desired state', async () => {
  const [batched] = await desiredStatesUnder(db, T, all(), [parseTenantConfig(config)]);
  const { states: withCurrent } = await readDesiredStates(db, T, all());
  for (const id of all()) {
    const single = await readDesiredState(db, T, id);
    expect(single.config.version).toBe(1);
    expect(single.state).toEqual(batched.get(id));
    expect(single.state).toEqual(withCurrent[0].get(id));
    expect(await desiredStateOf(db, T, id, single.config.config)).toEqual(single.state);
  }

  // What they agree on.
  const state = (id: string) => batched.get(id);
  expect(state(ids.nested)?.desired).toMatchObject({ securityRole: 'VOB Worker', matchedRules: ['Outer group'] });
  expect(state(ids.rehireInside)).toMatchObject({
    rehiredFrom: earlier.inside,
    desired: { clientKey: 'south', securityRole: 'Admissions Worker with Reports' },
  });
  expect(state(ids.rehireOutside)?.rehiredFrom).toBeUndefined();
  expect(state(ids.rehireOutside)?.desired).toMatchObject({ clientKey: 'north', securityRole: null });
  expect(state(ids.explicit)).toMatchObject({ rehiredFrom: earlier.explicit, desired: { clientKey: 'north', securityRole: 'VOB Worker' } });
  expect(state(ids.plain)).toMatchObject({ rehiredFrom: undefined, version: 1, desired: { clientKey: 'north', securityRole: null } });
  expect(state(ids.deleted)).toBeUndefined();
  // The SCIM side's group look-up (a mobile user's login phone check) walks the same nesting.
  expect(await groupNamesOfUsers(db, T, [ids.nested, ids.plain])).toEqual(
    new Map([
      [ids.nested, ['Inner', 'Outer']],
      [ids.plain, []],
    ]),
  );
  expect(batched.size).toBe(all().length - 1);
  expect((await readDesiredState(db, T, ids.deleted)).state).toBeUndefined();
  expect((await readDesiredState(db, T, 'not-a-uuid')).state).toBeUndefined();
});

test("when a page is read under today's configuration and a draft at once, then each equals the single-user reader under that configuration", async () => {
  const today = (await readDesiredState(db, T, ids.plain)).config.config;
  const [underToday, underDraft] = await desiredStatesUnder(db, T, all(), [today, draft]);
  for (const id of all()) {
    expect(underToday.get(id)).toEqual(await desiredStateOf(db, T, id, today));
    expect(underDraft.get(id)).toEqual(await desiredStateOf(db, T, id, draft));
  }
  // The draft's 7-day window leaves the 10-day re-hire out and keeps the 5-day one; its rules no longer match Outer.
  expect(underDraft.get(ids.rehireInside)?.rehiredFrom).toBeUndefined();
  expect(underDraft.get(ids.explicit)?.rehiredFrom).toBe(earlier.explicit);
  expect(underDraft.get(ids.nested)?.desired.securityRole).toBeNull();
});

test('when a user id is given in upper case, then the batched reader answers under the id as given', async () => {
  const upper = ids.nested.toUpperCase();
  const [states] = await desiredStatesUnder(db, T, [upper], [draft]);
  expect(states.get(upper)).toEqual(await desiredStateOf(db, T, ids.nested, draft));
});

test('when a re-hire names its roles in core roles (issue 25), then they win over the earlier security role and role in the client', async () => {
  await terminated('emp-roles', 3, {
    client: 'north',
    organisations: [{ value: 'north', role: 'Client Admin', primary: true }],
    securityRole: 'Super User',
  });
  const id = await user({ externalId: 'emp-roles', roles: [{ value: 'analytics-only' }, { value: 'client-staff' }] });
  const { state } = await readDesiredState(db, T, id);
  expect(state?.rehiredFrom).toBeDefined();
  expect(state?.desired).toMatchObject({
    missing: [],
    securityRole: 'Analytics Only',
    memberships: [{ orgKey: 'north', kind: 'primary', role: 'Client Staff' }],
  });
});
