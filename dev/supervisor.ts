/**
 * Runs one scimflow process (`scim-server/main.ts` or `worker/main.ts`) as a child of
 * `npm start`: started through tsx with an IPC channel, ready when it says so
 * (common/graceful-stop.ts notifySupervisor), restarted with a growing delay when it dies,
 * stopped with SIGTERM (it drains) and SIGKILL past a limit. The child stops by itself when
 * `npm start` dies (the IPC channel closes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { withNice } from './priority';

export interface SupervisedProcess {
  readonly name: string;
  /** Resolves with the child's first ready message (its URL); rejects if it exits before. */
  ready: Promise<{ url?: string }>;
  pid(): number | undefined;
  stop(): Promise<void>;
}

const ROOT = path.join(__dirname, '..');
const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;
/** A child that ran this long before dying is restarted after the first delay again. */
const STABLE_AFTER_MS = 60_000;

export function superviseProcess(options: {
  name: string;
  /** Entry point relative to the repository root, e.g. scim-server/main.ts. */
  script: string;
  env: Record<string, string | undefined>;
  say: (msg: string) => void;
  /** Called with each new pid (recorded in the DATA_DIR lock for crash clean-up). */
  onStarted?: (pid: number) => void;
  /** Longest wait for a drain on stop before SIGKILL. */
  stopLimitMs: number;
  /** Nice value to run the process at (dev/priority.ts). Default 0. */
  nice?: number;
}): SupervisedProcess {
  let child: ChildProcess | undefined;
  let stopping = false;
  let delay = FIRST_DELAY_MS;
  let restartTimer: NodeJS.Timeout | undefined;
  let resolveReady!: (v: { url?: string }) => void;
  let rejectReady!: (err: Error) => void;
  let isReady = false;
  const ready = new Promise<{ url?: string }>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined);

  const start = () => {
    const startedAt = Date.now();
    // Own process group: Ctrl-C reaches `npm start` only, which stops the children in order.
    const run = withNice(process.execPath, ['--import', 'tsx', options.script], options.nice ?? 0);
    const c = spawn(run.command, run.args, {
      cwd: ROOT,
      env: options.env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      detached: true,
    });
    child = c;
    if (c.pid) options.onStarted?.(c.pid);
    c.on('message', (m: { ready?: boolean; url?: string }) => {
      if (!m?.ready) return;
      if (!isReady) {
        isReady = true;
        resolveReady({ url: m.url });
      } else {
        options.say(`${options.name} is running again`);
      }
    });
    c.once('exit', (code, signal) => {
      if (stopping) return;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (!isReady) {
        rejectReady(new Error(`${options.name} exited during start (${how}); its messages are above`));
        return;
      }
      if (Date.now() - startedAt > STABLE_AFTER_MS) delay = FIRST_DELAY_MS;
      options.say(`${options.name} stopped unexpectedly (${how}); restarting it in ${delay / 1000} s`);
      restartTimer = setTimeout(start, delay);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    });
  };
  start();

  return {
    name: options.name,
    ready,
    pid: () => child?.pid,
    async stop() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      const killer = setTimeout(() => c.kill('SIGKILL'), options.stopLimitMs);
      await exited;
      clearTimeout(killer);
    },
  };
}
