/**
 * One test file's stack on the shared real services: its own database (a fresh schema on
 * DATABASE_URL: the server CI gives, else the one test/global-setup.ts starts), its own tenant
 * and token, a real worker on its own task queue, and the SCIM server with its outbox relay
 * on a free port.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { openDatabase, type Db } from '../common/db';
import type { TenantConfigInput } from '../domain/tenant-config';
import { createLogger, type Logger } from '../common/logger';
import { createMetrics } from '../common/metrics';
import { provisioningStateOf } from '../common/repositories/provisioning-states';
import { createTenant, saveConfigVersion } from '../common/repositories/tenants';
import { createToken } from '../common/repositories/tokens';
import { connectClient } from '../common/temporal/connection';
import { userWorkflowId } from '../common/temporal/constants';
import { runScimServer, type RunningServer } from '../scim-server/run-server';
import { runWorker, type RunningWorker } from '../worker/run-worker';
import type { UserStatus } from '../workflows/definitions';
import { statusQuery } from '../workflows/definitions';

export const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
/** The platform sender (MAIL_FROM) of every harness. */
export const MAIL_FROM = 'scimflow-test@example.org';
export const SCIM_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const EXT = 'urn:ietf:params:scim:schemas:extension:scimflow:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run integration tests through jest's integration project (test/global-setup.ts)`);
  return v;
}

/** A fresh schema on `databaseUrl` (default DATABASE_URL), migrated. */
export async function openTestDatabase(
  databaseUrl = requireEnv('DATABASE_URL'),
  options: { statementTimeoutMs?: number } = {},
): Promise<Db & { urlForChildren: string }> {
  const schema = `t_${crypto.randomBytes(6).toString('hex')}`;
  const db = await openDatabase({ databaseUrl, schema, poolSize: 5, statementTimeoutMs: options.statementTimeoutMs });
  // Child processes (fault scenarios) reach the same schema through the connection string.
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return Object.assign(db, { urlForChildren: url.toString() });
}

/** A tenant config with zero propagation windows and short schedules, overridable per test. */
export function testTenantConfig(overrides: Partial<TenantConfigInput> = {}): TenantConfigInput {
  return {
    organisations: [
      { key: 'north', name: 'North Office', kind: 'client', licenceLevel: 'Professional', mobileLicence: 'Mobile Standard', services: ['app', 'mobile'] },
      { key: 'south', name: 'South Office', kind: 'client', licenceLevel: 'Basic', services: ['app'] },
      { key: 'main-campus', name: 'Main Campus', kind: 'facility' },
    ],
    defaults: { client: 'north', role: 'Client Staff' },
    providerTypes: ['RN', 'SW', 'Administrator'],
    propagation: { tags: '0s', securityRole: '0s' },
    seatRecheckInterval: '1s',
    // High enough that no test but the guard's own meets the mass-deprovisioning guard.
    deprovisionGuard: { threshold: 10_000 },
    ...overrides,
    // No settling window unless a test asks for one (it would add a minute to every onboarding).
    invitation: {
      applicationName: 'CareConnect',
      subject: 'Welcome to {{applicationName}}',
      reminders: ['3d', '7d'],
      expiresAfter: '14d',
      startLeadTime: '1d',
      settle: '0s',
      ...overrides.invitation,
    },
  };
}

export interface Harness {
  db: Db;
  /** DATABASE_URL for child processes, pointing at this harness's schema. */
  databaseUrlForChildren: string;
  tenantId: string;
  token: string;
  baseUrl: string;
  publicUrl: string;
  /** The SCIM server's ops port: /metrics, /readyz, /healthz. */
  opsUrl: string;
  client: Client;
  taskQueue: string;
  server: RunningServer;
  worker: RunningWorker;
  scim(method: string, pathAndQuery: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  newTenant(id: string, config?: TenantConfigInput): Promise<string>;
  workflowStatus(userId: string): Promise<UserStatus>;
  waitForState(userId: string, state: UserStatus['state'] | UserStatus['state'][], timeoutMs?: number): Promise<UserStatus>;
  mailsTo(address: string): { file: string; raw: string; text: string }[];
  acceptLink(address: string, index?: number): string;
  /** Accepts as a person's browser does: GET the page, then POST its form with the page's Origin. Returns the answer. */
  acceptInvitation(link: string): Promise<{ status: number; text: string }>;
  /** With SCIMFLOW_RECORD_HISTORIES=1, saves the user's workflow history as a replay fixture (test/histories). */
  recordHistory(name: string, userId: string): Promise<void>;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  close(): Promise<void>;
}

/** Reads until `ok` holds, or fails after `timeoutMs` with the last value read. */
export async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Calls the admin API with an admin token: JSON in and out, with the response's request id. */
export async function adminRequest(
  publicUrl: string,
  token: string,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; body: any; requestId: string | null }> {
  const res = await fetch(`${publicUrl}/admin/v1${route}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, requestId: res.headers.get('x-request-id') };
}

/** Accepts an invitation link as a person's browser does: GET the page, then POST its form with the page's Origin. */
export async function acceptInvitation(link: string): Promise<{ status: number; text: string }> {
  const page = await fetch(link);
  const html = await page.text();
  const confirm = /name="confirm" value="([^"]+)"/.exec(html)?.[1];
  if (!confirm) return { status: page.status, text: html };
  const res = await fetch(link, {
    method: 'POST',
    headers: { Origin: new URL(link).origin, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ confirm }).toString(),
  });
  return { status: res.status, text: await res.text() };
}

function decodeMail(raw: string): string {
  // Quoted-printable soft breaks and escapes; enough to read links and text in tests.
  return raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export async function startHarness(
  options: {
    tenantConfig?: TenantConfigInput;
    withWorker?: boolean;
    tokenCacheMs?: number;
    rateLimit?: { perSecond: number; burst: number };
    /** A PostgreSQL server of the test's own (fault scenarios); default DATABASE_URL. */
    databaseUrl?: string;
    /** A Temporal server or SMTP server of the test's own; default the shared ones from global setup. */
    temporalAddress?: string;
    smtpUrl?: string;
    /** The Temporal UI the console and admin API link users' workflows to. */
    temporalUi?: { url: string; namespace: string };
    /** The SCIM server's statement timeout (SCIM_STATEMENT_TIMEOUT); default none. */
    statementTimeoutMs?: number;
    /** Largest request body; default 1 MiB. */
    bodyLimitBytes?: number;
    /** Failed authentications and invalid invitation links per client address; default the server's (10 a minute, 20 at once). */
    failureLimit?: { perMinute: number; burst: number };
    /** The ops server's token (OPS_TOKEN); default none. */
    opsToken?: string;
    /** MAIL_ALLOWED_FROM_DOMAINS of the server and worker; default none (the platform sender is scimflow-test@example.org). */
    allowedFromDomains?: string[];
    /** The event feed's settings (runScimServer `events`): its push loop's pace, for tests of RFC 8935 push. */
    events?: Parameters<typeof runScimServer>[0]['events'];
    /** The lifetime of the token endpoint's access tokens (OAUTH_ACCESS_TOKEN_TTL); default the server's (60 min). */
    oauthAccessTokenTtlMs?: number;
    /** The server's and worker's logger (a test reading the log lines); default one at TEST_LOG_LEVEL, else silent. */
    logger?: Logger;
  } = {},
): Promise<Harness> {
  const logger = options.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const db = await openTestDatabase(options.databaseUrl, { statementTimeoutMs: options.statementTimeoutMs });
  const tenantId = `t-${crypto.randomBytes(4).toString('hex')}`;
  await createTenant(db, tenantId, 'Test tenant');
  await saveConfigVersion(db, tenantId, options.tenantConfig ?? testTenantConfig(), 'test');
  const { token } = await createToken(db, tenantId, 'test');
  const address = options.temporalAddress ?? requireEnv('SCIMFLOW_TEST_TEMPORAL_ADDRESS');
  const smtpUrl = options.smtpUrl ?? requireEnv('SCIMFLOW_TEST_SMTP_URL');
  const mailDir = requireEnv('SCIMFLOW_TEST_MAIL_DIR');
  const target = { address, namespace: 'default' };
  const client = await connectClient(target);
  const taskQueue = `tq-${tenantId}`;
  // The harness's own series: the database gauges read this harness's database, whatever else runs in the process.
  const metrics = createMetrics();
  const server = await runScimServer({
    db,
    logger,
    temporal: async () => client,
    taskQueue,
    host: '127.0.0.1',
    port: 0,
    bodyLimitBytes: options.bodyLimitBytes ?? 1024 * 1024,
    rateLimit: options.rateLimit ?? { perSecond: 100_000, burst: 100_000 },
    tokenCacheMs: options.tokenCacheMs ?? 0,
    oauthAccessTokenTtlMs: options.oauthAccessTokenTtlMs,
    relayPollMs: 100,
    temporalUi: options.temporalUi,
    failureLimit: options.failureLimit,
    metrics,
    senderPolicy: { platformFrom: MAIL_FROM, allowedFromDomains: options.allowedFromDomains ?? [] },
    ops: { host: '127.0.0.1', port: 0, token: options.opsToken },
    events: options.events,
  });
  const startWorker = () =>
    runWorker({ target, taskQueue, db, smtpUrl, publicUrl: server.url, mailFrom: MAIL_FROM, allowedFromDomains: options.allowedFromDomains, logger, metrics });
  let worker: RunningWorker = options.withWorker === false ? { done: Promise.resolve(), shutdown: async () => undefined, readiness: {} } : await startWorker();
  const baseUrl = `${server.url}/scim/v2`;

  const h: Harness = {
    db,
    databaseUrlForChildren: db.urlForChildren,
    tenantId,
    token,
    baseUrl,
    publicUrl: server.url,
    opsUrl: server.opsUrl,
    client,
    taskQueue,
    server,
    get worker() {
      return worker;
    },
    async scim(method, pathAndQuery, body, headers = {}) {
      const res = await fetch(`${baseUrl}${pathAndQuery}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': 'application/scim+json' } : {}), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // leave as text
      }
      return { status: res.status, body: parsed as any, headers: res.headers };
    },
    async newTenant(id, config) {
      await createTenant(db, id, id);
      await saveConfigVersion(db, id, config ?? testTenantConfig(), 'test');
      return (await createToken(db, id, 'test')).token;
    },
    async workflowStatus(userId) {
      return client.workflow.getHandle(userWorkflowId(tenantId, userId)).query(statusQuery);
    },
    async waitForState(userId, state, timeoutMs = 30_000) {
      const wanted = Array.isArray(state) ? state : [state];
      const deadline = Date.now() + timeoutMs;
      let last: UserStatus | undefined;
      for (;;) {
        try {
          last = await h.workflowStatus(userId);
          if (wanted.includes(last.state)) return last;
        } catch {
          // workflow not started yet (the relay has not delivered), or completed
          const recorded = (await provisioningStateOf(db, tenantId, userId)) as UserStatus['state'] | undefined;
          if (recorded && wanted.includes(recorded)) return { state: recorded, appliedVersion: 0 };
        }
        if (Date.now() > deadline) throw new Error(`user ${userId} did not reach ${wanted.join('|')} within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    mailsTo(address) {
      return mailsIn(mailDir, address);
    },
    acceptLink(address, index = 0) {
      const mail = h.mailsTo(address)[index];
      if (!mail) throw new Error(`no mail to ${address}`);
      const match = /(http:\/\/[^\s"<]+\/invitations\/[A-Za-z0-9_-]+)/.exec(mail.text);
      if (!match) throw new Error('no accept link in the mail');
      return match[1];
    },
    acceptInvitation,
    async recordHistory(name, userId) {
      if (process.env.SCIMFLOW_RECORD_HISTORIES !== '1') return;
      const history = await client.workflow.getHandle(userWorkflowId(tenantId, userId)).fetchHistory();
      const dir = path.join(__dirname, 'histories');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${name}.json`), historyToJSON(history));
    },
    async stopWorker() {
      await worker.shutdown();
    },
    async startWorker() {
      worker = await startWorker();
    },
    async close() {
      await server.close();
      await worker.shutdown();
      await client.connection.close();
      await db.close();
    },
  };
  return h;
}

/** The mails the test SMTP server (or `dir`) received for `address`, oldest first. */
export function mailsIn(dir: string, address: string): { file: string; raw: string; text: string }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .sort()
    .map((f) => ({ file: f, raw: fs.readFileSync(path.join(dir, f), 'utf8') }))
    .filter((m) => new RegExp(`^To: .*${address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'mi').test(m.raw))
    .map((m) => ({ ...m, text: decodeMail(m.raw) }));
}

let counter = 0;
/** A unique, readable test user; the address doubles as the mailbox to look in. */
export function newUser(extra: Record<string, unknown> = {}): Record<string, unknown> & { userName: string } {
  counter += 1;
  const userName = `user${counter}.${crypto.randomBytes(3).toString('hex')}@example.org`;
  return {
    schemas: [SCIM_USER],
    userName,
    name: { givenName: 'Test', familyName: `User${counter}` },
    emails: [{ value: userName, type: 'work', primary: true }],
    active: true,
    ...extra,
  };
}
