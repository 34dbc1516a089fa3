/**
 * `npm run bench:tenants-rate`: N tenants (default 4) each sending R requests/s (default 25, what
 * the Entra app gallery asks an application to sustain per tenant) for D seconds (default 120),
 * with the onboarding of the users they create running beside, on a fresh `npm start` (real
 * Temporal dev server, embedded PostgreSQL, SMTP catcher, the SCIM server and the worker as
 * separate processes, the worker and Temporal at ONBOARDING_NICE as `npm start` runs them).
 *
 * Open loop: each tenant's requests are scheduled at a fixed arrival rate (one every 1000/R ms,
 * the tenants' schedules offset from each other) and sent at their time whatever the answers
 * before them did, so a slow server shows as latency, not as a lower rate. Latency is measured
 * from the request's scheduled time to the end of its answer's body (a late send counts
 * against the server, no coordinated omission); the send lag of the load generator is
 * reported beside it.
 *
 * The mix (per tenant, exact proportions: every 100 requests are a shuffled deck of these) is
 * shaped like Entra ID's provisioning cycle; see MIX below. Before the measured window each
 * tenant gets SEED_ROWS users written straight into the tables (a tenant of realistic size for
 * the lookups and list pages; no workflows), SEED_USERS users created through the API and
 * onboarded (the users the PATCHes change and deactivate), and 3 groups. Then WARMUP seconds
 * at the full rate, not counted, then the measured window.
 *
 * Recorded per tenant and overall: requests sent and answered, achieved rate, latency
 * p50/p95/p99/max (and per operation), status counts (5xx and 429 called out), CPU ms per
 * request of each process from /proc (SCIM server, worker, Temporal, PostgreSQL, `npm start`
 * itself with the SMTP catcher, the load generator), the machine's load average, and the users
 * created in the window that were onboarded (invitation sent) by its end and after it.
 *
 * The tenants: the demo tenant's configuration with propagation and settling windows at 0 s,
 * without seat limits (every created user onboards) and with the mass-deprovisioning guard's
 * threshold raised (the mix deactivates ~60 users per tenant in two minutes; past 25 an hour the
 * guard would hold them for a Super User, by design, which is not what this measures).
 *
 * Knobs (flag, or environment variable):
 *   --tenants      BENCH_TENANTS_RATE_TENANTS      4
 *   --rate         BENCH_TENANTS_RATE_RPS          25      requests/s per tenant
 *   --duration     BENCH_TENANTS_RATE_DURATION_S   120     measured seconds
 *   --warmup       BENCH_TENANTS_RATE_WARMUP_S     10
 *   --seed-users   BENCH_TENANTS_RATE_SEED_USERS   100     per tenant, through the API, onboarded before the window
 *   --seed-rows    BENCH_TENANTS_RATE_SEED_ROWS    5000    per tenant, straight into the tables
 *   --drain        BENCH_TENANTS_RATE_DRAIN_S      180     after the window, wait at most this long for the window's users to be invited
 *   --auth         BENCH_TENANTS_RATE_AUTH         bearer  or `oauth`: an OAuth client per tenant, access tokens from POST /oauth/token
 *   --mix          BENCH_TENANTS_RATE_MIX          MIX below; e.g. "lookupUserName=90,create=10" (whole percentages adding up to 100)
 *   --results      BENCH_TENANTS_RATE_RESULTS      bench/results/tenants-rate-<date>.json (-smoke.json when shorter than 120 s)
 *   BENCH_TENANTS_RATE_REPO: another checkout's `npm start`, for a before/after; BENCH_TENANTS_RATE_COMMIT names
 *   the code when the checkout has no .git (an export by `git archive`).
 * A smoke run: `npm run bench:tenants-rate -- --duration 15 --warmup 3 --seed-users 20 --drain 60`.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openDatabase, type Db } from '../common/db';
import { outboxStats } from '../common/repositories/outbox';
import { createOAuthClient, tokenUrlOf } from '../common/repositories/oauth-clients';
import { createTenant, saveConfigVersion } from '../common/repositories/tenants';
import { createToken } from '../common/repositories/tokens';
import { demoTenantConfig } from '../dev/demo-tenant';
import { startFreshStack, type FreshStack } from './lib/fresh-stack';
import { percentile } from './lib/load';
import { cpuByRole, loadAverage } from './lib/proc';
import { seededIds, seededUserName, seedUsers } from './lib/seed';

const ROOT = process.env.BENCH_TENANTS_RATE_REPO ?? path.join(__dirname, '..');
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const REQUEST_TIMEOUT_MS = 30_000;

const { values: flags } = parseArgs({
  options: {
    tenants: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    'seed-users': { type: 'string' },
    'seed-rows': { type: 'string' },
    drain: { type: 'string' },
    auth: { type: 'string' },
    results: { type: 'string' },
    mix: { type: 'string' },
  },
});
const num = (flag: string | undefined, env: string, def: number): number => {
  const raw = flag ?? process.env[env];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${env} (or its flag) must be a number ≥ 0, got "${raw}"`);
  return n;
};
const cfg = {
  tenants: Math.max(1, Math.round(num(flags.tenants, 'BENCH_TENANTS_RATE_TENANTS', 4))),
  ratePerTenant: num(flags.rate, 'BENCH_TENANTS_RATE_RPS', 25),
  durationSeconds: num(flags.duration, 'BENCH_TENANTS_RATE_DURATION_S', 120),
  warmupSeconds: num(flags.warmup, 'BENCH_TENANTS_RATE_WARMUP_S', 10),
  seedUsers: Math.round(num(flags['seed-users'], 'BENCH_TENANTS_RATE_SEED_USERS', 100)),
  seedRows: Math.round(num(flags['seed-rows'], 'BENCH_TENANTS_RATE_SEED_ROWS', 5000)),
  drainSeconds: num(flags.drain, 'BENCH_TENANTS_RATE_DRAIN_S', 180),
  auth: (flags.auth ?? process.env.BENCH_TENANTS_RATE_AUTH ?? 'bearer') as 'bearer' | 'oauth',
};
if (cfg.auth !== 'bearer' && cfg.auth !== 'oauth') throw new Error(`--auth must be bearer or oauth, got "${String(cfg.auth)}"`);
if (cfg.ratePerTenant <= 0 || cfg.durationSeconds <= 0) throw new Error('--rate and --duration must be above 0');
const resultsPath =
  flags.results ??
  process.env.BENCH_TENANTS_RATE_RESULTS ??
  path.join(__dirname, 'results', `tenants-rate-${new Date().toISOString().slice(0, 10)}${cfg.durationSeconds < 120 ? '-smoke' : ''}.json`);

const t0 = Date.now();
const log = (msg: string) => process.stderr.write(`[bench:tenants-rate +${((Date.now() - t0) / 1000).toFixed(0)}s] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

// ---------------------------------------------------------------------------------------------
// The mix

type Op = 'lookupUserName' | 'lookupExternalId' | 'create' | 'patchAttrs' | 'patchActive' | 'patchGroup' | 'getById' | 'list';

/** Shares in percent (they add up to 100), and what each sends. */
const MIX: { op: Op; percent: number; request: string }[] = [
  {
    op: 'lookupUserName',
    percent: 45,
    request:
      'GET /Users?filter=userName eq "…": 2 in 5 a user created through the API, 2 in 5 a seeded user, 1 in 5 the next user to be created (200, no result)',
  },
  { op: 'lookupExternalId', percent: 15, request: 'GET /Users?filter=externalId eq "…": half API-created users, half seeded users' },
  { op: 'create', percent: 10, request: 'POST /Users, an Entra-shaped user (core + enterprise extension): starts an onboarding workflow' },
  {
    op: 'patchAttrs',
    percent: 10,
    request: 'PATCH /Users/{id}, Entra form: Replace title, enterprise department and name.givenName of a user created through the API',
  },
  {
    op: 'patchActive',
    percent: 4,
    request: 'PATCH /Users/{id}, Entra form: Replace active "False" on an onboarded user, or "True" on the one deactivated longest ago (alternately)',
  },
  {
    op: 'patchGroup',
    percent: 5,
    request: 'PATCH /Groups/{id}, Entra form: Add 1-3 members (users created through the API, not yet in that group) to one of 3 groups',
  },
  { op: 'getById', percent: 6, request: 'GET /Users/{id}: half API-created users, half seeded users' },
  { op: 'list', percent: 5, request: 'GET /Users?startIndex=<random over the tenant>&count=100' },
];
// --mix / BENCH_TENANTS_RATE_MIX, e.g. "lookupUserName=90,create=10": other shares (adding up to 100) to
// find which request kind costs what; the ones not named get 0.
const mixOverride = flags.mix ?? process.env.BENCH_TENANTS_RATE_MIX;
if (mixOverride) {
  const shares = new Map(mixOverride.split(',').map((kv) => [kv.split('=')[0].trim(), Number(kv.split('=')[1])] as const));
  for (const name of shares.keys()) if (!MIX.some((m) => m.op === name)) throw new Error(`--mix: unknown operation "${name}"`);
  for (const m of MIX) m.percent = shares.get(m.op) ?? 0;
}
if (MIX.reduce((s, m) => s + m.percent, 0) !== 100 || MIX.some((m) => !Number.isInteger(m.percent) || m.percent < 0))
  throw new Error('the mix must be whole percentages adding up to 100');

/** A small seeded PRNG (mulberry32): the same sequence of choices in every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every 100 requests: the mix's deck, shuffled. */
function deckOf(random: () => number): () => Op {
  let deck: Op[] = [];
  return () => {
    if (deck.length === 0) {
      deck = MIX.flatMap((m) => Array.from({ length: m.percent }, () => m.op));
      for (let i = deck.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [deck[i], deck[j]] = [deck[j], deck[i]];
      }
    }
    return deck.pop() as Op;
  };
}

// ---------------------------------------------------------------------------------------------
// Tenants

interface ApiUser {
  id: string;
  userName: string;
  externalId: string;
  seed: boolean;
}

interface Tenant {
  id: string;
  token: string;
  random: () => number;
  next: () => Op;
  /** Users created through the API, in order. */
  users: ApiUser[];
  /** Seed users (onboarded before the window) that are active: the ones deactivated next. */
  activeSeeds: string[];
  /** Deactivated seed users, the longest ago first. */
  deactivated: string[];
  /** Ids of the rows seeded straight into the tables; their userName is seededUserName(n). */
  seededIds: string[];
  groups: { id: string; members: Set<string> }[];
  serial: number;
  runTag: string;
  /** Users created in the measured window: id and when the 201 came (ms since epoch). */
  createdInWindow: { id: string; at: number }[];
  /** Whether the next active PATCH deactivates (alternates). */
  deactivateNext: boolean;
}

function newUserBody(t: Tenant, serial: number): Record<string, unknown> {
  const userName = `${t.runTag}.${t.id}.${serial}@example.org`;
  const dn = `Rate${serial} ${t.id}`;
  return {
    schemas: [CORE_USER, ENTERPRISE],
    userName,
    externalId: `${t.runTag}-${t.id}-${serial}`,
    active: true,
    displayName: dn,
    title: 'Registered Nurse',
    name: { formatted: dn, givenName: `Rate${serial}`, familyName: t.id },
    emails: [{ primary: true, type: 'work', value: userName }],
    phoneNumbers: [{ primary: true, type: 'mobile', value: `+1 555 ${String(serial % 10_000_000).padStart(7, '0')}` }],
    [ENTERPRISE]: { employeeNumber: `R${serial}`, department: 'Nursing' },
  };
}

const pick = <T>(t: Tenant, xs: T[]): T => xs[Math.floor(t.random() * xs.length)];

interface Built {
  /** The operation sent (a lookup when the one drawn had nothing to work on yet). */
  kind: Op;
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  body?: unknown;
  /** What to do with a 2xx answer's body (learn a new user's id, move a user between lists). */
  onOk?: (body: string) => void;
}

/** The request for `op` in tenant `t` now (falls back to a lookup while the users it needs are not there). */
function build(t: Tenant, op: Op, inWindow: boolean): Built {
  const filter = (expr: string) => `/Users?filter=${encodeURIComponent(expr)}`;
  const seededN = () => 1 + Math.floor(t.random() * t.seededIds.length);
  const apiOrSeeded = (share: number) => t.seededIds.length > 0 && (t.users.length === 0 || t.random() < share);
  switch (op) {
    case 'lookupUserName': {
      const r = t.random();
      if (r < 0.2 || (t.users.length === 0 && t.seededIds.length === 0))
        return { kind: 'lookupUserName', method: 'GET', path: filter(`userName eq "${newUserBody(t, t.serial + 1).userName as string}"`) };
      if (r < 0.6 && t.seededIds.length > 0) return { kind: 'lookupUserName', method: 'GET', path: filter(`userName eq "${seededUserName(seededN())}"`) };
      if (t.users.length === 0) return { kind: 'lookupUserName', method: 'GET', path: filter(`userName eq "${seededUserName(seededN())}"`) };
      return { kind: 'lookupUserName', method: 'GET', path: filter(`userName eq "${pick(t, t.users).userName}"`) };
    }
    case 'lookupExternalId':
      if (apiOrSeeded(0.5)) return { kind: 'lookupExternalId', method: 'GET', path: filter(`externalId eq "ext-${String(seededN()).padStart(8, '0')}"`) };
      if (t.users.length === 0) return build(t, 'lookupUserName', inWindow);
      return { kind: 'lookupExternalId', method: 'GET', path: filter(`externalId eq "${pick(t, t.users).externalId}"`) };
    case 'getById':
      if (apiOrSeeded(0.5)) return { kind: 'getById', method: 'GET', path: `/Users/${t.seededIds[seededN() - 1]}` };
      if (t.users.length === 0) return build(t, 'lookupUserName', inWindow);
      return { kind: 'getById', method: 'GET', path: `/Users/${pick(t, t.users).id}` };
    case 'list': {
      const total = t.seededIds.length + t.users.length;
      return { kind: 'list', method: 'GET', path: `/Users?startIndex=${1 + Math.floor(t.random() * Math.max(1, total))}&count=100` };
    }
    case 'create': {
      t.serial += 1;
      const body = newUserBody(t, t.serial);
      return {
        kind: 'create',
        method: 'POST',
        path: '/Users',
        body,
        onOk: (text) => {
          const id = (JSON.parse(text) as { id: string }).id;
          t.users.push({ id, userName: body.userName as string, externalId: body.externalId as string, seed: false });
          if (inWindow) t.createdInWindow.push({ id, at: Date.now() });
        },
      };
    }
    case 'patchAttrs': {
      if (t.users.length === 0) return build(t, 'lookupUserName', inWindow);
      const u = pick(t, t.users);
      const title = pick(t, ['Registered Nurse', 'Social Worker', 'Chaplain', 'Home Health Aide', 'Intake Coordinator']);
      return {
        kind: 'patchAttrs',
        method: 'PATCH',
        path: `/Users/${u.id}`,
        body: {
          schemas: [PATCH_OP],
          Operations: [
            { op: 'Replace', path: 'title', value: title },
            { op: 'Replace', path: `${ENTERPRISE}:department`, value: pick(t, ['Nursing', 'Social Work', 'Spiritual Care', 'Admissions']) },
            { op: 'Replace', path: 'name.givenName', value: `Rate${Math.floor(t.random() * 1e6)}` },
          ],
        },
      };
    }
    case 'patchActive': {
      if (t.activeSeeds.length === 0 && t.deactivated.length === 0) return build(t, 'lookupUserName', inWindow);
      const deactivate = t.deactivateNext ? t.activeSeeds.length > 0 : t.deactivated.length === 0;
      t.deactivateNext = !t.deactivateNext;
      const id = deactivate ? t.activeSeeds.splice(Math.floor(t.random() * t.activeSeeds.length), 1)[0] : (t.deactivated.shift() as string);
      // Moved at once (not on the answer) so two requests never toggle the same user at the same time.
      if (deactivate) t.deactivated.push(id);
      else t.activeSeeds.push(id);
      return {
        kind: 'patchActive',
        method: 'PATCH',
        path: `/Users/${id}`,
        body: { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: deactivate ? 'False' : 'True' }] },
      };
    }
    case 'patchGroup': {
      const group = pick(t, t.groups);
      const candidates = t.users.filter((u) => !group.members.has(u.id));
      if (candidates.length === 0) return build(t, 'lookupUserName', inWindow);
      const n = Math.min(candidates.length, 1 + Math.floor(t.random() * 3));
      const chosen = new Set<string>();
      while (chosen.size < n) chosen.add(pick(t, candidates).id);
      for (const id of chosen) group.members.add(id);
      return {
        kind: 'patchGroup',
        method: 'PATCH',
        path: `/Groups/${group.id}`,
        body: { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: 'members', value: [...chosen].map((value) => ({ value })) }] },
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Recording

interface Sample {
  tenant: number;
  op: Op;
  /** Scheduled time → end of the answer's body, ms. */
  latencyMs: number;
  /** Scheduled time → the request handed to fetch, ms. */
  sendLagMs: number;
  /** HTTP status, or 'error' / 'timeout'. */
  status: string;
  /** When the answer ended, ms after the window's start. */
  doneMs: number;
}

function latencyStats(latencies: number[]) {
  const s = [...latencies].sort((a, b) => a - b);
  return {
    count: s.length,
    p50Ms: round(percentile(s, 50)),
    p95Ms: round(percentile(s, 95)),
    p99Ms: round(percentile(s, 99)),
    maxMs: round(s[s.length - 1] ?? 0),
  };
}

function summarise(samples: Sample[], seconds: number) {
  const statusCounts: Record<string, number> = {};
  for (const s of samples) statusCounts[s.status] = (statusCounts[s.status] ?? 0) + 1;
  const count = (pred: (code: string) => boolean) => Object.entries(statusCounts).reduce((n, [k, v]) => n + (pred(k) ? v : 0), 0);
  return {
    requests: samples.length,
    /** Requests sent in the window per second (the schedule's rate unless the load generator fell behind). */
    sentPerSecond: round(samples.length / seconds, 2),
    /** Answers per second, from the window's start to its last answer: the rate the server achieved. */
    achievedPerSecond: round(samples.length / Math.max(seconds, Math.max(0, ...samples.map((s) => s.doneMs)) / 1000), 2),
    ...latencyStats(samples.map((s) => s.latencyMs)),
    statusCounts,
    count2xx: count((k) => k.startsWith('2')),
    count4xx: count((k) => k.startsWith('4')),
    count429: statusCounts['429'] ?? 0,
    count5xx: count((k) => k.startsWith('5')),
    networkErrors: (statusCounts.error ?? 0) + (statusCounts.timeout ?? 0),
    /** Scheduled time → handed to fetch: the load generator's own delay (counted in the latency above). */
    sendLag: (() => {
      const lag = samples.map((s) => s.sendLagMs).sort((x, y) => x - y);
      return { p50Ms: round(percentile(lag, 50)), p99Ms: round(percentile(lag, 99)), maxMs: round(lag[lag.length - 1] ?? 0) };
    })(),
    /** Latency from the moment the request was handed to fetch (without the load generator's delay). */
    fromSend: latencyStats(samples.map((s) => s.latencyMs - s.sendLagMs)),
  };
}

// ---------------------------------------------------------------------------------------------
// Set-up

function tenantConfig() {
  const config = demoTenantConfig({ tagPropagation: '0s', rolePropagation: '0s', settle: '0s' });
  config.organisations = (config.organisations ?? []).map(({ seatLimit: _ignored, ...o }) => o);
  return { ...config, deprovisionGuard: { threshold: 100_000 } };
}

async function credential(db: Db, stack: FreshStack, tenantId: string): Promise<string> {
  if (cfg.auth === 'bearer') return (await createToken(db, tenantId, 'bench:tenants-rate')).token;
  const client = await createOAuthClient(db, tenantId, 'bench:tenants-rate');
  const res = await fetch(tokenUrlOf(new URL(stack.baseUrl).origin), {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { access_token: string }).access_token;
}

async function scim(stack: FreshStack, token: string, method: string, p: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${stack.baseUrl}${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json', Accept: 'application/scim+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: res.status, text: await res.text() };
}

async function setUpTenant(db: Db, stack: FreshStack, k: number, runTag: string): Promise<Tenant> {
  const id = `rate${k + 1}`;
  await createTenant(db, id, `Bench tenant ${k + 1}`);
  await saveConfigVersion(db, id, tenantConfig(), 'bench:tenants-rate');
  const token = await credential(db, stack, id);
  if (cfg.seedRows > 0) await seedUsers(db, id, 1, cfg.seedRows);
  const random = prng(0x5eed + k);
  const t: Tenant = {
    id,
    token,
    random,
    next: deckOf(random),
    users: [],
    activeSeeds: [],
    deactivated: [],
    seededIds: cfg.seedRows > 0 ? (await seededIds(db, id)).filter(Boolean) : [],
    groups: [],
    serial: 0,
    runTag,
    createdInWindow: [],
    deactivateNext: true,
  };
  for (const name of ['Nurses', 'Admissions', 'Night shift']) {
    const r = await scim(stack, token, 'POST', '/Groups', { schemas: [CORE_GROUP], displayName: `${name} ${id}` });
    if (r.status !== 201) throw new Error(`POST /Groups answered ${r.status}: ${r.text.slice(0, 300)}`);
    t.groups.push({ id: (JSON.parse(r.text) as { id: string }).id, members: new Set() });
  }
  return t;
}

/** Seed users through the API, a few at a time over all tenants (GET then POST, as Entra does). */
async function seedThroughApi(stack: FreshStack, tenants: Tenant[]): Promise<void> {
  const work = tenants.flatMap((t) => Array.from({ length: cfg.seedUsers }, () => t));
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < work.length; i = next++) {
        const t = work[i];
        t.serial += 1;
        const body = newUserBody(t, t.serial);
        await scim(stack, t.token, 'GET', `/Users?filter=${encodeURIComponent(`userName eq "${body.userName as string}"`)}`);
        const r = await scim(stack, t.token, 'POST', '/Users', body);
        if (r.status !== 201) throw new Error(`seed POST /Users answered ${r.status}: ${r.text.slice(0, 300)}`);
        const id = (JSON.parse(r.text) as { id: string }).id;
        t.users.push({ id, userName: body.userName as string, externalId: body.externalId as string, seed: true });
        t.activeSeeds.push(id);
      }
    }),
  );
}

/** Users among `ids` whose invitation was sent, with when (ms since epoch). */
async function invitedAt(db: Db, ids: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (ids.length === 0) return out;
  const rows = (
    await db.query<{ id: string; sent: number }>(
      `SELECT user_id::text AS id, (EXTRACT(EPOCH FROM min(sent_at)) * 1000)::float8 AS sent FROM invitations
       WHERE user_id = ANY($1::uuid[]) AND sent_at IS NOT NULL GROUP BY user_id`,
      [ids],
    )
  ).rows;
  for (const r of rows) out.set(r.id, Number(r.sent));
  return out;
}

// ---------------------------------------------------------------------------------------------
// The run

async function main(): Promise<void> {
  const runTag = `r${Date.now().toString(36)}`;
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  // BENCH_TENANTS_RATE_COMMIT names the code when ROOT is an export without .git (git archive of a commit).
  const code = {
    commit: git(['rev-parse', '--short', 'HEAD']) || process.env.BENCH_TENANTS_RATE_COMMIT || 'unknown',
    uncommittedFiles: git(['status', '--porcelain']).split('\n').filter(Boolean).length,
  };
  log(
    `${cfg.tenants} tenants × ${cfg.ratePerTenant} req/s for ${cfg.durationSeconds} s (+${cfg.warmupSeconds} s warm-up), ${cfg.auth} auth; fresh npm start of ${ROOT}`,
  );
  const stack = await startFreshStack(ROOT, 'scimflow-bench-tenants-rate-', {});
  const db = await openDatabase({ databaseUrl: stack.databaseUrl, poolSize: 2 });
  try {
    const tenants: Tenant[] = [];
    for (let k = 0; k < cfg.tenants; k++) tenants.push(await setUpTenant(db, stack, k, runTag));
    log(`tenants ${tenants.map((t) => t.id).join(', ')}: ${cfg.seedRows} seeded rows and 3 groups each; creating ${cfg.seedUsers} users each through the API`);
    const seedStart = Date.now();
    await seedThroughApi(stack, tenants);
    const seedIds = tenants.flatMap((t) => t.users.map((u) => u.id));
    let seedInvited = 0;
    while (Date.now() - seedStart < 300_000) {
      seedInvited = (await invitedAt(db, seedIds)).size;
      if (seedInvited >= seedIds.length) break;
      await sleep(2_000);
    }
    log(`seed users: ${seedInvited} of ${seedIds.length} invited ${((Date.now() - seedStart) / 1000).toFixed(1)} s after the first POST`);
    await sleep(3_000);

    // The schedule: request i of tenant k at start + (k / N + i) × interval.
    const interval = 1000 / cfg.ratePerTenant;
    const start = performance.now() + 200;
    const measureFrom = start + cfg.warmupSeconds * 1000;
    const end = measureFrom + cfg.durationSeconds * 1000;
    const samples: Sample[] = [];
    const errorSamples: { tenant: string; op: Op; method: string; path: string; status: string; body: string }[] = [];
    const inFlight = new Set<Promise<void>>();
    let cpuAtWindow: Record<string, number> = {};
    let cpuGenAtWindow = process.cpuUsage();
    let loadAtWindow = loadAverage();
    let wallAtWindow = Date.now();
    const timeline: Record<string, unknown>[] = [];

    const fire = async (k: number, scheduled: number, measured: boolean) => {
      const t = tenants[k];
      const req = build(t, t.next(), measured);
      const sentAt = performance.now();
      let status: string;
      let text = '';
      try {
        const res = await fetch(`${stack.baseUrl}${req.path}`, {
          method: req.method,
          headers: { Authorization: `Bearer ${t.token}`, 'Content-Type': 'application/scim+json', Accept: 'application/scim+json' },
          body: req.body === undefined ? undefined : JSON.stringify(req.body),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        text = await res.text();
        status = String(res.status);
        if (res.ok) req.onOk?.(text);
      } catch (err) {
        status = (err as Error).name === 'TimeoutError' ? 'timeout' : 'error';
        text = (err as Error).message;
      }
      const done = performance.now();
      if (!status.startsWith('2') && errorSamples.length < 20)
        errorSamples.push({ tenant: t.id, op: req.kind, method: req.method, path: req.path, status, body: text.slice(0, 400) });
      if (measured) samples.push({ tenant: k, op: req.kind, latencyMs: done - scheduled, sendLagMs: sentAt - scheduled, status, doneMs: done - measureFrom });
    };

    // What PostgreSQL's backends are doing, every 250 ms: which wait events the requests meet.
    const pgWaits: Record<string, number> = {};
    let pgSamples = 0;
    const pgSampler = (async () => {
      while (performance.now() < end) {
        await sleep(250);
        if (performance.now() < measureFrom) continue;
        const rows = await db
          .query<{ what: string; n: number }>(
            `SELECT state || ':' || coalesce(wait_event_type || '/' || wait_event, 'cpu') AS what, count(*)::int AS n FROM pg_stat_activity
             WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND state <> 'idle' GROUP BY 1`,
          )
          .catch(() => ({ rows: [] as { what: string; n: number }[] }));
        pgSamples += 1;
        for (const r of rows.rows) pgWaits[r.what] = (pgWaits[r.what] ?? 0) + r.n;
      }
    })();

    const sampler = (async () => {
      while (performance.now() < end) {
        await sleep(5_000);
        const cpu = cpuByRole(stack.pid);
        const outbox = await outboxStats(db).catch(() => ({ pending: -1, oldestAgeSeconds: -1 }));
        const created = tenants.flatMap((t) => t.createdInWindow.map((c) => c.id));
        const invited = (await invitedAt(db, created).catch(() => new Map())).size;
        timeline.push({
          t: round((performance.now() - measureFrom) / 1000, 1),
          load1: loadAverage()[0],
          inFlight: inFlight.size,
          answered: samples.length,
          createdInWindow: created.length,
          invitedOfThose: invited,
          outboxPending: outbox.pending,
          outboxOldestSeconds: round(outbox.oldestAgeSeconds, 1),
          cpuSeconds: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(v, 1)])),
        });
      }
    })();

    log(`warm-up ${cfg.warmupSeconds} s, then ${cfg.durationSeconds} s measured`);
    let windowStarted = false;
    await Promise.all(
      tenants.map(async (_, k) => {
        for (let i = 0; ; i++) {
          const at = start + (k / tenants.length + i) * interval;
          if (at >= end) break;
          const wait = at - performance.now();
          if (wait > 1) await sleep(wait);
          const measured = at >= measureFrom;
          if (measured && !windowStarted) {
            windowStarted = true;
            cpuAtWindow = cpuByRole(stack.pid);
            cpuGenAtWindow = process.cpuUsage();
            loadAtWindow = loadAverage();
            wallAtWindow = Date.now();
            log('measured window started');
          }
          const p: Promise<void> = fire(k, at, measured).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
      }),
    );
    const windowEndWall = Date.now();
    const loadAtEnd = loadAverage();
    log(`schedule done; ${inFlight.size} requests still in flight`);
    await Promise.all(inFlight);
    const cpuAtEnd = cpuByRole(stack.pid);
    const cpuWindowSeconds = (Date.now() - wallAtWindow) / 1000;
    const genCpu = process.cpuUsage(cpuGenAtWindow);
    await sampler;
    await pgSampler;

    // Onboarding of the users created in the window: invited by the window's end, then after it.
    const createdInWindow = tenants.flatMap((t) => t.createdInWindow.map((c) => ({ ...c, tenant: t.id })));
    const ids = createdInWindow.map((c) => c.id);
    const invitedByEnd = [...(await invitedAt(db, ids)).values()].filter((at) => at <= windowEndWall).length;
    let invited = await invitedAt(db, ids);
    const drainStart = Date.now();
    while (invited.size < ids.length && Date.now() - drainStart < cfg.drainSeconds * 1000) {
      await sleep(2_000);
      invited = await invitedAt(db, ids);
    }
    const toInvitation = createdInWindow.filter((c) => invited.has(c.id)).map((c) => ((invited.get(c.id) as number) - c.at) / 1000);
    const lastInvitation = Math.max(0, ...invited.values());
    const states = (
      await db.query<{ state: string; n: number }>(`SELECT state, count(*)::int AS n FROM provisioning_states WHERE user_id = ANY($1::uuid[]) GROUP BY state`, [
        ids,
      ])
    ).rows;

    // The outbox (SCIM change → workflow signal) over the window: what was written, what the relay delivered.
    const at = (ms: number) => new Date(ms).toISOString();
    const outboxRows = (
      await db.query<{ kind: string; created: number; delivered_by_end: number; delivered: number; p50: number | null; p99: number | null }>(
        `SELECT resource_type || ' ' || change AS kind, count(*)::int AS created,
                count(*) FILTER (WHERE delivered_at <= $2::timestamptz)::int AS delivered_by_end,
                count(delivered_at)::int AS delivered,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM delivered_at - created_at))::float8 AS p50,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM delivered_at - created_at))::float8 AS p99
         FROM outbox WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz GROUP BY 1 ORDER BY 1`,
        [at(wallAtWindow), at(windowEndWall)],
      )
    ).rows;
    const deliveredInWindow = (
      await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE delivered_at >= $1::timestamptz AND delivered_at < $2::timestamptz`, [
        at(wallAtWindow),
        at(windowEndWall),
      ])
    ).rows[0].n;
    const windowWallSeconds = (windowEndWall - wallAtWindow) / 1000;
    const outbox = {
      note: 'rows written during the window (one per changed user or group; a group PATCH also writes one per member it adds), delivered by the relay as workflow signals',
      writtenPerSecond: round(outboxRows.reduce((n, r) => n + r.created, 0) / windowWallSeconds, 1),
      deliveredPerSecond: round(deliveredInWindow / windowWallSeconds, 1),
      pendingAtWindowEnd: (timeline[timeline.length - 1]?.outboxPending as number | undefined) ?? null,
      maxOldestUndeliveredSeconds: Math.max(0, ...timeline.map((p) => p.outboxOldestSeconds as number)),
      byKind: outboxRows.map((r) => ({
        kind: r.kind,
        written: r.created,
        deliveredByWindowEnd: r.delivered_by_end,
        deliveredAfterDrain: r.delivered,
        writtenToDeliveredSeconds: { p50: r.p50 === null ? null : round(r.p50, 1), p99: r.p99 === null ? null : round(r.p99, 1) },
      })),
    };

    const seconds = cfg.durationSeconds;
    const requests = samples.length;
    const cpuMsPerRequest = Object.fromEntries(
      Object.keys(cpuAtEnd).map((role) => [role, round((((cpuAtEnd[role] ?? 0) - (cpuAtWindow[role] ?? 0)) * 1000) / Math.max(1, requests), 2)]),
    );
    const cpuCores = Object.fromEntries(
      Object.keys(cpuAtEnd).map((role) => [role, round(((cpuAtEnd[role] ?? 0) - (cpuAtWindow[role] ?? 0)) / cpuWindowSeconds, 2)]),
    );
    const loadGenMs = (genCpu.user + genCpu.system) / 1000;
    const stackCpuMs = Object.values(cpuMsPerRequest).reduce((s, v) => s + v, 0);
    const perTenant = tenants.map((t, k) => {
      const own = samples.filter((s) => s.tenant === k);
      const created = t.createdInWindow.map((c) => c.id);
      return {
        tenant: t.id,
        ...summarise(own, seconds),
        createdInWindow: created.length,
        onboardedByWindowEnd: created.filter((id) => (invited.get(id) ?? Infinity) <= windowEndWall).length,
        onboardedAfterDrain: created.filter((id) => invited.has(id)).length,
      };
    });
    const perOp = Object.fromEntries(
      MIX.map((m) => {
        const own = samples.filter((s) => s.op === m.op);
        return [m.op, { ...latencyStats(own.map((s) => s.latencyMs)), non2xx: own.filter((s) => !s.status.startsWith('2')).length }];
      }),
    );
    const loads = timeline.map((p) => p.load1 as number);
    const result = {
      startedAt: new Date(t0).toISOString(),
      code,
      repo: ROOT,
      config: { ...cfg, openLoop: true, intervalMsPerTenant: round(interval, 2), requestTimeoutMs: REQUEST_TIMEOUT_MS },
      mix: MIX,
      machine: { nproc: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version },
      load: {
        atWindowStart: loadAtWindow,
        atWindowEnd: loadAtEnd,
        load1DuringWindow: {
          min: round(Math.min(...loads)),
          max: round(Math.max(...loads)),
          mean: round(loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length)),
        },
      },
      seed: { rowsPerTenant: cfg.seedRows, usersPerTenant: cfg.seedUsers, seedUsersInvited: seedInvited },
      overall: summarise(samples, seconds),
      perTenant,
      perOperation: perOp,
      cpu: {
        msPerRequest: { ...cpuMsPerRequest, loadGenerator: round(loadGenMs / Math.max(1, requests), 2), stackTotal: round(stackCpuMs, 2) },
        cores: { ...cpuCores, loadGenerator: round(loadGenMs / 1000 / cpuWindowSeconds, 2) },
        note: 'CPU of each process of npm start from /proc over the measured window (and the wait for its last answers), divided by the requests answered in it; the worker and Temporal are the onboarding beside, not the requests themselves. "start" is npm start itself (supervisor, SMTP catcher).',
      },
      onboarding: {
        createdInWindow: ids.length,
        invitedByWindowEnd: invitedByEnd,
        invitedAfterDrain: invited.size,
        drainSeconds: round((Date.now() - drainStart) / 1000, 1),
        lastInvitationAfterWindowEndSeconds: invited.size ? round((lastInvitation - windowEndWall) / 1000, 1) : null,
        createdToInvitationSeconds: (() => {
          const s = [...toInvitation].sort((a, b) => a - b);
          return { p50: round(percentile(s, 50), 1), p99: round(percentile(s, 99), 1), max: round(s[s.length - 1] ?? 0, 1) };
        })(),
        statesAfterDrain: Object.fromEntries(states.map((r) => [r.state, r.n])),
      },
      outbox,
      postgresBackends: {
        note: 'non-idle client backends by state and wait event, averaged over samples every 250 ms during the window',
        samples: pgSamples,
        average: Object.fromEntries(
          Object.entries(pgWaits)
            .sort((a, b) => b[1] - a[1])
            .map(([k, v]) => [k, round(v / Math.max(1, pgSamples), 2)]),
        ),
      },
      timeline,
      errorSamples,
    };
    fs.mkdirSync(path.dirname(resultsPath), { recursive: true });
    fs.writeFileSync(resultsPath, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(renderMarkdown(result));
    log(`results in ${path.relative(process.cwd(), resultsPath)}`);
  } finally {
    await db.close();
    await stack.stop();
  }
}

function renderMarkdown(r: {
  config: typeof cfg;
  code: { commit: string; uncommittedFiles: number };
  load: { atWindowStart: number[]; atWindowEnd: number[]; load1DuringWindow: { min: number; max: number; mean: number } };
  overall: ReturnType<typeof summarise>;
  perTenant: (ReturnType<typeof summarise> & { tenant: string; createdInWindow: number; onboardedByWindowEnd: number; onboardedAfterDrain: number })[];
  perOperation: Record<string, ReturnType<typeof latencyStats> & { non2xx: number }>;
  cpu: { msPerRequest: Record<string, number>; cores: Record<string, number> };
  onboarding: { createdInWindow: number; invitedByWindowEnd: number; invitedAfterDrain: number; lastInvitationAfterWindowEndSeconds: number | null };
  outbox: { writtenPerSecond: number; deliveredPerSecond: number; pendingAtWindowEnd: number | null; maxOldestUndeliveredSeconds: number };
}): string {
  const c = r.config;
  const lines = [
    `# ${c.tenants} tenants × ${c.ratePerTenant} requests/s for ${c.durationSeconds} s (open loop, ${c.auth} auth), commit ${r.code.commit}${r.code.uncommittedFiles ? ` + ${r.code.uncommittedFiles} uncommitted files` : ''}`,
    '',
    `Load average ${r.load.atWindowStart.join(' ')} at the window's start, ${r.load.atWindowEnd.join(' ')} at its end (load1 ${r.load.load1DuringWindow.min}–${r.load.load1DuringWindow.max} during it).`,
    '',
    'Mix per tenant: ' + MIX.map((m) => `${m.percent} % ${m.op}`).join(', ') + '.',
    '',
    '| tenant | sent | answered/s | p50 ms | p95 ms | p99 ms | max ms | 2xx | 4xx | 429 | 5xx | errors | created | invited by window end / after |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...r.perTenant.map(
      (t) =>
        `| ${t.tenant} | ${t.requests} | ${t.achievedPerSecond} | ${t.p50Ms} | ${t.p95Ms} | ${t.p99Ms} | ${t.maxMs} | ${t.count2xx} | ${t.count4xx} | ${t.count429} | ${t.count5xx} | ${t.networkErrors} | ${t.createdInWindow} | ${t.onboardedByWindowEnd} / ${t.onboardedAfterDrain} |`,
    ),
    `| **all** | ${r.overall.requests} | ${r.overall.achievedPerSecond} | ${r.overall.p50Ms} | ${r.overall.p95Ms} | ${r.overall.p99Ms} | ${r.overall.maxMs} | ${r.overall.count2xx} | ${r.overall.count4xx} | ${r.overall.count429} | ${r.overall.count5xx} | ${r.overall.networkErrors} | ${r.onboarding.createdInWindow} | ${r.onboarding.invitedByWindowEnd} / ${r.onboarding.invitedAfterDrain} |`,
    '',
    '| operation | n | p50 ms | p95 ms | p99 ms | max ms | non-2xx |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...Object.entries(r.perOperation).map(([op, s]) => `| ${op} | ${s.count} | ${s.p50Ms} | ${s.p95Ms} | ${s.p99Ms} | ${s.maxMs} | ${s.non2xx} |`),
    '',
    `CPU ms per request: ${Object.entries(r.cpu.msPerRequest)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}. Cores: ${Object.entries(r.cpu.cores)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    `Send lag of the load generator: p50 ${r.overall.sendLag.p50Ms} ms, p99 ${r.overall.sendLag.p99Ms} ms, max ${r.overall.sendLag.maxMs} ms; latency from the send: p50 ${r.overall.fromSend.p50Ms} ms, p99 ${r.overall.fromSend.p99Ms} ms. Last invitation of the window's users ${r.onboarding.lastInvitationAfterWindowEndSeconds ?? '–'} s after the window.`,
    `Outbox during the window: ${r.outbox.writtenPerSecond} rows/s written, ${r.outbox.deliveredPerSecond}/s delivered, ${r.outbox.pendingAtWindowEnd ?? '?'} pending at its end, oldest undelivered up to ${r.outbox.maxOldestUndeliveredSeconds} s.`,
    '',
  ];
  return `${lines.join('\n')}\n`;
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
