/**
 * `Db` over the embedded PostgreSQL (PGlite) of all-in-one mode: one connection in this
 * process, so statements are serialised through one lock and a transaction holds it
 * until it ends.
 */
import { PGlite } from '@electric-sql/pglite';
import { type Db, type Queryable, translateDbError } from './db';

export async function createPgliteDb(dataDir?: string): Promise<Db> {
  const pg = await PGlite.create(dataDir ? { dataDir } : {});
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = tail.then(fn, fn);
    tail = next.catch(() => undefined);
    return next;
  };
  const raw: Queryable = {
    async query(sql, params) {
      try {
        const result = await pg.query(sql, params as unknown[] | undefined);
        return { rows: result.rows as never[], rowCount: result.rows.length || result.affectedRows || 0 };
      } catch (err) {
        throw translateDbError(err);
      }
    },
    async exec(sql) {
      try {
        await pg.exec(sql);
      } catch (err) {
        throw translateDbError(err);
      }
    },
  };
  return {
    kind: 'pglite',
    query: (sql, params) => exclusive(() => raw.query(sql, params)),
    exec: (sql) => exclusive(() => raw.exec(sql)),
    withTransaction: (fn) =>
      exclusive(async () => {
        await raw.query('BEGIN');
        try {
          const result = await fn(raw);
          await raw.query('COMMIT');
          return result;
        } catch (err) {
          await raw.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }),
    ping: () =>
      exclusive(async () => {
        await raw.query('SELECT 1');
      }),
    close: () => exclusive(() => pg.close()),
  };
}
