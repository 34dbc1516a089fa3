/**
 * `npm run scim-server`: the production SCIM server process (with its outbox relay), against
 * a real PostgreSQL and a Temporal cluster. It answers SCIM even while Temporal is down; the
 * relay delivers what accumulated once Temporal is back. Serves /healthz and the remote
 * codec (/codec: the operator's CODEC_TOKEN or a tenant's codec token, unless CODEC_AUTH=none)
 * on PORT, and /metrics, /readyz, /healthz on the ops port (OPS_HOST:OPS_PORT, loopback by default). Payloads are
 * encrypted with PAYLOAD_KEYS (common/codec/keys.ts). SIGTERM stops accepting, finishes
 * in-flight requests (at most 10 s), stops the relay, then exits; cut off after 30 s.
 */
import { payloadCodecsOf, resolvePayloadKeys } from '../common/codec/keys';
import { loadConfig, requireServices } from '../common/config';
import { notifySupervisor, onStopSignal } from '../common/graceful-stop';
import { runMain } from '../common/process-main';
import { openDatabase } from '../common/db';
import { createLogger } from '../common/logger';
import { shutdownTracing } from '../common/tracing';
import { lazyClient, targetFromConfig } from '../common/temporal/connection';
import { parseSecretKeys } from '../connectors/secret-crypto';
import { runScimServer } from './run-server';

const STOP_LIMIT_MS = 30_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { process: 'scim-server' });
  requireServices(config, 'npm run scim-server', ['databaseUrl', 'temporalAddress']);
  const keys = resolvePayloadKeys({ payloadKeys: config.payloadKeys, dataDir: config.dataDir, allInOne: false });
  if (keys.source === 'none') logger.warn('PAYLOAD_KEYS is not set: workflow payloads are stored in Temporal unencrypted');
  else logger.info({ currentKey: keys.keyIds[0], keys: keys.keyIds }, 'payload encryption on');
  const db = await openDatabase({ databaseUrl: config.databaseUrl as string, statementTimeoutMs: config.scimStatementTimeoutMs });
  const client = lazyClient({ ...targetFromConfig(config), payloadCodecs: payloadCodecsOf(keys) });
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
    oauthAccessTokenTtlMs: config.oauthAccessTokenTtlMs,
    outboxRetentionDays: config.outboxRetentionDays,
    requestLogRetentionDays: config.requestLogRetentionDays,
    temporalUi: config.temporal.uiUrl ? { url: config.temporal.uiUrl, namespace: config.temporal.namespace } : undefined,
    codec: { codec: keys.codec, auth: config.codecAuth ?? 'token', operatorToken: config.codecToken, corsOrigins: config.codecCorsOrigins },
    ops: { ...config.ops, token: config.opsToken },
    failureLimit: config.failedAuth,
    senderPolicy: { platformFrom: config.mailFrom, allowedFromDomains: config.mailAllowedFromDomains },
    trustProxy: config.trustProxy,
    connectorSecretKeys: config.connectorSecretsKeys ? parseSecretKeys(config.connectorSecretsKeys) : undefined,
    events: { retentionDays: config.eventsRetentionDays },
  });
  if (keys.codec && (config.codecAuth ?? 'token') === 'token' && !config.codecToken) {
    logger.warn('CODEC_TOKEN is not set: only codec tokens of a tenant (npm run tokens -- create --codec) open payloads at /codec');
  }
  logger.info({ url: `${server.url}/scim/v2`, metrics: `${server.opsUrl}/metrics`, codecAuth: config.codecAuth ?? 'token' }, 'SCIM server listening');
  notifySupervisor({ ready: true, url: server.url });
  onStopSignal({
    logger,
    limitMs: STOP_LIMIT_MS,
    message: 'shutting down: finishing in-flight requests',
    stop: async () => {
      await server.close();
      await client.close();
      await db.close();
      await shutdownTracing();
      logger.info('stopped');
      process.exit(0);
    },
  });
}

runMain('scim-server', main);
