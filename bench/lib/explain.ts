/**
 * EXPLAIN ANALYZE of the statements the hot paths run, captured from the repositories
 * themselves (a Queryable that records SQL instead of running it), so what is measured is
 * exactly what the server sends. Writes run inside a transaction that is rolled back.
 */
import crypto from 'node:crypto';
import type { Db, Queryable, QueryResult } from '../../common/db';
import { claimDue } from '../../common/repositories/outbox';
import * as groups from '../../common/repositories/scim-groups';
import * as users from '../../common/repositories/scim-users';
import { parseListRequest } from '../../scim-server/list-params';

interface Captured {
  sql: string;
  params: unknown[];
}

function recorder(): { q: Queryable; calls: Captured[] } {
  const calls: Captured[] = [];
  const q: Queryable = {
    async query<R>(sql: string, params?: readonly unknown[]) {
      calls.push({ sql, params: [...(params ?? [])] });
      return { rows: [{ n: 0, version: 1 }], rowCount: 0 } as unknown as QueryResult<R>;
    },
    async exec(sql: string) {
      calls.push({ sql, params: [] });
    },
  };
  return { q, calls };
}

export interface ExplainResult {
  name: string;
  sql: string;
  executionMs: number;
  planningMs: number;
  plan: string[];
}

async function explainOne(db: Db, c: Captured, write: boolean, runs = 5): Promise<{ executionMs: number; planningMs: number; plan: string[] }> {
  // The median of a few runs: the first one may read pages from disk.
  const results: { executionMs: number; planningMs: number; plan: string[] }[] = [];
  for (let i = 0; i < runs; i++) {
    const run = async (tx: Queryable) => {
      const rows = (await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${c.sql}`, c.params)).rows.map((r) => r['QUERY PLAN']);
      const exec = Number(/Execution Time: ([\d.]+) ms/.exec(rows.join('\n'))?.[1] ?? NaN);
      const plan = Number(/Planning Time: ([\d.]+) ms/.exec(rows.join('\n'))?.[1] ?? NaN);
      return { executionMs: exec, planningMs: plan, plan: rows.filter((l) => !/^(Planning|Execution) Time/.test(l.trim())).slice(0, 14) };
    };
    if (write) {
      let out: { executionMs: number; planningMs: number; plan: string[] } | undefined;
      await db
        .withTransaction(async (tx) => {
          out = await run(tx);
          throw new RollbackSignal();
        })
        .catch((err) => {
          if (!(err instanceof RollbackSignal)) throw err;
        });
      results.push(out as never);
    } else {
      results.push(await run(db));
    }
  }
  results.sort((a, b) => a.executionMs - b.executionMs);
  return results[Math.floor(results.length / 2)];
}

class RollbackSignal extends Error {}

export async function explainHotPaths(
  db: Db,
  ctx: { tenantId: string; userCount: number; sampleId: string; otherId: string; groupId: string; memberId: string },
): Promise<ExplainResult[]> {
  const statements: { name: string; write: boolean; capture: (q: Queryable) => Promise<unknown>; pick?: number }[] = [
    {
      // A unique-key equality: one statement gives the row and the total (common/repositories/list-query.ts).
      name: 'GET /Users?filter=userName eq (row and total, one statement)',
      write: false,
      capture: (q) =>
        users.listUsersWithTotal(
          q,
          ctx.tenantId,
          parseListRequest({ filter: `userName eq "bench.user${Math.floor(ctx.userCount / 2)}@example.org"` }, 'User', ctx.tenantId).query,
        ),
    },
    {
      name: 'GET /Users?startIndex=N/2&count=100 (rows)',
      write: false,
      capture: (q) =>
        users.listUsers(q, ctx.tenantId, parseListRequest({ startIndex: String(Math.floor(ctx.userCount / 2)), count: '100' }, 'User', ctx.tenantId).query),
    },
    {
      name: 'GET /Users (totalResults count, no filter)',
      write: false,
      capture: (q) => {
        const r = parseListRequest({ count: '100' }, 'User', ctx.tenantId).query;
        return users.countUsers(q, ctx.tenantId, r.where, r.params);
      },
    },
    { name: "GET /Users/{id} (also the worker activities' read, every step)", write: false, capture: (q) => users.getUser(q, ctx.tenantId, ctx.sampleId) },
    { name: 'PUT/PATCH /Users/{id}: SELECT ... FOR UPDATE', write: true, capture: (q) => users.getUserForUpdate(q, ctx.tenantId, ctx.sampleId) },
    {
      name: 'PUT/PATCH /Users/{id}: UPDATE scim_users + outbox row (one statement)',
      write: true,
      capture: (q) =>
        users.updateUser(q, ctx.tenantId, ctx.sampleId, { userName: `bench.explain.${Date.now()}@example.org`, emails: [], title: 'x' }, [
          { tenantId: ctx.tenantId, resourceType: 'User', resourceId: ctx.sampleId, change: 'updated', resourceVersion: 2, requestId: 'bench-explain' },
        ]),
    },
    {
      name: 'POST /Users: INSERT scim_users + outbox row (one statement)',
      write: true,
      capture: (q) => {
        const id = crypto.randomUUID();
        return users.insertUser(q, ctx.tenantId, id, { userName: `bench.explain.${Date.now()}@example.org`, emails: [{ value: 'x@example.org' }] }, [
          { tenantId: ctx.tenantId, resourceType: 'User', resourceId: id, change: 'created', resourceVersion: users.FIRST_VERSION, requestId: 'bench-explain' },
        ]);
      },
    },
    { name: 'PATCH /Groups/{id}: SELECT group FOR UPDATE', write: true, capture: (q) => groups.getGroup(q, ctx.tenantId, ctx.groupId, true) },
    { name: 'PATCH /Groups/{id}: resolveMemberTypes', write: false, capture: (q) => groups.resolveMemberTypes(q, ctx.tenantId, [ctx.otherId]) },
    { name: 'PATCH /Groups/{id}: removeMembers', write: true, capture: (q) => groups.removeMembers(q, ctx.tenantId, ctx.groupId, [ctx.memberId]) },
    {
      name: 'PATCH /Groups/{id}: addMembers',
      write: true,
      capture: (q) => groups.addMembers(q, ctx.tenantId, ctx.groupId, [{ id: ctx.otherId, type: 'User' }]),
    },
    { name: 'PATCH /Groups/{id}: touchGroup', write: true, capture: (q) => groups.touchGroup(q, ctx.tenantId, ctx.groupId) },
    { name: 'outbox relay: claimDue(200)', write: true, capture: (q) => claimDue(q, 200, 30_000) },
  ];
  const out: ExplainResult[] = [];
  for (const s of statements) {
    const { q, calls } = recorder();
    await s.capture(q);
    const c = calls[0];
    const base = await explainOne(db, c, s.write);
    const result: ExplainResult = { name: s.name, sql: c.sql.replace(/\s+/g, ' ').trim(), ...base };
    out.push(result);
  }
  return out;
}
