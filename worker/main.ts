/**
 * `npm run worker`: the production worker process, against a real PostgreSQL (DATABASE_URL)
 * and a Temporal cluster (TEMPORAL_ADDRESS). Serves /metrics, /healthz and /readyz on
 * METRICS_PORT (default 9464); with TEMPORAL_METRICS_PORT set, the SDK's own worker metrics
 * too (see create-worker.ts). Payloads are encrypted with PAYLOAD_KEYS (common/codec/keys.ts).
 * SIGTERM (or SIGINT) stops polling and drains in-flight activities (up to the shutdown grace
 * time, 20 s), then exits; a drain that hangs is cut off after 45 s.
 */
import { resolvePayloadKeys, payloadCodecsOf } from '../common/codec/keys';
import { loadConfig, requireServices } from '../common/config';
import { notifySupervisor, onStopSignal } from '../common/graceful-stop';
import { runMain } from '../common/process-main';
import { openDatabase } from '../common/db';
import { createLogger } from '../common/logger';
import { appMetrics } from '../common/metrics';
import { shutdownTracing } from '../common/tracing';
import { ensureSearchAttributes, connectClient, targetFromConfig } from '../common/temporal/connection';
import { startOpsServer } from '../common/ops-server';
import { parseSecretKeys } from '../connectors/secret-crypto';
import { runWorker } from './run-worker';
import { buildWorkflowBundleInChild } from './workflow-bundle';

const DRAIN_LIMIT_MS = 45_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { process: 'worker' });
  requireServices(config, 'npm run worker', ['databaseUrl', 'temporalAddress', 'smtpUrl']);
  const keys = resolvePayloadKeys({ payloadKeys: config.payloadKeys, dataDir: config.dataDir, allInOne: false });
  if (keys.source === 'none') logger.warn('PAYLOAD_KEYS is not set: workflow payloads are stored in Temporal unencrypted');
  else logger.info({ currentKey: keys.keyIds[0], keys: keys.keyIds }, 'payload encryption on');
  const target = { ...targetFromConfig(config), payloadCodecs: payloadCodecsOf(keys) };
  const client = await connectClient(target);
  await ensureSearchAttributes(client, target.namespace);
  await client.connection.close();
  const db = await openDatabase({ databaseUrl: config.databaseUrl as string });
  const metrics = appMetrics();
  const workflowBundlePath = config.worker.workflowBundlePath ?? (await buildWorkflowBundleInChild());
  const worker = await runWorker({
    target,
    taskQueue: config.temporal.taskQueue,
    db,
    smtpUrl: config.smtpUrl as string,
    publicUrl: config.publicUrl,
    mailFrom: config.mailFrom,
    allowedFromDomains: config.mailAllowedFromDomains,
    mailSendLeaseMs: config.mailSendLeaseMs,
    logger,
    metrics,
    workflowBundlePath,
    tuning: config.worker,
    connectorSecretKeys: config.connectorSecretsKeys ? parseSecretKeys(config.connectorSecretsKeys) : undefined,
  });
  const ops = await startOpsServer({ host: config.host, port: config.metricsPort, metrics, readiness: worker.readiness ?? {}, logger, token: config.opsToken });
  logger.info({ taskQueue: config.temporal.taskQueue, namespace: target.namespace, metrics: `${ops.url}/metrics` }, 'worker running');
  notifySupervisor({ ready: true, url: ops.url });
  onStopSignal({ logger, limitMs: DRAIN_LIMIT_MS, message: 'draining worker: no new tasks, finishing in-flight activities', stop: () => worker.shutdown() });
  await worker.done;
  await ops.close();
  await db.close();
  await shutdownTracing();
  logger.info('worker stopped');
}

runMain('worker', main);
