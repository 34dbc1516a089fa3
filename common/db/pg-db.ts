/** `Db` over a PostgreSQL server through a `pg` pool (and a connection of its own per `listen`). */
import { Client, Pool, type PoolClient } from 'pg';
import { type Db, type ListenEvents, type Listener, type Queryable, type QueryResult, translateDbError } from './db';

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
  const searchPath = options.schema ? `-c search_path=${options.schema}` : undefined;
  const pool = new Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    options: searchPath,
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
    listen: (channel, onNotify, events) => listen({ connectionString: options.connectionString, options: searchPath }, channel, onNotify, events),
    async close() {
      await pool.end();
    },
  };
}

const LISTEN_RETRY_FIRST_MS = 500;
const LISTEN_RETRY_MAX_MS = 30_000;

/**
 * One `pg.Client` LISTENing on `channel`: the pool's connections come and go, a LISTEN needs one
 * that stays. When it is lost (server restart, network), it is opened again after a backoff, and
 * `onConnect` tells the caller to re-read what it may have missed.
 */
async function listen(
  config: { connectionString: string; options?: string },
  channel: string,
  onNotify: (payload: string) => void,
  events: ListenEvents = {},
): Promise<Listener> {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(channel)) throw new Error(`"${channel}" is not a channel name (letters, digits, _)`);
  let closed = false;
  let current: Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let delay = LISTEN_RETRY_FIRST_MS;
  let connecting: Promise<void> | undefined;

  const later = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connecting = attempt();
    }, delay);
    retry.unref();
    delay = Math.min(delay * 2, LISTEN_RETRY_MAX_MS);
  };

  const attempt = async (): Promise<void> => {
    // keepAlive: a connection whose server vanished without a word is noticed by the socket.
    const client = new Client({ ...config, connectionTimeoutMillis: 5_000, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    let lost = false;
    const lose = (err: Error) => {
      if (lost) return;
      lost = true;
      if (current === client) current = undefined;
      client.end().catch(() => undefined); // a no-op once it has ended
      if (closed) return;
      events.onError?.(err);
      later();
    };
    client.on('error', (err) => lose(err));
    client.on('end', () => lose(new Error('the listening connection ended')));
    client.on('notification', (message) => {
      if (message.channel === channel) onNotify(message.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${channel}"`);
    } catch (err) {
      lose((translateDbError(err) as Error) ?? new Error(String(err)));
      return;
    }
    if (closed || lost) {
      await client.end().catch(() => undefined);
      return;
    }
    current = client;
    delay = LISTEN_RETRY_FIRST_MS;
    events.onConnect?.();
  };

  connecting = attempt();
  await connecting;
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      retry = undefined;
      await connecting; // an attempt under way ends its own connection once it sees `closed`
      const client = current;
      current = undefined;
      await client?.end().catch(() => undefined);
    },
  };
}
