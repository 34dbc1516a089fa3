/**
 * The written limits of the work one SCIM request may cause (docs/reliability.md, "Limits"),
 * advertised in /ServiceProviderConfig. Each is checked before the work it bounds, and each
 * has one answer: a 400 (413 for Bulk) whose detail names the attribute or the parameter and the
 * limit, so an IdP admin knows what to change. Nothing here is tunable per tenant: one tenant's
 * request must not be able to cost the others more than these bounds.
 */
import { SCIMFLOW_USER_URN } from '../domain/desired-user';
import { MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, MAX_FILTER_TERMS } from '../scim/filter/parser';
import type { SchemaAttribute } from '../scim/filter/evaluate';
import { UserSchema, declareSchemas, SCIMMY } from '../scim/schemas';
import { ScimError } from '../scim/error';

export const LIMITS = {
  /** Resources per list page (count). */
  pageSize: 1000,
  /**
   * How long a cursor (RFC 9865) stays good after the page that gave it (ServiceProviderConfig
   * pagination.cursorTimeout). Listing positions are renumbered only after a listing has been
   * quiet longer than this (list-compaction.ts), so a live cursor never skips or repeats.
   */
  cursorTimeoutSeconds: 600,
  /** Operations per Bulk request (413 tooMany beyond). */
  bulkOperations: 1000,
  /** Operations per PATCH request (400 tooMany beyond). */
  patchOperations: 1000,
  /** Values of one multi-valued attribute of a User (emails, phoneNumbers, addresses, roles, …). */
  multiValued: 100,
  /** Values of one multi-valued attribute of the scimflow extension (facilities, teams, organisations, …): catalogues can be long. */
  multiValuedExtension: 1000,
  /** Group members named by one request (POST/PUT members, or the member values of all PATCH operations together). */
  groupMembersPerRequest: 10_000,
  /**
   * Characters of an attribute kept in an indexed column (userName, externalId, displayName,
   * emails.value; group displayName and externalId): an index entry holds at most about 2.7 kB,
   * so a longer value failed in PostgreSQL; 512 characters is at most 2 kB of UTF-8 and far above
   * what IdPs send (Entra UPNs ≤ 113 characters, e-mail addresses ≤ 254).
   */
  indexedLength: 512,
  /** Characters of any other string (names, titles, …): a 1 MB givenName used to reach the invitation mail. */
  stringLength: 1024,
  /** Characters of a reference (profileUrl, photos.value, $ref). */
  referenceLength: 2048,
  /** Characters of a binary value (x509Certificates.value, base64). */
  binaryLength: 16_384,
  /** Filter text, nesting and comparisons (scim/filter/parser.ts). */
  filterLength: MAX_FILTER_LENGTH,
  filterDepth: MAX_FILTER_DEPTH,
  filterTerms: MAX_FILTER_TERMS,
  /** Nesting of a JSON request body. */
  jsonDepth: 32,
} as const;

type Json = Record<string, unknown>;

/** Top-level User attributes stored in indexed columns (common/repositories/scim-users.ts). */
const INDEXED = new Set(['username', 'externalid', 'displayname', 'emails.value']);

/** 400 tooMany when a PATCH carries more operations than LIMITS.patchOperations. */
export function checkPatchOperationCount(count: number): void {
  if (count > LIMITS.patchOperations) {
    throw ScimError.badRequest(
      'tooMany',
      `A PATCH request may carry at most ${LIMITS.patchOperations} operations (got ${count}); split it into several requests.`,
    );
  }
}

/** Throws 400 invalidValue when an indexed attribute is longer than LIMITS.indexedLength. */
export function checkIndexedLength(name: string, value: unknown): void {
  if (typeof value === 'string' && value.length > LIMITS.indexedLength) {
    throw ScimError.badRequest('invalidValue', `"${name}" is ${value.length} characters long; at most ${LIMITS.indexedLength} are accepted.`);
  }
}

function stringLimit(path: string, def: SchemaAttribute | undefined): number {
  if (INDEXED.has(path.toLowerCase())) return LIMITS.indexedLength;
  if (def?.type === 'binary') return LIMITS.binaryLength;
  if (def?.type === 'reference') return LIMITS.referenceLength;
  return LIMITS.stringLength;
}

/** The most values the multi-valued attribute at `path` (canonical, with its URN for extensions) may hold. */
export function multiValuedLimit(path: string): number {
  return path.toLowerCase().startsWith(SCIMFLOW_USER_URN.toLowerCase()) ? LIMITS.multiValuedExtension : LIMITS.multiValued;
}

/** 400 invalidValue naming `path` when a multi-valued attribute holds more values than its limit. */
export function checkValueCount(path: string, count: number): void {
  const limit = multiValuedLimit(path);
  if (count > limit) {
    throw ScimError.badRequest('invalidValue', `"${path}" holds ${count} values; at most ${limit} are accepted.`);
  }
}

function checkString(path: string, value: string, def: SchemaAttribute | undefined): void {
  const limit = stringLimit(path, def);
  if (value.length > limit) throw ScimError.badRequest('invalidValue', `"${path}" is ${value.length} characters long; at most ${limit} are accepted.`);
}

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Walks `value` (the attribute `path`, defined by `def` when the schema knows it) and throws the
 * first limit it exceeds. Unknown keys are walked too, as strings of the default limit: scimmy
 * rejects or drops them later, but only after reading them.
 */
function walk(path: string, value: unknown, def: SchemaAttribute | undefined, element = false): void {
  if (typeof value === 'string') return checkString(path, value, def);
  if (Array.isArray(value)) {
    if (!element) checkValueCount(path, value.length);
    for (const item of value) walk(path, item, def, true);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const sub = def?.subAttributes?.find((s) => sameName(s.name, key));
    walk(`${path}.${sub?.name ?? key}`, v, sub);
  }
}

interface SchemaDef {
  id: string;
  attributes: unknown[];
}

function userDefinition(): SchemaDef {
  declareSchemas();
  return UserSchema.definition as unknown as SchemaDef;
}

/**
 * Checks a User document (a POST or PUT body after the IdP quirks are normalised, or a document
 * after PATCH) against the value-count and string-length limits, before scimmy reads it.
 */
export function checkUserLimits(doc: Json): void {
  const definition = userDefinition();
  const top = definition.attributes.filter((a): a is SchemaAttribute => !(a instanceof SCIMMY.Types.SchemaDefinition));
  const extensions = definition.attributes.filter((a): a is SchemaDef => a instanceof SCIMMY.Types.SchemaDefinition);
  for (const [key, value] of Object.entries(doc)) {
    const ext = extensions.find((e) => sameName(e.id, key));
    if (ext && isObject(value)) {
      for (const [k, v] of Object.entries(value)) {
        const def = (ext.attributes as SchemaAttribute[]).find((a) => sameName(a.name, k));
        walk(`${ext.id}:${def?.name ?? k}`, v, def);
      }
      continue;
    }
    const def = top.find((a) => sameName(a.name, key));
    walk(def?.name ?? key, value, def);
  }
}
