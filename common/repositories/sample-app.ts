/**
 * The sample application's own tables (dev/sample-app/): a stand-in for a vendor's user store,
 * in a schema of its own (default `sample_app`) of the same PostgreSQL, never read by scimflow
 * itself (scimflow reaches it through its REST API and the `http` connector only). Its SQL is
 * here because all SQL of this repository lives in common/repositories; nothing of scimflow's
 * imports this module but dev/sample-app and the tests.
 *
 * Its caches are modelled in the data: a security role keeps the previous one beside it with
 * the time of the change, a tag its time of adding and of removal, and a read shows what is in
 * effect after the delays (`effectiveAt` of a pending change).
 */
import type { Queryable } from '../db';

export interface SampleProfile {
  externalId: string | null;
  email: string;
  firstName: string | null;
  lastName: string | null;
  title: string | null;
  displayName: string | null;
  primaryPhone: string | null;
  alternatePhones: string[];
}

export interface SampleAccess {
  securityRole: string | null;
  employeeType: string | null;
  caseManager: boolean;
  allowGridExport: boolean;
  receivesDocumentation: boolean;
  tags: string[];
  biGroups: string[];
  teams: string[];
  facilities: string[];
  notifications: { email: string[]; system: string[]; toastr: string[] };
}

export interface SampleUser extends SampleProfile {
  id: string;
  status: 'active' | 'terminated';
  loginEnabled: boolean;
  memberships: { orgKey: string; kind: string; role: string | null }[];
  licences: { orgKey: string; licenceLevel: string; mobileLicence: string | null }[];
  providerAccounts: { providerType: string; orgKey: string }[];
  /** In effect now (after the caches). */
  access: SampleAccess;
  /** Changes made but not in effect yet, with when they will be. */
  pending: { securityRole?: { value: string | null; effectiveAt: string }; tags?: { value: string[]; effectiveAt: string } };
  createdAt: string;
  updatedAt: string;
}

export interface SampleStore {
  schema: string;
  /** Creates the schema and its tables when missing. */
  migrate(): Promise<void>;
  create(profile: SampleProfile & { loginEnabled: boolean }): Promise<string>;
  /** Non-terminated accounts matching every filter given (all statuses with `includeTerminated`). */
  find(filter: { email?: string; externalId?: string; includeTerminated?: boolean }): Promise<SampleUser[]>;
  get(id: string): Promise<SampleUser | undefined>;
  /** Status of an account (undefined: none). */
  statusOf(id: string): Promise<'active' | 'terminated' | undefined>;
  updateProfile(id: string, profile: Partial<SampleProfile>): Promise<void>;
  setMemberships(id: string, rows: SampleUser['memberships']): Promise<void>;
  setLicences(id: string, rows: SampleUser['licences']): Promise<void>;
  setProviderAccounts(id: string, rows: SampleUser['providerAccounts']): Promise<void>;
  setAccess(id: string, access: Partial<SampleAccess>): Promise<void>;
  setLogin(id: string, enabled: boolean): Promise<void>;
  /** Login blocked for good, memberships, licences, provider accounts, access and tags ended; the record stays. */
  terminate(id: string): Promise<void>;
  /** A stored answer of an idempotent write, or undefined. */
  idempotentAnswer(key: string): Promise<{ method: string; path: string; status: number; body: unknown } | undefined>;
  saveIdempotentAnswer(key: string, method: string, path: string, status: number, body: unknown): Promise<void>;
  count(filter?: { email?: string }): Promise<number>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** The store in `schema` (default sample_app) over `db`, with the delays of its caches. */
export function sampleAppStore(
  db: Queryable & { withTransaction?<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> },
  options: { schema?: string; tagDelayMs: number; roleDelayMs: number; now?: () => number },
): SampleStore {
  const schema = options.schema ?? 'sample_app';
  if (!IDENTIFIER.test(schema)) throw new Error(`sample app schema "${schema}" must be a lower-case SQL identifier`);
  const t = (table: string) => `"${schema}".${table}`;
  const now = () => new Date((options.now ?? Date.now)());
  const inTx = <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => (db.withTransaction ? db.withTransaction(fn) : fn(db));

  async function usersOf(where: string, params: unknown[]): Promise<SampleUser[]> {
    const at = now();
    const rows = (
      await db.query<Record<string, any>>(
        `SELECT a.*, a.id::text AS id,
           (SELECT COALESCE(json_agg(json_build_object('orgKey', m.org_key, 'kind', m.kind, 'role', m.role) ORDER BY m.org_key), '[]') FROM ${t('memberships')} m WHERE m.account_id = a.id) AS memberships,
           (SELECT COALESCE(json_agg(json_build_object('orgKey', l.org_key, 'licenceLevel', l.licence_level, 'mobileLicence', l.mobile_licence) ORDER BY l.org_key), '[]') FROM ${t('licences')} l WHERE l.account_id = a.id) AS licences,
           (SELECT COALESCE(json_agg(json_build_object('providerType', p.provider_type, 'orgKey', p.org_key) ORDER BY p.provider_type, p.org_key), '[]') FROM ${t('provider_accounts')} p WHERE p.account_id = a.id) AS provider_accounts,
           row_to_json(x) AS access,
           (SELECT COALESCE(json_agg(g.tag ORDER BY g.tag), '[]') FROM ${t('tags')} g WHERE g.account_id = a.id
              AND g.added_at <= $${params.length + 1}::timestamptz - make_interval(secs => $${params.length + 2}::double precision / 1000)
              AND (g.removed_at IS NULL OR g.removed_at > $${params.length + 1}::timestamptz - make_interval(secs => $${params.length + 2}::double precision / 1000))) AS tags_effective,
           (SELECT COALESCE(json_agg(g.tag ORDER BY g.tag), '[]') FROM ${t('tags')} g WHERE g.account_id = a.id AND g.removed_at IS NULL) AS tags_current,
           (SELECT max(GREATEST(g.added_at, COALESCE(g.removed_at, g.added_at))) FROM ${t('tags')} g WHERE g.account_id = a.id) AS tags_changed_at
         FROM ${t('accounts')} a LEFT JOIN ${t('access')} x ON x.account_id = a.id
         WHERE ${where} ORDER BY a.created_at, a.id`,
        [...params, at, options.tagDelayMs],
      )
    ).rows;
    return rows.map((r) => {
      const x = (r.access ?? {}) as Record<string, any>;
      const roleChangedAt = x.role_changed_at ? new Date(x.role_changed_at) : null;
      const rolePending = roleChangedAt !== null && roleChangedAt.getTime() + options.roleDelayMs > at.getTime();
      const tagsChangedAt = r.tags_changed_at ? new Date(r.tags_changed_at) : null;
      const tagsPending = tagsChangedAt !== null && tagsChangedAt.getTime() + options.tagDelayMs > at.getTime();
      const pending: SampleUser['pending'] = {};
      if (rolePending)
        pending.securityRole = { value: x.security_role ?? null, effectiveAt: new Date(roleChangedAt.getTime() + options.roleDelayMs).toISOString() };
      if (tagsPending) pending.tags = { value: r.tags_current, effectiveAt: new Date(tagsChangedAt.getTime() + options.tagDelayMs).toISOString() };
      return {
        id: r.id,
        externalId: r.external_id,
        email: r.email,
        firstName: r.first_name,
        lastName: r.last_name,
        title: r.title,
        displayName: r.display_name,
        primaryPhone: r.primary_phone,
        alternatePhones: r.alternate_phones ?? [],
        status: r.status,
        loginEnabled: r.login_enabled,
        memberships: r.memberships,
        licences: r.licences,
        providerAccounts: r.provider_accounts,
        access: {
          securityRole: rolePending ? (x.previous_security_role ?? null) : (x.security_role ?? null),
          employeeType: x.employee_type ?? null,
          caseManager: x.case_manager ?? false,
          allowGridExport: x.allow_grid_export ?? false,
          receivesDocumentation: x.receives_documentation ?? false,
          tags: r.tags_effective,
          biGroups: x.bi_groups ?? [],
          teams: x.teams ?? [],
          facilities: x.facilities ?? [],
          notifications: x.notifications ?? { email: [], system: [], toastr: [] },
        },
        pending,
        createdAt: new Date(r.created_at).toISOString(),
        updatedAt: new Date(r.updated_at).toISOString(),
      };
    });
  }

  const touch = (tx: Queryable, id: string) => tx.query(`UPDATE ${t('accounts')} SET updated_at = $2 WHERE id = $1::uuid`, [id, now()]);

  return {
    schema,
    async migrate() {
      await db.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await db.exec(`
        CREATE TABLE IF NOT EXISTS ${t('accounts')} (
          id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
          external_id text, email text NOT NULL, first_name text, last_name text, title text, display_name text,
          primary_phone text, alternate_phones jsonb NOT NULL DEFAULT '[]',
          login_enabled boolean NOT NULL DEFAULT false,
          status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'terminated')),
          created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(), terminated_at timestamptz);
        CREATE UNIQUE INDEX IF NOT EXISTS accounts_email ON ${t('accounts')} (lower(email)) WHERE status = 'active';
        CREATE TABLE IF NOT EXISTS ${t('memberships')} (
          account_id uuid NOT NULL REFERENCES ${t('accounts')} (id), org_key text NOT NULL, kind text NOT NULL, role text,
          PRIMARY KEY (account_id, org_key));
        CREATE TABLE IF NOT EXISTS ${t('licences')} (
          account_id uuid NOT NULL REFERENCES ${t('accounts')} (id), org_key text NOT NULL, licence_level text NOT NULL, mobile_licence text,
          PRIMARY KEY (account_id, org_key));
        CREATE TABLE IF NOT EXISTS ${t('provider_accounts')} (
          account_id uuid NOT NULL REFERENCES ${t('accounts')} (id), provider_type text NOT NULL, org_key text NOT NULL,
          PRIMARY KEY (account_id, provider_type, org_key));
        CREATE TABLE IF NOT EXISTS ${t('access')} (
          account_id uuid PRIMARY KEY REFERENCES ${t('accounts')} (id),
          security_role text, previous_security_role text, role_changed_at timestamptz,
          employee_type text, case_manager boolean NOT NULL DEFAULT false, allow_grid_export boolean NOT NULL DEFAULT false,
          receives_documentation boolean NOT NULL DEFAULT false,
          bi_groups jsonb NOT NULL DEFAULT '[]', teams jsonb NOT NULL DEFAULT '[]', facilities jsonb NOT NULL DEFAULT '[]',
          notifications jsonb NOT NULL DEFAULT '{"email": [], "system": [], "toastr": []}');
        CREATE TABLE IF NOT EXISTS ${t('tags')} (
          account_id uuid NOT NULL REFERENCES ${t('accounts')} (id), tag text NOT NULL,
          added_at timestamptz NOT NULL, removed_at timestamptz);
        CREATE INDEX IF NOT EXISTS tags_account ON ${t('tags')} (account_id);
        CREATE TABLE IF NOT EXISTS ${t('idempotency')} (
          key text PRIMARY KEY, method text NOT NULL, path text NOT NULL, status integer NOT NULL, body jsonb,
          created_at timestamptz NOT NULL DEFAULT now());`);
    },

    async create(p) {
      return inTx(async (tx) => {
        const id = (
          await tx.query<{ id: string }>(
            `INSERT INTO ${t('accounts')} (external_id, email, first_name, last_name, title, display_name, primary_phone, alternate_phones, login_enabled, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $10) RETURNING id::text AS id`,
            [
              p.externalId,
              p.email,
              p.firstName,
              p.lastName,
              p.title,
              p.displayName,
              p.primaryPhone,
              JSON.stringify(p.alternatePhones ?? []),
              p.loginEnabled,
              now(),
            ],
          )
        ).rows[0].id;
        await tx.query(`INSERT INTO ${t('access')} (account_id) VALUES ($1::uuid)`, [id]);
        return id;
      });
    },

    async find(filter) {
      const clauses: string[] = [];
      const params: unknown[] = [];
      if (filter.email !== undefined) {
        params.push(filter.email);
        clauses.push(`lower(a.email) = lower($${params.length})`);
      }
      if (filter.externalId !== undefined) {
        params.push(filter.externalId);
        clauses.push(`a.external_id = $${params.length}`);
      }
      if (!filter.includeTerminated) clauses.push(`a.status = 'active'`);
      return usersOf(clauses.length ? clauses.join(' AND ') : 'true', params);
    },

    async get(id) {
      if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
      return (await usersOf('a.id = $1::uuid', [id]))[0];
    },

    async statusOf(id) {
      if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
      return (await db.query<{ status: 'active' | 'terminated' }>(`SELECT status FROM ${t('accounts')} WHERE id = $1::uuid`, [id])).rows[0]?.status;
    },

    async updateProfile(id, p) {
      const columns: [keyof SampleProfile, string][] = [
        ['externalId', 'external_id'],
        ['email', 'email'],
        ['firstName', 'first_name'],
        ['lastName', 'last_name'],
        ['title', 'title'],
        ['displayName', 'display_name'],
        ['primaryPhone', 'primary_phone'],
        ['alternatePhones', 'alternate_phones'],
      ];
      const given = columns.filter(([k]) => p[k] !== undefined);
      if (given.length === 0) return;
      await db.query(
        `UPDATE ${t('accounts')} SET ${given.map(([k, c], i) => `${c} = $${i + 2}${k === 'alternatePhones' ? '::jsonb' : ''}`).join(', ')}, updated_at = $${given.length + 2} WHERE id = $1::uuid`,
        [id, ...given.map(([k]) => (k === 'alternatePhones' ? JSON.stringify(p[k]) : p[k])), now()],
      );
    },

    async setMemberships(id, rows) {
      await inTx(async (tx) => {
        await tx.query(`DELETE FROM ${t('memberships')} WHERE account_id = $1::uuid`, [id]);
        for (const r of rows)
          await tx.query(`INSERT INTO ${t('memberships')} (account_id, org_key, kind, role) VALUES ($1::uuid, $2, $3, $4) ON CONFLICT DO NOTHING`, [
            id,
            r.orgKey,
            r.kind,
            r.role,
          ]);
        await touch(tx, id);
      });
    },

    async setLicences(id, rows) {
      await inTx(async (tx) => {
        await tx.query(`DELETE FROM ${t('licences')} WHERE account_id = $1::uuid`, [id]);
        for (const r of rows)
          await tx.query(
            `INSERT INTO ${t('licences')} (account_id, org_key, licence_level, mobile_licence) VALUES ($1::uuid, $2, $3, $4) ON CONFLICT DO NOTHING`,
            [id, r.orgKey, r.licenceLevel, r.mobileLicence],
          );
        await touch(tx, id);
      });
    },

    async setProviderAccounts(id, rows) {
      await inTx(async (tx) => {
        await tx.query(`DELETE FROM ${t('provider_accounts')} WHERE account_id = $1::uuid`, [id]);
        for (const r of rows)
          await tx.query(`INSERT INTO ${t('provider_accounts')} (account_id, provider_type, org_key) VALUES ($1::uuid, $2, $3) ON CONFLICT DO NOTHING`, [
            id,
            r.providerType,
            r.orgKey,
          ]);
        await touch(tx, id);
      });
    },

    async setAccess(id, a) {
      await inTx(async (tx) => {
        const at = now();
        const current = (
          await tx.query<{ security_role: string | null }>(`SELECT security_role FROM ${t('access')} WHERE account_id = $1::uuid FOR UPDATE`, [id])
        ).rows[0];
        if (a.securityRole !== undefined && a.securityRole !== (current?.security_role ?? null)) {
          // The previous role stays in effect until the change has propagated (SAMPLE_APP_ROLE_DELAY).
          await tx.query(
            `UPDATE ${t('access')} SET previous_security_role = security_role, security_role = $2, role_changed_at = $3 WHERE account_id = $1::uuid`,
            [id, a.securityRole, at],
          );
        }
        const sets: string[] = [];
        const params: unknown[] = [id];
        const set = (column: string, value: unknown, json = false) => {
          params.push(json ? JSON.stringify(value) : value);
          sets.push(`${column} = $${params.length}${json ? '::jsonb' : ''}`);
        };
        if (a.employeeType !== undefined) set('employee_type', a.employeeType);
        if (a.caseManager !== undefined) set('case_manager', a.caseManager);
        if (a.allowGridExport !== undefined) set('allow_grid_export', a.allowGridExport);
        if (a.receivesDocumentation !== undefined) set('receives_documentation', a.receivesDocumentation);
        if (a.biGroups !== undefined) set('bi_groups', a.biGroups, true);
        if (a.teams !== undefined) set('teams', a.teams, true);
        if (a.facilities !== undefined) set('facilities', a.facilities, true);
        if (a.notifications !== undefined) set('notifications', a.notifications, true);
        if (sets.length > 0) await tx.query(`UPDATE ${t('access')} SET ${sets.join(', ')} WHERE account_id = $1::uuid`, params);
        if (a.tags !== undefined) {
          // A tag added or removed takes effect SAMPLE_APP_TAG_DELAY later (the application's cache).
          const wanted = [...new Set(a.tags)];
          await tx.query(`UPDATE ${t('tags')} SET removed_at = $3 WHERE account_id = $1::uuid AND removed_at IS NULL AND NOT (tag = ANY($2::text[]))`, [
            id,
            wanted,
            at,
          ]);
          await tx.query(
            `INSERT INTO ${t('tags')} (account_id, tag, added_at)
             SELECT $1::uuid, w, $3 FROM unnest($2::text[]) AS w
             WHERE NOT EXISTS (SELECT 1 FROM ${t('tags')} g WHERE g.account_id = $1::uuid AND g.tag = w AND g.removed_at IS NULL)`,
            [id, wanted, at],
          );
        }
        await touch(tx, id);
      });
    },

    async setLogin(id, enabled) {
      await db.query(`UPDATE ${t('accounts')} SET login_enabled = $2, updated_at = $3 WHERE id = $1::uuid`, [id, enabled, now()]);
    },

    async terminate(id) {
      await inTx(async (tx) => {
        const at = now();
        await tx.query(
          `UPDATE ${t('accounts')} SET status = 'terminated', login_enabled = false, terminated_at = COALESCE(terminated_at, $2), updated_at = $2 WHERE id = $1::uuid`,
          [id, at],
        );
        await tx.query(`DELETE FROM ${t('memberships')} WHERE account_id = $1::uuid`, [id]);
        await tx.query(`DELETE FROM ${t('licences')} WHERE account_id = $1::uuid`, [id]);
        await tx.query(`DELETE FROM ${t('provider_accounts')} WHERE account_id = $1::uuid`, [id]);
        await tx.query(`UPDATE ${t('tags')} SET removed_at = $2 WHERE account_id = $1::uuid AND removed_at IS NULL`, [id, at]);
        await tx.query(
          `UPDATE ${t('access')} SET previous_security_role = NULL, security_role = NULL, role_changed_at = NULL, employee_type = NULL, case_manager = false,
             allow_grid_export = false, receives_documentation = false, bi_groups = '[]', teams = '[]', facilities = '[]',
             notifications = '{"email": [], "system": [], "toastr": []}' WHERE account_id = $1::uuid`,
          [id],
        );
      });
    },

    async idempotentAnswer(key) {
      const r = (
        await db.query<{ method: string; path: string; status: number; body: unknown }>(
          `SELECT method, path, status, body FROM ${t('idempotency')} WHERE key = $1`,
          [key],
        )
      ).rows[0];
      return r;
    },

    async saveIdempotentAnswer(key, method, path, status, body) {
      await db.query(`INSERT INTO ${t('idempotency')} (key, method, path, status, body) VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT (key) DO NOTHING`, [
        key,
        method,
        path,
        status,
        JSON.stringify(body ?? null),
      ]);
    },

    async count(filter = {}) {
      const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t('accounts')} WHERE ($1::text IS NULL OR lower(email) = lower($1))`, [
        filter.email ?? null,
      ]);
      return r.rows[0].n;
    },
  };
}
