/**
 * `npm run bench:access-removal`: how long a deactivated user keeps its login while the SCIM API
 * is under load, on a fresh `npm start` (the shape a hospital runs: SCIM server and worker as
 * separate processes, the worker at ONBOARDING_NICE). Measured from the PATCH's 200 to
 * `app_users.login_enabled = false` in the database, polled every 25 ms.
 *
 * 1. Steady reads: `GET /Users?filter=userName eq "…"` at 50/s that never pause; each round
 *    pushes 200 users and, 2 s after the push, deactivates 5 of them; also how many of the
 *    others are invited within a minute of the push.
 * 2. Import: N users (default 10,000) pushed Entra-style (GET `userName eq`, then POST; 6
 *    connections); every 2 s, during the import and then while its onboarding backlog drains
 *    (until every pushed user is invited, at most 15 minutes), one user that already holds a
 *    login is deactivated. Reported apart: during the import, and during the backlog after it.
 *
 * The demo tenant is given room first: no seat limit (every pushed user onboards, the heaviest
 * case for the worker) and a mass-deprovisioning guard above the bench's deactivations (past
 * its threshold they would wait for a Super User, by design).
 *
 * Knobs: BENCH_REMOVAL_ROUNDS (3), BENCH_REMOVAL_IMPORT_USERS (10000; 0 skips it),
 * BENCH_REMOVAL_REPO (another checkout's `npm start`, for a before/after), BENCH_REMOVAL_RESULTS
 * (bench/results/access-removal-latest.json).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type Db } from '../common/db';
import { saveConfigVersion } from '../common/repositories/tenants';
import { DEMO_TENANT_ID, demoTenantConfig } from '../dev/demo-tenant';
import { startFreshStack, type FreshStack } from './lib/fresh-stack';
import { loadAverage } from './lib/proc';

const ROOT = process.env.BENCH_REMOVAL_REPO ?? path.join(__dirname, '..');
const int = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const cfg = {
  rounds: int('BENCH_REMOVAL_ROUNDS', 3),
  importUsers: int('BENCH_REMOVAL_IMPORT_USERS', 10_000),
  results: process.env.BENCH_REMOVAL_RESULTS ?? path.join(__dirname, 'results', 'access-removal-latest.json'),
};
const READS_PER_SECOND = 50;
const ROUND_USERS = 200;
const ROUND_DEACTIVATED = 5;
const t0 = Date.now();
const log = (msg: string) => process.stderr.write(`[bench:access-removal +${((Date.now() - t0) / 1000).toFixed(0)}s] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (x: number) => Math.round(x * 10) / 10;

function percentiles(values: number[]): { n: number; p50: number | null; p99: number | null; max: number | null } {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : null);
  return { n: s.length, p50: at(50), p99: at(99), max: s.length ? s[s.length - 1] : null };
}

let serial = 0;
function userBody(prefix: string) {
  serial += 1;
  const userName = `${prefix}.${serial}@example.org`;
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName,
    externalId: `${prefix}-${serial}`,
    name: { givenName: 'Bench', familyName: `Removal${serial}` },
    emails: [{ value: userName, type: 'work', primary: true }],
    phoneNumbers: [{ value: `+1555${String(serial % 10_000_000).padStart(7, '0')}`, type: 'mobile' }],
    active: true,
  };
}

class Scim {
  constructor(private readonly stack: FreshStack) {}
  private headers = () => ({ Authorization: `Bearer ${this.stack.token}`, 'Content-Type': 'application/scim+json' });
  async lookup(userName: string): Promise<string | undefined> {
    const r = await fetch(`${this.stack.baseUrl}/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`, { headers: this.headers() });
    const body = (await r.json()) as { Resources?: { id: string }[] };
    return body.Resources?.[0]?.id;
  }
  async create(body: unknown): Promise<string> {
    const r = await fetch(`${this.stack.baseUrl}/Users`, { method: 'POST', headers: this.headers(), body: JSON.stringify(body) });
    if (r.status !== 201) throw new Error(`create answered ${r.status}: ${(await r.text()).slice(0, 200)}`);
    return ((await r.json()) as { id: string }).id;
  }
  async deactivate(id: string): Promise<number> {
    const r = await fetch(`${this.stack.baseUrl}/Users/${id}`, {
      method: 'PATCH',
      headers: this.headers(),
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: false } }] }),
    });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`deactivation answered ${r.status}`);
    return Date.now();
  }
}

/**
 * Milliseconds from `since` until the user's login is blocked in the directory (or null after
 * `timeoutMs`). A user deactivated before its profile was created has no login to block: then
 * its workflow's recorded `suspended` state counts.
 */
async function untilBlocked(db: Db, id: string, since: number, timeoutMs = 120_000): Promise<number | null> {
  while (Date.now() - since < timeoutMs) {
    const row = (
      await db.query<{ login_enabled: boolean | null; state: string | null }>(
        `SELECT (SELECT login_enabled FROM app_users WHERE user_id = $1::uuid) AS login_enabled,
                (SELECT state FROM provisioning_states WHERE user_id = $1::uuid) AS state`,
        [id],
      )
    ).rows[0];
    if (row.login_enabled === false || (row.login_enabled === null && row.state === 'suspended')) return Date.now() - since;
    await sleep(25);
  }
  return null;
}

/** Lookups at `perSecond` that never pause, until stopped; returns the reads answered and the errors. */
function steadyReads(scim: Scim, names: () => string[], perSecond: number): { stop(): Promise<{ ok: number; errors: number; seconds: number }> } {
  let running = true;
  const counts = { ok: 0, errors: 0 };
  const started = Date.now();
  const inFlight = new Set<Promise<void>>();
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const pool = names();
      const p = scim
        .lookup(pool.length ? pool[i % pool.length] : `nobody.${i}@example.org`)
        .then(() => void (counts.ok += 1))
        .catch(() => void (counts.errors += 1))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      await sleep(Math.max(0, started + ((i + 1) * 1000) / perSecond - Date.now()));
    }
    await Promise.all(inFlight);
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { ...counts, seconds: (Date.now() - started) / 1000 };
    },
  };
}

async function steadyReadRounds(stack: FreshStack, db: Db) {
  const scim = new Scim(stack);
  const names: string[] = [];
  const reads = steadyReads(scim, () => names, READS_PER_SECOND);
  const latencies: number[] = [];
  const invitedWithinAMinute: number[] = [];
  await sleep(2_000);
  for (let round = 1; round <= cfg.rounds; round++) {
    const bodies = Array.from({ length: ROUND_USERS }, () => userBody(`reads${round}`));
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async (_, lane) => {
        for (let i = lane; i < bodies.length; i += 4) {
          ids[i] = await scim.create(bodies[i]);
          names.push(bodies[i].userName);
        }
      }),
    );
    const pushedAt = Date.now();
    await sleep(2_000);
    const leaving = Array.from({ length: ROUND_DEACTIVATED }, (_, k) => ids[Math.floor(((k + 0.5) * ROUND_USERS) / ROUND_DEACTIVATED)]);
    const waits = await Promise.all(
      leaving.map(async (id) => {
        const at = await scim.deactivate(id);
        return untilBlocked(db, id, at);
      }),
    );
    for (const w of waits) if (w !== null) latencies.push(w);
    const others = ids.filter((id) => !leaving.includes(id));
    await sleep(Math.max(0, pushedAt + 60_000 - Date.now()));
    const invited = (
      await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM invitations WHERE user_id = ANY($1::uuid[]) AND created_at <= to_timestamp($2::float8 / 1000)`,
        [others, pushedAt + 60_000],
      )
    ).rows[0].n;
    invitedWithinAMinute.push(invited);
    log(`reads round ${round}: login blocked after ${waits.join(', ')} ms; ${invited}/${others.length} others invited within a minute`);
  }
  const r = await reads.stop();
  return {
    readsPerSecond: round1(r.ok / r.seconds),
    readErrors: r.errors,
    deactivations: ROUND_DEACTIVATED * cfg.rounds,
    notBlockedWithin120s: ROUND_DEACTIVATED * cfg.rounds - latencies.length,
    deactivationToLoginBlockedMs: percentiles(latencies),
    othersInvitedWithinAMinute: invitedWithinAMinute,
  };
}

async function importRun(stack: FreshStack, db: Db) {
  const scim = new Scim(stack);
  const during: number[] = [];
  const after: number[] = [];
  let next = 0;
  const bodies = Array.from({ length: cfg.importUsers }, () => userBody('import'));
  const started = Date.now();
  let importing = true;
  let backlogDrained = false;
  const pending: Promise<void>[] = [];
  const deactivated = new Set<string>();
  const deactivator = (async () => {
    const deadline = started + 15 * 60_000;
    while (!backlogDrained && Date.now() < deadline) {
      await sleep(2_000);
      const row = (
        await db.query<{ id: string }>(`SELECT a.user_id::text AS id FROM app_users a WHERE a.login_enabled AND a.status = 'invited' ORDER BY random() LIMIT 1`)
      ).rows[0];
      if (!row || deactivated.has(row.id)) continue;
      deactivated.add(row.id);
      const bucket = importing ? during : after;
      const at = await scim.deactivate(row.id);
      pending.push(
        untilBlocked(db, row.id, at).then((w) => {
          if (w !== null) bucket.push(w);
        }),
      );
    }
  })();
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      for (let i = next++; i < bodies.length; i = next++) {
        if (!(await scim.lookup(bodies[i].userName))) await scim.create(bodies[i]);
        if (i > 0 && i % 1000 === 0) log(`import: ${i} users pushed, ${during.length} deactivations measured`);
      }
    }),
  );
  importing = false;
  const importSeconds = (Date.now() - started) / 1000;
  // The backlog: until every pushed user holds its invitation (or no invitation came for 30 s:
  // the few a deactivation reached before their invitation never get one).
  let last = { invited: -1, at: Date.now() };
  for (;;) {
    const invited = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM invitations WHERE status IN ('sent', 'accepted', 'revoked')`)).rows[0].n;
    if (invited !== last.invited) last = { invited, at: Date.now() };
    if (invited >= cfg.importUsers + ROUND_USERS * cfg.rounds || Date.now() - last.at > 30_000 || Date.now() - started > 15 * 60_000) break;
    log(`backlog: ${invited} invitations, ${after.length} deactivations measured after the import`);
    await sleep(10_000);
  }
  const onboardedSeconds = (Date.now() - started) / 1000;
  backlogDrained = true;
  await deactivator;
  await Promise.all(pending);
  return {
    users: cfg.importUsers,
    importSeconds: round1(importSeconds),
    createsPerSecond: round1(cfg.importUsers / importSeconds),
    backlogDrainedSeconds: round1(onboardedSeconds),
    deactivations: pending.length,
    notBlockedWithin120s: pending.length - during.length - after.length,
    duringImportMs: percentiles(during),
    duringBacklogMs: percentiles(after),
    allMs: percentiles([...during, ...after]),
  };
}

async function main(): Promise<void> {
  log(`fresh npm start of ${ROOT}`);
  const stack = await startFreshStack(ROOT, 'scimflow-bench-removal-', {});
  const db = await openDatabase({ databaseUrl: stack.databaseUrl, poolSize: 2 });
  try {
    const demo = demoTenantConfig({ tagPropagation: '0s', rolePropagation: '0s', settle: '0s' });
    await saveConfigVersion(
      db,
      DEMO_TENANT_ID,
      { ...demo, organisations: (demo.organisations ?? []).map((o) => ({ ...o, seatLimit: undefined })), deprovisionGuard: { threshold: 100_000 } },
      'bench:access-removal',
    );
    const steady = await steadyReadRounds(stack, db);
    log(`steady reads: ${JSON.stringify(steady.deactivationToLoginBlockedMs)}`);
    const imported = cfg.importUsers > 0 ? await importRun(stack, db) : null;
    if (imported) log(`import: during ${JSON.stringify(imported.duringImportMs)}; backlog ${JSON.stringify(imported.duringBacklogMs)}`);
    const result = {
      at: new Date().toISOString(),
      repo: ROOT,
      machine: { cpus: os.cpus().length, load: loadAverage() },
      steadyReads: steady,
      import: imported,
    };
    fs.mkdirSync(path.dirname(cfg.results), { recursive: true });
    fs.writeFileSync(cfg.results, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await db.close();
    await stack.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
