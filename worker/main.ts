/**
 * `npm run worker`: the production worker process, against a real PostgreSQL (DATABASE_URL)
 * and a Temporal cluster (TEMPORAL_ADDRESS). SIGTERM drains in-flight activities, then exits.
 */
import { loadConfig } from '../common/config';
import { openDatabase } from '../common/db';
import { createLogger } from '../common/logger';
import { ensureSearchAttributes, connectClient, targetFromConfig } from '../common/temporal/connection';
import { runWorker } from './run-worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { process: 'worker' });
  const problems: string[] = [];
  if (!config.databaseUrl) problems.push('DATABASE_URL is required for `npm run worker` (the embedded database is for `npm start` only)');
  if (!config.temporal.address) problems.push('TEMPORAL_ADDRESS is required for `npm run worker`');
  if (!config.smtpUrl) problems.push('SMTP_URL is required for `npm run worker`');
  if (problems.length) throw new Error(problems.join('\n'));
  const target = targetFromConfig(config);
  const client = await connectClient(target);
  await ensureSearchAttributes(client, target.namespace);
  await client.connection.close();
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const worker = await runWorker({ target, taskQueue: config.temporal.taskQueue, db, smtpUrl: config.smtpUrl as string, publicUrl: config.publicUrl, mailFrom: config.mailFrom, logger });
  logger.info({ taskQueue: config.temporal.taskQueue, namespace: target.namespace }, 'worker running');
  const stop = async () => {
    logger.info('draining worker');
    await worker.shutdown();
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  await worker.done;
  await db.close();
  logger.info('worker stopped');
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
