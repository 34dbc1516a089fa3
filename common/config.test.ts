import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  test('when nothing is set, then the embedded defaults apply', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, host: '127.0.0.1', databaseUrl: undefined, smtpUrl: undefined, publicUrl: 'http://localhost:8080', logLevel: 'info' });
    expect(c.temporal).toMatchObject({ address: undefined, namespace: 'default', taskQueue: 'scimflow', tls: false, devServerPort: 7233, devUiPort: 8233 });
    expect(c.dataDir).toMatch(/data$/);
  });

  test('when several values are bad, then every problem is reported at once with the variable name', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', TEMPORAL_ADDRESS: 'no port', SMTP_URL: 'not a url', TAG_PROPAGATION_DELAY: 'ten minutes', LOG_LEVEL: 'loud', TEMPORAL_TLS_CERT_PATH: '/c.pem' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'TEMPORAL_ADDRESS', 'SMTP_URL', 'TAG_PROPAGATION_DELAY', 'LOG_LEVEL', 'TEMPORAL_TLS_KEY_PATH']) expect(problems).toContain(name);
    expect((error as ConfigError).problems).toHaveLength(7);
  });

  test('when Temporal Cloud settings are given, then TLS is on and the durations are parsed', () => {
    const c = loadConfig({ TEMPORAL_ADDRESS: 'acme.tmprl.cloud:7233', TEMPORAL_API_KEY: 'k', ROLE_PROPAGATION_DELAY: '0s', TAG_PROPAGATION_DELAY: '90s', PUBLIC_URL: 'https://scim.example.org/' });
    expect(c.temporal.tls).toBe(true);
    expect(c.rolePropagationDelayMs).toBe(0);
    expect(c.tagPropagationDelayMs).toBe(90_000);
    expect(c.publicUrl).toBe('https://scim.example.org');
  });
});
