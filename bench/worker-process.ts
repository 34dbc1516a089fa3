/**
 * The Temporal worker (runWorker: workflows + activities) in a process of its own, so its RSS
 * and CPU are its own. Started by bench/run.ts with fork(); answers { type: 'mem' } with
 * process.memoryUsage() and stops on { type: 'stop' }.
 *
 * By default this is exactly runWorker (the production wiring and tuning). For tuning
 * experiments, BENCH_WORKER_TUNING='{"maxCachedWorkflows":500}' builds the same worker
 * through createWorker's `tuning` option instead, and BENCH_WORKER_PREBUNDLE=1 bundles the
 * workflow code in a separate process first (createWorker's `workflowBundlePath`), so webpack
 * never runs inside the worker.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { payloadCodecsOf, resolvePayloadKeys } from '../common/codec/keys';
import { openDatabase } from '../common/db';
import { createLogger } from '../common/logger';
import { createMailer } from '../common/mail/mailer';
import { appMetrics } from '../common/metrics';
import { connectWorker, type TemporalTarget } from '../common/temporal/connection';
import { createWorker, installRuntime } from '../worker/create-worker';
import { runWorker } from '../worker/run-worker';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (bench/worker-process.ts is started by bench/run.ts)`);
  return v;
}

async function main(): Promise<void> {
  const logger = createLogger(process.env.BENCH_LOG_LEVEL ?? 'warn', { process: 'bench-worker' });
  const db = await openDatabase({ databaseUrl: env('BENCH_DATABASE_URL'), dataDir: '.' });
  // As `npm run worker` with PAYLOAD_KEYS set: payloads encrypted (unless BENCH_PAYLOAD_KEYS is empty).
  const keys = resolvePayloadKeys({ payloadKeys: process.env.BENCH_PAYLOAD_KEYS || undefined, dataDir: '.', allInOne: false });
  const target: TemporalTarget = { address: env('BENCH_TEMPORAL_ADDRESS'), namespace: 'default', payloadCodecs: payloadCodecsOf(keys) };
  const metrics = appMetrics();
  const common = { taskQueue: env('BENCH_TASK_QUEUE'), db, smtpUrl: env('BENCH_SMTP_URL'), publicUrl: env('BENCH_PUBLIC_URL'), mailFrom: 'scimflow-bench@example.org', logger, metrics };
  let worker: { done: Promise<void>; shutdown(): Promise<void> };
  const tuning = process.env.BENCH_WORKER_TUNING ? (JSON.parse(process.env.BENCH_WORKER_TUNING) as Record<string, number>) : undefined;
  let workflowBundlePath: string | undefined;
  if (process.env.BENCH_WORKER_PREBUNDLE === '1') {
    workflowBundlePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-bench-bundle-')), 'workflows.js');
    const script = `const { bundleWorkflowCode } = require('@temporalio/worker');
      const { WORKFLOW_INTERCEPTORS_MODULE } = require(${JSON.stringify(path.join(__dirname, '..', 'worker', 'create-worker'))});
      bundleWorkflowCode({ workflowsPath: require.resolve(${JSON.stringify(path.join(__dirname, '..', 'workflows'))}), workflowInterceptorModules: [WORKFLOW_INTERCEPTORS_MODULE] })
        .then(({ code }) => require('node:fs').writeFileSync(${JSON.stringify(workflowBundlePath)}, code));`;
    execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { stdio: 'inherit' });
  }
  if (!tuning && !workflowBundlePath) {
    worker = await runWorker({ target, ...common });
  } else {
    // Same wiring as worker/run-worker.ts, plus createWorker's tuning override.
    installRuntime(logger);
    const connection = await connectWorker(target);
    const mailer = createMailer(common.smtpUrl);
    const w = await createWorker({
      connection,
      namespace: target.namespace,
      taskQueue: common.taskQueue,
      deps: { db, mailer, publicUrl: common.publicUrl, mailFrom: common.mailFrom, logger },
      payloadCodecs: target.payloadCodecs,
      metrics,
      tuning,
      workflowBundlePath,
    });
    const done = w.run().finally(async () => {
      mailer.close();
      await connection.close();
    });
    worker = {
      done,
      async shutdown() {
        if (w.getState() === 'RUNNING') w.shutdown();
        await done;
      },
    };
  }
  process.on('message', (raw) => {
    const m = raw as { type: string };
    if (m.type === 'mem') {
      // Started with --expose-gc (bench/lib/child.ts): a full collection first tells live memory from garbage not yet collected.
      if ((m as { gc?: boolean }).gc) (globalThis as { gc?: () => void }).gc?.();
      process.send?.({ type: 'mem', memory: process.memoryUsage() });
    }
    else if (m.type === 'stop') {
      void (async () => {
        await worker.shutdown().catch(() => undefined);
        await db.close().catch(() => undefined);
        process.exit(0);
      })();
    }
  });
  process.send?.({ type: 'ready', tuning: tuning || workflowBundlePath ? { ...tuning, prebundled: !!workflowBundlePath } : 'default (worker/create-worker.ts)', payloadEncryption: keys.source !== 'none' });
  await worker.done;
}

main().catch((err) => {
  process.stderr.write(`[bench worker] ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
