/**
 * One owner per DATA_DIR: `npm start`, or a CLI that had to start the embedded database itself.
 * The lock file DATA_DIR/scimflow.json (mode 0600) names the owner's pid and, once `npm start`
 * is ready, the addresses it serves, so `npm run tokens` and `npm run tenant-config` print the
 * running server's real URLs. It also lists the processes the owner started: after a crash
 * (the owner's pid is gone) the next owner stops those left running.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface LeftoverProcess {
  pid: number;
  marker: string;
}

export interface StackState {
  pid: number;
  /** `npm start`, `npm run tokens`, … */
  command: string;
  startedAt: string;
  /** Set by `npm start` when ready. */
  publicUrl?: string;
  scimBaseUrl?: string;
  temporalUiUrl?: string;
  temporalAddress?: string;
  /** Processes this owner started, stopped by the next owner after a crash; `marker` is part of the command line (a reused pid is left alone). */
  processes?: Record<string, LeftoverProcess>;
}

/** Thrown when another live process owns DATA_DIR. */
export class DataDirBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: StackState,
  ) {
    super(
      `${owner.command} is already running on DATA_DIR=${dataDir} (pid ${owner.pid}, since ${owner.startedAt}). ` +
        `Use that one, stop it first (Ctrl-C in its terminal, or kill ${owner.pid}), or set DATA_DIR to another folder.`,
    );
    this.name = 'DataDirBusyError';
  }
}

export function lockFile(dataDir: string): string {
  return path.join(dataDir, 'scimflow.json');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readState(dataDir: string): StackState | undefined {
  try {
    return JSON.parse(fs.readFileSync(lockFile(dataDir), 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

/** The live owner of DATA_DIR, if any. */
export function readStackState(dataDir: string): StackState | undefined {
  const state = readState(dataDir);
  return state && state.pid !== process.pid && isAlive(state.pid) ? state : undefined;
}

export interface StackLock {
  update(patch: Partial<StackState>): void;
  release(): void;
}

/**
 * Takes DATA_DIR for this process. A lock left by a dead owner is taken over; `onStale` gets
 * the processes it had listed, to stop the ones still running.
 */
export async function acquireStackLock(
  dataDir: string,
  command: string,
  onStale: (processes: Record<string, LeftoverProcess>) => Promise<void> = async () => undefined,
): Promise<StackLock> {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = lockFile(dataDir);
  let state: StackState = { pid: process.pid, command, startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(state, null, 2), { mode: 0o600, flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 3) throw err;
    }
    const owner = readState(dataDir);
    if (owner && owner.pid !== process.pid && isAlive(owner.pid)) throw new DataDirBusyError(dataDir, owner);
    if (owner?.processes) await onStale(owner.processes);
    fs.rmSync(file, { force: true });
  }
  const write = () => {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, file);
  };
  return {
    update(patch) {
      state = { ...state, ...patch, processes: { ...state.processes, ...patch.processes } };
      write();
    },
    release() {
      if (readState(dataDir)?.pid === process.pid) fs.rmSync(file, { force: true });
    },
  };
}

/** Stops processes a crashed owner left running: SIGTERM, then SIGKILL after `graceMs`. */
function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

export async function stopLeftovers(processes: Record<string, LeftoverProcess>, log: (msg: string) => void, graceMs = 10_000): Promise<void> {
  for (const [name, { pid, marker }] of Object.entries(processes)) {
    if (!isAlive(pid) || !commandLine(pid).includes(marker)) continue;
    log(`stopping ${name} (pid ${pid}), left running by an earlier run that did not stop cleanly`);
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      continue;
    }
    const deadline = Date.now() + graceMs;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
}
