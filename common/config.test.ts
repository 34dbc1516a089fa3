import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  test('when nothing is set, then the embedded defaults apply', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      databaseUrl: undefined,
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
