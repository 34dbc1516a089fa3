/** Numbered SQL migrations (`migrations/NNN_name.sql`), applied in order, each once, each in a transaction. */
import fs from 'node:fs';
import path from 'node:path';
import { BACKFILLS } from './backfills';
import type { Db } from './db';

const MIGRATIONS_DIR = path.join(__dirname, 'migrations');
// Arbitrary constant: serialises concurrent starters (worker and SCIM server) on one database.
const MIGRATION_LOCK_ID = 7_314_001;

/**
 * The migration files in order. Two files with one number would apply only the first (the
 * version is what is recorded), silently: that is refused here, so branches that both added a
 * migration cannot merge unnoticed.
 */
export function listMigrations(dir = MIGRATIONS_DIR): { version: number; name: string; sql: string }[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort();
  const byVersion = new Map<number, string>();
  for (const file of files) {
    const version = Number(file.split('_')[0]);
    const other = byVersion.get(version);
    if (other) throw new Error(`migrations ${other} and ${file} share the number ${version}; renumber one of them`);
    byVersion.set(version, file);
  }
  return files.map((file) => ({ version: Number(file.split('_')[0]), name: file, sql: fs.readFileSync(path.join(dir, file), 'utf8') }));
}

/** Applies the migrations not applied yet; notes from their backfills (rows an operator must look at) go to `note`. */
export async function migrate(db: Db, note: (message: string) => void = (m) => process.stderr.write(`[migrate] ${m}\n`)): Promise<number[]> {
  const applied: number[] = [];
  await db.withTransaction(async (tx) => {
    // A migration or backfill may take longer than the SCIM server's statement timeout.
    await tx.query('SET LOCAL statement_timeout = 0');
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const m of listMigrations()) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      for (const message of (await BACKFILLS[m.version]?.(tx)) ?? []) note(message);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
  });
  return applied;
}
