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
 * (then nothing of that kind is released or claimed) and the released values.
 */
export async function claimLogins(
  tx: Queryable,
  tenantId: string,
  userId: string,
  logins: LoginWanted[],
  kinds: LoginKind[],
): Promise<{ taken: (LoginWanted & { holder: string })[]; released: LoginWanted[] }> {
  for (const l of logins) {
    await tx.query('INSERT INTO login_claims (tenant_id, kind, value, user_id) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, kind, value) DO NOTHING', [
      tenantId,
      l.kind,
      l.value,
      userId,
    ]);
  }
  const taken = await loginHolders(tx, tenantId, userId, logins);
  const keep = logins.filter((l) => !taken.some((t) => t.kind === l.kind && t.value === l.value));
  const released = await releaseLogins(tx, tenantId, userId, kinds, keep);
  if (keep.length) await tx.query('DELETE FROM login_waiters WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId]);
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
  if (released.length === 0) return released;
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
  return released;
}
