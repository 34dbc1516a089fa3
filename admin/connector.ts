/**
 * The tenant's connector to its application (docs/connectors.md): which one, where it sends (no
 * secrets: they are named in the configuration and stored encrypted), its health
 * (connectors/health.ts: last success, last error, calls per minute, latency, the users whose
 * last call the application refused, with its message), and the "test connection": the
 * connector's check() with the configured credentials.
 */
import { currentConfig } from '../common/repositories/tenants';
import { connectorHealth, testConnection, type ConnectorHealth } from '../connectors/health';
import { connectorRegistry, type ConnectorRegistry } from '../connectors/registry';
import { secretStore } from '../connectors/secrets';
import { connectorOf } from '../domain/connector-config';
import { auditAction, tenantOf, type AdminDeps, type Caller } from './shared';

/** The deps' registry, else one over their database (secrets read each time: a secret set again is tested at once). */
function registryOf(deps: AdminDeps): ConnectorRegistry {
  return deps.connectors ?? connectorRegistry({ db: deps.db, secrets: secretStore(deps.db, { keys: deps.connectorSecretKeys, cacheMs: 0 }) });
}

/** A URL as shown: without a user name or password, should the configuration hold one. */
function shownUrl(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return null;
  }
}

export interface ConnectorView {
  kind: ConnectorHealth['kind'];
  baseUrl: string | null;
  /** How it authenticates (the secret's name only, never its value). */
  auth: string | null;
  readsBack: boolean;
  configVersion: number;
  health: Omit<ConnectorHealth, 'kind' | 'baseUrl' | 'readsBack'>;
}

/** The tenant's connector under its current configuration, and its health over the last `windowMinutes`. */
export async function describeConnector(deps: AdminDeps, caller: Caller, tenantId: string, windowMinutes = 15): Promise<ConnectorView> {
  await tenantOf(deps, caller, tenantId);
  const version = await currentConfig(deps.db, tenantId);
  const config = connectorOf(version.config);
  const { kind, baseUrl, readsBack, ...health } = await connectorHealth(deps.db, registryOf(deps), tenantId, windowMinutes);
  let auth: string | null = null;
  if (config.kind === 'scim') auth = `bearer token (secret ${config.auth.bearer.secret})`;
  if (config.kind === 'http') {
    const a = config.auth;
    auth = a.bearer
      ? `bearer token (secret ${a.bearer.secret})`
      : a.oauth2ClientCredentials
        ? `OAuth 2.0 client credentials (client ${a.oauth2ClientCredentials.clientId}, secret ${a.oauth2ClientCredentials.clientSecret.secret})`
        : a.hmac
          ? `HMAC-signed requests (secret ${a.hmac.secret})`
          : null;
  }
  return { kind, baseUrl: shownUrl(baseUrl), auth, readsBack, configVersion: version.version, health };
}

/** The "test connection": the current connector reaches its application with the configured credentials. Writes nothing there. */
export async function testConnector(deps: AdminDeps, caller: Caller, tenantId: string) {
  await tenantOf(deps, caller, tenantId);
  const result = await testConnection(deps.db, registryOf(deps), tenantId);
  await auditAction(deps, caller, null, 'connectorTested', { kind: result.kind, ok: result.ok, durationMs: result.durationMs });
  return result;
}
