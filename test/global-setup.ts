/**
 * Starts the real services the integration tests share, once per run: ONE Temporal dev
 * server (in memory, headless) on a free port and ONE SMTP server on loopback that writes
 * every message it receives to a folder. PostgreSQL: DATABASE_URL when set (CI), else ONE
 * throwaway PostgreSQL server from the embedded binaries (dev/embedded-postgres.ts); each test
 * file works in a schema of its own either way. Addresses reach the tests through the environment.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer, freePort } from '../dev/temporal-dev-server';
import { findOrInstallTemporalCli } from '../dev/temporal-cli';
import { startSmtpCatcher } from '../dev/smtp-catcher';
import { startScratchPostgres } from '../dev/embedded-postgres';

export default async function globalSetup(): Promise<void> {
  const log = (msg: string) => process.stderr.write(`[test setup] ${msg}\n`);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-test-'));
  const cliPath = findOrInstallTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH, log });
  const devServer = await startDevServer({ cliPath, port: await freePort(), namespace: 'default', logFile: path.join(workDir, 'temporal.log') });
  const mailDir = path.join(workDir, 'mail');
  const smtp = await startSmtpCatcher({ outboxDir: mailDir });
  // Both test projects name this setup; the second run finds DATABASE_URL set by the first.
  let postgres: Awaited<ReturnType<typeof startScratchPostgres>> | undefined;
  if (!process.env.DATABASE_URL) {
    postgres = await startScratchPostgres({ port: await freePort() });
    process.env.DATABASE_URL = postgres.url;
    process.env.SCIMFLOW_TEST_OWN_POSTGRES = '1';
  }
  process.env.SCIMFLOW_TEST_TEMPORAL_ADDRESS = devServer.address;
  process.env.SCIMFLOW_TEST_SMTP_URL = smtp.url;
  process.env.SCIMFLOW_TEST_MAIL_DIR = mailDir;
  process.env.SCIMFLOW_TEST_WORK_DIR = workDir;
  process.env.SCIMFLOW_TEST_CLI_PATH = cliPath;
  const services = ((globalThis as Record<string, unknown>).__scimflowServices ??= []) as unknown[];
  services.push({ devServer, smtp, workDir, postgres });
  log(
    `Temporal dev server ${devServer.address}; SMTP ${smtp.url}; ${postgres ? 'PostgreSQL from the embedded binaries' : process.env.SCIMFLOW_TEST_OWN_POSTGRES ? 'the PostgreSQL started above' : 'PostgreSQL from DATABASE_URL'}`,
  );
}
