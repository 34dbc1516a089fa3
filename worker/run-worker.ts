/** Starts the worker process's parts: Temporal connection, activities' dependencies, the worker loop. */
import type { WorkerOptions } from '@temporalio/worker';
import type { Db } from '../common/db';
import type { Logger } from '../common/logger';
import { createMailer, type Mailer } from '../common/mail/mailer';
import type { AppMetrics } from '../common/metrics';
import type { SecretKey } from '../connectors/secrets';
import { connectWorker, type TemporalTarget } from '../common/temporal/connection';
import { syncReconcileSchedules } from '../common/temporal/reconcile-schedule';
import { createWorker, installRuntime, type CreateWorkerOptions } from './create-worker';

export interface RunningWorker {
  /** Resolves when the worker has stopped. */
  done: Promise<void>;
  /**
   * Stops polling, lets in-flight activities finish (up to the shutdown grace time, then
   * cancels them), and resolves when the worker has stopped.
   */
  shutdown(): Promise<void>;
  /** Readiness checks for /readyz: database, Temporal, worker running. */
  readiness?: Record<string, () => Promise<void>>;
}

export async function runWorker(options: {
  /** Carries the payload codecs (encryption), if any. */
  target: TemporalTarget;
  taskQueue: string;
  db: Db;
  smtpUrl: string;
  publicUrl: string;
  mailFrom: string;
  /** MAIL_ALLOWED_FROM_DOMAINS: domains tenants may send invitations from besides MAIL_FROM's (common/mail/sender.ts). Default none. */
  allowedFromDomains?: string[];
  /** MAIL_SEND_LEASE: how long a mail try holds its delivery before it is taken as cut off (activities/deps.ts). */
  mailSendLeaseMs?: number;
  logger: Logger;
  mailer?: Mailer;
  metrics?: AppMetrics;
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /** From worker/workflow-bundle.ts; without it the workflows are bundled in this process. */
  workflowBundlePath?: string;
  /** Cache and concurrency (WORKER_MAX_CACHED_WORKFLOWS, WORKER_MAX_CONCURRENT_ACTIVITIES); createWorker's defaults otherwise. */
  tuning?: { maxCachedWorkflows?: number; maxConcurrentActivities?: number };
  /** CONNECTOR_SECRETS_KEYS, parsed (connectors/secrets.ts); default the key kept in the database. */
  connectorSecretKeys?: SecretKey[];
}): Promise<RunningWorker> {
  installRuntime(options.logger);
  const connection = await connectWorker(options.target);
  const mailer = options.mailer ?? createMailer(options.smtpUrl);
  const worker = await createWorker({
    connection,
    namespace: options.target.namespace,
    taskQueue: options.taskQueue,
    deps: {
      db: options.db,
      mailer,
      publicUrl: options.publicUrl,
      mailFrom: options.mailFrom,
      allowedFromDomains: options.allowedFromDomains ?? [],
      mailSendLeaseMs: options.mailSendLeaseMs,
      logger: options.logger,
      connectorSecretKeys: options.connectorSecretKeys,
    },
    payloadCodecs: options.target.payloadCodecs,
    metrics: options.metrics,
    shutdownGraceTime: options.shutdownGraceTime,
    workflowBundlePath: options.workflowBundlePath,
    tuning: workerTuning(options.tuning),
  });
  const done = worker.run().finally(async () => {
    mailer.close();
    await connection.close();
  });
  // Drift repair: each tenant's reconcile Schedule, in line with its configuration (never fails the start).
  await syncReconcileSchedules({ target: options.target, db: options.db, taskQueue: options.taskQueue, logger: options.logger });
  return {
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
    readiness: {
      database: () => options.db.ping(),
      temporal: async () => {
        await connection.workflowService.getSystemInfo({});
      },
      worker: async () => {
        const state = worker.getState();
        if (state !== 'RUNNING') throw new Error(`worker is ${state}`);
      },
    },
  };
}

function workerTuning(t: { maxCachedWorkflows?: number; maxConcurrentActivities?: number } | undefined): CreateWorkerOptions['tuning'] {
  if (!t) return undefined;
  const tuning: NonNullable<CreateWorkerOptions['tuning']> = {};
  if (t.maxCachedWorkflows !== undefined) tuning.maxCachedWorkflows = t.maxCachedWorkflows;
  if (t.maxConcurrentActivities !== undefined) {
    tuning.maxConcurrentActivityTaskExecutions = t.maxConcurrentActivities;
    tuning.maxConcurrentLocalActivityExecutions = t.maxConcurrentActivities;
  }
  return tuning;
}
