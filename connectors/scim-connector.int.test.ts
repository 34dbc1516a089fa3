/**
 * The outbound SCIM connector against two SCIM servers written by others, each on a real
 * PostgreSQL (../shared/peers: django-scim2 0.23 on Django, Better Auth's SCIM plugin): create,
 * find again after a simulated crash (no second account), apply, block and enable login (PATCH,
 * and the PUT fallback), read back, terminate (twice), and the latency of each call.
 *
 * The peers start here through ../shared/peers/peers.sh (dependencies install on first use into
 * PEERS_DIR, default /tmp/peers: minutes the first time) on free ports; a peer or PostgreSQL that
 * was already running is reused and left running, and only what this file started is stopped.
 * Without ../shared/peers (a machine without the peers) the suite is skipped, saying why.
 *
 * What a peer does not store is asserted as absent (the gap is the peer's, documented in
 * docs/connectors.md): django-scim2's default adapter keeps userName, name, displayName, one
 * email, externalId and active only.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../dev/temporal-dev-server';
import { SETTING_KINDS, type SettingKind } from '../domain/roles';
import { ConnectorError, type AccountState, type ConnectorCall } from './port';
import { createScimConnector } from './scim';

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '..');
const PEERS_SH = path.resolve(REPO, '..', 'shared', 'peers', 'peers.sh');
const PEERS_DIR = process.env.PEERS_DIR ?? '/tmp/peers';
const HAVE_PEERS = fs.existsSync(PEERS_SH);
if (!HAVE_PEERS) {
  console.log(`connectors/scim-connector.int.test.ts skipped: ${PEERS_SH} does not exist (it starts the SCIM peers django-scim2 and Better Auth)`);
}
const describeWithPeers = HAVE_PEERS ? describe : describe.skip;

const START_TIMEOUT_MS = 15 * 60_000;
const CYCLES = 20;

interface PeerSpec {
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

const PEERS: PeerSpec[] = [
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

interface RunningPeer {
  base: string;
  token: string;
}

async function peersSh(...args: string[]): Promise<string> {
  const { stdout } = await run('bash', [PEERS_SH, ...args], { env: { ...process.env, PEERS_DIR }, maxBuffer: 10 * 1024 * 1024, timeout: START_TIMEOUT_MS });
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

const started = new Set<string>();
const running = new Map<string, RunningPeer>();
let startedPostgres = false;

async function startPeers(): Promise<void> {
  startedPostgres = alivePid(path.join(PEERS_DIR, 'pgdata', 'postmaster.pid')) === null;
  await peersSh('pg-start');
  for (const peer of PEERS) {
    const dir = path.join(PEERS_DIR, peer.dir);
    // A peer already running is reused on its own port (peers.sh restarts one asked for on another port).
    const reuse = alivePid(path.join(dir, 'server.pid')) !== null;
    const port = reuse ? Number(fs.readFileSync(path.join(dir, 'server.port'), 'utf8').trim()) : await freePort();
    if (!reuse) started.add(peer.stop);
    const out = await peersSh(peer.start, String(port));
    const base = /^BASE=(.+)$/m.exec(out)?.[1];
    const token = /^TOKEN=(.+)$/m.exec(out)?.[1];
    if (!base || !token) throw new Error(`peers.sh ${peer.start} printed no BASE/TOKEN: ${out}`);
    running.set(peer.name, { base, token });
    process.stderr.write(`[scim-connector] ${peer.name} at ${base}${reuse ? ' (already running, reused)' : ''}\n`);
  }
}

async function stopPeers(): Promise<void> {
  for (const stop of started) await peersSh(stop).catch((err: Error) => process.stderr.write(`[scim-connector] peers.sh ${stop}: ${err.message}\n`));
  if (startedPostgres) await peersSh('pg-stop').catch((err: Error) => process.stderr.write(`[scim-connector] peers.sh pg-stop: ${err.message}\n`));
}

const settings = (over: Partial<Record<SettingKind, string[]>> = {}) =>
  ({ ...Object.fromEntries(SETTING_KINDS.map((k) => [k, []])), ...over }) as Record<SettingKind, string[]>;

function accountFor(tag: string): AccountState {
  return {
    profile: {
      externalId: `emp-${tag}`,
      firstName: 'Ann',
      lastName: 'Lee',
      title: 'RN',
      email: `ann.${tag}@example.com`,
      primaryPhone: '+15551234567',
      alternatePhones: ['+442071234567'],
      displayName: 'Ann Lee',
    },
    loginEnabled: false,
    organisations: [
      { orgKey: 'north', kind: 'primary', role: 'Client Admin' },
      { orgKey: 'east', kind: 'extra', role: null },
    ],
    licences: [{ orgKey: 'north', licenceLevel: 'Enterprise', mobileLicence: 'Mobile' }],
    providerAccounts: [{ providerType: 'RN', orgKey: 'north' }],
    access: {
      securityRole: 'VOB Worker',
      employeeType: 'Nurse',
      caseManager: true,
      allowGridExport: false,
      receivesDocumentation: false,
      settings: settings({ employeeArea: ['Care Coordinator'], team: ['Intake'] }),
    },
  };
}

/** What a peer that stores only some of the account reads back. */
function asStoredBy(a: AccountState, stores: PeerSpec['stores']): AccountState {
  return {
    ...a,
    profile: {
      ...a.profile,
      title: stores.title ? a.profile.title : null,
      primaryPhone: stores.phones ? a.profile.primaryPhone : null,
      alternatePhones: stores.phones ? a.profile.alternatePhones : [],
    },
    ...(stores.rolesAndEntitlements
      ? {}
      : {
          organisations: [],
          licences: [],
          providerAccounts: [],
          access: { securityRole: null, employeeType: null, caseManager: false, allowGridExport: false, receivesDocumentation: false, settings: settings() },
        }),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const latencies: Record<string, Record<string, number[]>> = {};
async function timed<T>(peer: string, op: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await fn();
  ((latencies[peer] ??= {})[op] ??= []).push(performance.now() - t0);
  return out;
}

describeWithPeers('outbound SCIM connector against real SCIM servers', () => {
  beforeAll(startPeers, START_TIMEOUT_MS);
  afterAll(async () => {
    await stopPeers();
    const ops = ['ensureAccount (create)', 'ensureAccount (find again)', 'apply', 'setLogin', 'readAccount', 'terminate'];
    const lines = Object.entries(latencies).map(
      ([peer, byOp]) => `| ${peer} | ${ops.map((op) => (byOp[op] ? `${median(byOp[op]).toFixed(1)}` : '-')).join(' | ')} |`,
    );
    process.stderr.write(
      `[scim-connector] median ms per call over ${CYCLES} cycles\n| peer | ${ops.join(' | ')} |\n|---|${ops.map(() => '---:').join('|')}|\n${lines.join('\n')}\n`,
    );
  }, START_TIMEOUT_MS);

  describe.each(PEERS)('$name', (peer) => {
    const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const call = (step: string): ConnectorCall => ({ tenantId: 'scim-connector-test', userId: `u-${tag}`, idempotencyKey: `wf-${tag}:${step}:1` });
    const account = accountFor(tag);
    const userName = account.profile.email as string;
    let peerAt: RunningPeer;
    let connector: ReturnType<typeof createScimConnector>;
    let appId: string;

    /** The peer's users with this userName, straight from its /Users (each one checked: a filter may be ignored). */
    async function usersNamed(name: string): Promise<string[]> {
      const res = await fetch(`${peerAt.base}/Users?filter=${encodeURIComponent(`userName eq ${JSON.stringify(name)}`)}`, {
        headers: { authorization: `Bearer ${peerAt.token}` },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { Resources?: { id: string; userName: string }[] };
      return (body.Resources ?? []).filter((r) => r.userName.toLowerCase() === name.toLowerCase()).map((r) => r.id);
    }

    beforeAll(() => {
      const p = running.get(peer.name);
      if (!p) throw new Error(`${peer.name} did not start`);
      peerAt = p;
      connector = createScimConnector({ baseUrl: p.base }, { bearerToken: p.token });
    });

    it('check reaches it with the token, and says so without it', async () => {
      const ok = await connector.check();
      expect(ok).toEqual({ ok: true, detail: expect.stringContaining(`reached ${peerAt.base}`) });
      const refused = await createScimConnector({ baseUrl: peerAt.base }, { bearerToken: 'not-the-token' }).check();
      expect(refused).toEqual({ ok: false, detail: expect.stringMatching(/refused the credentials \(401/) });
    });

    it('ensureAccount creates the account with login disabled', async () => {
      const ensured = await connector.ensureAccount(call('ensure'), account, null);
      expect(ensured.created).toBe(true);
      appId = ensured.appId;
      expect(await usersNamed(userName)).toEqual([appId]);
      expect(await connector.readAccount(call('read'), appId)).toEqual(asStoredBy({ ...account, loginEnabled: false }, peer.stores));
    });

    it('a retry after a crash (no known id) finds the same account: one user holds the userName', async () => {
      expect(await connector.ensureAccount(call('ensure'), account, null)).toEqual({ appId, created: false });
      expect(await connector.ensureAccount(call('ensure'), account, appId)).toEqual({ appId, created: false });
      // A new connector instance (a restarted worker) whose filter lookups the target refuses: the POST's 409 finds it.
      const noFilters = createScimConnector(
        { baseUrl: peerAt.base },
        {
          bearerToken: peerAt.token,
          fetch: (async (input: string | URL | Request, init?: RequestInit) =>
            String(input).includes('filter=')
              ? new Response(JSON.stringify({ status: '400', scimType: 'invalidFilter', detail: 'no filters here' }), { status: 400 })
              : fetch(input, init)) as typeof fetch,
        },
      );
      expect(await noFilters.ensureAccount(call('ensure'), account, null)).toEqual({ appId, created: false });
      expect(await usersNamed(userName)).toEqual([appId]);
    });

    it('apply changes the name and the title (and, where the peer keeps them, the rest)', async () => {
      const changed: AccountState = {
        ...account,
        profile: { ...account.profile, lastName: 'Lee-Park', title: 'LPN', displayName: 'Ann Lee-Park' },
        organisations: [{ orgKey: 'south', kind: 'primary', role: 'Client Staff' }],
        licences: [],
        access: { ...account.access, securityRole: 'Analytics Only', settings: settings({ team: ['Night'] }) },
      };
      await connector.apply(call('apply'), appId, changed, ['profile', 'organisations', 'licences', 'access']);
      expect(await connector.readAccount(call('read'), appId)).toEqual(asStoredBy({ ...changed, loginEnabled: false }, peer.stores));
      // apply leaves login alone, and a repeat converges.
      await connector.apply(call('apply'), appId, changed, ['profile', 'organisations', 'licences', 'access']);
      expect((await connector.readAccount(call('read'), appId))?.profile.lastName).toBe('Lee-Park');
    });

    it('an account with more entitlements than the peer takes is refused as permanent, with its reason', async () => {
      const many: AccountState = { ...account, access: { ...account.access, settings: settings({ team: Array.from({ length: 12 }, (_, i) => `Team ${i}`) }) } };
      const outcome = await connector.apply(call('apply'), appId, many, ['access']).catch((e: unknown) => e);
      if (peer.maxEntitlements === undefined) {
        expect(outcome).toBeUndefined(); // kept nowhere (django-scim2 drops entitlements), so nothing to refuse
      } else {
        expect(outcome).toBeInstanceOf(ConnectorError);
        expect(outcome).toMatchObject({ kind: 'permanent', details: { status: 400 } });
        expect((outcome as Error).message).toMatch(/entitlements/);
        process.stderr.write(`[scim-connector] ${peer.name} refused an account with 17 entitlements: ${(outcome as Error).message}\n`);
      }
    });

    it('setLogin enables and blocks login (PATCH)', async () => {
      await connector.setLogin(call('login'), appId, true);
      expect((await connector.readAccount(call('read'), appId))?.loginEnabled).toBe(true);
      await connector.setLogin(call('login'), appId, false);
      expect((await connector.readAccount(call('read'), appId))?.loginEnabled).toBe(false);
    });

    it('setLogin falls back to PUT when PATCH answers 501, keeping the rest of the account', async () => {
      const seen: string[] = [];
      const noPatch = createScimConnector(
        { baseUrl: peerAt.base },
        {
          bearerToken: peerAt.token,
          fetch: (async (input: string | URL | Request, init?: RequestInit) => {
            seen.push(init?.method ?? 'GET');
            return init?.method === 'PATCH' ? new Response(JSON.stringify({ status: 501, detail: 'Not Implemented' }), { status: 501 }) : fetch(input, init);
          }) as typeof fetch,
        },
      );
      const before = await connector.readAccount(call('read'), appId);
      await noPatch.setLogin(call('login'), appId, true);
      expect(await connector.readAccount(call('read'), appId)).toEqual({ ...before, loginEnabled: true });
      await noPatch.setLogin(call('login'), appId, false);
      expect(await connector.readAccount(call('read'), appId)).toEqual({ ...before, loginEnabled: false });
      expect(seen.filter((m) => m !== 'GET')).toEqual(['PATCH', 'PUT', 'PUT']);
    });

    it('terminate deletes; again is fine; then the account reads as null and a write to it is permanent', async () => {
      await connector.terminate(call('terminate'), appId);
      await connector.terminate(call('terminate'), appId);
      expect(await connector.readAccount(call('read'), appId)).toBeNull();
      expect(await usersNamed(userName)).toEqual([]);
      const err = await connector.apply(call('apply'), appId, account, ['profile']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectorError);
      expect(err).toMatchObject({ kind: 'permanent', details: { status: 404 } });
    });

    it(`latency: ${CYCLES} ensure/apply/setLogin/read cycles, then terminate`, async () => {
      const ids: string[] = [];
      for (let i = 0; i < CYCLES; i++) {
        const a = accountFor(`${tag}-l${i}`);
        const c = call(`cycle-${i}`);
        const { appId: id, created } = await timed(peer.name, 'ensureAccount (create)', () => connector.ensureAccount(c, a, null));
        expect(created).toBe(true);
        ids.push(id);
        expect(await timed(peer.name, 'ensureAccount (find again)', () => connector.ensureAccount(c, a, null))).toEqual({ appId: id, created: false });
        await timed(peer.name, 'apply', () => connector.apply(c, id, { ...a, profile: { ...a.profile, title: 'LPN' } }, ['profile', 'access']));
        await timed(peer.name, 'setLogin', () => connector.setLogin(c, id, true));
        expect((await timed(peer.name, 'readAccount', () => connector.readAccount(c, id)))?.loginEnabled).toBe(true);
      }
      for (const id of ids) await timed(peer.name, 'terminate', () => connector.terminate(call('terminate'), id));
    });
  });
});
