/**
 * The connector of each tenant, built from its current configuration and kept per configuration
 * version: the activities already read the configuration (it comes with the desired state), so
 * finding the connector costs no statement; a new version builds a new connector (and drops the
 * old one's cached OAuth token). Secrets are read when a call needs them (connectors/secrets.ts
 * keeps them for 30 s), so a secret set again is used without a new configuration version.
 */
import type { Queryable } from '../common/db';
import { currentConfig, type ConfigVersion } from '../common/repositories/tenants';
import { connectorOf, type ConnectorConfig, type HttpConnectorConfig, type ScimConnectorConfig } from '../domain/connector-config';
import { directoryConnector } from './directory';
import { parseDuration } from '../domain/duration';
import { httpConnector } from './http';
import { createScimConnector } from './scim';
import { ConnectorError, type ApplicationConnector } from './port';
import type { SecretStore } from './secrets';

/** What a connector gets besides its configuration. */
export interface ConnectorContext {
  tenantId: string;
  /** The plaintext of a secret the configuration names; a ConnectorError (permanent) saying how to set it when there is none. */
  secret(name: string): Promise<string>;
  fetch: typeof fetch;
}

/** Builds the `scim` connector another way than connectors/scim.ts's createScimConnector (tests). */
export type ScimConnectorFactory = (config: ScimConnectorConfig, context: ConnectorContext) => ApplicationConnector;

/** Overrides of the connectors' factories (tests). */
export const connectorFactories: { scim?: ScimConnectorFactory } = {};

export interface ConnectorRegistry {
  /** The tenant's connector under configuration `config` (as read with the desired state). */
  forConfig(tenantId: string, config: ConfigVersion): ApplicationConnector;
  /** The tenant's connector under its current configuration (one statement: the configuration's version). */
  current(tenantId: string): Promise<ApplicationConnector>;
  /** A connector for a configuration not saved yet (the CLI's validate, a "test connection" of a draft). */
  build(tenantId: string, config: ConnectorConfig): ApplicationConnector;
}

export function connectorRegistry(deps: { db: Queryable; secrets: SecretStore; fetch?: typeof fetch }): ConnectorRegistry {
  const directory = directoryConnector(deps.db);
  const byTenant = new Map<string, { stamp: string; connector: ApplicationConnector }>();
  const contextOf = (tenantId: string): ConnectorContext => ({
    tenantId,
    fetch: deps.fetch ?? fetch,
    async secret(name) {
      try {
        return await deps.secrets.get(tenantId, name);
      } catch (err) {
        throw new ConnectorError('permanent', (err as Error).message, { operation: 'secret' });
      }
    },
  });
  const build = (tenantId: string, config: ConnectorConfig): ApplicationConnector => {
    if (config.kind === 'directory') return directory;
    if (config.kind === 'http') return httpConnector(config as HttpConnectorConfig, contextOf(tenantId));
    const context = contextOf(tenantId);
    if (connectorFactories.scim) return connectorFactories.scim(config, context);
    return createScimConnector(
      { baseUrl: config.baseUrl, timeoutMs: parseDuration(config.timeout), mapping: config.mapping },
      { bearerToken: () => context.secret(config.auth.bearer.secret), fetch: context.fetch },
    );
  };
  const registry: ConnectorRegistry = {
    build,
    forConfig(tenantId, version) {
      const config = connectorOf(version.config);
      if (config.kind === 'directory') return directory;
      const stamp = `${version.version}@${version.createdAt.getTime()}`;
      const cached = byTenant.get(tenantId);
      if (cached?.stamp === stamp) return cached.connector;
      const connector = build(tenantId, config);
      if (byTenant.size >= 1_000) byTenant.clear();
      byTenant.set(tenantId, { stamp, connector });
      return connector;
    },
    async current(tenantId) {
      return registry.forConfig(tenantId, await currentConfig(deps.db, tenantId));
    },
  };
  return registry;
}
