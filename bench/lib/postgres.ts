/**
 * A throwaway PostgreSQL cluster for the benchmark: initdb into a temporary folder, trust
 * authentication, loopback only, a free port. Run as the `postgres` user when we are root
 * (PostgreSQL refuses to run as root). Durability is traded for speed unless asked
 * otherwise: fsync, synchronous_commit and full_page_writes are off (BENCH_PG_FSYNC=on keeps them on).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../dev/temporal-dev-server';

export interface ThrowawayPostgres {
  url: string;
  port: number;
  version: string;
  settings: Record<string, string>;
  pid: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

function findBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error('no initdb under /usr/lib/postgresql/*/bin: install PostgreSQL (apt-get install postgresql) or set DATABASE_URL');
  }
  return path.join(root, versions[0], 'bin');
}

export async function startThrowawayPostgres(options: { fsync: boolean; log: (msg: string) => void }): Promise<ThrowawayPostgres> {
  const bin = findBinDir();
  const asRoot = process.getuid?.() === 0;
  const wrap = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-bench-pg-'));
  if (asRoot) spawnSync('chown', ['-R', 'postgres:postgres', dir]);
  const data = path.join(dir, 'data');
  const [initCmd, initArgs] = wrap(path.join(bin, 'initdb'), [
    '-D',
    data,
    '--auth=trust',
    '--username=postgres',
    '--encoding=UTF8',
    '--no-locale',
    '--no-sync',
  ]);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${(init.stderr || init.stdout).slice(-800)}`);

  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dir,
    max_connections: '100',
    shared_buffers: '512MB',
    effective_cache_size: '4GB',
    work_mem: '16MB',
    maintenance_work_mem: '256MB',
    fsync: options.fsync ? 'on' : 'off',
    synchronous_commit: options.fsync ? 'on' : 'off',
    full_page_writes: options.fsync ? 'on' : 'off',
    max_wal_size: '4GB',
    checkpoint_timeout: '15min',
    track_io_timing: 'on',
    logging_collector: 'off',
  };
  // Per-statement counts and times (queries per onboarding in the cost model), when the contrib library is there.
  if (fs.existsSync(path.join(bin, '..', 'lib', 'pg_stat_statements.so'))) {
    settings.shared_preload_libraries = 'pg_stat_statements';
    settings['pg_stat_statements.track'] = 'all';
  }
  const args = ['-D', data, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const [cmd, cmdArgs] = wrap(path.join(bin, 'postgres'), args);
  const logFile = path.join(dir, 'postgres.log');
  const logFd = fs.openSync(logFile, 'a');
  const child = spawn(cmd, cmdArgs, { stdio: ['ignore', logFd, logFd] });
  let exited: number | null = null;
  child.on('exit', (code) => {
    exited = code ?? -1;
  });

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  let version = '';
  for (;;) {
    if (exited !== null) throw new Error(`postgres exited with ${exited}: ${fs.readFileSync(logFile, 'utf8').slice(-800)}`);
    const c = new Client({ connectionString: url });
    try {
      await c.connect();
      version = (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0].v;
      await c.query('CREATE DATABASE scimflow_bench');
      await c.end();
      break;
    } catch {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`postgres did not accept connections within 30 s: ${fs.readFileSync(logFile, 'utf8').slice(-800)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  // runuser forks: the postgres postmaster is runuser's child. Find it for CPU/RSS sampling.
  const postmaster = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  options.log(`PostgreSQL ${version} on 127.0.0.1:${port} (${dir}; fsync=${settings.fsync})`);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/scimflow_bench`,
    port,
    version,
    settings,
    pid: postmaster,
    process: child,
    async stop() {
      if (exited === null) {
        const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        // SIGINT to the postmaster is PostgreSQL's "fast" shutdown.
        try {
          process.kill(postmaster, 'SIGINT');
        } catch {
          child.kill('SIGINT');
        }
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await done;
        clearTimeout(timer);
      }
      fs.closeSync(logFd);
      if (!process.env.BENCH_KEEP_PG) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
