/** The tenant's SCIM request log (scim-server/request-log.ts writes it), filtered and paged. */
import { searchRequestLog } from '../common/repositories/request-log';
import { AdminError, tenantOf, type AdminDeps, type Caller } from './shared';

export interface RequestFilters {
  status?: string;
  q?: string;
  method?: string;
  after?: string;
  limit?: string;
}

const REQUEST_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** The cursor of a request log page: `<epoch ms>.<row id>` of its last row. */
const requestCursor = (row: { at: string; id: string }) => `${new Date(row.at).getTime()}.${row.id}`;

/** The tenant's SCIM requests, newest first (request log, scim-server/request-log.ts); keyset paging with `after`. */
export async function listRequests(deps: AdminDeps, caller: Caller, tenantId: string, f: RequestFilters) {
  await tenantOf(deps, caller, tenantId);
  // A parameter given twice arrives as a list: taken as absent.
  f = Object.fromEntries(Object.entries(f).filter(([, v]) => typeof v === 'string')) as RequestFilters;
  const limit = Math.min(Math.max(Number(f.limit ?? 100) || 100, 1), 500);
  let statusFrom: number | undefined;
  let statusTo: number | undefined;
  const status = (f.status ?? '').trim().toLowerCase();
  if (/^[1-5]xx$/.test(status)) {
    statusFrom = Number(status[0]) * 100;
    statusTo = statusFrom + 99;
  } else if (/^[1-5]\d\d$/.test(status)) statusFrom = statusTo = Number(status);
  else if (status !== '') throw new AdminError(400, '"status" must be 4xx, 5xx (any class 1xx to 5xx) or a status code such as 400');
  const method = (f.method ?? '').trim().toUpperCase();
  if (method !== '' && !REQUEST_METHODS.includes(method)) throw new AdminError(400, `"method" must be one of ${REQUEST_METHODS.join(', ')}`);
  const q = (f.q ?? '').trim();
  if (q.length > 256) throw new AdminError(400, '"q" is longer than 256 characters');
  let before: { at: Date; id: string } | undefined;
  if (f.after) {
    const m = /^(\d{1,15})\.(\d{1,18})$/.exec(f.after);
    if (!m) throw new AdminError(400, '"after" must be the "next" cursor of the previous page');
    before = { at: new Date(Number(m[1])), id: m[2] };
  }
  const rows = await searchRequestLog(deps.db, tenantId, { statusFrom, statusTo, method: method || undefined, q: q || undefined, before, limit });
  return { requests: rows, next: rows.length === limit ? requestCursor(rows[rows.length - 1]) : null };
}
