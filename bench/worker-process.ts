/**
 * The Temporal worker (runWorker: workflows + activities) in a process of its own, so its RSS
 * and CPU are its own. Started by bench/run.ts with fork(); answers { type: 'mem' } with
 * process.memoryUsage() and stops on { type: 'stop' }.
 *
 * This is runWorker as `npm run worker` starts it: production tuning, the workflow code bundled
 * in a child process first. For tuning experiments, BENCH_WORKER_TUNING='{"maxCachedWorkflows":500,
 * "maxConcurrentActivities":20}' (as WORKER_MAX_CACHED_WORKFLOWS / WORKER_MAX_CONCURRENT_ACTIVITIES),
 * and BENCH_WORKER_PREBUNDLE=0 bundles inside the worker process instead.
 */
import { payloadCodecsOf, resolvePayloadKeys } from '../common/codec/keys';
import { openDatabase } from '../common/db';
import { createLogger } from '../common/logger';
import { appMetrics } from '../common/metrics';
import { type TemporalTarget } from '../common/temporal/connection';
import { runWorker } from '../worker/run-worker';
import { buildWorkflowBundleInChild } from '../worker/workflow-bundle';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (bench/worker-process.ts is started by bench/run.ts)`);
  return v;
}

async function main(): Promise<void> {
  const logger = createLogger(process.env.BENCH_LOG_LEVEL ?? 'warn', { process: 'bench-worker' });
  const db = await openDatabase({ databaseUrl: env('BENCH_DATABASE_URL') });
  // As `npm run worker` with PAYLOAD_KEYS set: payloads encrypted (unless BENCH_PAYLOAD_KEYS is empty).
  const keys = resolvePayloadKeys({ payloadKeys: process.env.BENCH_PAYLOAD_KEYS || undefined, dataDir: '.', allInOne: false });
  const target: TemporalTarget = { address: env('BENCH_TEMPORAL_ADDRESS'), namespace: 'default', payloadCodecs: payloadCodecsOf(keys) };
  const metrics = appMetrics();
  const common = {
    taskQueue: env('BENCH_TASK_QUEUE'),
    db,
    smtpUrl: env('BENCH_SMTP_URL'),
    publicUrl: env('BENCH_PUBLIC_URL'),
    mailFrom: 'scimflow-bench@example.org',
    logger,
    metrics,
  };
  // As worker/main.ts: the workflows bundled in a child process first (BENCH_WORKER_PREBUNDLE=0: in this one).
  const workflowBundlePath = process.env.BENCH_WORKER_PREBUNDLE === '0' ? undefined : await buildWorkflowBundleInChild();
  const tuning = process.env.BENCH_WORKER_TUNING
    ? (JSON.parse(process.env.BENCH_WORKER_TUNING) as { maxCachedWorkflows?: number; maxConcurrentActivities?: number })
    : undefined;
  const worker = await runWorker({ target, ...common, workflowBundlePath, tuning });
  process.on('message', (raw) => {
    const m = raw as { type: string };
    if (m.type === 'mem') {
      // Started with --expose-gc (bench/lib/child.ts): a full collection first tells live memory from garbage not yet collected.
      if ((m as { gc?: boolean }).gc) (globalThis as { gc?: () => void }).gc?.();
      process.send?.({ type: 'mem', memory: process.memoryUsage() });
    } else if (m.type === 'stop') {
      void (async () => {
        await worker.shutdown().catch(() => undefined);
        await db.close().catch(() => undefined);
        process.exit(0);
      })();
    }
  });
  process.send?.({
    type: 'ready',
    tuning: { ...(tuning ?? { defaults: 'worker/create-worker.ts' }), prebundled: !!workflowBundlePath },
    payloadEncryption: keys.source !== 'none',
  });
  await worker.done;
}

main().catch((err) => {
  process.stderr.write(`[bench worker] ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
