/**
 * The SCIM server (runScimServer: HTTP API + outbox relay) in a process of its own, so the
 * load generator does not share its event loop and its CPU and RSS can be read apart.
 * Started by bench/run.ts with fork(); configured by environment, answers over IPC:
 *   { type: 'sql', id, sql, params }  → { type: 'sql', id, rows, rowCount } | { type: 'sql', id, error }
 *   { type: 'mem' }                   → { type: 'mem', memory }
 *   { type: 'stop' }                  → closes everything and exits
 * The orchestrator seeds and queries the server's database through the 'sql' message.
 */
import { payloadCodecsOf, resolvePayloadKeys } from '../common/codec/keys';
import { openDatabase, type Db } from '../common/db';
import { createLogger } from '../common/logger';
import { lazyClient } from '../common/temporal/connection';
import { runScimServer } from '../scim-server/run-server';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (bench/server-process.ts is started by bench/run.ts)`);
  return v;
}

async function main(): Promise<void> {
  const logger = createLogger(process.env.BENCH_LOG_LEVEL ?? 'warn', { process: 'bench-scim-server' });
  const db: Db = await openDatabase({
    databaseUrl: env('BENCH_DATABASE_URL'),
    poolSize: process.env.BENCH_SERVER_POOL ? Number(process.env.BENCH_SERVER_POOL) : undefined,
  });
  // As `npm run scim-server` with PAYLOAD_KEYS set: the relay's payloads are encrypted (unless BENCH_PAYLOAD_KEYS is empty).
  const keys = resolvePayloadKeys({ payloadKeys: process.env.BENCH_PAYLOAD_KEYS || undefined, dataDir: '.', allInOne: false });
  const client = lazyClient({ address: env('BENCH_TEMPORAL_ADDRESS'), namespace: 'default', payloadCodecs: payloadCodecsOf(keys) });
  const server = await runScimServer({
    db,
    logger,
    temporal: client.get,
    taskQueue: env('BENCH_TASK_QUEUE'),
    host: '127.0.0.1',
    port: 0,
    bodyLimitBytes: 4 * 1024 * 1024,
    // The production default (1000/s, burst 2000 per token) would cap the load tests; capacity is what is measured here.
    rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
    codec: { codec: keys.codec, auth: 'token', corsOrigins: [] },
  });

  process.on('message', (raw) => {
    const m = raw as { type: string; id?: number; sql?: string; params?: unknown[] };
    if (m.type === 'sql') {
      db.query(m.sql as string, m.params)
        .then((r) => process.send?.({ type: 'sql', id: m.id, rows: r.rows, rowCount: r.rowCount }))
        .catch((err: Error) => process.send?.({ type: 'sql', id: m.id, error: err.message }));
    } else if (m.type === 'mem') {
      process.send?.({ type: 'mem', memory: process.memoryUsage() });
    } else if (m.type === 'stop') {
      void (async () => {
        await server.close().catch(() => undefined);
        await client.close().catch(() => undefined);
        await db.close().catch(() => undefined);
        process.exit(0);
      })();
    }
  });
  process.send?.({ type: 'ready', url: server.url, dbKind: db.kind });
}

main().catch((err) => {
  process.stderr.write(`[bench server] ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
