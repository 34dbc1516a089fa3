/**
 * Read models of the tenant overview (admin API `GET /tenants/{t}/overview`, the console's
 * first page): what waiting users wait for, the invitation funnel and the time from the SCIM
 * acknowledgement to the first invitation over a window, the users held or failed, the seat
 * pools and the users not started yet. Counts come from the audit log (index
 * audit_log_action), provisioning_states, app_licences and scim_users.
 */
import type { Queryable } from '../db';

/** Users per `waitingFor`, most first. */
export async function waitingReasons(db: Queryable, tenantId: string): Promise<{ waitingFor: string; users: number }[]> {
  return (
    await db.query<{ waiting_for: string; n: number }>(
      `SELECT waiting_for, count(*)::int AS n FROM provisioning_states WHERE tenant_id = $1 AND waiting_for IS NOT NULL
       GROUP BY waiting_for ORDER BY n DESC, waiting_for LIMIT 50`,
      [tenantId],
    )
  ).rows.map((r) => ({ waitingFor: r.waiting_for, users: r.n }));
}

export interface InvitationFunnel {
  days: number;
  /** Invitations sent (every round), reminders sent, invitations accepted, invitations expired. */
  sent: number;
  reminded: number;
  accepted: number;
  expired: number;
}

export async function invitationFunnel(db: Queryable, tenantId: string, days: number): Promise<InvitationFunnel> {
  const rows = (
    await db.query<{ action: string; n: number }>(
      `SELECT action, count(*)::int AS n FROM audit_log
       WHERE tenant_id = $1 AND action = ANY($2::text[]) AND created_at > now() - ($3::int * interval '1 day')
       GROUP BY action`,
      [tenantId, ['invitation.sent', 'invitation.reminded', 'invitation.accepted', 'invitation.expired'], days],
    )
  ).rows;
  const n = (action: string) => rows.find((r) => r.action === action)?.n ?? 0;
  return { days, sent: n('invitation.sent'), reminded: n('invitation.reminded'), accepted: n('invitation.accepted'), expired: n('invitation.expired') };
}

/** Upper bounds (seconds) of the histogram buckets of time to invitation; the last bucket is open. */
export const TIME_TO_INVITATION_BUCKETS: { label: string; upTo: number | null }[] = [
  { label: '< 1 min', upTo: 60 },
  { label: '1–5 min', upTo: 300 },
  { label: '5–15 min', upTo: 900 },
  { label: '15–60 min', upTo: 3_600 },
  { label: '1–4 h', upTo: 14_400 },
  { label: '4–24 h', upTo: 86_400 },
  { label: '1–3 days', upTo: 259_200 },
  { label: '> 3 days', upTo: null },
];

export interface TimeToInvitation {
  days: number;
  /** First invitations (round 1) sent in the window whose SCIM resource still exists. */
  count: number;
  /** Seconds; null without data. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
  histogram: { label: string; users: number }[];
}

/**
 * From the SCIM acknowledgement (the resource's creation, when the IdP got its 201) to the first
 * invitation mail, for first invitations sent in the last `days` days. This includes the waits the
 * tenant chose (propagation windows, a future start date), which is what an admin asks about.
 */
export async function timeToInvitation(db: Queryable, tenantId: string, days: number): Promise<TimeToInvitation> {
  const bounds = TIME_TO_INVITATION_BUCKETS.flatMap((b) => (b.upTo === null ? [] : [b.upTo]));
  const firstInvitations = `SELECT GREATEST(0, EXTRACT(EPOCH FROM l.created_at - u.created_at))::float8 AS s
     FROM audit_log l JOIN scim_users u ON u.tenant_id = l.tenant_id AND u.id = l.user_id
     WHERE l.tenant_id = $1 AND l.action = 'invitation.sent' AND l.detail->>'round' = '1' AND l.created_at > now() - ($2::int * interval '1 day')`;
  const row = (
    await db.query<{ n: number; p: number[] | null }>(
      `SELECT count(*)::int AS n, percentile_cont(ARRAY[0.5, 0.9, 0.99]::float8[]) WITHIN GROUP (ORDER BY s) AS p FROM (${firstInvitations}) t`,
      [tenantId, days],
    )
  ).rows[0];
  // width_bucket numbers the buckets 0 (below the first bound) to bounds.length (at or above the last).
  const counts = (
    await db.query<{ b: number; c: number }>(`SELECT width_bucket(s, $3::float8[]) AS b, count(*)::int AS c FROM (${firstInvitations}) t GROUP BY b`, [
      tenantId,
      days,
      bounds,
    ])
  ).rows;
  const histogram = TIME_TO_INVITATION_BUCKETS.map((bucket, i) => ({ label: bucket.label, users: counts.find((d) => d.b === i)?.c ?? 0 }));
  const p = row.n > 0 && row.p ? row.p : [null, null, null];
  return { days, count: row.n, p50: p[0], p90: p[1], p99: p[2], histogram };
}

export interface HeldUser {
  userId: string;
  userName: string | null;
  state: string;
  waitingFor: string | null;
  lastError: string | null;
  since: Date;
}

/** The states of users that need someone, most severe first: failed, held for data or a login conflict, waiting for a seat. */
export const ATTENTION_STATES = ['failed', 'awaitingData', 'waitingForSeat'] as const;

/**
 * Users that need someone: up to `perState` of each state in ATTENTION_STATES, most severe state
 * first and the most recent first within it, so that a crowd of seat waiters cannot hide the
 * failed and held users.
 */
export async function heldUsers(db: Queryable, tenantId: string, perState: number): Promise<HeldUser[]> {
  return (
    await db.query<Record<string, any>>(
      `SELECT p.user_id::text AS user_id, COALESCE(u.user_name, a.email) AS user_name, p.state, p.waiting_for, p.last_error, p.updated_at
       FROM unnest($3::text[]) WITH ORDINALITY AS s(state, severity)
       CROSS JOIN LATERAL (SELECT * FROM provisioning_states q WHERE q.tenant_id = $1 AND q.state = s.state ORDER BY q.updated_at DESC LIMIT $2) p
       LEFT JOIN scim_users u ON u.tenant_id = p.tenant_id AND u.id = p.user_id
       LEFT JOIN app_users a ON a.tenant_id = p.tenant_id AND a.user_id = p.user_id
       ORDER BY s.severity, p.updated_at DESC`,
      [tenantId, perState, ATTENTION_STATES],
    )
  ).rows.map((r) => ({ userId: r.user_id, userName: r.user_name, state: r.state, waitingFor: r.waiting_for, lastError: r.last_error, since: r.updated_at }));
}

/** SCIM users the tenant acknowledged whose workflow has not recorded a state yet (a sync in progress). */
export async function notStartedUsers(db: Queryable, tenantId: string): Promise<number> {
  return (
    await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM scim_users u
       WHERE u.tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM provisioning_states p WHERE p.tenant_id = u.tenant_id AND p.user_id = u.id)`,
      [tenantId],
    )
  ).rows[0].n;
}

export interface SeatPoolUse {
  orgKey: string;
  /** Licences of the organisation held now (not released). */
  used: number;
  /** Users whose workflow waits for a seat in it. */
  waiting: number;
}

/** Seats used and users waiting, per organisation; `pools` pairs each organisation with the `waitingFor` of its seat waiters. */
export async function seatPoolUse(db: Queryable, tenantId: string, pools: readonly { orgKey: string; waitingFor: string }[]): Promise<SeatPoolUse[]> {
  if (pools.length === 0) return [];
  const rows = (
    await db.query<{ org_key: string; used: number; waiting: number }>(
      `SELECT o.org_key,
              (SELECT count(*)::int FROM app_licences l WHERE l.tenant_id = $1 AND l.org_key = o.org_key AND l.released_at IS NULL) AS used,
              (SELECT count(*)::int FROM provisioning_states p WHERE p.tenant_id = $1 AND p.waiting_for = o.waiting_for) AS waiting
       FROM unnest($2::text[], $3::text[]) AS o(org_key, waiting_for)`,
      [tenantId, pools.map((p) => p.orgKey), pools.map((p) => p.waitingFor)],
    )
  ).rows;
  return rows.map((r) => ({ orgKey: r.org_key, used: r.used, waiting: r.waiting }));
}

/** The latest finished drift-repair run of the tenant (its audit entry), if any. */
export async function lastReconcileRun(
  db: Queryable,
  tenantId: string,
): Promise<{ at: Date; requestId: string | null; workflowId: string | null; totals: Record<string, unknown> } | undefined> {
  const r = (
    await db.query<Record<string, any>>(
      `SELECT created_at, request_id, workflow_id, detail FROM audit_log WHERE tenant_id = $1 AND action = 'reconcile.completed'
       ORDER BY created_at DESC LIMIT 1`,
      [tenantId],
    )
  ).rows[0];
  return r ? { at: r.created_at, requestId: r.request_id, workflowId: r.workflow_id, totals: r.detail } : undefined;
}
