/**
 * Starts the real services the integration tests share, once per run: ONE Temporal dev
 * server (in memory, headless) on a free port and ONE SMTP server on loopback that writes
 * every message it receives to a folder. PostgreSQL: DATABASE_URL when set (CI), else each
 * test file opens an embedded PostgreSQL. Addresses reach the tests through the environment.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer, freePort } from '../dev/temporal-dev-server';
import { findOrInstallTemporalCli } from '../dev/temporal-cli';
import { startSmtpCatcher } from '../dev/smtp-catcher';

export default async function globalSetup(): Promise<void> {
  const log = (msg: string) => process.stderr.write(`[test setup] ${msg}\n`);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-test-'));
  const cliPath = findOrInstallTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH, log });
  const devServer = await startDevServer({ cliPath, port: await freePort(), namespace: 'default', logFile: path.join(workDir, 'temporal.log') });
  const mailDir = path.join(workDir, 'mail');
  const smtp = await startSmtpCatcher({ outboxDir: mailDir });
  process.env.SCIMFLOW_TEST_TEMPORAL_ADDRESS = devServer.address;
  process.env.SCIMFLOW_TEST_SMTP_URL = smtp.url;
  process.env.SCIMFLOW_TEST_MAIL_DIR = mailDir;
  process.env.SCIMFLOW_TEST_WORK_DIR = workDir;
  process.env.SCIMFLOW_TEST_CLI_PATH = cliPath;
  (globalThis as Record<string, unknown>).__scimflowServices = { devServer, smtp, workDir };
  log(
    `Temporal dev server ${devServer.address}; SMTP ${smtp.url}; ${process.env.DATABASE_URL ? 'PostgreSQL from DATABASE_URL' : 'embedded PostgreSQL per test file'}`,
  );
}
