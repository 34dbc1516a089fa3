/**
 * A tenant's connector calls as its users' logs record them (audit_log `connector.call`,
 * activities/connector-sync.ts): counts and latency over a recent window, for the connector's
 * health (connectors/health.ts). Reads the audit_log_action index (tenant, action, time).
 */
import type { Queryable } from '../db';

export interface ConnectorCallStats {
  calls: number;
  failed: number;
  p50Ms: number | null;
  p95Ms: number | null;
  lastOkAt: Date | null;
}

export async function connectorCallStats(db: Queryable, tenantId: string, windowMs: number): Promise<ConnectorCallStats> {
  const r = (
    await db.query<{ calls: number; failed: number; p50: number | null; p95: number | null; last_ok: Date | null }>(
      `SELECT count(*)::int AS calls,
              count(*) FILTER (WHERE detail->>'outcome' <> 'ok')::int AS failed,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY (detail->>'durationMs')::float) AS p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY (detail->>'durationMs')::float) AS p95,
              max(created_at) FILTER (WHERE detail->>'outcome' = 'ok') AS last_ok
       FROM audit_log
       WHERE tenant_id = $1 AND action = 'connector.call' AND created_at > now() - ($2::bigint * interval '1 millisecond')`,
      [tenantId, windowMs],
    )
  ).rows[0];
  return {
    calls: r?.calls ?? 0,
    failed: r?.failed ?? 0,
    p50Ms: r?.p50 === null || r?.p50 === undefined ? null : Math.round(r.p50),
    p95Ms: r?.p95 === null || r?.p95 === undefined ? null : Math.round(r.p95),
    lastOkAt: r?.last_ok ?? null,
  };
}
