/**
 * One pass of the outbox relay (outbox-relay.ts): claims committed outbox rows, delivers each
 * with signal-with-start on the user's workflow (deterministic id), marks them delivered, and
 * schedules a retry with backoff for each one that could not be delivered.
 *
 * The change's request id travels in the signal (ResourceChanged.requestId) and the workflow
 * input, so the activities it causes log and audit it. The Temporal client it is given carries
 * the payload codec (encryption), so these payloads reach Temporal sealed.
 */
import type { Client } from '@temporalio/client';
import type { Db } from '../common/db';
import type { Logger } from '../common/logger';
import type { AppMetrics } from '../common/metrics';
import * as outbox from '../common/repositories/outbox';
import { SA_STATE, SA_TENANT, SA_USER_ID, userWorkflowId } from '../common/temporal/constants';
import { invitationAcceptedSignal, resourceChangedSignal } from '../workflows/definitions';
import type { userLifecycle } from '../workflows/user-lifecycle';

const userLifecycleWorkflow: typeof userLifecycle = 'userLifecycle' as never;

/** Temporal's highest task priority (1..5, default 3): changes that remove access go first. */
const URGENT_PRIORITY = 1;
/** gRPC status NOT_FOUND: the workflow has not started yet. */
const GRPC_NOT_FOUND = 5;
/** How long a claimed row is hidden from other claims while this pass delivers it. */
const CLAIM_MS = 30_000;

/** Where changes go and what the workflows they start are told. */
export interface DeliveryTarget {
  taskQueue: string;
  logger: Logger;
  /** The admin console's base URL: a new user workflow's details in the Temporal UI link back to the user's console page. */
  consoleUrl?: () => string | undefined;
}

/** What a pass needs: the database, a way to Temporal, and where to report. */
export interface PassDeps extends DeliveryTarget {
  db: Db;
  /** Resolves a connected client; rejects while Temporal is unreachable. */
  temporal: () => Promise<Client>;
  /** Delivered/failed counters. */
  metrics?: AppMetrics;
  /** Told whether the pass's attempts reached Temporal (not called when nothing was due). */
  attempted: (outcome: DeliveryOutcome) => void;
}

/** How much one pass takes on (outbox-relay.ts's pacing decides, pass by pass). */
export interface PassLimits {
  /** Rows claimed. */
  batchSize: number;
  /** Signals in flight at once. */
  concurrency: number;
}

/** Whether a pass's delivery attempts reached Temporal, and the last error when not. */
export interface DeliveryOutcome {
  ok: boolean;
  error?: string;
}

/** The wait before a failed change is tried again: 250 ms doubling, at most 30 s. */
const backoff = (attempts: number) => Math.min(30_000, 250 * 2 ** Math.min(attempts, 7));

/** Markdown the Temporal UI shows on the workflow's page (static details, fixed at start): the way back to the console. */
function consoleLink(target: DeliveryTarget, userId: string): { staticDetails?: string } {
  const base = target.consoleUrl?.();
  return base ? { staticDetails: `[Open this user in the scimflow console](${base}/users/${userId})` } : {};
}

/**
 * A change that removes access must not wait behind an import's backlog in the task queue:
 * the user's workflow is raised to the top priority before the signal, so its workflow and
 * activity tasks are dispatched ahead of every onboarding (Temporal task queue priority). It
 * stays there: a user who lost access once has little work left, and it is done first.
 * A workflow not started yet is started at that priority by the signal-with-start.
 */
async function raisePriority(client: Client, workflowId: string, logger: Logger): Promise<void> {
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
    logger.debug({ workflowId, err: (err as Error).message }, 'workflow priority not raised');
  }
}

/** Delivers one change to its user's workflow; throws when Temporal does not take it. */
export async function deliverChange(client: Client, change: outbox.OutboxChange, target: DeliveryTarget): Promise<void> {
  if (change.resourceType !== 'User') return; // group changes drive users through their memberships (tenant policy)
  const workflowId = userWorkflowId(change.tenantId, change.resourceId);
  const start = {
    taskQueue: target.taskQueue,
    workflowId,
    args: [{ tenantId: change.tenantId, userId: change.resourceId, requestId: change.requestId }] as Parameters<typeof userLifecycle>,
    // Shown in the Temporal UI's workflow list and header; ids only, no personal data.
    staticSummary: `Provisioning of SCIM user ${change.resourceId} in tenant ${change.tenantId}`,
    typedSearchAttributes: [
      { key: SA_TENANT, value: change.tenantId },
      { key: SA_USER_ID, value: change.resourceId },
      { key: SA_STATE, value: 'pending' },
    ],
    ...consoleLink(target, change.resourceId),
  };
  if (change.urgent) await raisePriority(client, workflowId, target.logger);
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
  target.logger.debug(
    { requestId: change.requestId, tenantId: change.tenantId, workflowId, change: change.change, outboxId: change.id, attempt: change.attempts },
    'change delivered to its workflow',
  );
}

/** The claimed changes as one queue per user (changes of one user go in order), users whose changes remove access first (claimDue claims them first too). */
function queuesByUser(due: outbox.OutboxChange[]): outbox.OutboxChange[][] {
  const byUser = new Map<string, outbox.OutboxChange[]>();
  for (const c of due) byUser.set(`${c.tenantId}/${c.resourceId}`, [...(byUser.get(`${c.tenantId}/${c.resourceId}`) ?? []), c]);
  const urgent = (q: outbox.OutboxChange[]) => q.some((c) => c.urgent);
  return [...byUser.values()].sort((a, b) => Number(urgent(b)) - Number(urgent(a)));
}

/** Temporal cannot be reached: every claimed change is tried again later. */
async function deferAll(deps: PassDeps, due: outbox.OutboxChange[], err: Error): Promise<number> {
  const error = `Temporal unreachable: ${err.message}`;
  deps.attempted({ ok: false, error });
  deps.metrics?.outboxDeliveryFailures.inc(due.length);
  deps.logger.warn({ pending: due.length, err: err.message }, 'Temporal unreachable; outbox changes will be retried');
  for (const c of due) await outbox.markFailed(deps.db, c.id, error, backoff(c.attempts));
  return 0;
}

/**
 * Delivers the users' queues, `concurrency` users at a time: a user's changes in order, a failed
 * change scheduled for a retry with the user's later changes kept behind it.
 */
async function deliverQueues(deps: PassDeps, client: Client, queues: outbox.OutboxChange[][], concurrency: number) {
  const delivered: number[] = [];
  const failed: string[] = [];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queues.length) }, async () => {
      for (let q = queues.shift(); q; q = queues.shift()) {
        for (const c of q) {
          try {
            await deliverChange(client, c, deps);
            delivered.push(c.id);
          } catch (err) {
            failed.push((err as Error).message);
            deps.logger.debug(
              { requestId: c.requestId, tenantId: c.tenantId, outboxId: c.id, attempt: c.attempts, err: (err as Error).message },
              'change not delivered; will retry',
            );
            await outbox.markFailed(deps.db, c.id, (err as Error).message, backoff(c.attempts)).catch(() => undefined);
            break; // keep this user's later changes behind the failed one
          }
        }
      }
    }),
  );
  return { delivered, failed };
}

/**
 * One pass: claims what is due (at most `limits.batchSize`), delivers it, records what happened;
 * resolves how many changes were delivered. Throws when the database fails.
 */
export async function deliveryPass(deps: PassDeps, limits: PassLimits): Promise<number> {
  const due = await outbox.claimDue(deps.db, limits.batchSize, CLAIM_MS);
  if (due.length === 0) return 0;
  const connected = await deps.temporal().then(
    (client) => ({ client }),
    (err: unknown) => ({ err: err as Error }),
  );
  if ('err' in connected) return deferAll(deps, due, connected.err);
  const { delivered, failed } = await deliverQueues(deps, connected.client, queuesByUser(due), limits.concurrency);
  await outbox.markDelivered(deps.db, delivered);
  deps.attempted(failed.length === 0 ? { ok: true } : { ok: false, error: failed[failed.length - 1] });
  deps.metrics?.outboxDelivered.inc(delivered.length);
  if (failed.length > 0) {
    deps.metrics?.outboxDeliveryFailures.inc(failed.length);
    deps.logger.warn({ failures: failed.length, delivered: delivered.length }, 'outbox delivery failed for some changes; will retry');
  }
  return delivered.length;
}
