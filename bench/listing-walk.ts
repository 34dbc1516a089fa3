/**
 * The whole-listing walk at 250,000 users (issue 25; docs/performance.md §15), as Entra's
 * account discovery and Okta's imports do it: GET /Users by startIndex with count=100 from the
 * first user to the last, then the same by cursor (RFC 9865). While each walk runs, a churn
 * loop deletes a seeded user and creates a new one (BENCH_WALK_CHURN_PER_SECOND of each, default
 * 5/s); afterwards every user that existed throughout must have been listed exactly once.
 *
 * Reports total time, p50/p99/max per page, the first and the last 50 pages' mean, the churn
 * done, and the same two pages of a filtered listing (which still pages by OFFSET) for contrast.
 *
 *   npm run bench:listing-walk                          # 250,000 users
 *   BENCH_WALK_USERS=20000 npm run bench:listing-walk   # a quick run
 *
 * A throwaway PostgreSQL (initdb, fsync off) and the SCIM server in a process of its own; no
 * Temporal server is needed (seeded users have no workflows, and the churn's changes wait in the
 * outbox). Results: bench/results/listing-walk-<users>.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../common/db';
import { createTenant } from '../common/repositories/tenants';
import { createToken } from '../common/repositories/tokens';
import { freePort } from '../dev/temporal-dev-server';
import { startChild } from './lib/child';
import { percentile } from './lib/load';
import { startThrowawayPostgres } from './lib/postgres';
import { loadAverage } from './lib/proc';
import { seededIds, seedUsers } from './lib/seed';

const USERS = Number(process.env.BENCH_WALK_USERS ?? 250_000);
const COUNT = Number(process.env.BENCH_WALK_COUNT ?? 100);
const CHURN_PER_SECOND = Number(process.env.BENCH_WALK_CHURN_PER_SECOND ?? 5);
const TENANT = 'walk';
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const log = (msg: string) => console.log(`[listing-walk] ${msg}`);

interface Page {
  ms: number;
  ids: string[];
  totalResults: number;
  nextCursor?: string;
}

async function main(): Promise<void> {
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const pg = await startThrowawayPostgres({ fsync: false, log });
    cleanups.push(() => pg.stop());
    const db = await openDatabase({ databaseUrl: pg.url, poolSize: 4 });
    cleanups.push(() => db.close());
    await createTenant(db, TENANT, TENANT);
    const token = (await createToken(db, TENANT, 'bench')).token;
    const s0 = Date.now();
    await seedUsers(db, TENANT, 1, USERS);
    await db.exec('VACUUM ANALYZE');
    const seedSeconds = (Date.now() - s0) / 1000;
    log(`seeded ${USERS.toLocaleString('en')} users in ${seedSeconds.toFixed(1)} s`);

    const server = await startChild('server-process.ts', {
      BENCH_DATABASE_URL: pg.url,
      // Nothing is delivered to Temporal here: the churn's changes wait in the outbox.
      BENCH_TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
      BENCH_TASK_QUEUE: 'bench-walk',
      BENCH_PAYLOAD_KEYS: '',
      BENCH_LOG_LEVEL: 'error',
    });
    cleanups.push(() => server.stop());
    const baseUrl = `${server.ready.url as string}/scim/v2`;
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' };

    const get = async (query: string): Promise<Page> => {
      const t0 = performance.now();
      const res = await fetch(`${baseUrl}/Users?${query}`, { headers });
      const body = (await res.json()) as { totalResults: number; Resources: { id: string }[]; nextCursor?: string };
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`GET /Users?${query}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
      return { ms, ids: body.Resources.map((r) => r.id), totalResults: body.totalResults, nextCursor: body.nextCursor };
    };

    /** Deletes a seeded user and creates a new one, CHURN_PER_SECOND of each, until stopped. */
    const churn = (pool: string[]) => {
      const deleted = new Set<string>();
      let created = 0;
      let failures = 0;
      let stopped = false;
      const loop = (async () => {
        while (!stopped && pool.length > 0) {
          const t0 = Date.now();
          const victim = pool.splice(Math.floor(Math.random() * pool.length), 1)[0];
          const del = await fetch(`${baseUrl}/Users/${victim}`, { method: 'DELETE', headers });
          if (del.status === 204) deleted.add(victim);
          else failures += 1;
          const userName = `churn-${Date.now()}-${created}@walk.example.org`;
          const post = await fetch(`${baseUrl}/Users`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, emails: [{ value: userName, primary: true }] }),
          });
          if (post.status === 201) created += 1;
          else failures += 1;
          await new Promise((r) => setTimeout(r, Math.max(0, 1000 / CHURN_PER_SECOND - (Date.now() - t0))));
        }
      })();
      return {
        deleted,
        async stop() {
          stopped = true;
          await loop;
          return { deleted: deleted.size, created, failures };
        },
      };
    };

    const summarise = (pages: Page[], wallMs: number) => {
      const sorted = pages.map((p) => p.ms).sort((a, b) => a - b);
      const mean = (xs: Page[]) => round(xs.reduce((s, p) => s + p.ms, 0) / Math.max(1, xs.length));
      return {
        pages: pages.length,
        totalSeconds: round(wallMs / 1000, 1),
        p50Ms: round(percentile(sorted, 50)),
        p99Ms: round(percentile(sorted, 99)),
        maxMs: round(sorted[sorted.length - 1] ?? 0),
        first50MeanMs: mean(pages.slice(0, 50)),
        last50MeanMs: mean(pages.slice(-50)),
        shortPages: pages.filter((p, i) => i < pages.length - 1 && p.ids.length < COUNT).length,
      };
    };

    /** Every id seeded and not deleted meanwhile listed exactly once; how many were repeated or missed. */
    const check = (seen: string[], throughout: string[]) => {
      const counts = new Map<string, number>();
      for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
      return {
        listed: seen.length,
        repeated: [...counts.values()].filter((n) => n > 1).length,
        missingOfThoseThroughout: throughout.filter((id) => !counts.has(id)).length,
      };
    };

    const walk = async (label: string, next: (previous: Page | undefined, startIndex: number) => string | undefined) => {
      const seeded = await seededIds(db, TENANT);
      const pool = [...seeded];
      const changes = churn(pool);
      const pages: Page[] = [];
      const t0 = performance.now();
      let startIndex = 1;
      for (let query = next(undefined, startIndex); query !== undefined; query = next(pages[pages.length - 1], startIndex)) {
        pages.push(await get(query));
        startIndex += COUNT;
      }
      const wallMs = performance.now() - t0;
      const churned = await changes.stop();
      const throughout = seeded.filter((id) => !changes.deleted.has(id));
      const result = {
        ...summarise(pages, wallMs),
        churn: churned,
        exactlyOnce: check(
          pages.flatMap((p) => p.ids),
          throughout,
        ),
      };
      log(`${label}: ${JSON.stringify(result)}`);
      return result;
    };

    const load0 = loadAverage();
    const index = await walk('index walk', (previous, startIndex) =>
      previous && startIndex > previous.totalResults ? undefined : `startIndex=${startIndex}&count=${COUNT}&attributes=userName`,
    );
    const cursor = await walk('cursor walk', (previous) =>
      !previous
        ? `cursor=&count=${COUNT}&attributes=userName`
        : previous.nextCursor
          ? `cursor=${previous.nextCursor}&count=${COUNT}&attributes=userName`
          : undefined,
    );
    // For contrast: a filtered listing still pages by OFFSET (list-query.ts), so its last page costs a scan of everything before it.
    const filter = `filter=${encodeURIComponent('active eq true')}`;
    const timed = async (query: string) => {
      const runs: number[] = [];
      for (let i = 0; i < 5; i++) runs.push((await get(query)).ms);
      return round(runs.sort((a, b) => a - b)[2]);
    };
    const offsetContrast = {
      firstPageMedianMs: await timed(`${filter}&startIndex=1&count=${COUNT}&attributes=userName`),
      lastPageMedianMs: await timed(`${filter}&startIndex=${USERS - COUNT + 1}&count=${COUNT}&attributes=userName`),
    };
    log(`filtered (OFFSET) pages: ${JSON.stringify(offsetContrast)}`);
    // Where an unfiltered page's time goes: its totalResults is a count over the tenant's index.
    const countRuns: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await db.query('SELECT count(*)::int AS n FROM scim_users r WHERE r.tenant_id = $1 AND (TRUE)', [TENANT]);
      countRuns.push(performance.now() - t0);
    }
    const totalResultsCountMedianMs = round(countRuns.sort((a, b) => a - b)[2]);
    log(`totalResults count alone: ${totalResultsCountMedianMs} ms (median of 5)`);

    const results = {
      date: new Date().toISOString(),
      users: USERS,
      count: COUNT,
      churnPerSecond: CHURN_PER_SECOND,
      machine: { cores: os.cpus().length, loadAverageBefore: load0, loadAverageAfter: loadAverage() },
      postgres: pg.version,
      seedSeconds: round(seedSeconds, 1),
      index,
      cursor,
      offsetContrast,
      totalResultsCountMedianMs,
    };
    const out = path.join(__dirname, 'results', `listing-walk-${USERS}.json`);
    fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    log(`written ${out}`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
