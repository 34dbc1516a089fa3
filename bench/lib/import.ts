/**
 * An Entra ID-style initial import: for each user, GET /Users?filter=userName eq "…" (it is
 * not there) then POST /Users, over a few concurrent connections. Measures when every user
 * was accepted (201) and when every user was onboarded (its invitation mail reached the SMTP
 * catcher and its provisioning state is `invited`), sampling the outbox, the processes and
 * the machine meanwhile. Bounded by a timeout: a slow run reports what it reached.
 */
import type { Db } from '../../common/db';
import type { CaughtMessage } from '../../dev/smtp-catcher';
import { outboxStats } from '../../common/repositories/outbox';
import { percentile } from './load';
import { cpuCores, loadAverage, machineCpu, sampleProcess, MB, type ProcSample } from './proc';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

export interface ImportOptions {
  db: Db;
  baseUrl: string;
  token: string;
  tenantId: string;
  users: number;
  connections: number;
  timeoutMs: number;
  sampleEveryMs: number;
  mails: CaughtMessage[];
  processes: Record<string, { pid: number; withChildren: boolean }>;
  log: (msg: string) => void;
}

export interface TimelinePoint {
  t: number;
  accepted: number;
  mails: number;
  invited: number;
  outboxPending: number;
  outboxOldestSeconds: number;
  load1: number;
  machineBusy: number;
  rssMB: Record<string, number>;
  cpuCores: Record<string, number>;
}

export interface ImportResult {
  users: number;
  connections: number;
  accepted: number;
  acceptSeconds: number | null;
  acceptedPerSecond: number;
  onboarded: number;
  invited: number;
  onboardSeconds: number | null;
  completed: boolean;
  timedOut: boolean;
  lookup: { p50Ms: number; p99Ms: number; count: number };
  create: { p50Ms: number; p99Ms: number; count: number; retries: number; failures: number; statusCodes: Record<string, number> };
  /** POST accepted → invitation mail received, per user. */
  onboardLatency: { p50Seconds: number; p90Seconds: number; p99Seconds: number; maxSeconds: number };
  outbox: {
    maxOldestUndeliveredSeconds: number;
    p50OldestUndeliveredSeconds: number;
    maxPending: number;
    /** From the outbox rows themselves: created_at → delivered_at. */
    deliveryLag: { p50Seconds: number; p99Seconds: number; maxSeconds: number; rows: number };
  };
  /** CPU seconds used by each process during the import (start → onboarded or timeout). */
  cpuSeconds: Record<string, number>;
  peakRssMB: Record<string, number>;
  timeline: TimelinePoint[];
}

function importUserName(i: number, tag: string): string {
  return `imp.user${i}.${tag}@example.org`;
}

function entraBody(userName: string, i: number): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
    externalId: `imp-${i}`,
    userName,
    active: true,
    displayName: `Import${i} User${i}`,
    title: 'Registered Nurse',
    emails: [{ primary: true, type: 'work', value: userName }],
    phoneNumbers: [{ primary: true, type: 'mobile', value: `+1 555 ${String(i).padStart(7, '0')}` }],
    meta: { resourceType: 'User' },
    name: { formatted: `Import${i} User${i}`, familyName: `User${i}`, givenName: `Import${i}` },
    roles: [],
    [ENTERPRISE]: { department: 'Nursing', employeeNumber: `I${i}` },
  };
}

export async function runImport(o: ImportOptions): Promise<ImportResult> {
  const tag = Date.now().toString(36);
  const headers = { Authorization: `Bearer ${o.token}`, Accept: 'application/scim+json', 'Content-Type': 'application/scim+json' };
  const acceptedAt = new Map<string, number>();
  const lookupMs: number[] = [];
  const createMs: number[] = [];
  const statusCodes: Record<string, number> = {};
  let retries = 0;
  let failures = 0;
  let nextIndex = 1;
  const start = Date.now();
  const deadline = start + o.timeoutMs;
  let acceptDone: number | null = null;

  const startSamples: Record<string, ProcSample> = {};
  for (const [name, p] of Object.entries(o.processes)) startSamples[name] = sampleProcess(p.pid, p.withChildren);
  const peakRss: Record<string, number> = {};
  const lastSamples = { ...startSamples };
  let lastMachine = machineCpu();
  const timeline: TimelinePoint[] = [];
  const oldestSeries: number[] = [];
  let maxPending = 0;
  let invited = 0;

  async function sample(): Promise<void> {
    const stats = await outboxStats(o.db).catch(() => ({ pending: -1, oldestAgeSeconds: -1 }));
    invited = (
      await o.db
        .query<{ n: number }>(`SELECT count(*)::int AS n FROM provisioning_states WHERE tenant_id = $1 AND state = 'invited'`, [o.tenantId])
        .catch(() => ({
          rows: [{ n: invited }],
        }))
    ).rows[0].n;
    const rss: Record<string, number> = {};
    const cores: Record<string, number> = {};
    for (const [name, p] of Object.entries(o.processes)) {
      const s = sampleProcess(p.pid, p.withChildren);
      rss[name] = round(s.rssBytes / MB, 1);
      peakRss[name] = Math.max(peakRss[name] ?? 0, rss[name]);
      cores[name] = round(cpuCores(lastSamples[name], s));
      lastSamples[name] = s;
    }
    const m = machineCpu();
    const busy = m.total > lastMachine.total ? (m.busy - lastMachine.busy) / (m.total - lastMachine.total) : 0;
    lastMachine = m;
    maxPending = Math.max(maxPending, stats.pending);
    oldestSeries.push(stats.oldestAgeSeconds);
    timeline.push({
      t: round((Date.now() - start) / 1000, 1),
      accepted: acceptedAt.size,
      mails: o.mails.length,
      invited,
      outboxPending: stats.pending,
      outboxOldestSeconds: round(stats.oldestAgeSeconds, 2),
      load1: loadAverage()[0],
      machineBusy: round(busy, 2),
      rssMB: rss,
      cpuCores: cores,
    });
  }

  let sampling = true;
  const sampler = (async () => {
    let lastLog = 0;
    while (sampling) {
      await sample();
      const p = timeline[timeline.length - 1];
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        o.log(
          `  t=${p.t}s accepted=${p.accepted} mails=${p.mails} invited=${p.invited} outbox pending=${p.outboxPending} oldest=${p.outboxOldestSeconds}s load=${p.load1}`,
        );
      }
      await new Promise((r) => setTimeout(r, o.sampleEveryMs));
    }
  })();

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; ms: number }> {
    for (let attempt = 0; ; attempt++) {
      const t0 = performance.now();
      try {
        const res = await fetch(`${o.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
        const text = await res.text();
        const ms = performance.now() - t0;
        if ((res.status >= 500 || res.status === 429) && attempt < 5 && Date.now() < deadline) {
          retries++;
          await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
          continue;
        }
        return { status: res.status, json: text ? JSON.parse(text) : undefined, ms };
      } catch (err) {
        if (attempt >= 5 || Date.now() >= deadline) throw err;
        retries++;
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      }
    }
  }

  const loops = Array.from({ length: o.connections }, async () => {
    for (let i = nextIndex++; i <= o.users && Date.now() < deadline; i = nextIndex++) {
      const userName = importUserName(i, tag);
      try {
        const found = await call('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
        lookupMs.push(found.ms);
        if (found.status !== 200 || found.json?.totalResults !== 0) {
          failures++;
          continue;
        }
        const created = await call('POST', '/Users', entraBody(userName, i));
        createMs.push(created.ms);
        statusCodes[created.status] = (statusCodes[created.status] ?? 0) + 1;
        if (created.status === 201) acceptedAt.set(userName, Date.now());
        else failures++;
      } catch {
        failures++;
      }
    }
  });
  await Promise.all(loops);
  acceptDone = Date.now();
  const acceptSeconds = (acceptDone - start) / 1000;
  o.log(
    `  accepted ${acceptedAt.size}/${o.users} in ${acceptSeconds.toFixed(1)} s (${(acceptedAt.size / acceptSeconds).toFixed(0)}/s); waiting for onboarding`,
  );

  // Onboarded: the invitation mail arrived and the workflow recorded `invited`.
  let onboardedAt: number | null = null;
  while (Date.now() < deadline) {
    if (o.mails.length >= acceptedAt.size && invited >= acceptedAt.size && acceptedAt.size > 0) {
      onboardedAt = Date.now();
      break;
    }
    await new Promise((r) => setTimeout(r, 250)); // the sampler refreshes `invited`
  }
  sampling = false;
  await sampler;
  await sample();

  const cpuSeconds: Record<string, number> = {};
  for (const [name, p] of Object.entries(o.processes))
    cpuSeconds[name] = round(sampleProcess(p.pid, p.withChildren).cpuSeconds - startSamples[name].cpuSeconds, 1);

  const mailLatency: number[] = [];
  for (const m of o.mails) {
    const at = acceptedAt.get((m.to[0] ?? '').toLowerCase());
    if (at !== undefined) mailLatency.push((m.receivedAt.getTime() - at) / 1000);
  }
  mailLatency.sort((a, b) => a - b);
  lookupMs.sort((a, b) => a - b);
  createMs.sort((a, b) => a - b);
  const lag = (
    await o.db.query<{ p50: number | null; p99: number | null; mx: number | null; n: number }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM delivered_at - created_at))::float8 AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM delivered_at - created_at))::float8 AS p99,
              max(EXTRACT(EPOCH FROM delivered_at - created_at))::float8 AS mx, count(*)::int AS n
       FROM outbox WHERE tenant_id = $1 AND delivered_at IS NOT NULL`,
      [o.tenantId],
    )
  ).rows[0];
  const sortedOldest = oldestSeries.filter((x) => x >= 0).sort((a, b) => a - b);
  return {
    users: o.users,
    connections: o.connections,
    accepted: acceptedAt.size,
    acceptSeconds: round(acceptSeconds, 1),
    acceptedPerSecond: round(acceptedAt.size / acceptSeconds, 1),
    onboarded: Math.min(o.mails.length, invited),
    invited,
    onboardSeconds: onboardedAt ? round((onboardedAt - start) / 1000, 1) : null,
    completed: onboardedAt !== null && acceptedAt.size === o.users,
    timedOut: onboardedAt === null,
    lookup: { p50Ms: round(percentile(lookupMs, 50)), p99Ms: round(percentile(lookupMs, 99)), count: lookupMs.length },
    create: { p50Ms: round(percentile(createMs, 50)), p99Ms: round(percentile(createMs, 99)), count: createMs.length, retries, failures, statusCodes },
    onboardLatency: {
      p50Seconds: round(percentile(mailLatency, 50), 1),
      p90Seconds: round(percentile(mailLatency, 90), 1),
      p99Seconds: round(percentile(mailLatency, 99), 1),
      maxSeconds: round(mailLatency[mailLatency.length - 1] ?? 0, 1),
    },
    outbox: {
      maxOldestUndeliveredSeconds: round(sortedOldest[sortedOldest.length - 1] ?? 0),
      p50OldestUndeliveredSeconds: round(percentile(sortedOldest, 50)),
      maxPending,
      deliveryLag: { p50Seconds: round(lag.p50 ?? 0, 3), p99Seconds: round(lag.p99 ?? 0, 3), maxSeconds: round(lag.mx ?? 0, 3), rows: lag.n },
    },
    cpuSeconds,
    peakRssMB: peakRss,
    timeline,
  };
}
