/**
 * The meaning of a SCIM filter (RFC 7644 §3.4.2.2), in two halves shared with common/repositories/filter-sql.ts:
 *
 *  - binding: a parsed FilterNode is checked against the resource schema (scimmy definitions)
 *    and turned into a BoundNode whose attributes are resolved (canonical names, type,
 *    caseExact, where the value lives) and whose values are coerced (dates parsed, "true"
 *    read as a boolean). Every client mistake is a ScimError 400 here, before any SQL runs.
 *  - evaluation: a BoundNode against a SCIM resource JSON. common/repositories/filter-sql.ts translates the same
 *    BoundNode to SQL; the property test in filter-sql.int.test.ts holds the two to account.
 *
 * Semantics, identical in SQL and here:
 *  - a path names a set of values (multi-valued attributes are flattened); a comparison or
 *    `pr` holds when ANY value satisfies it (RFC 7644 §3.4.2.2, "Multi-valued attributes");
 *  - `ne` is `not (eq)`: true when the attribute is missing, and for a multi-valued
 *    attribute true when NO value equals; `eq null` is `not (pr)` and `ne null` is `pr`;
 *  - `pr`: some value is present and not null, "", [] or an object without a present value;
 *  - strings: caseExact per schema, otherwise compared lower-cased; gt/lt/ge/le compare by
 *    code point (SQL: COLLATE "C"); co/sw/ew are substring tests;
 *  - dateTime compares instants at millisecond precision (the precision of meta.created as
 *    rendered); booleans compare only with eq/ne; values of the wrong JSON type never match;
 *  - `attr[filter]`: one element satisfies the whole inner filter;
 *  - the scimflow extension's employeeAreas, teams, facilities and biGroups name the values the
 *    document sends OR the values in force in the ledger (app_user_settings, rule-given ones
 *    included: LEDGER_SETTINGS). SQL reads the ledger; here it is `EvaluateOptions.ledger`, which
 *    only a caller that read it passes. Top-level filters (GET /Users, POST /Users/.search) are
 *    always SQL (scim-server/list-params.ts); this evaluator serves PATCH value filters, which
 *    are relative to one element of a complex attribute and cannot name these lists.
 */
import { GroupSchema, SCIMMY, UserSchema, declareSchemas } from '../schemas';
import { ScimError } from '../error';
import { type AttrPath, type FilterNode, formatAttrPath } from './parser';

export type ResourceKind = 'User' | 'Group';

type ErrorType = 'invalidFilter' | 'invalidPath';

// --- schema model --------------------------------------------------------------------

/** The slice of scimmy's Attribute we rely on. */
export interface SchemaAttribute {
  name: string;
  type: string;
  config: { multiValued?: boolean; caseExact?: boolean; returned?: string | boolean; direction?: string };
  subAttributes?: SchemaAttribute[];
}

interface SchemaDef {
  id: string;
  attributes: unknown[];
}

export type AttrType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'binary' | 'reference' | 'complex';

/** One JSON key on the way from the resource (or element) to the value; `multi` = an array to flatten. */
export interface Step {
  key: string;
  multi: boolean;
}

/** Dedicated columns of `r` (see common/db/migrations/001_scim.sql). */
export type ColumnName = 'id' | 'userName' | 'externalId' | 'displayName' | 'active' | 'created' | 'lastModified';
/** Attributes kept in rows of another table, joined to `r`. */
export type RelationName = 'members' | 'groups' | 'provisioning';

/**
 * The scimflow extension's set-valued settings whose filter also counts the ledger's values
 * (app_user_settings.kind): tags, teams, facilities and BI groups a tenant's rules give are
 * found like the ones the identity provider sends. Facilities are kept in the ledger by their
 * organisation key.
 */
export const LEDGER_SETTINGS = { employeeAreas: 'employeeArea', teams: 'team', facilities: 'facility', biGroups: 'biGroup' } as const;
export type LedgerAttribute = keyof typeof LEDGER_SETTINGS;
export type LedgerSetting = (typeof LEDGER_SETTINGS)[LedgerAttribute];

export type Storage =
  | { kind: 'doc' } // r.doc (or the current element inside [ ]), following `steps`
  /** r.doc following `steps`, or a value of the user's ledger setting `setting` (app_user_settings). */
  | { kind: 'docOrLedger'; setting: LedgerSetting; attribute: LedgerAttribute }
  | { kind: 'column'; column: ColumnName }
  | { kind: 'emailValues' } // r.email_values: the lower-cased emails[].value
  | { kind: 'relation'; relation: RelationName; sub?: string };

/** A resolved attribute path. */
export interface Target {
  /** Canonical SCIM path, for messages. */
  name: string;
  type: AttrType;
  caseExact: boolean;
  steps: Step[];
  storage: Storage;
  def: SchemaAttribute;
}

/** Sub-attributes the related tables can answer; the others are not stored there. */
export const RELATION_SUB_ATTRIBUTES: Record<RelationName, readonly string[]> = {
  members: ['value', 'type'],
  groups: ['value'],
  provisioning: ['state', 'waitingFor', 'waitingUntil', 'lastError', 'workflowId'],
};

const CORE_COLUMNS: Record<ResourceKind, Record<string, ColumnName>> = {
  User: { id: 'id', externalId: 'externalId', userName: 'userName', displayName: 'displayName', active: 'active' },
  Group: { id: 'id', externalId: 'externalId', displayName: 'displayName' },
};
const SCIMFLOW_USER_URN = 'urn:ietf:params:scim:schemas:extension:scimflow:2.0:User';

function definitionOf(kind: ResourceKind): SchemaDef {
  declareSchemas();
  return (kind === 'User' ? UserSchema : GroupSchema).definition as unknown as SchemaDef;
}

const isSchemaDef = (a: unknown): a is SchemaDef => a instanceof SCIMMY.Types.SchemaDefinition;
const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function fail(scimType: ErrorType, detail: string): never {
  throw new ScimError(400, scimType, detail);
}

function checkReadable(def: SchemaAttribute, name: string, scimType: ErrorType): void {
  // RFC 7643 §7: a never-returned attribute (password) must not be probed through filters either.
  // scimmy spells returned "never" as `returned: false` / `direction: 'in'`.
  const { returned, direction } = def.config;
  if (returned === 'never' || returned === false || direction === 'in') fail(scimType, `"${name}" cannot be used in a filter.`);
}

function subAttributeOf(parent: SchemaAttribute, parentName: string, sub: string, scimType: ErrorType): SchemaAttribute {
  if (parent.type !== 'complex' || !parent.subAttributes) fail(scimType, `"${parentName}" is not a complex attribute and has no sub-attribute "${sub}".`);
  const found = parent.subAttributes.find((s) => sameName(s.name, sub));
  if (!found) {
    fail(scimType, `Unknown attribute "${parentName}.${sub}": "${parentName}" has the sub-attributes ${parent.subAttributes.map((s) => s.name).join(', ')}.`);
  }
  return found;
}

/** Resolves a path from the resource root (a filter's top level, a sortBy). */
export function resolveAttribute(path: AttrPath, kind: ResourceKind, scimType: ErrorType = 'invalidFilter'): Target {
  const definition = definitionOf(kind);
  let container: SchemaDef = definition;
  const steps: Step[] = [];
  let prefix = '';
  if (path.schema !== undefined) {
    const ext = definition.attributes.filter(isSchemaDef).find((s) => sameName(s.id, path.schema!));
    if (!ext) fail(scimType, `Unknown schema "${path.schema}" for ${kind} resources.`);
    container = ext;
    prefix = `${ext.id}:`;
    steps.push({ key: ext.id, multi: false });
  }
  const top = container.attributes.find((a): a is SchemaAttribute => !isSchemaDef(a) && sameName((a as SchemaAttribute).name, path.attr));
  if (!top) fail(scimType, `Unknown attribute "${formatAttrPath(path)}" for ${kind} resources.`);
  checkReadable(top, prefix + top.name, scimType);
  steps.push({ key: top.name, multi: !!top.config.multiValued });
  let leaf = top;
  if (path.sub !== undefined) {
    leaf = subAttributeOf(top, prefix + top.name, path.sub, scimType);
    checkReadable(leaf, `${prefix}${top.name}.${leaf.name}`, scimType);
    steps.push({ key: leaf.name, multi: !!leaf.config.multiValued });
  }
  const name = `${prefix}${top.name}${leaf !== top ? `.${leaf.name}` : ''}`;
  const target: Target = {
    name,
    type: leaf.type as AttrType,
    caseExact: !!leaf.config.caseExact || leaf.type === 'binary',
    steps,
    storage: { kind: 'doc' },
    def: leaf,
  };

  const sub = leaf !== top ? leaf.name : undefined;
  if (path.schema === undefined) {
    const column = CORE_COLUMNS[kind][top.name];
    if (column) target.storage = { kind: 'column', column };
    // Ids are uuids, stored lower-case and compared as uuids: case does not matter.
    if (top.name === 'id') target.caseExact = false;
    if (top.name === 'meta') {
      if (sub !== 'created' && sub !== 'lastModified') fail(scimType, `Filtering on "${name}" is not supported; use meta.created or meta.lastModified.`);
      target.storage = { kind: 'column', column: sub };
    }
    if (top.name === 'schemas') fail(scimType, 'Filtering on "schemas" is not supported.');
    if (kind === 'User' && top.name === 'emails' && sub === 'value') target.storage = { kind: 'emailValues' };
    if (kind === 'User' && top.name === 'groups') target.storage = relationStorage('groups', name, sub, scimType);
    if (kind === 'Group' && top.name === 'members') target.storage = relationStorage('members', name, sub, scimType);
  } else if (kind === 'User' && sameName(path.schema, SCIMFLOW_USER_URN) && top.name === 'provisioning') {
    target.storage = relationStorage('provisioning', name, sub, scimType);
  } else if (kind === 'User' && sameName(path.schema, SCIMFLOW_USER_URN) && Object.hasOwn(LEDGER_SETTINGS, top.name)) {
    const attribute = top.name as LedgerAttribute;
    target.storage = { kind: 'docOrLedger', setting: LEDGER_SETTINGS[attribute], attribute };
  }
  if (target.storage.kind === 'relation' && sub === 'value') target.caseExact = false; // uuids
  return target;
}

function relationStorage(relation: RelationName, name: string, sub: string | undefined, scimType: ErrorType): Storage {
  if (sub !== undefined && !RELATION_SUB_ATTRIBUTES[relation].includes(sub)) {
    const parent = name.slice(0, name.lastIndexOf('.'));
    fail(scimType, `Filtering on "${name}" is not supported; filter on ${RELATION_SUB_ATTRIBUTES[relation].map((s) => `${parent}.${s}`).join(' or ')}.`);
  }
  return { kind: 'relation', relation, sub };
}

/** Resolves a path inside `parent[...]`: relative to one element of the complex attribute `parent`. */
function resolveElementAttribute(parent: Target, path: AttrPath, scimType: ErrorType = 'invalidFilter'): Target {
  if (path.schema !== undefined || path.sub !== undefined) {
    fail(scimType, `Inside "${parent.name}[...]" name a sub-attribute of ${parent.name} only, not "${formatAttrPath(path)}".`);
  }
  const def = subAttributeOf(parent.def, parent.name, path.attr, scimType);
  const name = `${parent.name}.${def.name}`;
  checkReadable(def, name, scimType);
  let storage: Storage = { kind: 'doc' };
  let caseExact = !!def.config.caseExact || def.type === 'binary';
  if (parent.storage.kind === 'relation') {
    storage = relationStorage(parent.storage.relation, name, def.name, scimType);
    if (def.name === 'value') caseExact = false;
  }
  return { name, type: def.type as AttrType, caseExact, steps: [{ key: def.name, multi: !!def.config.multiValued }], storage, def };
}

// --- dates -----------------------------------------------------------------------------

const DATE_RE = '([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])';
const TIME_RE = '([01][0-9]|2[0-3]):([0-5][0-9])(:([0-5][0-9])(\\.([0-9]{1,6}))?)?';
/**
 * The date-times we read from stored JSON: RFC 3339 / xsd:dateTime, optionally without a zone
 * (then UTC) or time. common/repositories/filter-sql.ts uses these very patterns (POSIX-compatible) before casting,
 * so that a value either parses identically on both sides or is ignored on both.
 */
export const STORED_LOCAL_DATETIME_RE = `^${DATE_RE}(T${TIME_RE})?$`;
export const STORED_ZONED_DATETIME_RE = `^${DATE_RE}T${TIME_RE}(Z|([+-])(0[0-9]|1[0-4]):([0-5][0-9]))$`;
const STORED_LOCAL = new RegExp(STORED_LOCAL_DATETIME_RE);
const STORED_ZONED = new RegExp(STORED_ZONED_DATETIME_RE);
/** Filter literals are read more leniently: any fraction (truncated to ms), `+hhmm` zones. */
const LITERAL = new RegExp(`^${DATE_RE}(T([01][0-9]|2[0-3]):([0-5][0-9])(:([0-5][0-9])(\\.([0-9]+))?)?(Z|([+-])(0[0-9]|1[0-4]):?([0-5][0-9]))?)?$`);

function instant(y: string, mo: string, d: string, h = '0', mi = '0', s = '0', frac = '', sign?: string, oh = '0', om = '0'): number | undefined {
  const year = Number(y);
  if (year < 1) return undefined; // PostgreSQL has no year 0
  const date = new Date(0);
  date.setUTCFullYear(year, Number(mo) - 1, Number(d)); // not Date.UTC: it maps years 0-99 to 1900-1999
  if (date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d)) return undefined; // e.g. 2023-02-30
  date.setUTCHours(Number(h), Number(mi), Number(s), Number((frac + '000').slice(0, 3)));
  const offset = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000 : 0;
  return date.getTime() - offset;
}

/** A stored date-time string as epoch ms (truncated to ms), or undefined when it is not one we read. */
export function parseStoredDateTime(s: string): number | undefined {
  let m = STORED_ZONED.exec(s);
  if (m) return instant(m[1], m[2], m[3], m[4], m[5], m[7], m[9], m[10] === 'Z' ? undefined : m[11], m[12], m[13]);
  m = STORED_LOCAL.exec(s);
  if (m) return instant(m[1], m[2], m[3], m[5], m[6], m[8], m[10]);
  return undefined;
}

const FIRST_MS = (() => {
  const d = new Date(0);
  d.setUTCFullYear(1, 0, 1);
  return d.getTime();
})();
const LAST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A filter literal as epoch ms; undefined when it is not an RFC 3339 date-time in years 0001-9999. */
export function parseFilterDateTime(s: string): number | undefined {
  const m = LITERAL.exec(s);
  if (!m) return undefined;
  const ms = instant(m[1], m[2], m[3], m[5], m[6], m[8], m[10], m[11] === 'Z' || m[11] === undefined ? undefined : m[12], m[13], m[14]);
  return ms !== undefined && ms >= FIRST_MS && ms <= LAST_MS ? ms : undefined;
}

// --- binding ---------------------------------------------------------------------------

export type BoundOp = 'eq' | 'co' | 'sw' | 'ew' | 'gt' | 'lt' | 'ge' | 'le';
export type BoundValue =
  { type: 'string'; value: string } | { type: 'boolean'; value: boolean } | { type: 'number'; value: number } | { type: 'dateTime'; ms: number };

export type BoundNode =
  | { type: 'and' | 'or'; items: BoundNode[] }
  | { type: 'not'; expr: BoundNode }
  | { type: 'present'; target: Target }
  | { type: 'compare'; target: Target; op: BoundOp; value: BoundValue }
  /** `filter`'s targets are relative to one element of `target`. */
  | { type: 'valuePath'; target: Target; filter: BoundNode };

/**
 * Checks `node` against the schema of `kind` and resolves it. With `within`, the filter is the
 * inside of `within[...]` and its paths are relative to one element (PATCH path filters).
 */
export function bindFilter(node: FilterNode, kind: ResourceKind, within?: AttrPath, scimType: ErrorType = 'invalidFilter'): BoundNode {
  if (within === undefined) return bind(node, (p) => resolveAttribute(p, kind, scimType), scimType);
  const parent = complexTarget(resolveAttribute(within, kind, scimType), scimType);
  return bind(node, (p) => resolveElementAttribute(parent, p, scimType), scimType);
}

function complexTarget(target: Target, scimType: ErrorType): Target {
  if (target.type !== 'complex')
    fail(scimType, `"${target.name}" is not a complex attribute; [ ] filters apply to complex attributes such as emails[type eq "work"].`);
  return target;
}

function bind(node: FilterNode, resolve: (p: AttrPath) => Target, scimType: ErrorType): BoundNode {
  switch (node.type) {
    case 'and':
    case 'or': {
      // Flattened, so long chains make flat SQL rather than deeply nested parentheses.
      const items: BoundNode[] = [];
      const collect = (n: FilterNode) => {
        if (n.type === node.type) {
          collect(n.left);
          collect(n.right);
        } else items.push(bind(n, resolve, scimType));
      };
      collect(node);
      return { type: node.type, items };
    }
    case 'not':
      return { type: 'not', expr: bind(node.expr, resolve, scimType) };
    case 'present':
      return { type: 'present', target: resolve(node.path) };
    case 'valuePath': {
      const target = complexTarget(resolve(node.path), scimType);
      return { type: 'valuePath', target, filter: bind(node.filter, (p) => resolveElementAttribute(target, p, scimType), scimType) };
    }
    case 'compare': {
      const target = resolve(node.path);
      const { op, value } = node;
      // RFC 7644 §3.4.2.2: null is "no value"; only equality with it makes sense.
      if (value === null) {
        if (op === 'eq') return { type: 'not', expr: { type: 'present', target } };
        if (op === 'ne') return { type: 'present', target };
        fail(scimType, `"${op}" cannot compare "${target.name}" with null; use "eq null", "ne null" or "pr".`);
      }
      if (op === 'ne') return { type: 'not', expr: { type: 'compare', target, op: 'eq', value: bindValue(target, 'eq', value, scimType) } };
      return { type: 'compare', target, op, value: bindValue(target, op, value, scimType) };
    }
  }
}

function bindValue(target: Target, op: BoundOp, value: string | number | boolean, scimType: ErrorType): BoundValue {
  const name = target.name;
  const substring = op === 'co' || op === 'sw' || op === 'ew';
  switch (target.type) {
    case 'complex': {
      const example = target.def.subAttributes?.[0]?.name ?? 'value';
      return fail(scimType, `"${name}" is a complex attribute: compare one of its sub-attributes (e.g. ${name}.${example}) or test it with "pr".`);
    }
    case 'boolean':
      // RFC 7644 §3.4.2.2: gt/ge/lt/le on a boolean is invalidFilter; co/sw/ew make no more sense.
      if (op !== 'eq') fail(scimType, `"${op}" is not defined for the boolean attribute "${name}"; use eq or ne.`);
      if (typeof value === 'boolean') return { type: 'boolean', value };
      // Entra ID sends booleans as strings ("True").
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return { type: 'boolean', value: value.toLowerCase() === 'true' };
      return fail(scimType, `"${name}" is boolean: compare it with true or false.`);
    case 'dateTime': {
      if (substring) fail(scimType, `"${op}" is not defined for the dateTime attribute "${name}"; use eq, ne, gt, ge, lt or le.`);
      const ms = typeof value === 'string' ? parseFilterDateTime(value) : undefined;
      if (ms === undefined)
        fail(scimType, `"${name}" is a dateTime: compare it with a quoted RFC 3339 date-time such as "2024-05-01T00:00:00Z" (got ${JSON.stringify(value)}).`);
      return { type: 'dateTime', ms };
    }
    case 'decimal':
    case 'integer':
      if (substring) fail(scimType, `"${op}" is not defined for the numeric attribute "${name}".`);
      if (typeof value !== 'number') fail(scimType, `"${name}" is numeric: compare it with a number.`);
      return { type: 'number', value };
    default:
      if (typeof value !== 'string') fail(scimType, `"${name}" is a string attribute: compare it with a quoted string (got ${JSON.stringify(value)}).`);
      return { type: 'string', value };
  }
}

// --- evaluation ------------------------------------------------------------------------

type Json = unknown;

const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The values a path names under `root`: missing and null values are skipped, multi steps
 * flatten arrays (a lone value where an array belongs counts as a one-element array).
 */
function valuesAt(root: Json, steps: Step[]): Json[] {
  let current: Json[] = [root];
  for (const step of steps) {
    const next: Json[] = [];
    for (const c of current) {
      const v = isObject(c) && Object.prototype.hasOwnProperty.call(c, step.key) ? c[step.key] : undefined;
      if (v === undefined || v === null) continue;
      if (step.multi && Array.isArray(v)) next.push(...v.filter((item) => item !== null && item !== undefined));
      else next.push(v);
    }
    current = next;
  }
  return current;
}

/** RFC 7644 §3.4.2.2 `pr`: a non-empty value, or a complex/multi value with a non-empty node. */
function isPresent(v: Json): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'string') return v !== '';
  if (Array.isArray(v)) return v.some(isPresent);
  if (typeof v === 'object') return Object.values(v).some(isPresent);
  return true;
}

/** Code point order, as PostgreSQL's COLLATE "C" (byte order of UTF-8). */
function compareCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function ordered(c: number, op: BoundOp): boolean {
  switch (op) {
    case 'eq':
      return c === 0;
    case 'gt':
      return c > 0;
    case 'lt':
      return c < 0;
    case 'ge':
      return c >= 0;
    case 'le':
      return c <= 0;
    default:
      return false;
  }
}

function compareValue(target: Target, op: BoundOp, bound: BoundValue, actual: Json): boolean {
  switch (bound.type) {
    case 'boolean':
      return typeof actual === 'boolean' && actual === bound.value;
    case 'number':
      return typeof actual === 'number' && ordered(actual === bound.value ? 0 : actual > bound.value ? 1 : -1, op);
    case 'dateTime': {
      const ms = typeof actual === 'string' ? parseStoredDateTime(actual) : undefined;
      return ms !== undefined && ordered(Math.sign(ms - bound.ms), op);
    }
    case 'string': {
      if (typeof actual !== 'string') return false;
      const a = target.caseExact ? actual : actual.toLowerCase();
      const b = target.caseExact ? bound.value : bound.value.toLowerCase();
      if (op === 'co') return a.includes(b);
      if (op === 'sw') return a.startsWith(b);
      if (op === 'ew') return a.endsWith(b);
      return ordered(op === 'eq' ? (a === b ? 0 : 1) : compareCodePoints(a, b), op);
    }
  }
}

/** The values in force in a user's ledger, by extension attribute (what SQL reads from app_user_settings). */
export type LedgerValues = Partial<Record<LedgerAttribute, readonly string[]>>;

/** The values `target` names: the document's, and for a ledger-backed list the ledger's too. */
function targetValues(target: Target, root: Json, ledger: LedgerValues | undefined): Json[] {
  const values = valuesAt(root, target.steps);
  if (target.storage.kind !== 'docOrLedger' || !ledger) return values;
  return [...values, ...(ledger[target.storage.attribute] ?? [])];
}

/** Evaluates a bound filter against a resource (or, for the inside of [ ], an element). */
function evaluateBound(node: BoundNode, root: Json, ledger?: LedgerValues): boolean {
  switch (node.type) {
    case 'and':
      return node.items.every((n) => evaluateBound(n, root, ledger));
    case 'or':
      return node.items.some((n) => evaluateBound(n, root, ledger));
    case 'not':
      return !evaluateBound(node.expr, root, ledger);
    case 'present':
      return targetValues(node.target, root, ledger).some(isPresent);
    case 'compare':
      return targetValues(node.target, root, ledger).some((v) => compareValue(node.target, node.op, node.value, v));
    case 'valuePath':
      return valuesAt(root, node.target.steps).some((element) => evaluateBound(node.filter, element));
  }
}

function inferKind(resource: Record<string, unknown>): ResourceKind {
  const schemas = Array.isArray(resource.schemas) ? resource.schemas : [];
  const meta = isObject(resource.meta) ? resource.meta : {};
  const group = schemas.some((s) => typeof s === 'string' && sameName(s, 'urn:ietf:params:scim:schemas:core:2.0:Group')) || meta.resourceType === 'Group';
  return group ? 'Group' : 'User';
}

export interface EvaluateOptions {
  /** Defaults to the resource's `schemas` / `meta.resourceType`, else User. */
  kind?: ResourceKind;
  /** The filter is the inside of `within[...]` and `resource` is one element of that attribute (PATCH paths). */
  within?: AttrPath;
  /**
   * The user's ledger values (app_user_settings): a filter on employeeAreas, teams, facilities or
   * biGroups matches them as SQL does. Without it only the document's values count.
   */
  ledger?: LedgerValues;
}

/**
 * In-memory evaluation with the semantics of filterToSql. `resource` is the SCIM JSON as
 * returned to clients (id, meta.created, extension URN keys), or, with `within`, one element.
 * Throws the same ScimError 400 as filterToSql for a filter the schema rejects.
 */
export function evaluateFilter(node: FilterNode, resource: Record<string, unknown>, options: EvaluateOptions = {}): boolean {
  return compileFilter(node, options.kind ?? (options.within ? 'User' : inferKind(resource)), options.within)(resource, options.ledger);
}

/** Binds once, evaluates many times (a PATCH value filter over every element of an attribute). */
export function compileFilter(
  node: FilterNode,
  kind: ResourceKind,
  within?: AttrPath,
  scimType: ErrorType = 'invalidFilter',
): (resource: Record<string, unknown>, ledger?: LedgerValues) => boolean {
  const bound = bindFilter(node, kind, within, scimType);
  return (resource, ledger) => evaluateBound(bound, resource, ledger);
}
