import { ScimError } from '../scim/error';
import { LIMITS } from './limits';
import { pageOf, parseListRequest } from './list-params';

const ID = '00000000-0000-4000-8000-000000000001';

describe('parseListRequest', () => {
  test('when the filter is userName eq (any case) or id eq, then the query is a unique-key look-up', () => {
    for (const filter of ['userName eq "a"', 'USERNAME Eq "A"', `id eq "${ID}"`, 'id eq "not-a-uuid"']) {
      expect(parseListRequest({ filter }, 'User', 't1').query.uniqueKey).toBe(true);
    }
    expect(parseListRequest({ filter: `id eq "${ID}"` }, 'Group', 't1').query.uniqueKey).toBe(true);
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
      expect({ filter, unique: parseListRequest({ filter }, 'User', 't1').query.uniqueKey }).toEqual({ filter, unique: false });
    }
    expect(parseListRequest({ filter: 'displayName eq "a"' }, 'Group', 't1').query.uniqueKey).toBe(false);
  });
});

describe('page windows', () => {
  test('when an index page has no filter and no sort, then it is a range of listing positions; otherwise an offset', () => {
    expect(parseListRequest({ startIndex: '3', count: '10' }, 'User', 't1').query.page).toEqual({ kind: 'range', from: 3, limit: 10 });
    expect(parseListRequest({ startIndex: '3', count: '10', filter: 'active eq true' }, 'User', 't1').query.page).toEqual({
      kind: 'offset',
      offset: 2,
      limit: 10,
    });
    expect(parseListRequest({ startIndex: '3', count: '10', sortBy: 'userName' }, 'User', 't1').query.page).toEqual({ kind: 'offset', offset: 2, limit: 10 });
  });

  test('when startIndex is below 1 or count negative on an index page, then they are read as 1 and 0 (RFC 7644 §3.4.2.4)', () => {
    const req = parseListRequest({ startIndex: '0', count: '-1' }, 'User', 't1');
    expect([req.startIndex, req.count, req.query.page]).toEqual([1, 0, { kind: 'range', from: 1, limit: 0 }]);
    expect(parseListRequest({ count: String(LIMITS.pageSize + 5) }, 'User', 't1').count).toBe(LIMITS.pageSize);
  });

  test('when paging by cursor, then one row more than asked is read after (or before) the cursor position', () => {
    const first = parseListRequest({ cursor: '', count: '10' }, 'User', 't1');
    expect(first.query.page).toEqual({ kind: 'keyset', limit: 11 });
    const rows = Array.from({ length: 11 }, (_, i) => ({ listPosition: i + 1 }));
    const { rows: page, nextCursor, previousCursor } = pageOf(first, rows);
    expect(page).toHaveLength(10);
    expect(previousCursor).toBeUndefined();
    const second = parseListRequest({ cursor: nextCursor, count: '10' }, 'User', 't1');
    expect(second.query.page).toEqual({ kind: 'keyset', after: 10, limit: 11 });
    const back = pageOf(second, [{ listPosition: 11 }]);
    expect(back.nextCursor).toBeUndefined();
    expect(parseListRequest({ cursor: back.previousCursor, count: '10' }, 'User', 't1').query.page).toEqual({ kind: 'keyset', before: 11, limit: 11 });
  });
});

describe('cursor errors (RFC 9865 §2.2)', () => {
  const scimTypeOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return [(err as ScimError).status, (err as ScimError).scimType];
    }
    return 'no error';
  };
  const issued = (tenant: string, filter?: string, nowMs = Date.now()) =>
    pageOf(parseListRequest({ cursor: '', count: '1', filter }, 'User', tenant, nowMs), [{ listPosition: 1 }, { listPosition: 2 }]).nextCursor;

  test('when a cursor was not issued here, then 400 invalidCursor', () => {
    expect(scimTypeOf(() => parseListRequest({ cursor: 'not-a-cursor' }, 'User', 't1'))).toEqual([400, 'invalidCursor']);
    expect(scimTypeOf(() => parseListRequest({ cursor: Buffer.from('{"p":"1"}').toString('base64url') }, 'User', 't1'))).toEqual([400, 'invalidCursor']);
  });

  test('when a cursor of another tenant, resource type or filter is used, then 400 invalidCursor', () => {
    const cursor = issued('t1', 'active eq true');
    expect(scimTypeOf(() => parseListRequest({ cursor, filter: 'active eq true' }, 'User', 't1'))).toBe('no error');
    expect(scimTypeOf(() => parseListRequest({ cursor, filter: 'active eq true' }, 'User', 't2'))).toEqual([400, 'invalidCursor']);
    expect(scimTypeOf(() => parseListRequest({ cursor, filter: 'active eq false' }, 'User', 't1'))).toEqual([400, 'invalidCursor']);
    const unfiltered = issued('t1');
    expect(scimTypeOf(() => parseListRequest({ cursor: unfiltered }, 'Group', 't1'))).toEqual([400, 'invalidCursor']);
  });

  test('when a cursor is older than the cursor timeout, then 400 expiredCursor', () => {
    const then = Date.now() - (LIMITS.cursorTimeoutSeconds + 5) * 1000;
    expect(scimTypeOf(() => parseListRequest({ cursor: issued('t1', undefined, then) }, 'User', 't1'))).toEqual([400, 'expiredCursor']);
    expect(scimTypeOf(() => parseListRequest({ cursor: issued('t1', undefined, Date.now() - 60_000) }, 'User', 't1'))).toBe('no error');
  });

  test('when a cursor page asks for count below 1 or not a number, then 400 invalidCount', () => {
    for (const count of ['0', '-1', 'abc']) expect(scimTypeOf(() => parseListRequest({ cursor: '', count }, 'User', 't1'))).toEqual([400, 'invalidCount']);
    expect(scimTypeOf(() => parseListRequest({ count: 'abc' }, 'User', 't1'))).toEqual([400, 'invalidCount']);
  });
});
