/**
 * `npm run bench:first-sync`: an identity provider's first sync into a fresh `npm start`. N users
 * (default 480: the demo tenant's default office has 500 seats) are pushed as Entra ID does
 * (GET `userName eq` → not there → POST), C at a time, into the demo tenant with its propagation
 * and settling windows at 0 s; measured: how long after the first POST the last invitation mail
 * reached the local catcher (the goal: all 480 within 30 s), the invitations per second, and the
 * CPU seconds of each process from the first POST to the last invitation.
 *
 * Knobs: BENCH_FIRST_SYNC_REPO (another checkout's `npm start`, for a before/after), BENCH_FIRST_SYNC_USERS (480), BENCH_FIRST_SYNC_CONC (8), BENCH_FIRST_SYNC_ROUNDS (1),
 * BENCH_FIRST_SYNC_TIMEOUT_S (300), DATABASE_URL (npm start on that server instead of the
 * embedded one; an empty database), ONBOARDING_NICE, BENCH_FIRST_SYNC_RESULTS
 * (bench/results/first-sync-latest.json).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFreshStack } from './lib/fresh-stack';
import { cpuByRole, loadAverage } from './lib/proc';

/** The checkout whose `npm start` runs (another one, e.g. the commit before a change, through BENCH_FIRST_SYNC_REPO). */
const ROOT = process.env.BENCH_FIRST_SYNC_REPO ?? path.join(__dirname, '..');
const int = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const cfg = {
  users: int('BENCH_FIRST_SYNC_USERS', 480),
  conc: int('BENCH_FIRST_SYNC_CONC', 8),
  rounds: int('BENCH_FIRST_SYNC_ROUNDS', 1),
  timeoutSeconds: int('BENCH_FIRST_SYNC_TIMEOUT_S', 300),
  results: process.env.BENCH_FIRST_SYNC_RESULTS ?? path.join(__dirname, 'results', 'first-sync-latest.json'),
};
const t0 = Date.now();
const log = (msg: string) => process.stderr.write(`[bench:first-sync +${((Date.now() - t0) / 1000).toFixed(0)}s] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (x: number) => Math.round(x * 10) / 10;

function userBody(prefix: string, i: number) {
  const userName = `${prefix}.${i}@example.org`;
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName,
    externalId: `${prefix}-${i}`,
    name: { givenName: 'First', familyName: `Sync${i}` },
    emails: [{ value: userName, type: 'work', primary: true }],
    phoneNumbers: [{ value: `+1555${String(i).padStart(7, '0')}`, type: 'mobile' }],
    active: true,
  };
}

interface RoundResult {
  round: number;
  users: number;
  /** Seconds from the first POST. */
  lastCreateSeconds: number;
  firstInvitationSeconds: number | null;
  lastInvitationSeconds: number | null;
  invited: number;
  /** Invitations reached by 10 s, 20 s, 30 s after the first POST. */
  invitedBy: Record<string, number>;
  createErrors: number;
  cpuSeconds: Record<string, number>;
  load1: [number, number, number];
}

async function oneRound(round: number): Promise<RoundResult> {
  const stack = await startFreshStack(ROOT, 'scimflow-first-sync-', {});
  try {
    const { baseUrl: base, token, dataDir } = stack;
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json', Accept: 'application/scim+json' };
    const outbox = path.join(dataDir, 'outbox');
    const mails = () => (fs.existsSync(outbox) ? fs.readdirSync(outbox).map((f) => fs.statSync(path.join(outbox, f)).mtimeMs) : []);
    await sleep(3_000); // let the start-up settle (the worker's first poll, the dev server's namespace)
    const prefix = `fs${Date.now().toString(36)}`;
    const load1 = loadAverage();
    const cpu0 = cpuByRole(stack.pid);
    const start = Date.now();
    let next = 0;
    let createErrors = 0;
    await Promise.all(
      Array.from({ length: cfg.conc }, async () => {
        for (let i = next++; i < cfg.users; i = next++) {
          const body = userBody(prefix, i);
          const found = await fetch(`${base}/Users?filter=${encodeURIComponent(`userName eq "${body.userName}"`)}`, { headers });
          await found.arrayBuffer();
          const r = await fetch(`${base}/Users`, { method: 'POST', headers, body: JSON.stringify(body) });
          await r.arrayBuffer();
          if (r.status !== 201) createErrors++;
        }
      }),
    );
    const lastCreateSeconds = (Date.now() - start) / 1000;
    while (mails().length < cfg.users && Date.now() - start < cfg.timeoutSeconds * 1000) await sleep(250);
    const cpu1 = cpuByRole(stack.pid);
    const times = mails()
      .map((t) => (t - start) / 1000)
      .sort((a, b) => a - b);
    const by = (s: number) => times.filter((t) => t <= s).length;
    return {
      round,
      users: cfg.users,
      lastCreateSeconds: round1(lastCreateSeconds),
      firstInvitationSeconds: times.length ? round1(times[0]) : null,
      lastInvitationSeconds: times.length >= cfg.users ? round1(times[cfg.users - 1]) : null,
      invited: times.length,
      invitedBy: { '10s': by(10), '20s': by(20), '30s': by(30) },
      createErrors,
      cpuSeconds: Object.fromEntries(Object.keys(cpu1).map((k) => [k, round1(cpu1[k] - (cpu0[k] ?? 0))])),
      load1,
    };
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const results: RoundResult[] = [];
  for (let round = 1; round <= cfg.rounds; round++) {
    log(`round ${round}: ${cfg.users} users, ${cfg.conc} at a time, into a fresh npm start${process.env.DATABASE_URL ? ' (DATABASE_URL)' : ''}`);
    const r = await oneRound(round);
    log(`  ${JSON.stringify(r)}`);
    results.push(r);
  }
  fs.mkdirSync(path.dirname(cfg.results), { recursive: true });
  fs.writeFileSync(cfg.results, JSON.stringify({ startedAt: new Date(t0).toISOString(), config: cfg, machine: { nproc: os.cpus().length }, results }, null, 2));
  const rows = [
    '| round | last POST answered | first / last invitation | invited by 10 / 20 / 30 s | CPU s: server / worker / Temporal / PostgreSQL | load1 |',
    '|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.round} | ${r.lastCreateSeconds} s | ${r.firstInvitationSeconds ?? '–'} / ${r.lastInvitationSeconds ?? `not in ${cfg.timeoutSeconds} s (${r.invited})`} s | ${r.invitedBy['10s']} / ${r.invitedBy['20s']} / ${r.invitedBy['30s']} | ${r.cpuSeconds.server ?? 0} / ${r.cpuSeconds.worker ?? 0} / ${r.cpuSeconds.temporal ?? 0} / ${r.cpuSeconds.postgres ?? 0} | ${r.load1[0]} |`,
    ),
  ];
  process.stdout.write(`${rows.join('\n')}\n`);
  log(`results in ${path.relative(process.cwd(), cfg.results)}`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
