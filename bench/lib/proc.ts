/** CPU and memory of a process (and optionally its descendants) from /proc, Linux only. */
import fs from 'node:fs';
import os from 'node:os';

const CLK_TCK = 100; // getconf CLK_TCK on Linux x86-64 and arm64

export interface ProcSample {
  at: number;
  /** CPU seconds (user + system) used so far. */
  cpuSeconds: number;
  rssBytes: number;
  /** Peak RSS (VmHWM) of the root process. */
  hwmBytes: number;
  processes: number;
}

function statOf(pid: number): { ppid: number; cpuTicks: number } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name is in parentheses and may hold spaces: split after the last ')'
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime is field 14, stime field 15
    return { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

function statusField(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = statOf(Number(entry));
    if (!s) continue;
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop() as number;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

export function sampleProcess(pid: number, withChildren = false): ProcSample {
  const pids = withChildren ? descendants(pid) : [pid];
  let ticks = 0;
  let rss = 0;
  for (const p of pids) {
    ticks += statOf(p)?.cpuTicks ?? 0;
    rss += statusField(p, 'VmRSS');
  }
  return { at: Date.now(), cpuSeconds: ticks / CLK_TCK, rssBytes: rss, hwmBytes: statusField(pid, 'VmHWM'), processes: pids.length };
}

/** Average CPU use between two samples, in cores (1.0 = one core busy). */
export function cpuCores(a: ProcSample, b: ProcSample): number {
  return b.at > a.at ? (b.cpuSeconds - a.cpuSeconds) / ((b.at - a.at) / 1000) : 0;
}

export function loadAverage(): [number, number, number] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100) as [number, number, number];
}

/** Whole-machine CPU busy fraction between two readings of /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = line[3] + (line[4] ?? 0);
  const total = line.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

export const MB = 1024 * 1024;

/** Every process's parent and CPU ticks so far, and its command line. */
function processTable(): Map<number, { ppid: number; ticks: number; cmd: string }> {
  const table = new Map<number, { ppid: number; ticks: number; cmd: string }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = statOf(Number(entry));
    if (!s) continue;
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      // gone meanwhile
    }
    table.set(Number(entry), { ppid: s.ppid, ticks: s.cpuTicks, cmd });
  }
  return table;
}

/** The role of a process `npm start` runs, from its command line. */
function roleOf(cmd: string): string {
  if (/scim-server\/main/.test(cmd)) return 'server';
  if (/worker\/main/.test(cmd)) return 'worker';
  if (/start-dev/.test(cmd)) return 'temporal';
  if (/postgres/.test(cmd)) return 'postgres';
  if (/start-all/.test(cmd)) return 'start';
  return 'other';
}

/** CPU seconds so far of each kind of process under `root` (an `npm start`): server, worker, temporal, postgres, start, other. */
export function cpuByRole(root: number): Record<string, number> {
  const table = processTable();
  const out: Record<string, number> = {};
  for (const pid of treeOf(root, table)) {
    const p = table.get(pid);
    if (p) out[roleOf(p.cmd)] = (out[roleOf(p.cmd)] ?? 0) + p.ticks / CLK_TCK;
  }
  return out;
}

/** CPU seconds so far of `root` and its descendants. */
export function treeCpuSeconds(root: number): number {
  const table = processTable();
  return treeOf(root, table).reduce((s, pid) => s + (table.get(pid)?.ticks ?? 0), 0) / CLK_TCK;
}

function treeOf(root: number, table: Map<number, { ppid: number }>): number[] {
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop() as number;
    out.push(pid);
    for (const [child, q] of table) if (q.ppid === pid) stack.push(child);
  }
  return out;
}
