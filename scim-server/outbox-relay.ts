/**
 * Where a SCIM change becomes a workflow signal. Claims committed outbox rows, delivers each
 * with signal-with-start on the user's workflow (deterministic id), marks it delivered, and
 * retries with backoff while Temporal is unreachable. At-least-once: the workflow tolerates
 * duplicates because it re-reads the latest state.
 *
 * Delivered rows are kept `retentionDays` (OUTBOX_RETENTION_DAYS), then deleted in small
 * batches between delivery passes, at most one clean-up an hour.
 *
 * The change's request id travels in the signal (ResourceChanged.requestId) and the workflow
 * input, so the activities it causes log and audit it. The Temporal client it is given carries
 * the payload codec (encryption), so these payloads reach Temporal sealed.
 */
import type { Client } from '@temporalio/client';
import type { Db } from '../common/db';
import type { Logger } from '../common/logger';
import type { AppMetrics } from '../common/metrics';
import { pacedCleanup } from '../common/paced-cleanup';
import * as outbox from '../common/repositories/outbox';
import { SA_STATE, SA_TENANT, SA_USER_ID, userWorkflowId } from '../common/temporal/constants';
import { invitationAcceptedSignal, resourceChangedSignal } from '../workflows/definitions';
import type { userLifecycle } from '../workflows/user-lifecycle';

const userLifecycleWorkflow: typeof userLifecycle = 'userLifecycle' as never;

/** Temporal's highest task priority (1..5, default 3): changes that remove access go first. */
const URGENT_PRIORITY = 1;
/** gRPC status NOT_FOUND: the workflow has not started yet. */
const GRPC_NOT_FOUND = 5;

export interface OutboxRelayOptions {
  db: Db;
  /** Resolves a connected client; rejects while Temporal is unreachable. */
  temporal: () => Promise<Client>;
  taskQueue: string;
  logger: Logger;
  /** Poll interval when idle. Default 500 ms. */
  pollMs?: number;
  /** Rows per claim. Default 200. */
  batchSize?: number;
  /** Signals in flight at once. Default 32. */
  concurrency?: number;
  /**
   * Whether the API is answering requests now. Then a pass claims at most `busyBatchSize` rows
   * and keeps at most `busyConcurrency` signals in flight: the API comes first, never alone.
   */
  busy?: () => boolean;
  /** Signals in flight while busy(). Default 4. */
  busyConcurrency?: number;
  /** Rows per claim while busy(): short passes, so a change that removes access waits at most one. Default 16. */
  busyBatchSize?: number;
  /** Delivered/failed counters and the healthy gauge. */
  metrics?: AppMetrics;
  /** Delivered rows older than this many days are deleted; 0 keeps them. Default 30. */
  retentionDays?: number;
  /** Time between two retention clean-ups. Default 1 hour. */
  retentionIntervalMs?: number;
  /** Rows deleted per statement of a clean-up. Default 1000. */
  retentionBatchSize?: number;
  /** The admin console's base URL: a new user workflow's details in the Temporal UI link back to the user's console page. */
  consoleUrl?: () => string | undefined;
}

export interface OutboxRelay {
  start(): void;
  /** Wake now (after a commit) instead of at the next poll. */
  nudge(): void;
  /** Delivers everything due, then resolves; for tests and shutdown. */
  drain(): Promise<number>;
  stop(): Promise<void>;
  /** Whether the relay runs, its loop is not stuck, and the last delivery attempt reached Temporal. */
  healthy(): boolean;
  /** As healthy(), with the reason when not. */
  health(): { ok: boolean; reason?: string };
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const pollMs = options.pollMs ?? 500;
  const batchSize = options.batchSize ?? 200;
  const concurrency = options.concurrency ?? 32;
  const busyConcurrency = Math.min(options.busyConcurrency ?? 4, concurrency);
  const busyBatchSize = Math.min(options.busyBatchSize ?? 16, batchSize);
  const busy = options.busy ?? (() => false);
  const retentionDays = options.retentionDays ?? 30;
  const retentionIntervalMs = options.retentionIntervalMs ?? 3_600_000;
  const retentionBatchSize = options.retentionBatchSize ?? 1000;
  /** One batch of the retention clean-up per relay pass, so a large backlog never holds deliveries up. */
  const cleanUp = pacedCleanup({
    deleteBatch: (limit) => outbox.deleteDelivered(options.db, retentionDays, limit),
    what: 'outbox retention (delivered changes)',
    logger: options.logger,
    enabled: retentionDays > 0,
    intervalMs: retentionIntervalMs,
    batchSize: retentionBatchSize,
  });
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  /** Whether the last delivery attempt reached Temporal (and its error when not). */
  let lastOk = true;
  let lastError: string | undefined;
  /** The error of the last relay pass when it failed as a whole (database unreachable), until a pass succeeds. */
  let passError: string | undefined;
  let lastPassAt = Date.now();
  /** A loop that has not finished a pass for this long is stuck (a claim or a signal hangs). */
  const stuckAfterMs = Math.max(60_000, pollMs * 10);

  /** Markdown the Temporal UI shows on the workflow's page (static details, fixed at start): the way back to the console. */
  const consoleLink = (userId: string): { staticDetails?: string } => {
    const base = options.consoleUrl?.();
    return base ? { staticDetails: `[Open this user in the scimflow console](${base}/users/${userId})` } : {};
  };

  /**
   * A change that removes access must not wait behind an import's backlog in the task queue:
   * the user's workflow is raised to the top priority before the signal, so its workflow and
   * activity tasks are dispatched ahead of every onboarding (Temporal task queue priority). It
   * stays there: a user who lost access once has little work left, and it is done first.
   * A workflow not started yet is started at that priority by the signal-with-start.
   */
  async function raisePriority(client: Client, workflowId: string): Promise<void> {
    try {
      await client.workflowService.updateWorkflowExecutionOptions({
        namespace: client.options.namespace,
        workflowExecution: { workflowId },
        workflowExecutionOptions: { priority: { priorityKey: URGENT_PRIORITY } },
        updateMask: { paths: ['priority'] },
      });
    } catch (err) {
      if ((err as { code?: number }).code === GRPC_NOT_FOUND) return;
      // A server without priority overrides still delivers the change, at the default priority.
      options.logger.debug({ workflowId, err: (err as Error).message }, 'workflow priority not raised');
    }
  }

  async function deliver(client: Client, change: outbox.OutboxChange): Promise<void> {
    if (change.resourceType !== 'User') return; // group changes drive users through their memberships (tenant policy)
    const workflowId = userWorkflowId(change.tenantId, change.resourceId);
    const start = {
      taskQueue: options.taskQueue,
      workflowId,
      args: [{ tenantId: change.tenantId, userId: change.resourceId, requestId: change.requestId }] as Parameters<typeof userLifecycle>,
      // Shown in the Temporal UI's workflow list and header; ids only, no personal data.
      staticSummary: `Provisioning of SCIM user ${change.resourceId} in tenant ${change.tenantId}`,
      typedSearchAttributes: [
        { key: SA_TENANT, value: change.tenantId },
        { key: SA_USER_ID, value: change.resourceId },
        { key: SA_STATE, value: 'pending' },
      ],
      ...consoleLink(change.resourceId),
    };
    if (change.urgent) await raisePriority(client, workflowId);
    if (change.change === 'invitationAccepted') {
      await client.workflow.getHandle(workflowId).signal(invitationAcceptedSignal, { invitationId: change.subjectId as string });
    } else {
      // Starts the workflow on the first change, signals the running one afterwards.
      await client.workflow.signalWithStart(userLifecycleWorkflow, {
        ...start,
        ...(change.urgent ? { priority: { priorityKey: URGENT_PRIORITY } } : {}),
        signal: resourceChangedSignal,
        signalArgs: [{ version: change.resourceVersion, change: change.change, requestId: change.requestId }],
      });
    }
    options.logger.debug(
      { requestId: change.requestId, tenantId: change.tenantId, workflowId, change: change.change, outboxId: change.id, attempt: change.attempts },
      'change delivered to its workflow',
    );
  }

  async function deliverBatch(): Promise<number> {
    // Back-pressure without starvation: while the API is busy a pass is small and few signals are
    // in flight, but it always runs to its end, so the next pass (and the urgent changes it claims
    // first) is never more than one short pass away, however long the requests keep coming.
    const limited = busy();
    const due = await outbox.claimDue(options.db, limited ? busyBatchSize : batchSize, 30_000);
    if (due.length === 0) return 0;
    let client: Client;
    try {
      client = await options.temporal();
    } catch (err) {
      lastOk = false;
      lastError = `Temporal unreachable: ${(err as Error).message}`;
      options.metrics?.outboxDeliveryFailures.inc(due.length);
      options.metrics?.outboxRelayHealthy.set(0);
      options.logger.warn({ pending: due.length, err: (err as Error).message }, 'Temporal unreachable; outbox changes will be retried');
      for (const c of due) await outbox.markFailed(options.db, c.id, `Temporal unreachable: ${(err as Error).message}`, backoff(c.attempts));
      return 0;
    }
    const delivered: number[] = [];
    // Changes of one user go in order; different users in parallel.
    const byUser = new Map<string, outbox.OutboxChange[]>();
    for (const c of due) byUser.set(`${c.tenantId}/${c.resourceId}`, [...(byUser.get(`${c.tenantId}/${c.resourceId}`) ?? []), c]);
    // Users whose changes remove access first (claimDue claims them first too).
    const urgent = (q: outbox.OutboxChange[]) => q.some((c) => c.urgent);
    const queues = [...byUser.values()].sort((a, b) => Number(urgent(b)) - Number(urgent(a)));
    let failures = 0;
    await Promise.all(
      Array.from({ length: Math.min(limited ? busyConcurrency : concurrency, queues.length) }, async () => {
        for (let q = queues.shift(); q; q = queues.shift()) {
          for (const c of q) {
            try {
              await deliver(client, c);
              delivered.push(c.id);
            } catch (err) {
              failures += 1;
              lastError = (err as Error).message;
              options.logger.debug(
                { requestId: c.requestId, tenantId: c.tenantId, outboxId: c.id, attempt: c.attempts, err: (err as Error).message },
                'change not delivered; will retry',
              );
              await outbox.markFailed(options.db, c.id, (err as Error).message, backoff(c.attempts)).catch(() => undefined);
              break; // keep this user's later changes behind the failed one
            }
          }
        }
      }),
    );
    await outbox.markDelivered(options.db, delivered);
    lastOk = failures === 0;
    options.metrics?.outboxDelivered.inc(delivered.length);
    if (failures > 0) options.metrics?.outboxDeliveryFailures.inc(failures);
    options.metrics?.outboxRelayHealthy.set(lastOk ? 1 : 0);
    if (failures > 0) options.logger.warn({ failures, delivered: delivered.length }, 'outbox delivery failed for some changes; will retry');
    return delivered.length;
  }

  const backoff = (attempts: number) => Math.min(30_000, 250 * 2 ** Math.min(attempts, 7));

  async function run(): Promise<void> {
    while (running) {
      let delivered = 0;
      try {
        delivered = await deliverBatch();
        passError = undefined;
      } catch (err) {
        passError = (err as Error).message;
        options.logger.warn({ err: (err as Error).message }, 'outbox relay pass failed; will retry');
      }
      lastPassAt = Date.now();
      if (!running) break;
      await cleanUp.step();
      if (!running) break;
      if (delivered === 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, pollMs);
        });
        wake = undefined;
        if (timer) clearTimeout(timer);
      }
    }
  }

  function health(): { ok: boolean; reason?: string } {
    if (!running) return { ok: false, reason: 'relay is not running' };
    if (Date.now() - lastPassAt > stuckAfterMs) return { ok: false, reason: `no relay pass finished for ${Math.round((Date.now() - lastPassAt) / 1000)} s` };
    if (passError) return { ok: false, reason: `relay pass failed: ${passError.slice(0, 150)}` };
    if (!lastOk) return { ok: false, reason: `last delivery to Temporal failed: ${(lastError ?? 'unknown error').slice(0, 150)}` };
    return { ok: true };
  }

  return {
    start() {
      if (running) return;
      running = true;
      lastPassAt = Date.now();
      loop = run();
    },
    nudge() {
      wake?.();
    },
    async drain() {
      let total = 0;
      for (let n = await deliverBatch(); n > 0; n = await deliverBatch()) total += n;
      return total;
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
    healthy: () => health().ok,
    health,
  };
}
