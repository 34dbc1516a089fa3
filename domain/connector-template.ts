/**
 * The `http` connector's template language (docs/connectors.md): request paths and JSON bodies
 * built from the account scimflow wants the application to hold, without code.
 *
 * - `{{profile.email}}`: a named attribute of the account (ACCOUNT_ATTRIBUTES), or `appId`,
 *   `userId`, `idempotencyKey`. A string that is one placeholder and nothing else keeps the
 *   value's JSON type (`"{{organisations}}"` is a list, `"{{access.caseManager}}"` a boolean,
 *   an absent value null); inside a longer string a value is text (null: empty).
 * - `{ $each: "{{organisations}}", $item: { client: "{{item.orgKey}}" } }`: a list of
 *   `$item`, once per entry; `item` is the entry (`item.orgKey`), or the text of an entry of a
 *   list of text (`{{item}}`).
 * - In a path every value is URL-encoded.
 *
 * Every placeholder is checked when the configuration is loaded (templateProblems): a name
 * that is not an attribute, or not available in that operation (no `appId` before the account
 * exists), is a problem with its path. Pure.
 */
import { closestKey } from './strict-object';
import { SETTING_KINDS } from './roles';

const PROFILE_FIELDS = ['externalId', 'firstName', 'lastName', 'title', 'email', 'primaryPhone', 'alternatePhones', 'displayName'] as const;
const ACCESS_FIELDS = ['securityRole', 'employeeType', 'caseManager', 'allowGridExport', 'receivesDocumentation'] as const;

/** The attributes of an account (connectors/port.ts AccountState), as template names and read-back keys. */
export const ACCOUNT_ATTRIBUTES: readonly string[] = [
  'profile',
  ...PROFILE_FIELDS.map((f) => `profile.${f}`),
  'loginEnabled',
  'organisations',
  'licences',
  'providerAccounts',
  'access',
  ...ACCESS_FIELDS.map((f) => `access.${f}`),
  'access.settings',
  ...SETTING_KINDS.map((k) => `access.settings.${k}`),
];

/** The fields of an entry of each list attribute (`item.<field>`); a list of text has none (`{{item}}`). */
export const LIST_ITEM_FIELDS: Readonly<Record<string, readonly string[]>> = {
  organisations: ['orgKey', 'kind', 'role'],
  licences: ['orgKey', 'licenceLevel', 'mobileLicence'],
  providerAccounts: ['providerType', 'orgKey'],
  'profile.alternatePhones': [],
  ...Object.fromEntries(SETTING_KINDS.map((k) => [`access.settings.${k}`, []])),
};

/** Names besides the account's attributes. */
export const CALL_NAMES = ['appId', 'userId', 'idempotencyKey'] as const;

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const WHOLE = /^\{\{\s*([^{}]*?)\s*\}\}$/;

export interface TemplateProblem {
  path: (string | number)[];
  message: string;
}

/** What a template may name: `names` (flat), and inside `$item` the entry of the list being iterated. */
export interface TemplateScope {
  names: readonly string[];
  /** What the operation is called in messages ("setLogin"). */
  operation: string;
}

function placeholdersOf(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

function nameProblem(name: string, scope: TemplateScope, item: string | undefined): string | undefined {
  if (item !== undefined && (name === 'item' || name.startsWith('item.'))) {
    const fields = LIST_ITEM_FIELDS[item] ?? [];
    if (name === 'item')
      return fields.length > 0
        ? `{{item}} is an entry of ${item} (an object); name one of its fields: ${fields.map((f) => `item.${f}`).join(', ')}`
        : undefined;
    const field = name.slice(5);
    if (fields.includes(field)) return undefined;
    return fields.length === 0
      ? `{{${name}}}: an entry of ${item} is text; use {{item}}`
      : `{{${name}}} is not a field of an entry of ${item}; the fields are: ${fields.map((f) => `item.${f}`).join(', ')}`;
  }
  if (scope.names.includes(name)) return undefined;
  const known = [...ACCOUNT_ATTRIBUTES, ...CALL_NAMES];
  if (known.includes(name)) {
    if (name === 'appId') return `{{appId}} is not available in ${scope.operation}: the account has no id in the application before it is made`;
    const names = scope.names.length <= 6 ? scope.names.map((n) => `{{${n}}}`).join(', ') : "the account's attributes, {{userId}} and {{idempotencyKey}}";
    return `{{${name}}} is not available in ${scope.operation} (it has ${names})`;
  }
  const near = closestKey(name, known);
  return `unknown placeholder {{${name}}}${near ? `; did you mean {{${near}}}?` : `; use an attribute of the account (${['profile.email', 'organisations', 'access.securityRole', 'appId'].map((n) => `{{${n}}}`).join(', ')}, …: docs/connectors.md)`}`;
}

/** Every problem of a path or body template, each with its path below `at`. */
export function templateProblems(template: unknown, scope: TemplateScope, at: (string | number)[], item?: string): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const visit = (value: unknown, path: (string | number)[], inItem: string | undefined) => {
    if (typeof value === 'string') {
      if ((value.match(/\{\{/g) ?? []).length !== placeholdersOf(value).length)
        problems.push({ path, message: 'has an unclosed or malformed {{ placeholder }}' });
      for (const name of placeholdersOf(value)) {
        const problem = nameProblem(name, scope, inItem);
        if (problem) problems.push({ path, message: problem });
      }
      return;
    }
    if (Array.isArray(value)) return value.forEach((v, i) => visit(v, [...path, i], inItem));
    if (value && typeof value === 'object') {
      const obj = value as Record<string, unknown>;
      if ('$each' in obj || '$item' in obj) {
        const keys = Object.keys(obj);
        const extra = keys.filter((k) => k !== '$each' && k !== '$item');
        if (extra.length > 0) problems.push({ path, message: `a $each list has only $each and $item (not ${extra.join(', ')})` });
        if (inItem !== undefined) problems.push({ path, message: '$each inside $each is not supported' });
        const each = typeof obj.$each === 'string' ? WHOLE.exec(obj.$each)?.[1] : undefined;
        if (each === undefined) {
          problems.push({ path: [...path, '$each'], message: 'must be one placeholder naming a list, e.g. "{{organisations}}"' });
          return;
        }
        if (!(each in LIST_ITEM_FIELDS)) {
          problems.push({ path: [...path, '$each'], message: `{{${each}}} is not a list; the lists are: ${Object.keys(LIST_ITEM_FIELDS).join(', ')}` });
          return;
        }
        const problem = nameProblem(each, scope, undefined);
        if (problem) problems.push({ path: [...path, '$each'], message: problem });
        if (!('$item' in obj)) problems.push({ path, message: 'a $each list needs $item: the template of one entry' });
        else visit(obj.$item, [...path, '$item'], each);
        return;
      }
      for (const [k, v] of Object.entries(obj)) visit(v, [...path, k], inItem);
    }
  };
  visit(template, at, item);
  return problems;
}

/** Reads a dotted name from the context ("profile.email"); undefined when absent. */
function lookup(context: Record<string, unknown>, name: string): unknown {
  let value: unknown = context;
  for (const part of name.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function asText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** A body template with `context`'s values (see the module comment). */
export function renderBody(template: unknown, context: Record<string, unknown>): unknown {
  if (typeof template === 'string') {
    const whole = WHOLE.exec(template);
    if (whole) return lookup(context, whole[1]) ?? null;
    return template.replace(PLACEHOLDER, (_m, name: string) => asText(lookup(context, name)));
  }
  if (Array.isArray(template)) return template.map((t) => renderBody(t, context));
  if (template && typeof template === 'object') {
    const obj = template as Record<string, unknown>;
    if ('$each' in obj) {
      const list = renderBody(obj.$each, context);
      return (Array.isArray(list) ? list : []).map((entry) => renderBody(obj.$item, { ...context, item: entry }));
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, renderBody(v, context)]));
  }
  return template;
}

/** A path template with `context`'s values, each URL-encoded (a list's entries joined by commas). */
export function renderPath(template: string, context: Record<string, unknown>): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => {
    const value = lookup(context, name);
    return Array.isArray(value) ? value.map((v) => encodeURIComponent(asText(v))).join(',') : encodeURIComponent(asText(value));
  });
}

/** An RFC 6901 JSON pointer: "" (the whole document) or "/a/0/b". */
export function isJsonPointer(p: string): boolean {
  return p === '' || (p.startsWith('/') && !/~[^01]/.test(p) && !p.endsWith('~'));
}

/**
 * The value at `pointer`. `missing` says why there is none: `emptyList` when the first step that
 * fails is an index past the end of a list (a search that found nothing), `shape` when the
 * document lacks a key or is not a container where the pointer needs one (an unknown answer).
 */
export function resolvePointer(doc: unknown, pointer: string): { found: true; value: unknown } | { found: false; missing: 'emptyList' | 'shape'; at: string } {
  if (pointer === '') return { found: true, value: doc };
  const parts = pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let value: unknown = doc;
  let at = '';
  for (const part of parts) {
    at += `/${part}`;
    if (Array.isArray(value)) {
      const i = /^(0|[1-9]\d*)$/.test(part) ? Number(part) : NaN;
      if (Number.isNaN(i)) return { found: false, missing: 'shape', at };
      if (i >= value.length) return { found: false, missing: 'emptyList', at };
      value = value[i];
    } else if (value !== null && typeof value === 'object' && part in (value as object)) {
      value = (value as Record<string, unknown>)[part];
    } else {
      return { found: false, missing: 'shape', at };
    }
  }
  return { found: true, value };
}
