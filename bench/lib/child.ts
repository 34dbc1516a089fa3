/** Child processes of the benchmark (SCIM server, worker), run with tsx, spoken to over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Queryable, QueryResult } from '../../common/db';

export interface BenchChild {
  pid: number;
  process: ChildProcess;
  ready: Record<string, unknown>;
  /** process.memoryUsage() of the child; with `gc`, after a full collection (children run with --expose-gc). */
  memory(gc?: boolean): Promise<NodeJS.MemoryUsage>;
  /** A Queryable over the child's own database (server child only). */
  db: Queryable;
  stop(timeoutMs?: number): Promise<void>;
}

export async function startChild(script: string, env: Record<string, string>, startTimeoutMs = 180_000): Promise<BenchChild> {
  const child = fork(path.join(__dirname, '..', script), [], {
    // BENCH_CHILD_EXEC_ARGV (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") is for profiling runs.
    execArgv: ['--import', 'tsx', '--expose-gc', ...(process.env.BENCH_CHILD_EXEC_ARGV ?? '').split(' ').filter(Boolean)],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const pending = new Map<number, { resolve: (v: QueryResult<never>) => void; reject: (e: Error) => void }>();
  const memWaiters: ((m: NodeJS.MemoryUsage) => void)[] = [];
  let nextId = 1;
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not become ready in ${startTimeoutMs / 1000} s`)), startTimeoutMs);
    child.on('message', (raw) => {
      const m = raw as { type: string; id?: number; rows?: never[]; rowCount?: number; error?: string; memory?: NodeJS.MemoryUsage };
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolve(m as Record<string, unknown>);
      } else if (m.type === 'sql') {
        const p = pending.get(m.id as number);
        pending.delete(m.id as number);
        if (m.error) p?.reject(new Error(m.error));
        else p?.resolve({ rows: m.rows ?? [], rowCount: m.rowCount ?? 0 });
      } else if (m.type === 'mem') {
        memWaiters.shift()?.(m.memory as NodeJS.MemoryUsage);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before it was ready`));
    });
  });
  const db: Queryable = {
    query<R>(sql: string, params?: readonly unknown[]) {
      return new Promise<QueryResult<R>>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve: resolve as never, reject });
        child.send({ type: 'sql', id, sql, params });
      });
    },
    async exec(sql: string) {
      await db.query(sql);
    },
  };
  return {
    pid: child.pid as number,
    process: child,
    ready,
    db,
    memory: (gc = false) =>
      new Promise((resolve) => {
        memWaiters.push(resolve);
        child.send({ type: 'mem', gc });
      }),
    async stop(timeoutMs = 60_000) {
      if (exited) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await done;
      clearTimeout(timer);
    },
  };
}
