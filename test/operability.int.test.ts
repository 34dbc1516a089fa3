/**
 * Operability on the real services (Temporal dev server, PostgreSQL, SMTP): metrics follow a
 * SCIM create through onboarding and a deactivation; worker log lines carry the SCIM request's
 * id; payloads in Temporal's history are ciphertext that the codec endpoint decodes; readiness
 * follows PostgreSQL going away and coming back; shutdown finishes in-flight work.
 *
 * The stack is assembled here (not with test/harness.ts) because it needs the pieces the
 * harness does not expose: a logger writing to a stream we read, a payload codec, a slow
 * mailer, and a database whose reachability the test controls (a TCP proxy in front of
 * the PostgreSQL server, so the driver really loses its connections).
 */
import crypto from 'node:crypto';
import net from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import type { Client } from '@temporalio/client';
import { AesGcmPayloadCodec, ENCODING_ENCRYPTED } from '../common/codec/aes-gcm-codec';
import { generatePayloadKey } from '../common/codec/keys';
import { remoteCodecRouter } from '../common/codec/remote-codec';
import { openDatabase, type Db, type Queryable } from '../common/db';
import { createLogger } from '../common/logger';
import { createMailer, type Mailer } from '../common/mail/mailer';
import { appMetrics } from '../common/metrics';
import { invitationToken } from '../common/repositories/invitations';
import { createTenant, saveConfigVersion } from '../common/repositories/tenants';
import { createToken } from '../common/repositories/tokens';
import { connectClient, type TemporalTarget } from '../common/temporal/connection';
import { userWorkflowId } from '../common/temporal/constants';
import { runScimServer, type RunningServer } from '../scim-server/run-server';
import { startOpsServer, type OpsServer } from '../common/ops-server';
import { runWorker, type RunningWorker } from '../worker/run-worker';
import { statusQuery, type UserStatus } from '../workflows/definitions';
import { acceptInvitation, newUser, PATCH_OP, requireEnv, testTenantConfig } from './harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Forwards TCP to PostgreSQL; `stop` refuses new connections and cuts the open ones. */
class TcpProxy {
  private server?: net.Server;
  private sockets = new Set<net.Socket>();
  port = 0;
  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}
  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

interface Control {
  /** Delay before INSERT INTO scim_users (an in-flight SCIM request at shutdown). */
  slowInsertMs: number;
}

function controlled(db: Db, control: Control): Db {
  const delay = async (sql: string) => {
    if (control.slowInsertMs > 0 && /^\s*INSERT INTO scim_users/i.test(sql)) await sleep(control.slowInsertMs);
  };
  const wrap = (q: Queryable): Queryable => ({
    query: async (sql, params) => {
      await delay(sql);
      return q.query(sql, params);
    },
    exec: (sql) => q.exec(sql),
  });
  return {
    kind: db.kind,
    ...wrap(db),
    withTransaction: (fn) => db.withTransaction((tx) => fn(wrap(tx))),
    ping: () => db.ping(),
    close: () => db.close(),
  };
}

/** Mailer whose sends can be held up, and that tells when a send started. */
function slowMailer(inner: Mailer) {
  const state = { delayMs: 0, started: 0, finished: 0 };
  const mailer: Mailer = {
    async send(mail) {
      state.started += 1;
      if (state.delayMs) await sleep(state.delayMs);
      const r = await inner.send(mail);
      state.finished += 1;
      return r;
    },
    close: () => inner.close(),
  };
  return { mailer, state };
}

/** Values of a Prometheus sample (summed over the series whose labels include `labels`). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.trim()) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

const logLines: Record<string, any>[] = [];
const logStream = new Writable({
  write(chunk, _enc, done) {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim()) logLines.push(JSON.parse(line));
    }
    done();
  },
});

const control: Control = { slowInsertMs: 0 };
let proxy: TcpProxy | undefined;
let db: Db;
let client: Client;
let server: RunningServer;
let worker: RunningWorker;
let ops: OpsServer;
let tenantId: string;
let token: string;
let adminToken: string;
let scimUrl: string;
let mail: ReturnType<typeof slowMailer>;
const codec = new AesGcmPayloadCodec([generatePayloadKey('test-key-2'), generatePayloadKey('test-key-1')]);
const OPERATOR_CODEC_TOKEN = `sfo_${crypto.randomBytes(32).toString('base64url')}`;
const UI_ORIGIN = 'http://localhost:8233';

async function openControlledDatabase(): Promise<Db> {
  const parsed = new URL(requireEnv('DATABASE_URL'));
  proxy = new TcpProxy(parsed.hostname, Number(parsed.port || 5432));
  await proxy.start();
  parsed.hostname = '127.0.0.1';
  parsed.port = String(proxy.port);
  return openDatabase({ databaseUrl: parsed.toString(), schema: `t_${crypto.randomBytes(6).toString('hex')}`, poolSize: 5 });
}

beforeAll(async () => {
  db = controlled(await openControlledDatabase(), control);
  tenantId = `op-${crypto.randomBytes(4).toString('hex')}`;
  await createTenant(db, tenantId, 'Operability');
  await saveConfigVersion(db, tenantId, testTenantConfig(), 'test');
  token = (await createToken(db, tenantId, 'scim')).token;
  adminToken = (await createToken(db, tenantId, 'ops', 'admin')).token;
  const logger = createLogger('debug', { process: 'test' }, logStream);
  const target: TemporalTarget = { address: requireEnv('SCIMFLOW_TEST_TEMPORAL_ADDRESS'), namespace: 'default', payloadCodecs: [codec] };
  client = await connectClient(target);
  const taskQueue = `tq-${tenantId}`;
  server = await runScimServer({
    db,
    logger,
    temporal: async () => client,
    taskQueue,
    host: '127.0.0.1',
    port: 0,
    bodyLimitBytes: 1024 * 1024,
    rateLimit: { perSecond: 100_000, burst: 100_000 },
    tokenCacheMs: 0,
    relayPollMs: 100,
    codec: { codec, auth: 'token', operatorToken: OPERATOR_CODEC_TOKEN, corsOrigins: [UI_ORIGIN] },
  });
  scimUrl = `${server.url}/scim/v2`;
  mail = slowMailer(createMailer(requireEnv('SCIMFLOW_TEST_SMTP_URL')));
  worker = await runWorker({
    target,
    taskQueue,
    db,
    smtpUrl: requireEnv('SCIMFLOW_TEST_SMTP_URL'),
    publicUrl: server.url,
    mailFrom: 'ops@example.org',
    logger,
    mailer: mail.mailer,
  });
  ops = await startOpsServer({ host: '127.0.0.1', port: 0, metrics: appMetrics(), readiness: worker.readiness ?? {} });
});

afterAll(async () => {
  await server?.close();
  await worker?.shutdown();
  await ops?.close();
  await client?.connection.close();
  await db?.close();
  await proxy?.stop();
});

async function scim(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${scimUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/scim+json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

async function waitForState(userId: string, state: UserStatus['state'], timeoutMs = 30_000): Promise<UserStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: UserStatus | undefined;
  for (;;) {
    last = await client.workflow
      .getHandle(userWorkflowId(tenantId, userId))
      .query(statusQuery)
      .catch(() => last);
    if (last?.state === state) return last;
    if (Date.now() > deadline) throw new Error(`user ${userId} did not reach ${state} (last: ${JSON.stringify(last)})`);
    await sleep(100);
  }
}

async function until<T>(fn: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const scrape = async (url: string) => (await fetch(`${url}/metrics`)).text();

/** Accepts the user's open invitation through the public accept page. */
async function accept(userId: string): Promise<void> {
  const inv = (
    await db.query<{ id: string }>(`SELECT id::text AS id FROM invitations WHERE tenant_id = $1 AND user_id::text = $2 AND status = 'sent'`, [tenantId, userId])
  ).rows[0];
  const res = await acceptInvitation(`${server.url}/invitations/${await invitationToken(db, inv.id)}`);
  expect(res.status).toBe(200);
}

describe('metrics', () => {
  test('when a user is created, onboarded, accepts and is deactivated, then the request, lifecycle, invitation and workflow metrics move', async () => {
    const before = await scrape(server.opsUrl);
    const created = await scim('POST', '/Users', newUser());
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await waitForState(id, 'invited');
    await accept(id);
    await waitForState(id, 'active');

    // provisioning_states is written just after the workflow's status changes: wait for the row.
    const after = await until(
      async () => {
        const text = await scrape(server.opsUrl);
        return sample(text, 'scimflow_workflows', { tenant: tenantId, state: 'active' }) === 1 ? text : undefined;
      },
      10_000,
      'the workflows gauge to show the active user',
    );
    const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('scimflow_scim_requests_total', { method: 'POST', resource: 'Users', status: '201' })).toBe(1);
    expect(delta('scimflow_scim_request_duration_seconds_count', { method: 'POST', resource: 'Users' })).toBe(1);
    expect(delta('scimflow_outbox_delivered_total')).toBeGreaterThanOrEqual(2); // the create and the acceptance
    expect(sample(after, 'scimflow_outbox_relay_healthy')).toBe(1);
    expect(sample(after, 'scimflow_invitations_sent_total', { tenant: tenantId })).toBe(1);
    expect(sample(after, 'scimflow_invitations_accepted_total', { tenant: tenantId })).toBe(1);
    expect(sample(after, 'scimflow_time_to_invitation_seconds_count', { tenant: tenantId })).toBe(1);
    expect(sample(after, 'scimflow_time_to_invitation_seconds_sum', { tenant: tenantId })).toBeGreaterThan(0);
    expect(sample(after, 'scimflow_time_to_invitation_seconds_sum', { tenant: tenantId })).toBeLessThan(60);
    expect(sample(after, 'scimflow_workflows', { tenant: tenantId, state: 'active' })).toBe(1);
    expect(sample(after, 'scimflow_invitations', { tenant: tenantId, status: 'accepted' })).toBe(1);
    expect(sample(after, 'scimflow_database_up')).toBe(1);
    expect(sample(after, 'scimflow_activity_runs_total', { activity: 'convergeUser', outcome: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(after).toMatch(/^scimflow_outbox_pending \d+$/m);
    expect(after).toMatch(/^scimflow_outbox_oldest_pending_age_seconds [\d.e+-]+$/m);
    expect(after).toContain('scimflow_process_cpu_user_seconds_total');

    // Deactivation → login blocked, timed per tenant.
    const patched = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
    expect(patched.status).toBe(200);
    await waitForState(id, 'suspended');
    const suspended = await until(
      async () => {
        const text = await scrape(server.opsUrl);
        return sample(text, 'scimflow_workflows', { tenant: tenantId, state: 'suspended' }) === 1 ? text : undefined;
      },
      10_000,
      'the workflows gauge to show the suspended user',
    );
    expect(sample(suspended, 'scimflow_time_to_access_removed_seconds_count', { tenant: tenantId, action: 'suspend' })).toBe(1);
    expect(sample(suspended, 'scimflow_time_to_access_removed_seconds_sum', { tenant: tenantId, action: 'suspend' })).toBeLessThan(60);
    expect(sample(suspended, 'scimflow_workflows', { tenant: tenantId, state: 'suspended' })).toBe(1);
    expect(sample(suspended, 'scimflow_scim_requests_total', { method: 'PATCH', resource: 'Users', status: '200' })).toBeGreaterThanOrEqual(1);

    // The worker's operations server serves the same process metrics.
    const workerMetrics = await scrape(ops.url);
    expect(sample(workerMetrics, 'scimflow_activity_runs_total', { activity: 'sendInvitation', outcome: 'completed' })).toBeGreaterThanOrEqual(1);
  });
});

describe('logs', () => {
  test("when a SCIM request causes work in the worker, then the worker's log lines carry its request id, workflow id and run id; the request line holds no personal data or token", async () => {
    const requestId = `req-${crypto.randomBytes(6).toString('hex')}`;
    const user = newUser();
    const created = await scim('POST', '/Users', user, { 'X-Request-Id': requestId });
    expect(created.headers.get('x-request-id')).toBe(requestId);
    const id = created.body.id as string;
    await waitForState(id, 'invited');
    const workflowId = userWorkflowId(tenantId, id);

    const request = logLines.find((l) => l.msg === 'SCIM request' && l.requestId === requestId);
    expect(request).toMatchObject({ method: 'POST', route: '/Users', status: 201, tenant: tenantId, level: 'info' });
    expect(typeof request?.ms).toBe('number');

    const fromWorker = logLines.filter((l) => l.requestId === requestId && l.workflowId === workflowId && l.activity);
    const steps = fromWorker.filter((l) => l.msg === 'activity completed').map((l) => l.activity);
    expect(steps).toEqual(expect.arrayContaining(['planUser', 'convergeUser', 'verifyAccess', 'sendInvitation']));
    for (const line of fromWorker) {
      expect(line.runId).toMatch(/^[0-9a-f-]{36}$/);
      expect(line.tenantId).toBe(tenantId);
    }
    // The relay's delivery line carries it as well.
    expect(logLines.some((l) => l.msg === 'change delivered to its workflow' && l.requestId === requestId && l.workflowId === workflowId)).toBe(true);

    const everything = JSON.stringify(logLines);
    expect(everything).not.toContain(user.userName);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(adminToken);
  });
});

describe('payload encryption', () => {
  test('when a workflow runs, then its history holds ciphertext only, and the codec endpoint decodes it for the operator token (not an admin token)', async () => {
    const requestId = `enc-${crypto.randomBytes(6).toString('hex')}`;
    const created = await scim('POST', '/Users', newUser(), { 'X-Request-Id': requestId });
    const id = created.body.id as string;
    await waitForState(id, 'invited');
    const history = await client.workflow.getHandle(userWorkflowId(tenantId, id)).fetchHistory();

    const payloads: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }[] = [];
    // Every payload the workflow's code or the relay produced. Not: search attributes and
    // headers (never encoded by codecs), and the SDK core's own local-activity marker data
    // (markerRecordedEventAttributes.details.data: sequence number, activity type, times; the
    // local activity's result, details.result, is ours and encrypted), and its patch markers
    // (details['patch-data']: the patch name).
    const collect = (value: unknown, key = ''): void => {
      if (!value || typeof value !== 'object' || ArrayBuffer.isView(value)) return;
      if (Array.isArray((value as { payloads?: unknown }).payloads)) payloads.push(...(value as { payloads: typeof payloads }).payloads);
      for (const [k, v] of Object.entries(value)) {
        if (k === 'searchAttributes' || k === 'header' || (key === 'details' && (k === 'data' || k === 'patch-data'))) continue;
        collect(v, k);
      }
    };
    collect(history.events);
    expect(payloads.length).toBeGreaterThan(5); // input, signal, activity inputs and results
    for (const p of payloads) {
      expect(Buffer.from(p.metadata?.encoding ?? []).toString()).toBe(ENCODING_ENCRYPTED);
      const clear = Buffer.from(p.data ?? []).toString('latin1');
      expect(clear).not.toContain(id);
      expect(clear).not.toContain(requestId);
      expect(clear).not.toContain(tenantId);
    }

    // The start event's input, decoded by the endpoint the Temporal UI calls.
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const body = JSON.stringify({
      payloads: started.map((p) => ({
        metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
        data: Buffer.from(p.data ?? []).toString('base64'),
      })),
    });
    const headers = { 'Content-Type': 'application/json', 'X-Namespace': 'default', Origin: UI_ORIGIN };
    expect((await fetch(`${server.url}/codec/decode`, { method: 'POST', headers, body })).status).toBe(401);
    expect((await fetch(`${server.url}/codec/decode`, { method: 'POST', headers: { ...headers, Authorization: `Bearer ${token}` }, body })).status).toBe(401); // a SCIM token is not enough
    expect((await fetch(`${server.url}/codec/decode`, { method: 'POST', headers: { ...headers, Authorization: `Bearer ${adminToken}` }, body })).status).toBe(
      401,
    ); // nor a tenant's admin token

    const decoded = await fetch(`${server.url}/codec/decode`, {
      method: 'POST',
      headers: { ...headers, Authorization: `Bearer ${OPERATOR_CODEC_TOKEN}` },
      body,
    });
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    const out = (await decoded.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    expect(Buffer.from(out.payloads[0].metadata.encoding, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(out.payloads[0].data, 'base64').toString())).toMatchObject({ tenantId, userId: id, requestId });

    // encode gives back ciphertext under the current key, which decode reverses.
    const encoded = await fetch(`${server.url}/codec/encode`, {
      method: 'POST',
      headers: { ...headers, Authorization: `Bearer ${OPERATOR_CODEC_TOKEN}` },
      body: JSON.stringify(out),
    });
    const sealed = (await encoded.json()) as { payloads: { metadata: Record<string, string> }[] };
    expect(Buffer.from(sealed.payloads[0].metadata['encryption-key-id'], 'base64').toString()).toBe('test-key-2');

    // CORS: the UI's preflight is answered, another origin's is not.
    const preflight = await fetch(`${server.url}/codec/decode`, {
      method: 'OPTIONS',
      headers: { Origin: UI_ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace,authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    const foreign = await fetch(`${server.url}/codec/decode`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('when the codec endpoint runs without auth (CODEC_AUTH=none), then any caller decodes', async () => {
    const app = express();
    app.use(remoteCodecRouter({ codec, db, auth: 'none', corsOrigins: [UI_ORIGIN] }));
    const srv = app.listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    try {
      const [sealed] = await codec.encode([{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"hello"') }]);
      const res = await fetch(`http://127.0.0.1:${(srv.address() as net.AddressInfo).port}/codec/decode`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          payloads: [
            {
              metadata: Object.fromEntries(Object.entries(sealed.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
              data: Buffer.from(sealed.data!).toString('base64'),
            },
          ],
        }),
      });
      expect(res.status).toBe(200);
      expect(Buffer.from(((await res.json()) as { payloads: { data: string }[] }).payloads[0].data, 'base64').toString()).toBe('"hello"');
    } finally {
      srv.close();
    }
  });
});

describe('readiness', () => {
  test('when PostgreSQL becomes unreachable, then /readyz of the SCIM server and the worker turn 503, and 200 again when it returns', async () => {
    const ready = async (url: string) => {
      const res = await fetch(`${url}/readyz`);
      return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
    };
    expect((await ready(server.opsUrl)).status).toBe(200);
    expect((await ready(ops.url)).status).toBe(200);
    expect((await fetch(`${ops.url}/healthz`)).status).toBe(200);

    await proxy?.stop();
    try {
      const scimDown = await until(
        async () => {
          const r = await ready(server.opsUrl);
          return r.status === 503 ? r : undefined;
        },
        15_000,
        'SCIM /readyz to turn 503',
      );
      expect(scimDown.body.checks.database).not.toBe('ok');
      expect(scimDown.body.checks.temporal).toBe('ok');
      const workerDown = await until(
        async () => {
          const r = await ready(ops.url);
          return r.status === 503 ? r : undefined;
        },
        15_000,
        'worker /readyz to turn 503',
      );
      expect(workerDown.body.checks.database).not.toBe('ok');
      expect(workerDown.body.checks.worker).toBe('ok');
      // Liveness is not readiness: the process is fine.
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      // The scrape still answers, and says the database is down (a real outage: the proxy). Scrapes
      // share one database read for half a second, so the first may still carry the last good one.
      await until(async () => sample(await scrape(server.opsUrl), 'scimflow_database_up') === 0, 5_000, 'the scrape to say the database is down');
    } finally {
      await proxy?.start();
    }
    await until(async () => (await ready(server.opsUrl)).status === 200, 30_000, 'SCIM /readyz to turn 200');
    await until(async () => (await ready(ops.url)).status === 200, 30_000, 'worker /readyz to turn 200');
  });
});

describe('graceful shutdown', () => {
  test('when the worker is shut down during an activity, then the activity finishes before the worker stops', async () => {
    mail.state.delayMs = 3_000;
    const started = mail.state.started;
    const created = await scim('POST', '/Users', newUser());
    const id = created.body.id as string;
    await until(async () => mail.state.started > started, 30_000, 'the invitation mail to be in flight');
    const t0 = Date.now();
    await worker.shutdown();
    expect(Date.now() - t0).toBeGreaterThan(1_000); // it waited for the activity
    expect(mail.state.finished).toBe(mail.state.started);
    const delivery = (await db.query<{ status: string }>(`SELECT status FROM mail_deliveries WHERE tenant_id = $1 AND user_id::text = $2`, [tenantId, id]))
      .rows;
    expect(delivery).toEqual([{ status: 'sent' }]);
    const sent = (
      await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE tenant_id = $1 AND user_id::text = $2 AND action = 'invitation.sent'`, [
        tenantId,
        id,
      ])
    ).rows[0].n;
    expect(sent).toBe(1); // the activity ran to its end, not cancelled mid-way
    expect(logLines.some((l) => l.msg === 'activity completed' && l.activity === 'sendInvitation' && l.workflowId === userWorkflowId(tenantId, id))).toBe(true);
    mail.state.delayMs = 0;
  });

  test('when the SCIM server is closed during a request, then the request completes and new connections are refused', async () => {
    control.slowInsertMs = 1_500;
    const inFlight = scim('POST', '/Users', newUser());
    await sleep(300);
    const closing = server.close();
    const res = await inFlight;
    expect(res.status).toBe(201);
    await closing;
    control.slowInsertMs = 0;
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
