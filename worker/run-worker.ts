/** Starts the worker process's parts: Temporal connection, activities' dependencies, the worker loop. */
import type { Db } from '../common/db';
import type { Logger } from '../common/logger';
import { createMailer, type Mailer } from '../common/mail/mailer';
import { connectWorker, type TemporalTarget } from '../common/temporal/connection';
import { createWorker, installRuntime } from './create-worker';

export interface RunningWorker {
  /** Resolves when the worker has stopped. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

export async function runWorker(options: {
  target: TemporalTarget;
  taskQueue: string;
  db: Db;
  smtpUrl: string;
  publicUrl: string;
  mailFrom: string;
  logger: Logger;
  mailer?: Mailer;
}): Promise<RunningWorker> {
  installRuntime();
  const connection = await connectWorker(options.target);
  const mailer = options.mailer ?? createMailer(options.smtpUrl);
  const worker = await createWorker({
    connection,
    namespace: options.target.namespace,
    taskQueue: options.taskQueue,
    deps: { db: options.db, mailer, publicUrl: options.publicUrl, mailFrom: options.mailFrom, logger: options.logger },
  });
  const done = worker.run().finally(async () => {
    mailer.close();
    await connection.close();
  });
  return {
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
