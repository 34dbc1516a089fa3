import fs from 'node:fs';
import type { DevServer } from '../dev/temporal-dev-server';
import type { SmtpCatcher } from '../dev/smtp-catcher';

interface Services {
  devServer: DevServer;
  smtp: SmtpCatcher;
  workDir: string;
  postgres?: { dispose(): Promise<void> };
}

export default async function globalTeardown(): Promise<void> {
  const all = ((globalThis as Record<string, unknown>).__scimflowServices ?? []) as Services[];
  (globalThis as Record<string, unknown>).__scimflowServices = [];
  for (const services of all) {
    await services.smtp.close();
    await services.devServer.stop();
    await services.postgres?.dispose();
    if (!process.env.SCIMFLOW_KEEP_TEST_DIR) fs.rmSync(services.workDir, { recursive: true, force: true });
  }
}
