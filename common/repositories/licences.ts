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
 * queue on its row for the rest of their transactions. `current`: the user's licences as the
 * caller's transaction already read them (directoryOf), else they are read here. New licences
 * are written by one INSERT, after one unlocked read of their organisations' limits.
 */
export async function syncLicences(
  tx: Queryable,
  tenantId: string,
  userId: string,
  desired: DesiredLicence[],
  current?: LicenceRow[],
): Promise<{ assigned: string[]; released: string[]; updated: string[]; noSeatIn?: string }> {
  const have = current ?? (await activeLicencesOf(tx, tenantId, [userId]));
  const wanted = new Set(desired.map((l) => l.orgKey));
  const released = have.filter((c) => !wanted.has(c.orgKey)).map((c) => c.orgKey);
  if (released.length) {
    await tx.query('UPDATE app_licences SET released_at = now() WHERE tenant_id = $1 AND user_id = $2 AND org_key = ANY($3::text[]) AND released_at IS NULL', [
      tenantId,
      userId,
      released,
    ]);
  }
  const updated: string[] = [];
  const fresh: DesiredLicence[] = [];
  for (const l of desired) {
    const c = have.find((x) => x.orgKey === l.orgKey);
    if (!c) fresh.push(l);
    else if (c.licenceLevel !== l.licenceLevel || c.mobileLicence !== l.mobileLicence) {
      await tx.query('UPDATE app_licences SET licence_level = $4, mobile_licence = $5 WHERE tenant_id = $1 AND user_id = $2 AND org_key = $3', [
        tenantId,
        userId,
        l.orgKey,
        l.licenceLevel,
        l.mobileLicence,
      ]);
      updated.push(l.orgKey);
    }
  }
  if (fresh.length === 0) return { assigned: [], released, updated };
  // Read without a lock first; with a limit, lock the row and read the limit again (it may have changed in between).
  const limited = new Set(
    (
      await tx.query<{ key: string }>('SELECT key FROM organisations WHERE tenant_id = $1 AND key = ANY($2::text[]) AND seat_limit IS NOT NULL', [
        tenantId,
        fresh.map((l) => l.orgKey),
      ])
    ).rows.map((r) => r.key),
  );
  const take: DesiredLicence[] = [];
  let noSeatIn: string | undefined;
  for (const l of fresh) {
    if (limited.has(l.orgKey)) {
      const limit =
        (
          await tx.query<{ seat_limit: number | null }>('SELECT seat_limit FROM organisations WHERE tenant_id = $1 AND key = $2 FOR UPDATE', [
            tenantId,
            l.orgKey,
          ])
        ).rows[0]?.seat_limit ?? null;
      if (limit !== null) {
        const used = (
          await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM app_licences WHERE tenant_id = $1 AND org_key = $2 AND released_at IS NULL', [
            tenantId,
            l.orgKey,
          ])
        ).rows[0].n;
        if (used >= limit) {
          noSeatIn = l.orgKey;
          break;
        }
      }
    }
    take.push(l);
  }
  if (take.length)
    await tx.query(
      `INSERT INTO app_licences (tenant_id, user_id, org_key, licence_level, mobile_licence)
       SELECT $1, $2, n.org_key, n.licence_level, n.mobile_licence FROM unnest($3::text[], $4::text[], $5::text[]) AS n(org_key, licence_level, mobile_licence)
       ON CONFLICT (tenant_id, user_id, org_key) DO UPDATE SET licence_level = EXCLUDED.licence_level, mobile_licence = EXCLUDED.mobile_licence,
         assigned_at = now(), released_at = NULL`,
      [tenantId, userId, take.map((l) => l.orgKey), take.map((l) => l.licenceLevel), take.map((l) => l.mobileLicence)],
    );
  const assigned = take.map((l) => l.orgKey);
  return noSeatIn ? { assigned, released, updated, noSeatIn } : { assigned, released, updated };
}

/** Releases every licence of the user, giving the seats back (termination); returns how many. */
export async function releaseLicences(tx: Queryable, tenantId: string, userId: string): Promise<number> {
  return (await tx.query('UPDATE app_licences SET released_at = now() WHERE tenant_id = $1 AND user_id = $2 AND released_at IS NULL', [tenantId, userId]))
    .rowCount;
}
