/** A user's licences (app_licences) and the organisations' seat pools they draw from. */
import type { Queryable } from '../db';
import type { DesiredLicence } from '../../domain/desired-user';

export interface LicenceRow {
  userId: string;
  orgKey: string;
  licenceLevel: string;
  mobileLicence: string | null;
}

/** The licences the users hold now (not released). */
export async function activeLicencesOf(db: Queryable, tenantId: string, userIds: string[]): Promise<LicenceRow[]> {
  if (userIds.length === 0) return [];
  return (
    await db.query<LicenceRow>(
      `SELECT user_id::text AS "userId", org_key AS "orgKey", licence_level AS "licenceLevel", mobile_licence AS "mobileLicence"
       FROM app_licences WHERE tenant_id = $1 AND user_id = ANY($2::uuid[]) AND released_at IS NULL`,
      [tenantId, userIds],
    )
  ).rows;
}

/**
 * Licences follow the organisation's level. A new licence takes a seat from the organisation's
 * pool when it has a seat limit; then the pool row is locked so two users cannot take the last
 * seat at once. Without a limit nothing is locked: onboardings into one organisation used to
 * queue on its row for the rest of their transactions.
 */
export async function syncLicences(
  tx: Queryable,
  tenantId: string,
  userId: string,
  desired: DesiredLicence[],
): Promise<{ assigned: string[]; released: string[]; updated: string[]; noSeatIn?: string }> {
  const current = await activeLicencesOf(tx, tenantId, [userId]);
  const wanted = new Set(desired.map((l) => l.orgKey));
  const released = current.filter((c) => !wanted.has(c.orgKey)).map((c) => c.orgKey);
  if (released.length) {
    await tx.query('UPDATE app_licences SET released_at = now() WHERE tenant_id = $1 AND user_id = $2 AND org_key = ANY($3::text[]) AND released_at IS NULL', [
      tenantId,
      userId,
      released,
    ]);
  }
  const assigned: string[] = [];
  const updated: string[] = [];
  for (const l of desired) {
    const c = current.find((x) => x.orgKey === l.orgKey);
    if (c) {
      if (c.licenceLevel !== l.licenceLevel || c.mobileLicence !== l.mobileLicence) {
        await tx.query('UPDATE app_licences SET licence_level = $4, mobile_licence = $5 WHERE tenant_id = $1 AND user_id = $2 AND org_key = $3', [
          tenantId,
          userId,
          l.orgKey,
          l.licenceLevel,
          l.mobileLicence,
        ]);
        updated.push(l.orgKey);
      }
      continue;
    }
    const seatLimit = async (lock: boolean) =>
      (
        await tx.query<{ seat_limit: number | null }>(`SELECT seat_limit FROM organisations WHERE tenant_id = $1 AND key = $2${lock ? ' FOR UPDATE' : ''}`, [
          tenantId,
          l.orgKey,
        ])
      ).rows[0]?.seat_limit ?? null;
    // Read without a lock first; with a limit, lock the row and read the limit again (it may have changed in between).
    const limit = (await seatLimit(false)) === null ? null : await seatLimit(true);
    if (limit !== null) {
      const used = (
        await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM app_licences WHERE tenant_id = $1 AND org_key = $2 AND released_at IS NULL', [
          tenantId,
          l.orgKey,
        ])
      ).rows[0].n;
      if (used >= limit) return { assigned, released, updated, noSeatIn: l.orgKey };
    }
    await tx.query(
      `INSERT INTO app_licences (tenant_id, user_id, org_key, licence_level, mobile_licence) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant_id, user_id, org_key) DO UPDATE SET licence_level = EXCLUDED.licence_level, mobile_licence = EXCLUDED.mobile_licence,
         assigned_at = now(), released_at = NULL`,
      [tenantId, userId, l.orgKey, l.licenceLevel, l.mobileLicence],
    );
    assigned.push(l.orgKey);
  }
  return { assigned, released, updated };
}

/** Releases every licence of the user, giving the seats back (termination); returns how many. */
export async function releaseLicences(tx: Queryable, tenantId: string, userId: string): Promise<number> {
  return (await tx.query('UPDATE app_licences SET released_at = now() WHERE tenant_id = $1 AND user_id = $2 AND released_at IS NULL', [tenantId, userId]))
    .rowCount;
}
