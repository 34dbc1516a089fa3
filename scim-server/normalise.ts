/**
 * The one layer for identity-provider quirks, applied before scimmy validates anything.
 * Each rule names the IdP behaviour behind it.
 */
import { ENTERPRISE_USER_URN } from '../domain/desired-user';
import { checkPatchOperationCount } from './limits';
import { UserSchema } from '../scim/schemas';
import { ScimError } from '../scim/error';

type Json = Record<string, unknown>;
type AttributeDef = { type: string; config: { multiValued?: boolean }; subAttributes?: AttributeDef[]; name: string };

function attributeAt(path: string): AttributeDef | undefined {
  try {
    return (UserSchema.definition as unknown as { attribute(p: string): AttributeDef }).attribute(path);
  } catch {
    return undefined;
  }
}

/** Entra ID sends booleans as the strings "True"/"False"; RFC 7643 §2.3.2 wants JSON booleans. */
function coerceBoolean(value: unknown): unknown {
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  return value;
}

function coerceByDefinition(value: unknown, def: AttributeDef | undefined): unknown {
  // A schema URN resolves to the extension's definition, which has no `config`: nothing to coerce
  // (a non-object extension value such as `"urn:…:enterprise:2.0:User": "x"` used to crash here with a 500).
  if (!def?.config) return value;
  // Entra ID cannot send multi-valued custom attributes: accept "a;b;c" (e.g. Join(";", ...)) for multi-valued strings.
  if (def.config.multiValued && def.type === 'string' && typeof value === 'string') {
    return value
      .split(';')
      .map((v) => v.trim())
      .filter(Boolean);
  }
  if (def.config.multiValued && Array.isArray(value)) {
    const element = { ...def, config: { ...def.config, multiValued: false } }; // once per list: 100,000 values cost 0.7 s when made per value
    return value.map((v) => coerceByDefinition(v, element));
  }
  if (def.type === 'boolean') return coerceBoolean(value);
  if (def.type === 'complex' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const out: Json = {};
    for (const [k, v] of Object.entries(value as Json)) {
      const sub = def.subAttributes?.find((s) => s.name.toLowerCase() === k.toLowerCase());
      out[k] = coerceByDefinition(v, sub);
    }
    return out;
  }
  return value;
}

/** Entra ID (and Okta expressions) send the enterprise manager as a plain id string; RFC 7643 §4.3 wants `{ value }`. */
function normaliseManager(ent: Json): void {
  const key = Object.keys(ent).find((k) => k.toLowerCase() === 'manager');
  if (!key) return;
  const m = ent[key];
  if (typeof m === 'string') {
    if (m.trim() === '') delete ent[key];
    else ent[key] = { value: m };
  } else if (m === null) delete ent[key];
}

/** Normalises a User body of POST/PUT (or a no-path PATCH value). */
export function normaliseUserBody(body: unknown): Json {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw ScimError.badRequest('invalidSyntax', 'The request body must be a JSON object (a SCIM User resource).');
  }
  const out: Json = {};
  for (const [key, value] of Object.entries(body as Json)) {
    // Passwords are not ours to keep: the application authenticates through its own login.
    if (key.toLowerCase() === 'password') continue;
    if (key.startsWith('urn:') && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const ext: Json = {};
      for (const [k, v] of Object.entries(value as Json)) ext[k] = coerceByDefinition(v, attributeAt(`${key}:${k}`));
      if (key.toLowerCase() === ENTERPRISE_USER_URN.toLowerCase()) normaliseManager(ext);
      out[key] = ext;
    } else {
      out[key] = coerceByDefinition(value, attributeAt(key));
    }
  }
  return out;
}

export interface PatchOperation {
  op: 'add' | 'remove' | 'replace';
  path?: string;
  value?: unknown;
}

/** Validates the PatchOp envelope (RFC 7644 §3.5.2) and lower-cases op names (Entra sends "Replace", "Add"). */
export function parsePatchBody(body: unknown): PatchOperation[] {
  const b = body as { schemas?: unknown; Operations?: unknown; operations?: unknown };
  if (typeof b !== 'object' || b === null) throw ScimError.badRequest('invalidSyntax', 'The request body must be a SCIM PatchOp message.');
  if (!Array.isArray(b.schemas) || !b.schemas.includes('urn:ietf:params:scim:api:messages:2.0:PatchOp')) {
    throw ScimError.badRequest('invalidSyntax', 'A PATCH body must list "urn:ietf:params:scim:api:messages:2.0:PatchOp" in "schemas".');
  }
  const ops = b.Operations ?? b.operations;
  if (!Array.isArray(ops) || ops.length === 0) throw ScimError.badRequest('invalidSyntax', 'A PATCH body needs a non-empty "Operations" array.');
  checkPatchOperationCount(ops.length);
  return ops.map((raw, i) => {
    const o = raw as Json;
    const op = typeof o?.op === 'string' ? o.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'remove' && op !== 'replace') {
      throw ScimError.badRequest('invalidSyntax', `Operation ${i + 1}: "op" must be add, remove or replace (got ${JSON.stringify(o?.op)}).`);
    }
    if (o.path !== undefined && typeof o.path !== 'string') throw ScimError.badRequest('invalidPath', `Operation ${i + 1}: "path" must be a string.`);
    if (op === 'remove' && !o.path && o.value === undefined) throw ScimError.badRequest('noTarget', `Operation ${i + 1}: "remove" needs a "path".`);
    if (op !== 'remove' && o.value === undefined) throw ScimError.badRequest('invalidValue', `Operation ${i + 1}: "${op}" needs a "value".`);
    return { op, ...(o.path ? { path: o.path as string } : {}), ...(o.value !== undefined ? { value: o.value } : {}) };
  });
}

/**
 * Type-aware coercion of a User PATCH operation's value (booleans as strings, manager as string,
 * "" as no value). Without a path, each key of the value object is an attribute path and is
 * coerced as the value of that path; a null stays null there, as it clears the attribute.
 */
export function normaliseUserPatchValue(op: PatchOperation): PatchOperation {
  if (op.value === undefined) return op;
  if (!op.path) return { ...op, value: normaliseNoPathValue(op.value) };
  const value = normalisePathValue(op.path, op.value);
  // A manager emptied ("" or a blank id) is its removal.
  if (value === null && isManagerPath(op.path)) return { op: 'remove', path: op.path };
  return { ...op, value };
}

const CORE_USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';

const isManagerPath = (path: string) => path.toLowerCase() === `${ENTERPRISE_USER_URN.toLowerCase()}:manager`;

/** The no-path form's value (RFC 7644 §3.5.2.1/.3): an object of attribute paths, or a schema URN holding an object of its attributes. */
function normaliseNoPathValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw ScimError.badRequest('invalidSyntax', 'Without a "path", a PATCH operation\'s "value" must be a JSON object of attributes (RFC 7644 §3.5.2).');
  }
  const out: Json = {};
  for (const [key, v] of Object.entries(value as Json)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas' || lower === 'meta' || lower === 'id') out[key] = v;
    else if (lower === CORE_USER_URN.toLowerCase() && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      out[key] = Object.fromEntries(Object.entries(v as Json).map(([k, inner]) => [k, normalisePathValue(k, inner)]));
    } else out[key] = normalisePathValue(key, v);
  }
  return out;
}

/** The parent of a sub-attribute path (`name.givenName` → `name`, `urn:…:User:manager.value` → `urn:…:User:manager`), if it is one. */
function parentPath(bare: string): string | undefined {
  const tail = bare.slice(bare.lastIndexOf(':') + 1);
  const dot = tail.lastIndexOf('.');
  return dot < 0 ? undefined : bare.slice(0, bare.length - tail.length + dot);
}

/**
 * Entra clears an attribute whose source was emptied by sending "" ("Check: a PATCH to "" then
 * to null leaves the attribute empty" of its gallery validation): for a simple, single-valued
 * attribute outside a multi-valued one, "" is read as null (RFC 7643 §2.5: no value), so the
 * PATCH removes it instead of storing an empty string a GET would return. userName keeps its ""
 * (required: the answer is 400 invalidValue naming it).
 */
function emptyAsNull(value: unknown, def: AttributeDef | undefined, insideMultiValued: boolean): unknown {
  if (value !== '' || !def?.config || def.config.multiValued || def.type === 'complex' || insideMultiValued) return value;
  return def.name.toLowerCase() === 'username' ? value : null;
}

/** The value of a PATCH to `path`: coerced by the attribute's definition, "" as null, the manager as `{ value }`. */
function normalisePathValue(path: string, raw: unknown): unknown {
  const bare = path.replace(/\[.*\]/, '');
  const def = attributeAt(bare);
  // A whole extension (`urn:…:enterprise:2.0:User`): each of its attributes.
  if (!def?.config && bare.toLowerCase().startsWith('urn:') && typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    return Object.fromEntries(Object.entries(raw as Json).map(([k, v]) => [k, normalisePathValue(`${bare}:${k}`, v)]));
  }
  const parent = parentPath(bare);
  const insideMultiValued = path.includes('[') || (parent !== undefined && !!attributeAt(parent)?.config?.multiValued);
  let value = emptyAsNull(coerceByDefinition(raw, def), def, insideMultiValued);
  // A single-valued complex attribute given as an object (`name: { givenName: "" }`): the same for each sub-attribute.
  if (def?.config && def.type === 'complex' && !def.config.multiValued && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    value = Object.fromEntries(
      Object.entries(value as Json).map(([k, v]) => [
        k,
        emptyAsNull(
          v,
          def.subAttributes?.find((s) => s.name.toLowerCase() === k.toLowerCase()),
          false,
        ),
      ]),
    );
  }
  if (isManagerPath(bare)) {
    if (typeof value === 'string') value = value.trim() === '' ? null : { value };
    else if (value === undefined) value = null;
  }
  return value;
}
