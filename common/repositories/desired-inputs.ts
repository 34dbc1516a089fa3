/**
 * Everything the desired state of some users is computed from, in one statement: the tenant's
 * current configuration (its JSON only when this process has not parsed that version yet), and
 * for each user the SCIM document and version, the names of its groups (nested groups included,
 * scim_user_groups, migration 015) and the latest terminated user a re-hire may inherit from.
 * The workflow's steps read one user with it (plan, converge, access check: it used to be four
 * statements each time), a policy change, a preview and drift repair a page of users.
 */
import type { Queryable } from '../db';
import { isUuid } from '../../domain/uuid';
import { cachedConfig, configOfRow, currentConfigSql, type ConfigVersion, type CurrentConfigRow } from './tenants';

/** The inputs of one stored SCIM user. */
export interface UserInputs {
  doc: Record<string, unknown>;
  version: number;
  /** Display names of the groups the user is in, directly or through nested groups, by name. */
  groups: string[];
  /**
   * The latest other user with the same (non-empty) externalId that was terminated with an
   * entitlements snapshot, and how long ago on the database clock. Whether it is recent enough
   * to be inherited depends on the configuration (policy/desired-state.ts decides).
   */
  rehireCandidate?: { userId: string; snapshot: Record<string, unknown>; terminatedMsAgo: number };
}

export interface DesiredInputs {
  config: ConfigVersion;
  /** By user id; a user that does not exist (or an id that is not a UUID) is absent. */
  users: Map<string, UserInputs>;
}

/**
 * One row per user found, or one row without a user when none is: the configuration comes either
 * way (its JSON, when sent at all, on one row only). Of the earlier selves only the latest
 * terminated is read: any other was terminated longer ago, so it is inside no retention window
 * the latest is outside of.
 */
const DESIRED_INPUTS_SQL = `
  WITH c AS (${currentConfigSql(1, 3)})
  SELECT c.version AS c_version, c.created_by AS c_created_by, c.created_at AS c_created_at, c.stamp AS c_stamp,
    CASE WHEN row_number() OVER () = 1 THEN c.config END AS c_config,
    u.id::text AS id, u.doc, u.version, scim_user_groups($1, u.id) AS groups,
    r.user_id::text AS r_user_id, r.entitlements_snapshot AS r_snapshot, EXTRACT(EPOCH FROM now() - r.terminated_at)::float8 * 1000 AS r_ms_ago
  FROM (SELECT 1) AS one
  LEFT JOIN c ON true
  LEFT JOIN scim_users u ON u.tenant_id = $1 AND u.id = ANY($2::uuid[])
  LEFT JOIN LATERAL (
    SELECT a.user_id, a.entitlements_snapshot, a.terminated_at FROM app_users a
    WHERE a.tenant_id = $1 AND a.external_id = u.external_id AND u.external_id <> '' AND a.user_id <> u.id
      AND a.status = 'terminated' AND a.entitlements_snapshot IS NOT NULL AND a.terminated_at IS NOT NULL
    ORDER BY a.terminated_at DESC LIMIT 1) r ON true`;

export async function desiredInputsOf(db: Queryable, tenantId: string, userIds: readonly string[]): Promise<DesiredInputs> {
  const cached = cachedConfig(tenantId);
  // Keyed by the ids as given: PostgreSQL spells a uuid in lower case.
  const asGiven = new Map(userIds.filter(isUuid).map((id) => [id.toLowerCase(), id]));
  const rows = (await db.query<Record<string, any>>(DESIRED_INPUTS_SQL, [tenantId, [...asGiven.keys()], cached?.stamp ?? ''])).rows;
  const first = rows.find((r) => r.c_config !== null) ?? rows[0];
  const configRow: CurrentConfigRow | undefined =
    first.c_version === null
      ? undefined
      : { version: first.c_version, created_by: first.c_created_by, created_at: first.c_created_at, stamp: first.c_stamp, config: first.c_config };
  const users = new Map<string, UserInputs>();
  for (const row of rows) {
    if (row.id === null) continue;
    users.set(asGiven.get(row.id) ?? row.id, {
      doc: row.doc,
      version: row.version,
      groups: ((row.groups ?? []) as { display: string }[]).map((g) => g.display),
      ...(row.r_user_id !== null ? { rehireCandidate: { userId: row.r_user_id, snapshot: row.r_snapshot, terminatedMsAgo: row.r_ms_ago } } : {}),
    });
  }
  return { config: configOfRow(tenantId, configRow, cached), users };
}
