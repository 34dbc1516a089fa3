/**
 * `npm run scim-server`: the production SCIM server process (with its outbox relay), against
 * a real PostgreSQL and a Temporal cluster. It answers SCIM even while Temporal is down; the
 * relay delivers what accumulated once Temporal is back. SIGTERM stops accepting, finishes
 * in-flight requests, then exits.
 */
import { loadConfig } from '../common/config';
import { openDatabase } from '../common/db';
import { createLogger } from '../common/logger';
import { lazyClient, targetFromConfig } from '../common/temporal/connection';
import { runScimServer } from './run-server';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { process: 'scim-server' });
  const problems: string[] = [];
  if (!config.databaseUrl) problems.push('DATABASE_URL is required for `npm run scim-server` (the embedded database is for `npm start` only)');
  if (!config.temporal.address) problems.push('TEMPORAL_ADDRESS is required for `npm run scim-server`');
  if (problems.length) throw new Error(problems.join('\n'));
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const client = lazyClient(targetFromConfig(config));
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
  });
  logger.info({ url: `${server.url}/scim/v2` }, 'SCIM server listening');
  const stop = async () => {
    logger.info('shutting down');
    await server.close();
    await client.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
