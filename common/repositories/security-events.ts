/**
 * The event feed's tables (migration 021, docs/events.md): each tenant's stream of Security
 * Event Tokens (security_events), the asynchronous SCIM requests waiting for their
 * misc:asyncresp event (async_requests), and the state of each tenant's RFC 8935 push stream
 * (event_push_streams). What an event says is built in events/set.ts; SQL only here.
 *
 * An event is appended in the transaction of the change it reports (`appendEvents`), or in the
 * very statement of a SCIM user write (`appendEventsCte`, like the outbox's rows). Its jti is
 * derived from the change, and appending one a second time does nothing: a retried activity
 * repeats the same jti instead of adding a second event.
 */
import type { Queryable } from '../db';

export type EventResourceType = 'User' | 'Group';

/** One event as its writer appends it. */
export interface NewSecurityEvent {
  tenantId: string;
  /** A UUID derived from the change (events/set.ts eventJti): the same change, the same jti. */
  jti: string;
  eventUri: string;
  resourceType: EventResourceType;
  resourceId: string;
  txn?: string | null;
  /** The SET's claims without iss, aud, iat and jti (sub_id, events, txn): no personal data. */
  claims: Record<string, unknown>;
}

/** One stored event, as the poll endpoint and the push loop sign it. */
export interface StoredSecurityEvent {
  seq: number;
  jti: string;
  eventUri: string;
  claims: Record<string, unknown>;
  createdAt: Date;
}

const COLUMNS = 'tenant_id, jti, event_uri, resource_type, resource_id, txn, claims';
const TYPES = ['text', 'uuid', 'text', 'text', 'uuid', 'text', 'jsonb'];
const valuesOf = (e: NewSecurityEvent): unknown[] => [e.tenantId, e.jti, e.eventUri, e.resourceType, e.resourceId, e.txn ?? null, JSON.stringify(e.claims)];

/**
 * The one INSERT of events, parameters numbered from `first`: one event as plain parameters,
 * more as parallel arrays through unnest. `ofRow`: in a CTE after the write `r`, only when `r`
 * has a row.
 */
function insertEvents(events: readonly NewSecurityEvent[], first: number, ofRow: boolean): { sql: string; params: unknown[] } {
  if (events.length === 1) {
    const params = TYPES.map((t, i) => `$${first + i}::${t}`).join(', ');
    return {
      sql: `INSERT INTO security_events (${COLUMNS}) SELECT ${params}${ofRow ? ' FROM r' : ''} ON CONFLICT (jti) DO NOTHING`,
      params: valuesOf(events[0]),
    };
  }
  const rows = events.map(valuesOf);
  // jsonb[] from a JS array of JSON texts: sent as text[] and cast per element.
  const arrays = TYPES.map((t, i) => `$${first + i}::${t === 'jsonb' ? 'text' : t}[]`).join(', ');
  return {
    sql: `INSERT INTO security_events (${COLUMNS})
      SELECT t, j, u, rt, ri, tx, c::jsonb FROM unnest(${arrays}) AS x(t, j, u, rt, ri, tx, c)${ofRow ? ' WHERE EXISTS (SELECT 1 FROM r)' : ''}
      ON CONFLICT (jti) DO NOTHING`,
    params: TYPES.map((_, i) => rows.map((r) => r[i])),
  };
}

/** Appends `events` in the caller's transaction (the one that makes the change they report); an event whose jti exists is skipped. Returns how many were new. */
export async function appendEvents(tx: Queryable, events: readonly NewSecurityEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const { sql, params } = insertEvents(events, 1, false);
  return (await tx.query(sql, params)).rowCount;
}

/** One event; see appendEvents. Returns whether it was new (false: this jti was appended before). */
export async function appendEvent(tx: Queryable, event: NewSecurityEvent): Promise<boolean> {
  return (await appendEvents(tx, [event])) === 1;
}

/**
 * `, e AS (…)`: the same INSERT as a data-modifying CTE of a write whose row is CTE `r` (a SCIM
 * user create or update), so the change, its outbox row and its events are one statement.
 * Parameters from `first`.
 */
export function appendEventsCte(events: readonly NewSecurityEvent[], first: number): { sql: string; params: unknown[] } {
  if (events.length === 0) return { sql: '', params: [] };
  const { sql, params } = insertEvents(events, first, true);
  return { sql: `, e AS (${sql})`, params };
}

/** The tenant's oldest unacknowledged events, at most `limit`. */
export async function unacknowledgedEvents(db: Queryable, tenantId: string, limit: number): Promise<StoredSecurityEvent[]> {
  const rows = (
    await db.query<{ seq: string; jti: string; event_uri: string; claims: Record<string, unknown>; created_at: Date }>(
      `SELECT seq, jti::text AS jti, event_uri, claims, created_at FROM security_events
       WHERE tenant_id = $1 AND acknowledged_at IS NULL ORDER BY seq LIMIT $2`,
      [tenantId, limit],
    )
  ).rows;
  return rows.map((r) => ({ seq: Number(r.seq), jti: r.jti, eventUri: r.event_uri, claims: r.claims, createdAt: r.created_at }));
}

/** Whether the tenant has an unacknowledged event. */
export async function hasUnacknowledgedEvents(db: Queryable, tenantId: string): Promise<boolean> {
  return (await db.query('SELECT 1 FROM security_events WHERE tenant_id = $1 AND acknowledged_at IS NULL LIMIT 1', [tenantId])).rowCount > 0;
}

/** Marks the tenant's events `jtis` acknowledged (unknown and already acknowledged ones are ignored); returns how many. */
export async function acknowledgeEvents(db: Queryable, tenantId: string, jtis: readonly string[], by: 'poll' | 'push'): Promise<number> {
  if (jtis.length === 0) return 0;
  return (
    await db.query(
      `UPDATE security_events SET acknowledged_at = now(), acknowledged_by = $3
       WHERE tenant_id = $1 AND jti = ANY($2::uuid[]) AND acknowledged_at IS NULL`,
      [tenantId, jtis, by],
    )
  ).rowCount;
}

/** Marks events the receiver refused (poll `setErrs`, push 400) as done, keeping why; they are not delivered again. */
export async function rejectEvents(db: Queryable, tenantId: string, errors: readonly { jti: string; error: string }[], by: 'poll' | 'push'): Promise<number> {
  if (errors.length === 0) return 0;
  return (
    await db.query(
      `UPDATE security_events s SET acknowledged_at = now(), acknowledged_by = $4, error = x.error
       FROM unnest($2::uuid[], $3::text[]) AS x(jti, error)
       WHERE s.tenant_id = $1 AND s.jti = x.jti AND s.acknowledged_at IS NULL`,
      [tenantId, errors.map((e) => e.jti), errors.map((e) => e.error.slice(0, 1000)), by],
    )
  ).rowCount;
}

/** An event as stored, with its delivery state (tests and the console). */
export interface EventRecord {
  seq: number;
  jti: string;
  eventUri: string;
  resourceType: EventResourceType;
  resourceId: string;
  txn: string | null;
  claims: Record<string, unknown>;
  createdAt: Date;
  acknowledgedAt: Date | null;
  acknowledgedBy: 'poll' | 'push' | null;
  error: string | null;
}

/** The tenant's events about one resource (or all, without `resourceId`), oldest first. For tests and diagnostics: it reads all the tenant's events. */
export async function eventsOf(db: Queryable, tenantId: string, resourceId?: string, limit = 500): Promise<EventRecord[]> {
  const rows = (
    await db.query<Record<string, never>>(
      `SELECT seq, jti::text AS jti, event_uri, resource_type, resource_id::text AS resource_id, txn, claims, created_at, acknowledged_at, acknowledged_by, error
       FROM security_events WHERE tenant_id = $1 AND ($2::uuid IS NULL OR resource_id = $2::uuid) ORDER BY seq LIMIT $3`,
      [tenantId, resourceId ?? null, limit],
    )
  ).rows;
  return rows.map((r) => ({
    seq: Number(r.seq),
    jti: r.jti,
    eventUri: r.event_uri,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    txn: r.txn,
    claims: r.claims,
    createdAt: r.created_at,
    acknowledgedAt: r.acknowledged_at,
    acknowledgedBy: r.acknowledged_by,
    error: r.error,
  }));
}

/**
 * Retention: deletes up to `limit` events older than `days` days, acknowledged or not (a feed
 * nobody reads does not grow without end), and the asynchronous requests of that age.
 */
export async function deleteOldEvents(db: Queryable, days: number, limit: number): Promise<number> {
  const r = await db.query(
    `DELETE FROM security_events WHERE jti IN (
       SELECT jti FROM security_events WHERE created_at < now() - ($1::int * interval '1 day') LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [days, limit],
  );
  await db.query(
    `DELETE FROM async_requests WHERE (tenant_id, txn) IN (
       SELECT tenant_id, txn FROM async_requests WHERE created_at < now() - ($1::int * interval '1 day') LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [days, limit],
  );
  return r.rowCount;
}

// --- Asynchronous requests (RFC 9967 §2.5.1) ---------------------------------------------------

export interface AsyncRequest {
  tenantId: string;
  txn: string;
  resourceType: EventResourceType;
  resourceId: string;
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The resource's version this request wrote (its deletion: the version after the last). */
  resourceVersion: number;
  /** The resource's URL, reported in the asyncresp event. */
  location: string;
  requestId: string;
}

/** An async_requests row as an AsyncRequest. */
function toAsyncRequest(r: Record<string, never>): AsyncRequest {
  return {
    tenantId: r.tenant_id,
    txn: r.txn,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    method: r.method,
    resourceVersion: r.resource_version,
    location: r.location,
    requestId: r.request_id,
  };
}

/** Records a `Prefer: respond-async` request in the transaction of its change. */
export async function recordAsyncRequest(tx: Queryable, r: AsyncRequest): Promise<void> {
  await tx.query(
    `INSERT INTO async_requests (tenant_id, txn, resource_type, resource_id, method, resource_version, location, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, txn) DO NOTHING`,
    [r.tenantId, r.txn, r.resourceType, r.resourceId, r.method, r.resourceVersion, r.location, r.requestId],
  );
}

/**
 * The resource's asynchronous requests not yet completed, up to version `throughVersion` (all
 * without it), oldest first, locked until the caller's transaction ends (two activities never
 * complete one request twice).
 */
export async function pendingAsyncRequests(tx: Queryable, tenantId: string, resourceId: string, throughVersion?: number): Promise<AsyncRequest[]> {
  const rows = (
    await tx.query<Record<string, never>>(
      `SELECT tenant_id, txn, resource_type, resource_id::text AS resource_id, method, resource_version, location, request_id FROM async_requests
       WHERE tenant_id = $1 AND resource_id = $2::uuid AND completed_at IS NULL AND ($3::int IS NULL OR resource_version <= $3::int)
       ORDER BY resource_version, created_at FOR UPDATE`,
      [tenantId, resourceId, throughVersion ?? null],
    )
  ).rows;
  return rows.map(toAsyncRequest);
}

export async function markAsyncRequestsCompleted(tx: Queryable, tenantId: string, txns: readonly string[]): Promise<void> {
  if (txns.length === 0) return;
  await tx.query('UPDATE async_requests SET completed_at = now() WHERE tenant_id = $1 AND txn = ANY($2::text[]) AND completed_at IS NULL', [tenantId, txns]);
}

export async function asyncRequestOf(db: Queryable, tenantId: string, txn: string): Promise<(AsyncRequest & { completedAt: Date | null }) | undefined> {
  const r = (
    await db.query<Record<string, never>>(
      `SELECT tenant_id, txn, resource_type, resource_id::text AS resource_id, method, resource_version, location, request_id, completed_at
       FROM async_requests WHERE tenant_id = $1 AND txn = $2`,
      [tenantId, txn],
    )
  ).rows[0];
  return r ? { ...toAsyncRequest(r), completedAt: r.completed_at } : undefined;
}

// --- Push streams (RFC 8935) -------------------------------------------------------------------

/**
 * Takes the tenant's push stream for `leaseMs` when it is due and nobody holds it; returns its
 * consecutive failures so far, or undefined when it is held or backing off.
 */
export async function leasePushStream(db: Queryable, tenantId: string, leaseMs: number): Promise<{ failures: number } | undefined> {
  const row = (
    await db.query<{ failures: number }>(
      `INSERT INTO event_push_streams AS s (tenant_id, leased_until) VALUES ($1, now() + ($2::int * interval '1 millisecond'))
       ON CONFLICT (tenant_id) DO UPDATE SET leased_until = EXCLUDED.leased_until
         WHERE (s.leased_until IS NULL OR s.leased_until < now()) AND s.next_attempt_at <= now()
       RETURNING failures`,
      [tenantId, leaseMs],
    )
  ).rows[0];
  return row ? { failures: row.failures } : undefined;
}

/** Gives the stream back: after a pass that reached the receiver (`failures` 0), or backing off `retryInMs` after one that did not. */
export async function releasePushStream(
  db: Queryable,
  tenantId: string,
  outcome: { failures: number; retryInMs: number; error?: string; delivered: boolean },
): Promise<void> {
  await db.query(
    `UPDATE event_push_streams SET leased_until = NULL, failures = $2, next_attempt_at = now() + ($3::int * interval '1 millisecond'),
       last_error = $4, last_delivered_at = CASE WHEN $5::boolean THEN now() ELSE last_delivered_at END
     WHERE tenant_id = $1`,
    [tenantId, outcome.failures, outcome.retryInMs, outcome.error?.slice(0, 1000) ?? null, outcome.delivered],
  );
}

export interface PushStreamState {
  failures: number;
  lastError: string | null;
  lastDeliveredAt: Date | null;
  nextAttemptAt: Date;
}

export async function pushStreamState(db: Queryable, tenantId: string): Promise<PushStreamState | undefined> {
  const r = (
    await db.query<{ failures: number; last_error: string | null; last_delivered_at: Date | null; next_attempt_at: Date }>(
      'SELECT failures, last_error, last_delivered_at, next_attempt_at FROM event_push_streams WHERE tenant_id = $1',
      [tenantId],
    )
  ).rows[0];
  return r ? { failures: r.failures, lastError: r.last_error, lastDeliveredAt: r.last_delivered_at, nextAttemptAt: r.next_attempt_at } : undefined;
}
