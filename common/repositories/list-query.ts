/**
 * The SQL of SCIM lists and searches (RFC 7644 §3.4.2), shared by Users and Groups.
 *
 * Every resource holds a listing position in its tenant (migration 024) that does not move
 * while a client walks the listing; the default order is by position. A page takes one of
 * three shapes:
 *
 * - `range`: an unfiltered, unsorted index page: startIndex N and count C are the positions
 *   [N, N + C), read through the (tenant_id, list_position) index. The last page of 250,000
 *   users costs what the first does, and a deletion before the walker leaves a hole (the page is
 *   shorter than C) instead of shifting every later resource one place back.
 * - `keyset`: a cursor page (RFC 9865): the positions after (or, for a previous page, before)
 *   the cursor's, with the filter, so a cursor walk is stable under any filter.
 * - `offset`: a filtered or sorted index page: ORDER BY the sort key then position, OFFSET.
 *   Its order is the same for any page size; deletions before the page shift it (docs/paging.md).
 *
 * Keys are selected first over the resource table alone, then the rows and their joins (a
 * user's provisioning state) are read for those keys only. Filters and sort keys are SQL over
 * alias `r` alone (filter-sql.ts reaches related tables through EXISTS subqueries of their own).
 *
 * A filter that is one equality on a unique key (`id eq`, User `userName eq`) matches at most
 * one row: it is looked up directly, without ORDER BY/LIMIT and through the unique index
 * whatever the table statistics say (stale after a bulk import, they made the planner walk the
 * tenant's created index), and its total comes from the same lookup.
 */
import type { Queryable } from '../db';

/** Which rows of the ordered listing a page holds. */
export type PageWindow =
  | { kind: 'offset'; offset: number; limit: number }
  /** Positions [from, from + limit). */
  | { kind: 'range'; from: number; limit: number }
  /** The first `limit` positions after `after`, or the last `limit` before `before` (in ascending order either way). */
  | { kind: 'keyset'; after?: number; before?: number; limit: number };

/**
 * A list query: `where` is SQL over alias `r` whose parameters continue after $1 (the tenant);
 * `orderBy`'s parameters (`orderParams`) continue after those of `where`. Without `orderBy` the
 * order is the listing position.
 */
export interface ListQuery {
  where: string;
  params: unknown[];
  orderBy?: string;
  orderParams?: unknown[];
  descending: boolean;
  page: PageWindow;
  /** The filter is one equality on a unique key (`id eq`, User `userName eq`): at most one row matches. */
  uniqueKey?: boolean;
}

/** How one resource type is listed. */
export interface ListSource<R> {
  /** The resource table, aliased `r` in every query. */
  table: 'scim_users' | 'scim_groups';
  /** Select list over `r` and the aliases of `joins`; it includes `r.list_position`. */
  columns: string;
  /** Joins after `FROM <table> r`, e.g. a LEFT JOIN of the user's provisioning state. */
  joins: string;
  toRow(r: Record<string, never>): R;
}

/** The window's condition on positions, with its parameters appended ('' for an offset window). */
function positionBounds(page: PageWindow, params: unknown[]): string {
  const bound = (op: string, value: number) => {
    params.push(value);
    return ` AND r.list_position ${op} $${params.length}`;
  };
  if (page.kind === 'range') return bound('>=', page.from) + bound('<', page.from + page.limit);
  if (page.kind === 'keyset') return (page.after !== undefined ? bound('>', page.after) : '') + (page.before !== undefined ? bound('<', page.before) : '');
  return '';
}

function pageSql(source: ListSource<unknown>, tenantId: string, q: ListQuery): { sql: string; params: unknown[] } {
  const params = [tenantId, ...q.params, ...(q.orderParams ?? [])];
  // A previous page reads backwards from its cursor, then is put back in ascending order.
  const backwards = q.page.kind === 'keyset' && q.page.before !== undefined && q.page.after === undefined;
  const dir = q.descending !== backwards ? 'DESC' : 'ASC';
  const bounds = positionBounds(q.page, params);
  params.push(q.page.limit);
  const limit = `LIMIT $${params.length}`;
  let offset = '';
  if (q.page.kind === 'offset') {
    params.push(q.page.offset);
    offset = ` OFFSET $${params.length}`;
  }
  const sortKey = q.orderBy ? `${q.orderBy} AS sort_key, ` : '';
  // Inside, the sort key is the select list's output name; outside, a column of k.
  const order = (alias: string, d: string) => `${q.orderBy ? `${alias === 'r' ? '' : 'k.'}sort_key ${d} NULLS LAST, ` : ''}${alias}.list_position ${d}`;
  const sql = `SELECT ${source.columns}
  FROM (SELECT r.tenant_id, r.id, ${sortKey}r.list_position FROM ${source.table} r
        WHERE r.tenant_id = $1 AND (${q.where})${bounds}
        ORDER BY ${order('r', dir)} ${limit}${offset}) k
  JOIN ${source.table} r ON r.tenant_id = k.tenant_id AND r.id = k.id
  ${source.joins}
  ORDER BY ${order('k', q.descending ? 'DESC' : 'ASC')}`;
  return { sql, params };
}

/**
 * The row a unique-key filter names (none or one), looked up directly; the window applies to
 * the one row in JS (the total ignores the window).
 *
 * The tenant is compared to `(SELECT $1::text)`, a value the planner does not see: for a
 * tenant its statistics do not know yet (rows imported since the last ANALYZE) it estimated
 * `tenant_id = 'x'` alone at one row, which tied the primary key and the created/updated
 * indexes with the unique key's index, and it scanned the tenant's entries of one of them
 * (4.8 ms for 8,000 new users, where the unique index answers in 0.1 ms). Without the value,
 * only the unique key's index is estimated at one row.
 */
async function lookupUnique<R>(db: Queryable, source: ListSource<R>, tenantId: string, q: ListQuery): Promise<{ total: number; rows: R[] }> {
  const sql = `SELECT ${source.columns} FROM ${source.table} r ${source.joins}
  WHERE r.tenant_id = (SELECT $1::text) AND (${q.where})`;
  const found = (await db.query<Record<string, never>>(sql, [tenantId, ...q.params])).rows;
  const position = (r: Record<string, never>) => Number(r.list_position as unknown);
  const inWindow = (r: Record<string, never>, i: number): boolean => {
    const p = q.page;
    if (p.kind === 'offset') return i >= p.offset && i < p.offset + p.limit;
    if (p.kind === 'range') return position(r) >= p.from && position(r) < p.from + p.limit;
    return p.limit > 0 && (p.after === undefined || position(r) > p.after) && (p.before === undefined || position(r) < p.before);
  };
  return { total: found.length, rows: found.filter(inWindow).map((r) => source.toRow(r)) };
}

/** The page of rows `q` asks for, in its order. */
export async function listRows<R>(db: Queryable, source: ListSource<R>, tenantId: string, q: ListQuery): Promise<R[]> {
  if (q.uniqueKey) return (await lookupUnique(db, source, tenantId, q)).rows;
  if (q.page.limit === 0) return [];
  const { sql, params } = pageSql(source, tenantId, q);
  return (await db.query<Record<string, never>>(sql, params)).rows.map((r) => source.toRow(r));
}

/** How many rows of the tenant match `where` (the window aside): a list's totalResults. */
export async function countRows(db: Queryable, table: ListSource<unknown>['table'], tenantId: string, where: string, params: unknown[]): Promise<number> {
  return (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} r WHERE r.tenant_id = $1 AND (${where})`, [tenantId, ...params])).rows[0].n;
}

/**
 * A list response's rows and totalResults: one lookup for a unique-key filter, else the page
 * and the count side by side. A limit of 0 reads the total only.
 */
export async function listWithTotal<R>(db: Queryable, source: ListSource<R>, tenantId: string, q: ListQuery): Promise<{ total: number; rows: R[] }> {
  if (q.uniqueKey) return lookupUnique(db, source, tenantId, q);
  const [total, rows] = await Promise.all([countRows(db, source.table, tenantId, q.where, q.params), listRows(db, source, tenantId, q)]);
  return { total, rows };
}
