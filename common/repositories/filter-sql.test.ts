import { ScimError } from '../../scim/error';
import { evaluateFilter, parseFilterDateTime, parseStoredDateTime } from '../../scim/filter/evaluate';
import { parseFilter } from '../../scim/filter/parser';
import { type ResourceKind, escapeLike, filterToSql, sortToSql } from './filter-sql';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const SCIMFLOW = 'urn:ietf:params:scim:schemas:extension:scimflow:2.0:User';
const UUID = '2819c223-7f76-453a-919d-413861904646';

function sql(filter: string, kind: ResourceKind = 'User', params: unknown[] = []): { sql: string; params: unknown[] } {
  const out = filterToSql(parseFilter(filter), kind, params);
  return { sql: out, params };
}

function errorOf(fn: () => unknown): ScimError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ScimError);
    return err as ScimError;
  }
  throw new Error('expected a ScimError');
}

/** Every $n in the SQL refers to an existing parameter. */
function expectPlaceholdersValid(q: { sql: string; params: unknown[] }): void {
  for (const m of q.sql.matchAll(/\$(\d+)/g)) expect(Number(m[1])).toBeLessThanOrEqual(q.params.length);
}

describe('filterToSql: dedicated columns', () => {
  it('userName eq uses lower() on both sides (the lower(user_name) index)', () => {
    expect(sql('userName eq "Bjensen"')).toEqual({ sql: 'lower(r.user_name) = lower($1::text)', params: ['Bjensen'] });
  });

  it('numbers placeholders after parameters the caller already holds', () => {
    expect(sql('userName eq "b"', 'User', ['tenant'])).toEqual({ sql: 'lower(r.user_name) = lower($2::text)', params: ['tenant', 'b'] });
  });

  it('externalId is caseExact and nullable', () => {
    expect(sql('externalId eq "E1"')).toEqual({ sql: '(r.external_id IS NOT NULL AND r.external_id = $1::text)', params: ['E1'] });
    expect(sql('externalId pr').sql).toBe("(r.external_id IS NOT NULL AND r.external_id <> '')");
  });

  it('displayName is case-insensitive, for users and groups', () => {
    expect(sql('displayName eq "Ops"').sql).toBe('(r.display_name IS NOT NULL AND lower(r.display_name) = lower($1::text))');
    expect(sql('displayName sw "Ops"', 'Group')).toEqual({
      sql: "(r.display_name IS NOT NULL AND lower(r.display_name) LIKE lower($1::text) ESCAPE '\\')",
      params: ['Ops%'],
    });
  });

  it('id eq compares as uuid; anything else matches nothing without a cast error', () => {
    expect(sql(`id eq "${UUID.toUpperCase()}"`)).toEqual({ sql: 'r.id = $1::uuid', params: [UUID.toUpperCase()] });
    expect(sql('id eq "not-a-uuid"')).toEqual({ sql: 'FALSE', params: [] });
    expect(sql('id sw "2819"').sql).toBe("lower(r.id::text) LIKE lower($1::text) ESCAPE '\\'");
  });

  it('active compares as boolean, and Entra-style "True" strings are coerced', () => {
    expect(sql('active eq true')).toEqual({ sql: 'r.active = $1::boolean', params: [true] });
    expect(sql('active eq "False"')).toEqual({ sql: 'r.active = $1::boolean', params: [false] });
    expect(sql('active ne true')).toEqual({ sql: 'NOT (r.active = $1::boolean)', params: [true] });
    expect(sql('active pr').sql).toBe('TRUE');
  });

  it('meta.created / meta.lastModified compare at millisecond precision with index-friendly ranges', () => {
    const next = (n: number) => `($${n}::timestamptz + interval '1 millisecond')`;
    expect(sql('meta.created eq "2024-05-01T10:00:00.123Z"')).toEqual({
      sql: `(r.created_at >= $1::timestamptz AND r.created_at < ${next(1)})`,
      params: ['2024-05-01T10:00:00.123Z'],
    });
    expect(sql('meta.lastModified gt "2024-05-01T12:00:00+02:00"')).toEqual({ sql: `r.updated_at >= ${next(1)}`, params: ['2024-05-01T10:00:00.000Z'] });
    expect(sql('meta.created le "2024-05-01"')).toEqual({ sql: `r.created_at < ${next(1)}`, params: ['2024-05-01T00:00:00.000Z'] });
    expect(sql('meta.created lt "2024-05-01"')).toEqual({ sql: 'r.created_at < $1::timestamptz', params: ['2024-05-01T00:00:00.000Z'] });
    expect(sql('meta.created ge "2024-05-01"')).toEqual({ sql: 'r.created_at >= $1::timestamptz', params: ['2024-05-01T00:00:00.000Z'] });
    expect(sql('meta.created ge "2024-05-01T00:00:00.1234567Z"').params).toEqual(['2024-05-01T00:00:00.123Z']);
  });

  it('emails.value eq uses the GIN-indexed email_values; other operators scan it', () => {
    expect(sql('emails.value eq "B@X.com"')).toEqual({ sql: 'r.email_values @> ARRAY[lower($1::text)]::text[]', params: ['B@X.com'] });
    expect(sql('emails.value ew "@x.com"')).toEqual({
      sql: "EXISTS (SELECT 1 FROM unnest(r.email_values) AS ev(v) WHERE lower(ev.v) LIKE lower($1::text) ESCAPE '\\')",
      params: ['%@x.com'],
    });
    expect(sql('emails.value pr').sql).toBe("EXISTS (SELECT 1 FROM unnest(r.email_values) AS ev(v) WHERE ev.v <> '')");
  });
});

describe('filterToSql: group members and related rows', () => {
  const members = 'EXISTS (SELECT 1 FROM scim_group_members m WHERE m.tenant_id = r.tenant_id AND m.group_id = r.id AND';

  it('members.value eq and members[value eq] are member-table lookups', () => {
    expect(sql(`members.value eq "${UUID}"`, 'Group')).toEqual({ sql: `${members} (m.member_id = $1::uuid))`, params: [UUID] });
    expect(sql(`members[value eq "${UUID}"]`, 'Group')).toEqual({ sql: `${members} (m.member_id = $1::uuid))`, params: [UUID] });
    expect(sql('members[value eq "x" and type eq "User"]', 'Group').sql).toBe(`${members} ((FALSE AND lower(m.member_type) = lower($1::text))))`);
    expect(sql('members pr', 'Group').sql).toBe(`${members} (TRUE OR m.member_type <> ''))`);
  });

  it("a user's groups.value and the provisioning state come from their tables", () => {
    expect(sql(`groups.value eq "${UUID}"`).sql).toBe(
      'EXISTS (SELECT 1 FROM scim_group_members m WHERE m.tenant_id = r.tenant_id AND m.member_id = r.id AND (m.group_id = $1::uuid))',
    );
    expect(sql(`${SCIMFLOW}:provisioning.state eq "active"`).sql).toBe(
      'EXISTS (SELECT 1 FROM provisioning_states p WHERE p.tenant_id = r.tenant_id AND p.user_id = r.id AND (lower(p.state) = lower($1::text)))',
    );
  });
});

describe('filterToSql: attributes in the JSON document', () => {
  it('passes JSON keys as parameters, never as SQL text', () => {
    const q = sql('name.givenName eq "Barbara"');
    expect(q.params).toEqual(['name', 'givenName', 'Barbara']);
    expect(q.sql).toBe(
      "COALESCE(jsonb_typeof(r.doc -> $1::text -> $2::text) = 'string' AND lower((r.doc -> $1::text -> $2::text #>> '{}')) = lower($3::text), FALSE)",
    );
  });

  it('extension attributes live under their URN key', () => {
    const q = sql(`${ENTERPRISE}:department eq "Sales"`);
    expect(q.params).toEqual([ENTERPRISE, 'department', 'Sales']);
    expect(q.sql).not.toContain('urn:');
  });

  it('multi-valued attributes become EXISTS over their elements, guarded against non-arrays', () => {
    const q = sql('emails.type eq "work"');
    expect(q.sql).toMatch(/^EXISTS \(SELECT 1 FROM jsonb_array_elements\(CASE WHEN jsonb_typeof\(r\.doc -> \$1::text\) = 'array'/);
    expect(q.params).toEqual(['emails', 'type', 'work']);
    const teams = sql(`${SCIMFLOW}:teams eq "Blue"`);
    expect(teams.params).toEqual([SCIMFLOW, 'teams', 'Blue', 'team', 'Blue']);
    expect(teams.sql).toContain("AS e1(v) WHERE COALESCE(jsonb_typeof(e1.v) = 'string' AND lower((e1.v #>> '{}')) = lower($3::text), FALSE)");
    // …or the value in force in the ledger (rule-given tags and teams), tenant first.
    expect(teams.sql).toContain(
      'OR EXISTS (SELECT 1 FROM app_user_settings ls WHERE ls.tenant_id = r.tenant_id AND ls.user_id = r.id AND ls.kind = $4::text AND lower(ls.value) = lower($5::text))',
    );
  });

  it('a value path holds on one element, and emails[value eq] pre-filters through email_values', () => {
    const q = sql('emails[type eq "work" and value eq "a@x.com"]');
    expect(q.sql.startsWith('(r.email_values @> ARRAY[lower($1::text)]::text[] AND EXISTS (SELECT 1 FROM jsonb_array_elements(')).toBe(true);
    expect(q.sql.match(/EXISTS/g)).toHaveLength(1);
    expect(q.params).toEqual(['a@x.com', 'emails', 'type', 'work', 'value', 'a@x.com']);
  });

  it('co/sw/ew escape LIKE wildcards in the value', () => {
    expect(escapeLike('50%_off\\')).toBe('50\\%\\_off\\\\');
    expect(sql('title co "50%_x\\\\"').params).toEqual(['title', '%50\\%\\_x\\\\%']);
    expect(sql('externalId sw "A_"').params).toEqual(['A\\_%']);
  });

  it('ordering comparisons on strings use code point order', () => {
    expect(sql('title gt "M"').sql).toContain('lower((r.doc -> $1::text #>> \'{}\')) COLLATE "C" > lower($2::text)');
  });

  it('dateTime in the document is cast only when valid', () => {
    const q = sql(`${SCIMFLOW}:startDate ge "2024-01-01"`);
    expect(q.sql).toContain('try_timestamptz');
    expect(q.params[q.params.length - 1]).toBe('2024-01-01T00:00:00.000Z');
  });

  it('pr, eq null and ne null', () => {
    expect(sql('title pr').sql).toMatch(/^COALESCE\(jsonb_path_exists\(r\.doc -> \$1::text, 'strict/);
    expect(sql('title eq null').sql).toMatch(/^NOT \(COALESCE\(jsonb_path_exists/);
    expect(sql('title ne null').sql).toMatch(/^COALESCE\(jsonb_path_exists/);
    expect(sql('userName eq null').sql).toBe("NOT (r.user_name <> '')");
  });

  it('not, and, or keep their structure, with and/or chains flattened', () => {
    expect(sql('not (userName eq "a" or userName eq "b") and active eq true').sql).toBe(
      '(NOT ((lower(r.user_name) = lower($1::text) OR lower(r.user_name) = lower($2::text))) AND r.active = $3::boolean)',
    );
    expect(sql('userName pr or userName pr or userName pr').sql).toBe("(r.user_name <> '' OR r.user_name <> '' OR r.user_name <> '')");
  });
});

describe('filterToSql: no input text in SQL', () => {
  const hostile = ["'; DROP TABLE scim_users; --", 'x$1y', '"quoted"', 'back\\slash', "O'Brien", '%_', ')) OR TRUE --'];
  const templates = [
    (v: string) => `userName eq ${JSON.stringify(v)}`,
    (v: string) => `title co ${JSON.stringify(v)}`,
    (v: string) => `emails[type eq ${JSON.stringify(v)} or value sw ${JSON.stringify(v)}]`,
    (v: string) => `${ENTERPRISE}:department ne ${JSON.stringify(v)}`,
    (v: string) => `externalId gt ${JSON.stringify(v)}`,
    (v: string) => `emails.value ew ${JSON.stringify(v)}`,
  ];
  it.each(hostile)('keeps %j out of the SQL text', (value) => {
    for (const t of templates) {
      const q = sql(t(value));
      expect(q.sql).not.toContain(value);
      const escaped = value.replace(/[\\%_]/g, (c) => `\\${c}`);
      expect(q.params.some((p) => typeof p === 'string' && (p === value || p.includes(escaped)))).toBe(true);
      expectPlaceholdersValid(q);
    }
  });

  it('attribute names written by the client are not in the SQL either', () => {
    const q = sql(`name.givenName eq "a" and ${ENTERPRISE}:manager.value eq "b" and ${SCIMFLOW}:organisations[role eq "x"]`);
    for (const name of ['givenName', 'manager', 'organisations', 'role', 'enterprise']) expect(q.sql).not.toContain(name);
  });
});

describe('filterToSql: rejected filters', () => {
  it.each([
    ['foo eq "x"', 'User', /Unknown attribute "foo" for User resources/],
    ['name.nickname eq "x"', 'User', /Unknown attribute "name.nickname": "name" has the sub-attributes formatted, familyName/],
    ['userName.x eq "x"', 'User', /"userName" is not a complex attribute/],
    ['urn:example:ext:1.0:User:foo pr', 'User', /Unknown schema "urn:example:ext:1.0:User"/],
    [`${ENTERPRISE}:userName pr`, 'User', /Unknown attribute/],
    ['userName eq "x"', 'Group', /Unknown attribute "userName" for Group resources/],
    ['password eq "secret"', 'User', /"password" cannot be used in a filter/],
    ['active gt true', 'User', /"gt" is not defined for the boolean attribute "active"/],
    ['active co "t"', 'User', /"co" is not defined for the boolean attribute/],
    ['active eq "yes"', 'User', /"active" is boolean/],
    ['emails.primary eq 1', 'User', /"emails.primary" is boolean/],
    ['meta.created eq "yesterday"', 'User', /"meta.created" is a dateTime: .* \(got "yesterday"\)/],
    ['meta.created eq "2023-02-30T00:00:00Z"', 'User', /is a dateTime/],
    ['meta.created eq "0000-01-01T00:00:00Z"', 'User', /is a dateTime/],
    ['meta.created co "2024"', 'User', /"co" is not defined for the dateTime attribute/],
    ['meta.version eq "W/\\"1\\""', 'User', /meta.created or meta.lastModified/],
    ['meta pr', 'User', /meta.created or meta.lastModified/],
    ['userName eq 5', 'User', /"userName" is a string attribute: compare it with a quoted string \(got 5\)/],
    ['userName gt null', 'User', /"gt" cannot compare "userName" with null/],
    ['emails eq "a@x.com"', 'User', /"emails" is a complex attribute: compare one of its sub-attributes \(e.g. emails.value\)/],
    ['name co "x"', 'User', /"name" is a complex attribute/],
    ['userName[value pr]', 'User', /"userName" is not a complex attribute; \[ \] filters apply/],
    ['emails[foo eq "x"]', 'User', /Unknown attribute "emails.foo"/],
    ['members.display eq "x"', 'Group', /Filtering on "members.display" is not supported; filter on members.value or members.type/],
    ['members[$ref pr]', 'Group', /Filtering on "members.\$ref" is not supported/],
    ['schemas eq "x"', 'User', /"schemas" is not supported/],
  ] as const)('%s (%s)', (filter, kind, message) => {
    const err = errorOf(() => sql(filter, kind));
    expect(err.status).toBe(400);
    expect(err.scimType).toBe('invalidFilter');
    expect(err.detail).toMatch(message);
  });

  it('resolves attribute names case-insensitively', () => {
    expect(sql('USERNAME eq "a"').sql).toBe('lower(r.user_name) = lower($1::text)');
    expect(sql('Name.GivenName eq "a"').params).toEqual(['name', 'givenName', 'a']);
    expect(sql(`${ENTERPRISE.toUpperCase()}:DEPARTMENT pr`).params).toEqual([ENTERPRISE, 'department']);
  });
});

describe('sortToSql', () => {
  it.each([
    ['userName', 'User', 'lower(r.user_name)'],
    ['displayName', 'Group', 'lower(r.display_name)'],
    ['externalId', 'User', 'r.external_id'],
    ['id', 'Group', 'r.id'],
    ['meta.created', 'User', 'r.created_at'],
    ['meta.lastModified', 'Group', 'r.updated_at'],
  ] as const)('%s (%s) sorts by a column', (sortBy, kind, expected) => {
    const params: unknown[] = [];
    expect(sortToSql(sortBy, kind, params)).toBe(expected);
    expect(params).toEqual([]);
  });

  it('document attributes sort by a parameterised path', () => {
    const params: unknown[] = ['tenant'];
    expect(sortToSql('name.familyName', 'User', params)).toBe(
      "lower(CASE WHEN jsonb_typeof(r.doc -> $2::text -> $3::text) = 'string' THEN r.doc -> $2::text -> $3::text #>> '{}' END)",
    );
    expect(params).toEqual(['tenant', 'name', 'familyName']);
    expect(sortToSql(`${ENTERPRISE}:department`, 'User', [])).toContain('lower(');
  });

  it('emails and emails.value sort by the primary, else first, email', () => {
    for (const sortBy of ['emails', 'emails.value']) {
      const params: unknown[] = [];
      const out = sortToSql(sortBy, 'User', params);
      expect(out).toMatch(/^\(SELECT lower\(.*WITH ORDINALITY AS s\(v, i\).*ORDER BY \(s\.v -> 'primary' = 'true'::jsonb\) IS TRUE DESC, s\.i LIMIT 1\)$/);
      expect(params).toEqual(['emails', 'value']);
    }
  });

  it.each([
    ['foo', /Unknown attribute "foo"/],
    ['name', /Cannot sort by "name": name one of its sub-attributes/],
    ['members', /Cannot sort by "members"/],
    ['userName eq "x"', /Invalid path/],
    [`${'urn:ietf:params:scim:schemas:extension:scimflow:2.0:User'}:providerAccounts.organisations`, /nested in another multi-valued attribute/],
  ])('rejects %s with invalidPath', (sortBy, message) => {
    const kind: ResourceKind = sortBy === 'members' ? 'Group' : 'User';
    const err = errorOf(() => sortToSql(sortBy, kind, []));
    expect(err.scimType).toBe('invalidPath');
    expect(err.detail).toMatch(message);
  });
});

describe('evaluateFilter (the binding it shares with filterToSql)', () => {
  const user = {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    id: UUID,
    userName: 'BJensen',
    active: true,
    name: { givenName: 'Barbara' },
    emails: [
      { value: 'bjensen@example.com', type: 'work', primary: true },
      { value: 'babs@home.org', type: 'home' },
    ],
    [SCIMFLOW]: { teams: ['Blue'], startDate: '2024-03-01T00:00:00.000Z' },
    meta: { resourceType: 'User', created: '2024-05-01T10:00:00.123Z', lastModified: '2024-05-02T10:00:00.000Z' },
  };
  const ev = (f: string) => evaluateFilter(parseFilter(f), user);

  it('evaluates the same semantics', () => {
    expect(ev('userName eq "bjensen"')).toBe(true);
    expect(ev(`id eq "${UUID.toUpperCase()}"`)).toBe(true);
    expect(ev('emails[type eq "work" and value co "example"]')).toBe(true);
    expect(ev('emails[type eq "home" and value co "example"]')).toBe(false);
    expect(ev('emails.type ne "work"')).toBe(false); // ne is not(eq): no email may be "work"
    expect(ev('title ne "x"')).toBe(true); // a missing attribute is "not equal"
    expect(ev('title eq null and not (title pr)')).toBe(true);
    expect(ev('active eq "TRUE"')).toBe(true);
    expect(ev('meta.created eq "2024-05-01T12:00:00.123+02:00"')).toBe(true);
    expect(ev('meta.created gt "2024-05-01T10:00:00.122999Z"')).toBe(true);
    expect(ev(`${SCIMFLOW}:teams eq "blue" and ${SCIMFLOW}:startDate lt "2024-03-02"`)).toBe(true);
    expect(ev('name pr and not (addresses pr)')).toBe(true);
  });

  it('throws the same ScimError as the SQL path', () => {
    expect(errorOf(() => ev('foo pr')).detail).toMatch(/Unknown attribute "foo"/);
    expect(errorOf(() => ev('active lt true')).scimType).toBe('invalidFilter');
  });

  it('evaluates a PATCH path filter against one element with `within`', () => {
    const filter = parseFilter('type eq "work" and primary eq true');
    expect(evaluateFilter(filter, user.emails[0], { within: { attr: 'emails' } })).toBe(true);
    expect(evaluateFilter(filter, user.emails[1], { within: { attr: 'emails' } })).toBe(false);
    expect(evaluateFilter(parseFilter('value eq "x"'), { value: 'x' }, { kind: 'Group', within: { attr: 'members' } })).toBe(true);
  });

  it('infers Group resources from their schemas', () => {
    const group = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: UUID, displayName: 'Ops', members: [{ value: UUID, type: 'User' }] };
    expect(evaluateFilter(parseFilter(`displayName eq "ops" and members[value eq "${UUID}"]`), group)).toBe(true);
  });
});

describe('date-time parsing', () => {
  it('reads RFC 3339 literals leniently and stored values strictly', () => {
    expect(parseFilterDateTime('2024-05-01T10:00:00.1239999Z')).toBe(Date.UTC(2024, 4, 1, 10, 0, 0, 123));
    expect(parseFilterDateTime('2024-05-01T10:00:00+0130')).toBe(Date.UTC(2024, 4, 1, 8, 30));
    expect(parseFilterDateTime('2024-05-01T10:00')).toBe(Date.UTC(2024, 4, 1, 10));
    expect(parseFilterDateTime('0001-01-01T00:00:00Z')).toBe(new Date('0001-01-01T00:00:00Z').getTime());
    expect(parseFilterDateTime('0001-01-01T00:00:00+01:00')).toBeUndefined(); // before year 1 in UTC
    expect(parseFilterDateTime('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
    expect(parseFilterDateTime('2023-02-29')).toBeUndefined();
    expect(parseFilterDateTime('2024-05-01T24:00:00Z')).toBeUndefined();
    expect(parseFilterDateTime('May 1, 2024')).toBeUndefined();
    expect(parseStoredDateTime('2024-05-01T10:00:00.123456Z')).toBe(Date.UTC(2024, 4, 1, 10, 0, 0, 123));
    expect(parseStoredDateTime('2024-05-01T10:00:00.1234567Z')).toBeUndefined();
    expect(parseStoredDateTime('2024-05-01T10:00:00-05:00')).toBe(Date.UTC(2024, 4, 1, 15));
    expect(parseStoredDateTime('2024-05-01')).toBe(Date.UTC(2024, 4, 1));
  });
});
