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

/** Brings the user's provider accounts in line with `desired`; returns the accounts added and removed (`type@org`). */
export async function syncProviderAccounts(
  tx: Queryable,
  tenantId: string,
  userId: string,
  desired: { providerType: string; orgKey: string }[],
): Promise<{ added: string[]; removed: string[] }> {
  const current = (await providerAccountsOf(tx, tenantId, [userId])).map((r) => `${r.providerType}@${r.orgKey}`);
  const wanted = desired.map((d) => `${d.providerType}@${d.orgKey}`);
  const removed = current.filter((c) => !wanted.includes(c));
  const added = wanted.filter((w) => !current.includes(w));
  for (const r of removed) {
    const [type, org] = [r.slice(0, r.lastIndexOf('@')), r.slice(r.lastIndexOf('@') + 1)];
    await tx.query('DELETE FROM app_provider_accounts WHERE tenant_id = $1 AND user_id = $2 AND provider_type = $3 AND org_key = $4', [
      tenantId,
      userId,
      type,
      org,
    ]);
  }
  for (const d of desired.filter((x) => added.includes(`${x.providerType}@${x.orgKey}`))) {
    await tx.query('INSERT INTO app_provider_accounts (tenant_id, user_id, provider_type, org_key) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
      tenantId,
      userId,
      d.providerType,
      d.orgKey,
    ]);
  }
  return { added, removed };
}

/** Removes every provider account of the user (termination). */
export async function deleteProviderAccounts(tx: Queryable, tenantId: string, userId: string): Promise<void> {
  await tx.query('DELETE FROM app_provider_accounts WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId]);
}
