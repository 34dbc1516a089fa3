import path from 'node:path';
import fs from 'node:fs';
import type { Db } from './db';
import { createPgDb } from './pg-db';
import { createPgliteDb } from './pglite-db';
import { migrate } from './migrate';

export * from './db';

/** Opens the configured database (server when a URL is given, else embedded under dataDir) and migrates it. */
export async function openDatabase(options: { databaseUrl?: string; dataDir: string; schema?: string; poolSize?: number }): Promise<Db> {
  let db: Db;
  if (options.databaseUrl) {
    db = createPgDb({ connectionString: options.databaseUrl, schema: options.schema, max: options.poolSize });
    if (options.schema) await db.exec(`CREATE SCHEMA IF NOT EXISTS "${options.schema.replace(/"/g, '')}"`);
  } else {
    const dir = path.join(options.dataDir, 'postgres');
    fs.mkdirSync(dir, { recursive: true });
    db = await createPgliteDb(dir);
  }
  await migrate(db);
  return db;
}

/** An empty in-memory embedded database, migrated; for unit-level tests of repositories. */
export async function openMemoryDatabase(): Promise<Db> {
  const db = await createPgliteDb();
  await migrate(db);
  return db;
}
