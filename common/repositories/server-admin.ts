/**
 * Administration of the PostgreSQL servers the project runs itself (the embedded server of
 * `npm start`, the test clusters, the Temporal server's database in `npm run test:cluster`):
 * databases and login roles, through a superuser's connection string. Names are checked here
 * because identifiers cannot be bound as parameters.
 */
import { createPgDb } from '../db/pg-db';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain PostgreSQL identifier: ${name}`);
  return name;
}

async function withServer<T>(adminUrl: string, fn: (db: ReturnType<typeof createPgDb>) => Promise<T>): Promise<T> {
  const db = createPgDb({ connectionString: adminUrl, max: 1 });
  try {
    return await fn(db);
  } finally {
    await db.close().catch(() => undefined);
  }
}

/** Creates database `name` unless it exists. Fails like any connection while the server is starting. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  await withServer(adminUrl, async (db) => {
    const found = await db.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await db.exec(`CREATE DATABASE ${identifier(name)}`);
  });
}

/** Creates login role `name` (with CREATEDB when asked) unless it exists. */
export async function ensureLoginRole(adminUrl: string, name: string, password: string, options: { createDb: boolean }): Promise<void> {
  await withServer(adminUrl, async (db) => {
    const found = await db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
    if (found.rowCount > 0) return;
    const literal = `'${password.replace(/'/g, "''")}'`;
    await db.exec(`CREATE ROLE ${identifier(name)} LOGIN${options.createDb ? ' CREATEDB' : ''} PASSWORD ${literal}`);
  });
}
