/** Server secrets kept in the database (app_secrets), created on first use: e.g. the key invitation tokens are derived with. */
import type { Queryable } from '../db';

export async function getSecret(db: Queryable, name: string, generate: () => string): Promise<string> {
  const existing = (await db.query<{ value: string }>('SELECT value FROM app_secrets WHERE name = $1', [name])).rows[0];
  if (existing) return existing.value;
  await db.query('INSERT INTO app_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, generate()]);
  return (await db.query<{ value: string }>('SELECT value FROM app_secrets WHERE name = $1', [name])).rows[0].value;
}
