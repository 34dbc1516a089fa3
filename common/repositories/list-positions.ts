/**
 * SQL of the listing positions (migration 024): when a tenant's listing was last paged, and the
 * renumbering that closes the holes deletions left once nobody is walking it.
 */
import type { Db, Queryable } from '../db';

export type ListedResource = 'User' | 'Group';

const TABLES: Record<ListedResource, { table: string; unique: string }> = {
  User: { table: 'scim_users', unique: 'scim_users_list_position_uq' },
  Group: { table: 'scim_groups', unique: 'scim_groups_list_position_uq' },
};

/** Marks the tenant's listing as being paged now (a renumbering waits until it has been quiet). */
export async function noteListed(db: Queryable, tenantId: string, resource: ListedResource): Promise<void> {
  await db.query(
    `INSERT INTO scim_list_positions (tenant_id, resource, listed_at) VALUES ($1, $2, now())
     ON CONFLICT (tenant_id, resource) DO UPDATE SET listed_at = now()`,
    [tenantId, resource],
  );
}

/** Listings with holes whose last page was read more than `quietSeconds` ago (or never). */
export async function listingsDueForRenumbering(db: Queryable, quietSeconds: number): Promise<{ tenantId: string; resource: ListedResource }[]> {
  return (
    await db.query<{ tenant_id: string; resource: ListedResource }>(
      `SELECT c.tenant_id, c.resource FROM scim_list_positions c
       WHERE (c.listed_at IS NULL OR c.listed_at < now() - make_interval(secs => $1))
         AND EXISTS (SELECT 1 FROM scim_list_holes h WHERE h.tenant_id = c.tenant_id AND h.resource = c.resource)
       ORDER BY c.tenant_id, c.resource`,
      [quietSeconds],
    )
  ).rows.map((r) => ({ tenantId: r.tenant_id, resource: r.resource }));
}

/**
 * Closes the listing's holes: positions become 1..N in their current order, and the next
 * resource takes N + 1. Locks the listing's row first, so no position is taken meanwhile (and
 * waits for creations still holding it); re-checks the quiet time under the lock. Resolves
 * how many resources moved (0: nothing to do, or a client paged meanwhile).
 */
export async function renumberListing(db: Db, tenantId: string, resource: ListedResource, quietSeconds: number): Promise<number> {
  const { table, unique } = TABLES[resource];
  return db.withTransaction(async (tx) => {
    const due = (
      await tx.query(
        `SELECT 1 FROM scim_list_positions WHERE tenant_id = $1 AND resource = $2
           AND (listed_at IS NULL OR listed_at < now() - make_interval(secs => $3)) FOR UPDATE`,
        [tenantId, resource, quietSeconds],
      )
    ).rowCount;
    if (due === 0) return 0;
    await tx.query(`SET CONSTRAINTS ${unique} DEFERRED`);
    const moved = (
      await tx.query(
        `UPDATE ${table} r SET list_position = n.rn
         FROM (SELECT id, row_number() OVER (ORDER BY list_position) AS rn FROM ${table} WHERE tenant_id = $1) n
         WHERE r.tenant_id = $1 AND r.id = n.id AND r.list_position <> n.rn`,
        [tenantId],
      )
    ).rowCount;
    await tx.query('DELETE FROM scim_list_holes WHERE tenant_id = $1 AND resource = $2', [tenantId, resource]);
    return moved ?? 0;
  });
}
