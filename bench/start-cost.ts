/**
 * `npm run bench:start`: what a production process costs to start, run through tsx (as the
 * image did before issue 22) and compiled (`npm run build`, as it does now). For the SCIM
 * server and the worker, each way of running is started BENCH_START_RUNS times (3), round-robin,
 * against one fresh `npm start` (its PostgreSQL and Temporal dev server): the time from spawn to
 * ready (the SCIM server's /healthz answers 200; the worker logs "worker running") and the RSS
 * (VmRSS) 3 s after ready, of the app's own node process and of everything the command spawned
 * (`npm run …` is npm, sh, tsx's launcher and the app). The environment is the image's
 * (NODE_ENV=production, MALLOC_ARENA_MAX=2, a prebuilt workflow bundle); the measured worker
 * polls a task queue of its own, so the stack's tasks stay with the stack's worker.
 *
 * Needs `npm run build` first (dist/). Knobs: BENCH_START_RUNS (3), BENCH_START_RESULTS
 * (bench/results/compiled-start-<date>.json).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSmtpCatcher } from '../dev/smtp-catcher';
import { freePort } from '../dev/temporal-dev-server';
import { buildWorkflowBundleInChild } from '../worker/workflow-bundle';
import { startFreshStack } from './lib/fresh-stack';
import { loadAverage, MB } from './lib/proc';

const ROOT = path.join(__dirname, '..');
const cfg = {
  runs: Number(process.env.BENCH_START_RUNS ?? 3),
  results: process.env.BENCH_START_RESULTS ?? path.join(__dirname, 'results', `compiled-start-${new Date().toISOString().slice(0, 10)}.json`),
};
const SETTLE_MS = 3_000;
const t0 = Date.now();
const log = (msg: string) => process.stderr.write(`[bench:start +${((Date.now() - t0) / 1000).toFixed(0)}s] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (x: number) => Math.round(x * 10) / 10;

type Role = 'scim-server' | 'worker';
interface Variant {
  name: string;
  /** The command for a role; its first word is looked up on PATH (`node` is this Node). */
  command: (role: Role) => string[];
  env?: Record<string, string>;
}

const VARIANTS: Variant[] = [
  // The image's CMD before: a new container has an empty /tmp, so tsx transpiles every module.
  { name: 'npm run (tsx, cold cache)', command: (role) => ['npm', 'run', role], env: { TSX_DISABLE_CACHE: '1' } },
  { name: 'node --import tsx (cold cache)', command: (role) => ['node', '--import', 'tsx', `${role}/main.ts`], env: { TSX_DISABLE_CACHE: '1' } },
  { name: 'node --import tsx (warm cache)', command: (role) => ['node', '--import', 'tsx', `${role}/main.ts`] },
  { name: 'node dist (compiled, the image)', command: (role) => ['node', `dist/${role}/main.js`] },
  { name: 'node --enable-source-maps dist (compiled)', command: (role) => ['node', '--enable-source-maps', `dist/${role}/main.js`] },
];

/** Parent of every process, from /proc. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      out.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** `root` and its descendants with their depth below it and their command name. */
function tree(root: number): { pid: number; depth: number; comm: string }[] {
  const table = parents();
  const comm = (pid: number) => {
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const out = [{ pid: root, depth: 0, comm: comm(root) }];
  for (let i = 0; i < out.length; i++) {
    for (const [pid, ppid] of table) if (ppid === out[i].pid) out.push({ pid, depth: out[i].depth + 1, comm: comm(pid) });
  }
  return out;
}

function rssOf(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

interface Sample {
  variant: string;
  role: Role;
  run: number;
  readyMs: number;
  /** The app's own node process: the deepest `node` the command spawned. */
  appRssMB: number;
  /** Every process the command spawned (npm, sh, tsx's launcher, the app). */
  treeRssMB: number;
  processes: number;
}

async function measure(variant: Variant, role: Role, run: number, env: Record<string, string>): Promise<Sample> {
  const port = await freePort();
  const [cmd, ...args] = variant.command(role);
  const started = performance.now();
  // Own process group, so a stop reaches npm's children too.
  const child: ChildProcess = spawn(cmd === 'node' ? process.execPath : cmd, args, {
    cwd: ROOT,
    env: { ...env, ...variant.env, PORT: String(port), OPS_PORT: String(await freePort()), METRICS_PORT: String(await freePort()) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${variant.name} ${role} exited (${child.exitCode}): ${output.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`${variant.name} ${role} not ready in 120 s: ${output.slice(-2000)}`);
      const ready =
        role === 'worker'
          ? output.includes('"msg":"worker running"')
          : await fetch(`http://127.0.0.1:${port}/healthz`).then(
              (r) => r.ok,
              () => false,
            );
      if (ready) break;
      await sleep(20);
    }
    const readyMs = performance.now() - started;
    await sleep(SETTLE_MS);
    const procs = tree(child.pid as number);
    // The deepest `node` (npm renames itself; tsx transpiles in an esbuild process of its own).
    const app = procs.filter((p) => p.comm === 'node').sort((a, b) => b.depth - a.depth)[0] ?? procs[0];
    return {
      variant: variant.name,
      role,
      run,
      readyMs: Math.round(readyMs),
      appRssMB: round1(rssOf(app.pid) / MB),
      treeRssMB: round1(procs.reduce((s, p) => s + rssOf(p.pid), 0) / MB),
      processes: procs.length,
    };
  } finally {
    const exited = new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    process.kill(-(child.pid as number), 'SIGTERM');
    await Promise.race([exited, sleep(30_000)]);
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // the group is gone
    }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'scim-server', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-start-cost-'));
  const smtp = await startSmtpCatcher({ outboxDir: path.join(work, 'mail') });
  const temporalPort = await freePort();
  log('starting a fresh npm start for its PostgreSQL and Temporal dev server');
  const stack = await startFreshStack(ROOT, 'scimflow-start-stack-', { TEMPORAL_DEV_PORT: String(temporalPort), SMTP_URL: smtp.url });
  try {
    log('building the workflow bundle');
    const bundle = await buildWorkflowBundleInChild();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.homedir(),
      NODE_ENV: 'production',
      MALLOC_ARENA_MAX: '2',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATA_DIR: path.join(work, 'data'),
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      TEMPORAL_TASK_QUEUE: 'bench-start',
      SMTP_URL: smtp.url,
      WORKFLOW_BUNDLE_PATH: bundle,
    };
    const samples: Sample[] = [];
    for (let run = 1; run <= cfg.runs; run++) {
      for (const role of ['scim-server', 'worker'] as const) {
        for (const variant of VARIANTS) {
          const s = await measure(variant, role, run, env);
          log(`${role} · ${variant.name} · run ${run}: ready ${s.readyMs} ms, app ${s.appRssMB} MB, all ${s.treeRssMB} MB (${s.processes} processes)`);
          samples.push(s);
        }
      }
    }
    const summary = (['scim-server', 'worker'] as const).flatMap((role) =>
      VARIANTS.map((v) => {
        const mine = samples.filter((s) => s.role === role && s.variant === v.name);
        return {
          role,
          variant: v.name,
          readyMs: mine.map((s) => s.readyMs),
          appRssMB: mine.map((s) => s.appRssMB),
          treeRssMB: mine.map((s) => s.treeRssMB),
          medianReadyMs: median(mine.map((s) => s.readyMs)),
          medianAppRssMB: median(mine.map((s) => s.appRssMB)),
          medianTreeRssMB: median(mine.map((s) => s.treeRssMB)),
        };
      }),
    );
    const result = {
      startedAt: new Date(t0).toISOString(),
      config: { ...cfg, settleMs: SETTLE_MS },
      machine: { nproc: os.cpus().length, node: process.version, load1AtEnd: loadAverage() },
      summary,
      samples,
    };
    fs.mkdirSync(path.dirname(cfg.results), { recursive: true });
    fs.writeFileSync(cfg.results, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write('| process | how | ready (ms, 3 runs) | app RSS (MB) | all processes RSS (MB) |\n|---|---|---|---|---|\n');
    for (const s of summary) {
      process.stdout.write(`| ${s.role} | ${s.variant} | ${s.readyMs.join(', ')} | ${s.appRssMB.join(', ')} | ${s.treeRssMB.join(', ')} |\n`);
    }
    log(`written to ${cfg.results}`);
  } finally {
    await stack.stop();
    await smtp.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
