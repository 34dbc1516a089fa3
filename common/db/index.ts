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
    const release = lockDataDir(dir);
    const embedded = await createPgliteDb(dir);
    db = {
      ...embedded,
      close: async () => {
        await embedded.close();
        release();
      },
    };
  }
  await migrate(db);
  return db;
}

/** Thrown when another process has the embedded database open (it is single-process by design). */
class EmbeddedDatabaseBusyError extends Error {
  constructor(dir: string, pid: number) {
    super(`The embedded database in ${dir} is in use by process ${pid} (npm start?). Stop it first, or set DATABASE_URL to a PostgreSQL server.`);
    this.name = 'EmbeddedDatabaseBusyError';
  }
}

function lockDataDir(dir: string): () => void {
  const lock = path.join(dir, '..', 'postgres.pid');
  try {
    const pid = Number(fs.readFileSync(lock, 'utf8'));
    if (pid && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        throw new EmbeddedDatabaseBusyError(dir, pid);
      } catch (err) {
        if (err instanceof EmbeddedDatabaseBusyError) throw err; // alive; otherwise a stale lock from a crash
      }
    }
  } catch (err) {
    if (err instanceof EmbeddedDatabaseBusyError) throw err;
  }
  fs.writeFileSync(lock, String(process.pid));
  return () => fs.rmSync(lock, { force: true });
}

/** An empty in-memory embedded database, migrated; for unit-level tests of repositories. */
export async function openMemoryDatabase(): Promise<Db> {
  const db = await createPgliteDb();
  await migrate(db);
  return db;
}
