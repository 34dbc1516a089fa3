import { ConfigError, loadConfig, requireServices, sdkRuntimeSettings, toolsSettings } from './config';

describe('loadConfig', () => {
  test('when nothing is set, then the embedded defaults apply', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      databaseUrl: undefined,
      embeddedPostgresPort: 8432,
      smtpUrl: undefined,
      publicUrl: 'http://localhost:8080',
      logLevel: 'info',
    });
    expect(c.temporal).toMatchObject({ address: undefined, namespace: 'default', taskQueue: 'scimflow', tls: false, devServerPort: 7233, devUiPort: 8233 });
    expect(c.dataDir).toMatch(/data$/);
    expect(c.outboxRetentionDays).toBe(30);
  });

  test('when OUTBOX_RETENTION_DAYS is set, then it is a whole number of days from 0 (keep) up', () => {
    expect(loadConfig({ OUTBOX_RETENTION_DAYS: '7' }).outboxRetentionDays).toBe(7);
    expect(loadConfig({ OUTBOX_RETENTION_DAYS: '0' }).outboxRetentionDays).toBe(0);
    for (const bad of ['-1', '1.5', 'a month']) {
      expect(() => loadConfig({ OUTBOX_RETENTION_DAYS: bad })).toThrow(/OUTBOX_RETENTION_DAYS/);
    }
  });

  test('when REQUEST_LOG_RETENTION_DAYS is unset, then the request log keeps 14 days; 0 turns it off; anything else is refused', () => {
    expect(loadConfig({}).requestLogRetentionDays).toBe(14);
    expect(loadConfig({ REQUEST_LOG_RETENTION_DAYS: '0' }).requestLogRetentionDays).toBe(0);
    for (const bad of ['-1', '2.5', 'forever']) {
      expect(() => loadConfig({ REQUEST_LOG_RETENTION_DAYS: bad })).toThrow(/REQUEST_LOG_RETENTION_DAYS/);
    }
  });

  test('when the worker sizing is set, then it is validated, and a bundle path must exist', () => {
    expect(loadConfig({}).worker).toEqual({ workflowBundlePath: undefined, maxCachedWorkflows: 100, maxConcurrentActivities: 20 });
    expect(loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '100', WORKER_MAX_CONCURRENT_ACTIVITIES: '8', WORKFLOW_BUNDLE_PATH: __filename }).worker).toEqual({
      workflowBundlePath: __filename,
      maxCachedWorkflows: 100,
      maxConcurrentActivities: 8,
    });
    expect(() => loadConfig({ WORKER_MAX_CONCURRENT_ACTIVITIES: '0' })).toThrow(/WORKER_MAX_CONCURRENT_ACTIVITIES="0" must be a whole number from 1/);
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: 'many' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS/);
    expect(() => loadConfig({ WORKFLOW_BUNDLE_PATH: '/nonexistent/workflows.js' })).toThrow(
      /WORKFLOW_BUNDLE_PATH=.*does not exist; build it with `npm run build:workflows`/,
    );
  });

  test('when several values are bad, then every problem is reported at once with the variable name', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        TEMPORAL_ADDRESS: 'no port',
        SMTP_URL: 'not a url',
        TAG_PROPAGATION_DELAY: 'ten minutes',
        LOG_LEVEL: 'loud',
        TEMPORAL_TLS_CERT_PATH: '/c.pem',
      });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'TEMPORAL_ADDRESS', 'SMTP_URL', 'TAG_PROPAGATION_DELAY', 'LOG_LEVEL', 'TEMPORAL_TLS_KEY_PATH'])
      expect(problems).toContain(name);
    expect((error as ConfigError).problems).toHaveLength(7);
  });

  test('when Temporal Cloud settings are given, then TLS is on and the durations are parsed', () => {
    const c = loadConfig({
      TEMPORAL_ADDRESS: 'acme.tmprl.cloud:7233',
      TEMPORAL_API_KEY: 'k',
      ROLE_PROPAGATION_DELAY: '0s',
      TAG_PROPAGATION_DELAY: '90s',
      PUBLIC_URL: 'https://scim.example.org/',
    });
    expect(c.temporal.tls).toBe(true);
    expect(c.rolePropagationDelayMs).toBe(0);
    expect(c.tagPropagationDelayMs).toBe(90_000);
    expect(c.publicUrl).toBe('https://scim.example.org');
  });
});

describe('requireServices', () => {
  test('when a production process lacks its services, then one ConfigError names each missing variable and why', () => {
    const config = loadConfig({});
    expect(() => requireServices(config, 'npm run worker', ['databaseUrl', 'temporalAddress', 'smtpUrl'])).toThrow(ConfigError);
    try {
      requireServices(config, 'npm run worker', ['databaseUrl', 'temporalAddress', 'smtpUrl']);
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        'DATABASE_URL is required for `npm run worker` (the embedded database is for `npm start` only)',
        'TEMPORAL_ADDRESS is required for `npm run worker` (the Temporal dev server is for `npm start` only)',
        'SMTP_URL is required for `npm run worker` (the local mail catcher is for `npm start` only)',
      ]);
    }
  });

  test('when the services are configured, then nothing is thrown', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://db/x', TEMPORAL_ADDRESS: 'temporal:7233', SMTP_URL: 'smtp://mail:25' });
    expect(() => requireServices(config, 'npm run worker', ['databaseUrl', 'temporalAddress', 'smtpUrl'])).not.toThrow();
  });
});

describe('toolsSettings and sdkRuntimeSettings', () => {
  test('when no variables are set, then tools live under the user cache and the SDK logs at WARN without a metrics endpoint', () => {
    const tools = toolsSettings({ PATH: '/usr/bin:/bin' });
    expect(tools.dir).toMatch(/\.cache\/scimflow\/tools$/);
    expect(tools.searchPath).toEqual(['/usr/bin', '/bin']);
    expect(tools.skipVendorDownload).toBe(false);
    expect(sdkRuntimeSettings({})).toEqual({ logLevel: 'WARN', processLogLevel: 'info', metricsAddress: undefined });
  });

  test('when they are set, then they are honoured (an unknown SDK level falls back to WARN)', () => {
    expect(toolsSettings({ SCIMFLOW_TOOLS_DIR: '/opt/tools', SCIMFLOW_SKIP_VENDOR_DOWNLOAD: '1' })).toMatchObject({
      dir: '/opt/tools',
      skipVendorDownload: true,
    });
    expect(sdkRuntimeSettings({ TEMPORAL_SDK_LOG_LEVEL: 'debug', TEMPORAL_METRICS_PORT: '9465', HOST: '0.0.0.0' })).toMatchObject({
      logLevel: 'DEBUG',
      metricsAddress: '0.0.0.0:9465',
    });
    expect(sdkRuntimeSettings({ TEMPORAL_SDK_LOG_LEVEL: 'chatty' }).logLevel).toBe('WARN');
  });
});
