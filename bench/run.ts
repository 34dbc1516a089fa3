/**
 * `npm run bench`: the performance figures of scimflow in one run, written to
 * bench/results/latest.json and printed as a markdown table. See docs/performance.md.
 *
 * Starts its own services, all on 127.0.0.1: a throwaway PostgreSQL cluster (unless
 * DATABASE_URL is set), a Temporal dev server (headless, in memory), an SMTP catcher (in this
 * process), the SCIM server (runScimServer, child process) and the worker (runWorker, child
 * process, so its RSS is its own). Then:
 *   1. SCIM API throughput and latency with autocannon at each scale (10,000 and 100,000
 *      seeded users): userName filter, GET by id, list paging, POST, PUT, PATCH attribute,
 *      PATCH group membership on a ~10,000-member group;
 *   2. EXPLAIN ANALYZE of the statements behind those paths (largest scale);
 *   3. the same read/create paths on the embedded PostgreSQL server of all-in-one mode (its default settings);
 *   4. an Entra-style import of BENCH_IMPORT_USERS users with propagation windows at zero:
 *      accepted/s, time to all accepted, time to all onboarded, outbox relay lag;
 *   5. the worker's RSS and CPU with those users waiting for acceptance.
 *
 * Knobs (environment): BENCH_DURATION (s, 10), BENCH_WARMUP (s, 2), BENCH_CONNECTIONS (10),
 * BENCH_SCALES ("10000,100000"), BENCH_SCENARIOS (all), BENCH_PHASES ("scim,explain,embedded,import"),
 * BENCH_IMPORT_USERS (10000), BENCH_IMPORT_CONNECTIONS (6), BENCH_IMPORT_TIMEOUT_MIN (20),
 * BENCH_SETTLE_SECONDS (30), BENCH_PG_FSYNC (off), BENCH_WORKER_TUNING (JSON, see worker-process.ts),
 * BENCH_RESULTS (bench/results/latest.json).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { formatPayloadKeys, generatePayloadKey } from '../common/codec/keys';
import { openDatabase, type Db, type Queryable } from '../common/db';
import { demoTenantConfig } from '../dev/demo-tenant';
import { startSmtpCatcher, type SmtpCatcher } from '../dev/smtp-catcher';
import { outboxStats } from '../common/repositories/outbox';
import { createTenant, saveConfigVersion } from '../common/repositories/tenants';
import { createToken } from '../common/repositories/tokens';
import { connectClient } from '../common/temporal/connection';
import { userWorkflowId } from '../common/temporal/constants';
import { freePort, startDevServer, type DevServer } from '../dev/temporal-dev-server';
import { findOrInstallTemporalCli } from '../dev/temporal-cli';
import { embeddedLayout, startEmbeddedPostgres } from '../dev/embedded-postgres';
import { startChild, type BenchChild } from './lib/child';
import { explainHotPaths, type ExplainResult } from './lib/explain';
import { runImport, type ImportResult } from './lib/import';
import { runLoad, type LoadRequest, type LoadResult } from './lib/load';
import { startThrowawayPostgres, type ThrowawayPostgres } from './lib/postgres';
import { cpuCores, loadAverage, sampleProcess, MB } from './lib/proc';
import { entraUserBody, seedGroup, seededIds, seededUserName, seedUsers } from './lib/seed';
import { renderMarkdown, evaluateTargets } from './lib/report';
import { serviceLayerCost } from './lib/js-cost';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const int = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const list = (name: string, def: string) =>
  (process.env[name] ?? def)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const cfg = {
  durationSeconds: int('BENCH_DURATION', 10),
  warmupSeconds: int('BENCH_WARMUP', 2),
  connections: int('BENCH_CONNECTIONS', 10),
  scales: list('BENCH_SCALES', '10000,100000').map(Number),
  scenarios: list('BENCH_SCENARIOS', 'filter,getById,list,post,put,patchAttr,patchGroup'),
  phases: list('BENCH_PHASES', 'jscost,scim,explain,embedded,import'),
  importUsers: int('BENCH_IMPORT_USERS', 10_000),
  importConnections: int('BENCH_IMPORT_CONNECTIONS', 6),
  importTimeoutMinutes: int('BENCH_IMPORT_TIMEOUT_MIN', 20),
  settleSeconds: int('BENCH_SETTLE_SECONDS', 30),
  groupMembers: 10_000,
  groupChurnPool: 2_000,
  pgFsync: process.env.BENCH_PG_FSYNC === 'on',
  workerTuning: process.env.BENCH_WORKER_TUNING ?? null,
  resultsFile: process.env.BENCH_RESULTS ?? path.join(__dirname, 'results', 'latest.json'),
};

const t0 = Date.now();
const runTag = t0.toString(36);
/** Tenants of this run (unique, so a DATABASE_URL that already holds a run is fine). */
const BENCH_TENANT = `bench-${runTag}`;
const IMPORT_TENANT = `imp-${runTag}`;
const log = (msg: string) => process.stderr.write(`[bench +${((Date.now() - t0) / 1000).toFixed(0)}s] ${msg}\n`);

const cleanups: (() => Promise<void>)[] = [];
async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c().catch((err) => log(`cleanup: ${(err as Error).message}`));
}
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));

function machineInfo() {
  const cpu = os.cpus();
  return {
    nproc: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memTotalGiB: round(os.totalmem() / 1024 ** 3, 1),
    memFreeGiB: round(os.freemem() / 1024 ** 3, 1),
    load: loadAverage(),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

async function tenantWithToken(db: Queryable, tenantId: string): Promise<string> {
  await createTenant(db, tenantId, tenantId);
  // The demo tenant's configuration with zero propagation windows and no seat limits: the demo's
  // limits (500 + 200 seats) would leave all but 500 of 10,000 users waiting for a seat.
  const config = demoTenantConfig({ tagPropagation: '0s', rolePropagation: '0s', settle: '0s' });
  config.organisations = (config.organisations ?? []).map(({ seatLimit: _ignored, ...o }) => o);
  await saveConfigVersion(db, tenantId, config, 'bench');
  return (await createToken(db, tenantId, 'bench')).token;
}

/** Waits until the outbox has nothing undelivered (the relay caught up), bounded. */
async function drainOutbox(db: Queryable, timeoutMs: number): Promise<{ pendingBefore: number; seconds: number; pendingAfter: number; rowsPerSecond: number }> {
  const start = Date.now();
  const before = await outboxStats(db);
  let now = before;
  while (now.pending > 0 && Date.now() - start < timeoutMs) {
    await new Promise((r) => setTimeout(r, 250));
    now = await outboxStats(db);
  }
  const seconds = (Date.now() - start) / 1000;
  return {
    pendingBefore: before.pending,
    seconds: round(seconds, 1),
    pendingAfter: now.pending,
    rowsPerSecond: seconds > 0 ? round((before.pending - now.pending) / seconds, 0) : 0,
  };
}

interface ScenarioContext {
  baseUrl: string;
  token: string;
  db: Queryable;
  ids: string[];
  groupId: string;
  runTag: string;
}

function scenarioRequests(name: string, ctx: ScenarioContext): (() => LoadRequest) | undefined {
  const n = ctx.ids.length;
  const randomN = () => 1 + Math.floor(Math.random() * n);
  let counter = 0;
  switch (name) {
    case 'filter':
      return () => ({ method: 'GET', path: `/Users?filter=${encodeURIComponent(`userName eq "${seededUserName(randomN())}"`)}` });
    case 'getById':
      return () => ({ method: 'GET', path: `/Users/${ctx.ids[randomN() - 1]}` });
    case 'list':
      return () => ({ method: 'GET', path: `/Users?startIndex=${1 + Math.floor(Math.random() * Math.max(1, n - 100))}&count=100` });
    case 'post':
      return () => {
        const i = ++counter;
        const userName = `bench.post.${ctx.runTag}.${i}@example.org`;
        return { method: 'POST', path: '/Users', body: JSON.stringify(entraUserBody(userName, 1_000_000 + i, 'Registered Nurse')) };
      };
    case 'put':
      return () => {
        const k = randomN();
        return {
          method: 'PUT',
          path: `/Users/${ctx.ids[k - 1]}`,
          body: JSON.stringify(entraUserBody(seededUserName(k), k, `Title ${ctx.runTag} ${++counter}`)),
        };
      };
    case 'patchAttr':
      return () => ({
        method: 'PATCH',
        path: `/Users/${ctx.ids[randomN() - 1]}`,
        body: JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'title', value: `Title ${ctx.runTag} ${++counter}` }] }),
      });
    case 'patchGroup':
      // Entra's form. Members 1..P of the group are removed one per request, then added back, and so on:
      // every request is a real change and the group stays between 8,000 and 10,000 members.
      return () => {
        const i = counter++;
        const member = ctx.ids[i % cfg.groupChurnPool];
        const op = Math.floor(i / cfg.groupChurnPool) % 2 === 0 ? 'Remove' : 'Add';
        return {
          method: 'PATCH',
          path: `/Groups/${ctx.groupId}`,
          body: JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op, path: 'members', value: [{ value: member }] }] }),
        };
      };
    default:
      return undefined;
  }
}

const WRITES = new Set(['post', 'put', 'patchAttr', 'patchGroup']);

interface ScenarioResult extends LoadResult {
  scale: number;
  usersInTenant: number;
  serverCpuCores: number;
  postgresCpuCores: number;
  /** CPU milliseconds per request: SCIM server process, PostgreSQL (all backends). */
  serverCpuMsPerRequest: number;
  postgresCpuMsPerRequest: number;
  temporalCpuCores: number;
  benchCpuCores: number;
  load1: number;
  outboxAfterRun?: { pendingBefore: number; seconds: number; pendingAfter: number; rowsPerSecond: number };
}

async function runScenarios(
  scale: number,
  ctx: ScenarioContext,
  pids: { server: number; postgres?: number; temporal: number },
  dbKind: string,
): Promise<ScenarioResult[]> {
  const out: ScenarioResult[] = [];
  for (const name of cfg.scenarios) {
    const next = scenarioRequests(name, ctx);
    if (!next) throw new Error(`unknown scenario ${name}`);
    if (cfg.warmupSeconds > 0)
      await runLoad({ name, baseUrl: ctx.baseUrl, token: ctx.token, connections: cfg.connections, durationSeconds: cfg.warmupSeconds, next });
    if (WRITES.has(name)) await drainOutbox(ctx.db, 120_000);
    const usersInTenant = (await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM scim_users WHERE tenant_id = $1', [BENCH_TENANT])).rows[0].n;
    const before = {
      s: sampleProcess(pids.server),
      p: pids.postgres ? sampleProcess(pids.postgres, true) : undefined,
      t: sampleProcess(pids.temporal),
      b: sampleProcess(process.pid),
    };
    const r = await runLoad({ name, baseUrl: ctx.baseUrl, token: ctx.token, connections: cfg.connections, durationSeconds: cfg.durationSeconds, next });
    const after = {
      s: sampleProcess(pids.server),
      p: pids.postgres ? sampleProcess(pids.postgres, true) : undefined,
      t: sampleProcess(pids.temporal),
      b: sampleProcess(process.pid),
    };
    const result: ScenarioResult = {
      ...r,
      scale,
      usersInTenant,
      serverCpuCores: round(cpuCores(before.s, after.s)),
      postgresCpuCores: before.p && after.p ? round(cpuCores(before.p, after.p)) : 0,
      temporalCpuCores: round(cpuCores(before.t, after.t)),
      serverCpuMsPerRequest: r.requests ? round(((after.s.cpuSeconds - before.s.cpuSeconds) * 1000) / r.requests, 3) : 0,
      postgresCpuMsPerRequest: r.requests && before.p && after.p ? round(((after.p.cpuSeconds - before.p.cpuSeconds) * 1000) / r.requests, 3) : 0,
      benchCpuCores: round(cpuCores(before.b, after.b)),
      load1: loadAverage()[0],
    };
    if (WRITES.has(name)) result.outboxAfterRun = await drainOutbox(ctx.db, 120_000);
    if (name === 'patchGroup') {
      // Put the churned members back, so every scale starts from the same 10,000-member group.
      await ctx.db.query(
        `INSERT INTO scim_group_members (tenant_id, group_id, member_id, member_type) SELECT $3, $1::uuid, m::uuid, 'User' FROM unnest($2::text[]) AS m ON CONFLICT DO NOTHING`,
        [ctx.groupId, ctx.ids.slice(0, cfg.groupChurnPool), BENCH_TENANT],
      );
    }
    if (r.non2xx > 0) log(`  ${name}: status codes ${JSON.stringify(r.statusCodes)}`);
    log(
      `  ${dbKind} ${scale.toLocaleString('en')} ${name}: ${r.reqPerSec} req/s p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms errors ${r.errors} non-2xx ${r.non2xx}` +
        ` (cpu ms/request: server ${result.serverCpuMsPerRequest}, pg ${result.postgresCpuMsPerRequest})` +
        ` (cpu: server ${result.serverCpuCores}, pg ${result.postgresCpuCores}, temporal ${result.temporalCpuCores}, bench ${result.benchCpuCores})`,
    );
    out.push(result);
  }
  return out;
}

async function historyStats(client: Client, tenantId: string, userIds: string[]) {
  const counts: number[] = [];
  const types: Record<string, number> = {};
  let bytes = 0;
  for (const id of userIds) {
    const history = await client.workflow.getHandle(userWorkflowId(tenantId, id)).fetchHistory();
    const events = history.events ?? [];
    counts.push(events.length);
    bytes += Buffer.byteLength(JSON.stringify(history));
    for (const e of events) {
      const type = String(e.eventType ?? 'unknown');
      types[type] = (types[type] ?? 0) + 1;
    }
  }
  const k = Math.max(1, userIds.length);
  return {
    sampledWorkflows: userIds.length,
    eventsPerOnboarding: round(counts.reduce((a, b) => a + b, 0) / k, 1),
    historyJsonBytesPerOnboarding: Math.round(bytes / k),
    eventTypesPerOnboarding: Object.fromEntries(Object.entries(types).map(([t, c]) => [t, round(c / k, 1)])),
  };
}

/** What PostgreSQL ran during the import (pg_stat_statements): statements per user and where the time went. */
async function statementStats(db: Db, users: number) {
  const rows = (
    await db.query<{ query: string; calls: number; total_ms: number; mean_ms: number; rows: number }>(
      `SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, calls::float8 AS calls, total_exec_time AS total_ms, mean_exec_time AS mean_ms, rows::float8 AS rows
       FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY total_exec_time DESC`,
    )
  ).rows.filter((r) => !/pg_stat_statements|EXPLAIN/.test(r.query));
  const k = Math.max(1, users);
  const calls = rows.reduce((a, r) => a + r.calls, 0);
  const total = rows.reduce((a, r) => a + r.total_ms, 0);
  return {
    statementsPerUser: round(calls / k, 1),
    executionMsPerUser: round(total / k, 2),
    top: rows.slice(0, 15).map((r) => ({
      query: r.query.slice(0, 160),
      callsPerUser: round(r.calls / k, 2),
      meanMs: round(r.mean_ms, 3),
      shareOfTime: round(r.total_ms / Math.max(total, 1e-9), 3),
    })),
    /** Every statement run at least once per 20 users, most frequent first: what an onboarding is made of. */
    byCalls: rows
      .filter((r) => r.calls / k >= 0.05)
      .sort((a, b) => b.calls - a.calls)
      .map((r) => ({ query: r.query.slice(0, 200), callsPerUser: round(r.calls / k, 2) })),
  };
}

async function costModel(db: Db, tenantId: string, users: number) {
  const tables = [
    'scim_users',
    'provisioning_states',
    'outbox',
    'app_users',
    'app_memberships',
    'app_licences',
    'app_provider_accounts',
    'app_user_settings',
    'invitations',
    'mail_deliveries',
    'audit_log',
    'scim_group_members',
    'scim_groups',
  ];
  const rowsPerUser: Record<string, number> = {};
  const bytesPerRow: Record<string, number> = {};
  const totalMB: Record<string, number> = {};
  for (const t of tables) {
    const n = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} WHERE tenant_id = $1`, [tenantId])).rows[0].n;
    rowsPerUser[t] = round(n / Math.max(1, users), 2);
    const all = (await db.query<{ n: number; bytes: number }>(`SELECT (SELECT count(*) FROM ${t})::int AS n, pg_total_relation_size('${t}')::float8 AS bytes`))
      .rows[0];
    bytesPerRow[t] = all.n > 0 ? Math.round(all.bytes / all.n) : 0;
    totalMB[t] = round(all.bytes / MB, 1);
  }
  const auditActions = (
    await db.query<{ action: string; n: number }>(`SELECT action, count(*)::int AS n FROM audit_log WHERE tenant_id = $1 GROUP BY action ORDER BY action`, [
      tenantId,
    ])
  ).rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.action]: round(r.n / Math.max(1, users), 2) }), {});
  const dbSizeMB = round((await db.query<{ b: number }>('SELECT pg_database_size(current_database())::float8 AS b')).rows[0].b / MB, 1);
  return { rowsPerUser, bytesPerRow, tableTotalMB: totalMB, auditEntriesPerUserByAction: auditActions, databaseSizeMB: dbSizeMB };
}

async function main(): Promise<void> {
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: path.join(__dirname, '..'), encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  const code = { commit: git(['rev-parse', '--short', 'HEAD']), uncommittedFiles: git(['status', '--porcelain']).split('\n').filter(Boolean).length };
  const results: Record<string, unknown> = { startedAt: new Date().toISOString(), code, config: cfg, machine: machineInfo() };
  const scim: ScenarioResult[] = [];
  results.scim = scim;
  log(`machine: ${os.cpus().length} cores, ${round(os.totalmem() / 1024 ** 3, 1)} GiB, load ${loadAverage().join(' ')}`);

  if (cfg.phases.includes('jscost')) {
    log('CPU of the SCIM service layer per call (instant database)');
    results.serviceLayerCpuMicros = await serviceLayerCost();
    for (const [k, v] of Object.entries(results.serviceLayerCpuMicros as Record<string, number>)) log(`  ${k}: ${v} µs`);
  }

  // --- services -----------------------------------------------------------------------------
  let pg: ThrowawayPostgres | undefined;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    pg = await startThrowawayPostgres({ fsync: cfg.pgFsync, log });
    cleanups.push(() => (pg as ThrowawayPostgres).stop());
    databaseUrl = pg.url;
    results.postgres = { mode: 'throwaway cluster (initdb)', version: pg.version, settings: pg.settings };
  } else {
    results.postgres = { mode: 'DATABASE_URL', note: 'CPU of PostgreSQL is not sampled (not a child of the bench)' };
    log('PostgreSQL from DATABASE_URL');
  }
  const db = await openDatabase({ databaseUrl, poolSize: 4 });
  cleanups.push(() => db.close());

  const cliPath = findOrInstallTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH, log });
  let temporalVersion = 'unknown';
  try {
    temporalVersion = execFileSync(cliPath, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // keep unknown
  }
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-bench-'));
  cleanups.push(async () => fs.rmSync(workDir, { recursive: true, force: true }));
  const startTemporal = async (label: string): Promise<DevServer> => {
    const d = await startDevServer({ cliPath, port: await freePort(), namespace: 'default', logFile: path.join(workDir, `temporal-${label}.log`) });
    log(`Temporal dev server (${label}) ${d.address}`);
    return d;
  };
  let temporal = await startTemporal('scim');
  let stopTemporal = async () => temporal.stop();
  cleanups.push(() => stopTemporal());
  results.temporal = { cli: cliPath, version: temporalVersion, mode: 'temporal server start-dev --headless, in memory' };

  const smtp: SmtpCatcher = await startSmtpCatcher();
  cleanups.push(() => smtp.close());

  const pgPid = pg?.pid;
  // Payloads encrypted as in production with PAYLOAD_KEYS (BENCH_PAYLOAD_ENCRYPTION=off: in clear).
  const payloadKeys = process.env.BENCH_PAYLOAD_ENCRYPTION === 'off' ? '' : formatPayloadKeys([generatePayloadKey('bench')]);
  results.payloadEncryption = payloadKeys !== '';
  const serverEnv = (taskQueue: string, extra: Record<string, string> = {}) => ({
    BENCH_PAYLOAD_KEYS: payloadKeys,
    BENCH_DATABASE_URL: databaseUrl as string,
    BENCH_TEMPORAL_ADDRESS: temporal.address,
    BENCH_TASK_QUEUE: taskQueue,
    ...extra,
  });

  // --- 1. SCIM API throughput --------------------------------------------------------------
  if (cfg.phases.includes('scim') || cfg.phases.includes('explain')) {
    const token = await tenantWithToken(db, BENCH_TENANT);
    // No worker polls this task queue: the relay delivers (signal-with-start), nothing onboards, so
    // these figures are the API's and the relay's, not the onboarding's.
    const server = await startChild('server-process.ts', serverEnv('bench-unpolled'));
    cleanups.push(() => server.stop());
    const baseUrl = `${server.ready.url as string}/scim/v2`;
    let seeded = 0;
    let groupId = '';
    for (const scale of cfg.scales) {
      const s0 = Date.now();
      seeded += await seedUsers(db, BENCH_TENANT, seeded + 1, scale);
      if (!groupId) groupId = await seedGroup(db, BENCH_TENANT, cfg.groupMembers);
      await db.exec('VACUUM ANALYZE');
      log(`seeded ${scale.toLocaleString('en')} users in ${((Date.now() - s0) / 1000).toFixed(1)} s`);
      if (!results.seeding) results.seeding = [];
      (results.seeding as unknown[]).push({ scale, seconds: round((Date.now() - s0) / 1000, 1) });
      const ids = await seededIds(db, BENCH_TENANT);
      const ctx: ScenarioContext = { baseUrl, token, db, ids, groupId, runTag: `${scale}-${Date.now().toString(36)}` };
      if (cfg.phases.includes('scim'))
        scim.push(...(await runScenarios(scale, ctx, { server: server.pid, postgres: pgPid, temporal: temporal.process.pid as number }, 'pg')));
      if (scale === cfg.scales[cfg.scales.length - 1] && cfg.phases.includes('explain')) {
        log('EXPLAIN ANALYZE of the hot statements');
        await db.exec('ANALYZE');
        const sampleId = ids[Math.floor(ids.length / 2)];
        const explain: ExplainResult[] = await explainHotPaths(db, {
          tenantId: BENCH_TENANT,
          userCount: ids.length,
          sampleId,
          otherId: ids[ids.length - 1],
          groupId,
          memberId: ids[cfg.groupChurnPool + 10],
        });
        results.explain = explain;
        for (const e of explain) log(`  ${e.name}: ${e.executionMs} ms`);
      }
    }
    results.serverMemoryAfterScim = await server.memory();
    await server.stop();
  }

  // --- 3. embedded PostgreSQL server (all-in-one mode) -------------------------------------------
  if (cfg.phases.includes('embedded')) {
    log('embedded PostgreSQL (all-in-one mode): seeding 10,000 users');
    const embeddedDb = await startEmbeddedPostgres({ ...embeddedLayout(path.join(workDir, 'embedded')), port: await freePort(), log });
    cleanups.push(() => embeddedDb.stop());
    const server = await startChild('server-process.ts', serverEnv('bench-unpolled-embedded', { BENCH_DATABASE_URL: embeddedDb.url }));
    cleanups.push(() => server.stop());
    const token = await tenantWithToken(server.db, BENCH_TENANT);
    const s0 = Date.now();
    await seedUsers(server.db, BENCH_TENANT, 1, 10_000, 5_000);
    const groupId = await seedGroup(server.db, BENCH_TENANT, cfg.groupMembers);
    await server.db.query('VACUUM ANALYZE');
    const seedSeconds = round((Date.now() - s0) / 1000, 1);
    const ids = await seededIds(server.db, BENCH_TENANT);
    const ctx: ScenarioContext = {
      baseUrl: `${server.ready.url as string}/scim/v2`,
      token,
      db: server.db,
      ids,
      groupId,
      runTag: `emb-${Date.now().toString(36)}`,
    };
    const saved = cfg.scenarios;
    cfg.scenarios = ['filter', 'getById', 'post', 'patchAttr'].filter((s) => saved.includes(s));
    const embedded = await runScenarios(10_000, ctx, { server: server.pid, postgres: embeddedDb.pid, temporal: temporal.process.pid as number }, 'embedded');
    cfg.scenarios = saved;
    results.embedded = { seedSeconds, scenarios: embedded, serverMemory: await server.memory(), rssMB: round(sampleProcess(server.pid).rssBytes / MB, 1) };
    await server.stop();
    await embeddedDb.stop();
  }

  // --- 4. import and onboarding ----------------------------------------------------------------
  if (cfg.phases.includes('import')) {
    // Changes left undelivered by the API runs above must not reach the import's worker.
    const skipped = await db.query(`UPDATE outbox SET delivered_at = now(), last_error = 'bench: not relayed' WHERE delivered_at IS NULL AND tenant_id = $1`, [
      BENCH_TENANT,
    ]);
    if (skipped.rowCount) log(`marked ${skipped.rowCount} undelivered outbox rows of the API runs as delivered`);
    // A fresh dev server: the API runs above left thousands of workflows on an unpolled queue.
    await temporal.stop();
    temporal = await startTemporal('import');
    stopTemporal = async () => temporal.stop();

    const tenantId = IMPORT_TENANT;
    const token = await tenantWithToken(db, tenantId);
    const server = await startChild('server-process.ts', serverEnv('bench-import'));
    cleanups.push(() => server.stop());
    const w0 = Date.now();
    const worker: BenchChild = await startChild('worker-process.ts', {
      BENCH_PAYLOAD_KEYS: payloadKeys,
      BENCH_DATABASE_URL: databaseUrl,
      BENCH_TEMPORAL_ADDRESS: temporal.address,
      BENCH_TASK_QUEUE: 'bench-import',
      BENCH_SMTP_URL: smtp.url,
      BENCH_PUBLIC_URL: server.ready.url as string,
      // As the Docker image runs it (Dockerfile): two malloc arenas keep the burst's memory from staying resident.
      MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
    });
    cleanups.push(() => worker.stop());
    const workerStartSeconds = round((Date.now() - w0) / 1000, 1);
    await new Promise((r) => setTimeout(r, 5_000));
    const idle = sampleProcess(worker.pid);
    const workerIdle = { rssMB: round(idle.rssBytes / MB, 1), heap: await worker.memory() };
    log(`worker ready in ${workerStartSeconds} s (idle RSS ${workerIdle.rssMB} MB, tuning: ${JSON.stringify(worker.ready.tuning)})`);
    log(`import: ${cfg.importUsers.toLocaleString('en')} users, ${cfg.importConnections} connections, timeout ${cfg.importTimeoutMinutes} min`);

    const statements = await db
      .query(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`)
      .then(() => db.query('SELECT pg_stat_statements_reset()'))
      .then(() => true)
      .catch(() => false);
    const imp: ImportResult = await runImport({
      db,
      baseUrl: `${server.ready.url as string}/scim/v2`,
      token,
      tenantId,
      users: cfg.importUsers,
      connections: cfg.importConnections,
      timeoutMs: cfg.importTimeoutMinutes * 60_000,
      sampleEveryMs: 2_000,
      mails: smtp.messages,
      processes: {
        worker: { pid: worker.pid, withChildren: false },
        server: { pid: server.pid, withChildren: false },
        temporal: { pid: temporal.process.pid as number, withChildren: false },
        ...(pgPid ? { postgres: { pid: pgPid, withChildren: true } } : {}),
        bench: { pid: process.pid, withChildren: false },
      },
      log,
    });
    results.import = imp;
    if (statements) results.importStatements = await statementStats(db, imp.accepted);
    log(
      `import: accepted ${imp.accepted} in ${imp.acceptSeconds} s (${imp.acceptedPerSecond}/s); onboarded ${imp.onboarded} in ${imp.onboardSeconds ?? 'n/a'} s`,
    );

    // --- 5. the worker with the users waiting --------------------------------------------------
    log(`letting the worker settle for ${cfg.settleSeconds} s`);
    await new Promise((r) => setTimeout(r, cfg.settleSeconds * 1000));
    const a = sampleProcess(worker.pid);
    const ta = sampleProcess(temporal.process.pid as number);
    await new Promise((r) => setTimeout(r, 15_000));
    const b = sampleProcess(worker.pid);
    const tb = sampleProcess(temporal.process.pid as number);
    const heapBeforeGc = await worker.memory();
    const heapAfterGc = await worker.memory(true);
    await new Promise((r) => setTimeout(r, 2_000));
    const afterGc = sampleProcess(worker.pid);
    const waiting = (
      await db.query<{ state: string; n: number }>(`SELECT state, count(*)::int AS n FROM provisioning_states WHERE tenant_id = $1 GROUP BY state`, [tenantId])
    ).rows;
    results.worker = {
      startSeconds: workerStartSeconds,
      tuning: worker.ready.tuning,
      idleBeforeImport: workerIdle,
      usersWaiting: waiting.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.state]: r.n }), {}),
      settled: {
        rssMB: round(b.rssBytes / MB, 1),
        peakRssMB: round(b.hwmBytes / MB, 1),
        cpuCores: round(cpuCores(a, b), 3),
        heap: heapBeforeGc,
        /** After a forced full GC of the main thread (workflow isolates and the Rust core are not collected by it). */
        rssAfterGcMB: round(afterGc.rssBytes / MB, 1),
        heapAfterGc,
      },
      temporalDevServer: { rssMB: round(tb.rssBytes / MB, 1), peakRssMB: round(tb.hwmBytes / MB, 1), idleCpuCores: round(cpuCores(ta, tb), 3) },
      cpuSecondsDuringImport: imp.cpuSeconds.worker,
    };
    log(
      `worker with ${imp.invited} users waiting: RSS ${round(b.rssBytes / MB, 1)} MB (peak ${round(b.hwmBytes / MB, 1)} MB), CPU ${round(cpuCores(a, b), 3)} cores`,
    );

    // --- cost model ------------------------------------------------------------------------
    const client = await connectClient({ address: temporal.address, namespace: 'default' });
    const sample = (
      await db.query<{ id: string }>(
        `SELECT user_id::text AS id FROM provisioning_states WHERE tenant_id = $1 AND state = 'invited' ORDER BY random() LIMIT 5`,
        [tenantId],
      )
    ).rows.map((r) => r.id);
    results.costModel = { ...(await costModel(db, tenantId, imp.accepted)), temporal: await historyStats(client, tenantId, sample) };
    await client.connection.close();
    await worker.stop();
    await server.stop();
  }

  results.machineAfter = machineInfo();
  results.totalSeconds = round((Date.now() - t0) / 1000, 0);
  results.targets = evaluateTargets(results, cfg);
  fs.mkdirSync(path.dirname(cfg.resultsFile), { recursive: true });
  fs.writeFileSync(cfg.resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  await cleanup();
  process.stdout.write(renderMarkdown(results));
  log(`results in ${path.relative(process.cwd(), cfg.resultsFile)}; total ${results.totalSeconds} s`);
}

main().catch(async (err) => {
  log(`failed: ${(err as Error).stack ?? err}`);
  await cleanup();
  process.exit(1);
});
