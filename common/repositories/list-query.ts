/**
 * The SQL of SCIM lists and searches (RFC 7644 §3.4.2), shared by Users and Groups.
 *
 * A page selects its keys first, over the resource table alone (`ORDER BY … LIMIT/OFFSET`; in
 * the default order an index-only scan of `(tenant_id, created_at, id)`), then reads the rows
 * and their joins (a user's provisioning state) for those keys only: OFFSET no longer joins
 * every skipped row. Filters and sort keys are SQL over alias `r` alone (filter-sql.ts
 * reaches related tables through EXISTS subqueries of their own), so they stay in
 * the key subquery.
 *
 * A filter that is one equality on a unique key (`id eq`, User `userName eq`) matches at most
 * one row: it is looked up directly, without ORDER BY/LIMIT and through the unique index
 * whatever the table statistics say (stale after a bulk import, they made the planner walk the
 * tenant's created index), and its total comes from the same lookup.
 */
import type { Queryable } from '../db';

/**
 * A list query: `where` is SQL over alias `r` whose parameters continue after $1 (the tenant);
 * `orderBy`'s parameters (`orderParams`) continue after those of `where`.
 */
export interface ListQuery {
  where: string;
  params: unknown[];
  orderBy: string;
  orderParams?: unknown[];
  descending: boolean;
  offset: number;
  limit: number;
  /** Keyset cursor for the default order (created_at, id). */
  after?: { createdAt: string; id: string };
  /** The filter is one equality on a unique key (`id eq`, User `userName eq`): at most one row matches. */
  uniqueKey?: boolean;
}

/**
 * The exact created_at as text, for RFC 9865 cursors. A JS Date drops the microseconds, and a
 * cursor built from it sorts before its own row, so each next page repeated the previous
 * page's last row (and never advanced past rows created within one millisecond).
 */
const CURSOR_CREATED_AT = `to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_created_at`;

/** How one resource type is listed. */
export interface ListSource<R> {
  /** The resource table, aliased `r` in every query. */
  table: 'scim_users' | 'scim_groups';
  /** Select list over `r` and the aliases of `joins`. */
  columns: string;
  /** Joins after `FROM <table> r`, e.g. a LEFT JOIN of the user's provisioning state. */
  joins: string;
  toRow(r: Record<string, never>): R;
}

/** `AND (r.created_at, r.id) > (cursor)` with its two parameters appended, or '' without a cursor. */
function keyset(q: ListQuery, params: unknown[]): string {
  if (!q.after) return '';
  params.push(q.after.createdAt, q.after.id);
  return ` AND (r.created_at, r.id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
}

function pageSql(source: ListSource<unknown>, tenantId: string, q: ListQuery): { sql: string; params: unknown[] } {
  const params = [tenantId, ...q.params, ...(q.orderParams ?? [])];
  const dir = q.descending ? 'DESC' : 'ASC';
  const after = keyset(q, params);
  params.push(q.limit, q.offset);
  const sql = `SELECT ${source.columns}, ${CURSOR_CREATED_AT}
  FROM (SELECT r.tenant_id, r.id, r.created_at, ${q.orderBy} AS sort_key FROM ${source.table} r
        WHERE r.tenant_id = $1 AND (${q.where})${after}
        ORDER BY sort_key ${dir} NULLS LAST, r.created_at ${dir}, r.id ${dir} LIMIT $${params.length - 1} OFFSET $${params.length}) k
  JOIN ${source.table} r ON r.tenant_id = k.tenant_id AND r.id = k.id
  ${source.joins}
  ORDER BY k.sort_key ${dir} NULLS LAST, k.created_at ${dir}, k.id ${dir}`;
  return { sql, params };
}

/**
 * The row a unique-key filter names (none or one), looked up directly. `after_cursor` tells
 * whether it lies after the keyset cursor (when there is one): the total ignores the cursor.
 *
 * The tenant is compared to `(SELECT $1::text)`, a value the planner does not see: for a
 * tenant its statistics do not know yet (rows imported since the last ANALYZE) it estimated
 * `tenant_id = 'x'` alone at one row, which tied the primary key and the created/updated
 * indexes with the unique key's index, and it scanned the tenant's entries of one of them
 * (4.8 ms for 8,000 new users, where the unique index answers in 0.1 ms). Without the value,
 * only the unique key's index is estimated at one row.
 */
async function lookupUnique<R>(db: Queryable, source: ListSource<R>, tenantId: string, q: ListQuery): Promise<{ total: number; rows: R[] }> {
  const params = [tenantId, ...q.params];
  const after = keyset(q, params);
  const sql = `SELECT ${source.columns}, ${CURSOR_CREATED_AT}${after ? `, (TRUE${after}) AS after_cursor` : ''}
  FROM ${source.table} r ${source.joins}
  WHERE r.tenant_id = (SELECT $1::text) AND (${q.where})`;
  const found = (await db.query<Record<string, never>>(sql, params)).rows;
  const afterCursor = (r: Record<string, unknown>) => !after || r.after_cursor === true;
  const page = found.filter(afterCursor).slice(q.offset, q.offset + q.limit);
  return { total: found.length, rows: page.map((r) => source.toRow(r)) };
}

/** The page of rows `q` asks for, in its order. */
export async function listRows<R>(db: Queryable, source: ListSource<R>, tenantId: string, q: ListQuery): Promise<R[]> {
  if (q.uniqueKey) return (await lookupUnique(db, source, tenantId, q)).rows;
  const { sql, params } = pageSql(source, tenantId, q);
  return (await db.query<Record<string, never>>(sql, params)).rows.map((r) => source.toRow(r));
}

/** How many rows of the tenant match `where` (the cursor and paging aside): a list's totalResults. */
export async function countRows(db: Queryable, table: ListSource<unknown>['table'], tenantId: string, where: string, params: unknown[]): Promise<number> {
  return (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} r WHERE r.tenant_id = $1 AND (${where})`, [tenantId, ...params])).rows[0].n;
}

/**
 * A list response's rows and totalResults: one lookup for a unique-key filter, else the page
 * and the count side by side. `limit` 0 reads the total only.
 */
export async function listWithTotal<R>(db: Queryable, source: ListSource<R>, tenantId: string, q: ListQuery): Promise<{ total: number; rows: R[] }> {
  if (q.uniqueKey) return lookupUnique(db, source, tenantId, q);
  const [total, rows] = await Promise.all([
    countRows(db, source.table, tenantId, q.where, q.params),
    q.limit === 0 ? Promise.resolve([]) : listRows(db, source, tenantId, q),
  ]);
  return { total, rows };
}
