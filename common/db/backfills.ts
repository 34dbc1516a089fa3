/**
 * Data steps that follow a SQL migration and need the server's own code (migrate.ts runs
 * each in the migration's transaction, right after the SQL file of its version). Each works
 * through the table in pages, so memory stays flat however many rows there are.
 */
import { userNameKey } from '../../domain/user-name';
import type { Queryable } from './db';

export type Backfill = (tx: Queryable) => Promise<string[]>;

const PAGE = 2_000;

/**
 * 011: scim_users.user_name_key for every existing user, oldest first within a tenant. A user
 * whose key an older user of the tenant already holds (look-alikes stored before the key
 * existed) keeps NULL; each is returned as a note for the operator to resolve.
 */
async function userNameKeys(tx: Queryable): Promise<string[]> {
  const notes: string[] = [];
  let tenant: string | null = null;
  let taken = new Set<string>();
  let after: { tenantId: string; createdAt: string; id: string } | null = null;
  for (;;) {
    const rows: { tenant_id: string; id: string; user_name: string; created_at: string }[] = (
      await tx.query<{ tenant_id: string; id: string; user_name: string; created_at: string }>(
        `SELECT tenant_id, id::text AS id, user_name, created_at::text AS created_at FROM scim_users
         WHERE $1::text IS NULL OR (tenant_id, created_at, id) > ($1::text, $2::timestamptz, $3::uuid)
         ORDER BY tenant_id, created_at, id LIMIT $4`,
        [after?.tenantId ?? null, after?.createdAt ?? null, after?.id ?? null, PAGE],
      )
    ).rows;
    if (rows.length === 0) return notes;
    const keys: { tenantId: string; id: string; key: string }[] = [];
    for (const r of rows) {
      if (r.tenant_id !== tenant) {
        tenant = r.tenant_id;
        taken = new Set();
      }
      const key = userNameKey(r.user_name);
      if (taken.has(key)) {
        notes.push(
          `tenant ${r.tenant_id}: user ${r.id} has a userName that an older user's matches once compared (case, width, composition, spaces); its key is left empty until one of them is renamed`,
        );
        continue;
      }
      taken.add(key);
      keys.push({ tenantId: r.tenant_id, id: r.id, key });
    }
    if (keys.length > 0) {
      await tx.query(
        `UPDATE scim_users s SET user_name_key = k.key FROM unnest($1::text[], $2::uuid[], $3::text[]) AS k(tenant_id, id, key)
         WHERE s.tenant_id = k.tenant_id AND s.id = k.id`,
        [keys.map((k) => k.tenantId), keys.map((k) => k.id), keys.map((k) => k.key)],
      );
    }
    const last = rows[rows.length - 1];
    after = { tenantId: last.tenant_id, createdAt: last.created_at, id: last.id };
  }
}

/** Backfills by the migration version they follow. */
export const BACKFILLS: Record<number, Backfill> = { 11: userNameKeys };
