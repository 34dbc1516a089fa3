/**
 * A tenant's connector as the admin API and console show it (to be wired into their routes):
 * which connector, its health (last success, last error, calls per minute, latency, users the
 * application has not confirmed), and the "test connection" button. Ids, counts and the
 * application's messages only; no personal data.
 */
import type { Queryable } from '../common/db';
import { connectorCallStats } from '../common/repositories/connector-calls';
import { connectorAccountsSummary, type ConnectorErrorKind } from '../common/repositories/connector-accounts';
import { currentConfig } from '../common/repositories/tenants';
import { connectorOf } from '../domain/connector-config';
import type { ConnectorRegistry } from './registry';

export interface ConnectorHealth {
  kind: 'directory' | 'http' | 'scim';
  /** Where it sends (http, scim); absent for directory. */
  baseUrl?: string;
  readsBack: boolean;
  /** Users with an account in the application, and the last time the application confirmed a change. */
  accounts: number;
  lastSuccessAt: string | null;
  /** Users whose last call failed, newest first (up to 10), with the application's message. */
  failingUsers: number;
  recentErrors: { userId: string; kind: ConnectorErrorKind; message: string; at: string }[];
  /** Calls over the last `windowMinutes` (from the users' logs): per minute, failed, and latency. */
  windowMinutes: number;
  callsPerMinute: number;
  failedCalls: number;
  latencyMs: { p50: number | null; p95: number | null };
}

/** The tenant's connector and its health over the last `windowMinutes` (default 15). */
export async function connectorHealth(db: Queryable, registry: ConnectorRegistry, tenantId: string, windowMinutes = 15): Promise<ConnectorHealth> {
  const version = await currentConfig(db, tenantId);
  const config = connectorOf(version.config);
  const connector = registry.forConfig(tenantId, version);
  if (config.kind === 'directory')
    return {
      kind: 'directory',
      readsBack: connector.readsBack,
      accounts: 0,
      lastSuccessAt: null,
      failingUsers: 0,
      recentErrors: [],
      windowMinutes,
      callsPerMinute: 0,
      failedCalls: 0,
      latencyMs: { p50: null, p95: null },
    };
  const summary = await connectorAccountsSummary(db, tenantId);
  const stats = await connectorCallStats(db, tenantId, windowMinutes * 60_000);
  return {
    kind: config.kind,
    baseUrl: config.baseUrl,
    readsBack: connector.readsBack,
    accounts: summary.accounts,
    lastSuccessAt: (stats.lastOkAt ?? summary.lastConfirmedAt)?.toISOString() ?? null,
    failingUsers: summary.failing,
    recentErrors: summary.recentErrors.map((e) => ({ ...e, at: e.at.toISOString() })),
    windowMinutes,
    callsPerMinute: Math.round((stats.calls / windowMinutes) * 10) / 10,
    failedCalls: stats.failed,
    latencyMs: { p50: stats.p50Ms, p95: stats.p95Ms },
  };
}

/** The console's "test connection": the tenant's current connector reaches its application with its credentials. */
export async function testConnection(
  db: Queryable,
  registry: ConnectorRegistry,
  tenantId: string,
): Promise<{ kind: string; ok: boolean; detail: string; durationMs: number }> {
  const connector = registry.forConfig(tenantId, await currentConfig(db, tenantId));
  const started = performance.now();
  const result = await connector.check().catch((err: Error) => ({ ok: false, detail: err.message }));
  return { kind: connector.kind, ...result, durationMs: Math.round(performance.now() - started) };
}
