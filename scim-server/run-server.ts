/** Starts the SCIM server process's parts: HTTP app, invitation pages and the outbox relay. */
import http from 'node:http';
import type { Client } from '@temporalio/client';
import type { Db } from '../common/db';
import type { Logger } from '../common/logger';
import { createScimApp } from './app';
import { invitationsRouter } from './invitations/routes';
import { createOutboxRelay, type OutboxRelay } from './outbox-relay';

export interface RunningServer {
  url: string;
  port: number;
  relay: OutboxRelay;
  close(): Promise<void>;
}

export async function runScimServer(options: {
  db: Db;
  logger: Logger;
  temporal: () => Promise<Client>;
  taskQueue: string;
  host: string;
  port: number;
  publicUrl?: string;
  bodyLimitBytes: number;
  rateLimit: { perSecond: number; burst: number };
  tokenCacheMs?: number;
  relayPollMs?: number;
}): Promise<RunningServer> {
  const relay = createOutboxRelay({ db: options.db, temporal: options.temporal, taskQueue: options.taskQueue, logger: options.logger, pollMs: options.relayPollMs });
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const publicUrl = options.publicUrl ?? `http://${options.host === '0.0.0.0' ? 'localhost' : options.host}:${port}`;
  const app = createScimApp({
    db: options.db,
    logger: options.logger,
    publicUrl,
    bodyLimitBytes: options.bodyLimitBytes,
    rateLimit: options.rateLimit,
    tokenCacheMs: options.tokenCacheMs,
    onCommitted: () => relay.nudge(),
    readiness: {
      database: () => options.db.ping(),
      temporal: async () => {
        const client = await options.temporal();
        await client.workflowService.getSystemInfo({});
      },
      outboxRelay: async () => {
        if (!relay.healthy()) throw new Error('last delivery to Temporal failed');
      },
    },
    extraRouters: [invitationsRouter(options.db, () => relay.nudge())],
  });
  server.on('request', app);
  relay.start();
  return {
    url: publicUrl,
    port,
    relay,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      });
      await relay.stop();
    },
  };
}
