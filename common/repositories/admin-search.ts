/**
 * The admin user list with search: SCIM resources and users with a workflow (so terminated ones
 * too), in id order (cursor paging), answering "where is this user and since when".
 *
 * Search matches an id exactly, or a part of the userName, display name, given or family name
 * (also "given family"), or an email address; `employeeArea` keeps the users holding that tag in
 * the ledger (app_user_settings: the IdP's and the rules' alike). A substring match cannot use
 * an index; the work is bounded by the tenant's size and the page limit (docs/admin-api.md).
 */
import type { Queryable } from '../db';

export interface UserListRow {
  userId: string;
  userName: string | null;
  displayName: string | null;
  email: string | null;
  /** The SCIM resource's `active`; null once the resource is deleted. */
  scimActive: boolean | null;
  state: string | null;
  waitingFor: string | null;
  waitingUntil: Date | null;
  lastError: string | null;
  /** When the workflow last changed what it shows (state, wait, error): "since when". */
  stateSince: Date | null;
  appStatus: string | null;
  createdAt: Date | null;
}

export interface UserSearch {
  /** Free text: an id, or part of a name, userName or email. */
  q?: string;
  /** A provisioning state, or `notStarted`: SCIM users whose workflow has not recorded a state yet. */
  state?: string;
  /** What the user waits for: a stored `waitingFor` exactly, or its start (domain/visible-state.ts waitSearch). */
  waitingFor?: { exact: string } | { prefix: string };
  /** Only users waiting for something. */
  waiting?: boolean;
  /** Only users holding this employee area (tag) in the ledger, given by the IdP or by a rule: exact, case-insensitive. */
  employeeArea?: string;
  afterId?: string;
  limit: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `%text%` for LIKE, with LIKE's own wildcards taken literally. */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export async function searchUsers(db: Queryable, tenantId: string, s: UserSearch): Promise<UserListRow[]> {
  const q = s.q?.trim() || null;
  const exactId = q && UUID.test(q) ? q.toLowerCase() : null;
  const pattern = q && !exactId ? containsPattern(q) : null;
  const rows = (
    await db.query<Record<string, any>>(
      `WITH ids AS (SELECT id AS user_id FROM scim_users WHERE tenant_id = $1 UNION SELECT user_id FROM provisioning_states WHERE tenant_id = $1)
       SELECT ids.user_id::text AS user_id, COALESCE(u.user_name, a.email) AS user_name,
              COALESCE(NULLIF(u.display_name, ''), NULLIF(concat_ws(' ', u.doc->'name'->>'givenName', u.doc->'name'->>'familyName'), ''),
                       NULLIF(concat_ws(' ', a.first_name, a.last_name), '')) AS display_name,
              COALESCE(a.email, u.email_values[1]) AS email, u.active, p.state, p.waiting_for, p.waiting_until, p.last_error,
              p.updated_at AS state_since, a.status, COALESCE(u.created_at, a.created_at) AS created_at
       FROM ids
       LEFT JOIN scim_users u ON u.tenant_id = $1 AND u.id = ids.user_id
       LEFT JOIN provisioning_states p ON p.tenant_id = $1 AND p.user_id = ids.user_id
       LEFT JOIN app_users a ON a.tenant_id = $1 AND a.user_id = ids.user_id
       WHERE ($2::text IS NULL OR p.state = $2 OR ($2 = 'notStarted' AND p.state IS NULL AND u.id IS NOT NULL))
         AND ($3::text IS NULL OR p.waiting_for = $3)
         AND ($9::text IS NULL OR starts_with(p.waiting_for, $9))
         AND (NOT $4::boolean OR p.waiting_for IS NOT NULL)
         AND ($5::uuid IS NULL OR ids.user_id > $5::uuid)
         AND ($6::uuid IS NULL OR ids.user_id = $6::uuid)
         AND ($7::text IS NULL
              OR lower(u.user_name) LIKE $7 OR lower(u.display_name) LIKE $7
              OR lower(concat_ws(' ', u.doc->'name'->>'givenName', u.doc->'name'->>'familyName')) LIKE $7
              OR lower(concat_ws(' ', a.first_name, a.last_name)) LIKE $7 OR lower(a.email) LIKE $7
              OR EXISTS (SELECT 1 FROM unnest(u.email_values) AS e(v) WHERE e.v LIKE $7))
         AND ($10::text IS NULL OR EXISTS (SELECT 1 FROM app_user_settings st WHERE st.tenant_id = $1 AND st.user_id = ids.user_id
                                            AND st.kind = 'employeeArea' AND lower(st.value) = lower($10)))
       ORDER BY ids.user_id LIMIT $8`,
      [
        tenantId,
        s.state ?? null,
        s.waitingFor && 'exact' in s.waitingFor ? s.waitingFor.exact : null,
        s.waiting ?? false,
        s.afterId ?? null,
        exactId,
        pattern,
        s.limit,
        s.waitingFor && 'prefix' in s.waitingFor ? s.waitingFor.prefix : null,
        s.employeeArea ?? null,
      ],
    )
  ).rows;
  return rows.map((r) => ({
    userId: r.user_id,
    userName: r.user_name,
    displayName: r.display_name,
    email: r.email,
    scimActive: r.active,
    state: r.state,
    waitingFor: r.waiting_for,
    waitingUntil: r.waiting_until,
    lastError: r.last_error,
    stateSince: r.state_since,
    appStatus: r.status,
    createdAt: r.created_at,
  }));
}
