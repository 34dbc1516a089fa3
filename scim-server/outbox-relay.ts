/**
 * Where a SCIM change becomes a workflow signal. Claims committed outbox rows, delivers each
 * with signal-with-start on the user's workflow (deterministic id), marks it delivered, and
 * retries with backoff while Temporal is unreachable. At-least-once: the workflow tolerates
 * duplicates because it re-reads the latest state.
 */
import type { Client } from '@temporalio/client';
import type { Db } from '../common/db';
import type { Logger } from '../common/logger';
import * as outbox from '../common/repositories/outbox';
import { SA_STATE, SA_TENANT, SA_USER_ID, userWorkflowId } from '../common/temporal/constants';
import { invitationAcceptedSignal, resourceChangedSignal } from '../workflows/definitions';
import type { userLifecycle } from '../workflows/user-lifecycle';

const userLifecycleWorkflow: typeof userLifecycle = 'userLifecycle' as never;

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
}

export interface OutboxRelay {
  start(): void;
  /** Wake now (after a commit) instead of at the next poll. */
  nudge(): void;
  /** Delivers everything due, then resolves; for tests and shutdown. */
  drain(): Promise<number>;
  stop(): Promise<void>;
  /** Whether the last delivery attempt reached Temporal. */
  healthy(): boolean;
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const pollMs = options.pollMs ?? 500;
  const batchSize = options.batchSize ?? 200;
  const concurrency = options.concurrency ?? 32;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  let lastOk = true;

  async function deliver(client: Client, change: outbox.OutboxChange): Promise<void> {
    if (change.resourceType !== 'User') return; // group changes drive users through their memberships (tenant policy)
    const workflowId = userWorkflowId(change.tenantId, change.resourceId);
    const start = {
      taskQueue: options.taskQueue,
      workflowId,
      args: [{ tenantId: change.tenantId, userId: change.resourceId, requestId: change.requestId }] as Parameters<typeof userLifecycle>,
      typedSearchAttributes: [
        { key: SA_TENANT, value: change.tenantId },
        { key: SA_USER_ID, value: change.resourceId },
        { key: SA_STATE, value: 'pending' },
      ],
    };
    if (change.change === 'invitationAccepted') {
      await client.workflow.getHandle(workflowId).signal(invitationAcceptedSignal, { invitationId: change.subjectId as string });
      return;
    }
    // Starts the workflow on the first change, signals the running one afterwards.
    await client.workflow.signalWithStart(userLifecycleWorkflow, {
      ...start,
      signal: resourceChangedSignal,
      signalArgs: [{ version: change.resourceVersion, change: change.change, requestId: change.requestId }],
    });
  }

  async function deliverBatch(): Promise<number> {
    const due = await outbox.claimDue(options.db, batchSize, 30_000);
    if (due.length === 0) return 0;
    let client: Client;
    try {
      client = await options.temporal();
    } catch (err) {
      lastOk = false;
      for (const c of due) await outbox.markFailed(options.db, c.id, `Temporal unreachable: ${(err as Error).message}`, backoff(c.attempts));
      return 0;
    }
    const delivered: number[] = [];
    // Changes of one user go in order; different users in parallel.
    const byUser = new Map<string, outbox.OutboxChange[]>();
    for (const c of due) byUser.set(`${c.tenantId}/${c.resourceId}`, [...(byUser.get(`${c.tenantId}/${c.resourceId}`) ?? []), c]);
    const queues = [...byUser.values()];
    let failures = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, queues.length) }, async () => {
        for (let q = queues.shift(); q; q = queues.shift()) {
          for (const c of q) {
            try {
              await deliver(client, c);
              delivered.push(c.id);
            } catch (err) {
              failures += 1;
              await outbox.markFailed(options.db, c.id, (err as Error).message, backoff(c.attempts)).catch(() => undefined);
              break; // keep this user's later changes behind the failed one
            }
          }
        }
      }),
    );
    await outbox.markDelivered(options.db, delivered);
    lastOk = failures === 0;
    if (failures > 0) options.logger.warn({ failures, delivered: delivered.length }, 'outbox delivery failed for some changes; will retry');
    return delivered.length;
  }

  const backoff = (attempts: number) => Math.min(30_000, 250 * 2 ** Math.min(attempts, 7));

  async function run(): Promise<void> {
    while (running) {
      let delivered = 0;
      try {
        delivered = await deliverBatch();
      } catch (err) {
        lastOk = false;
        options.logger.warn({ err: (err as Error).message }, 'outbox relay pass failed; will retry');
      }
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

  return {
    start() {
      if (running) return;
      running = true;
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
    healthy: () => lastOk,
  };
}
