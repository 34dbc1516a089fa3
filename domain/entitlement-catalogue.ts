/**
 * The entitlements a tenant's application offers, as Okta Identity Governance discovers them
 * (docs/okta.md, "Okta Identity Governance: entitlements"): its security roles and client roles
 * (SCIM /Roles) and its licence tiers (SCIM /Licenses), each with a stable id, a display name
 * and a description. Pure: derived from the tenant configuration alone, read-only.
 *
 * Ids are slugs of the names ("VOB Worker" → `vob-worker`; a licence tier by its kind,
 * "Professional" → `app.professional`), so re-saving the configuration never changes them and
 * an IdP's stored assignments stay valid. Role names are the application's fixed spellings
 * (domain/roles.ts), so their ids are fixed too. Two licence names of one kind whose slugs meet
 * ("Tier 1", "tier-1") each get a suffix computed from the name itself.
 *
 * How a user's core `roles` and `entitlements` read against it (rolesOfUser, licencesOfUser):
 *  - a `roles` value names a role by id (or by its name, any case): a security role sets the
 *    user's security role, a client role the role in the main client, exactly like the
 *    scimflow extension's `securityRole` and `clientRole` (explicit values: above the tenant's
 *    rules and defaults). At most one of each;
 *  - a licence tier in `entitlements` never grants anything: a user's licence follows their
 *    organisation (domain brief), so a tier the organisations do not give is noted, not given
 *    (least privilege: no IdP assignment widens what the tenant policy allows).
 */
import type { Condition, Rule } from './policy';
import { CLIENT_ROLES, SECURITY_ROLES, type ClientRole, type SecurityRole } from './roles';
import { servicesOf, type TenantConfig } from './tenant-config';

export type RoleKind = 'securityRole' | 'clientRole';
export type LicenceKind = 'app' | 'mobile';

export interface RoleEntitlement {
  /** Stable id: the slug of the name. */
  id: string;
  name: SecurityRole | ClientRole;
  kind: RoleKind;
  description: string;
}

export interface LicenceEntitlement {
  /** Stable id: `app.<slug>` or `mobile.<slug>`. */
  id: string;
  /** The tier as the configuration spells it (an organisation's licenceLevel or mobileLicence). */
  name: string;
  kind: LicenceKind;
  /** Keys of the organisations whose users get this tier. */
  organisations: string[];
  description: string;
}

export interface EntitlementCatalogue {
  roles: RoleEntitlement[];
  licences: LicenceEntitlement[];
}

/** `Business Development w/Reports` → `business-development-w-reports`: lower case, letters and digits, runs of anything else one `-`. */
export function slugOf(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug || 'x';
}

/** FNV-1a, 32 bits, hex: a short suffix that depends on the name alone (no node:crypto here: domain/ is pure and bundled into workflows). */
function nameHash(name: string): string {
  let h = 0x811c9dc5;
  for (const ch of name) {
    h ^= ch.codePointAt(0) as number;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

const ROLE_DESCRIPTIONS: Partial<Record<SecurityRole | ClientRole, string>> = {
  'Super User': 'Security role of the admissions / referral CRM: may create users and send their invitations.',
  'Client Admin': 'Role in the main client (office): reads and writes.',
  'Client Staff': 'Role in the main client (office): reads only.',
};

function securityRoleDescription(name: SecurityRole, propagation: string): string {
  const own = ROLE_DESCRIPTIONS[name] ?? `Security role "${name}" of the admissions / referral CRM.`;
  return `${own} A user has exactly one security role; a change takes effect within ${propagation}.`;
}

const catalogues = new WeakMap<TenantConfig, EntitlementCatalogue>();

/**
 * The tenant's catalogue: the security roles it uses (its `securityRoles`, or all eleven), both
 * client roles, and the licence tiers its organisations give (an `app` service's licenceLevel,
 * a `mobile` service's mobileLicence). Cached per (frozen) configuration object.
 */
export function entitlementCatalogue(cfg: TenantConfig): EntitlementCatalogue {
  const cached = catalogues.get(cfg);
  if (cached) return cached;
  const securityRoles = cfg.securityRoles.length > 0 ? SECURITY_ROLES.filter((r) => cfg.securityRoles.includes(r)) : [...SECURITY_ROLES];
  const roles: RoleEntitlement[] = [
    ...securityRoles.map((name) => ({
      id: slugOf(name),
      name,
      kind: 'securityRole' as const,
      description: securityRoleDescription(name, cfg.propagation.securityRole),
    })),
    ...CLIENT_ROLES.map((name) => ({ id: slugOf(name), name, kind: 'clientRole' as const, description: ROLE_DESCRIPTIONS[name] as string })),
  ];

  const tiers = new Map<string, { name: string; kind: LicenceKind; organisations: string[] }>();
  for (const org of cfg.organisations) {
    const services = servicesOf(org);
    const given: [LicenceKind, string | undefined][] = [
      ['app', services.includes('app') ? org.licenceLevel : undefined],
      ['mobile', services.includes('mobile') ? org.mobileLicence : undefined],
    ];
    for (const [kind, name] of given) {
      if (!name) continue;
      const key = `${kind}\u0000${name}`;
      const tier = tiers.get(key) ?? { name, kind, organisations: [] };
      tier.organisations.push(org.key);
      tiers.set(key, tier);
    }
  }
  const slugCount = new Map<string, number>();
  for (const t of tiers.values()) slugCount.set(`${t.kind}.${slugOf(t.name)}`, (slugCount.get(`${t.kind}.${slugOf(t.name)}`) ?? 0) + 1);
  const licences = [...tiers.values()].map((t): LicenceEntitlement => {
    const base = `${t.kind}.${slugOf(t.name)}`;
    const what = t.kind === 'app' ? 'Application licence level' : 'Mobile licence';
    return {
      id: (slugCount.get(base) ?? 0) > 1 ? `${base}-${nameHash(t.name)}` : base,
      name: t.name,
      kind: t.kind,
      organisations: t.organisations,
      description:
        `${what} "${t.name}", given to the users of ${t.organisations.join(', ')}. ` +
        'It follows the organisation: an assignment of it from the identity provider never grants it on its own.',
    };
  });
  const catalogue = { roles, licences };
  catalogues.set(cfg, catalogue);
  return catalogue;
}

/** The display name a catalogue entry shows: the role's name; a tier's name with its kind. */
export function displayNameOf(entry: RoleEntitlement | LicenceEntitlement): string {
  if ('organisations' in entry) return entry.kind === 'app' ? entry.name : `${entry.name} (mobile)`;
  return entry.name;
}

/** The role a `roles` value names: by id, or by name, ignoring case. */
export function findRole(catalogue: EntitlementCatalogue, value: string): RoleEntitlement | undefined {
  const needle = value.trim().toLowerCase();
  return catalogue.roles.find((r) => r.id === needle) ?? catalogue.roles.find((r) => r.name.toLowerCase() === needle);
}

/** The licence tier an `entitlements` value names, by id (ignoring case). */
export function findLicence(catalogue: EntitlementCatalogue, value: string): LicenceEntitlement | undefined {
  const needle = value.trim().toLowerCase();
  return catalogue.licences.find((l) => l.id === needle);
}

/** The `type` of a licence-tier entitlement (Okta: the resource type's name, RFC 7643 §4.1.2 `entitlements.type`). */
export const LICENCE_ENTITLEMENT_TYPE = 'License';

type Json = Record<string, unknown>;

/** The values of a multi-valued complex attribute (`roles`, `entitlements`), with their index and type. */
export function referencesOf(list: unknown): { index: number; value: string; type: string | null }[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((item, index) => {
    if (typeof item !== 'object' || item === null) return [];
    const { value, type } = item as Json;
    if (typeof value !== 'string' || value.trim() === '') return [];
    return [{ index, value: value.trim(), type: typeof type === 'string' && type.trim() !== '' ? type.trim() : null }];
  });
}

/** What a user's `roles` assign: the security role and the client role they name, and what does not fit. */
export interface RolesOfUser {
  securityRoles: RoleEntitlement[];
  clientRoles: RoleEntitlement[];
  /** Values that name no role of the tenant (rule inputs, or data stored before the check at the SCIM boundary). */
  unknown: { index: number; value: string }[];
}

export function rolesOfUser(doc: Json, catalogue: EntitlementCatalogue): RolesOfUser {
  const out: RolesOfUser = { securityRoles: [], clientRoles: [], unknown: [] };
  for (const ref of referencesOf(doc.roles)) {
    const role = findRole(catalogue, ref.value);
    if (!role) out.unknown.push(ref);
    else {
      const list = role.kind === 'securityRole' ? out.securityRoles : out.clientRoles;
      if (!list.some((r) => r.id === role.id)) list.push(role);
    }
  }
  return out;
}

/** The licence tiers a user's `entitlements` name, and the values that name none. */
export function licencesOfUser(doc: Json, catalogue: EntitlementCatalogue): { licences: LicenceEntitlement[]; unknown: { index: number; value: string }[] } {
  const licences: LicenceEntitlement[] = [];
  const unknown: { index: number; value: string }[] = [];
  for (const ref of referencesOf(doc.entitlements)) {
    const tier = ref.type === null || ref.type.toLowerCase() === LICENCE_ENTITLEMENT_TYPE.toLowerCase() ? findLicence(catalogue, ref.value) : undefined;
    if (!tier) unknown.push(ref);
    else if (!licences.includes(tier)) licences.push(tier);
  }
  return { licences, unknown };
}

const CORE_USER_PREFIX = 'urn:ietf:params:scim:schemas:core:2.0:user:';

/**
 * The core attributes (`roles`, `entitlements`, …, lower case) the tenant's rules test. A value of
 * `roles` or `entitlements` that names no entitlement is refused at the SCIM boundary, unless a
 * rule tests that attribute: then it is that rule's input (Entra app roles such as "Night shift",
 * docs/tenant-policy.md).
 */
export function attributesTestedByRules(rules: readonly Rule[]): Set<string> {
  const out = new Set<string>();
  const visit = (c: Condition) => {
    if ('all' in c) c.all.forEach(visit);
    else if ('any' in c) c.any.forEach(visit);
    else if ('not' in c) visit(c.not);
    else if ('attribute' in c) {
      let path = c.attribute.trim().toLowerCase();
      if (path.startsWith(CORE_USER_PREFIX)) path = path.slice(CORE_USER_PREFIX.length);
      if (!path.startsWith('urn:')) out.add(path.split('.')[0]);
    }
  };
  for (const rule of rules) visit(rule.when);
  return out;
}
