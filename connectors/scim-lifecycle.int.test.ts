/**
 * The whole lifecycle of a user carried into a SCIM server written by others through the `scim`
 * connector, on the real Temporal dev server, PostgreSQL and SMTP server: for each peer of
 * ../shared/peers (django-scim2 and Better Auth's SCIM plugin, test/scim-peers.ts), the harness
 * tenant provisions into it (`connector: { kind: scim, baseUrl, auth: { bearer: { secret } } }`,
 * the peer's token stored through connectors/secrets.ts). A SCIM POST to scimflow makes exactly
 * one account in the peer, with login disabled (active false), before the invitation goes out;
 * the acceptance enables it, `active: false` blocks it, DELETE removes it.
 *
 * Then a crash: a worker process is SIGKILLed after the peer created the account and before the
 * worker recorded the application's answer (a proxy in front of the peer holds the request that
 * follows the create); a worker started again finds the account instead of making another (Better
 * Auth: the lookup by userName; django-scim2, which advertises no filter: the 409 on the create),
 * and the peer still holds exactly one account.
 *
 * Without ../shared/peers the suite is skipped, saying why.
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { saveConfigVersion } from '../common/repositories/tenants';
import { freePort } from '../dev/temporal-dev-server';
import { killHard, spawnWorker, waitUntilOk } from '../test/faults/support';
import { MAIL_FROM, PATCH_OP, newUser, requireEnv, startHarness, testTenantConfig, type Harness } from '../test/harness';
import {
  describeWithPeers as describeIfPeers,
  PEERS,
  PEERS_START_TIMEOUT_MS,
  peerUsersNamed,
  startPeers,
  type RunningPeer,
  type StartedPeers,
} from '../test/scim-peers';
import { secretStore } from './secrets';

const describeWithPeers = describeIfPeers('connectors/scim-lifecycle.int.test.ts');

let h: Harness | undefined;
let peers: StartedPeers | undefined;
let proxy: HoldingProxy | undefined;
const children: ChildProcess[] = [];
/** Seconds each part took, per peer, printed at the end (docs/connectors.md). */
const timings: Record<string, Record<string, number>> = {};

/** A request the proxy saw, and what the peer answered (0: held, never answered). */
interface SeenRequest {
  method: string;
  path: string;
  status: number;
}

/**
 * A pass-through proxy in front of a peer that can hold the first request following the create
 * of one userName: the moment after the application made the account and before the worker
 * recorded it.
 */
interface HoldingProxy {
  /** The SCIM base through the proxy. */
  base: string;
  seen: SeenRequest[];
  /** Holds the request that follows the successful POST /Users of `userName`; resolves when one is held. */
  holdAfterCreateOf(userName: string): Promise<SeenRequest>;
  /** Drops the held request's connection and passes everything through again. */
  release(): void;
  close(): Promise<void>;
}

async function startProxy(peer: RunningPeer): Promise<HoldingProxy> {
  const target = new URL(peer.base);
  const seen: SeenRequest[] = [];
  let armed: { userName: string; created: boolean; onHeld: (r: SeenRequest) => void } | undefined;
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const record: SeenRequest = { method: req.method ?? 'GET', path: req.url ?? '/', status: 0 };
        seen.push(record);
        if (armed?.created) {
          held.push(res);
          armed.onHeld(record);
          armed = undefined;
          return;
        }
        const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
        const headers: Record<string, string> = {};
        for (const name of ['authorization', 'content-type', 'accept', 'if-match', 'idempotency-key']) {
          const v = req.headers[name];
          if (typeof v === 'string') headers[name] = v;
        }
        try {
          const answer = await fetch(`${target.origin}${req.url}`, { method: req.method, headers, body });
          const text = await answer.text();
          record.status = answer.status;
          const out: Record<string, string> = {};
          for (const name of ['content-type', 'etag', 'location', 'retry-after']) {
            const v = answer.headers.get(name);
            if (v !== null) out[name] = v;
          }
          if (armed && req.method === 'POST' && /\/Users$/.test(req.url ?? '') && answer.status === 201) {
            const userName = (JSON.parse(body?.toString('utf8') ?? '{}') as { userName?: string }).userName;
            if (userName?.toLowerCase() === armed.userName.toLowerCase()) armed.created = true;
          }
          res.writeHead(answer.status, out).end(text);
        } catch (err) {
          record.status = 502;
          res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ detail: (err as Error).message }));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const release = () => {
    armed = undefined;
    for (const r of held.splice(0)) r.destroy();
  };
  return {
    base: `http://127.0.0.1:${port}${target.pathname}`,
    seen,
    holdAfterCreateOf: (userName) => new Promise((resolve) => (armed = { userName, created: false, onHeld: resolve })),
    release,
    async close() {
      release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Points the harness tenant at `baseUrl` with the peer's token as the tenant's secret `secret`. */
async function provisionInto(harness: Harness, baseUrl: string, secret: string, token: string): Promise<void> {
  await secretStore(harness.db).set(harness.tenantId, secret, token);
  await saveConfigVersion(
    harness.db,
    harness.tenantId,
    testTenantConfig({ connector: { kind: 'scim', baseUrl, auth: { bearer: { secret } } } as never }),
    'test',
  );
}

async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** The licence entitlements of the peer's account (connectors/scim/mapping.ts: `licence:<orgKey>:<level>`). */
async function licencesIn(peer: RunningPeer, appId: string): Promise<string[]> {
  const res = await fetch(`${peer.base}/Users/${encodeURIComponent(appId)}`, { headers: { authorization: `Bearer ${peer.token}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { entitlements?: { value: string }[] };
  return (body.entitlements ?? []).map((e) => e.value).filter((v) => v.startsWith('licence:'));
}

async function connectorRow(harness: Harness, userId: string) {
  return (
    await harness.db.query<Record<string, any>>('SELECT * FROM connector_accounts WHERE tenant_id = $1 AND user_id = $2::uuid', [harness.tenantId, userId])
  ).rows[0];
}

async function connectorCalls(harness: Harness, userId: string): Promise<string[]> {
  const rows = await harness.db.query<{ detail: any }>(
    `SELECT detail FROM audit_log WHERE tenant_id = $1 AND user_id = $2::uuid AND action = 'connector.call' ORDER BY id`,
    [harness.tenantId, userId],
  );
  return rows.rows.map((r) => `${r.detail.operation}${r.detail.part ? `.${r.detail.part}` : ''}:${r.detail.outcome}`);
}

describeWithPeers('the scim connector: the whole lifecycle in SCIM servers written by others', () => {
  beforeAll(async () => {
    peers = await startPeers('scim-lifecycle');
    h = await startHarness();
  }, PEERS_START_TIMEOUT_MS);
  afterAll(async () => {
    for (const c of children) await killHard(c);
    await proxy?.close();
    await h?.close();
    await peers?.stop();
    process.stderr.write(
      `[scim-lifecycle] seconds per part\n${Object.entries(timings)
        .map(
          ([peer, t]) =>
            `  ${peer}: ${Object.entries(t)
              .map(([k, v]) => `${k} ${v.toFixed(1)}`)
              .join(', ')}`,
        )
        .join('\n')}\n`,
    );
  }, PEERS_START_TIMEOUT_MS);

  describe.each(PEERS)('$name', (spec) => {
    const secret = `scim-${spec.dir}-token`;
    let peer: RunningPeer;
    const took = (part: string, since: number) => ((timings[spec.name] ??= {})[part] = (performance.now() - since) / 1000);

    beforeAll(async () => {
      const p = peers?.running.get(spec.name);
      if (!p || !h) throw new Error(`${spec.name} did not start`);
      peer = p;
      await provisionInto(h, peer.base, secret, peer.token);
    });

    test('when a user is created, accepted, deactivated and deleted through SCIM, then the peer holds one account, disabled until the acceptance, and none at the end', async () => {
      const harness = h!;
      const started = performance.now();
      const user = newUser({ externalId: `emp-${spec.dir}-${Date.now().toString(36)}` });
      const created = await harness.scim('POST', '/Users', user);
      expect(created.status).toBe(201);
      const id = created.body.id as string;

      // Invited: the account exists in the peer, exactly one, its login disabled; one invitation mail.
      await harness.waitForState(id, 'invited');
      took('to invited', started);
      const accounts = await peerUsersNamed(peer, user.userName);
      expect(accounts).toEqual([{ id: expect.any(String), active: false }]);
      expect(harness.mailsTo(user.userName)).toHaveLength(1);
      expect(await connectorRow(harness, id)).toMatchObject({ connector_kind: 'scim', app_id: accounts[0].id, login_enabled: false, last_error: null });
      const onboarding = await connectorCalls(harness, id);
      expect(onboarding[0]).toBe('ensureAccount:ok');
      expect(onboarding.every((c) => c.endsWith(':ok'))).toBe(true);

      // The default organisation's licence, where the peer keeps entitlements.
      if (spec.stores.rolesAndEntitlements) expect(await licencesIn(peer, accounts[0].id)).toEqual(['licence:north:Professional']);

      // Accepted: login enabled in the peer.
      let t = performance.now();
      expect((await harness.acceptInvitation(harness.acceptLink(user.userName))).status).toBe(200);
      await harness.waitForState(id, 'active');
      await eventually(
        () => peerUsersNamed(peer, user.userName),
        (a) => a.length === 1 && a[0].active,
        'active in the peer after the acceptance',
      );
      took('accept to active in the peer', t);

      // Deactivated by the identity provider: login blocked in the peer, the account kept.
      t = performance.now();
      const patched = await harness.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
      expect(patched.status).toBe(200);
      await harness.waitForState(id, 'suspended');
      expect(await peerUsersNamed(peer, user.userName)).toEqual([{ id: accounts[0].id, active: false }]);
      took('active=false to blocked in the peer', t);
      if (spec.stores.rolesAndEntitlements) expect(await licencesIn(peer, accounts[0].id)).toEqual([]);

      // Deleted: gone from the peer.
      t = performance.now();
      expect((await harness.scim('DELETE', `/Users/${id}`)).status).toBe(204);
      await harness.waitForState(id, 'terminated');
      await eventually(
        () => peerUsersNamed(peer, user.userName),
        (a) => a.length === 0,
        'gone from the peer after the DELETE',
      );
      took('DELETE to gone from the peer', t);
      expect((await connectorRow(harness, id)).terminated_at).not.toBeNull();
      const calls = await connectorCalls(harness, id);
      // Acceptance: login; deactivation: login, and the licence given back; deletion: the account removed.
      expect(calls.slice(onboarding.length)).toEqual(['setLogin:ok', 'setLogin:ok', 'apply.licences:ok', 'terminate:ok']);
      took('whole lifecycle', started);
    });

    test('when the worker is SIGKILLed after the peer created the account and before the worker recorded it, then a worker started again finds it: one account', async () => {
      const harness = h!;
      const started = performance.now();
      // Everything through a proxy that holds the request following the create; the worker a process of its own, to SIGKILL.
      proxy = await startProxy(peer);
      await provisionInto(harness, proxy.base, secret, peer.token);
      await harness.stopWorker();
      const metricsPort = await freePort();
      const child = spawnWorker({
        DATABASE_URL: harness.databaseUrlForChildren,
        TEMPORAL_ADDRESS: requireEnv('SCIMFLOW_TEST_TEMPORAL_ADDRESS'),
        TEMPORAL_TASK_QUEUE: harness.taskQueue,
        SMTP_URL: requireEnv('SCIMFLOW_TEST_SMTP_URL'),
        PUBLIC_URL: harness.publicUrl,
        MAIL_FROM,
        METRICS_PORT: String(metricsPort),
      });
      children.push(child);
      await waitUntilOk(`http://127.0.0.1:${metricsPort}/readyz`, 120_000);

      const user = newUser();
      const held = proxy.holdAfterCreateOf(user.userName);
      const created = await harness.scim('POST', '/Users', user);
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      const heldRequest = await held;
      // The peer made the account; the worker is waiting for the next answer and has recorded nothing.
      const made = await peerUsersNamed(peer, user.userName);
      expect(made).toHaveLength(1);
      await killHard(child);
      proxy.release();
      expect(await connectorRow(harness, id)).toBeUndefined();
      const killedAt = performance.now();

      await harness.startWorker();
      await harness.waitForState(id, 'invited', 90_000);
      took('crash: SIGKILL to invited', killedAt);
      expect(await peerUsersNamed(peer, user.userName)).toEqual([{ id: made[0].id, active: false }]);
      expect(await connectorRow(harness, id)).toMatchObject({ app_id: made[0].id, last_error: null });
      expect(harness.mailsTo(user.userName)).toHaveLength(1);
      // One successful create; the worker started again found the account (Better Auth: by userName; django-scim2: its 409 on a second create).
      const posts = proxy.seen.filter((r) => r.method === 'POST' && /\/Users$/.test(r.path));
      expect(posts.filter((r) => r.status === 201)).toHaveLength(1);
      expect(posts.filter((r) => r.status !== 201 && r.status !== 409)).toEqual([]);
      process.stderr.write(
        `[scim-lifecycle] ${spec.name}: held ${heldRequest.method} ${heldRequest.path.replace(made[0].id, '{id}')} after the create; creates seen ${posts.map((p) => p.status).join(', ')}\n`,
      );

      // Cleaned up: deleted, gone from the peer.
      expect((await harness.scim('DELETE', `/Users/${id}`)).status).toBe(204);
      await harness.waitForState(id, 'terminated');
      await eventually(
        () => peerUsersNamed(peer, user.userName),
        (a) => a.length === 0,
        'gone from the peer after the DELETE',
      );
      await proxy.close();
      proxy = undefined;
      took('crash case', started);
    }, 240_000);
  });
});
