/** A user's provider accounts: a provider type (RN, SW, …) in an organisation (app_provider_accounts). */
import type { Queryable } from '../db';

export interface ProviderAccountRow {
  userId: string;
  providerType: string;
  orgKey: string;
}

export async function providerAccountsOf(db: Queryable, tenantId: string, userIds: string[]): Promise<ProviderAccountRow[]> {
  if (userIds.length === 0) return [];
  return (
    await db.query<ProviderAccountRow>(
      'SELECT user_id::text AS "userId", provider_type AS "providerType", org_key AS "orgKey" FROM app_provider_accounts WHERE tenant_id = $1 AND user_id = ANY($2::uuid[])',
      [tenantId, userIds],
    )
  ).rows;
}

/**
 * Brings the user's provider accounts in line with `desired`; returns the accounts added and
 * removed (`type@org`). `current`: the user's rows as the caller's transaction already read
 * them (directoryOf), else they are read here. At most one DELETE and one INSERT.
 */
export async function syncProviderAccounts(
  tx: Queryable,
  tenantId: string,
  userId: string,
  desired: { providerType: string; orgKey: string }[],
  current?: ProviderAccountRow[],
): Promise<{ added: string[]; removed: string[] }> {
  const have = current ?? (await providerAccountsOf(tx, tenantId, [userId]));
  const key = (r: { providerType: string; orgKey: string }) => `${r.providerType}@${r.orgKey}`;
  const wanted = desired.map(key);
  const existing = have.map(key);
  const removed = existing.filter((c) => !wanted.includes(c));
  const added = wanted.filter((w) => !existing.includes(w));
  const gone = have.filter((r) => removed.includes(key(r)));
  if (gone.length)
    await tx.query(
      `DELETE FROM app_provider_accounts a USING unnest($3::text[], $4::text[]) AS g(provider_type, org_key)
       WHERE a.tenant_id = $1 AND a.user_id = $2 AND a.provider_type = g.provider_type AND a.org_key = g.org_key`,
      [tenantId, userId, gone.map((r) => r.providerType), gone.map((r) => r.orgKey)],
    );
  const fresh = desired.filter((x) => added.includes(key(x)));
  if (fresh.length)
    await tx.query(
      `INSERT INTO app_provider_accounts (tenant_id, user_id, provider_type, org_key)
       SELECT $1, $2, n.provider_type, n.org_key FROM unnest($3::text[], $4::text[]) AS n(provider_type, org_key) ON CONFLICT DO NOTHING`,
      [tenantId, userId, fresh.map((d) => d.providerType), fresh.map((d) => d.orgKey)],
    );
  return { added, removed };
}

/** Removes every provider account of the user (termination). */
export async function deleteProviderAccounts(tx: Queryable, tenantId: string, userId: string): Promise<void> {
  await tx.query('DELETE FROM app_provider_accounts WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId]);
}
