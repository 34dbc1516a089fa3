/** The targets of the brief, judged on a run's results, and the markdown summary printed to stdout. */

type Results = Record<string, any>;

export interface TargetResult {
  target: string;
  measured: string;
  pass: boolean | null;
  note?: string;
}

const SCENARIO_LABELS: Record<string, string> = {
  filter: 'GET /Users?filter=userName eq',
  getById: 'GET /Users/{id}',
  list: 'GET /Users?startIndex&count=100',
  post: 'POST /Users',
  put: 'PUT /Users/{id}',
  patchAttr: 'PATCH /Users/{id} (replace title)',
  patchGroup: 'PATCH /Groups/{id} (add/remove member, ~10k members)',
};

export function evaluateTargets(r: Results, cfg: { importUsers: number; scales: number[] }): TargetResult[] {
  const out: TargetResult[] = [];
  const filters = (r.scim ?? []).filter((s: any) => s.name === 'filter');
  const at100k = filters.find((s: any) => s.scale === 100_000) ?? filters[filters.length - 1];
  out.push(
    at100k
      ? {
          target: 'GET userName eq p99 < 20 ms at 100,000 users',
          measured: `p99 ${at100k.p99Ms} ms at ${at100k.usersInTenant.toLocaleString('en')} users (${at100k.connections} connections, ${at100k.reqPerSec} req/s)`,
          pass: at100k.p99Ms < 20 && at100k.non2xx === 0,
          note: at100k.scale === 100_000 ? undefined : `largest scale run was ${at100k.scale}`,
        }
      : { target: 'GET userName eq p99 < 20 ms at 100,000 users', measured: 'not run', pass: null },
  );
  const imp = r.import;
  const scaled = cfg.importUsers !== 10_000 ? `import of ${cfg.importUsers} users, not 10,000` : undefined;
  out.push(
    imp
      ? {
          target: '10,000 creates accepted at >= 500/s',
          measured: `${imp.accepted.toLocaleString('en')} accepted in ${imp.acceptSeconds} s = ${imp.acceptedPerSecond}/s (GET+POST per user, ${imp.connections} connections)`,
          pass: imp.acceptedPerSecond >= 500 && imp.accepted === imp.users,
          note: scaled,
        }
      : { target: '10,000 creates accepted at >= 500/s', measured: 'not run', pass: null },
  );
  out.push(
    imp
      ? {
          target: '10,000 users onboarded end to end in < 10 min',
          measured:
            imp.onboardSeconds !== null
              ? `${imp.onboarded.toLocaleString('en')} onboarded in ${imp.onboardSeconds} s (${(imp.onboardSeconds / 60).toFixed(1)} min)`
              : `${imp.onboarded} of ${imp.accepted} onboarded before the timeout`,
          pass: imp.completed && imp.onboardSeconds !== null && imp.onboardSeconds < 600,
          note: scaled,
        }
      : { target: '10,000 users onboarded end to end in < 10 min', measured: 'not run', pass: null },
  );
  const w = r.worker;
  out.push(
    w
      ? {
          target: 'worker RSS < 400 MB with 10,000 users waiting',
          measured: `${w.settled.rssMB} MB with ${(w.usersWaiting.invited ?? 0).toLocaleString('en')} users waiting (peak during import ${w.settled.peakRssMB} MB)`,
          pass: w.settled.rssMB < 400 && (w.usersWaiting.invited ?? 0) >= Math.min(10_000, cfg.importUsers),
          note: scaled,
        }
      : { target: 'worker RSS < 400 MB with 10,000 users waiting', measured: 'not run', pass: null },
  );
  return out;
}

const verdict = (p: boolean | null) => (p === null ? 'not run' : p ? 'PASS' : 'FAIL');

export function renderMarkdown(r: Results): string {
  const lines: string[] = [];
  const m = r.machine;
  lines.push(
    `# scimflow benchmark, ${r.startedAt} (commit ${r.code?.commit ?? '?'}${r.code?.uncommittedFiles ? ` + ${r.code.uncommittedFiles} uncommitted files` : ''})`,
    '',
  );
  lines.push(
    `Machine: ${m.nproc} cores (${m.cpuModel}), ${m.memTotalGiB} GiB, load ${m.load.join(' ')} at start, ${r.machineAfter?.load?.join(' ') ?? '?'} at end; ${m.node}; ` +
      `PostgreSQL ${r.postgres?.version ?? '(DATABASE_URL)'}${r.postgres?.settings ? ` fsync=${r.postgres.settings.fsync}` : ''}; Temporal ${String(r.temporal?.version ?? '').split('\n')[0]}. Total ${r.totalSeconds} s.`,
    '',
  );
  if (r.scim?.length) {
    const c = r.scim[0];
    lines.push(`## SCIM API (autocannon, ${c.connections} connections, ${c.durationSeconds} s per row)`, '');
    lines.push(
      '| scenario | users | req/s | p50 ms | p99 ms | errors | non-2xx | CPU ms/req server / PostgreSQL | CPU cores server / PostgreSQL / Temporal / load gen. | load1 |',
    );
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |');
    for (const s of r.scim) {
      lines.push(
        `| ${SCENARIO_LABELS[s.name] ?? s.name} | ${s.usersInTenant.toLocaleString('en')} | ${s.reqPerSec} | ${s.p50Ms} | ${s.p99Ms} | ${s.errors + s.timeouts} | ${s.non2xx} | ${s.serverCpuMsPerRequest} / ${s.postgresCpuMsPerRequest} | ${s.serverCpuCores} / ${s.postgresCpuCores} / ${s.temporalCpuCores} / ${s.benchCpuCores} | ${s.load1} |`,
      );
    }
    lines.push('');
  }
  if (r.serviceLayerCpuMicros) {
    lines.push('## CPU of the SCIM service layer per call (instant database, µs)', '', '| path | µs |', '| --- | ---: |');
    for (const [k, v] of Object.entries(r.serviceLayerCpuMicros)) lines.push(`| ${k} | ${v} |`);
    lines.push('');
  }
  if (r.embedded) {
    lines.push('## Embedded PostgreSQL server (all-in-one mode, default settings), 10,000 users', '');
    lines.push(
      '| scenario | req/s | p50 ms | p99 ms | errors | non-2xx | server CPU cores | CPU ms/req |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const s of r.embedded.scenarios)
      lines.push(
        `| ${SCENARIO_LABELS[s.name] ?? s.name} | ${s.reqPerSec} | ${s.p50Ms} | ${s.p99Ms} | ${s.errors + s.timeouts} | ${s.non2xx} | ${s.serverCpuCores} | ${s.serverCpuMsPerRequest} |`,
      );
    lines.push('');
  }
  if (r.explain?.length) {
    lines.push('## EXPLAIN ANALYZE at the largest scale (median of 5, execution ms)', '');
    lines.push('| statement | execution ms |', '| --- | ---: |');
    for (const e of r.explain) lines.push(`| ${e.name} | ${e.executionMs} |`);
    lines.push('');
  }
  if (r.import) {
    const i = r.import;
    lines.push(`## Import (Entra-style GET userName eq + POST, ${i.connections} connections), propagation windows 0 s`, '');
    lines.push('| figure | value |', '| --- | --- |');
    lines.push(`| users accepted | ${i.accepted} of ${i.users} in ${i.acceptSeconds} s = **${i.acceptedPerSecond}/s** |`);
    lines.push(`| lookup GET p50 / p99 | ${i.lookup.p50Ms} / ${i.lookup.p99Ms} ms |`);
    lines.push(`| POST p50 / p99 | ${i.create.p50Ms} / ${i.create.p99Ms} ms (retries ${i.create.retries}, failures ${i.create.failures}) |`);
    lines.push(
      `| all onboarded (mail received + state invited) | ${i.onboardSeconds !== null ? `**${i.onboardSeconds} s**` : `not within the timeout (${i.onboarded} done)`} |`,
    );
    lines.push(
      `| per user, accepted → invitation mail | p50 ${i.onboardLatency.p50Seconds} s, p90 ${i.onboardLatency.p90Seconds} s, p99 ${i.onboardLatency.p99Seconds} s |`,
    );
    lines.push(
      `| outbox: oldest undelivered change (max / median of samples) | ${i.outbox.maxOldestUndeliveredSeconds} s / ${i.outbox.p50OldestUndeliveredSeconds} s; max pending ${i.outbox.maxPending} |`,
    );
    lines.push(
      `| outbox: created → delivered per row | p50 ${i.outbox.deliveryLag.p50Seconds} s, p99 ${i.outbox.deliveryLag.p99Seconds} s, max ${i.outbox.deliveryLag.maxSeconds} s |`,
    );
    lines.push(
      `| CPU seconds during import | ${Object.entries(i.cpuSeconds)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')} |`,
    );
    lines.push(
      `| peak RSS MB during import | ${Object.entries(i.peakRssMB)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')} |`,
    );
    lines.push('');
  }
  if (r.importStatements) {
    const st = r.importStatements;
    lines.push(
      `PostgreSQL during the import: ${st.statementsPerUser} statements and ${st.executionMsPerUser} ms of execution per user. Top statements by time:`,
      '',
    );
    lines.push('| statement | calls/user | mean ms | share of time |', '| --- | ---: | ---: | ---: |');
    for (const q of st.top.slice(0, 8))
      lines.push(`| \`${q.query.replace(/\|/g, '\\|').slice(0, 110)}\` | ${q.callsPerUser} | ${q.meanMs} | ${Math.round(q.shareOfTime * 100)}% |`);
    lines.push('');
  }
  if (r.worker) {
    const w = r.worker;
    lines.push('## Worker with the imported users waiting', '');
    lines.push(
      `RSS ${w.settled.rssMB} MB (peak ${w.settled.peakRssMB} MB, idle before import ${w.idleBeforeImport.rssMB} MB, ${w.settled.rssAfterGcMB} MB after a forced GC), main-thread heap used ${Math.round(w.settled.heap.heapUsed / 1048576)} MB (${Math.round(w.settled.heapAfterGc.heapUsed / 1048576)} MB after GC), CPU ${w.settled.cpuCores} cores while waiting; states ${JSON.stringify(w.usersWaiting)}; Temporal dev server RSS ${w.temporalDevServer.rssMB} MB.`,
      '',
    );
  }
  if (r.costModel?.temporal) {
    const t = r.costModel.temporal;
    lines.push(
      `History per onboarding: ${t.eventsPerOnboarding} events (~${Math.round(t.historyJsonBytesPerOnboarding / 1024)} KiB as JSON). Rows per user: ${Object.entries(
        r.costModel.rowsPerUser,
      )
        .filter(([, v]) => (v as number) > 0)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}.`,
      '',
    );
  }
  lines.push('## Targets', '', '| target | measured | result |', '| --- | --- | --- |');
  for (const t of r.targets ?? []) lines.push(`| ${t.target} | ${t.measured}${t.note ? ` (${t.note})` : ''} | **${verdict(t.pass)}** |`);
  lines.push('');
  return `${lines.join('\n')}\n`;
}
