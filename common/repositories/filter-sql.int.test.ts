/**
 * filterToSql against a real PostgreSQL (a schema of its own; no Temporal needed), checked
 * against hand-written expectations and, by property, against evaluateFilter.
 */
import fc from 'fast-check';
import type { Db } from '../db';
import { openTestDatabase } from '../../test/harness';
import { ScimError } from '../../scim/error';
import { evaluateFilter, type LedgerValues } from '../../scim/filter/evaluate';
import { parseFilter } from '../../scim/filter/parser';
import { type ResourceKind, filterToSql, sortToSql } from './filter-sql';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const SF = 'urn:ietf:params:scim:schemas:extension:scimflow:2.0:User';

type Json = Record<string, unknown>;
interface Seed {
  userName: string;
  created: string;
  doc: Json; // everything but userName, id, meta
}

const uuid = (tenant: number, n: number) => `00000000-0000-4000-8000-${String(tenant).padStart(4, '0')}${String(n).padStart(8, '0')}`;

/** Hand-written users: the expectations below name them. */
const HAND: Seed[] = [
  {
    userName: 'alice',
    created: '2024-01-01T00:00:00.000Z',
    doc: {
      name: { givenName: 'Alice', familyName: 'Smith' },
      emails: [
        { value: 'Alice@Example.com', type: 'work', primary: true },
        { value: 'alice@home.org', type: 'home' },
      ],
      active: true,
      title: 'Engineer',
      externalId: 'EXT-1',
      [ENT]: { department: 'R&D', employeeNumber: '1001' },
      [SF]: { teams: ['Blue', 'Red'], startDate: '2024-01-15T09:00:00.000Z' },
    },
  },
  {
    userName: 'Bob.Jones',
    created: '2024-02-01T12:30:00.500Z',
    doc: {
      name: { givenName: 'Bob', familyName: 'Jones' },
      emails: [{ value: 'bob@example.com', type: 'home' }],
      active: false,
      title: 'Manager',
      externalId: 'ext-1',
      [ENT]: { department: 'Sales' },
      [SF]: { teams: ['blue'] },
    },
  },
  {
    userName: 'carol',
    created: '2024-03-01T00:00:00.000Z',
    doc: { name: { givenName: 'Carol' }, emails: [], active: true, title: '', [ENT]: { department: '' }, [SF]: { teams: [] } },
  },
  {
    userName: 'dan',
    created: '2023-12-31T23:59:59.999Z',
    // teams as a lone string: malformed, read as a one-element list on both sides
    doc: { active: true, title: '50% off_sale\\', [SF]: { teams: 'Solo' } },
  },
  {
    userName: 'émile',
    created: '2024-01-01T00:00:00.001Z',
    doc: {
      name: { givenName: 'Émile', familyName: 'Zola' },
      emails: [null, { value: 'emile@example.fr', type: 'work' }],
      active: true,
      title: 'Ingénieur',
      [SF]: { startDate: '2024-02-30T00:00:00Z' }, // no such day: never equal, never ordered
    },
  },
  {
    userName: 'frank',
    created: '2024-04-01T00:00:00.000Z',
    doc: {
      emails: [
        { value: 'frank@example.com', type: 'Work', primary: false },
        { value: 'f@x.org', type: 'work', primary: true },
      ],
      active: true,
      title: 42, // wrong JSON type: present, but equal to no string
      [ENT]: { department: 'R&D', manager: { value: uuid(1, 0), displayName: 'Alice' } },
      [SF]: { startDate: '2024-01-15T12:00:00+05:00' },
    },
  },
  {
    userName: 'grace',
    created: '2024-05-01T00:00:00.000Z',
    doc: {
      name: { givenName: 'Grace', familyName: 'Hopper' },
      emails: [{ type: 'work' }],
      active: true,
      title: 'Admiral',
      externalId: 'EXT-7',
      [SF]: { startDate: '2024-01-15' },
    },
  },
];

/** Deterministic PRNG, so the generated users are the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GIVEN = ['Alice', 'alice', 'ALICE', 'Bob', 'Émile', 'Zoë', '', undefined];
const DOMAINS = ['example.com', 'Example.COM', 'x.org', 'test.io'];
const TYPES = ['work', 'home', 'Work', 'other', undefined];
const TITLES = ['Engineer', 'engineer', 'Manager', '50% off', 'a_b', 'back\\slash', '', 42, undefined, 'Ingénieur', 'Zeta', null];
const EXTERNAL = ['EXT-1', 'ext-1', 'E', undefined];
const DEPARTMENTS = ['R&D', 'r&d', 'Sales', '', undefined];
const TEAMS = [['Blue'], ['blue', 'Red'], [], 'Solo', undefined, ['Green', null]];
const START = [
  '2024-01-15T09:00:00.000Z',
  '2024-01-15T12:00:00+05:00',
  '2024-01-15',
  '2024-01-15T09:00',
  '2024-02-30T00:00:00Z',
  'garbage',
  undefined,
  '2024-06-01T00:00:00.123456Z',
  '2024-06-01T00:00:00.1234567Z',
  20240115,
];

function generated(count: number): Seed[] {
  const rnd = mulberry32(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const seeds: Seed[] = [];
  for (let i = 0; i < count; i++) {
    const given = pick(GIVEN);
    const emails = Array.from({ length: Math.floor(rnd() * 4) }, (_, k) => {
      const type = pick(TYPES);
      return {
        value: `${(given || 'x').toLowerCase()}${i}.${k}@${pick(DOMAINS)}`,
        ...(type ? { type } : {}),
        ...(rnd() < 0.3 ? { primary: rnd() < 0.5 } : {}),
      };
    });
    const doc: Json = { active: rnd() < 0.8 };
    if (given !== undefined) doc.name = { givenName: given, ...(rnd() < 0.5 ? { familyName: pick(['Smith', 'Jones']) } : {}) };
    if (emails.length > 0 || rnd() < 0.3) doc.emails = emails;
    const title = pick(TITLES);
    if (title !== undefined) doc.title = title;
    const externalId = pick(EXTERNAL);
    if (externalId !== undefined) doc.externalId = externalId === 'E' ? `E${i}` : externalId;
    const department = pick(DEPARTMENTS);
    if (department !== undefined) doc[ENT] = { department };
    const teams = pick(TEAMS);
    const startDate = pick(START);
    if (teams !== undefined || startDate !== undefined)
      doc[SF] = { ...(teams !== undefined ? { teams } : {}), ...(startDate !== undefined ? { startDate } : {}) };
    const created = new Date(Date.UTC(2024, 0, 1) + i * 7 * 3600_000 + Math.floor(rnd() * 1000)).toISOString();
    seeds.push({ userName: `${rnd() < 0.5 ? 'User' : 'user'}${i}`, created, doc });
  }
  return seeds;
}

const SEEDS = [...HAND, ...generated(33)];

/**
 * What some users hold in the ledger (app_user_settings) without the document saying so: tags
 * and teams a tenant's rules gave. A filter on these lists matches them too (evaluate.ts LEDGER_SETTINGS).
 */
const LEDGER = new Map<number, LedgerValues>([
  [2, { teams: ['Purple'], employeeAreas: ['Care Coordinator'] }], // carol: her document's teams are []
  [3, { employeeAreas: ['Assigned Agent', 'Care Coordinator'] }], // dan
  ...Array.from({ length: 33 }, (_, k): [number, LedgerValues] => [
    HAND.length + k,
    k % 3 === 0 ? { teams: ['Blue'] } : k % 3 === 1 ? { biGroups: ['Finance'] } : {},
  ]),
]);
const SETTING_KIND: Record<keyof LedgerValues, string> = { employeeAreas: 'employeeArea', teams: 'team', facilities: 'facility', biGroups: 'biGroup' };

interface Row {
  id: string;
  resource: Json;
  ledger?: LedgerValues;
}

/** The resource as clients see it (renderUser): id, core attributes, extension keys, `groups` (RFC 7643 §4.1.2), meta. */
function resourceOf(id: string, seed: Seed, groups: { value: string; display: string }[]): Json {
  return {
    schemas: [CORE],
    id,
    userName: seed.userName,
    ...seed.doc,
    ...(groups.length > 0 ? { groups: groups.map((g) => ({ ...g, type: 'direct' })) } : {}),
    meta: { resourceType: 'User', created: seed.created, lastModified: seed.created },
  };
}

async function insertUser(db: Db, tenant: string, id: string, seed: Seed): Promise<void> {
  const doc: Json = { userName: seed.userName, ...seed.doc };
  // Columns derived as common/repositories/scim-users.ts derives them.
  const emails = Array.isArray(doc.emails) ? (doc.emails as ({ value?: unknown } | null)[]) : [];
  const emailValues = [...new Set(emails.map((e) => (typeof e?.value === 'string' ? e.value.toLowerCase() : null)).filter((v): v is string => v !== null))];
  await db.query(
    `INSERT INTO scim_users (tenant_id, id, user_name, external_id, display_name, active, email_values, doc, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $9)`,
    [
      tenant,
      id,
      seed.userName,
      typeof doc.externalId === 'string' ? doc.externalId : null,
      typeof doc.displayName === 'string' ? doc.displayName : null,
      doc.active !== false,
      emailValues,
      JSON.stringify(doc),
      seed.created,
    ],
  );
}

let db: Db;
const t1: Row[] = [];
const groupIds = { admins: uuid(1, 900), everyone: uuid(1, 901), empty: uuid(1, 902), otherTenant: uuid(2, 900) };

const GROUPS: [string, string, string, string[]][] = [
  ['t1', groupIds.admins, 'Admins', [uuid(1, 0), uuid(1, 1)]],
  ['t1', groupIds.everyone, 'Everyone', HAND.map((_, i) => uuid(1, i))],
  ['t1', groupIds.empty, 'Empty', []],
  ['t2', groupIds.otherTenant, 'Admins', [uuid(2, 0), uuid(2, 2)]],
];

beforeAll(async () => {
  db = await openTestDatabase();
  await db.query(`INSERT INTO tenants (id, name) VALUES ('t1', 'T1'), ('t2', 'T2')`);
  for (const [i, seed] of SEEDS.entries()) {
    const id = uuid(1, i);
    await insertUser(db, 't1', id, seed);
    const groups = GROUPS.filter(([, , , members]) => members.includes(id)).map(([, value, display]) => ({ value, display }));
    t1.push({ id, resource: resourceOf(id, seed, groups), ledger: LEDGER.get(i) });
    // The same people in another tenant: any leak across tenants would match them too.
    await insertUser(db, 't2', uuid(2, i), seed);
    for (const [tenant, userId] of [
      ['t1', id],
      ['t2', uuid(2, i)],
    ]) {
      await db.query('INSERT INTO app_users (tenant_id, user_id) VALUES ($1, $2)', [tenant, userId]);
      for (const [attribute, values] of Object.entries(LEDGER.get(i) ?? {})) {
        for (const value of values) {
          await db.query('INSERT INTO app_user_settings (tenant_id, user_id, kind, value) VALUES ($1, $2, $3, $4)', [
            tenant,
            userId,
            SETTING_KIND[attribute as keyof LedgerValues],
            value,
          ]);
        }
      }
    }
  }
  for (const [tenant, id, name, members] of GROUPS) {
    await db.query(`INSERT INTO scim_groups (tenant_id, id, display_name, doc) VALUES ($1, $2, $3, $4::jsonb)`, [
      tenant,
      id,
      name,
      JSON.stringify({ displayName: name }),
    ]);
    for (const m of members) await db.query(`INSERT INTO scim_group_members (tenant_id, group_id, member_id) VALUES ($1, $2, $3)`, [tenant, id, m]);
  }
});

afterAll(async () => {
  await db?.close();
});

async function select(filter: string, kind: ResourceKind = 'User'): Promise<string[]> {
  const params: unknown[] = ['t1'];
  const where = filterToSql(parseFilter(filter), kind, params);
  const table = kind === 'User' ? 'scim_users' : 'scim_groups';
  const { rows } = await db.query<{ id: string }>(`SELECT r.id::text AS id FROM ${table} r WHERE r.tenant_id = $1 AND (${where}) ORDER BY r.id`, params);
  return rows.map((r) => r.id);
}

const handIds = new Map(HAND.map((s, i) => [s.userName, uuid(1, i)]));
const byName = (...names: string[]) => names.map((n) => handIds.get(n)!).sort();
const allHand = [...handIds.keys()];
const except = (...names: string[]) => byName(...allHand.filter((n) => !names.includes(n)));

describe('filterToSql on PostgreSQL: hand-written expectations (hand-crafted users)', () => {
  const cases: [string, string[]][] = [
    ['userName eq "ALICE"', byName('alice')],
    ['userName sw "b"', byName('Bob.Jones')],
    ['name.givenName eq "émile"', byName('émile')],
    ['emails.value eq "alice@example.com"', byName('alice')],
    ['emails.value co "EXAMPLE"', byName('alice', 'Bob.Jones', 'émile', 'frank')],
    ['emails[type eq "work" and value ew ".org"]', byName('frank')],
    ['emails[type eq "work" and primary eq true]', byName('alice', 'frank')],
    ['emails[type eq "work" and value eq "frank@example.com"]', byName('frank')], // type is case-insensitive: "Work"
    ['emails[type eq "home"] and not (emails.type eq "work")', byName('Bob.Jones')],
    ['emails pr', byName('alice', 'Bob.Jones', 'émile', 'frank', 'grace')],
    ['emails.value pr', byName('alice', 'Bob.Jones', 'émile', 'frank')],
    ['title pr', except('carol')],
    ['title eq null', byName('carol')],
    ['title co "%"', byName('dan')],
    ['title co "_"', byName('dan')],
    ['title ew "\\\\"', byName('dan')],
    ['title eq "engineer"', byName('alice')],
    ['title gt "m"', byName('Bob.Jones')],
    ['active eq false', byName('Bob.Jones')],
    ['active eq "True"', except('Bob.Jones')],
    ['externalId eq "EXT-1"', byName('alice')],
    ['externalId pr', byName('alice', 'Bob.Jones', 'grace')],
    ['externalId ne "EXT-1"', except('alice')],
    [`${ENT}:department eq "r&d"`, byName('alice', 'frank')],
    [`${ENT}:department pr`, byName('alice', 'Bob.Jones', 'frank')],
    [`${ENT}:manager.value eq "${uuid(1, 0)}"`, byName('frank')],
    [`${SF}:teams eq "BLUE"`, byName('alice', 'Bob.Jones')],
    [`${SF}:teams eq "solo"`, byName('dan')],
    [`${SF}:teams pr`, byName('alice', 'Bob.Jones', 'carol', 'dan')],
    // Rule-given values in the ledger count like the ones the document sends.
    [`${SF}:teams eq "purple"`, byName('carol')],
    [`${SF}:employeeAreas eq "care coordinator"`, byName('carol', 'dan')],
    [`${SF}:employeeAreas eq "Assigned Agent" and ${SF}:employeeAreas eq "Care Coordinator"`, byName('dan')],
    [`${SF}:employeeAreas sw "care"`, byName('carol', 'dan')],
    [`${SF}:employeeAreas ne "Care Coordinator"`, except('carol', 'dan')],
    [`${SF}:employeeAreas pr`, byName('carol', 'dan')],
    [`${SF}:teams ne "blue"`, except('alice', 'Bob.Jones')],
    [`${SF}:startDate eq "2024-01-15T09:00:00Z"`, byName('alice')],
    [`${SF}:startDate lt "2024-01-15T08:00:00Z"`, byName('frank', 'grace')],
    [`${SF}:startDate pr`, byName('alice', 'émile', 'frank', 'grace')],
    ['meta.created eq "2024-01-01T00:00:00Z"', byName('alice')],
    ['meta.created gt "2024-01-01T00:00:00.000Z"', byName('Bob.Jones', 'carol', 'émile', 'frank', 'grace')],
    ['meta.created le "2024-01-01T00:59:59.999+01:00"', byName('dan')],
    ['meta.created lt "2023-12-31T23:59:59.999Z"', []],
    ['meta.lastModified ge "2024-04-01"', byName('frank', 'grace')],
    ['meta.created le "9999-12-31T23:59:59.999Z" and meta.created gt "0001-01-01T00:00:00Z"', except()],
    ['not (userName eq "alice" or userName eq "bob.jones")', except('alice', 'Bob.Jones')],
    ['not (userName eq "alice") and not (userName eq "bob.jones")', except('alice', 'Bob.Jones')],
    [`id eq "${uuid(1, 2).toUpperCase()}"`, byName('carol')],
    ['id eq "nonsense"', []],
    ['name pr', byName('alice', 'Bob.Jones', 'carol', 'émile', 'grace')],
    [`groups.value eq "${groupIds.admins}"`, byName('alice', 'Bob.Jones')],
    [`groups[value eq "${groupIds.otherTenant}"]`, []],
    ['userName eq "x" or (active eq false and title co "MAN")', byName('Bob.Jones')],
  ];

  it.each(cases)('%s', async (filter, expected) => {
    const hand = new Set(handIds.values());
    const got = (await select(filter)).filter((id) => hand.has(id));
    expect(got).toEqual(expected);
    // The evaluator agrees on the same users.
    const evaluated = t1
      .filter((r) => hand.has(r.id) && evaluateFilter(parseFilter(filter), r.resource, { ledger: r.ledger }))
      .map((r) => r.id)
      .sort();
    expect(evaluated).toEqual(expected);
  });

  it('filters groups by members, in the tenant only', async () => {
    expect(await select(`members[value eq "${uuid(1, 0)}"]`, 'Group')).toEqual([groupIds.admins, groupIds.everyone]);
    expect(await select(`members.value eq "${uuid(1, 2)}"`, 'Group')).toEqual([groupIds.everyone]);
    expect(await select('displayName eq "admins"', 'Group')).toEqual([groupIds.admins]);
    expect(await select('not (members pr)', 'Group')).toEqual([groupIds.empty]);
    expect(await select('members.value eq "not-a-uuid" or members.value co "0000-4000"', 'Group')).toEqual([groupIds.admins, groupIds.everyone]);
    expect(await select(`members[value eq "${uuid(2, 0)}"]`, 'Group')).toEqual([]);
  });

  it('sorts by sortToSql expressions without errors', async () => {
    for (const sortBy of [
      'userName',
      'name.familyName',
      'emails',
      'emails.value',
      'title',
      'meta.created',
      `${ENT}:department`,
      `${SF}:teams`,
      `${SF}:startDate`,
      'active',
    ]) {
      const params: unknown[] = ['t1'];
      const order = sortToSql(sortBy, 'User', params);
      const { rows } = await db.query<{ id: string }>(`SELECT r.id::text AS id FROM scim_users r WHERE r.tenant_id = $1 ORDER BY ${order}, r.id`, params);
      expect(rows).toHaveLength(SEEDS.length);
    }
  });

  it('sorts multi-valued attributes by the primary value, else the first', async () => {
    const params: unknown[] = ['t1', [handIds.get('alice'), handIds.get('frank'), handIds.get('Bob.Jones')]];
    const order = sortToSql('emails.value', 'User', params);
    const { rows } = await db.query<{ id: string; k: string }>(
      `SELECT r.id::text AS id, ${order} AS k FROM scim_users r WHERE r.tenant_id = $1 AND r.id = ANY($2::uuid[]) ORDER BY k`,
      params,
    );
    // frank's primary is f@x.org although frank@example.com comes first
    expect(rows.map((r) => r.k)).toEqual(['alice@example.com', 'bob@example.com', 'f@x.org']);
  });
});

// --- property: SQL and evaluator agree ---------------------------------------------------

const str = (v: string) => JSON.stringify(v);
const anyCase = (s: string) => fc.constantFrom(s, s.toUpperCase(), s[0].toUpperCase() + s.slice(1));
const stringOp = fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le');
const orderOp = fc.constantFrom('eq', 'ne', 'gt', 'lt', 'ge', 'le');

function stringAtom(path: string, pool: string[]): fc.Arbitrary<string> {
  const value = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) });
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(stringOp, value).map(([op, v]) => `${path} ${op} ${str(v)}`) },
    { weight: 1, arbitrary: fc.constantFrom(`${path} pr`, `${path} eq null`, `${path} ne null`) },
  );
}

const createdPool = [
  ...new Set(SEEDS.flatMap((s) => [s.created, new Date(Date.parse(s.created) + 1).toISOString(), new Date(Date.parse(s.created) - 1).toISOString()])),
];
const datePool = [
  '2024-01-15T09:00:00Z',
  '2024-01-15T07:00:00.000Z',
  '2024-01-15',
  '2024-01-15T14:00:00+05:00',
  '2024-06-01T00:00:00.123Z',
  '2024-06-01T00:00:00.1239Z',
  '2023-12-31T23:59:59.999Z',
  '2024-01-01T00:00:00.000+00:00',
  '9999-12-31T23:59:59.999Z',
  '0001-01-01T00:00:00Z',
];

const atom: fc.Arbitrary<string> = fc.oneof(
  stringAtom('userName', ['alice', 'ALICE', 'user1', 'User', 'bob.jones', 'émile', 'e', '']),
  fc.tuple(anyCase('username'), stringOp, fc.constantFrom('alice', 'user')).map(([p, op, v]) => `${p} ${op} ${str(v)}`),
  stringAtom('name.givenName', ['alice', 'Émile', 'zoë', 'bob', 'a', '']),
  stringAtom('emails.value', ['alice@example.com', 'example', '.org', '@', 'f@x.org', 'alice0.0@x.org', '']),
  stringAtom('emails.type', ['work', 'home', 'WORK', 'other']),
  fc
    .tuple(
      fc.constantFrom('work', 'home', 'Work', 'other'),
      fc.option(fc.tuple(stringOp, fc.constantFrom('example', '.org', 'alice@example.com')), { nil: undefined }),
      fc.boolean(),
    )
    .map(
      ([type, value, primary]) =>
        `emails[type eq ${str(type)}${value ? ` and value ${value[0]} ${str(value[1])}` : ''}${primary ? ' and primary eq true' : ''}]`,
    ),
  fc.tuple(fc.constantFrom('eq', 'ne'), fc.constantFrom('true', 'false', '"True"', '"false"')).map(([op, v]) => `active ${op} ${v}`),
  stringAtom('title', ['engineer', 'Manager', '%', '_', '\\', 'eng', 'm', 'ingénieur', '50% off', '']),
  stringAtom('externalId', ['EXT-1', 'ext-1', 'EXT', 'E1', 'E']),
  fc.tuple(orderOp, fc.constantFrom(...createdPool, ...datePool)).map(([op, v]) => `meta.created ${op} ${str(v)}`),
  fc.tuple(orderOp, fc.constantFrom(...createdPool)).map(([op, v]) => `meta.lastModified ${op} ${str(v)}`),
  stringAtom(`${ENT}:department`, ['r&d', 'R&D', 'sales', 'r', '']),
  stringAtom(`${SF}:teams`, ['blue', 'Red', 'solo', 'green', 'b', 'purple', '']),
  stringAtom(`${SF}:employeeAreas`, ['care coordinator', 'Assigned Agent', 'care', 'agent', '']),
  stringAtom(`${SF}:biGroups`, ['finance', 'Fin', '']),
  fc.oneof(
    fc.tuple(orderOp, fc.constantFrom(...datePool)).map(([op, v]) => `${SF}:startDate ${op} ${str(v)}`),
    fc.constantFrom(`${SF}:startDate pr`, `${SF}:startDate eq null`),
  ),
  fc.constantFrom('name pr', 'emails pr', `${ENT}:manager pr`, `${SF}:teams pr`, `${SF}:employeeAreas pr`, `${SF}:biGroups pr`, 'id pr', 'meta.created pr'),
  fc.constantFrom(`id eq "${uuid(1, 3)}"`, `id ne "${uuid(1, 4)}"`, 'id sw "00000000"', `groups.value eq "${uuid(1, 900)}"`),
  // invalid filters: both sides must reject them identically
  fc.constantFrom('active gt true', 'title eq 5', 'meta.created eq "soon"', 'unknownAttr pr', 'emails co "x"'),
);

const filterArb: fc.Arbitrary<string> = fc.letrec<{ f: string }>((tie) => ({
  f: fc.oneof(
    { maxDepth: 4, depthSize: 'small' },
    { weight: 3, arbitrary: atom },
    { weight: 1, arbitrary: fc.tuple(tie('f'), fc.constantFrom('and', 'or', 'AND', 'Or'), tie('f')).map(([a, op, b]) => `${a} ${op} ${b}`) },
    { weight: 1, arbitrary: fc.tuple(tie('f'), fc.constantFrom('and', 'or'), tie('f')).map(([a, op, b]) => `(${a} ${op} ${b})`) },
    { weight: 1, arbitrary: tie('f').map((a) => `not (${a})`) },
  ),
})).f;

describe('filterToSql on PostgreSQL: property against evaluateFilter', () => {
  it('returns exactly the users evaluateFilter accepts, in the tenant only, without SQL errors', async () => {
    const t1Ids = new Set(t1.map((r) => r.id));
    await fc.assert(
      fc.asyncProperty(filterArb, async (filter) => {
        let node;
        try {
          node = parseFilter(filter);
        } catch (err) {
          throw new Error(`generated filter did not parse: ${filter}: ${(err as Error).message}`);
        }
        let sqlError: unknown;
        let where = '';
        const params: unknown[] = ['t1'];
        try {
          where = filterToSql(node, 'User', params);
        } catch (err) {
          sqlError = err;
        }
        if (sqlError !== undefined) {
          // Rejected: it must be a ScimError 400, and the evaluator must reject it alike.
          expect(sqlError).toBeInstanceOf(ScimError);
          expect((sqlError as ScimError).scimType).toBe('invalidFilter');
          expect(() => evaluateFilter(node, t1[0].resource)).toThrow((sqlError as ScimError).detail);
          return;
        }
        const { rows } = await db.query<{ id: string }>(
          `SELECT r.id::text AS id FROM scim_users r WHERE r.tenant_id = $1 AND (${where}) ORDER BY r.id`,
          params,
        );
        const got = rows.map((r) => r.id);
        for (const id of got) expect(t1Ids.has(id)).toBe(true);
        const expected = t1
          .filter((r) => evaluateFilter(node, r.resource, { ledger: r.ledger }))
          .map((r) => r.id)
          .sort();
        expect({ filter, ids: got }).toEqual({ filter, ids: expected });
      }),
      { numRuns: 150 },
    );
  });

  it('never raises a SQL error for arbitrary comparison values', async () => {
    const paths = [
      'userName',
      'title',
      'emails.value',
      'emails.type',
      'externalId',
      'meta.created',
      `${SF}:startDate`,
      `${SF}:teams`,
      `${SF}:employeeAreas`,
      'id',
      `${ENT}:department`,
      'active',
      'name.givenName',
    ];
    const value = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }).map((s) => JSON.stringify(s)),
      fc.double().map((n) => (Number.isFinite(n) ? String(n) : '0')),
      fc.constantFrom(
        'true',
        'false',
        'null',
        '"2024-13-01"',
        '"0000-01-01"',
        '"9999-12-31T23:59:59.999-14:00"',
        '"9999-12-31T23:59:59.999Z"',
        '"0001-01-01T00:00:00Z"',
        '"2024-01-01T00:00:00+15:00"',
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), stringOp, value, async (path, op, v) => {
        let node;
        let where: string;
        const params: unknown[] = ['t1'];
        try {
          node = parseFilter(`${path} ${op} ${v}`);
          where = filterToSql(node, 'User', params);
        } catch (err) {
          expect(err).toBeInstanceOf(ScimError);
          return;
        }
        const { rows } = await db.query<{ id: string }>(
          `SELECT r.id::text AS id FROM scim_users r WHERE r.tenant_id = $1 AND (${where}) ORDER BY r.id`,
          params,
        );
        const expected = t1
          .filter((r) => evaluateFilter(node, r.resource, { ledger: r.ledger }))
          .map((r) => r.id)
          .sort();
        expect(rows.map((r) => r.id)).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });
});
