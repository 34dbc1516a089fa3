/**
 * The tenant's connector through the admin API, on real Temporal, PostgreSQL and SMTP, with the
 * sample application (dev/sample-app/) for the `http` connector: its kind, base URL and health,
 * the "test connection", and a configuration whose connector names a secret the tenant does not
 * have or a URL that does not answer refused at save (400, the problem with its path), as the
 * CLI refuses it.
 */
import net from 'node:net';
import { saveConfigVersion } from '../common/repositories/tenants';
import { createToken } from '../common/repositories/tokens';
import { reconcileScheduleId } from '../common/temporal/reconcile-schedule';
import { secretStore } from '../connectors/secrets';
import type { RunningSampleApp } from '../dev/sample-app/server';
import { sampleAppConnector, startTestSampleApp } from './sample-app';
import { adminRequest, startHarness, testTenantConfig, type Harness } from './harness';

let h: Harness;
let app: RunningSampleApp;
let superToken: string;
let readerToken: string;

/** The shipped example (config/examples/sample-app-connector.yaml) pointed at `baseUrl`, with its secret named `secret`. */
function connectorConfig(baseUrl: string, secret = 'sample-app-token'): Record<string, unknown> {
  return sampleAppConnector(baseUrl, { auth: { bearer: { secret } } });
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  h = await startHarness();
  superToken = (await createToken(h.db, h.tenantId, 'super', 'admin', 'Super User')).token;
  readerToken = (await createToken(h.db, h.tenantId, 'reader', 'admin', 'Read Only')).token;
  app = await startTestSampleApp(h.db);
});
afterAll(async () => {
  await h?.client.schedule
    .getHandle(reconcileScheduleId(h.tenantId))
    .delete()
    .catch(() => undefined);
  await app?.close();
  await h?.close();
});

const asSuper = (method: string, route: string, body?: unknown) => adminRequest(h.publicUrl, superToken, method, route, body);
const asReader = (method: string, route: string, body?: unknown) => adminRequest(h.publicUrl, readerToken, method, route, body);
const versions = async () => (await asSuper('GET', `/tenants/${h.tenantId}/config/versions`)).body.versions.length as number;

describe('the connector through the admin API', () => {
  test('when the tenant has the default connector, then it is shown as directory with nothing to reach, and its test passes for any admin', async () => {
    const shown = await asReader('GET', `/tenants/${h.tenantId}/connector`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      kind: 'directory',
      baseUrl: null,
      auth: null,
      readsBack: false,
      health: { accounts: 0, failingUsers: 0, recentErrors: [], callsPerMinute: 0, latencyMs: { p50: null, p95: null }, windowMinutes: 15 },
    });
    const tested = await asReader('POST', `/tenants/${h.tenantId}/connector/test`);
    expect(tested.status).toBe(200);
    expect(tested.body).toMatchObject({ kind: 'directory', ok: true });
    expect(tested.body.detail).toContain('nothing to reach');
    const audit = await h.db.query<{ detail: any }>(`SELECT detail FROM audit_log WHERE tenant_id = $1 AND action = 'admin.connectorTested'`, [h.tenantId]);
    expect(audit.rows[0].detail).toMatchObject({ kind: 'directory', ok: true });

    expect((await asSuper('GET', `/tenants/${h.tenantId}/connector?window=0`)).status).toBe(400);
    expect((await asSuper('GET', `/tenants/other-tenant/connector`)).status).toBe(404);
  });

  test('when a configuration names a connector secret the tenant does not have, then saving it is refused with the path and nothing is saved; validate says the same', async () => {
    const before = await versions();
    const config = testTenantConfig({ connector: connectorConfig(app.url, 'missing-token') as never });
    const saved = await asSuper('POST', `/tenants/${h.tenantId}/config/versions`, config);
    expect(saved.status).toBe(400);
    expect(saved.body.error.problems).toEqual([
      `connector.auth.bearer.secret: no secret named missing-token; set it with: npm run tenant-config -- set-secret --tenant ${h.tenantId} --name missing-token (the value on stdin)`,
    ]);
    expect(await versions()).toBe(before);
    const validated = await asSuper('POST', `/tenants/${h.tenantId}/config/validate`, config);
    expect(validated.status).toBe(200);
    expect(validated.body).toMatchObject({ valid: false, details: [{ path: ['connector', 'auth', 'bearer', 'secret'] }] });
  });

  test('when a configuration points the connector at a URL that does not answer, then saving it is refused with the path', async () => {
    await secretStore(h.db).set(h.tenantId, 'sample-app-token', app.token);
    const url = `http://127.0.0.1:${await closedPort()}`;
    const before = await versions();
    const saved = await asSuper('POST', `/tenants/${h.tenantId}/config/versions`, testTenantConfig({ connector: connectorConfig(url) as never }));
    expect(saved.status).toBe(400);
    expect(saved.body.error.problems).toHaveLength(1);
    expect(saved.body.error.problems[0]).toMatch(new RegExp(`^connector\\.baseUrl: ${url.replace(/[.:/]/g, '\\$&')} is unreachable \\(ECONNREFUSED\\)`));
    expect(await versions()).toBe(before);
  });

  test('when a valid http connector is saved, then the admin API shows its kind, base URL and authentication without the secret, and its test reaches the application', async () => {
    const saved = await asSuper('POST', `/tenants/${h.tenantId}/config/versions`, testTenantConfig({ connector: connectorConfig(app.url) as never }));
    expect(saved.status).toBe(201);

    const shown = await asReader('GET', `/tenants/${h.tenantId}/connector?window=60`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      kind: 'http',
      baseUrl: app.url,
      auth: 'bearer token (secret sample-app-token)',
      readsBack: true,
      configVersion: saved.body.version,
      health: { windowMinutes: 60, accounts: 0, failingUsers: 0, lastSuccessAt: null },
    });
    expect(JSON.stringify(shown.body)).not.toContain(app.token);

    const tested = await asReader('POST', `/tenants/${h.tenantId}/connector/test`);
    expect(tested.body).toMatchObject({ kind: 'http', ok: true });
    expect(tested.body.detail).toContain(`reached ${app.url} with the configured credentials`);

    // A secret the application does not accept: the test says so, with the application's answer.
    await secretStore(h.db).set(h.tenantId, 'sample-app-token', 'not-the-token');
    const refused = await asSuper('POST', `/tenants/${h.tenantId}/connector/test`);
    expect(refused.body).toMatchObject({ kind: 'http', ok: false });
    expect(refused.body.detail).toContain("refused scimflow's credentials (HTTP 401)");
    await secretStore(h.db).set(h.tenantId, 'sample-app-token', app.token);
  });

  test('when the application is away and a rule is changed, then the unchanged connector is not tried again and the rule is saved; a changed one is', async () => {
    const away = `http://127.0.0.1:${await closedPort()}`;
    // The connector saved while its application answered (the repository: no checks).
    await saveConfigVersion(h.db, h.tenantId, testTenantConfig({ connector: connectorConfig(away) as never }), 'test');
    const again = await asSuper(
      'POST',
      `/tenants/${h.tenantId}/config/versions`,
      testTenantConfig({ connector: connectorConfig(away) as never, seatRecheckInterval: '2s' }),
    );
    expect(again.status).toBe(201);
    // Its secrets are still checked.
    const renamed = await asSuper(
      'POST',
      `/tenants/${h.tenantId}/config/versions`,
      testTenantConfig({ connector: connectorConfig(away, 'other-token') as never }),
    );
    expect(renamed.status).toBe(400);
    expect(renamed.body.error.problems.map((p: string) => p.split(':')[0])).toEqual(['connector.auth.bearer.secret', 'connector.baseUrl']);
    await saveConfigVersion(h.db, h.tenantId, testTenantConfig({ connector: connectorConfig(app.url) as never }), 'test');
  });
});
