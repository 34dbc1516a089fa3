/** The metrics module and the Grafana dashboard that reads it, without services. */
import fs from 'node:fs';
import path from 'node:path';
import type { Queryable } from './db';
import { createMetrics, registerDatabaseGauges, runReadinessChecks, scimResourceOf } from './metrics';

function fakeDb(fail = false): Queryable {
  return {
    async query(sql: string) {
      if (fail) throw new Error('database unavailable');
      if (/FROM outbox/.test(sql)) return { rows: [{ pending: 3, oldest: 42.5 }] as never[], rowCount: 1 };
      if (/provisioning_states/.test(sql)) return { rows: [{ tenant_id: 'acme', state: 'failed', n: 2 }] as never[], rowCount: 1 };
      if (/FROM invitations/.test(sql)) return { rows: [{ tenant_id: 'acme', status: 'sent', n: 5 }] as never[], rowCount: 1 };
      return { rows: [], rowCount: 0 };
    },
    async exec() {},
  };
}

test('when scraped, then the database gauges show the outbox, workflows and invitations; a failing database sets scimflow_database_up 0', async () => {
  const m = createMetrics();
  registerDatabaseGauges(m, fakeDb());
  const text = await m.render();
  expect(text).toMatch(/^scimflow_outbox_pending 3$/m);
  expect(text).toMatch(/^scimflow_outbox_oldest_pending_age_seconds 42.5$/m);
  expect(text).toContain('scimflow_workflows{tenant="acme",state="failed"} 2');
  expect(text).toContain('scimflow_invitations{tenant="acme",status="sent"} 5');
  expect(text).toMatch(/^scimflow_database_up 1$/m);

  const down = createMetrics();
  registerDatabaseGauges(down, fakeDb(true));
  const downText = await down.render();
  expect(downText).toMatch(/^scimflow_database_up 0$/m);
  expect(downText).not.toContain('scimflow_workflows{');
});

test('when a path is labelled, then only known SCIM resource names are used', () => {
  expect(scimResourceOf('/Users/2819c223')).toBe('Users');
  expect(scimResourceOf('/Groups')).toBe('Groups');
  expect(scimResourceOf('/Bulk')).toBe('Bulk');
  expect(scimResourceOf('/')).toBe('root');
  expect(scimResourceOf('/jane.doe@example.org')).toBe('other');
});

test('when a readiness check hangs, then it fails after the time limit and the others still report', async () => {
  const r = await runReadinessChecks(
    {
      ok: async () => undefined,
      hangs: () => new Promise(() => undefined),
      broken: async () => {
        throw new Error('nope');
      },
    },
    50,
  );
  expect(r).toEqual({ ready: false, checks: { ok: 'ok', hangs: 'no answer within 50 ms', broken: 'nope' } });
});

test('when the Grafana dashboard queries a scimflow metric, then the metric exists', async () => {
  const m = createMetrics();
  registerDatabaseGauges(m, fakeDb());
  const known = new Set((await m.registry.getMetricsAsJSON()).map((x) => x.name));
  const dashboard = fs.readFileSync(path.join(__dirname, '..', 'docs', 'grafana-dashboard.json'), 'utf8');
  JSON.parse(dashboard);
  const used = new Set([...dashboard.matchAll(/\b(scimflow_[a-z0-9_]+)/g)].map((x) => x[1].replace(/_(bucket|count|sum)$/, '')));
  expect(used.size).toBeGreaterThan(10);
  expect([...used].filter((n) => !known.has(n))).toEqual([]);
});
