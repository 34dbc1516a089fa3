/**
 * `npm start`: everything on embedded defaults. A Temporal dev server (found or installed,
 * persisted under DATA_DIR, with its UI) unless TEMPORAL_ADDRESS is set; an embedded PostgreSQL
 * server under DATA_DIR/postgres unless DATABASE_URL is set; a local SMTP catcher writing .eml
 * files unless SMTP_URL is set. The SCIM server and the worker run as two child processes, as in
 * production, so onboarding work never starves the SCIM API of its event loop; a child that dies
 * is restarted. Prints SCIM_BASE_URL, SCIM_TOKEN, TEMPORAL_UI_URL, DATABASE_URL, CONSOLE_URL
 * (the admin console), METRICS_URL (/metrics on the SCIM server's ops port, loopback only,
 * /readyz beside it) and EVENTS_URL (the demo tenant's RFC 8936 event feed, polled with
 * SCIM_TOKEN: docs/events.md) when ready. With SAMPLE_APP=1 it also runs the sample application
 * (dev/sample-app/), points the demo tenant's connector at it (config/examples/
 * sample-app-connector.yaml, its token stored as the tenant's secret) and prints SAMPLE_APP_URL
 * and SAMPLE_APP_TOKEN.
 * Ctrl-C (or SIGTERM) stops the SCIM server, then the worker (both drain), then the services; a
 * restart with the same DATA_DIR continues where it stopped. One `npm start` per DATA_DIR.
 *
 * Workflow payloads are encrypted (AES-256-GCM, a data key per tenant) with PAYLOAD_KEYS, or
 * else with a key generated on the first start and kept in DATA_DIR/payload-keys (mode 0600);
 * the dev server's UI decodes them through the SCIM server's /codec endpoint with the
 * operator's codec token (CODEC_TOKEN, else generated into DATA_DIR/codec-token), which the UI
 * carries in the endpoint URL it is given (it sends no header of its own).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { allInOneCodecToken, allInOnePayloadKeys, payloadCodecsOf, resolvePayloadKeys } from '../common/codec/keys';
import { childEnvironment, ConfigError, loadConfig, type Config } from '../common/config';
import { openDatabase, type Db } from '../common/db';
import { shutdownTracing } from '../common/tracing';
import { createTenant, currentConfig, getTenant, saveConfigVersion } from '../common/repositories/tenants';
import { createToken, listTokens, revokeToken } from '../common/repositories/tokens';
import { ensureSearchAttributes, lazyClient, targetFromConfig } from '../common/temporal/connection';
import { DEMO_TENANT_ID, demoTenantConfig } from '../dev/demo-tenant';
import { assertPortFree, EmbeddedPostgresError, embeddedLayout, runningServer, startEmbeddedPostgres, type EmbeddedPostgres } from '../dev/embedded-postgres';
import { startSmtpCatcher, type SmtpCatcher } from '../dev/smtp-catcher';
import { acquireStackLock, DataDirBusyError, stopLeftovers, type StackLock } from '../dev/stack-lock';
import { superviseProcess } from '../dev/supervisor';
import { findOrInstallTemporalCli } from '../dev/temporal-cli';
import { freePort, startDevServer, type DevServer } from '../dev/temporal-dev-server';
import { formatDuration } from '../domain/duration';
import { EVENTS_POLL_PATH, SCIM_BASE_PATH } from '../scim-server/app';
import { CONSOLE_PATH } from '../console/layout';
import { buildWorkflowBundleInChild } from '../worker/workflow-bundle';
import YAML from 'yaml';
import { parseSecretKeys } from '../connectors/secret-crypto';
import { secretStore } from '../connectors/secrets';
import { startSampleApp, type RunningSampleApp } from '../dev/sample-app/server';
import type { TenantConfigInput } from '../domain/tenant-config';

const ALL_IN_ONE_TOKEN = 'all-in-one';
/** The demo tenant's secret holding the sample application's token (config/examples/sample-app-connector.yaml names it). */
const SAMPLE_APP_SECRET = 'sample-app-token';

/** The shipped connector for the sample application, pointed at the one this start runs. */
function sampleAppConnector(baseUrl: string): TenantConfigInput['connector'] {
  const file = path.join(__dirname, '..', 'config', 'examples', 'sample-app-connector.yaml');
  const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as { connector: Record<string, unknown> };
  return { ...doc.connector, baseUrl } as TenantConfigInput['connector'];
}
/** Times the embedded PostgreSQL is restarted after dying before `npm start` gives up. */
const DATABASE_RESTARTS = 3;

async function seedDemoTenant(
  db: Db,
  overrides: { tagPropagation?: string; rolePropagation?: string; settle?: string },
  connector?: TenantConfigInput['connector'],
): Promise<string> {
  if (!(await getTenant(db, DEMO_TENANT_ID))) await createTenant(db, DEMO_TENANT_ID, 'Demo tenant');
  // With SAMPLE_APP=1 the demo tenant provisions into the sample application; without it, into the ledger (`directory`) again.
  const wanted = { ...demoTenantConfig(overrides), ...(connector ? { connector } : {}) };
  const current = await currentConfig(db, DEMO_TENANT_ID);
  const { parseTenantConfig } = await import('../domain/tenant-config');
  if (current.version === 0 || JSON.stringify(current.config) !== JSON.stringify(parseTenantConfig(wanted))) {
    await saveConfigVersion(db, DEMO_TENANT_ID, wanted, 'npm start');
  }
  // The token is shown once and stored hashed, so each start mints a fresh one and retires the last.
  for (const t of await listTokens(db, DEMO_TENANT_ID)) if (t.name === ALL_IN_ONE_TOKEN && !t.revokedAt) await revokeToken(db, t.id);
  return (await createToken(db, DEMO_TENANT_ID, ALL_IN_ONE_TOKEN)).token;
}

/** SAMPLE_APP=1: the sample application, in this process on a pool of its own (stopped with the rest). */
async function startDemoSampleApp(
  config: Config,
  databaseUrl: string,
  say: (msg: string) => void,
  cleanups: (() => Promise<void>)[],
): Promise<RunningSampleApp> {
  const sampleDb = await openDatabase({ databaseUrl, poolSize: 3 });
  const running = await startSampleApp({
    db: sampleDb,
    token: `sat_${crypto.randomBytes(24).toString('base64url')}`,
    port: config.sampleApp.port,
    tagDelayMs: config.sampleApp.tagDelayMs,
    roleDelayMs: config.sampleApp.roleDelayMs,
    log: say,
  }).catch(async (err) => {
    await sampleDb.close();
    throw new StartError(
      `the sample application could not start on port ${config.sampleApp.port} (${(err as Error).message}): set SAMPLE_APP_PORT, or 0 for a free port`,
    );
  });
  cleanups.push(async () => {
    await running.close();
    await sampleDb.close();
  });
  say(`the sample application runs on ${running.url} (schema sample_app); the demo tenant provisions into it through the http connector`);
  return running;
}

/** Every port this start will listen on must be free: one message naming the setting, before anything starts. */
async function checkPorts(config: Config): Promise<void> {
  const ports: [number, string][] = [
    [config.port, 'PORT'],
    [config.ops.port, 'OPS_PORT'],
  ];
  if (!config.temporal.address) ports.push([config.temporal.devServerPort, 'TEMPORAL_DEV_PORT'], [config.temporal.devUiPort, 'TEMPORAL_UI_PORT']);
  if (config.sampleApp.enabled) ports.push([config.sampleApp.port, 'SAMPLE_APP_PORT']);
  // A server a crashed run left on this DATA_DIR holds its port until startEmbeddedPostgres stops it.
  const leftover = runningServer(embeddedLayout(config.dataDir).pgdata);
  if (!config.databaseUrl && leftover?.port !== config.embeddedPostgresPort) ports.push([config.embeddedPostgresPort, 'EMBEDDED_POSTGRES_PORT']);
  for (const [port, setting] of ports) if (port !== 0) await assertPortFree(port, setting);
}

function checkDataDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new EmbeddedPostgresError(`DATA_DIR=${dir} is not writable: set DATA_DIR to a folder you can write, or fix its permissions.`);
  }
}

/** A cause the user can act on, printed alone. */
class StartError extends Error {}

function withoutPassword(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function main(): Promise<void> {
  const started = Date.now();
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`[scimflow] ${(err as Error).message}\n`);
    process.exit(1);
  }
  const say = (msg: string) => process.stderr.write(`[scimflow] ${msg}\n`);

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
    checkDataDir(config.dataDir);
    const lock: StackLock = await acquireStackLock(config.dataDir, 'npm start', (left) => stopLeftovers(left, say));
    cleanups.push(async () => lock.release());
    await checkPorts(config);
    cleanups.push(() => shutdownTracing());
    const payloadKeys = allInOnePayloadKeys({ payloadKeys: config.payloadKeys, dataDir: config.dataDir });
    const keys = resolvePayloadKeys({ payloadKeys, dataDir: config.dataDir, allInOne: false });
    const codecToken = allInOneCodecToken({ codecToken: config.codecToken, dataDir: config.dataDir }).token;
    // The UI sends no credential of its own to a codec endpoint: the operator's token rides in the URL it is given.
    const codecEndpoint = `${config.publicUrl}/codec/${codecToken}`;
    // Bundled once, in a child process while the services start: the worker (and its restarts) load it.
    const workflowBundle = config.worker.workflowBundlePath ? Promise.resolve(config.worker.workflowBundlePath) : buildWorkflowBundleInChild();
    workflowBundle.catch(() => undefined); // awaited (and reported) before the worker starts

    let databaseUrl = config.databaseUrl;
    /** What the SCIM server and the worker connect to: the embedded server's Unix socket when it has one. */
    let childDatabaseUrl = databaseUrl;
    if (!databaseUrl) {
      const layout = embeddedLayout(config.dataDir);
      say(`starting the embedded PostgreSQL in ${layout.pgdata}`);
      const options = { ...layout, port: config.embeddedPostgresPort, log: say };
      let postgres: EmbeddedPostgres = await startEmbeddedPostgres(options);
      databaseUrl = postgres.url;
      childDatabaseUrl = postgres.localUrl ?? postgres.url;
      // Stopped last (cleanups run in reverse): the SCIM server and the worker drain against it.
      cleanups.push(() => postgres.stop());
      // Killed from outside: started again (committed data is safe), or everything stops with the reason.
      let restarts = 0;
      const watch = (server: EmbeddedPostgres) =>
        void server.exited.then(async ({ code, signal }) => {
          if (stopping) return;
          say(`the embedded PostgreSQL stopped unexpectedly (${signal ? `signal ${signal}` : `code ${code}`}); starting it again (log: ${layout.logFile})`);
          for (;;) {
            try {
              postgres = await startEmbeddedPostgres(options);
              watch(postgres);
              say('the embedded PostgreSQL is running again');
              return;
            } catch (err) {
              restarts += 1;
              if (restarts >= DATABASE_RESTARTS || stopping) {
                say(`the embedded PostgreSQL could not be started again: ${(err as Error).message}`);
                await stop(1);
                return;
              }
              await new Promise((r) => setTimeout(r, 1_000 * restarts));
            }
          }
        });
      watch(postgres);
    }

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
        // The onboarding takes the CPU the SCIM API leaves (ONBOARDING_NICE).
        nice: config.onboardingNice,
      });
      temporalAddress = devServer.address;
      const server = devServer;
      lock.update({ processes: { 'the Temporal dev server': { pid: server.process.pid as number, marker: 'start-dev' } } });
      cleanups.push(() => server.stop());
    }
    const target = { ...targetFromConfig(config, temporalAddress), payloadCodecs: payloadCodecsOf(keys) };
    const client = lazyClient(target);
    try {
      await ensureSearchAttributes(await client.get(), target.namespace);
    } catch (err) {
      throw new StartError(
        `Temporal at ${temporalAddress} did not answer (${(err as Error).message}): check TEMPORAL_ADDRESS (and its TLS settings), or unset it to run the dev server.`,
      );
    } finally {
      await client.close();
    }

    const db = await openDatabase({ databaseUrl: childDatabaseUrl as string, poolSize: 2 });
    let token: string;
    const sampleApp = config.sampleApp.enabled ? await startDemoSampleApp(config, childDatabaseUrl as string, say, cleanups) : undefined;
    try {
      if (sampleApp) {
        // Its token is the demo tenant's secret the shipped connector names.
        if (!(await getTenant(db, DEMO_TENANT_ID))) await createTenant(db, DEMO_TENANT_ID, 'Demo tenant');
        const keys = config.connectorSecretsKeys ? parseSecretKeys(config.connectorSecretsKeys) : undefined;
        await secretStore(db, { keys }).set(DEMO_TENANT_ID, SAMPLE_APP_SECRET, sampleApp.token);
      }
      token = await seedDemoTenant(
        db,
        {
          tagPropagation: config.tagPropagationDelayMs !== undefined ? formatDuration(config.tagPropagationDelayMs) : undefined,
          settle: config.settleDelayMs !== undefined ? formatDuration(config.settleDelayMs) : undefined,
          rolePropagation: config.rolePropagationDelayMs !== undefined ? formatDuration(config.rolePropagationDelayMs) : undefined,
        },
        sampleApp ? sampleAppConnector(sampleApp.url) : undefined,
      );
    } finally {
      await db.close();
    }

    let smtpUrl = config.smtpUrl;
    if (!smtpUrl) {
      const catcher: SmtpCatcher = await startSmtpCatcher({ outboxDir: path.join(config.dataDir, 'outbox') });
      smtpUrl = catcher.url;
      cleanups.push(() => catcher.close());
      say(`mail is caught locally and written to ${path.join(config.dataDir, 'outbox')}`);
    }

    const port = config.port === 0 ? await freePort() : config.port;
    const opsPort = config.ops.port === 0 ? await freePort() : config.ops.port;
    // PORT=0 picks a free port: the default PUBLIC_URL follows it.
    const publicUrl = config.publicUrl === `http://localhost:${config.port}` ? `http://localhost:${port}` : config.publicUrl;
    const env = childEnvironment({
      DATABASE_URL: childDatabaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      SMTP_URL: smtpUrl,
      PAYLOAD_KEYS: payloadKeys,
      PORT: String(port),
      PUBLIC_URL: publicUrl,
      CODEC_AUTH: config.codecAuth ?? 'token',
      CODEC_TOKEN: codecToken,
      OPS_PORT: String(opsPort),
      WORKFLOW_BUNDLE_PATH: await workflowBundle,
      // The admin console links to the UI of the dev server started here.
      TEMPORAL_UI_URL: config.temporal.uiUrl ?? devServer?.uiUrl ?? 'http://localhost:8233',
    });
    const supervise = (name: string, script: string, extraEnv: Record<string, string>, stopLimitMs: number, nice = 0) => {
      const child = superviseProcess({
        name,
        script,
        env: { ...env, ...extraEnv },
        say,
        stopLimitMs,
        nice,
        onStarted: (pid) => lock.update({ processes: { [name]: { pid, marker: script } } }),
      });
      cleanups.push(() => child.stop());
      return child;
    };
    // The worker serves the lifecycle metrics (invitations, mail refused, time to access removed) on
    // a port of its own, printed as WORKER_METRICS_URL (METRICS_PORT stays free for a split deployment).
    // The onboarding takes the CPU the SCIM API leaves (ONBOARDING_NICE).
    const workerMetricsPort = await freePort();
    const worker = supervise('the worker', 'worker/main.ts', { METRICS_PORT: String(workerMetricsPort) }, 50_000, config.onboardingNice);
    const server = supervise('the SCIM server', 'scim-server/main.ts', {}, 35_000);
    await Promise.all([worker.ready, server.ready]);

    const scimBaseUrl = `${publicUrl}${SCIM_BASE_PATH}`;
    const temporalUiUrl = devServer?.uiUrl ?? "http://localhost:8233 (your Temporal cluster's UI)";
    lock.update({ publicUrl, scimBaseUrl, temporalUiUrl, temporalAddress });
    say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s (SCIM server pid ${server.pid()}, worker pid ${worker.pid()})`);
    process.stdout.write(`SCIM_BASE_URL=${scimBaseUrl}\n`);
    process.stdout.write(`SCIM_TOKEN=${token}\n`);
    process.stdout.write(`TEMPORAL_UI_URL=${temporalUiUrl}\n`);
    // The embedded server's password is this DATA_DIR's own; a server of yours keeps its password off the screen.
    process.stdout.write(`DATABASE_URL=${config.databaseUrl ? withoutPassword(databaseUrl) : databaseUrl}\n`);
    process.stdout.write(`CONSOLE_URL=${publicUrl}${CONSOLE_PATH}\n`);
    process.stdout.write(`METRICS_URL=http://${config.ops.host === '0.0.0.0' ? '127.0.0.1' : config.ops.host}:${opsPort}/metrics\n`);
    // The worker's: the lifecycle metrics (scimflow_invitations_*, scimflow_mail_rejected_total, scimflow_time_to_access_removed_seconds).
    process.stdout.write(`WORKER_METRICS_URL=http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${workerMetricsPort}/metrics\n`);
    // RFC 8936 poll endpoint of the demo tenant's event feed, authorised by SCIM_TOKEN.
    process.stdout.write(`EVENTS_URL=${scimBaseUrl}${EVENTS_POLL_PATH}\n`);
    if (sampleApp) {
      process.stdout.write(`SAMPLE_APP_URL=${sampleApp.url}\n`);
      process.stdout.write(`SAMPLE_APP_TOKEN=${sampleApp.token}\n`);
    }
    if (!devServer)
      say(`in your Temporal UI, set the codec endpoint to ${codecEndpoint} (CLI: --codec-endpoint ${publicUrl}/codec --codec-auth "Bearer <token>")`);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof EmbeddedPostgresError || err instanceof DataDirBusyError || err instanceof StartError) say(err.message);
    else say(`failed to start: ${(err as Error).stack ?? err}`);
    await stop(1);
  }
}

void main();
