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
  close(): Promise<void>;
}

/** Thrown when the database cannot be reached or is restarting; callers answer 503 and retry. */
export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`database unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'DatabaseUnavailableError';
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

/** Maps driver errors to the two conditions callers act on; anything else passes through. */
export function translateDbError(err: unknown): unknown {
  const e = err as { code?: string; constraint?: string; message?: string };
  if (e?.code === '23505') return new UniqueViolationError(e.constraint, err);
  const connectionCodes = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', '57P01', '57P02', '57P03', '53300'];
  if (e?.code && (connectionCodes.includes(e.code) || e.code.startsWith('08'))) return new DatabaseUnavailableError(err);
  if (
    typeof e?.message === 'string' &&
    /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(e.message)
  ) {
    return new DatabaseUnavailableError(err);
  }
  return err;
}
