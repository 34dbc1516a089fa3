/** Tenants and their versioned configuration. Saving a version also materialises its organisations. */
import type { Queryable } from '../db';
import { parseStoredTenantConfig, parseTenantConfig, servicesOf, type TenantConfig } from '../../domain/tenant-config';

export interface TenantRow {
  id: string;
  name: string;
}

export async function createTenant(db: Queryable, id: string, name: string): Promise<void> {
  await db.query('INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [id, name]);
}

export async function getTenant(db: Queryable, id: string): Promise<TenantRow | undefined> {
  return (await db.query<TenantRow>('SELECT id, name FROM tenants WHERE id = $1', [id])).rows[0];
}

export async function listTenants(db: Queryable): Promise<TenantRow[]> {
  return (await db.query<TenantRow>('SELECT id, name FROM tenants ORDER BY id')).rows;
}

export interface ConfigVersion {
  version: number;
  config: TenantConfig;
  createdBy: string;
  createdAt: Date;
}

/** The current (latest) configuration; a tenant without one gets the validated defaults. */
/**
 * Parsed configurations by tenant: every onboarding reads the current configuration, and
 * parsing (schema validation) costs more than the query. A version row is written once and
 * never changed, so its version and creation time (to the microsecond) identify it, also
 * across databases; the JSON is only sent when the cached one is not the current one.
 * Shared, hence frozen.
 */
const parsedConfigs = new Map<string, { stamp: string; config: TenantConfig }>();
const PARSED_CONFIGS_MAX = 1_000;

/** The current version row of tenant `$tenant`, with its JSON only when its stamp is not `$stamp` (the cached one); parameters numbered as given. */
export function currentConfigSql(tenantParam: number, stampParam: number): string {
  return `SELECT version, created_by, created_at, version || '@' || created_at::text AS stamp,
              CASE WHEN version || '@' || created_at::text = $${stampParam} THEN NULL ELSE config END AS config
       FROM tenant_config_versions WHERE tenant_id = $${tenantParam} ORDER BY version DESC LIMIT 1`;
}

/** A row of currentConfigSql. */
export interface CurrentConfigRow {
  version: number;
  config: unknown;
  stamp: string;
  created_by: string;
  created_at: Date;
}

/** The tenant's parsed configuration in this process, if any: its stamp is currentConfigSql's `$stamp`, and configOfRow takes it back. */
export function cachedConfig(tenantId: string): { stamp: string; config: TenantConfig } | undefined {
  return parsedConfigs.get(tenantId);
}

/** The configuration of a currentConfigSql row queried with `cached`'s stamp (no row: the tenant has no version), parsed once per version. */
export function configOfRow(tenantId: string, row: CurrentConfigRow | undefined, cached: { stamp: string; config: TenantConfig } | undefined): ConfigVersion {
  if (!row) return { version: 0, config: parseTenantConfig({}), createdBy: 'default', createdAt: new Date(0) };
  let config = cached && row.config === null ? cached.config : undefined;
  if (!config) {
    config = deepFreeze(parseStoredTenantConfig(row.config));
    if (parsedConfigs.size >= PARSED_CONFIGS_MAX) parsedConfigs.clear();
    parsedConfigs.set(tenantId, { stamp: row.stamp, config });
  }
  return { version: row.version, config, createdBy: row.created_by, createdAt: row.created_at };
}

export async function currentConfig(db: Queryable, tenantId: string): Promise<ConfigVersion> {
  const cached = cachedConfig(tenantId);
  const row = (await db.query<CurrentConfigRow>(currentConfigSql(1, 2), [tenantId, cached?.stamp ?? ''])).rows[0];
  return configOfRow(tenantId, row, cached);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Stores a new version (validated first) and brings the organisations table in line with it. */
export async function saveConfigVersion(db: Queryable, tenantId: string, input: unknown, createdBy: string): Promise<number> {
  const config = parseTenantConfig(input);
  const next = (await db.query<{ v: number }>('SELECT COALESCE(MAX(version), 0)::int + 1 AS v FROM tenant_config_versions WHERE tenant_id = $1', [tenantId]))
    .rows[0].v;
  await db.query('INSERT INTO tenant_config_versions (tenant_id, version, config, created_by) VALUES ($1, $2, $3::jsonb, $4)', [
    tenantId,
    next,
    JSON.stringify(config),
    createdBy,
  ]);
  for (const o of config.organisations) {
    await db.query(
      `INSERT INTO organisations (tenant_id, key, name, kind, licence_level, mobile_licence, services, seat_limit)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (tenant_id, key) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, licence_level = EXCLUDED.licence_level,
         mobile_licence = EXCLUDED.mobile_licence, services = EXCLUDED.services, seat_limit = EXCLUDED.seat_limit`,
      [tenantId, o.key, o.name, o.kind, o.licenceLevel ?? null, o.mobileLicence ?? null, servicesOf(o), o.seatLimit ?? null],
    );
  }
  return next;
}

/** One stored version; undefined when the tenant has no such version. */
export async function getConfigVersion(db: Queryable, tenantId: string, version: number): Promise<ConfigVersion | undefined> {
  const row = (
    await db.query<{ version: number; config: unknown; created_by: string; created_at: Date }>(
      'SELECT version, config, created_by, created_at FROM tenant_config_versions WHERE tenant_id = $1 AND version = $2',
      [tenantId, version],
    )
  ).rows[0];
  return row ? { version: row.version, config: parseStoredTenantConfig(row.config), createdBy: row.created_by, createdAt: row.created_at } : undefined;
}

/** The versions, newest first, without their documents. */
export async function listConfigVersions(db: Queryable, tenantId: string): Promise<{ version: number; createdBy: string; createdAt: Date }[]> {
  return (
    await db.query<{ version: number; created_by: string; created_at: Date }>(
      'SELECT version, created_by, created_at FROM tenant_config_versions WHERE tenant_id = $1 ORDER BY version DESC',
      [tenantId],
    )
  ).rows.map((r) => ({ version: r.version, createdBy: r.created_by, createdAt: r.created_at }));
}

/** Locks the tenant row for the rest of the transaction, so two configuration saves run one after the other. */
export async function lockTenant(tx: Queryable, tenantId: string): Promise<boolean> {
  return (await tx.query('SELECT id FROM tenants WHERE id = $1 FOR UPDATE', [tenantId])).rowCount > 0;
}
