/**
 * The one module that owns database access. Everything above it sees `Db`: `query`, `exec`
 * and `withTransaction`, over a PostgreSQL server through `pg` (DATABASE_URL, or the embedded
 * server of `npm start`). Repositories own the SQL; nothing else imports `pg`.
 */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  /** Parameterised query ($1, $2, ...). Values are never spliced into SQL text. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  withTransaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Cheap round trip, for readiness checks. */
  ping(): Promise<void>;
  /**
   * LISTENs on `channel` over a connection of its own (not one of the pool's; same server, same
   * schema), calling `onNotify` with each notification's payload. A dropped connection is opened
   * again with backoff. Resolves after the first attempt, connected or not (it keeps trying).
   * Optional: a Db without it (a test's wrapper) gets no notifications.
   */
  listen?(channel: string, onNotify: (payload: string) => void, events?: ListenEvents): Promise<Listener>;
  close(): Promise<void>;
}

export interface ListenEvents {
  /** After each connection, once LISTEN is in place: notifications sent while not connected were missed, so re-read what they announce. */
  onConnect?(): void;
  /** The connection could not be opened or was lost; it is opened again after a backoff (0.5 s, doubling to 30 s). */
  onError?(err: Error): void;
}

export interface Listener {
  /** Stops listening and closes the connection. */
  close(): Promise<void>;
}

/** Thrown when the database cannot be reached or is restarting; callers answer 503 and retry. */
export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`database unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

/** Thrown when a statement ran longer than the connection's statement_timeout (SQLSTATE 57014) and was cancelled. */
export class StatementTimeoutError extends Error {
  constructor(cause: unknown) {
    super('the statement ran longer than its time limit and was cancelled', { cause });
    this.name = 'StatementTimeoutError';
  }
}

/** Thrown when PostgreSQL rejects a value it was given (SQLSTATE class 22, e.g. a date out of range): the input's fault, never an outage. */
export class InvalidDataError extends Error {
  constructor(cause: unknown) {
    super(`the database rejected a value: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'InvalidDataError';
  }
}

/** Thrown when a unique constraint rejects a write; `constraint` names the index. */
export class UniqueViolationError extends Error {
  constructor(
    readonly constraint: string | undefined,
    cause: unknown,
  ) {
    super(`unique constraint ${constraint ?? ''} violated`, { cause });
    this.name = 'UniqueViolationError';
  }
}

/**
 * SQLSTATEs and socket errors that mean the server cannot be reached or is going away: class 08
 * (connection exception) except 08P01, which is a protocol violation of ours (e.g. a statement
 * given more parameters than it uses), never an outage; admin shutdown and crash (57P01-03);
 * too many connections (53300).
 */
const CONNECTION_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', '57P01', '57P02', '57P03', '53300'];

/** Maps driver errors to the conditions callers act on; anything else passes through (a 500: our bug). */
export function translateDbError(err: unknown): unknown {
  const e = err as { code?: string; constraint?: string; message?: string };
  if (e?.code === '23505') return new UniqueViolationError(e.constraint, err);
  if (e?.code === '57014') return new StatementTimeoutError(err);
  if (e?.code?.startsWith('22')) return new InvalidDataError(err);
  if (e?.code && (CONNECTION_CODES.includes(e.code) || (e.code.startsWith('08') && e.code !== '08P01'))) return new DatabaseUnavailableError(err);
  if (
    typeof e?.message === 'string' &&
    /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(e.message)
  ) {
    return new DatabaseUnavailableError(err);
  }
  return err;
}
