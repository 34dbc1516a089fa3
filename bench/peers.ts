/**
 * `npm run bench:peers`: scimflow and two durable SCIM peers side by side, one after another,
 * under the same load (../shared/peers/load.mjs: N creates C at a time, then S seconds of
 * `userName eq` lookups), and the table of docs/performance.md §10.
 *
 * Targets, in this order in odd rounds (reversed in even ones):
 *   - `embedded`: `npm start` on a fresh DATA_DIR (the embedded PostgreSQL), the onboarding running
 *     beside (propagation and settling windows 0 s);
 *   - `database-url`: the same with DATABASE_URL on the peers' PostgreSQL 15 (a fresh database);
 *   - `django`: django-scim2 on Django (gunicorn, 2 workers), PostgreSQL 15;
 *   - `better-auth`: Better Auth's SCIM plugin, PostgreSQL 15.
 * The peers come from ../shared/peers/peers.sh, which installs them into a scratch folder
 * (BENCH_PEERS_DIR, default /tmp/scimflow-peers), never into the repository, and runs their
 * throwaway PostgreSQL 15 on a free port. Each peer starts on empty databases.
 *
 * For scimflow it also records the CPU seconds of each process during the load (SCIM server,
 * worker, Temporal, PostgreSQL), how many invitations went out while the load ran, and how long
 * the onboarding took to catch up after it: every user invited, or waiting for a seat (the demo
 * tenant's default office has 500 seats); bounded by BENCH_PEERS_CATCHUP_S, default 600.
 *
 * scimflow runs with its per-token rate limit raised (RATE_LIMIT_PER_SECOND: the default 1,000/s
 * would cap one token's load; the peers have no such limit).
 *
 * Knobs: BENCH_PEERS_REPO (another checkout's `npm start`, for a before/after), BENCH_PEERS_USERS (2000), BENCH_PEERS_CONC (8), BENCH_PEERS_SECONDS (20),
 * BENCH_PEERS_ROUNDS (1), BENCH_PEERS_TARGETS (all four, comma-separated), ONBOARDING_NICE
 * (passed to `npm start`), PEERS_SH, PEERS_LOAD, BENCH_PEERS_RESULTS
 * (bench/results/peers-latest.json).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../common/db';
import { workflowCountsByState } from '../common/repositories/provisioning-states';
import { freePort } from '../dev/temporal-dev-server';
import { startFreshStack } from './lib/fresh-stack';
import { cpuByRole, loadAverage, treeCpuSeconds } from './lib/proc';

/** The checkout whose `npm start` runs (another one, e.g. the commit before a change, through BENCH_PEERS_REPO). */
const ROOT = process.env.BENCH_PEERS_REPO ?? path.join(__dirname, '..');
const int = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const cfg = {
  users: int('BENCH_PEERS_USERS', 2000),
  conc: int('BENCH_PEERS_CONC', 8),
  seconds: int('BENCH_PEERS_SECONDS', 20),
  rounds: int('BENCH_PEERS_ROUNDS', 1),
  catchupSeconds: int('BENCH_PEERS_CATCHUP_S', 600),
  targets: (process.env.BENCH_PEERS_TARGETS ?? 'embedded,database-url,django,better-auth').split(',').map((t) => t.trim()),
  // The peers' scripts sit beside this checkout (not beside BENCH_PEERS_REPO's).
  peersSh: process.env.PEERS_SH ?? path.join(__dirname, '..', '..', 'shared', 'peers', 'peers.sh'),
  load: process.env.PEERS_LOAD ?? path.join(__dirname, '..', '..', 'shared', 'peers', 'load.mjs'),
  peersDir: process.env.BENCH_PEERS_DIR ?? '/tmp/scimflow-peers',
  results: process.env.BENCH_PEERS_RESULTS ?? path.join(__dirname, 'results', 'peers-latest.json'),
};
const t0 = Date.now();
const log = (msg: string) => process.stderr.write(`[bench:peers +${((Date.now() - t0) / 1000).toFixed(0)}s] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LoadResult {
  createsPerS: number;
  createErrors: number;
  lookups: number;
  lookupsPerS: number;
  p50ms: number;
  p99ms: number;
  lookupErrors: number;
}

interface TargetResult {
  target: string;
  round: number;
  load: LoadResult;
  load1: [number, number, number];
  /** scimflow only. */
  onboarding?: {
    invitedDuringLoad: number;
    catchUpSeconds: number | null;
    invitedAtEnd: number;
    /** Invited or waiting for a seat. */
    settledAtEnd: number;
    cpuSecondsDuringLoad: Record<string, number>;
  };
}

function runLoad(base: string, token: string): LoadResult {
  const out = execFileSync(
    process.execPath,
    [cfg.load, '--base', base, '--token', token, '--users', String(cfg.users), '--conc', String(cfg.conc), '--seconds', String(cfg.seconds)],
    { encoding: 'utf8', maxBuffer: 10 * 1024 * 1024 },
  );
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`the load generator printed no result: ${out}`);
  return JSON.parse(line) as LoadResult;
}

function peers(env: Record<string, string>, ...args: string[]): string {
  return execFileSync('bash', [cfg.peersSh, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 10 * 1024 * 1024 });
}

const kv = (text: string, key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1];

/** CPU seconds so far of the peers' PostgreSQL (postmaster and backends), for the DATABASE_URL target. */
function postgresCpu(): number {
  return treeCpuSeconds(Number(fs.readFileSync(path.join(cfg.peersDir, 'pgdata', 'postmaster.pid'), 'utf8').split('\n')[0]));
}

const diff = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.keys(b).map((k) => [k, Math.round((b[k] - (a[k] ?? 0)) * 10) / 10]));

async function runScimflow(target: 'embedded' | 'database-url', round: number, pgPort: number): Promise<TargetResult> {
  // One token sends the whole load: the per-token budget (1,000/s by default) would cap it, and the peers have none.
  const env: Record<string, string | undefined> = { RATE_LIMIT_PER_SECOND: '1000000', RATE_LIMIT_BURST: '1000000', DATABASE_URL: undefined };
  if (target === 'database-url') {
    const db = `scimflow_bench_${Date.now().toString(36)}`;
    execFileSync('/usr/lib/postgresql/15/bin/psql', ['-X', '-q', '-h', '127.0.0.1', '-p', String(pgPort), '-U', 'postgres', '-c', `create database ${db}`]);
    env.DATABASE_URL = `postgres://postgres@127.0.0.1:${pgPort}/${db}`;
  }
  const stack = await startFreshStack(ROOT, 'scimflow-peers-bench-', env);
  const stop = async () => {
    cleanups.delete(stop);
    await stack.stop();
  };
  cleanups.add(stop);
  try {
    const { baseUrl: base, token, dataDir } = stack;
    const invited = () => (fs.existsSync(path.join(dataDir, 'outbox')) ? fs.readdirSync(path.join(dataDir, 'outbox')).length : 0);
    const db = await openDatabase({ databaseUrl: stack.databaseUrl, poolSize: 1 });
    /** Users whose onboarding has reached its resting state: invited, or waiting for a seat. */
    const settled = async () =>
      (await workflowCountsByState(db)).filter((c) => c.state === 'invited' || c.state === 'waitingForSeat').reduce((n, c) => n + c.n, 0);
    const cpu0 = cpuByRole(stack.pid);
    const pg0 = target === 'database-url' ? postgresCpu() : 0;
    const load1 = loadAverage();
    const load = runLoad(base, token);
    log(`  ${JSON.stringify(load)}`);
    const cpu1 = cpuByRole(stack.pid);
    const cpu = diff(cpu0, cpu1);
    if (target === 'database-url') cpu.postgres = Math.round((postgresCpu() - pg0) * 10) / 10;
    const invitedDuringLoad = invited();
    const loadEnd = Date.now();
    let catchUpSeconds: number | null = null;
    while (Date.now() - loadEnd < cfg.catchupSeconds * 1000) {
      if ((await settled()) >= cfg.users) {
        catchUpSeconds = Math.round((Date.now() - loadEnd) / 100) / 10;
        break;
      }
      await sleep(1000);
    }
    const settledAtEnd = await settled();
    await db.close();
    return { target, round, load, load1, onboarding: { invitedDuringLoad, catchUpSeconds, invitedAtEnd: invited(), settledAtEnd, cpuSecondsDuringLoad: cpu } };
  } finally {
    await stop();
  }
}

async function runPeer(target: 'django' | 'better-auth', round: number, env: Record<string, string>): Promise<TargetResult> {
  peers(env, 'reset-db');
  const port = await freePort();
  const started = peers(env, `${target}-start`, String(port));
  const base = kv(started, 'BASE');
  const token = kv(started, 'TOKEN');
  if (!base || !token) throw new Error(`${target} printed no BASE/TOKEN: ${started}`);
  try {
    const load1 = loadAverage();
    return { target, round, load: runLoad(base, token), load1 };
  } finally {
    peers(env, `${target}-stop`);
  }
}

const NAMES: Record<string, string> = {
  embedded: 'scimflow `npm start` (embedded default), onboarding beside',
  'database-url': 'scimflow `npm start` with `DATABASE_URL` (PostgreSQL 15), onboarding beside',
  django: 'django-scim2 on Django (gunicorn, 2 workers), PostgreSQL 15',
  'better-auth': 'Better Auth SCIM plugin, PostgreSQL 15',
};

const one = (x: number): string => x.toFixed(1);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

function table(results: TargetResult[]): string {
  const rows = [
    '| target | creates/s | lookups/s | lookup p50 / p99 ms | errors | invited during load / catch-up after | load1 |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const o = r.onboarding;
    rows.push(
      `| ${NAMES[r.target]} (round ${r.round}) | ${r.load.createsPerS} | ${r.load.lookupsPerS} | ${r.load.p50ms} / ${r.load.p99ms} | ${r.load.createErrors + r.load.lookupErrors} | ${
        o ? `${o.invitedDuringLoad} / ${o.catchUpSeconds === null ? `not in ${cfg.catchupSeconds} s (${o.settledAtEnd})` : `${o.catchUpSeconds} s`}` : '–'
      } | ${r.load1[0]} |`,
    );
  }
  if (cfg.rounds > 1) {
    rows.push('', '| target | median creates/s | median lookups/s | median p99 ms |', '|---|---|---|---|');
    for (const t of cfg.targets) {
      const of = results.filter((r) => r.target === t);
      rows.push(
        `| ${NAMES[t]} | ${one(median(of.map((r) => r.load.createsPerS)))} | ${one(median(of.map((r) => r.load.lookupsPerS)))} | ${one(median(of.map((r) => r.load.p99ms)))} |`,
      );
    }
  }
  return rows.join('\n');
}

function verdict(results: TargetResult[]): string[] {
  const lines: string[] = [];
  for (let round = 1; round <= cfg.rounds; round++) {
    const of = (t: string) => results.find((r) => r.round === round && r.target === t);
    const durable = ['django', 'better-auth'].map(of).filter((r): r is TargetResult => !!r);
    const ours = of('embedded');
    if (!ours || durable.length === 0) continue;
    const bestCreates = Math.max(...durable.map((r) => r.load.createsPerS));
    const bestLookups = Math.max(...durable.map((r) => r.load.lookupsPerS));
    const errors = ours.load.createErrors + ours.load.lookupErrors;
    lines.push(
      `round ${round}: embedded creates/s ${ours.load.createsPerS} = ${(ours.load.createsPerS / bestCreates).toFixed(2)}× the best durable peer (goal ≥ 1.5×); ` +
        `lookups/s ${ours.load.lookupsPerS} = ${(ours.load.lookupsPerS / bestLookups).toFixed(2)}× (goal ≥ 3×); p99 ${ours.load.p99ms} ms (goal < 50); errors ${errors}`,
    );
  }
  return lines;
}

/** What a Ctrl-C must stop: the running `npm start` and the peers. */
const cleanups = new Set<() => Promise<void> | void>();
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    void (async () => {
      for (const c of [...cleanups].reverse()) await Promise.resolve(c()).catch(() => undefined);
      process.exit(130);
    })();
  });

async function main(): Promise<void> {
  const pgPort = await freePort();
  const env = { PEERS_DIR: cfg.peersDir, PEERS_PG_PORT: String(pgPort) };
  cleanups.add(() => void peers(env, 'stop-all'));
  // A PostgreSQL cluster made earlier on another port keeps that port in its configuration: start anew.
  peers(env, 'stop-all');
  fs.rmSync(path.join(cfg.peersDir, 'pgdata'), { recursive: true, force: true });
  log(peers(env, 'pg-start').trim());
  const results: TargetResult[] = [];
  try {
    for (let round = 1; round <= cfg.rounds; round++) {
      // Even rounds run the targets in reverse order: no target always runs first (or after the same one).
      for (const target of round % 2 === 1 ? cfg.targets : [...cfg.targets].reverse()) {
        log(`round ${round}: ${target}`);
        const r =
          target === 'embedded' || target === 'database-url'
            ? await runScimflow(target, round, pgPort)
            : await runPeer(target as 'django' | 'better-auth', round, env);
        log(`  ${JSON.stringify(r)}`);
        results.push(r);
      }
    }
  } finally {
    peers(env, 'stop-all');
  }
  const versions = peers(env, 'versions').trim();
  const md = table(results);
  const summary = verdict(results);
  fs.mkdirSync(path.dirname(cfg.results), { recursive: true });
  fs.writeFileSync(
    cfg.results,
    JSON.stringify(
      { startedAt: new Date(t0).toISOString(), config: cfg, machine: { nproc: os.cpus().length, load: loadAverage() }, versions, results, summary },
      null,
      2,
    ),
  );
  process.stdout.write(`${md}\n\n${summary.join('\n')}\n\n${versions}\n`);
  log(`results in ${path.relative(process.cwd(), cfg.results)}`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
