import { pageQuery, parseListRequest } from './list-params';

const ID = '00000000-0000-4000-8000-000000000001';

describe('parseListRequest', () => {
  test('when the filter is userName eq (any case) or id eq, then the query is a unique-key look-up', () => {
    for (const filter of ['userName eq "a"', 'USERNAME Eq "A"', `id eq "${ID}"`, 'id eq "not-a-uuid"']) {
      expect(parseListRequest({ filter }, 'User').query.uniqueKey).toBe(true);
    }
    expect(parseListRequest({ filter: `id eq "${ID}"` }, 'Group').query.uniqueKey).toBe(true);
  });

  test('when the filter is anything else, then the query is a list', () => {
    for (const filter of [
      undefined,
      '',
      'userName ne "a"',
      'userName sw "a"',
      'userName eq "a" and active eq true',
      'userName eq "a" or userName eq "b"',
      'not (userName eq "a")',
      'externalId eq "a"',
      'displayName eq "a"',
      'emails.value eq "a"',
      'userName pr',
    ]) {
      expect({ filter, unique: parseListRequest({ filter }, 'User').query.uniqueKey }).toEqual({ filter, unique: false });
    }
    expect(parseListRequest({ filter: 'displayName eq "a"' }, 'Group').query.uniqueKey).toBe(false);
  });
});

describe('pageQuery', () => {
  test('when paging by cursor, then one row more is fetched; with count 0, none', () => {
    expect(pageQuery(parseListRequest({ cursor: '', count: '10' }, 'User')).limit).toBe(11);
    expect(pageQuery(parseListRequest({ cursor: '', count: '0' }, 'User')).limit).toBe(0);
    expect(pageQuery(parseListRequest({ startIndex: '3', count: '10' }, 'User'))).toMatchObject({ limit: 10, offset: 2 });
    expect(pageQuery(parseListRequest({ count: '0' }, 'User')).limit).toBe(0);
  });
});
