/**
 * The request log (issue 23): every SCIM request of a known tenant, refused ones included, is
 * recorded so the tenant's admins see what the identity provider sent and what it was told
 * (GET /admin/v1/tenants/{t}/requests, the console's Requests page).
 *
 * Off the request's path: `record` only appends to an in-memory buffer; a timer writes the
 * buffer with one multi-row INSERT every `flushMs` (250 ms), or at once when `batchSize` (200)
 * rows wait. The buffer is bounded (`maxBuffered`, 10,000): while PostgreSQL cannot be reached
 * the oldest rows are dropped (scimflow_request_log_dropped_total), so a SCIM request is never
 * blocked, slowed or failed by its log. Rows are kept `retentionDays` (REQUEST_LOG_RETENTION_DAYS,
 * default 14; 0 records nothing), then deleted in small batches, at most one clean-up an hour.
 *
 * What a row holds (identifiers only): time, method, the path under /scim/v2 with the query
 * string's values elided except the identifiers (`filter` keeps its attribute names and
 * operators, and the values compared with id, userName and externalId; startIndex, count,
 * attributes, excludedAttributes, sortBy and sortOrder keep theirs), the resource id (from the
 * path or the Location of a 201), the userName and externalId the body or the filter names,
 * status, the SCIM error's scimType and detail, the token, the request id and the duration.
 * Never names, emails, phone numbers or any other attribute of the body. The detail is the text
 * the identity provider was told, as it was told it: it may quote the refused value (an
 * invalid email address), since that is what the admin must fix.
 *
 * Requests without a known tenant (no token, an unknown or revoked one) are not recorded: no
 * tenant's admin could see them, and they are the failed-authentication throttle's business
 * (a JSON log line and scimflow_scim_requests_total count them). An expired token, and a token
 * over its rate limit, are known: those refusals are recorded under the token's tenant.
 */
import type { Request, Response } from 'express';
import { DatabaseUnavailableError, StatementTimeoutError, type Db } from '../common/db';
import type { Logger } from '../common/logger';
import type { AppMetrics } from '../common/metrics';
import { pacedCleanup } from '../common/paced-cleanup';
import { deleteOldRequestLog, insertRequestLog, type RequestLogEntry } from '../common/repositories/request-log';

export type { RequestLogEntry };

export interface RequestLogOptions {
  db: Db;
  logger: Logger;
  metrics?: AppMetrics;
  /** Days rows are kept; 0 records nothing. Default 14. */
  retentionDays?: number;
  /** Longest a recorded request waits in the buffer. Default 250 ms. */
  flushMs?: number;
  /** Rows per INSERT; a full batch is written at once. Default 200. */
  batchSize?: number;
  /** Rows kept in memory while the database cannot be written; the oldest are dropped beyond. Default 10,000. */
  maxBuffered?: number;
  /** Time between two retention clean-ups. Default 1 hour. */
  retentionIntervalMs?: number;
  /** Rows deleted per statement of a clean-up. Default 1000. */
  retentionBatchSize?: number;
}

export interface RequestLog {
  readonly enabled: boolean;
  /** Appends a row to the buffer (never throws, never waits). */
  record(entry: RequestLogEntry): void;
  /** Writes everything buffered now; resolves the rows written (for tests and shutdown). */
  flush(): Promise<number>;
  /** Runs a whole retention clean-up now; resolves the rows deleted. */
  cleanUp(): Promise<number>;
  start(): void;
  /** Stops the timer and writes what is buffered (once; a failure leaves it unwritten). */
  stop(): Promise<void>;
  stats(): { buffered: number; dropped: number };
}

/** Strings PostgreSQL cannot store (U+0000, lone surrogates) are made storable; long ones cut. */
function storable(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  const clean = value.replace(/\u0000/g, '').replace(/\p{Surrogate}/gu, '\uFFFD');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

export function createRequestLog(options: RequestLogOptions): RequestLog {
  const retentionDays = options.retentionDays ?? 14;
  const enabled = retentionDays > 0;
  const flushMs = options.flushMs ?? 250;
  const batchSize = options.batchSize ?? 200;
  const maxBuffered = Math.max(options.maxBuffered ?? 10_000, batchSize);
  const retentionIntervalMs = options.retentionIntervalMs ?? 3_600_000;
  const retentionBatchSize = options.retentionBatchSize ?? 1000;
  let buffer: RequestLogEntry[] = [];
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<number> | undefined;
  /** After a failed write, the next attempt waits (1 s doubling to 10 s) instead of every tick. */
  let retryAt = 0;
  let failures = 0;
  let lastWarnAt = 0;
  const cleanUp = pacedCleanup({
    deleteBatch: (limit) => deleteOldRequestLog(options.db, retentionDays, limit),
    what: 'request log retention',
    logger: options.logger,
    enabled,
    intervalMs: retentionIntervalMs,
    batchSize: retentionBatchSize,
    firstAfterMs: 60_000,
  });

  const drop = (n: number, why: string) => {
    if (n <= 0) return;
    dropped += n;
    options.metrics?.requestLogDropped.inc(n);
    if (Date.now() - lastWarnAt > 60_000) {
      lastWarnAt = Date.now();
      options.logger.warn({ dropped: n, totalDropped: dropped, reason: why }, 'request log: rows dropped');
    }
  };

  async function writeAll(): Promise<number> {
    let written = 0;
    while (buffer.length > 0) {
      const batch = buffer.slice(0, batchSize);
      buffer = buffer.slice(batch.length);
      try {
        written += await insertRequestLog(options.db, batch);
        failures = 0;
        retryAt = 0;
      } catch (err) {
        if (err instanceof DatabaseUnavailableError || err instanceof StatementTimeoutError) {
          // Kept for the next attempt, oldest dropped beyond the bound.
          buffer = batch.concat(buffer);
          if (buffer.length > maxBuffered) {
            const excess = buffer.length - maxBuffered;
            buffer = buffer.slice(excess);
            drop(excess, (err as Error).message);
          }
          failures += 1;
          retryAt = Date.now() + Math.min(10_000, 1_000 * 2 ** Math.min(failures - 1, 4));
        } else {
          // A batch the database refuses as such would be refused forever: dropped, not retried.
          drop(batch.length, (err as Error).message);
        }
        break;
      }
    }
    return written;
  }

  function flush(): Promise<number> {
    if (flushing) return flushing.then(() => flush());
    flushing = writeAll().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  const tick = () => {
    if (flushing) return;
    if (buffer.length > 0 && Date.now() >= retryAt) {
      void flush().then(cleanUp.step);
    } else void cleanUp.step();
  };

  return {
    enabled,
    record(entry) {
      if (!enabled) return;
      buffer.push({
        ...entry,
        method: storable(entry.method, 16) as string,
        path: storable(entry.path, 1000) as string,
        resourceId: storable(entry.resourceId, 200),
        userName: storable(entry.userName, 256),
        externalId: storable(entry.externalId, 256),
        scimType: storable(entry.scimType, 40),
        detail: storable(entry.detail, 1000),
        requestId: storable(entry.requestId, 100) as string,
      });
      if (buffer.length > maxBuffered) {
        buffer.shift();
        drop(1, 'buffer full');
      }
      if (buffer.length >= batchSize && !flushing && Date.now() >= retryAt) void flush();
    },
    flush,
    async cleanUp() {
      if (!enabled) return 0;
      let total = 0;
      for (;;) {
        const n = await deleteOldRequestLog(options.db, retentionDays, retentionBatchSize);
        total += n;
        if (n < retentionBatchSize) return total;
      }
    },
    start() {
      if (!enabled || timer) return;
      timer = setInterval(tick, flushMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (flushing) await flushing.catch(() => undefined);
      await writeAll().catch(() => undefined);
    },
    stats: () => ({ buffered: buffer.length, dropped }),
  };
}

// ---------------------------------------------------------------------------------------------
// What a request tells: the path as recorded, the identifiers it names.

/** Query parameters whose values are kept as sent (they hold no personal data). */
const KEPT_PARAMS = new Set(['startindex', 'count', 'attributes', 'excludedattributes', 'sortby', 'sortorder']);
/** Attributes whose compared values a filter keeps: identifiers. */
const IDENTIFIER_ATTRIBUTES = new Set(['id', 'username', 'externalid']);
const COMPARISON = /([A-Za-z][\w.:$-]*)\s+(eq|ne|co|sw|ew|gt|ge|lt|le)\s+("(?:[^"\\]|\\.)*"|[^\s()[\]]+)/gi;
const QUOTED = /"(?:[^"\\]|\\.)*"/g;

const lastName = (attr: string) => attr.split(':').pop()!.split('.').pop()!.toLowerCase();

/** A filter with every compared value elided (`"…"`) except those compared with id, userName or externalId. */
export function redactFilter(filter: string): string {
  let out = '';
  let from = 0;
  for (const m of filter.matchAll(COMPARISON)) {
    out += filter.slice(from, m.index).replace(QUOTED, '"…"');
    out += IDENTIFIER_ATTRIBUTES.has(lastName(m[1])) ? m[0] : `${m[1]} ${m[2]} ${m[3].startsWith('"') ? '"…"' : '…'}`;
    from = (m.index ?? 0) + m[0].length;
  }
  return out + filter.slice(from).replace(QUOTED, '"…"');
}

/** The path as recorded: `/Users?filter=userName eq "jane@example.org"&count=1`; other values `…`. */
export function recordedPath(path: string, rawQuery: string): string {
  if (!rawQuery) return path;
  const parts: string[] = [];
  for (const [key, value] of new URLSearchParams(rawQuery)) {
    const k = key.toLowerCase();
    parts.push(k === 'filter' ? `${key}=${redactFilter(value)}` : KEPT_PARAMS.has(k) ? `${key}=${value}` : `${key}=…`);
  }
  return `${path}?${parts.join('&')}`;
}

const unquote = (v: string) => {
  if (!v.startsWith('"')) return v;
  try {
    return JSON.parse(v) as string;
  } catch {
    return v.slice(1, -1);
  }
};

/** The userName and externalId a filter compares with `eq`. */
export function identifiersOfFilter(filter: string): { userName?: string; externalId?: string } {
  const found: { userName?: string; externalId?: string } = {};
  for (const m of filter.matchAll(COMPARISON)) {
    if (m[2].toLowerCase() !== 'eq') continue;
    const name = lastName(m[1]);
    if (name === 'username') found.userName ??= unquote(m[3]);
    if (name === 'externalid') found.externalId ??= unquote(m[3]);
  }
  return found;
}

const text = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** The userName and externalId a request body names: top level (POST, PUT) or in PATCH operations. */
export function identifiersOfBody(body: unknown): { userName?: string; externalId?: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return {};
  const b = body as Record<string, unknown>;
  const found: { userName?: string; externalId?: string } = { userName: text(b.userName), externalId: text(b.externalId) };
  if (Array.isArray(b.Operations)) {
    for (const op of b.Operations as unknown[]) {
      if (typeof op !== 'object' || op === null) continue;
      const { path, value } = op as { path?: unknown; value?: unknown };
      const p = typeof path === 'string' ? path.toLowerCase() : undefined;
      if (p === 'username') found.userName ??= text(value);
      else if (p === 'externalid') found.externalId ??= text(value);
      else if (p === undefined && typeof value === 'object' && value !== null) {
        found.userName ??= text((value as Record<string, unknown>).userName);
        found.externalId ??= text((value as Record<string, unknown>).externalId);
      }
    }
  }
  return found;
}

/** What a SCIM error answer tells, noted by sendScimError for the log. */
export interface AnsweredError {
  scimType?: string;
  detail: string;
}

/** The credential of a refusal that knows its tenant (an expired token, one over its rate limit), noted by bearerAuth. */
export interface RefusedCredential {
  tokenId: string;
  tenantId: string;
}

/**
 * The row of a finished SCIM request, or undefined when its tenant is unknown. `path` is the
 * path under the SCIM base, as the SCIM router saw it when the request came in (the routers
 * below rewrite req.url while they route).
 */
export function entryOf(req: Request, res: Response, at: { path: string; startedAt: number; durationMs: number; status: number }): RequestLogEntry | undefined {
  const { path, startedAt, durationMs, status } = at;
  const refused = res.locals.refusedCredential as RefusedCredential | undefined;
  const tenantId = req.auth?.tenantId ?? refused?.tenantId;
  if (!tenantId) return undefined;
  const q = req.originalUrl.indexOf('?');
  const rawQuery = q >= 0 ? req.originalUrl.slice(q + 1) : '';
  const segments = path.split('/').filter(Boolean);
  let resourceId = segments.length >= 2 && segments[1] !== '.search' ? safeDecode(segments[1]) : undefined;
  const location = res.getHeader('Location');
  if (!resourceId && status === 201 && typeof location === 'string') resourceId = location.split('/').pop();
  const filter = new URLSearchParams(rawQuery).get('filter');
  const fromBody = identifiersOfBody(req.body);
  const fromFilter = filter ? identifiersOfFilter(filter) : {};
  const error = res.locals.scimError as AnsweredError | undefined;
  return {
    tenantId,
    at: new Date(startedAt),
    method: req.method,
    path: recordedPath(path, rawQuery),
    resourceId: resourceId ?? null,
    userName: fromBody.userName ?? fromFilter.userName ?? null,
    externalId: fromBody.externalId ?? fromFilter.externalId ?? null,
    status,
    scimType: status >= 400 ? (error?.scimType ?? null) : null,
    detail: status >= 400 ? (error?.detail ?? null) : null,
    tokenId: req.auth?.tokenId ?? refused?.tokenId ?? null,
    requestId: req.requestId ?? '',
    durationMs: Math.round(durationMs * 10) / 10,
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
