/**
 * Query parameters of a list or search (RFC 7644 §3.4.2, §3.4.3) and cursor paging
 * (RFC 9865), parsed into a `ListQuery` whose filter is parameterised SQL.
 */
import { StatementTimeoutError } from '../common/db';
import { createHash } from 'node:crypto';
import type { ListQuery, PageWindow } from '../common/repositories/list-query';
import { LIMITS } from './limits';
import { bindFilter } from '../scim/filter/evaluate';
import { type FilterNode, parseFilter } from '../scim/filter/parser';
import { filterToSql, sortToSql, type ResourceKind } from '../common/repositories/filter-sql';
import { ScimError } from '../scim/error';

export interface ListRequest {
  query: ListQuery;
  startIndex: number;
  count: number;
  /** Set when the client pages by cursor (RFC 9865; `startIndex` is then unused): what the page's cursors carry. */
  cursor?: { digest: string; issuedAt: number; first: boolean };
  attributes?: string[];
  excludedAttributes?: string[];
  /** A filter that is not a unique-key look-up, or a sortBy: its cost grows with the tenant's resources. */
  costly: boolean;
}

type Raw = Record<string, unknown>;

function integer(raw: unknown, name: string, scimType: 'invalidValue' | 'invalidCount' = 'invalidValue'): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const n = typeof raw === 'number' ? raw : Number(String(raw));
  if (!Number.isFinite(n) || !Number.isInteger(n)) throw ScimError.badRequest(scimType, `"${name}" must be an integer (got ${JSON.stringify(raw)}).`);
  return n;
}

function csv(raw: unknown): string[] | undefined {
  if (raw === undefined) return undefined;
  const list = (Array.isArray(raw) ? raw : String(raw).split(',')).map((s) => String(s).trim()).filter(Boolean);
  return list.length > 0 ? list : undefined;
}

function single(raw: unknown, name: string): string | undefined {
  if (raw === undefined) return undefined;
  if (Array.isArray(raw)) throw ScimError.badRequest('invalidValue', `"${name}" may be given once.`);
  if (typeof raw !== 'string') throw ScimError.badRequest('invalidValue', `"${name}" must be a string.`);
  return raw;
}

/**
 * A cursor (RFC 9865): the listing position it continues from, which way, when it was issued and
 * a digest of the query it belongs to (tenant, resource type, filter), so a cursor used on
 * another tenant or with another filter is refused instead of paging something else. It is
 * not a secret: whatever it says, a page only ever reads the caller's own tenant.
 */
interface Cursor {
  /** Listing position: the page holds the positions after it (`d` "n") or before it ("p"). */
  p: number;
  d: 'n' | 'p';
  /** Issued at, in seconds since the epoch. */
  t: number;
  /** The query's digest. */
  q: string;
}

/** Which query a cursor belongs to: the same tenant, resource type and filter. */
function queryDigest(tenantId: string, kind: ResourceKind, filterText: string | undefined): string {
  return createHash('sha256')
    .update(JSON.stringify([tenantId, kind, filterText?.trim() ?? '']))
    .digest('base64url')
    .slice(0, 16);
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(raw: string, digest: string, nowSeconds: number): Cursor {
  let c: Partial<Cursor> | undefined;
  try {
    c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<Cursor>;
  } catch {
    c = undefined;
  }
  const wellFormed =
    typeof c?.p === 'number' && Number.isSafeInteger(c.p) && c.p >= 0 && (c.d === 'n' || c.d === 'p') && typeof c.t === 'number' && typeof c.q === 'string';
  if (!wellFormed) throw ScimError.badRequest('invalidCursor', 'The "cursor" is not one this server issued; start again with an empty cursor ("cursor=").');
  const cursor = c as Cursor;
  if (cursor.q !== digest) {
    throw ScimError.badRequest(
      'invalidCursor',
      'The "cursor" belongs to another query (another tenant, resource type or filter); repeat the query that returned it, or start again with an empty cursor.',
    );
  }
  if (nowSeconds - cursor.t > LIMITS.cursorTimeoutSeconds) {
    throw ScimError.badRequest(
      'expiredCursor',
      `The "cursor" has expired: ask for the next page within ${LIMITS.cursorTimeoutSeconds} seconds of the previous one (ServiceProviderConfig pagination.cursorTimeout); start again with an empty cursor.`,
    );
  }
  return cursor;
}

/**
 * Whether `filter` is one equality on a unique key, so at most one resource matches: `id eq`,
 * and for Users `userName eq` (unique regardless of case, RFC 7643 §4.1.1; common/repositories/filter-sql.ts compares
 * lower(user_name), the unique index's expression). Such a list is a direct look-up.
 */
function isUniqueKeyEquality(filter: FilterNode, kind: ResourceKind): boolean {
  const bound = bindFilter(filter, kind);
  if (bound.type !== 'compare' || bound.op !== 'eq' || bound.value.type !== 'string' || bound.target.storage.kind !== 'column') return false;
  const column = bound.target.storage.column;
  return column === 'id' || (kind === 'User' && column === 'userName');
}

function pageCount(raw: unknown, cursorMode: boolean): number {
  const n = integer(raw, 'count', 'invalidCount');
  // RFC 9865 §2: a cursor page's count is a positive integer; RFC 7644 §3.4.2.4: an index page reads a negative count as 0.
  if (cursorMode && n !== undefined && n < 1) {
    throw ScimError.badRequest('invalidCount', `"count" must be between 1 and ${LIMITS.pageSize} when paging by cursor (got ${n}).`);
  }
  return Math.min(LIMITS.pageSize, Math.max(0, n ?? 100));
}

/** Where a cursor page starts, from the request's cursor (empty: the first page). */
function cursorWindow(text: string, digest: string, count: number, nowSeconds: number): PageWindow {
  // One row more than asked, to know whether another page follows (RFC 9865 §2: nextCursor is left out only on the last page).
  if (text === '') return { kind: 'keyset', limit: count + 1 };
  const c = decodeCursor(text, digest, nowSeconds);
  return c.d === 'n' ? { kind: 'keyset', after: c.p, limit: count + 1 } : { kind: 'keyset', before: c.p, limit: count + 1 };
}

/**
 * `raw` is the query string (GET) or the SearchRequest body (POST /.search); `tenantId` is the
 * caller's, which its cursors are bound to.
 */
export function parseListRequest(raw: Raw, kind: ResourceKind, tenantId: string, nowMs = Date.now()): ListRequest {
  const params: unknown[] = ['(tenant)'];
  const filterText = single(raw.filter, 'filter');
  const filter = filterText !== undefined && filterText.trim() !== '' ? parseFilter(filterText) : undefined;
  const where = filter ? filterToSql(filter, kind, params) : 'TRUE';

  const sortBy = single(raw.sortBy, 'sortBy');
  const sortOrder = single(raw.sortOrder, 'sortOrder');
  if (sortOrder !== undefined && !/^(ascending|descending)$/i.test(sortOrder)) {
    throw ScimError.badRequest('invalidValue', '"sortOrder" must be "ascending" or "descending".');
  }
  // The sort's parameters follow the filter's, apart: the count query has the filter alone (given the
  // sort's too, PostgreSQL refused the statement and the list was answered 503 "database unavailable").
  const filterParams = params.length;
  const orderBy = sortBy ? sortToSql(sortBy, kind, params) : undefined;
  const orderParams = params.slice(filterParams);

  const cursorMode = raw.cursor !== undefined;
  const startIndexRaw = integer(raw.startIndex, 'startIndex');
  if (cursorMode && startIndexRaw !== undefined) {
    throw ScimError.badRequest('invalidValue', 'Use either "cursor" or "startIndex" paging, not both.');
  }
  if (cursorMode && sortBy) throw ScimError.badRequest('invalidValue', 'Cursor paging follows the listing order; drop "sortBy" or page with "startIndex".');
  // RFC 7644 §3.4.2.4: startIndex below 1 is read as 1; a count above the maximum as the maximum.
  const startIndex = Math.max(1, startIndexRaw ?? 1);
  if (startIndex > 1_000_000_000) throw ScimError.badRequest('invalidValue', '"startIndex" is too large.');
  const count = pageCount(raw.count, cursorMode);
  const digest = queryDigest(tenantId, kind, filterText);

  let page: PageWindow;
  if (cursorMode) page = cursorWindow(single(raw.cursor, 'cursor') ?? '', digest, count, Math.floor(nowMs / 1000));
  // An unfiltered, unsorted index page is a range of positions: nothing shifts under a walker (list-query.ts).
  else if (!filter && !sortBy) page = { kind: 'range', from: startIndex, limit: count };
  else page = { kind: 'offset', offset: startIndex - 1, limit: count };

  const uniqueKey = filter !== undefined && isUniqueKeyEquality(filter, kind);
  return {
    query: { where, params: params.slice(1, filterParams), orderBy, orderParams, descending: /^descending$/i.test(sortOrder ?? ''), page, uniqueKey },
    costly: (filter !== undefined && !uniqueKey) || sortBy !== undefined,
    startIndex,
    count,
    cursor: cursorMode ? { digest, issuedAt: Math.floor(nowMs / 1000), first: (single(raw.cursor, 'cursor') ?? '') === '' } : undefined,
    attributes: csv(raw.attributes),
    excludedAttributes: csv(raw.excludedAttributes),
  };
}

/**
 * Runs a list's queries; a costly one (list-params `costly`) cancelled by the statement timeout
 * is the request's doing, not an outage: 400 tooMany (RFC 7644 §3.12: "more results than the
 * server is willing to calculate"), so the client narrows it instead of retrying it for ever.
 */
export async function runList<T>(req: ListRequest, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof StatementTimeoutError && req.costly) {
      throw ScimError.badRequest(
        'tooMany',
        'The filter or sort takes longer to evaluate over this tenant than the server allows one request; narrow it (eq or sw instead of co, fewer comparisons, no sortBy).',
      );
    }
    throw err;
  }
}

/** A listed row's position: the cursor key. */
interface Positioned {
  listPosition: number;
}

/**
 * The page of `fetched` to return and its cursors: a cursor page read one row more than asked,
 * which tells whether a page follows in the direction it was read.
 */
export function pageOf<R extends Positioned>(req: ListRequest, fetched: R[]): { rows: R[]; nextCursor?: string; previousCursor?: string } {
  if (!req.cursor) return { rows: fetched };
  const { page } = req.query;
  const backwards = page.kind === 'keyset' && page.before !== undefined;
  const more = fetched.length > req.count;
  const rows = more ? (backwards ? fetched.slice(fetched.length - req.count) : fetched.slice(0, req.count)) : fetched;
  const cursor = (p: number, d: Cursor['d']) => encodeCursor({ p, d, t: req.cursor!.issuedAt, q: req.cursor!.digest });
  const first = rows[0]?.listPosition;
  const last = rows[rows.length - 1]?.listPosition;
  // Forwards, a next page exists when the extra row came back; a previous one when this was not the first page.
  // Backwards (a previous page), the page this one was read from follows it; one more before it when the extra row came back.
  const hasNext = backwards ? true : more;
  const hasPrevious = backwards ? more : !req.cursor.first;
  const after = last ?? (page.kind === 'keyset' ? (page.before ?? 1) - 1 : 0);
  const before = first ?? (page.kind === 'keyset' ? (page.after ?? 0) + 1 : 1);
  return {
    rows,
    ...(hasNext ? { nextCursor: cursor(after, 'n') } : {}),
    ...(hasPrevious && before > 1 ? { previousCursor: cursor(before, 'p') } : {}),
  };
}

/** An RFC 7644 §3.4.2 ListResponse, with RFC 9865's cursors on a cursor page. */
export function listResponse(
  req: ListRequest,
  total: number,
  resources: unknown[],
  cursors: { nextCursor?: string; previousCursor?: string } = {},
): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
    totalResults: total,
    itemsPerPage: resources.length,
    ...(req.cursor ? {} : { startIndex: req.startIndex }),
    ...(cursors.previousCursor ? { previousCursor: cursors.previousCursor } : {}),
    ...(cursors.nextCursor ? { nextCursor: cursors.nextCursor } : {}),
    Resources: resources,
  };
}
