import { DatabaseUnavailableError, type Db } from '../common/db';
import { createLogger } from '../common/logger';
import { createMetrics } from '../common/metrics';
import { createRequestLog, identifiersOfBody, identifiersOfFilter, recordedPath, redactFilter, type RequestLogEntry } from './request-log';

const entry = (n: number, extra: Partial<RequestLogEntry> = {}): RequestLogEntry => ({
  tenantId: 't',
  at: new Date(),
  method: 'POST',
  path: '/Users',
  resourceId: null,
  userName: `user${n}`,
  externalId: null,
  status: 201,
  scimType: null,
  detail: null,
  tokenId: null,
  requestId: `r${n}`,
  durationMs: 1,
  ...extra,
});

/** A database whose INSERTs record their row counts, or fail while `down`. */
function fakeDb() {
  const state = { down: false, inserts: [] as number[], requestIds: [] as string[] };
  const db = {
    kind: 'postgres',
    async query(_sql: string, params: unknown[]) {
      if (state.down) throw new DatabaseUnavailableError(new Error('connection refused'));
      const ids = params[11] as string[];
      state.inserts.push(ids.length);
      state.requestIds.push(...ids);
      return { rows: [], rowCount: ids.length };
    },
  } as unknown as Db;
  return { db, state };
}

describe('the path and identifiers recorded', () => {
  test('when a filter compares identifiers and other attributes, then only the identifiers keep their values', () => {
    expect(redactFilter('userName eq "jane@example.org"')).toBe('userName eq "jane@example.org"');
    expect(redactFilter('externalId eq "00u1" and name.familyName co "Doe"')).toBe('externalId eq "00u1" and name.familyName co "…"');
    expect(redactFilter('emails[value eq "jane@example.org"] or phoneNumbers.value eq 0123')).toBe('emails[value eq "…"] or phoneNumbers.value eq …');
    expect(redactFilter('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "j"')).toBe('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "j"');
    expect(redactFilter('this is "not a filter"')).toBe('this is "…"');
  });

  test('when the query holds other parameters, then paging and attribute lists keep their values and the rest are elided', () => {
    expect(recordedPath('/Users', 'filter=userName%20eq%20%22j%22&startIndex=1&count=10&unknown=Jane')).toBe(
      '/Users?filter=userName eq "j"&startIndex=1&count=10&unknown=…',
    );
    expect(recordedPath('/Users/abc', '')).toBe('/Users/abc');
  });

  test('when a body or filter names a userName or externalId, then they are taken; nothing else is', () => {
    expect(identifiersOfBody({ userName: 'j', externalId: 'e', name: { givenName: 'Jane' } })).toEqual({ userName: 'j', externalId: 'e' });
    expect(identifiersOfBody({ Operations: [{ op: 'replace', path: 'userName', value: 'new' }] })).toEqual({ userName: 'new', externalId: undefined });
    expect(identifiersOfBody({ Operations: [{ op: 'replace', value: { externalId: 'x', displayName: 'Jane' } }] })).toEqual({
      userName: undefined,
      externalId: 'x',
    });
    expect(identifiersOfBody('text')).toEqual({});
    expect(identifiersOfFilter('userName eq "a\\"b" and externalId eq "x"')).toEqual({ userName: 'a"b', externalId: 'x' });
    expect(identifiersOfFilter('userName sw "a"')).toEqual({});
  });
});

describe('the writer', () => {
  const logger = createLogger('silent');

  test('when 450 requests are recorded, then they are written in INSERTs of at most 200 rows, in order', async () => {
    const { db, state } = fakeDb();
    const log = createRequestLog({ db, logger, batchSize: 200 });
    for (let i = 0; i < 450; i += 1) log.record(entry(i));
    await log.flush();
    expect(state.inserts.every((n) => n <= 200)).toBe(true);
    expect(state.requestIds).toEqual(Array.from({ length: 450 }, (_, i) => `r${i}`));
  });

  test('when PostgreSQL is down, then recording never throws, the buffer stays bounded, the oldest rows are dropped and counted, and the rest are written later', async () => {
    const { db, state } = fakeDb();
    const metrics = createMetrics();
    const log = createRequestLog({ db, logger, metrics, batchSize: 10, maxBuffered: 50 });
    state.down = true;
    for (let i = 0; i < 120; i += 1) log.record(entry(i));
    await log.flush();
    expect(log.stats()).toEqual({ buffered: 50, dropped: 70 });
    expect((await metrics.requestLogDropped.get()).values[0].value).toBe(70);
    state.down = false;
    await log.flush();
    expect(state.requestIds).toEqual(Array.from({ length: 50 }, (_, i) => `r${i + 70}`));
    expect(log.stats().buffered).toBe(0);
  });

  test('when a value cannot be stored (U+0000, a lone surrogate) or is long, then it is made storable', async () => {
    const rows: unknown[][] = [];
    const db = {
      async query(_sql: string, params: unknown[]) {
        rows.push(params);
        return { rows: [], rowCount: 1 };
      },
    } as unknown as Db;
    const log = createRequestLog({ db, logger });
    log.record(entry(1, { userName: 'a\u0000b\ud800', detail: 'x'.repeat(5000) }));
    await log.flush();
    expect((rows[0][5] as string[])[0]).toBe('ab\ufffd');
    expect((rows[0][9] as string[])[0].length).toBe(1000);
  });

  test('when REQUEST_LOG_RETENTION_DAYS is 0, then nothing is recorded', async () => {
    const { db, state } = fakeDb();
    const log = createRequestLog({ db, logger, retentionDays: 0 });
    log.record(entry(1));
    await log.flush();
    expect(log.enabled).toBe(false);
    expect(state.inserts).toEqual([]);
  });
});
