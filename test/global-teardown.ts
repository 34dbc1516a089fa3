import fs from 'node:fs';
import type { DevServer } from '../dev/temporal-dev-server';
import type { SmtpCatcher } from '../dev/smtp-catcher';

export default async function globalTeardown(): Promise<void> {
  const services = (globalThis as Record<string, unknown>).__scimflowServices as { devServer: DevServer; smtp: SmtpCatcher; workDir: string } | undefined;
  if (!services) return;
  await services.smtp.close();
  await services.devServer.stop();
  if (!process.env.SCIMFLOW_KEEP_TEST_DIR) fs.rmSync(services.workDir, { recursive: true, force: true });
}
