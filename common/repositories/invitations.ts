/**
 * Invitations and the mail-delivery ledger. Tokens are derived (HMAC of the invitation id with
 * a server secret) so reminders can repeat the link, and only their SHA-256 is stored.
 */
import crypto from 'node:crypto';
import type { Queryable } from '../db';
import { isUuid } from '../../domain/uuid';
import { getSecret } from './secrets';

export async function invitationToken(db: Queryable, invitationId: string): Promise<string> {
  const secret = await getSecret(db, 'invitation-token-key', () => crypto.randomBytes(32).toString('base64url'));
  return crypto.createHmac('sha256', secret).update(invitationId).digest('base64url');
}

function tokenHash(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

/** Why a revoked invitation's link stopped working. */
export type RevokedReason = 'superseded' | 'suspended' | 'terminated';

export interface InvitationRow {
  id: string;
  tenantId: string;
  userId: string;
  status: 'pending' | 'sent' | 'accepted' | 'expired' | 'revoked';
  revokedReason: RevokedReason | null;
  sentAt: Date | null;
  expiresAt: Date;
}

function toRow(r: Record<string, never>): InvitationRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    userId: r.user_id,
    status: r.status,
    revokedReason: r.revoked_reason ?? null,
    sentAt: r.sent_at ? new Date(r.sent_at) : null,
    expiresAt: new Date(r.expires_at),
  };
}

const COLUMNS = 'id::text AS id, tenant_id, user_id::text AS user_id, status, revoked_reason, sent_at, expires_at';

/** The invitation of this workflow round, created on first call (idempotent by key), with its link's token. */
export async function ensureInvitation(
  db: Queryable,
  key: string,
  tenantId: string,
  userId: string,
  expiresInMs: number,
): Promise<InvitationRow & { token: string }> {
  const id = crypto.randomUUID();
  const token = await invitationToken(db, id);
  const created = (
    await db.query<Record<string, never>>(
      `INSERT INTO invitations (id, tenant_id, user_id, idempotency_key, token_hash, status, expires_at)
       VALUES ($1, $2, $3, $4, $5, 'pending', now() + ($6::bigint * interval '1 millisecond'))
       ON CONFLICT (idempotency_key) DO NOTHING RETURNING ${COLUMNS}`,
      [id, tenantId, userId, key, tokenHash(token), expiresInMs],
    )
  ).rows[0];
  if (created) return { ...toRow(created), token };
  const existing = toRow((await db.query<Record<string, never>>(`SELECT ${COLUMNS} FROM invitations WHERE idempotency_key = $1`, [key])).rows[0]);
  return { ...existing, token: await invitationToken(db, existing.id) };
}

export async function getInvitation(db: Queryable, id: string): Promise<InvitationRow | undefined> {
  if (!isUuid(id)) return undefined;
  const r = (await db.query<Record<string, never>>(`SELECT ${COLUMNS} FROM invitations WHERE id = $1::uuid`, [id])).rows[0];
  return r ? toRow(r) : undefined;
}

export async function findInvitationByToken(db: Queryable, token: string, forUpdate = false): Promise<InvitationRow | undefined> {
  const r = (
    await db.query<Record<string, never>>(`SELECT ${COLUMNS} FROM invitations WHERE token_hash = $1${forUpdate ? ' FOR UPDATE' : ''}`, [tokenHash(token)])
  ).rows[0];
  return r ? toRow(r) : undefined;
}

export async function markInvitationSent(tx: Queryable, id: string): Promise<Date> {
  return (await tx.query<{ sent_at: Date }>(`UPDATE invitations SET status = 'sent', sent_at = COALESCE(sent_at, now()) WHERE id = $1 RETURNING sent_at`, [id]))
    .rows[0].sent_at;
}

export async function markInvitationAccepted(tx: Queryable, id: string): Promise<void> {
  await tx.query(`UPDATE invitations SET status = 'accepted', accepted_at = now() WHERE id = $1`, [id]);
}

export async function expireInvitation(tx: Queryable, id: string): Promise<boolean> {
  return (await tx.query(`UPDATE invitations SET status = 'expired' WHERE id = $1 AND status IN ('pending', 'sent')`, [id])).rowCount > 0;
}

/**
 * - send: nobody has tried this mail yet, or the last try failed (nothing was delivered).
 * - resend: an earlier try was cut off inside the SMTP exchange (its lease ran out while
 *   'sending'); whether the server took it is unknown, so it is sent again, with the same
 *   Message-ID so that mail clients show one copy if both arrive.
 * - inProgress: another try holds the lease now (a slow SMTP server); ask again later.
 * - alreadySent: the mail server accepted it.
 */
export type DeliveryDecision = 'send' | 'resend' | 'inProgress' | 'alreadySent';

/**
 * Claims the right to send the mail named by `key` for `leaseMs`. At least once: a try that
 * never reported back is repeated once its lease is over, never taken for sent. The lease
 * must outlast one SMTP exchange (the activity's timeout), or two tries could overlap.
 */
export async function claimDelivery(db: Queryable, key: string, tenantId: string, userId: string, kind: string, leaseMs: number): Promise<DeliveryDecision> {
  // One statement: a new or failed delivery, or one whose 'sending' lease ran out, becomes
  // 'sending' with a new lease; 'previous' tells a re-send after an interrupted try from a first one.
  const claimed = (
    await db.query<{ previous: string | null }>(
      `WITH prev AS (SELECT status FROM mail_deliveries WHERE idempotency_key = $1)
       INSERT INTO mail_deliveries (idempotency_key, tenant_id, user_id, kind, status, attempts, lease_until)
       VALUES ($1, $2, $3, $4, 'sending', 1, now() + $5::bigint * interval '1 millisecond')
       ON CONFLICT (idempotency_key) DO UPDATE SET status = 'sending', attempts = mail_deliveries.attempts + 1,
         lease_until = EXCLUDED.lease_until,
         resends = mail_deliveries.resends + (mail_deliveries.status = 'sending')::int
       WHERE mail_deliveries.status = 'failed'
          OR (mail_deliveries.status = 'sending' AND coalesce(mail_deliveries.lease_until, '-infinity') < now())
       RETURNING (SELECT status FROM prev) AS previous`,
      [key, tenantId, userId, kind, leaseMs],
    )
  ).rows[0];
  if (claimed) return claimed.previous === 'sending' ? 'resend' : 'send';
  const row = (await db.query<{ status: string }>('SELECT status FROM mail_deliveries WHERE idempotency_key = $1', [key])).rows[0];
  return row?.status === 'sent' ? 'alreadySent' : 'inProgress';
}

export async function completeDelivery(db: Queryable, key: string, outcome: { sent: true; messageId: string } | { sent: false; error: string }): Promise<void> {
  if (outcome.sent) {
    await db.query(
      `UPDATE mail_deliveries SET status = 'sent', message_id = $2, sent_at = now(), last_error = NULL, lease_until = NULL WHERE idempotency_key = $1`,
      [key, outcome.messageId],
    );
  } else {
    // The SMTP server refused or was unreachable: nothing was delivered, so a retry may send.
    await db.query(`UPDATE mail_deliveries SET status = 'failed', last_error = $2, lease_until = NULL WHERE idempotency_key = $1`, [
      key,
      outcome.error.slice(0, 500),
    ]);
  }
}

/**
 * Revokes the user's open invitations, except `keepId`: their links stop working and say why
 * (a newer invitation replaced them, the user was suspended or terminated). Returns how many.
 */
export async function revokeInvitations(tx: Queryable, tenantId: string, userId: string, reason: RevokedReason, keepId?: string): Promise<number> {
  return (
    await tx.query(
      `UPDATE invitations SET status = 'revoked', revoked_at = now(), revoked_reason = $3
       WHERE tenant_id = $1 AND user_id = $2 AND status IN ('pending', 'sent') AND ($4::uuid IS NULL OR id <> $4::uuid)`,
      [tenantId, userId, reason, keepId ?? null],
    )
  ).rowCount;
}

/**
 * What the invitation page needs to answer truthfully: the invitation, and its user's status,
 * hold and workflow state (the link of a suspended, held or terminated user accepts nothing).
 */
export interface InvitationForPage extends InvitationRow {
  userStatus: string | null;
  holdReason: string | null;
  state: string | null;
}

export async function invitationForPage(db: Queryable, token: string, forUpdate = false): Promise<InvitationForPage | undefined> {
  const r = (
    await db.query<Record<string, never>>(
      `SELECT i.id::text AS id, i.tenant_id, i.user_id::text AS user_id, i.status, i.revoked_reason, i.sent_at, i.expires_at,
              a.status AS user_status, a.hold_reason, p.state
       FROM invitations i
       LEFT JOIN app_users a ON a.tenant_id = i.tenant_id AND a.user_id = i.user_id
       LEFT JOIN provisioning_states p ON p.tenant_id = i.tenant_id AND p.user_id = i.user_id
       WHERE i.token_hash = $1${forUpdate ? ' FOR UPDATE OF i' : ''}`,
      [tokenHash(token)],
    )
  ).rows[0];
  return r ? { ...toRow(r), userStatus: r.user_status ?? null, holdReason: r.hold_reason ?? null, state: r.state ?? null } : undefined;
}

/** How many invitations each of `userIds` has had (users without one are left out). */
export async function invitationCountsByUser(db: Queryable, tenantId: string, userIds: string[]): Promise<Map<string, number>> {
  if (userIds.length === 0) return new Map();
  const rows = (
    await db.query<{ user_id: string; n: number }>(
      'SELECT user_id::text AS user_id, count(*)::int AS n FROM invitations WHERE tenant_id = $1 AND user_id = ANY($2::uuid[]) GROUP BY user_id',
      [tenantId, userIds],
    )
  ).rows;
  return new Map(rows.map((r) => [r.user_id, r.n]));
}

/** How many invitations are in each status, per tenant (the scimflow_invitations gauge). */
export async function invitationCountsByStatus(db: Queryable): Promise<{ tenantId: string; status: string; n: number }[]> {
  const rows = (
    await db.query<{ tenant_id: string; status: string; n: number }>('SELECT tenant_id, status, count(*)::int AS n FROM invitations GROUP BY tenant_id, status')
  ).rows;
  return rows.map((r) => ({ tenantId: r.tenant_id, status: r.status, n: r.n }));
}

/** Invitations of the tenant whose link is out and open (sent, not accepted, expired or revoked). */
export async function countOpenInvitations(db: Queryable, tenantId: string): Promise<number> {
  return (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM invitations WHERE tenant_id = $1 AND status = 'sent'`, [tenantId])).rows[0].n;
}
