/** `Db` over a PostgreSQL server through a `pg` pool. */
import { Pool, type PoolClient } from 'pg';
import { type Db, type Queryable, type QueryResult, translateDbError } from './db';

export interface PgDbOptions {
  connectionString: string;
  /** Pool size. Default 10. */
  max?: number;
  /** Schema to use instead of public (tests isolate files this way). */
  schema?: string;
  /** statement_timeout of every connection, in ms (the SCIM server's SCIM_STATEMENT_TIMEOUT); unset: none. */
  statementTimeoutMs?: number;
}

export function createPgDb(options: PgDbOptions): Db {
  const pool = new Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    options: options.schema ? `-c search_path=${options.schema}` : undefined,
    // Sent at connection start: every statement of this pool is cancelled by the server after it (SQLSTATE 57014).
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
  });
  // An idle client losing its server (PostgreSQL restart) must not crash the process;
  // the next query reconnects.
  pool.on('error', () => undefined);

  const run = async <R>(client: Pool | PoolClient, sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> => {
    try {
      const result = await client.query(sql, params as unknown[] | undefined);
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    } catch (err) {
      throw translateDbError(err);
    }
  };

  return {
    kind: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    async exec(sql) {
      await run(pool, sql);
    },
    async withTransaction(fn) {
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw translateDbError(err);
      }
      const tx: Queryable = {
        query: (sql, params) => run(client, sql, params),
        exec: async (sql) => {
          await run(client, sql);
        },
      };
      let broken = false;
      try {
        await tx.query('BEGIN');
        const result = await fn(tx);
        await tx.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw translateDbError(err);
      } finally {
        client.release(broken);
      }
    },
    async ping() {
      await run(pool, 'SELECT 1');
    },
    async close() {
      await pool.end();
    },
  };
}
