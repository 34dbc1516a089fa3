/**
 * Runs `temporal server start-dev` for all-in-one mode and tests: persisted to a SQLite file
 * when asked (workflows survive a restart), with the web UI, and with our search attributes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { withNice } from './priority';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../common/temporal/constants';

export interface DevServerOptions {
  cliPath: string;
  port: number;
  /** Web UI port; omit for a headless server. */
  uiPort?: number;
  /** SQLite file; omit for an in-memory server. */
  dbFile?: string;
  namespace: string;
  /** Remote codec endpoint shown to the UI. */
  codecEndpoint?: string;
  logFile?: string;
  /** Nice value to run the server at (dev/priority.ts). Default 0. */
  nice?: number;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Thrown when the dev server exits or does not answer in time; the log file has the reason. */
class DevServerStartError extends Error {
  constructor(
    message: string,
    readonly logFile?: string,
  ) {
    super(logFile ? `${message} (see ${logFile})` : message);
    this.name = 'DevServerStartError';
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'warn', '--log-format', 'json'];
  args.push('--namespace', options.namespace);
  if (options.uiPort) args.push('--ui-port', String(options.uiPort), '--ui-disable-news-fetch');
  else args.push('--headless');
  if (options.dbFile) {
    fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  if (options.codecEndpoint) args.push('--ui-codec-endpoint', options.codecEndpoint);
  for (const key of SEARCH_ATTRIBUTES) {
    args.push('--search-attribute', `${key.name}=${key.type === 'KEYWORD' ? 'Keyword' : key.type}`);
  }

  const logFd = options.logFile ? fs.openSync(options.logFile, 'a') : 'ignore';
  // Its own process group: Ctrl-C reaches the process that started it, which stops it after the
  // worker has drained.
  const run = withNice(options.cliPath, args, options.nice ?? 0);
  const child = spawn(run.command, run.args, { stdio: ['ignore', logFd, logFd], detached: true });
  let exited: number | null = null;
  child.on('exit', (code) => {
    exited = code ?? -1;
  });
  const address = `127.0.0.1:${options.port}`;

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== null) throw new DevServerStartError(`temporal server start-dev exited with code ${exited}`, options.logFile);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      await connection.workflowService.describeNamespace({ namespace: options.namespace });
      await connection.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new DevServerStartError('temporal dev server did not become ready within 60 s', options.logFile);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  return {
    address,
    uiUrl: options.uiPort ? `http://127.0.0.1:${options.uiPort}` : undefined,
    process: child,
    async stop() {
      if (exited !== null) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    },
  };
}
