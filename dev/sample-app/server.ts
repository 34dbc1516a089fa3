/**
 * Runs the sample application (./app.ts) on a port of its own, over a database it is given (its
 * tables in `schema`, created when missing): `npm start` with SAMPLE_APP=1 and the tests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Queryable } from '../../common/db';
import { sampleAppStore, type SampleStore } from '../../common/repositories/sample-app';
import { createSampleApp, type SampleApp } from './app';

export interface RunningSampleApp extends Pick<SampleApp, 'faults' | 'calls'> {
  url: string;
  token: string;
  store: SampleStore;
  close(): Promise<void>;
}

export async function startSampleApp(options: {
  db: Queryable & { withTransaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> };
  token: string;
  schema?: string;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  tagDelayMs: number;
  roleDelayMs: number;
  log?: (message: string) => void;
}): Promise<RunningSampleApp> {
  const store = sampleAppStore(options.db, { schema: options.schema, tagDelayMs: options.tagDelayMs, roleDelayMs: options.roleDelayMs });
  await store.migrate();
  const sample = createSampleApp({ store, token: options.token, log: options.log });
  const server = http.createServer(sample.app);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    token: options.token,
    store,
    faults: sample.faults,
    calls: sample.calls,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
