/**
 * Query parameters of a list or search (RFC 7644 §3.4.2, §3.4.3) and cursor paging
 * (RFC 9865), parsed into a `ListQuery` whose filter is parameterised SQL.
 */
import { StatementTimeoutError } from '../common/db';
import type { ListQuery } from '../common/repositories/list-query';
import { LIMITS } from './limits';
import { bindFilter, parseFilterDateTime } from '../scim/filter/evaluate';
import { isUuid } from '../domain/uuid';
import { type FilterNode, parseFilter } from '../scim/filter/parser';
import { filterToSql, sortToSql, type ResourceKind } from '../common/repositories/filter-sql';
import { ScimError } from '../scim/error';

export interface ListRequest {
  query: ListQuery;
  startIndex: number;
  count: number;
  /** Set when the client pages by cursor (RFC 9865); `startIndex` is then unused. */
  cursorMode: boolean;
  attributes?: string[];
  excludedAttributes?: string[];
  /** A filter that is not a unique-key look-up, or a sortBy: its cost grows with the tenant's resources. */
  costly: boolean;
}

type Raw = Record<string, unknown>;

function integer(raw: unknown, name: string): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const n = typeof raw === 'number' ? raw : Number(String(raw));
  if (!Number.isFinite(n) || !Number.isInteger(n)) throw ScimError.badRequest('invalidValue', `"${name}" must be an integer (got ${JSON.stringify(raw)}).`);
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

interface Cursor {
  c: string;
  i: string;
}

/** `row.cursorCreatedAt` keeps the microseconds of created_at; a Date would lose them and repeat rows across pages. */
export function encodeCursor(row: { createdAt: Date; cursorCreatedAt?: string; id: string }): string {
  return Buffer.from(JSON.stringify({ c: row.cursorCreatedAt ?? row.createdAt.toISOString(), i: row.id } satisfies Cursor)).toString('base64url');
}

/** The shape encodeCursor writes: UTC, microseconds, a 4-digit year (PostgreSQL refused Date.parse's wider range: year 270000, February 30). */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

function decodeCursor(raw: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Cursor;
    if (typeof c?.c === 'string' && CURSOR_TIME.test(c.c) && parseFilterDateTime(c.c) !== undefined && isUuid(c.i)) return c;
  } catch {
    // fall through
  }
  // RFC 9865 §3: an unknown or expired cursor is answered 400 invalidCursor; invalidValue is the closest RFC 7644 type.
  throw ScimError.badRequest('invalidValue', 'The "cursor" is not one this server issued; start again without a cursor value.');
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

/** `raw` is the query string (GET) or the SearchRequest body (POST /.search). */
export function parseListRequest(raw: Raw, kind: ResourceKind): ListRequest {
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
  const orderBy = sortBy ? sortToSql(sortBy, kind, params) : 'r.created_at';
  const orderParams = params.slice(filterParams);

  const cursorRaw = raw.cursor;
  const cursorMode = cursorRaw !== undefined;
  const startIndexRaw = integer(raw.startIndex, 'startIndex');
  if (cursorMode && startIndexRaw !== undefined) {
    throw ScimError.badRequest('invalidValue', 'Use either "cursor" or "startIndex" paging, not both.');
  }
  let after: ListQuery['after'];
  if (cursorMode) {
    if (sortBy) throw ScimError.badRequest('invalidValue', 'Cursor paging follows creation order; drop "sortBy" or page with "startIndex".');
    const text = single(cursorRaw, 'cursor') ?? '';
    if (text !== '') {
      const c = decodeCursor(text);
      after = { createdAt: c.c, id: c.i };
    }
  }
  // RFC 7644 §3.4.2.4: startIndex below 1 is read as 1; a negative count as 0; above the maximum, the maximum.
  const startIndex = Math.max(1, startIndexRaw ?? 1);
  const count = Math.min(LIMITS.pageSize, Math.max(0, integer(raw.count, 'count') ?? 100));
  const attributes = csv(raw.attributes);
  const excludedAttributes = csv(raw.excludedAttributes);
  if (startIndex > 1_000_000_000) throw ScimError.badRequest('invalidValue', '"startIndex" is too large.');

  const uniqueKey = filter !== undefined && isUniqueKeyEquality(filter, kind);
  return {
    query: {
      where,
      params: params.slice(1, filterParams),
      orderBy,
      orderParams,
      descending: /^descending$/i.test(sortOrder ?? ''),
      offset: cursorMode ? 0 : startIndex - 1,
      limit: count,
      after,
      uniqueKey,
    },
    costly: (filter !== undefined && !uniqueKey) || sortBy !== undefined,
    startIndex,
    count,
    cursorMode,
    attributes,
    excludedAttributes,
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

/**
 * The query to run: in cursor mode one row more than asked, to know whether a next page exists
 * (RFC 9865 §2); with count 0, no rows (limit 0: the total only).
 */
export function pageQuery(req: ListRequest): ListQuery {
  return req.cursorMode && req.count > 0 ? { ...req.query, limit: req.count + 1 } : req.query;
}

/** The page of `fetched` to return, and whether another page follows it. */
export function pageOf<R>(req: ListRequest, fetched: R[]): { rows: R[]; more: boolean } {
  const more = req.cursorMode && fetched.length > req.count;
  return { rows: more ? fetched.slice(0, req.count) : fetched, more };
}

/** An RFC 7644 §3.4.2 ListResponse; `nextCursor` points after `last` when another page follows. */
export function listResponse(req: ListRequest, total: number, resources: unknown[], next?: Parameters<typeof encodeCursor>[0]): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
    totalResults: total,
    itemsPerPage: resources.length,
    ...(req.cursorMode ? {} : { startIndex: req.startIndex }),
    Resources: resources,
    ...(next ? { nextCursor: encodeCursor(next) } : {}),
  };
}
