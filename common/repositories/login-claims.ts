/**
 * The application's login identifiers, unique per tenant among users that are not terminated:
 * the login email and, for mobile-app users, the primary phone (their mobile login). A user
 * claims its logins when its profile is converged; a user whose login is another's waits
 * (login_waiters) and is told through the outbox when the login is released.
 */
import type { Queryable } from '../db';
import { recordChanges } from './outbox';

export type LoginKind = 'email' | 'phone';

export interface LoginWanted {
  kind: LoginKind;
  value: string;
}

/** Who holds each of `logins` in the tenant, other than `userId` (empty: all free for it). */
export async function loginHolders(db: Queryable, tenantId: string, userId: string, logins: LoginWanted[]): Promise<(LoginWanted & { holder: string })[]> {
  if (logins.length === 0) return [];
  const rows = (
    await db.query<{ kind: LoginKind; value: string; holder: string }>(
      `SELECT c.kind, c.value, c.user_id::text AS holder FROM login_claims c
       JOIN unnest($3::text[], $4::text[]) AS w(kind, value) ON w.kind = c.kind AND w.value = c.value
       WHERE c.tenant_id = $1 AND c.user_id <> $2::uuid`,
      [tenantId, userId, logins.map((l) => l.kind), logins.map((l) => l.value)],
    )
  ).rows;
  return rows;
}

/** Records that `userId` waits for these logins to be released (idempotent). */
export async function waitForLogins(tx: Queryable, tenantId: string, userId: string, logins: LoginWanted[]): Promise<void> {
  if (logins.length === 0) return;
  await tx.query(
    `INSERT INTO login_waiters (tenant_id, kind, value, user_id)
     SELECT $1, w.kind, w.value, $2::uuid FROM unnest($3::text[], $4::text[]) AS w(kind, value) ON CONFLICT DO NOTHING`,
    [tenantId, userId, logins.map((l) => l.kind), logins.map((l) => l.value)],
  );
}

/**
 * Makes `logins` the user's own: claims each free one, and releases the user's other claims of
 * the same kinds (a changed email frees the old one). Returns the logins another user holds
 * and the released values. One statement when every login is free or already the user's (the
 * onboarding case); another to name the holders when one is not, and one each to tell the
 * users waiting for released logins and to end this user's own waits.
 */
export async function claimLogins(
  tx: Queryable,
  tenantId: string,
  userId: string,
  logins: LoginWanted[],
  kinds: LoginKind[],
): Promise<{ taken: (LoginWanted & { holder: string })[]; released: LoginWanted[] }> {
  // A claim is released only when it is not among `logins`: another user's login is never this
  // user's claim, so what is released does not depend on which of `logins` turn out taken.
  const rows = (
    await tx.query<{ what: 'claimed' | 'held' | 'released' | 'waiting'; kind: LoginKind; value: string }>(
      `WITH w AS (SELECT * FROM unnest($3::text[], $4::text[]) AS w(kind, value)),
         ins AS (INSERT INTO login_claims (tenant_id, kind, value, user_id) SELECT $1, w.kind, w.value, $2::uuid FROM w
                 ON CONFLICT (tenant_id, kind, value) DO NOTHING RETURNING kind, value),
         rel AS (DELETE FROM login_claims c WHERE c.tenant_id = $1 AND c.user_id = $2::uuid AND c.kind = ANY($5::text[])
                   AND NOT EXISTS (SELECT 1 FROM w WHERE w.kind = c.kind AND w.value = c.value)
                 RETURNING c.kind, c.value)
       SELECT 'claimed' AS what, kind, value FROM ins
       UNION ALL SELECT 'held', c.kind, c.value FROM login_claims c JOIN w ON w.kind = c.kind AND w.value = c.value WHERE c.tenant_id = $1 AND c.user_id = $2::uuid
       UNION ALL SELECT 'released', kind, value FROM rel
       UNION ALL SELECT 'waiting', NULL, NULL WHERE EXISTS (SELECT 1 FROM login_waiters WHERE tenant_id = $1 AND user_id = $2::uuid)`,
      [tenantId, userId, logins.map((l) => l.kind), logins.map((l) => l.value), kinds],
    )
  ).rows;
  const mine = (l: LoginWanted) => rows.some((r) => (r.what === 'claimed' || r.what === 'held') && r.kind === l.kind && r.value === l.value);
  const others = logins.filter((l) => !mine(l));
  const taken = others.length ? await loginHolders(tx, tenantId, userId, others) : [];
  const keep = logins.filter((l) => !taken.some((t) => t.kind === l.kind && t.value === l.value));
  const released = rows.filter((r) => r.what === 'released').map((r) => ({ kind: r.kind, value: r.value }));
  await tellWaiters(tx, tenantId, userId, released);
  if (keep.length && rows.some((r) => r.what === 'waiting'))
    await tx.query('DELETE FROM login_waiters WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId]);
  return { taken, released };
}

/**
 * Releases the user's claims of `kinds` except `keep`, and tells the users waiting for them
 * (an outbox `login` change each, in this transaction). Termination releases all.
 */
export async function releaseLogins(
  tx: Queryable,
  tenantId: string,
  userId: string,
  kinds: LoginKind[] = ['email', 'phone'],
  keep: LoginWanted[] = [],
): Promise<LoginWanted[]> {
  const released = (
    await tx.query<LoginWanted>(
      `DELETE FROM login_claims c WHERE c.tenant_id = $1 AND c.user_id = $2::uuid AND c.kind = ANY($3::text[])
         AND NOT EXISTS (SELECT 1 FROM unnest($4::text[], $5::text[]) AS k(kind, value) WHERE k.kind = c.kind AND k.value = c.value)
       RETURNING c.kind, c.value`,
      [tenantId, userId, kinds, keep.map((k) => k.kind), keep.map((k) => k.value)],
    )
  ).rows;
  await tellWaiters(tx, tenantId, userId, released);
  return released;
}

/** Tells the users waiting for `released` logins (an outbox `login` change each, in this transaction). */
async function tellWaiters(tx: Queryable, tenantId: string, userId: string, released: LoginWanted[]): Promise<void> {
  if (released.length === 0) return;
  const waiters = (
    await tx.query<{ user_id: string; version: number }>(
      `DELETE FROM login_waiters w USING unnest($2::text[], $3::text[]) AS r(kind, value)
       WHERE w.tenant_id = $1 AND w.kind = r.kind AND w.value = r.value
       RETURNING w.user_id::text AS user_id, 0 AS version`,
      [tenantId, released.map((r) => r.kind), released.map((r) => r.value)],
    )
  ).rows;
  const users = [...new Set(waiters.map((w) => w.user_id))];
  await recordChanges(
    tx,
    users.map((id) => ({
      tenantId,
      resourceType: 'User' as const,
      resourceId: id,
      change: 'login' as const,
      resourceVersion: 0,
      requestId: `login:${userId}`,
    })),
  );
}
