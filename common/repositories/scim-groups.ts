/** SQL for SCIM groups. Members are rows of their own, so PATCHing a 50,000-member group touches only the members named. */
import { isUuid, onlyUuids } from '../../domain/uuid';
import type { Queryable } from '../db';
import { listRows, listWithTotal, type ListQuery, type ListSource } from './list-query';
import { touchGroupsOf } from './scim-users';

export interface ScimGroupRow {
  id: string;
  tenantId: string;
  displayName: string;
  externalId: string | null;
  doc: Record<string, unknown>;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  /** Where the group stands in its tenant's listing (migration 024): index and cursor paging key. */
  listPosition: number;
}

export interface GroupMember {
  value: string;
  type: 'User' | 'Group';
  display: string | null;
}

const COLUMNS = `r.id::text AS id, r.tenant_id, r.display_name, r.external_id, r.doc, r.version, r.created_at, r.updated_at, r.list_position`;

function toRow(r: Record<string, never>): ScimGroupRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    displayName: r.display_name,
    externalId: r.external_id,
    doc: r.doc ?? {},
    version: r.version,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    listPosition: Number(r.list_position),
  };
}

export async function insertGroup(
  tx: Queryable,
  tenantId: string,
  id: string,
  g: { displayName: string; externalId: string | null; doc: Record<string, unknown> },
): Promise<ScimGroupRow> {
  return toRow(
    (
      await tx.query<Record<string, never>>(
        `INSERT INTO scim_groups AS r (tenant_id, id, display_name, external_id, doc) VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING ${COLUMNS}`,
        [tenantId, id, g.displayName, g.externalId, JSON.stringify(g.doc)],
      )
    ).rows[0],
  );
}

export async function getGroup(db: Queryable, tenantId: string, id: string, forUpdate = false): Promise<ScimGroupRow | undefined> {
  if (!isUuid(id)) return undefined;
  const r = (
    await db.query<Record<string, never>>(`SELECT ${COLUMNS} FROM scim_groups r WHERE r.tenant_id = $1 AND r.id = $2::uuid${forUpdate ? ' FOR UPDATE' : ''}`, [
      tenantId,
      id,
    ])
  ).rows[0];
  return r ? toRow(r) : undefined;
}

export async function updateGroup(
  tx: Queryable,
  tenantId: string,
  id: string,
  g: { displayName: string; externalId: string | null; doc: Record<string, unknown> },
): Promise<ScimGroupRow> {
  return toRow(
    (
      await tx.query<Record<string, never>>(
        `UPDATE scim_groups AS r SET display_name = $3, external_id = $4, doc = $5::jsonb, version = version + 1, updated_at = clock_timestamp()
         WHERE r.tenant_id = $1 AND r.id = $2::uuid RETURNING ${COLUMNS}`,
        [tenantId, id, g.displayName, g.externalId, JSON.stringify(g.doc)],
      )
    ).rows[0],
  );
}

/** Bumps the version after a membership-only change (ETags must change with members). */
export async function touchGroup(tx: Queryable, tenantId: string, id: string): Promise<ScimGroupRow> {
  return toRow(
    (
      await tx.query<Record<string, never>>(
        `UPDATE scim_groups AS r SET version = version + 1, updated_at = clock_timestamp() WHERE r.tenant_id = $1 AND r.id = $2::uuid RETURNING ${COLUMNS}`,
        [tenantId, id],
      )
    ).rows[0],
  );
}

export async function deleteGroup(tx: Queryable, tenantId: string, id: string): Promise<number | undefined> {
  // A nested group's parents change too (see touchGroupsOf).
  const parents = await tx.query<{ group_id: string }>(
    'DELETE FROM scim_group_members WHERE tenant_id = $1 AND member_id = $2::uuid RETURNING group_id::text AS group_id',
    [tenantId, id],
  );
  await touchGroupsOf(
    tx,
    tenantId,
    parents.rows.map((m) => m.group_id).filter((g) => g !== id),
  );
  return (await tx.query<{ version: number }>('DELETE FROM scim_groups WHERE tenant_id = $1 AND id = $2::uuid RETURNING version', [tenantId, id])).rows[0]
    ?.version;
}

const LIST: ListSource<ScimGroupRow> = { table: 'scim_groups', columns: COLUMNS, joins: '', toRow };

/** A page of a list or search (see list-query.ts). */
export async function listGroups(db: Queryable, tenantId: string, q: ListQuery): Promise<ScimGroupRow[]> {
  return listRows(db, LIST, tenantId, q);
}

/** A list response's page and totalResults (one lookup for an `id eq` filter). */
export async function listGroupsWithTotal(db: Queryable, tenantId: string, q: ListQuery): Promise<{ total: number; rows: ScimGroupRow[] }> {
  return listWithTotal(db, LIST, tenantId, q);
}

export async function membersOf(db: Queryable, tenantId: string, groupIds: string[]): Promise<Map<string, GroupMember[]>> {
  groupIds = onlyUuids(groupIds);
  const result = new Map<string, GroupMember[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return result;
  const rows = (
    await db.query<{ group_id: string; member_id: string; member_type: 'User' | 'Group'; display: string | null }>(
      `SELECT m.group_id::text AS group_id, m.member_id::text AS member_id, m.member_type,
              COALESCE(u.display_name, u.user_name, g.display_name) AS display
       FROM scim_group_members m
       LEFT JOIN scim_users u ON m.member_type = 'User' AND u.tenant_id = m.tenant_id AND u.id = m.member_id
       LEFT JOIN scim_groups g ON m.member_type = 'Group' AND g.tenant_id = m.tenant_id AND g.id = m.member_id
       WHERE m.tenant_id = $1 AND m.group_id = ANY($2::uuid[]) ORDER BY m.member_id`,
      [tenantId, groupIds],
    )
  ).rows;
  for (const r of rows) result.get(r.group_id)?.push({ value: r.member_id, type: r.member_type, display: r.display });
  return result;
}

/** Which of `ids` are users or groups of this tenant (members may only reference those). */
export async function resolveMemberTypes(db: Queryable, tenantId: string, ids: string[]): Promise<Map<string, 'User' | 'Group'>> {
  ids = onlyUuids(ids); // anything else names no member, and is reported as not found
  const found = new Map<string, 'User' | 'Group'>();
  if (ids.length === 0) return found;
  const rows = (
    await db.query<{ id: string; type: 'User' | 'Group' }>(
      `SELECT id::text AS id, 'User' AS type FROM scim_users WHERE tenant_id = $1 AND id = ANY($2::uuid[])
       UNION ALL SELECT id::text, 'Group' FROM scim_groups WHERE tenant_id = $1 AND id = ANY($2::uuid[])`,
      [tenantId, ids],
    )
  ).rows;
  for (const r of rows) found.set(r.id, r.type);
  return found;
}

export async function addMembers(tx: Queryable, tenantId: string, groupId: string, members: { id: string; type: 'User' | 'Group' }[]): Promise<string[]> {
  if (members.length === 0) return [];
  return (
    await tx.query<{ member_id: string }>(
      `INSERT INTO scim_group_members (tenant_id, group_id, member_id, member_type)
       SELECT $1, $2::uuid, m.id::uuid, m.type FROM unnest($3::text[], $4::text[]) AS m(id, type)
       ON CONFLICT DO NOTHING RETURNING member_id::text AS member_id`,
      [tenantId, groupId, members.map((m) => m.id), members.map((m) => m.type)],
    )
  ).rows.map((r) => r.member_id);
}

export async function removeMembers(tx: Queryable, tenantId: string, groupId: string, memberIds: string[] | 'all'): Promise<string[]> {
  if (memberIds !== 'all') memberIds = onlyUuids(memberIds);
  const result =
    memberIds === 'all'
      ? await tx.query<{ member_id: string }>(
          'DELETE FROM scim_group_members WHERE tenant_id = $1 AND group_id = $2::uuid RETURNING member_id::text AS member_id',
          [tenantId, groupId],
        )
      : await tx.query<{ member_id: string }>(
          'DELETE FROM scim_group_members WHERE tenant_id = $1 AND group_id = $2::uuid AND member_id = ANY($3::uuid[]) RETURNING member_id::text AS member_id',
          [tenantId, groupId, memberIds],
        );
  return result.rows.map((r) => r.member_id);
}

/**
 * displayNames of the groups each user is a member of, directly or through nested groups (a
 * member of G2, which is a member of G, is in G too): the tenant policy's group conditions test
 * them. The same groups as the user's SCIM representation and its desired state
 * (desired-inputs.ts): scim_user_groups (migration 015) is the one place that walks them.
 */
export async function groupNamesOfUsers(db: Queryable, tenantId: string, userIds: string[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>(userIds.map((id) => [id, []]));
  const ids = [...new Set(onlyUuids(userIds))];
  if (ids.length === 0) return result;
  const rows = (
    await db.query<{ user_id: string; groups: { display: string }[] | null }>(
      'SELECT u::text AS user_id, scim_user_groups($1, u) AS groups FROM unnest($2::uuid[]) AS u',
      [tenantId, ids],
    )
  ).rows;
  for (const r of rows) result.get(r.user_id)?.push(...(r.groups ?? []).map((g) => g.display));
  return result;
}

/**
 * The users in any of `groupIds`, directly or through nested groups (ids that are not groups
 * add nothing): whose group conditions change when those groups change. Cycles end (UNION).
 */
export async function userIdsUnder(db: Queryable, tenantId: string, groupIds: string[]): Promise<string[]> {
  groupIds = onlyUuids(groupIds);
  if (groupIds.length === 0) return [];
  return (
    await db.query<{ member_id: string }>(
      `WITH RECURSIVE down(group_id) AS (
         SELECT g.id FROM scim_groups g WHERE g.tenant_id = $1 AND g.id = ANY($2::uuid[])
         UNION
         SELECT m.member_id FROM down JOIN scim_group_members m ON m.tenant_id = $1 AND m.group_id = down.group_id AND m.member_type = 'Group')
       SELECT DISTINCT m.member_id::text AS member_id FROM down
       JOIN scim_group_members m ON m.tenant_id = $1 AND m.group_id = down.group_id AND m.member_type = 'User'`,
      [tenantId, groupIds],
    )
  ).rows.map((r) => r.member_id);
}
