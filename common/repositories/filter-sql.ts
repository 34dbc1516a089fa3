/**
 * SCIM filters (RFC 7644 §3.4.2.2) and sortBy (§3.4.2.3) as parameterised PostgreSQL over
 * `scim_users r` / `scim_groups r` (common/db/migrations/001_scim.sql).
 *
 * Safety rules, kept throughout:
 *  - no input text is ever spliced into SQL: values AND attribute names (JSON keys) travel in
 *    `params` and are referenced as `$n`; the SQL text is built only from fixed fragments;
 *  - the expression never fails at run time, whatever the input or the stored JSON: values are
 *    validated while binding (evaluate.ts), casts of stored text are guarded, arrays are
 *    checked before jsonb_array_elements;
 *  - every sub-expression is two-valued (never NULL), so `not` means what evaluate.ts means.
 *
 * The semantics are those of evaluate.ts (see its header); this module only translates.
 */
import { ScimError } from '../../scim/error';
import { isUuid } from '../../domain/uuid';
import { type FilterNode, parseAttrPath } from '../../scim/filter/parser';
import {
  type BoundNode,
  type BoundOp,
  type ColumnName,
  type RelationName,
  type ResourceKind,
  type Step,
  type Target,
  RELATION_SUB_ATTRIBUTES,
  STORED_LOCAL_DATETIME_RE,
  STORED_ZONED_DATETIME_RE,
  bindFilter,
  resolveAttribute,
} from '../../scim/filter/evaluate';

export type { ResourceKind } from '../../scim/filter/evaluate';

interface ColumnSpec {
  sql: string;
  type: 'text' | 'uuid' | 'boolean' | 'timestamp';
  nullable: boolean;
}

const COLUMNS: Record<ColumnName, ColumnSpec> = {
  id: { sql: 'r.id', type: 'uuid', nullable: false },
  userName: { sql: 'r.user_name', type: 'text', nullable: false },
  externalId: { sql: 'r.external_id', type: 'text', nullable: true },
  displayName: { sql: 'r.display_name', type: 'text', nullable: true },
  active: { sql: 'r.active', type: 'boolean', nullable: false },
  created: { sql: 'r.created_at', type: 'timestamp', nullable: false },
  lastModified: { sql: 'r.updated_at', type: 'timestamp', nullable: false },
};

interface RelationSpec {
  /** `FROM` item and the condition tying its rows to `r` (tenant first: never another tenant's rows). */
  from: string;
  join: string;
  columns: Record<string, ColumnSpec>;
}

const RELATIONS: Record<RelationName, RelationSpec> = {
  members: {
    from: 'scim_group_members m',
    join: 'm.tenant_id = r.tenant_id AND m.group_id = r.id',
    columns: { value: { sql: 'm.member_id', type: 'uuid', nullable: false }, type: { sql: 'm.member_type', type: 'text', nullable: false } },
  },
  groups: {
    from: 'scim_group_members m',
    join: 'm.tenant_id = r.tenant_id AND m.member_id = r.id',
    columns: { value: { sql: 'm.group_id', type: 'uuid', nullable: false } },
  },
  provisioning: {
    from: 'provisioning_states p',
    join: 'p.tenant_id = r.tenant_id AND p.user_id = r.id',
    columns: {
      state: { sql: 'p.state', type: 'text', nullable: false },
      waitingFor: { sql: 'p.waiting_for', type: 'text', nullable: true },
      waitingUntil: { sql: 'p.waiting_until', type: 'timestamp', nullable: true },
      lastError: { sql: 'p.last_error', type: 'text', nullable: true },
      workflowId: { sql: 'p.workflow_id', type: 'text', nullable: false },
    },
  },
};
// Every sub-attribute the binder lets through has a column.
for (const [name, subs] of Object.entries(RELATION_SUB_ATTRIBUTES)) {
  for (const sub of subs) if (!RELATIONS[name as RelationName].columns[sub]) throw new Error(`filter-sql: no column for ${name}.${sub}`);
}

/**
 * A value of a user's ledger setting (app_user_settings, migration 002): employeeAreas, teams,
 * facilities and biGroups of the scimflow extension match these too (evaluate.ts LEDGER_SETTINGS).
 * `lower(ls.value) = lower($n)` uses app_user_settings_value (migration 022).
 */
const LEDGER_VALUE: ColumnSpec = { sql: 'ls.value', type: 'text', nullable: false };

/** `pr` on JSON (RFC 7644 §3.4.2.2): some scalar inside that is not null and not "". */
const PRESENT_JSONPATH = `'strict $.** ? ((@.type() == "string" && @ != "") || @.type() == "number" || @.type() == "boolean")'`;
const SQL_OP: Record<'eq' | 'gt' | 'lt' | 'ge' | 'le', string> = { eq: '=', gt: '>', lt: '<', ge: '>=', le: '<=' };

/** Escapes LIKE's wildcards and its escape character, for `LIKE ... ESCAPE '\'`. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

type Ctx =
  | { kind: 'root' }
  /** inside `attr[...]` over JSON: the current element */
  | { kind: 'element'; expr: string }
  /** inside `attr[...]` over a related table: the current row */
  | { kind: 'row'; relation: RelationName };

class SqlBuilder {
  private aliases = 0;

  constructor(private readonly params: unknown[]) {}

  /** A parameter reference with an explicit type, so PostgreSQL never has to guess one. */
  param(value: unknown, type: 'text' | 'uuid' | 'boolean' | 'numeric' | 'timestamptz'): string {
    this.params.push(value);
    return `$${this.params.length}::${type}`;
  }

  compile(node: BoundNode, ctx: Ctx): string {
    switch (node.type) {
      case 'and':
      case 'or':
        return `(${node.items.map((n) => this.compile(n, ctx)).join(node.type === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        return `NOT (${this.compile(node.expr, ctx)})`;
      case 'valuePath':
        return this.valuePath(node.target, node.filter, ctx);
      default:
        return this.leaf(node, ctx);
    }
  }

  private leaf(node: Extract<BoundNode, { type: 'present' | 'compare' }>, ctx: Ctx): string {
    const { target } = node;
    const storage = target.storage;
    if (ctx.kind === 'row') {
      if (storage.kind !== 'relation' || storage.sub === undefined) throw new Error(`filter-sql: ${target.name} inside a related row`);
      return this.columnPredicate(RELATIONS[storage.relation].columns[storage.sub], target, node);
    }
    if (ctx.kind === 'element' || storage.kind === 'doc') {
      return this.walk(ctx.kind === 'element' ? ctx.expr : 'r.doc', target.steps, (x) => this.jsonPredicate(x, target, node));
    }
    if (storage.kind === 'docOrLedger') {
      // The values the document sends, or those in force in the ledger (rule-given ones too).
      const inDoc = this.walk('r.doc', target.steps, (x) => this.jsonPredicate(x, target, node));
      const kind = this.param(storage.setting, 'text');
      const inLedger = this.columnPredicate(LEDGER_VALUE, target, node);
      return `(${inDoc} OR EXISTS (SELECT 1 FROM app_user_settings ls WHERE ls.tenant_id = r.tenant_id AND ls.user_id = r.id AND ls.kind = ${kind} AND ${inLedger}))`;
    }
    switch (storage.kind) {
      case 'column':
        return this.columnPredicate(COLUMNS[storage.column], target, node);
      case 'emailValues':
        return this.emailPredicate(target, node);
      case 'relation': {
        const rel = RELATIONS[storage.relation];
        const inner =
          storage.sub !== undefined
            ? this.columnPredicate(rel.columns[storage.sub], target, node)
            : // the attribute as a whole: `pr` (the binder rejects comparisons on a complex attribute)
              Object.values(rel.columns)
                .map((c) => this.columnPresent(c))
                .join(' OR ');
        return `EXISTS (SELECT 1 FROM ${rel.from} WHERE ${rel.join} AND (${inner}))`;
      }
    }
  }

  /** `attr[filter]`: one element (or related row) satisfies the whole filter. */
  private valuePath(target: Target, filter: BoundNode, ctx: Ctx): string {
    if (target.storage.kind === 'relation' && ctx.kind === 'root') {
      const rel = RELATIONS[target.storage.relation];
      return `EXISTS (SELECT 1 FROM ${rel.from} WHERE ${rel.join} AND (${this.compile(filter, { kind: 'row', relation: target.storage.relation })}))`;
    }
    // emails[value eq "x" ...]: the GIN index on email_values narrows the rows first.
    const emailEq = target.name === 'emails' ? emailEquality(filter) : undefined;
    const prefilter = emailEq !== undefined ? `r.email_values @> ARRAY[lower(${this.param(emailEq, 'text')})]::text[] AND ` : '';
    const exists = this.walk(
      'r.doc',
      target.steps,
      (x) => `(COALESCE(jsonb_typeof(${x}) <> 'null', FALSE) AND ${this.compile(filter, { kind: 'element', expr: x })})`,
    );
    return prefilter ? `(${prefilter}${exists})` : exists;
  }

  /**
   * Follows `steps` from the jsonb expression `base`, each key a parameter; a multi-valued
   * step becomes EXISTS over its elements, so `pred` sees one value at a time.
   */
  private walk(base: string, steps: Step[], pred: (jsonb: string) => string): string {
    let expr = base;
    for (const [i, step] of steps.entries()) {
      expr = `${expr} -> ${this.param(step.key, 'text')}`;
      if (step.multi) {
        const alias = `e${++this.aliases}`;
        return `EXISTS (SELECT 1 FROM jsonb_array_elements(${asArray(expr)}) AS ${alias}(v) WHERE ${this.walk(`${alias}.v`, steps.slice(i + 1), pred)})`;
      }
    }
    return pred(expr);
  }

  private jsonPredicate(x: string, target: Target, node: Extract<BoundNode, { type: 'present' | 'compare' }>): string {
    if (node.type === 'present') return `COALESCE(jsonb_path_exists(${x}, ${PRESENT_JSONPATH}), FALSE)`;
    const { op, value } = node;
    switch (value.type) {
      case 'string':
        return `COALESCE(jsonb_typeof(${x}) = 'string' AND ${this.stringPredicate(`(${x} #>> '{}')`, target.caseExact, op, value.value)}, FALSE)`;
      case 'boolean':
        return `COALESCE(${x} = to_jsonb(${this.param(value.value, 'boolean')}), FALSE)`;
      case 'number':
        return `COALESCE(CASE WHEN jsonb_typeof(${x}) = 'number' THEN (${x})::numeric END ${sqlOp(op)} ${this.param(value.value, 'numeric')}, FALSE)`;
      case 'dateTime':
        // Stored JSON dates compare at the millisecond precision evaluate.ts reads them with.
        return `COALESCE(date_trunc('milliseconds', ${jsonTimestamp(x)}) ${sqlOp(op)} ${this.param(new Date(value.ms).toISOString(), 'timestamptz')}, FALSE)`;
    }
  }

  /** `text` must not be NULL (callers guard); the result is then never NULL. */
  private stringPredicate(text: string, caseExact: boolean, op: BoundOp, value: string): string {
    const fold = (sql: string) => (caseExact ? sql : `lower(${sql})`);
    if (op === 'co' || op === 'sw' || op === 'ew') {
      const pattern = `${op === 'sw' ? '' : '%'}${escapeLike(value)}${op === 'ew' ? '' : '%'}`;
      return `${fold(text)} LIKE ${fold(this.param(pattern, 'text'))} ESCAPE '\\'`;
    }
    // Code point order (COLLATE "C"), the same on every server and in evaluate.ts.
    if (op !== 'eq') return `${fold(text)} COLLATE "C" ${sqlOp(op)} ${fold(this.param(value, 'text'))}`;
    return `${fold(text)} = ${fold(this.param(value, 'text'))}`;
  }

  private columnPresent(col: ColumnSpec): string {
    if (col.type === 'text') return col.nullable ? `(${col.sql} IS NOT NULL AND ${col.sql} <> '')` : `${col.sql} <> ''`;
    return col.nullable ? `${col.sql} IS NOT NULL` : 'TRUE';
  }

  private columnPredicate(col: ColumnSpec, target: Target, node: Extract<BoundNode, { type: 'present' | 'compare' }>): string {
    if (node.type === 'present') return this.columnPresent(col);
    const { op, value } = node;
    const c = col.sql;
    let pred: string;
    if (col.type === 'timestamp' && value.type === 'dateTime') {
      // Columns hold microseconds, resources show milliseconds: compare the truncated value,
      // written as ranges so the (tenant_id, created_at) indexes still apply.
      // (The next millisecond is added in SQL: 9999-12-31T23:59:59.999 + 1ms has no 4-digit ISO form.)
      const from = this.param(new Date(value.ms).toISOString(), 'timestamptz');
      const to = `(${from} + interval '1 millisecond')`;
      const ranges: Record<string, string> = {
        eq: `(${c} >= ${from} AND ${c} < ${to})`,
        gt: `${c} >= ${to}`,
        ge: `${c} >= ${from}`,
        lt: `${c} < ${from}`,
        le: `${c} < ${to}`,
      };
      pred = ranges[op];
    } else if (col.type === 'boolean' && value.type === 'boolean') {
      pred = `${c} = ${this.param(value.value, 'boolean')}`;
    } else if (col.type === 'uuid' && value.type === 'string') {
      // eq on the uuid itself uses the primary key / member index; a non-uuid matches nothing.
      if (op === 'eq') pred = isUuid(value.value) ? `${c} = ${this.param(value.value, 'uuid')}` : 'FALSE';
      else pred = this.stringPredicate(`${c}::text`, false, op, value.value);
    } else if (col.type === 'text' && value.type === 'string') {
      // userName/displayName eq becomes lower(col) = lower($n): the lower() indexes apply.
      pred = this.stringPredicate(c, target.caseExact, op, value.value);
    } else {
      throw new Error(`filter-sql: ${value.type} value for ${col.type} column ${c}`);
    }
    return col.nullable ? `(${c} IS NOT NULL AND ${pred})` : pred;
  }

  private emailPredicate(target: Target, node: Extract<BoundNode, { type: 'present' | 'compare' }>): string {
    const each = (cond: string) => `EXISTS (SELECT 1 FROM unnest(r.email_values) AS ev(v) WHERE ${cond})`;
    if (node.type === 'present') return each(`ev.v <> ''`);
    if (node.value.type !== 'string') throw new Error('filter-sql: emails.value is a string');
    // email_values holds lower-cased values, so `@>` with lower($n) is the GIN-indexed eq.
    if (node.op === 'eq') return `r.email_values @> ARRAY[lower(${this.param(node.value.value, 'text')})]::text[]`;
    return each(this.stringPredicate('ev.v', target.caseExact, node.op, node.value.value));
  }
}

function sqlOp(op: BoundOp): string {
  if (op === 'co' || op === 'sw' || op === 'ew') throw new Error(`filter-sql: ${op} is not an ordering`);
  return SQL_OP[op];
}

/** A jsonb value as an array: itself if one, a lone value wrapped, missing/null as []. */
function asArray(x: string): string {
  return `CASE WHEN jsonb_typeof(${x}) = 'array' THEN ${x} WHEN jsonb_typeof(${x}) IN ('object', 'string', 'number', 'boolean') THEN jsonb_build_array(${x}) ELSE '[]'::jsonb END`;
}

/**
 * A stored JSON date-time string as timestamptz, or NULL: only the shapes evaluate.ts reads
 * (same patterns) are cast, through try_timestamptz / try_timestamp_utc (migration 003), which
 * answer NULL for a value PostgreSQL cannot read, so a bad stored value never raises.
 * Zoneless values are UTC, as in evaluate.ts.
 */
function jsonTimestamp(x: string): string {
  const t = `(${x} #>> '{}')`;
  return (
    `CASE WHEN jsonb_typeof(${x}) <> 'string' THEN NULL` +
    ` WHEN ${t} ~ '${STORED_ZONED_DATETIME_RE}' THEN try_timestamptz(${t})` +
    ` WHEN ${t} ~ '${STORED_LOCAL_DATETIME_RE}' THEN try_timestamp_utc(${t}) END`
  );
}

/** The string of a top-level `value eq "x"` conjunct inside emails[...], if any. */
function emailEquality(filter: BoundNode): string | undefined {
  const items = filter.type === 'and' ? filter.items : [filter];
  for (const n of items) {
    if (n.type === 'compare' && n.op === 'eq' && n.target.name === 'emails.value' && n.value.type === 'string') return n.value.value;
  }
  return undefined;
}

/**
 * A boolean SQL expression over `r` for `node`, values appended to `params` (referenced as
 * $n, so callers may pre-fill params, e.g. the tenant as $1). Throws ScimError 400
 * invalidFilter when the filter does not fit the schema of `kind`.
 */
export function filterToSql(node: FilterNode, kind: ResourceKind, params: unknown[]): string {
  return new SqlBuilder(params).compile(bindFilter(node, kind), { kind: 'root' });
}

/**
 * An ORDER BY expression (without direction) for `sortBy` (RFC 7644 §3.4.2.3). Multi-valued
 * attributes sort by their primary value, else the first one; missing values are NULL, which
 * PostgreSQL puts last ascending and first descending, as §3.4.2.3 asks.
 */
export function sortToSql(sortBy: string, kind: ResourceKind, params: unknown[]): string {
  const path = parseAttrPath(sortBy, 'invalidPath');
  let target: Target;
  try {
    target = resolveAttribute(path, kind, 'invalidPath');
  } catch (err) {
    // The resolver speaks of filters; here the client asked to sort.
    if (err instanceof ScimError && !/^Unknown/.test(err.detail)) {
      throw new ScimError(400, 'invalidPath', `Cannot sort by "${sortBy}": it is not a value the server can order ${kind} resources by.`);
    }
    throw err;
  }
  const unsupported = (why: string): never => {
    throw new ScimError(400, 'invalidPath', `Cannot sort by "${target.name}": ${why}.`);
  };
  const storage = target.storage;
  if (storage.kind === 'column') {
    const col = COLUMNS[storage.column];
    // lower() on the case-insensitive ones matches the lower(user_name)/lower(display_name) indexes.
    return col.type === 'text' && !target.caseExact ? `lower(${col.sql})` : col.sql;
  }
  if (storage.kind === 'relation') {
    // One provisioning row per user: its columns sort like the resource's own.
    const sub = storage.relation === 'provisioning' ? storage.sub : undefined;
    if (sub === undefined)
      return unsupported('it names several values kept apart from the resource (sort by one of its sub-attributes, or filter on it instead)');
    const rel = RELATIONS.provisioning;
    const col = rel.columns[sub];
    const value = col.type === 'text' && !target.caseExact ? `lower(${col.sql})` : col.sql;
    return `(SELECT ${value} FROM ${rel.from} WHERE ${rel.join})`;
  }

  const b = new SqlBuilder(params);
  let steps = target.steps;
  let type = target.type;
  let caseExact = target.caseExact;
  if (type === 'complex') {
    // `emails` means emails.value (RFC 7644 §3.4.2.3 sorts a multi-valued attribute by its value).
    const valueSub = target.def.subAttributes?.find((s) => s.name === 'value');
    if (!steps[steps.length - 1].multi || !valueSub) return unsupported('name one of its sub-attributes');
    steps = [...steps, { key: valueSub.name, multi: false }];
    type = valueSub.type as typeof type;
    caseExact = !!valueSub.config.caseExact;
  }
  const multi = steps.flatMap((s, i) => (s.multi ? [i] : []));
  if (multi.length > 1) unsupported('it is nested in another multi-valued attribute');
  const chain = (base: string, from: Step[]) => from.reduce((expr, s) => `${expr} -> ${b.param(s.key, 'text')}`, base);
  const scalar = (x: string): string => {
    switch (type) {
      case 'boolean':
        return `CASE WHEN jsonb_typeof(${x}) = 'boolean' THEN (${x})::boolean END`;
      case 'decimal':
      case 'integer':
        return `CASE WHEN jsonb_typeof(${x}) = 'number' THEN (${x})::numeric END`;
      case 'dateTime':
        return jsonTimestamp(x);
      default: {
        const text = `CASE WHEN jsonb_typeof(${x}) = 'string' THEN ${x} #>> '{}' END`;
        return caseExact ? `(${text})` : `lower(${text})`;
      }
    }
  };
  if (multi.length === 0) return scalar(chain('r.doc', steps));
  const at = multi[0];
  const list = chain('r.doc', steps.slice(0, at + 1));
  const value = scalar(chain('s.v', steps.slice(at + 1)));
  return `(SELECT ${value} FROM jsonb_array_elements(${asArray(list)}) WITH ORDINALITY AS s(v, i) WHERE ${value} IS NOT NULL ORDER BY (s.v -> 'primary' = 'true'::jsonb) IS TRUE DESC, s.i LIMIT 1)`;
}
