/**
 * The outbound SCIM connector against two SCIM servers written by others, each on a real
 * PostgreSQL (../shared/peers: django-scim2 0.23 on Django, Better Auth's SCIM plugin): create,
 * find again after a simulated crash (no second account), apply, block and enable login (PATCH,
 * and the PUT fallback), read back, terminate (twice), and the latency of each call.
 *
 * The peers start here through ../shared/peers/peers.sh (test/scim-peers.ts: dependencies install
 * on first use into PEERS_DIR, default /tmp/peers, minutes the first time) on free ports; a peer
 * or PostgreSQL that was already running is reused and left running, and only what this file
 * started is stopped. Without ../shared/peers (a machine without the peers) the suite is skipped,
 * saying why.
 *
 * What a peer does not store is asserted as absent (the gap is the peer's, documented in
 * docs/connectors.md): django-scim2's default adapter keeps userName, name, displayName, one
 * email, externalId and active only.
 */
import { SETTING_KINDS, type SettingKind } from '../domain/roles';
import {
  describeWithPeers as describeIfPeers,
  PEERS,
  PEERS_START_TIMEOUT_MS,
  peerUsersNamed,
  startPeers,
  type PeerSpec,
  type RunningPeer,
  type StartedPeers,
} from '../test/scim-peers';
import { ConnectorError, type AccountState, type ConnectorCall } from './port';
import { createScimConnector } from './scim';

const describeWithPeers = describeIfPeers('connectors/scim-connector.int.test.ts');
const CYCLES = 20;
let peers: StartedPeers | undefined;
const running = () => peers?.running ?? new Map<string, RunningPeer>();

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
  beforeAll(async () => {
    peers = await startPeers('scim-connector');
  }, PEERS_START_TIMEOUT_MS);
  afterAll(async () => {
    await peers?.stop();
    const ops = ['ensureAccount (create)', 'ensureAccount (find again)', 'apply', 'setLogin', 'readAccount', 'terminate'];
    const lines = Object.entries(latencies).map(
      ([peer, byOp]) => `| ${peer} | ${ops.map((op) => (byOp[op] ? `${median(byOp[op]).toFixed(1)}` : '-')).join(' | ')} |`,
    );
    process.stderr.write(
      `[scim-connector] median ms per call over ${CYCLES} cycles\n| peer | ${ops.join(' | ')} |\n|---|${ops.map(() => '---:').join('|')}|\n${lines.join('\n')}\n`,
    );
  }, PEERS_START_TIMEOUT_MS);

  describe.each(PEERS)('$name', (peer) => {
    const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const call = (step: string): ConnectorCall => ({ tenantId: 'scim-connector-test', userId: `u-${tag}`, idempotencyKey: `wf-${tag}:${step}:1` });
    const account = accountFor(tag);
    const userName = account.profile.email as string;
    let peerAt: RunningPeer;
    let connector: ReturnType<typeof createScimConnector>;
    let appId: string;

    /** The ids of the peer's users with this userName. */
    const usersNamed = async (name: string) => (await peerUsersNamed(peerAt, name)).map((u) => u.id);

    beforeAll(() => {
      const p = running().get(peer.name);
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
