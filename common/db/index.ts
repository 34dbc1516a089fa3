import type { Db } from './db';
import { createPgDb } from './pg-db';
import { migrate } from './migrate';

export * from './db';

/**
 * Opens the PostgreSQL server at `databaseUrl` (DATABASE_URL, or the embedded server `npm start`
 * runs) and migrates it; `schema` isolates a test file in a schema of its own.
 */
export async function openDatabase(options: {
  databaseUrl: string;
  schema?: string;
  poolSize?: number;
  /** statement_timeout of the pool's connections (the SCIM server's SCIM_STATEMENT_TIMEOUT); migrations lift it. */
  statementTimeoutMs?: number;
}): Promise<Db> {
  const db = createPgDb({
    connectionString: options.databaseUrl,
    schema: options.schema,
    max: options.poolSize,
    statementTimeoutMs: options.statementTimeoutMs,
  });
  if (options.schema) await db.exec(`CREATE SCHEMA IF NOT EXISTS "${options.schema.replace(/"/g, '')}"`);
  await migrate(db);
  return db;
}
