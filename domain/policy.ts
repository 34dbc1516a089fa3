/**
 * Tenant policy: mapping rules from what the identity provider sends (SCIM core and enterprise
 * attributes, group memberships) to application fields. Pure: the rule schema, its
 * validation, and evaluation against one user. docs/tenant-policy.md is the reference.
 *
 * Merge: rules are read top to bottom. A single-valued field takes the value of the FIRST
 * matching rule that sets it (put specific rules before general ones); multi-valued fields take
 * the union over all matching rules, in rule order; an organisation's role comes from the
 * first matching rule that names that organisation with a role.
 */
import { z } from 'zod';
import { CLIENT_ROLES, SECURITY_ROLES, type ClientRole, type SecurityRole } from './roles';

const CORE_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const KNOWN_URNS = [CORE_URN, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', 'urn:ietf:params:scim:schemas:extension:scimflow:2.0:User'];

// ---------------------------------------------------------------------------------------------
// Conditions

export type Scalar = string | number | boolean;

export type Condition =
  | { group: string }
  | { groupMatches: string }
  | { attribute: string; equals: Scalar }
  | { attribute: string; in: Scalar[] }
  | { attribute: string; matches: string }
  | { attribute: string; present: boolean }
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition };

const ATTRIBUTE_PATH = /^(?:(urn:[A-Za-z0-9.:_-]+):)?([A-Za-z][A-Za-z0-9$_-]*)(?:\.([A-Za-z][A-Za-z0-9$_-]*))?$/;

/** Splits `title`, `name.givenName` or `urn:…:enterprise:2.0:User:manager.value` into schema, attribute and sub-attribute. */
function parseAttributePath(path: string): { schema: string | null; attr: string; sub: string | null } | undefined {
  const m = ATTRIBUTE_PATH.exec(path.trim());
  if (!m) return undefined;
  return { schema: m[1] ?? null, attr: m[2], sub: m[3] ?? null };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is Scalar => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

function compileRegex(source: string): RegExp | string {
  try {
    return new RegExp(source, 'i');
  } catch (err) {
    return `not a valid regular expression: ${(err as Error).message}`;
  }
}

const CONDITION_KEYS = 'group, groupMatches, attribute (with equals, in, matches or present), all, any, not';

/** Validates one condition, reporting each problem at its path; returns it typed, or undefined when invalid. */
function parseCondition(value: unknown, ctx: z.RefinementCtx, path: (string | number)[]): Condition | undefined {
  const issue = (message: string, at: (string | number)[] = path) => ctx.addIssue({ code: 'custom', message, path: at });
  if (!isObject(value)) return (issue(`a condition must be an object with one of: ${CONDITION_KEYS}`), undefined);
  const keys = Object.keys(value);
  if ('all' in value || 'any' in value) {
    const key = 'all' in value ? 'all' : 'any';
    if (keys.length !== 1) return (issue(`"${key}" stands alone; found also ${keys.filter((k) => k !== key).join(', ')}`), undefined);
    const list = value[key];
    if (!Array.isArray(list) || list.length === 0) return (issue(`"${key}" must be a non-empty list of conditions`, [...path, key]), undefined);
    const parsed = list.map((c, i) => parseCondition(c, ctx, [...path, key, i]));
    return parsed.every((c) => c !== undefined) ? ({ [key]: parsed } as Condition) : undefined;
  }
  if ('not' in value) {
    if (keys.length !== 1) return (issue(`"not" stands alone; found also ${keys.filter((k) => k !== 'not').join(', ')}`), undefined);
    const inner = parseCondition(value.not, ctx, [...path, 'not']);
    return inner ? { not: inner } : undefined;
  }
  if ('group' in value || 'groupMatches' in value) {
    const key = 'group' in value ? 'group' : 'groupMatches';
    if (keys.length !== 1) return (issue(`"${key}" stands alone; found also ${keys.filter((k) => k !== key).join(', ')}`), undefined);
    const v = value[key];
    if (typeof v !== 'string' || v.trim() === '')
      return (issue(`"${key}" must be a non-empty string (a group displayName${key === 'groupMatches' ? ' pattern' : ''})`, [...path, key]), undefined);
    if (key === 'groupMatches') {
      const re = compileRegex(v);
      if (typeof re === 'string') return (issue(re, [...path, key]), undefined);
      return { groupMatches: v };
    }
    return { group: v.trim() };
  }
  if ('attribute' in value) {
    const attribute = value.attribute;
    let ok = true;
    if (typeof attribute !== 'string' || !parseAttributePath(attribute)) {
      issue(
        '"attribute" must be an attribute path such as "title", "name.givenName" or "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"',
        [...path, 'attribute'],
      );
      ok = false;
    } else {
      const schema = parseAttributePath(attribute)?.schema;
      if (schema && !KNOWN_URNS.some((u) => u.toLowerCase() === schema.toLowerCase())) {
        issue(`"${schema}" is not a User schema of this server (core, enterprise or scimflow)`, [...path, 'attribute']);
        ok = false;
      }
    }
    const tests = ['equals', 'in', 'matches', 'present'].filter((k) => k in value);
    const extra = keys.filter((k) => k !== 'attribute' && !tests.includes(k));
    if (extra.length)
      return (issue(`unknown key ${extra.map((k) => `"${k}"`).join(', ')}; an attribute condition has one of equals, in, matches, present`), undefined);
    if (tests.length !== 1) return (issue('an attribute condition needs exactly one of equals, in, matches, present'), undefined);
    const test = tests[0];
    const v = value[test];
    if (test === 'equals' && !isScalar(v)) return (issue('"equals" must be a string, number or boolean', [...path, test]), undefined);
    if (test === 'in' && (!Array.isArray(v) || v.length === 0 || !v.every(isScalar)))
      return (issue('"in" must be a non-empty list of strings, numbers or booleans', [...path, test]), undefined);
    if (test === 'present' && typeof v !== 'boolean') return (issue('"present" must be true or false', [...path, test]), undefined);
    if (test === 'matches') {
      if (typeof v !== 'string') return (issue('"matches" must be a regular expression string', [...path, test]), undefined);
      const re = compileRegex(v);
      if (typeof re === 'string') return (issue(re, [...path, test]), undefined);
    }
    return ok ? ({ attribute: (attribute as string).trim(), [test]: v } as Condition) : undefined;
  }
  return (issue(`unknown condition ${keys.length ? keys.map((k) => `"${k}"`).join(', ') : '{}'}; use one of: ${CONDITION_KEYS}`), undefined);
}

const conditionSchema = z.unknown().transform((value, ctx) => parseCondition(value, ctx, []) as Condition);

// ---------------------------------------------------------------------------------------------
// Rules

const name = z.string().trim().min(1);
const names = z.array(name);
/** The application's role names, exactly as spelt; the message names the wrong value and the right ones. */
export const securityRoleSchema = z.enum(SECURITY_ROLES, {
  error: (iss) => `${JSON.stringify(iss.input)} is not a security role; use one of: ${SECURITY_ROLES.join(', ')}`,
});
export const clientRoleSchema = z.enum(CLIENT_ROLES, { error: (iss) => `${JSON.stringify(iss.input)} is not a client role; use ${CLIENT_ROLES.join(' or ')}` });

/** What a rule sets: the scimflow extension's application fields, by the same names. */
const ruleSetSchema = z
  .object({
    /** The user's client (organisation key or name). Single-valued. */
    client: name.optional(),
    /** The role in the client, when `organisations` does not name the client with one. Single-valued. */
    clientRole: clientRoleSchema.optional(),
    /** Organisations the user is a member of, each with its role. Multi-valued. */
    organisations: z.array(z.object({ value: name, role: clientRoleSchema.optional(), primary: z.boolean().optional() }).strict()).optional(),
    /** Further clients or locations the user may access. Multi-valued. */
    extraClientAccess: names.optional(),
    caseManager: z.boolean().optional(),
    /** (provider type, organisations) pairs; no organisations: the user's client. Multi-valued. */
    providerAccounts: z.array(z.object({ type: name, organisations: names.optional() }).strict()).optional(),
    securityRole: securityRoleSchema.optional(),
    employeeType: name.optional(),
    employeeAreas: names.optional(),
    biGroups: names.optional(),
    teams: names.optional(),
    facilities: names.optional(),
    notifications: z.object({ email: names.optional(), system: names.optional(), toastr: names.optional() }).strict().optional(),
    mobileAppUser: z.boolean().optional(),
    allowGridExport: z.boolean().optional(),
    receivesDocumentation: z.boolean().optional(),
  })
  .strict()
  .refine((s) => Object.keys(s).length > 0, 'a rule must set at least one field');

export const ruleSchema = z
  .object({
    /** Shown in previews and on a user's admin page ("why does she have VOB Worker?"). */
    name: name.optional(),
    when: conditionSchema,
    set: ruleSetSchema,
  })
  .strict();

export type Rule = z.output<typeof ruleSchema>;
export type RuleSet = Rule['set'];

const ruleLabel = (rule: Rule, index: number) => rule.name ?? `rule ${index + 1}`;

// ---------------------------------------------------------------------------------------------
// Evaluation

/** What a rule sees of a user: the stored SCIM document and the displayNames of the groups it is a direct member of. */
export interface PolicySubject {
  doc: Record<string, unknown>;
  groups: readonly string[];
}

/** The merged result of the matching rules; absent / empty means "no rule said". */
export interface PolicyValues {
  client?: string;
  clientRole?: ClientRole;
  organisations: { value: string; role?: ClientRole; primary?: boolean }[];
  extraClientAccess: string[];
  caseManager?: boolean;
  providerAccounts: { type: string; organisations: string[] }[];
  securityRole?: SecurityRole;
  employeeType?: string;
  employeeAreas: string[];
  biGroups: string[];
  teams: string[];
  facilities: string[];
  notifications: { email: string[]; system: string[]; toastr: string[] };
  mobileAppUser?: boolean;
  allowGridExport?: boolean;
  receivesDocumentation?: boolean;
  /** Labels of the rules that matched, in order. */
  matchedRules: string[];
}

const norm = (v: unknown) => String(v).trim().toLowerCase();

/** The values at an attribute path; multi-valued attributes fan out, complex values with a `value` sub-attribute (manager, roles) yield it. */
export function attributeValues(doc: Record<string, unknown>, path: string): Scalar[] {
  const p = parseAttributePath(path);
  if (!p) return [];
  const lookup = (obj: Record<string, unknown>, key: string) => {
    const k = Object.keys(obj).find((x) => x.toLowerCase() === key.toLowerCase());
    return k === undefined ? undefined : obj[k];
  };
  const root = p.schema && p.schema.toLowerCase() !== CORE_URN.toLowerCase() ? lookup(doc, p.schema) : doc;
  if (!isObject(root)) return [];
  const top = lookup(root, p.attr);
  const items = Array.isArray(top) ? top : [top];
  const out: Scalar[] = [];
  for (const item of items) {
    let v: unknown = item;
    if (p.sub) v = isObject(item) ? lookup(item, p.sub) : undefined;
    else if (isObject(item)) v = item.value;
    if (isScalar(v) && String(v).trim() !== '') out.push(v);
  }
  return out;
}

/** The fields a rule sets that hold one value: the first matching rule that sets one wins. */
export const SINGLE_VALUED_FIELDS = [
  'client',
  'clientRole',
  'caseManager',
  'securityRole',
  'employeeType',
  'mobileAppUser',
  'allowGridExport',
  'receivesDocumentation',
] as const;

/** Whether a condition holds for a user. Comparisons ignore case and surrounding spaces; a regular expression matches anywhere unless anchored. */
export function matches(cond: Condition, subject: PolicySubject): boolean {
  if ('all' in cond) return cond.all.every((c) => matches(c, subject));
  if ('any' in cond) return cond.any.some((c) => matches(c, subject));
  if ('not' in cond) return !matches(cond.not, subject);
  if ('group' in cond) return subject.groups.some((g) => norm(g) === norm(cond.group));
  if ('groupMatches' in cond) {
    const re = new RegExp(cond.groupMatches, 'i');
    return subject.groups.some((g) => re.test(g));
  }
  const values = attributeValues(subject.doc, cond.attribute);
  if ('present' in cond) return values.length > 0 === cond.present;
  if ('equals' in cond) return values.some((v) => norm(v) === norm(cond.equals));
  if ('in' in cond) return values.some((v) => cond.in.some((w) => norm(v) === norm(w)));
  const re = new RegExp(cond.matches, 'i');
  return values.some((v) => re.test(String(v)));
}

const unionInto = (target: string[], values: readonly string[] | undefined) => {
  for (const v of values ?? []) if (!target.some((t) => norm(t) === norm(v))) target.push(v);
};

export function evaluatePolicy(rules: readonly Rule[], subject: PolicySubject): PolicyValues {
  const out: PolicyValues = {
    organisations: [],
    extraClientAccess: [],
    providerAccounts: [],
    employeeAreas: [],
    biGroups: [],
    teams: [],
    facilities: [],
    notifications: { email: [], system: [], toastr: [] },
    matchedRules: [],
  };
  rules.forEach((rule, index) => {
    if (!matches(rule.when, subject)) return;
    out.matchedRules.push(ruleLabel(rule, index));
    const s = rule.set;
    // Single-valued: the first matching rule that sets the field wins.
    for (const key of SINGLE_VALUED_FIELDS) {
      if (s[key] !== undefined && out[key] === undefined) (out as unknown as Record<string, unknown>)[key] = s[key];
    }
    // Multi-valued: union in rule order.
    for (const o of s.organisations ?? []) {
      const existing = out.organisations.find((x) => norm(x.value) === norm(o.value));
      if (!existing) out.organisations.push({ ...o });
      else {
        if (existing.role === undefined && o.role !== undefined) existing.role = o.role;
        if (existing.primary === undefined && o.primary !== undefined) existing.primary = o.primary;
      }
    }
    for (const pa of s.providerAccounts ?? []) out.providerAccounts.push({ type: pa.type, organisations: [...(pa.organisations ?? [])] });
    unionInto(out.extraClientAccess, s.extraClientAccess);
    unionInto(out.employeeAreas, s.employeeAreas);
    unionInto(out.biGroups, s.biGroups);
    unionInto(out.teams, s.teams);
    unionInto(out.facilities, s.facilities);
    unionInto(out.notifications.email, s.notifications?.email);
    unionInto(out.notifications.system, s.notifications?.system);
    unionInto(out.notifications.toastr, s.notifications?.toastr);
  });
  return out;
}
