/**
 * Two SCIM servers written by others, each on a real PostgreSQL, for the tests of the outbound
 * SCIM connector (connectors/scim-connector.int.test.ts, connectors/scim-lifecycle.int.test.ts):
 * django-scim2 on Django and Better Auth's SCIM plugin, started through ../shared/peers/peers.sh
 * (dependencies install on first use into PEERS_DIR, default /tmp/peers: minutes the first time)
 * on free ports. A peer or PostgreSQL that was already running is reused and left running; only
 * what was started here is stopped. Without ../shared/peers (a machine without the peers) the
 * suites skip, saying why (`HAVE_PEERS`, `describeWithPeers`).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../dev/temporal-dev-server';

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '..');
export const PEERS_SH = path.resolve(REPO, '..', 'shared', 'peers', 'peers.sh');
export const PEERS_DIR = process.env.PEERS_DIR ?? '/tmp/peers';
export const HAVE_PEERS = fs.existsSync(PEERS_SH);

/** Long enough for a first start, which installs the peers' dependencies. */
export const PEERS_START_TIMEOUT_MS = 15 * 60_000;

/** `describe` where the peers can be started, else `describe.skip` after saying why (once, at load time). */
export function describeWithPeers(testFile: string): jest.Describe {
  if (!HAVE_PEERS) {
    console.log(`${testFile} skipped: ${PEERS_SH} does not exist (it starts the SCIM peers django-scim2 and Better Auth)`);
    return describe.skip;
  }
  return describe;
}

export interface PeerSpec {
  name: string;
  /** peers.sh sub-commands and the folder holding its pid and port files. */
  start: string;
  stop: string;
  dir: string;
  /** What its default adapters keep (the rest reads back empty). */
  stores: { title: boolean; phones: boolean; rolesAndEntitlements: boolean };
  /** Entries it accepts in one multi-valued attribute (Better Auth: 10), when it has a limit. */
  maxEntitlements?: number;
}

export const PEERS: PeerSpec[] = [
  { name: 'django-scim2', start: 'django-start', stop: 'django-stop', dir: 'django', stores: { title: false, phones: false, rolesAndEntitlements: false } },
  {
    name: 'Better Auth',
    start: 'better-auth-start',
    stop: 'better-auth-stop',
    dir: 'better-auth',
    stores: { title: true, phones: true, rolesAndEntitlements: true },
    maxEntitlements: 10,
  },
];

export interface RunningPeer {
  /** The SCIM base URL (…/scim/v2). */
  base: string;
  /** Its bearer token. */
  token: string;
}

async function peersSh(...args: string[]): Promise<string> {
  const { stdout } = await run('bash', [PEERS_SH, ...args], {
    env: { ...process.env, PEERS_DIR },
    maxBuffer: 10 * 1024 * 1024,
    timeout: PEERS_START_TIMEOUT_MS,
  });
  return stdout;
}

/** The pid in a pid file, when that process is alive. */
function alivePid(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').split('\n')[0].trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

export interface StartedPeers {
  running: Map<string, RunningPeer>;
  /** Stops what this start started (peers, then PostgreSQL), nothing that was running before. */
  stop(): Promise<void>;
}

/** Starts (or reuses) PostgreSQL and each peer; `log` names the caller in its lines. */
export async function startPeers(log: string, peers: PeerSpec[] = PEERS): Promise<StartedPeers> {
  const started: string[] = [];
  const running = new Map<string, RunningPeer>();
  const startedPostgres = alivePid(path.join(PEERS_DIR, 'pgdata', 'postmaster.pid')) === null;
  const say = (line: string) => process.stderr.write(`[${log}] ${line}\n`);
  const stop = async () => {
    for (const s of started) await peersSh(s).catch((err: Error) => say(`peers.sh ${s}: ${err.message}`));
    if (startedPostgres) await peersSh('pg-stop').catch((err: Error) => say(`peers.sh pg-stop: ${err.message}`));
  };
  try {
    await peersSh('pg-start');
    for (const peer of peers) {
      const dir = path.join(PEERS_DIR, peer.dir);
      // A peer already running is reused on its own port (peers.sh restarts one asked for on another port).
      const reuse = alivePid(path.join(dir, 'server.pid')) !== null;
      const port = reuse ? Number(fs.readFileSync(path.join(dir, 'server.port'), 'utf8').trim()) : await freePort();
      if (!reuse) started.push(peer.stop);
      const out = await peersSh(peer.start, String(port));
      const base = /^BASE=(.+)$/m.exec(out)?.[1];
      const token = /^TOKEN=(.+)$/m.exec(out)?.[1];
      if (!base || !token) throw new Error(`peers.sh ${peer.start} printed no BASE/TOKEN: ${out}`);
      running.set(peer.name, { base, token });
      say(`${peer.name} at ${base}${reuse ? ' (already running, reused)' : ''}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { running, stop };
}

/** The ids of the peer's users with this userName, straight from its /Users (each one checked: a filter may be ignored). */
export async function peerUsersNamed(peer: RunningPeer, userName: string): Promise<{ id: string; active: boolean }[]> {
  const res = await fetch(`${peer.base}/Users?filter=${encodeURIComponent(`userName eq ${JSON.stringify(userName)}`)}`, {
    headers: { authorization: `Bearer ${peer.token}` },
  });
  if (res.status !== 200) throw new Error(`GET ${peer.base}/Users?filter=userName eq … answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { Resources?: { id: string; userName: string; active?: boolean }[] };
  return (body.Resources ?? []).filter((r) => r.userName.toLowerCase() === userName.toLowerCase()).map((r) => ({ id: r.id, active: r.active === true }));
}
