/**
 * Fault scenarios need processes of their own sharing one PostgreSQL server: DATABASE_URL when
 * set (CI), else a throwaway cluster started here from the machine's PostgreSQL binaries.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../dev/temporal-dev-server';

export interface PostgresServer {
  url: string;
  /** Stops the server (for outage scenarios); `start` brings it back on the same port. */
  stop(): void;
  start(): void;
  /** Removes a cluster this module started; no-op for DATABASE_URL. */
  dispose(): void;
}

function pgBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!fs.existsSync(base)) return undefined;
  const versions = fs
    .readdirSync(base)
    .filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb')))
    .sort();
  return versions.length ? path.join(base, versions[versions.length - 1], 'bin') : undefined;
}

function asPostgres(cmd: string, args: string[]): void {
  if (process.getuid?.() === 0) execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'ignore' });
  else execFileSync(cmd, args, { stdio: 'ignore' });
}

/** A PostgreSQL this test file controls: always a private cluster, so stopping it hurts no one else. */
export async function startPrivatePostgres(): Promise<PostgresServer> {
  const bin = pgBin();
  if (!bin) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql (apt-get install postgresql)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-fault-pg-'));
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dir]);
  const port = await freePort();
  asPostgres(path.join(bin, 'initdb'), ['-D', path.join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  const start = () =>
    asPostgres(path.join(bin, 'pg_ctl'), [
      '-D',
      path.join(dir, 'data'),
      '-l',
      path.join(dir, 'log'),
      '-w',
      '-o',
      `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off`,
      'start',
    ]);
  const stop = () => asPostgres(path.join(bin, 'pg_ctl'), ['-D', path.join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    dispose() {
      try {
        stop();
      } catch {
        // already stopped
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
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

export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
