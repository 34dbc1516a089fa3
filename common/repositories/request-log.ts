/**
 * The SCIM request log (migration 019): rows written in batches by scim-server/request-log.ts,
 * read newest first per tenant with keyset paging on (at, id), deleted after the retention.
 */
import type { Queryable } from '../db';

/** One SCIM request as recorded; identifiers only (see scim-server/request-log.ts). */
export interface RequestLogEntry {
  tenantId: string;
  at: Date;
  method: string;
  /** The path under /scim/v2 with the query string's non-identifier values elided. */
  path: string;
  resourceId: string | null;
  userName: string | null;
  externalId: string | null;
  status: number;
  scimType: string | null;
  detail: string | null;
  tokenId: string | null;
  requestId: string;
  durationMs: number;
}

/** One row as the admin API answers it: the entry with its id, the time as ISO text and the token with its name. */
export type RequestLogRow = Omit<RequestLogEntry, 'tenantId' | 'at' | 'tokenId'> & {
  id: string;
  at: string;
  token: { id: string; name: string | null } | null;
};

export interface RequestLogSearch {
  /** Inclusive status range (4xx: 400..499). */
  statusFrom?: number;
  statusTo?: number;
  method?: string;
  /** A userName (any case), externalId, resource id or request id. */
  q?: string;
  /** Rows strictly older than this (at, id): the last row of the previous page. */
  before?: { at: Date; id: string };
  limit: number;
}

/** Writes the entries with one INSERT (one array per column); resolves the rows written. */
export async function insertRequestLog(db: Queryable, entries: RequestLogEntry[]): Promise<number> {
  if (entries.length === 0) return 0;
  const col = <T>(f: (e: RequestLogEntry) => T) => entries.map(f);
  const r = await db.query(
    `INSERT INTO scim_request_log (tenant_id, at, method, path, resource_id, user_name, external_id, status, scim_type, detail, token_id, request_id, duration_ms)
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::smallint[], $9::text[],
                          $10::text[], $11::uuid[], $12::text[], $13::real[])`,
    [
      col((e) => e.tenantId),
      col((e) => e.at.toISOString()),
      col((e) => e.method),
      col((e) => e.path),
      col((e) => e.resourceId),
      col((e) => e.userName),
      col((e) => e.externalId),
      col((e) => e.status),
      col((e) => e.scimType),
      col((e) => e.detail),
      col((e) => e.tokenId),
      col((e) => e.requestId),
      col((e) => e.durationMs),
    ],
  );
  return r.rowCount;
}

/** The tenant's requests, newest first. */
export async function searchRequestLog(db: Queryable, tenantId: string, s: RequestLogSearch): Promise<RequestLogRow[]> {
  const rows = (
    await db.query<Record<string, any>>(
      `SELECT l.id::text AS id, l.at, l.method, l.path, l.resource_id, l.user_name, l.external_id, l.status, l.scim_type, l.detail,
              l.token_id, coalesce(t.name, c.name) AS token_name, l.request_id, l.duration_ms
         FROM scim_request_log l LEFT JOIN scim_tokens t ON t.id = l.token_id
         -- An OAuth access token's requests are recorded under its client's id.
         LEFT JOIN oauth_clients c ON c.client_id = l.token_id
        WHERE l.tenant_id = $1
          AND ($2::int IS NULL OR l.status >= $2) AND ($3::int IS NULL OR l.status <= $3)
          AND ($4::text IS NULL OR l.method = $4)
          AND ($5::text IS NULL OR lower(l.user_name) = lower($5) OR l.external_id = $5 OR l.resource_id = $5 OR l.request_id = $5)
          AND ($6::timestamptz IS NULL OR (l.at, l.id) < ($6::timestamptz, $7::bigint))
        ORDER BY l.at DESC, l.id DESC
        LIMIT $8`,
      [
        tenantId,
        s.statusFrom ?? null,
        s.statusTo ?? null,
        s.method ?? null,
        s.q ?? null,
        s.before ? s.before.at.toISOString() : null,
        s.before ? s.before.id : null,
        s.limit,
      ],
    )
  ).rows;
  return rows.map((r) => ({
    id: r.id,
    at: new Date(r.at).toISOString(),
    method: r.method,
    path: r.path,
    resourceId: r.resource_id,
    userName: r.user_name,
    externalId: r.external_id,
    status: r.status,
    scimType: r.scim_type,
    detail: r.detail,
    token: r.token_id ? { id: r.token_id, name: r.token_name } : null,
    requestId: r.request_id,
    durationMs: Math.round(r.duration_ms * 10) / 10,
  }));
}

export interface TokenActivity {
  lastRequest: { at: string; method: string; path: string; status: number } | null;
  lastError: { at: string; method: string; path: string; status: number; detail: string | null } | null;
}

/** Each token's last recorded request and last 4xx/5xx (two index look-ups per token). */
export async function tokenActivity(db: Queryable, tenantId: string, tokenIds: string[]): Promise<Map<string, TokenActivity>> {
  if (tokenIds.length === 0) return new Map();
  const rows = (
    await db.query<Record<string, any>>(
      `SELECT t.id AS token_id, r.at, r.method, r.path, r.status, e.at AS e_at, e.method AS e_method, e.path AS e_path, e.status AS e_status, e.detail AS e_detail
         FROM unnest($2::uuid[]) AS t(id)
         LEFT JOIN LATERAL (SELECT at, method, path, status FROM scim_request_log
                             WHERE token_id = t.id AND tenant_id = $1 ORDER BY at DESC LIMIT 1) r ON true
         LEFT JOIN LATERAL (SELECT at, method, path, status, detail FROM scim_request_log
                             WHERE token_id = t.id AND tenant_id = $1 AND status >= 400 ORDER BY at DESC LIMIT 1) e ON true`,
      [tenantId, tokenIds],
    )
  ).rows;
  return new Map(
    rows.map((r) => [
      r.token_id,
      {
        lastRequest: r.at ? { at: new Date(r.at).toISOString(), method: r.method, path: r.path, status: r.status } : null,
        lastError: r.e_at ? { at: new Date(r.e_at).toISOString(), method: r.e_method, path: r.e_path, status: r.e_status, detail: r.e_detail } : null,
      },
    ]),
  );
}

/** Deletes up to `limit` rows older than `days` days; resolves how many. */
export async function deleteOldRequestLog(db: Queryable, days: number, limit: number): Promise<number> {
  const r = await db.query(
    `DELETE FROM scim_request_log WHERE id IN (
       SELECT id FROM scim_request_log WHERE at < now() - ($1::int * interval '1 day') LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [days, limit],
  );
  return r.rowCount;
}
