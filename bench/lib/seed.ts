/**
 * Seeds a tenant straight into the tables (INSERT ... SELECT generate_series): users shaped as
 * the SCIM API stores an Entra ID user (core + enterprise extension, name, emails, phone,
 * title), each with the provisioning_states row a settled user has, and one large group.
 * No workflows are started for seeded users.
 */
import type { Queryable } from '../../common/db';

const SEED_DOMAIN = 'example.org';
export const seededUserName = (n: number) => `bench.user${n}@${SEED_DOMAIN}`;
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** Inserts users n = from..to (inclusive) in chunks; returns the number inserted. */
export async function seedUsers(db: Queryable, tenantId: string, from: number, to: number, chunk = 25_000): Promise<number> {
  let inserted = 0;
  for (let lo = from; lo <= to; lo += chunk) {
    const hi = Math.min(to, lo + chunk - 1);
    const r = await db.query(
      `INSERT INTO scim_users (tenant_id, id, user_name, external_id, display_name, active, email_values, doc, created_at, updated_at)
       SELECT $1, gen_random_uuid(), s.un, s.ext, s.dn, true, ARRAY[s.un],
         jsonb_build_object(
           'userName', s.un,
           'externalId', s.ext,
           'displayName', s.dn,
           'name', jsonb_build_object('formatted', s.dn, 'givenName', 'Given' || s.n, 'familyName', 'Family' || s.n),
           'active', true,
           'title', (ARRAY['Registered Nurse', 'Social Worker', 'Chaplain', 'Home Health Aide', 'Administrator'])[1 + s.n % 5],
           'emails', jsonb_build_array(jsonb_build_object('value', s.un, 'type', 'work', 'primary', true)),
           'phoneNumbers', jsonb_build_array(jsonb_build_object('value', '+1 555 ' || lpad((s.n % 10000000)::text, 7, '0'), 'type', 'mobile', 'primary', true)),
           '${ENTERPRISE}', jsonb_build_object('employeeNumber', 'E' || s.n, 'department', (ARRAY['Nursing', 'Social Work', 'Spiritual Care', 'Administration'])[1 + s.n % 4])
         ),
         s.at, s.at
       FROM (SELECT n, 'bench.user' || n || '@${SEED_DOMAIN}' AS un, 'ext-' || lpad(n::text, 8, '0') AS ext, 'Given' || n || ' Family' || n AS dn,
                    now() - ((($3::int - n) + 1) * interval '1 millisecond') AS at
             FROM generate_series($2::int, $3::int) AS n) s`,
      [tenantId, lo, hi],
    );
    inserted += r.rowCount;
  }
  // A settled user has the state row its workflow keeps; every SCIM read joins it.
  await db.query(
    `INSERT INTO provisioning_states (tenant_id, user_id, state, waiting_for, workflow_id)
     SELECT u.tenant_id, u.id, 'active', NULL, 'user-' || u.tenant_id || '-' || u.id FROM scim_users u
     WHERE u.tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM provisioning_states p WHERE p.tenant_id = u.tenant_id AND p.user_id = u.id)`,
    [tenantId],
  );
  return inserted;
}

/** One group whose members are the first `members` seeded users (by creation order). Returns its id. */
export async function seedGroup(db: Queryable, tenantId: string, members: number): Promise<string> {
  const id = (
    await db.query<{ id: string }>(
      `INSERT INTO scim_groups (tenant_id, id, display_name, external_id, doc) VALUES ($1, gen_random_uuid(), 'All clinicians', 'grp-all-clinicians', '{}')
       RETURNING id::text AS id`,
      [tenantId],
    )
  ).rows[0].id;
  await db.query(
    `INSERT INTO scim_group_members (tenant_id, group_id, member_id, member_type)
     SELECT $1, $2::uuid, u.id, 'User' FROM scim_users u WHERE u.tenant_id = $1 AND u.user_name LIKE 'bench.user%'
     ORDER BY u.created_at, u.id LIMIT $3`,
    [tenantId, id, members],
  );
  return id;
}

/** Seeded users' ids by number: ids[n - 1] is the id of bench.user<n>. */
export async function seededIds(db: Queryable, tenantId: string): Promise<string[]> {
  const rows = (
    await db.query<{ id: string; n: number }>(
      `SELECT id::text AS id, substring(user_name from '^bench\\.user([0-9]+)@')::int AS n FROM scim_users
       WHERE tenant_id = $1 AND user_name LIKE 'bench.user%'`,
      [tenantId],
    )
  ).rows;
  const ids: string[] = [];
  for (const r of rows) ids[r.n - 1] = r.id;
  return ids;
}

/** An Entra-shaped User body for seeded user n (PUT replaces it whole; `title` varies so each PUT is a real change). */
export function entraUserBody(userName: string, n: number, title: string): Record<string, unknown> {
  const dn = `Given${n} Family${n}`;
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
    externalId: `ext-${String(n).padStart(8, '0')}`,
    userName,
    active: true,
    displayName: dn,
    title,
    emails: [{ primary: true, type: 'work', value: userName }],
    phoneNumbers: [{ primary: true, type: 'mobile', value: `+1 555 ${String(n % 10_000_000).padStart(7, '0')}` }],
    name: { formatted: dn, familyName: `Family${n}`, givenName: `Given${n}` },
    [ENTERPRISE]: { employeeNumber: `E${n}`, department: 'Nursing' },
  };
}
