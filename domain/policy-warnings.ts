/**
 * Warnings about mapping rules that can never change what a user gets. Pure. Shown by
 * `tenant-config validate` / `preview` and the admin API's validate, preview and save answers;
 * a warning does not stop a configuration from loading.
 *
 * Rules merge top to bottom (domain/policy.ts): a single-valued field takes the value of the
 * first matching rule that sets it; multi-valued fields take the union. So a field a rule sets
 * is without effect when, for every user the rule matches,
 *  - single-valued: an earlier rule sets it too and matches whenever this one does (its
 *    condition is implied by this rule's), so the earlier value always wins; or the rule sets
 *    the field's default and no later rule sets another value, so with or without it the user
 *    gets the same (e.g. `mobileAppUser: false` after the rules that set it to true);
 *  - multi-valued: every value it adds is already added by earlier rules whose conditions are
 *    implied by this rule's (a union with a subset changes nothing).
 * A rule every field of which is without effect can never change anything. Implication is
 * decided conservatively (equal conditions, all/any/not structure, equals ⊆ in ⊆ present on
 * the same attribute): a rule is only flagged when that is certain.
 */
import { SINGLE_VALUED_FIELDS, type Condition, type Rule, type Scalar } from './policy';
import type { TenantConfig } from './tenant-config';

export interface RuleWarning {
  path: (string | number)[];
  message: string;
}

const CORE_PREFIX = 'urn:ietf:params:scim:schemas:core:2.0:user:';
const norm = (v: Scalar) => String(v).trim().toLowerCase();
const attrKey = (path: string) => {
  const p = path.trim().toLowerCase();
  return p.startsWith(CORE_PREFIX) ? p.slice(CORE_PREFIX.length) : p;
};
const label = (rule: Rule, index: number) => `"${rule.name ?? `rule ${index + 1}`}"`;

/** Whether `a` holding for a user means `b` holds too (false when that cannot be shown). */
export function implies(a: Condition, b: Condition): boolean {
  if (JSON.stringify(a) === JSON.stringify(b)) return true;
  if ('all' in b) return b.all.every((c) => implies(a, c));
  if ('any' in a) return a.any.every((c) => implies(c, b));
  if ('all' in a && a.all.some((c) => implies(c, b))) return true;
  if ('any' in b && b.any.some((c) => implies(a, c))) return true;
  if ('not' in a || 'not' in b) return 'not' in a && 'not' in b && implies(b.not, a.not);
  if ('group' in a) return 'group' in b && norm(a.group) === norm(b.group);
  if (!('attribute' in a) || !('attribute' in b) || attrKey(a.attribute) !== attrKey(b.attribute)) return false;
  // Which values of the attribute make `a` hold, as far as they can be listed.
  const values = 'equals' in a ? [a.equals] : 'in' in a ? a.in : undefined;
  if ('present' in b) return b.present ? values !== undefined || 'matches' in a || ('present' in a && a.present) : 'present' in a && !a.present;
  if (values === undefined) return 'matches' in a && 'matches' in b && a.matches === b.matches;
  if ('equals' in b) return values.every((v) => norm(v) === norm(b.equals));
  if ('in' in b) return values.every((v) => b.in.some((w) => norm(v) === norm(w)));
  return false;
}

const SINGLE_VALUED = SINGLE_VALUED_FIELDS;
type SingleField = (typeof SINGLE_VALUED)[number];
const LISTS = ['extraClientAccess', 'employeeAreas', 'biGroups', 'teams', 'facilities'] as const;

/** The value a single-valued field has when no rule sets it (and the IdP sends none); undefined where that is not one fixed value. */
function defaultOf(field: SingleField, cfg: TenantConfig): unknown {
  switch (field) {
    case 'caseManager':
    case 'mobileAppUser':
    case 'allowGridExport':
    case 'receivesDocumentation':
      return false;
    case 'securityRole':
      return cfg.defaults.securityRole;
    case 'employeeType':
      return cfg.defaults.employeeType;
    default:
      return undefined; // client and clientRole also depend on the organisations the rules give
  }
}

/** The fields of a rule's `set`, each as a name and whether it is without effect (with why, for single-valued fields). */
function fieldsWithoutEffect(rules: readonly Rule[], j: number, cfg: TenantConfig): { field: string; why: 'shadowed' | 'default' }[] | undefined {
  const rule = rules[j];
  const set = rule.set;
  const earlier = rules.slice(0, j).filter((r) => implies(rule.when, r.when));
  const later = rules.slice(j + 1);
  const out: { field: string; why: 'shadowed' | 'default' }[] = [];
  for (const field of SINGLE_VALUED) {
    const value = set[field];
    if (value === undefined) continue;
    if (earlier.some((r) => r.set[field] !== undefined)) out.push({ field, why: 'shadowed' });
    else if (value === defaultOf(field, cfg) && later.every((r) => r.set[field] === undefined || r.set[field] === value)) out.push({ field, why: 'default' });
    else return undefined;
  }
  const covered = (values: readonly string[] | undefined, have: (string[] | undefined)[]) => {
    const known = have.flatMap((h) => h ?? []).map(norm);
    return (values ?? []).every((v) => known.includes(norm(v)));
  };
  for (const field of LISTS) {
    if (!set[field]) continue;
    if (
      !covered(
        set[field],
        earlier.map((r) => r.set[field]),
      )
    )
      return undefined;
    out.push({ field, why: 'shadowed' });
  }
  for (const kind of ['email', 'system', 'toastr'] as const) {
    if (!set.notifications?.[kind]) continue;
    if (
      !covered(
        set.notifications[kind],
        earlier.map((r) => r.set.notifications?.[kind]),
      )
    )
      return undefined;
    out.push({ field: `notifications.${kind}`, why: 'shadowed' });
  }
  if (set.organisations) {
    // Membership, role and primary each come from the first rule naming the organisation with them.
    const before = earlier.flatMap((r) => r.set.organisations ?? []);
    const same = (o: { value: string }) => before.filter((b) => norm(b.value) === norm(o.value));
    const ok = set.organisations.every(
      (o) =>
        same(o).length > 0 &&
        (o.role === undefined || same(o).some((b) => b.role !== undefined)) &&
        (o.primary === undefined || same(o).some((b) => b.primary !== undefined)),
    );
    if (!ok) return undefined;
    out.push({ field: 'organisations', why: 'shadowed' });
  }
  if (set.providerAccounts) {
    // No organisations means the user's client: only the same form covers it.
    const before = earlier.flatMap((r) => r.set.providerAccounts ?? []);
    const ok = set.providerAccounts.every((pa) => {
      const sameType = before.filter((b) => norm(b.type) === norm(pa.type));
      const orgs = pa.organisations ?? [];
      if (orgs.length === 0) return sameType.some((b) => (b.organisations ?? []).length === 0);
      return orgs.every((o) => sameType.some((b) => (b.organisations ?? []).some((x) => norm(x) === norm(o))));
    });
    if (!ok) return undefined;
    out.push({ field: 'providerAccounts', why: 'shadowed' });
  }
  return out;
}

/** A warning for each rule that can never change what a user gets, at the rule's path. */
export function ruleWarnings(cfg: TenantConfig): RuleWarning[] {
  const warnings: RuleWarning[] = [];
  cfg.rules.forEach((rule, j) => {
    const fields = fieldsWithoutEffect(cfg.rules, j, cfg);
    if (!fields || fields.length === 0) return;
    const shadowed = fields.filter((f) => f.why === 'shadowed').map((f) => f.field);
    const defaults = fields.filter((f) => f.why === 'default').map((f) => f.field);
    const shadowing = cfg.rules
      .slice(0, j)
      .map((r, i) => ({ r, i }))
      .filter(({ r }) => implies(rule.when, r.when) && shadowed.some((f) => f.split('.')[0] in r.set))
      .map(({ r, i }) => label(r, i));
    const parts: string[] = [];
    if (shadowed.length > 0) {
      parts.push(
        `whenever it matches, ${shadowing.join(' and ')} ${shadowing.length > 1 ? 'match' : 'matches'} too and already set${shadowing.length > 1 ? '' : 's'} ${shadowed.join(', ')}`,
      );
    }
    for (const field of defaults) {
      const value = JSON.stringify(rule.set[field as SingleField]);
      const winners = cfg.rules
        .slice(0, j)
        .map((r, i) => ({ r, i }))
        .filter(({ r }) => r.set[field as SingleField] !== undefined)
        .map(({ r, i }) => label(r, i));
      parts.push(
        `${field}: ${value} is already the default and no later rule sets ${field}` +
          (winners.length > 0
            ? `, while ${winners.join(' and ')} above it ${winners.length > 1 ? 'set' : 'sets'} ${field} first where ${winners.length > 1 ? 'they match' : 'it matches'}`
            : ''),
      );
    }
    warnings.push({
      path: ['rules', j],
      message: `rule ${label(rule, j)} can never change what a user gets: ${parts.join('; ')}. Move it above the rules it should win over (the first matching rule sets a single-valued field), or remove it`,
    });
  });
  return warnings;
}
