/** The connection test: the requests an identity provider's "test connection" sends, made against this server. */
import crypto from 'node:crypto';
import { verifyToken } from '../common/repositories/tokens';
import { AdminError, auditAction, tenantOf, type AdminDeps, type Caller } from './shared';

export interface ConnectionCheck {
  name: string;
  request: string;
  ok: boolean;
  status: number | null;
  ms: number;
  detail: string;
}

/**
 * The requests an identity provider's "test connection" sends, made over HTTP to this server's
 * SCIM base URL with the token given (not stored): Okta reads the service provider
 * configuration and a page of users and groups; Entra ID looks a random userName up and
 * expects an empty list. Writes nothing.
 */
export async function testConnection(deps: AdminDeps, caller: Caller, tenantId: string, body: unknown) {
  await tenantOf(deps, caller, tenantId);
  const token = typeof (body as { token?: unknown })?.token === 'string' ? (body as { token: string }).token.trim() : '';
  if (!token) throw new AdminError(400, 'give "token": the SCIM token the identity provider uses');
  const base = deps.scimBaseUrl;
  const owner = await verifyToken(deps.db, token);
  if (!owner || owner.kind !== 'scim' || owner.tenantId !== tenantId) {
    return {
      baseUrl: base,
      ok: false,
      checks: [
        {
          name: 'token',
          request: '(none sent)',
          ok: false,
          status: null,
          ms: 0,
          detail: "This is not a live SCIM token of this tenant (unknown, revoked, an admin token, or another tenant's). Create one on this page.",
        },
      ],
    };
  }
  const probe = `scimflow-connection-test-${crypto.randomUUID()}@example.invalid`;
  const requests: { name: string; path: string; expect: (status: number, body: any) => string | undefined }[] = [
    {
      name: 'Service provider configuration (Okta, Entra ID)',
      path: '/ServiceProviderConfig',
      expect: (s, b) => (s === 200 && b?.patch ? undefined : `expected 200 with "patch", got ${s}`),
    },
    {
      name: 'First page of users (Okta)',
      path: '/Users?startIndex=1&count=1',
      expect: (s, b) => (s === 200 && typeof b?.totalResults === 'number' ? undefined : `expected 200 with a ListResponse, got ${s}`),
    },
    {
      name: 'Look up a user that does not exist (Entra ID)',
      path: `/Users?filter=${encodeURIComponent(`userName eq "${probe}"`)}`,
      expect: (s, b) => (s === 200 && b?.totalResults === 0 ? undefined : `expected 200 with totalResults 0, got ${s}`),
    },
    {
      name: 'First page of groups (group push)',
      path: '/Groups?startIndex=1&count=1',
      expect: (s, b) => (s === 200 && typeof b?.totalResults === 'number' ? undefined : `expected 200 with a ListResponse, got ${s}`),
    },
  ];
  const checks: ConnectionCheck[] = [];
  for (const r of requests) {
    const started = Date.now();
    try {
      const res = await fetch(`${base}${r.path}`, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/scim+json' },
        signal: AbortSignal.timeout(5_000),
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      const problem = r.expect(res.status, parsed);
      checks.push({
        name: r.name,
        request: `GET ${r.path}`,
        ok: !problem,
        status: res.status,
        ms: Date.now() - started,
        detail: problem ?? 'as an IdP expects',
      });
    } catch (err) {
      checks.push({
        name: r.name,
        request: `GET ${r.path}`,
        ok: false,
        status: null,
        ms: Date.now() - started,
        detail: `could not reach ${base} from the server: ${(err as Error).message} (is PUBLIC_URL right?)`,
      });
    }
  }
  await auditAction(deps, caller, null, 'connectionTested', { ok: checks.every((c) => c.ok) });
  return { baseUrl: base, ok: checks.every((c) => c.ok), checks };
}
