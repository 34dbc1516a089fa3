/** The audit trail (audit_log): who changed what, under which request, workflow run and step. */
import type { Queryable } from '../db';

export interface AuditEntry {
  tenantId: string;
  userId: string | null;
  action: string;
  detail?: Record<string, unknown>;
  requestId?: string | null;
  workflowId?: string | null;
  runId?: string | null;
  step?: string | null;
}

export async function appendAudit(tx: Queryable, e: AuditEntry): Promise<void> {
  await tx.query(
    'INSERT INTO audit_log (tenant_id, user_id, action, detail, request_id, workflow_id, run_id, step) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)',
    [e.tenantId, e.userId, e.action, JSON.stringify(e.detail ?? {}), e.requestId ?? null, e.workflowId ?? null, e.runId ?? null, e.step ?? null],
  );
}

/** Writes `entries` in one statement, in order (their ids ascend as listed). */
export async function appendAudits(tx: Queryable, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  if (entries.length === 1) return appendAudit(tx, entries[0]);
  const col = <T>(f: (e: AuditEntry) => T) => entries.map(f);
  await tx.query(
    `INSERT INTO audit_log (tenant_id, user_id, action, detail, request_id, workflow_id, run_id, step)
     SELECT e.a, e.b, e.c, e.d, e.e, e.f, e.g, e.h
     FROM unnest($1::text[], $2::uuid[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY AS e(a, b, c, d, e, f, g, h, n)
     ORDER BY e.n`,
    [
      col((e) => e.tenantId),
      col((e) => e.userId),
      col((e) => e.action),
      col((e) => JSON.stringify(e.detail ?? {})),
      col((e) => e.requestId ?? null),
      col((e) => e.workflowId ?? null),
      col((e) => e.runId ?? null),
      col((e) => e.step ?? null),
    ],
  );
}

/** How many `action` entries each of `userIds` has (users without one are left out). */
export async function actionCountsByUser(db: Queryable, tenantId: string, action: string, userIds: string[]): Promise<Map<string, number>> {
  if (userIds.length === 0) return new Map();
  const rows = (
    await db.query<{ user_id: string; n: number }>(
      'SELECT user_id::text AS user_id, count(*)::int AS n FROM audit_log WHERE tenant_id = $1 AND action = $2 AND user_id = ANY($3::uuid[]) GROUP BY user_id',
      [tenantId, action, userIds],
    )
  ).rows;
  return new Map(rows.map((r) => [r.user_id, r.n]));
}
