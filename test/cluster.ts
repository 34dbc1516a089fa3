/**
 * `npm run test:cluster`: the multi-process fault test (test/faults/production-shape.fault.test.ts)
 * against the Temporal server on PostgreSQL instead of the dev server — the shape
 * docker-compose.yml runs. Builds the server once into the tools cache (dev/temporal-server.ts;
 * needs Go, minutes the first time), starts a throwaway PostgreSQL from the embedded binaries
 * for Temporal's two databases, sets up their schema, the namespace and the search attributes,
 * then runs the test through jest. Exit code: jest's.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startScratchPostgres } from '../dev/embedded-postgres';
import { findOrInstallTemporalCli } from '../dev/temporal-cli';
import { freePort } from '../dev/temporal-dev-server';
import { startTemporalCluster, TEMPORAL_SERVER_VERSION } from '../dev/temporal-server';

const log = (msg: string) => process.stderr.write(`[test:cluster] ${msg}\n`);

/** A run of `count` free consecutive ports below 32768 (Temporal keeps them in smallint columns). */
async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await Promise.all(Array.from({ length: count }, (_, i) => isFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no run of free ports found between 20000 and 32767');
}

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

async function main(): Promise<number> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-cluster-'));
  const started = Date.now();
  const pg = await startScratchPostgres({ port: await freePort() });
  let passed = false;
  try {
    const cluster = await startTemporalCluster({
      adminUrl: pg.url,
      portBase: await freePortRun(9),
      workDir,
      namespace: 'default',
      cliPath: findOrInstallTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH, log }),
      log,
    });
    log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s; running the multi-process test against Temporal ${TEMPORAL_SERVER_VERSION} on PostgreSQL`);
    try {
      const jest = spawnSync(
        process.execPath,
        [
          '--experimental-vm-modules',
          '--no-warnings=ExperimentalWarning',
          'node_modules/jest/bin/jest.js',
          '--runInBand',
          '--selectProjects',
          'faults',
          '--testPathPatterns',
          'production-shape',
        ],
        { cwd: path.join(__dirname, '..'), stdio: 'inherit', env: { ...process.env, SCIMFLOW_CLUSTER_TEMPORAL_ADDRESS: cluster.address } },
      );
      passed = jest.status === 0;
      return jest.status ?? 1;
    } finally {
      await cluster.stop();
    }
  } finally {
    await pg.dispose();
    // The server's log stays for a failed run.
    if (passed && !process.env.SCIMFLOW_KEEP_TEST_DIR) fs.rmSync(workDir, { recursive: true, force: true });
    else log(`Temporal server files kept in ${workDir}`);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log((err as Error).message);
    process.exit(1);
  },
);
