/**
 * Starts the SCIM server process's parts: the public HTTP app (SCIM, /healthz, invitation
 * pages, admin API, the remote codec endpoint for the Temporal UI), the ops server (/metrics,
 * /readyz, /healthz on OPS_HOST:OPS_PORT, loopback by default), and the outbox relay.
 */
import http from 'node:http';
import { Router } from 'express';
import type { Client } from '@temporalio/client';
import type { AesGcmPayloadCodec } from '../common/codec/aes-gcm-codec';
import { remoteCodecRouter, type CodecAuth } from '../common/codec/remote-codec';
import type { Db } from '../common/db';
import type { Logger } from '../common/logger';
import type { SenderPolicy } from '../common/mail/sender';
import { appMetrics, registerDatabaseGauges, type AppMetrics } from '../common/metrics';
import { startOpsServer, type OpsServer } from '../common/ops-server';
import { adminRouter } from '../admin/routes';
import { createScimApp } from './app';
import { CONSOLE_PATH, consoleRouter } from '../console/routes';
import { FailureThrottle, throttleInvitationLinks } from '../common/failure-throttle';
import { LiveCredentials } from '../common/live-credentials';
import { invitationsRouter } from '../invitations/routes';
import { createOutboxRelay, type OutboxRelay } from './outbox-relay';
import { createRequestLog, type RequestLog } from './request-log';
import { secretStore } from '../connectors/secrets';
import type { SecretKey } from '../connectors/secret-crypto';
import { eventNotifier } from '../events/notifier';
import { eventsPublicRouter } from '../events/public';
import { createEventPusher, type EventPusher } from '../events/push';
import { eventSigner } from '../events/signing';
import { listCompaction } from './list-compaction';
import { pacedCleanup } from '../common/paced-cleanup';
import { deleteOldEvents } from '../common/repositories/security-events';
import { EVENTS_POLL_PATH, SCIM_BASE_PATH } from './app';

/** The longest a readiness check's call to Temporal may take (the ops server gives each check 3 s). */
const READINESS_DEADLINE_MS = 2_500;

/** How long after the last answered request the API still counts as busy for the relay. */
const API_QUIET_MS = 200;

export interface RunningServer {
  url: string;
  port: number;
  /** The ops server's base URL (…/metrics, …/readyz, …/healthz). */
  opsUrl: string;
  relay: OutboxRelay;
  /** The event feed's RFC 8935 push loop (docs/events.md). */
  eventPusher: EventPusher;
  /** The SCIM request log's writer (flush and clean-up, for tests). */
  requestLog: RequestLog;
  /** Stops accepting connections, lets in-flight requests finish (idle keep-alive connections are closed at once; all are cut after `drainMs`), then stops the relay. */
  close(): Promise<void>;
}

export async function runScimServer(options: {
  db: Db;
  logger: Logger;
  /** Resolves the Temporal client; give it the payload codec so the relay's payloads are encrypted. */
  temporal: () => Promise<Client>;
  taskQueue: string;
  host: string;
  port: number;
  publicUrl?: string;
  bodyLimitBytes: number;
  rateLimit: { perSecond: number; burst: number };
  tokenCacheMs?: number;
  /** How long the access tokens of the OAuth token endpoint live (OAUTH_ACCESS_TOKEN_TTL). Default 60 min. */
  oauthAccessTokenTtlMs?: number;
  relayPollMs?: number;
  /** Days delivered outbox rows are kept (OUTBOX_RETENTION_DAYS); 0 keeps them. Default 30. */
  outboxRetentionDays?: number;
  /** Days the SCIM request log keeps its rows (REQUEST_LOG_RETENTION_DAYS); 0 records nothing. Default 14. */
  requestLogRetentionDays?: number;
  metrics?: AppMetrics;
  /**
   * The remote codec endpoint (/codec/decode, /codec/encode); the codec is the clients'
   * (undefined: payloads are not encrypted, the endpoint answers them unchanged).
   * `operatorToken` (CODEC_TOKEN) opens every tenant's payloads; codec tokens of a tenant open its own.
   */
  codec?: { codec?: AesGcmPayloadCodec; auth: CodecAuth; operatorToken?: string; corsOrigins: string[] };
  /** The ops server (/metrics, /readyz, /healthz). Default: 127.0.0.1 on a free port, no token. */
  ops?: { host: string; port: number; token?: string };
  /** Failed authentications and invalid invitation links tolerated per client address. Default 10 a minute, 20 at once. */
  failureLimit?: { perMinute: number; burst: number };
  /** Which invitation senders tenants may configure through the admin API (MAIL_FROM, MAIL_ALLOWED_FROM_DOMAINS). */
  senderPolicy?: SenderPolicy;
  /** Express `trust proxy` (TRUST_PROXY). Default false. */
  trustProxy?: boolean | number | string;
  /** Longest wait for in-flight requests on close. Default 10 s. */
  drainMs?: number;
  /** The Temporal UI (TEMPORAL_UI_URL) and namespace: the admin console and API link each user to its workflow there. */
  temporalUi?: { url: string; namespace: string };
  /** CONNECTOR_SECRETS_KEYS, parsed: they decrypt the secrets a tenant's configuration names (events.push.authorizationSecret) and encrypt the event signing keys. Default: the keys kept in the database. */
  connectorSecretKeys?: SecretKey[];
  /**
   * The event feed (docs/events.md): days its events are kept (EVENTS_RETENTION_DAYS, default 14;
   * 0 keeps them); the push loop's pause when idle (default 1 s), first backoff after a failed
   * push (default 1 s) and how often it reads which tenants push (default 10 s); how long a
   * tenant's signing key is used without a look-up (default 10 s: a rotation takes effect within it).
   */
  events?: { retentionDays?: number; pushPollMs?: number; pushBackoffMs?: number; pushTenantsRefreshMs?: number; signingKeyCacheMs?: number };
}): Promise<RunningServer> {
  const metrics = options.metrics ?? appMetrics();
  registerDatabaseGauges(metrics, options.db);
  /** Known once the port is bound (port 0 picks one). */
  const bound: { publicUrl?: string } = {};
  // The API first, never alone: while requests are being answered, the relay's passes are short
  // and keep few signals in flight, so its work does not queue in front of the requests on this
  // event loop; it never stops, however long the requests keep coming (outbox-relay.ts).
  let inFlight = 0;
  let lastRequestAt = 0;
  const apiBusy = () => inFlight > 0 || Date.now() - lastRequestAt < API_QUIET_MS;
  const relay = createOutboxRelay({
    db: options.db,
    busy: apiBusy,
    temporal: options.temporal,
    taskQueue: options.taskQueue,
    logger: options.logger,
    pollMs: options.relayPollMs,
    metrics,
    retentionDays: options.outboxRetentionDays,
    consoleUrl: () => (bound.publicUrl ? `${bound.publicUrl}${CONSOLE_PATH}` : undefined),
  });
  const listings = listCompaction({ db: options.db, logger: options.logger });
  const requestLog = createRequestLog({ db: options.db, logger: options.logger, metrics, retentionDays: options.requestLogRetentionDays });
  const server = http.createServer();
  // The port is bound before the app exists (a port of 0 is known only then, and the app's links
  // need it). A request arriving in between waits for the app instead of hanging unanswered: a
  // 'request' event nobody listens to is lost, and that client waits forever.
  const ready: { handle?: http.RequestListener } = {};
  const early: (() => void)[] = [];
  server.on('request', (req, res) => (ready.handle ? ready.handle(req, res) : early.push(() => ready.handle!(req, res))));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const publicUrl = options.publicUrl ?? `http://${options.host === '0.0.0.0' ? 'localhost' : options.host}:${port}`;
  bound.publicUrl = publicUrl;
  // The event feed: SETs signed at delivery with the tenant's key, long polls and the push loop woken by LISTEN.
  const signer = eventSigner({
    db: options.db,
    publicUrl,
    encryptionKeys: options.connectorSecretKeys,
    logger: options.logger,
    cacheMs: options.events?.signingKeyCacheMs,
  });
  const notifier = eventNotifier({ db: options.db, logger: options.logger });
  await notifier.start();
  const eventsRetentionDays = options.events?.retentionDays ?? 14;
  const eventPusher = createEventPusher({
    db: options.db,
    signer,
    logger: options.logger,
    notifier,
    secrets: secretStore(options.db, { keys: options.connectorSecretKeys }),
    pollMs: options.events?.pushPollMs,
    backoffMs: options.events?.pushBackoffMs,
    tenantsRefreshMs: options.events?.pushTenantsRefreshMs,
    retention: pacedCleanup({
      deleteBatch: (limit) => deleteOldEvents(options.db, eventsRetentionDays, limit),
      what: 'event feed retention',
      logger: options.logger,
      enabled: eventsRetentionDays > 0,
      intervalMs: 3_600_000,
      batchSize: 1_000,
      firstAfterMs: 60_000,
    }),
  });
  const adminDeps = {
    db: options.db,
    temporal: options.temporal,
    taskQueue: options.taskQueue,
    scimBaseUrl: `${publicUrl}/scim/v2`,
    onCommitted: () => relay.nudge(),
    logger: options.logger,
    temporalUi: options.temporalUi,
    senderPolicy: options.senderPolicy,
    connectorSecretKeys: options.connectorSecretKeys,
  };
  const codec = options.codec ?? { auth: 'token' as const, corsOrigins: [] };
  const failureLimit = options.failureLimit ?? { perMinute: 10, burst: 20 };
  // One budget for failed authentications of every credential kind, one for invitation links.
  // Live tokens (kept current through LISTEN/NOTIFY) pass a throttled address: a valid credential is always served.
  const liveCredentials = new LiveCredentials({ db: options.db, logger: options.logger });
  await liveCredentials.start();
  const authFailures = new FailureThrottle({ ...failureLimit, liveCredentials });
  const linkFailures = new FailureThrottle(failureLimit);
  const readiness = {
    database: () => options.db.ping(),
    temporal: async () => {
      const client = await options.temporal();
      // Bounded like the check itself: a call left retrying in the background would fire into a
      // closed connection after shutdown (an uncaught "Channel has been shut down").
      await client.connection.withDeadline(Date.now() + READINESS_DEADLINE_MS, () => client.workflowService.getSystemInfo({}));
    },
    outboxRelay: async () => {
      const health = relay.health();
      if (!health.ok) throw new Error(health.reason ?? 'unhealthy');
    },
  };
  const ops: OpsServer = await startOpsServer({
    host: options.ops?.host ?? '127.0.0.1',
    port: options.ops?.port ?? 0,
    token: options.ops?.token,
    metrics,
    readiness,
    logger: options.logger,
  });
  // Mounted before the invitation pages (invitations/), which stay as they are.
  const invitationGuard = Router().use('/invitations/:token', throttleInvitationLinks(linkFailures));
  const app = createScimApp({
    db: options.db,
    logger: options.logger,
    publicUrl,
    bodyLimitBytes: options.bodyLimitBytes,
    rateLimit: options.rateLimit,
    tokenCacheMs: options.tokenCacheMs,
    onCommitted: () => relay.nudge(),
    metrics,
    failures: authFailures,
    oauth: { accessTokenTtlMs: options.oauthAccessTokenTtlMs, liveCredentials },
    trustProxy: options.trustProxy,
    requestLog,
    events: { signer, notifier },
    extraRouters: [
      eventsPublicRouter({ db: options.db, signer, publicUrl, pollUrl: `${publicUrl}${SCIM_BASE_PATH}${EVENTS_POLL_PATH}` }),
      consoleRouter({
        ...adminDeps,
        publicUrl,
        bodyLimitBytes: options.bodyLimitBytes,
        failures: authFailures,
        oauthAccessTokenTtlMs: options.oauthAccessTokenTtlMs,
      }),
      invitationGuard,
      invitationsRouter({ db: options.db, publicUrl, onCommitted: () => relay.nudge() }),
      remoteCodecRouter({
        codec: codec.codec,
        db: options.db,
        auth: codec.auth,
        operatorToken: codec.operatorToken,
        corsOrigins: codec.corsOrigins,
        logger: options.logger,
        bodyLimitBytes: options.bodyLimitBytes,
        failures: authFailures,
      }),
      adminRouter({
        ...adminDeps,
        rateLimit: options.rateLimit,
        bodyLimitBytes: options.bodyLimitBytes,
        tokenCacheMs: options.tokenCacheMs,
        failures: authFailures,
      }),
    ],
  });
  ready.handle = (req, res) => {
    inFlight += 1;
    res.once('close', () => {
      inFlight -= 1;
      lastRequestAt = Date.now();
    });
    app(req, res);
  };
  for (const answer of early.splice(0)) answer();
  relay.start();
  listings.start();
  requestLog.start();
  eventPusher.start();
  const drainMs = options.drainMs ?? 10_000;
  return {
    url: publicUrl,
    port,
    opsUrl: ops.url,
    relay,
    eventPusher,
    requestLog,
    async close() {
      // Long polls answer now instead of holding the drain.
      await notifier.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), drainMs).unref();
      });
      await relay.stop();
      await listings.stop();
      await eventPusher.stop();
      await requestLog.stop();
      await ops.close();
      await liveCredentials.stop();
    },
  };
}
