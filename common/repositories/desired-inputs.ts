/**
 * Everything one user's desired state is computed from, in one statement: the tenant's current
 * configuration (its JSON only when this process has not parsed that version yet), the SCIM
 * document and version, the names of the user's groups (nested groups included), and the
 * terminated users a re-hire may inherit from. Every onboarding step reads it (plan, converge,
 * access check); it used to be four statements each time.
 */
import type { Queryable } from '../db';
import { isUuid } from '../../domain/uuid';
import { cachedConfig, configOfRow, currentConfigSql, type ConfigVersion, type CurrentConfigRow } from './tenants';

export interface DesiredInputs {
  config: ConfigVersion;
  /** Undefined when the SCIM user does not exist. */
  user?: {
    doc: Record<string, unknown>;
    version: number;
    /** Display names of the groups the user is in, directly or through nested groups, by name. */
    groups: string[];
    /** Terminated users with the same externalId and an entitlements snapshot, latest first, with how long ago they were terminated. */
    rehireCandidates: { userId: string; snapshot: Record<string, unknown>; terminatedMsAgo: number | null }[];
  };
}

export async function desiredInputsOf(db: Queryable, tenantId: string, userId: string): Promise<DesiredInputs> {
  const cached = cachedConfig(tenantId);
  const id = isUuid(userId) ? userId : null;
  const row = (
    await db.query<Record<string, any>>(
      `WITH RECURSIVE
         c AS (${currentConfigSql(1, 3)}),
         u AS (SELECT id, external_id, doc, version FROM scim_users WHERE tenant_id = $1 AND id = $2::uuid),
         up(group_id) AS (
           SELECT m.group_id FROM scim_group_members m WHERE m.tenant_id = $1 AND m.member_id = $2::uuid
           UNION
           SELECT m.group_id FROM up JOIN scim_group_members m ON m.tenant_id = $1 AND m.member_id = up.group_id)
       SELECT c.version AS c_version, c.created_by AS c_created_by, c.created_at AS c_created_at, c.stamp AS c_stamp, c.config AS c_config,
         u.id IS NOT NULL AS found, u.doc, u.version,
         ARRAY(SELECT g.display_name FROM up JOIN scim_groups g ON g.tenant_id = $1 AND g.id = up.group_id ORDER BY g.display_name) AS groups,
         (SELECT json_agg(json_build_object('userId', a.user_id::text, 'snapshot', a.entitlements_snapshot,
                   'terminatedMsAgo', EXTRACT(EPOCH FROM now() - a.terminated_at) * 1000) ORDER BY a.terminated_at DESC)
          FROM app_users a
          WHERE a.tenant_id = $1 AND a.external_id = u.external_id AND u.external_id <> '' AND a.user_id <> u.id
            AND a.status = 'terminated' AND a.entitlements_snapshot IS NOT NULL) AS rehires
       FROM (SELECT 1) AS one LEFT JOIN c ON true LEFT JOIN u ON true`,
      [tenantId, id, cached?.stamp ?? ''],
    )
  ).rows[0];
  const configRow: CurrentConfigRow | undefined =
    row.c_version === null
      ? undefined
      : { version: row.c_version, created_by: row.c_created_by, created_at: row.c_created_at, stamp: row.c_stamp, config: row.c_config };
  const config = configOfRow(tenantId, configRow, cached);
  if (!row.found) return { config };
  return { config, user: { doc: row.doc, version: row.version, groups: row.groups ?? [], rehireCandidates: row.rehires ?? [] } };
}
