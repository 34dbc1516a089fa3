/**
 * `npm start`: everything in one process on embedded defaults. A Temporal dev server (found
 * or installed, persisted under DATA_DIR, with its UI) unless TEMPORAL_ADDRESS is set; an
 * embedded PostgreSQL unless DATABASE_URL is set; a local SMTP catcher writing .eml files
 * unless SMTP_URL is set; then the worker and the SCIM server. Prints SCIM_BASE_URL,
 * SCIM_TOKEN, TEMPORAL_UI_URL and CONSOLE_URL (the admin console) when ready. Ctrl-C stops it
 * all cleanly; a restart with the same DATA_DIR continues where it stopped.
 *
 * Workflow payloads are encrypted (AES-256-GCM) with PAYLOAD_KEYS, or else with a key generated
 * on the first start and kept in DATA_DIR/payload-keys (mode 0600); the dev server's UI
 * decodes them through the SCIM server's /codec endpoint, which answers loopback callers
 * without a token here (CODEC_AUTH, default loopback).
 */
import fs from 'node:fs';
import path from 'node:path';
import { payloadCodecsOf, resolvePayloadKeys } from '../common/codec/keys';
import { ConfigError, loadConfig } from '../common/config';
import { openDatabase, type Db } from '../common/db';
import { DEMO_TENANT_ID, demoTenantConfig } from '../dev/demo-tenant';
import { formatDuration } from '../domain/duration';
import { createLogger } from '../common/logger';
import { startSmtpCatcher, type SmtpCatcher } from '../dev/smtp-catcher';
import { shutdownTracing } from '../common/tracing';
import { createTenant, currentConfig, getTenant, saveConfigVersion } from '../common/repositories/tenants';
import { createToken, listTokens, revokeToken } from '../common/repositories/tokens';
import { ensureSearchAttributes, lazyClient, targetFromConfig } from '../common/temporal/connection';
import { startDevServer, type DevServer } from '../dev/temporal-dev-server';
import { findOrInstallTemporalCli } from '../dev/temporal-cli';
import { SCIM_BASE_PATH } from '../scim-server/app';
import { CONSOLE_PATH } from '../scim-server/console/layout';
import { runScimServer } from '../scim-server/run-server';
import { runWorker } from '../worker/run-worker';
import { buildWorkflowBundleInChild } from '../worker/workflow-bundle';

const ALL_IN_ONE_TOKEN = 'all-in-one';

async function seedDemoTenant(db: Db, overrides: { tagPropagation?: string; rolePropagation?: string; settle?: string }): Promise<string> {
  if (!(await getTenant(db, DEMO_TENANT_ID))) await createTenant(db, DEMO_TENANT_ID, 'Demo tenant');
  const wanted = demoTenantConfig(overrides);
  const current = await currentConfig(db, DEMO_TENANT_ID);
  const { parseTenantConfig } = await import('../domain/tenant-config');
  if (current.version === 0 || JSON.stringify(current.config) !== JSON.stringify(parseTenantConfig(wanted))) {
    await saveConfigVersion(db, DEMO_TENANT_ID, wanted, 'npm start');
  }
  // The token is shown once and stored hashed, so each start mints a fresh one and retires the last.
  for (const t of await listTokens(db, DEMO_TENANT_ID)) if (t.name === ALL_IN_ONE_TOKEN && !t.revokedAt) await revokeToken(db, t.id);
  return (await createToken(db, DEMO_TENANT_ID, ALL_IN_ONE_TOKEN)).token;
}

async function main(): Promise<void> {
  const started = Date.now();
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`[scimflow] ${(err as Error).message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, { process: 'all-in-one' });
  const say = (msg: string) => process.stderr.write(`[scimflow] ${msg}\n`);
  fs.mkdirSync(config.dataDir, { recursive: true });

  const cleanups: (() => Promise<void>)[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err) => say(`while stopping: ${(err as Error).message}`));
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    cleanups.push(() => shutdownTracing());
    const keys = resolvePayloadKeys({ payloadKeys: config.payloadKeys, dataDir: config.dataDir, allInOne: true });
    logger.info({ currentKey: keys.keyIds[0], keys: keys.keyIds, source: keys.source, file: keys.file }, 'payload encryption on');
    const codecEndpoint = `${config.publicUrl}/codec`;
    // Bundled in a child process while the services start, so webpack's memory stays out of this one.
    const workflowBundle = config.worker.workflowBundlePath ? Promise.resolve(config.worker.workflowBundlePath) : buildWorkflowBundleInChild();
    workflowBundle.catch(() => undefined); // awaited (and reported) before the worker starts
    let devServer: DevServer | undefined;
    let temporalAddress = config.temporal.address;
    if (!temporalAddress) {
      const cliPath = findOrInstallTemporalCli({ cliPath: config.temporal.cliPath, log: say });
      say(`starting the Temporal dev server (${cliPath})`);
      devServer = await startDevServer({
        cliPath,
        port: config.temporal.devServerPort,
        uiPort: config.temporal.devUiPort,
        dbFile: path.join(config.dataDir, 'temporal.sqlite'),
        namespace: config.temporal.namespace,
        logFile: path.join(config.dataDir, 'temporal.log'),
        codecEndpoint,
      });
      temporalAddress = devServer.address;
      const server = devServer;
      cleanups.push(() => server.stop());
    }
    const target = { ...targetFromConfig(config, temporalAddress), payloadCodecs: payloadCodecsOf(keys) };
    const client = lazyClient(target);
    cleanups.push(() => client.close());
    await ensureSearchAttributes(await client.get(), target.namespace);

    say(config.databaseUrl ? 'connecting to PostgreSQL' : `opening the embedded PostgreSQL in ${path.join(config.dataDir, 'postgres')}`);
    const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    cleanups.push(() => db.close());

    let smtpUrl = config.smtpUrl;
    if (!smtpUrl) {
      const catcher: SmtpCatcher = await startSmtpCatcher({ outboxDir: path.join(config.dataDir, 'outbox') });
      smtpUrl = catcher.url;
      cleanups.push(() => catcher.close());
      say(`mail is caught locally and written to ${path.join(config.dataDir, 'outbox')}`);
    }

    const overrides = {
      tagPropagation: config.tagPropagationDelayMs !== undefined ? formatDuration(config.tagPropagationDelayMs) : undefined,
      settle: config.settleDelayMs !== undefined ? formatDuration(config.settleDelayMs) : undefined,
      rolePropagation: config.rolePropagationDelayMs !== undefined ? formatDuration(config.rolePropagationDelayMs) : undefined,
    };
    const token = await seedDemoTenant(db, overrides);

    const worker = await runWorker({
      target,
      taskQueue: config.temporal.taskQueue,
      db,
      smtpUrl,
      publicUrl: config.publicUrl,
      mailFrom: config.mailFrom,
      logger,
      workflowBundlePath: await workflowBundle,
      tuning: config.worker,
    });
    cleanups.push(() => worker.shutdown());
    worker.done.catch((err) => {
      say(`worker stopped: ${(err as Error).message}`);
      void stop(1);
    });

    const server = await runScimServer({
      db,
      logger,
      temporal: client.get,
      taskQueue: config.temporal.taskQueue,
      host: config.host,
      port: config.port,
      publicUrl: config.publicUrl,
      bodyLimitBytes: config.bodyLimitBytes,
      rateLimit: config.rateLimit,
      outboxRetentionDays: config.outboxRetentionDays,
      codec: { codec: keys.codec, auth: config.codecAuth ?? 'loopback', corsOrigins: config.codecCorsOrigins },
      temporalUi: { url: config.temporal.uiUrl ?? devServer?.uiUrl ?? 'http://localhost:8233', namespace: config.temporal.namespace },
    });
    cleanups.push(() => server.close());

    say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.stdout.write(`SCIM_BASE_URL=${config.publicUrl}${SCIM_BASE_PATH}\n`);
    process.stdout.write(`SCIM_TOKEN=${token}\n`);
    process.stdout.write(`TEMPORAL_UI_URL=${devServer?.uiUrl ?? "http://localhost:8233 (your Temporal cluster's UI)"}\n`);
    process.stdout.write(`CONSOLE_URL=${config.publicUrl}${CONSOLE_PATH}\n`);
  } catch (err) {
    if (err instanceof ConfigError) say(err.message);
    else say(`failed to start: ${(err as Error).stack ?? err}`);
    await stop(1);
  }
}

void main();
