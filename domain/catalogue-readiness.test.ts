/** The catalogue submission rules (catalogue-readiness.ts): Okta OIN and the Entra gallery, from the settings. */
import { catalogueReadiness, type ReadinessInput } from './catalogue-readiness';

const ready: ReadinessInput = {
  scimBaseUrl: 'https://scim.care-group.example.com/scim/v2',
  accessTokenTtlMs: 60 * 60_000,
  liveOAuthClients: [{ clientId: '5f0c5a8e-0000-4000-8000-000000000001', name: 'entra' }],
};
const failing = (input: Partial<ReadinessInput>) =>
  catalogueReadiness({ ...ready, ...input })
    .checks.filter((c) => !c.ok)
    .map((c) => c.id);
const reasonOf = (input: Partial<ReadinessInput>, id: string) => catalogueReadiness({ ...ready, ...input }).checks.find((c) => c.id === id)?.reason;

describe('catalogueReadiness', () => {
  test('when the base URL is public HTTPS without underscores, a client exists and tokens live 60 min, then every check passes', () => {
    const result = catalogueReadiness(ready);
    expect(result.ok).toBe(true);
    expect(result.checks.map((c) => c.id)).toEqual(['https', 'no-underscore', 'public-host', 'oauth-client', 'access-token-lifetime']);
    expect(result.checks.every((c) => c.reason.length > 0)).toBe(true);
  });

  test('when the base URL is http, then the https check fails and says to set PUBLIC_URL', () => {
    expect(failing({ scimBaseUrl: 'http://scim.care-group.example.com/scim/v2' })).toEqual(['https']);
    expect(reasonOf({ scimBaseUrl: 'http://scim.care-group.example.com/scim/v2' }, 'https')).toMatch(/PUBLIC_URL/);
  });

  test('when the host or the path has an underscore, then the Okta OIN check fails naming where', () => {
    expect(failing({ scimBaseUrl: 'https://scim_flow.care-group.example.com/scim/v2' })).toEqual(['no-underscore']);
    expect(reasonOf({ scimBaseUrl: 'https://scim_flow.care-group.example.com/scim/v2' }, 'no-underscore')).toContain('host "scim_flow.care-group.example.com"');
    expect(failing({ scimBaseUrl: 'https://scim.care-group.example.com/care_group/scim/v2' })).toEqual(['no-underscore']);
    expect(reasonOf({ scimBaseUrl: 'https://scim.care-group.example.com/care_group/scim/v2' }, 'no-underscore')).toContain('path "/care_group/scim/v2"');
    // A hyphen is fine, and an underscore in a query is no part of the base URL's host or path.
    expect(failing({ scimBaseUrl: 'https://scim-flow.care-group.example.com/scim/v2' })).toEqual([]);
  });

  test('when the host is loopback, private, single-label or reserved, then the public-host check fails', () => {
    for (const host of ['localhost', '127.0.0.1', '10.1.2.3', '172.20.0.5', '192.168.1.10', '[::1]', 'scimflow', 'scim.hospital.local', 'scim.example'])
      expect({ host, failing: failing({ scimBaseUrl: `https://${host}/scim/v2` }) }).toEqual({ host, failing: ['public-host'] });
    expect(failing({ scimBaseUrl: 'https://203.0.113.7/scim/v2' })).toEqual([]);
  });

  test('when the tenant has no live OAuth client, then the Entra gallery check fails and names the command that creates one', () => {
    expect(failing({ liveOAuthClients: [] })).toEqual(['oauth-client']);
    expect(reasonOf({ liveOAuthClients: [] }, 'oauth-client')).toContain('npm run tokens -- create-client');
  });

  test('when access tokens live outside 60 to 360 minutes, then the lifetime check fails; the bounds themselves pass', () => {
    expect(failing({ accessTokenTtlMs: 59 * 60_000 })).toEqual(['access-token-lifetime']);
    expect(failing({ accessTokenTtlMs: 361 * 60_000 })).toEqual(['access-token-lifetime']);
    expect(failing({ accessTokenTtlMs: 360 * 60_000 })).toEqual([]);
    expect(reasonOf({ accessTokenTtlMs: 30 * 60_000 }, 'access-token-lifetime')).toMatch(/30 min .*60 to 360 min/);
  });

  test('when the base URL is not a URL, then the https check fails and the URL checks are not guessed at', () => {
    const result = catalogueReadiness({ ...ready, scimBaseUrl: 'scim.example.com' });
    expect(result.ok).toBe(false);
    expect(result.checks.map((c) => [c.id, c.ok])).toEqual([
      ['https', false],
      ['oauth-client', true],
      ['access-token-lifetime', true],
    ]);
  });
});
