/**
 * Prometheus metrics (prom-client), one registry per process, served at GET /metrics by the
 * SCIM server and by the worker's operations server (METRICS_PORT).
 *
 * Three kinds of series:
 * - events counted where they happen: SCIM requests and their latency (SCIM server), outbox
 *   deliveries (relay), activity runs, invitations sent/accepted/expired and the two
 *   per-tenant latencies "SCIM create → invitation sent" and "SCIM deactivation → access
 *   removed" (worker; observed by the activities once the change they count has committed,
 *   activities/lifecycle-metrics.ts);
 * - database gauges computed on scrape (outbox depth and age, workflows by state, invitations
 *   by status), registered by the process that owns a database handle for them (the SCIM
 *   server): with several replicas, aggregate them with max(), not sum();
 * - Node.js process metrics (prefix scimflow_process_/scimflow_nodejs_).
 *
 * The Temporal SDK's own worker metrics (task slots, poll latencies, schedule-to-start) are
 * exported by the SDK's core on TEMPORAL_METRICS_PORT, see worker/create-worker.ts.
 *
 * Labels never carry personal data: tenant slugs, SCIM resource types, states and statuses.
 */
import client, { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Queryable } from './db';
import { invitationCountsByStatus } from './repositories/invitations';
import { countHeldDeprovisions } from './repositories/deprovision-requests';
import { outboxStats } from './repositories/outbox';
import { expiringTokenCounts } from './repositories/tokens';
import { workflowCountsByState } from './repositories/provisioning-states';

/** Latency buckets for the lifecycle histograms: one second to 30 days. */
const LIFECYCLE_BUCKETS = [
  1,
  5,
  15,
  30,
  60,
  120,
  300,
  600,
  1800,
  3600,
  2 * 3600,
  6 * 3600,
  12 * 3600,
  86_400,
  2 * 86_400,
  7 * 86_400,
  14 * 86_400,
  30 * 86_400,
];

export interface AppMetrics {
  registry: Registry;
  scimRequests: Counter<'method' | 'resource' | 'status'>;
  scimRequestDuration: Histogram<'method' | 'resource'>;
  outboxDelivered: Counter<string>;
  outboxDeliveryFailures: Counter<string>;
  outboxRelayHealthy: Gauge<string>;
  /** Request log rows dropped: the buffer was full while PostgreSQL could not be written (scim-server/request-log.ts). */
  requestLogDropped: Counter<string>;
  activityRuns: Counter<'activity' | 'outcome'>;
  activityDuration: Histogram<'activity'>;
  invitationsSent: Counter<'tenant'>;
  invitationsAccepted: Counter<'tenant'>;
  invitationsExpired: Counter<'tenant'>;
  /** Mails the mail server refused for good (5xx, no valid recipient), by tenant and kind (invitation, reminder). */
  mailRejected: Counter<'tenant' | 'kind'>;
  /** Mails sent again because an earlier try was cut off inside the SMTP exchange (at least once), by tenant and kind. */
  mailResent: Counter<'tenant' | 'kind'>;
  /** Seconds from the SCIM create of a user to the first invitation sent to them. */
  timeToInvitation: Histogram<'tenant'>;
  /** Seconds from the SCIM request that deactivated (active=false) or deleted a user to login blocked. */
  timeToAccessRemoved: Histogram<'tenant' | 'action'>;
  /** Renders the exposition text (content type in `contentType`). */
  render(): Promise<string>;
  contentType: string;
}

let instance: AppMetrics | undefined;

/** The process's metrics (created on first use). */
export function appMetrics(): AppMetrics {
  if (!instance) instance = createMetrics();
  return instance;
}

/** A fresh, independent set (tests); processes use `appMetrics()`. */
export function createMetrics(): AppMetrics {
  const registry = new Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'scimflow_' });
  const registers = [registry];
  return {
    registry,
    scimRequests: new Counter({
      name: 'scimflow_scim_requests_total',
      help: 'SCIM requests served, by method, resource type and HTTP status.',
      labelNames: ['method', 'resource', 'status'],
      registers,
    }),
    scimRequestDuration: new Histogram({
      name: 'scimflow_scim_request_duration_seconds',
      help: 'Time to answer a SCIM request, by method and resource type.',
      labelNames: ['method', 'resource'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    outboxDelivered: new Counter({
      name: 'scimflow_outbox_delivered_total',
      help: 'Outbox changes handed to Temporal (signal or signal-with-start).',
      registers,
    }),
    outboxDeliveryFailures: new Counter({
      name: 'scimflow_outbox_delivery_failures_total',
      help: 'Outbox delivery attempts that failed and will be retried.',
      registers,
    }),
    requestLogDropped: new Counter({
      name: 'scimflow_request_log_dropped_total',
      help: 'SCIM request log rows dropped (buffer full while the database could not be written, or refused by it).',
      registers,
    }),
    outboxRelayHealthy: new Gauge({
      name: 'scimflow_outbox_relay_healthy',
      help: '1 when the last outbox delivery attempt reached Temporal, else 0.',
      registers,
    }),
    activityRuns: new Counter({
      name: 'scimflow_activity_runs_total',
      help: 'Activity executions finished on this worker, by activity and outcome (completed, failed).',
      labelNames: ['activity', 'outcome'],
      registers,
    }),
    activityDuration: new Histogram({
      name: 'scimflow_activity_duration_seconds',
      help: 'Activity execution time on this worker, by activity.',
      labelNames: ['activity'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    invitationsSent: new Counter({
      name: 'scimflow_invitations_sent_total',
      help: 'Invitation rounds sent (first mail of a round), by tenant.',
      labelNames: ['tenant'],
      registers,
    }),
    invitationsAccepted: new Counter({
      name: 'scimflow_invitations_accepted_total',
      help: 'Invitations accepted and applied by the workflow (user activated), by tenant.',
      labelNames: ['tenant'],
      registers,
    }),
    mailRejected: new Counter({
      name: 'scimflow_mail_rejected_total',
      help: 'Mails the mail server refused for good (5xx reply, no valid recipient), by tenant and kind; the user waits in failed with the reason.',
      labelNames: ['tenant', 'kind'],
      registers,
    }),
    mailResent: new Counter({
      name: 'scimflow_mail_resent_total',
      help: 'Mails sent again, with the same link and Message-ID, because an earlier try was cut off inside the SMTP exchange (a worker crash), by tenant and kind.',
      labelNames: ['tenant', 'kind'],
      registers,
    }),
    invitationsExpired: new Counter({
      name: 'scimflow_invitations_expired_total',
      help: 'Invitations that expired unaccepted, by tenant.',
      labelNames: ['tenant'],
      registers,
    }),
    timeToInvitation: new Histogram({
      name: 'scimflow_time_to_invitation_seconds',
      help: 'Seconds from the SCIM create of a user to its first invitation mail (includes waits for data, seats, propagation and the HR start date), by tenant.',
      labelNames: ['tenant'],
      buckets: LIFECYCLE_BUCKETS,
      registers,
    }),
    timeToAccessRemoved: new Histogram({
      name: 'scimflow_time_to_access_removed_seconds',
      help: 'Seconds from the SCIM request that deactivated (action=suspend) or deleted (action=terminate) a user to its login being blocked, by tenant.',
      labelNames: ['tenant', 'action'],
      buckets: LIFECYCLE_BUCKETS,
      registers,
    }),
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}

/**
 * Gauges read from the database on scrape: one set of queries per scrape, shared by the
 * gauges and by scrapes within `cacheMs` (default 0.5 s). A failing database leaves the gauges empty and sets scimflow_database_up 0;
 * the scrape itself still succeeds.
 */
export function registerDatabaseGauges(metrics: AppMetrics, db: Queryable, options: { cacheMs?: number } = {}): void {
  const state = metrics as AppMetrics & { __dbSource?: { db: Queryable } };
  if (state.__dbSource) {
    state.__dbSource.db = db; // last registration wins (one database per process)
    return;
  }
  const source = { db };
  state.__dbSource = source;
  const cacheMs = options.cacheMs ?? 500;
  interface Snapshot {
    ok: boolean;
    outbox: { pending: number; oldestAgeSeconds: number };
    workflows: { tenantId: string; state: string; n: number }[];
    invitations: { tenantId: string; status: string; n: number }[];
    held: { tenantId: string; held: number }[];
    expiringTokens: { tenantId: string; kind: string; n: number }[];
  }
  let cached: { at: number; value: Promise<Snapshot> } | undefined;
  const load = (): Promise<Snapshot> => {
    if (cached && Date.now() - cached.at < cacheMs) return cached.value;
    const value = (async (): Promise<Snapshot> => {
      try {
        const [outbox, workflows, invitations, held, expiringTokens] = await Promise.all([
          outboxStats(source.db),
          workflowCountsByState(source.db),
          invitationCountsByStatus(source.db),
          countHeldDeprovisions(source.db),
          expiringTokenCounts(source.db, TOKEN_EXPIRY_WARNING_MS),
        ]);
        return { ok: true, outbox, workflows, invitations, held, expiringTokens };
      } catch {
        return { ok: false, outbox: { pending: 0, oldestAgeSeconds: 0 }, workflows: [], invitations: [], held: [], expiringTokens: [] };
      }
    })();
    cached = { at: Date.now(), value };
    return value;
  };
  const registers = [metrics.registry];
  new Gauge({
    name: 'scimflow_database_up',
    help: '1 when the last scrape-time database read succeeded, else 0.',
    registers,
    async collect() {
      this.set((await load()).ok ? 1 : 0);
    },
  });
  new Gauge({
    name: 'scimflow_outbox_pending',
    help: 'Outbox changes not yet delivered to Temporal.',
    registers,
    async collect() {
      const s = await load();
      if (s.ok) this.set(s.outbox.pending);
    },
  });
  new Gauge({
    name: 'scimflow_outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest undelivered outbox change (0 when none is pending).',
    registers,
    async collect() {
      const s = await load();
      if (s.ok) this.set(s.outbox.oldestAgeSeconds);
    },
  });
  new Gauge({
    name: 'scimflow_workflows',
    help: 'User workflows by tenant and provisioning state (from provisioning_states).',
    labelNames: ['tenant', 'state'],
    registers,
    async collect() {
      const s = await load();
      this.reset();
      for (const r of s.workflows) this.set({ tenant: r.tenantId, state: r.state }, r.n);
    },
  });
  new Gauge({
    name: 'scimflow_deprovisions_held',
    help: 'Suspensions and terminations held by the mass-deprovisioning guard, waiting for a Super User to allow or reject them, by tenant.',
    labelNames: ['tenant'],
    registers,
    async collect() {
      const s = await load();
      this.reset();
      for (const r of s.held) this.set({ tenant: r.tenantId }, r.held);
    },
  });
  new Gauge({
    name: 'scimflow_tokens_expiring_soon',
    help: 'Live tokens (not revoked, not yet expired) that expire within 14 days, by tenant and kind (scim, admin, codec): rotate them.',
    labelNames: ['tenant', 'kind'],
    registers,
    async collect() {
      const s = await load();
      this.reset();
      for (const r of s.expiringTokens) this.set({ tenant: r.tenantId, kind: r.kind }, r.n);
    },
  });
  new Gauge({
    name: 'scimflow_invitations',
    help: 'Invitations by tenant and status (pending, sent, accepted, expired, revoked), from the invitations table.',
    labelNames: ['tenant', 'status'],
    registers,
    async collect() {
      const s = await load();
      this.reset();
      for (const r of s.invitations) this.set({ tenant: r.tenantId, status: r.status }, r.n);
    },
  });
}

/** How far ahead scimflow_tokens_expiring_soon looks. */
export const TOKEN_EXPIRY_WARNING_MS = 14 * 86_400_000;

/** The SCIM resource type of a path under /scim/v2, from a fixed list (bounded label values). */
export function scimResourceOf(path: string): string {
  const first = path.split('/').filter(Boolean)[0] ?? '';
  const known = ['Users', 'Groups', 'Roles', 'Licenses', 'Bulk', 'Events', 'ServiceProviderConfig', 'ResourceTypes', 'Schemas', 'Me', '.search'];
  return known.includes(first) ? first : first === '' ? 'root' : 'other';
}

/** Runs readiness checks with a time limit each; `ready` only when all pass. */
export async function runReadinessChecks(
  checks: Record<string, () => Promise<void>>,
  timeoutMs = 3_000,
): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const results: Record<string, string> = {};
  let ready = true;
  await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        results[name] = 'ok';
      } catch (err) {
        ready = false;
        results[name] = ((err as Error)?.message ?? String(err)).slice(0, 200);
      } finally {
        if (timer) clearTimeout(timer);
      }
    }),
  );
  return { ready, checks: results };
}
