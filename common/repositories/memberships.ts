/** A user's organisations and their role in each (app_memberships). */
import type { Queryable } from '../db';
import type { DesiredMembership } from '../../domain/desired-user';

export interface MembershipRow {
  userId: string;
  orgKey: string;
  kind: DesiredMembership['kind'];
  role: string | null;
}

export async function membershipsOf(db: Queryable, tenantId: string, userIds: string[]): Promise<MembershipRow[]> {
  if (userIds.length === 0) return [];
  return (
    await db.query<MembershipRow>(
      'SELECT user_id::text AS "userId", org_key AS "orgKey", kind, role FROM app_memberships WHERE tenant_id = $1 AND user_id = ANY($2::uuid[])',
      [tenantId, userIds],
    )
  ).rows;
}

/**
 * Brings the user's memberships in line with `desired`; returns the organisations added, removed
 * and changed (kind or role). `current`: the user's rows as the caller's transaction already
 * read them (directoryOf), else they are read here. At most one DELETE and one INSERT.
 */
export async function syncMemberships(
  tx: Queryable,
  tenantId: string,
  userId: string,
  desired: DesiredMembership[],
  current?: MembershipRow[],
): Promise<{ added: string[]; removed: string[]; changed: string[] }> {
  const have = current ?? (await membershipsOf(tx, tenantId, [userId]));
  const wanted = new Map(desired.map((m) => [m.orgKey, m]));
  const removed = have.filter((c) => !wanted.has(c.orgKey)).map((c) => c.orgKey);
  if (removed.length)
    await tx.query('DELETE FROM app_memberships WHERE tenant_id = $1 AND user_id = $2 AND org_key = ANY($3::text[])', [tenantId, userId, removed]);
  const added: string[] = [];
  const changed: string[] = [];
  const write: DesiredMembership[] = [];
  for (const m of desired) {
    const c = have.find((x) => x.orgKey === m.orgKey);
    if (c && c.kind === m.kind && c.role === m.role) continue;
    write.push(m);
    (c ? changed : added).push(m.orgKey);
  }
  if (write.length)
    await tx.query(
      `INSERT INTO app_memberships (tenant_id, user_id, org_key, kind, role)
       SELECT $1, $2, w.org_key, w.kind, w.role FROM unnest($3::text[], $4::text[], $5::text[]) AS w(org_key, kind, role)
       ON CONFLICT (tenant_id, user_id, org_key) DO UPDATE SET kind = EXCLUDED.kind, role = EXCLUDED.role`,
      [tenantId, userId, write.map((m) => m.orgKey), write.map((m) => m.kind), write.map((m) => m.role)],
    );
  return { added, removed, changed };
}

/** Ends every membership of the user (termination); returns how many. */
export async function deleteMemberships(tx: Queryable, tenantId: string, userId: string): Promise<number> {
  return (await tx.query('DELETE FROM app_memberships WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId])).rowCount;
}
