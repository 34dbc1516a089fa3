/**
 * The entitlement endpoints' use cases (/Roles, /Licenses): read the tenant's catalogue
 * (domain/entitlement-catalogue.ts) and list, filter, sort and page it in memory. A catalogue
 * holds tens of entries, so there is no SQL and no cursor: index paging (RFC 7644 §3.4.2.4) over
 * a fixed order (the configuration's) is exact.
 *
 * Filters (RFC 7644 §3.4.2.2) on id, displayName, type and description, optionally written with
 * the schema URN: eq, ne, co, sw, ew, gt, lt, ge, le, pr, and, or, not; id compares exactly
 * (caseExact), the others ignoring case. Anything else is 400 invalidFilter naming it.
 */
import { currentConfig } from '../../common/repositories/tenants';
import { entitlementCatalogue } from '../../domain/entitlement-catalogue';
import { ScimError } from '../../scim/error';
import { type AttrPath, type FilterNode, formatAttrPath, parseAttrPath, parseFilter } from '../../scim/filter/parser';
import type { ScimContext } from '../context';
import { LIMITS } from '../limits';
import { project, type ScimResource } from '../render';
import { renderEntitlement, type EntitlementType } from './resource-types';

type Json = Record<string, unknown>;
type Raw = Record<string, unknown>;

/** Attributes a filter or sortBy may name, and whether they compare exactly (RFC 7643 §2.1 caseExact). */
const ATTRIBUTES: Record<string, { caseExact: boolean }> = {
  id: { caseExact: true },
  displayName: { caseExact: false },
  type: { caseExact: false },
  description: { caseExact: false },
};

export interface EntitlementListRequest {
  filter?: FilterNode;
  sortBy?: string;
  descending: boolean;
  startIndex: number;
  count: number;
  attributes?: string[];
  excludedAttributes?: string[];
}

function single(raw: unknown, name: string): string | undefined {
  if (raw === undefined) return undefined;
  if (Array.isArray(raw)) throw ScimError.badRequest('invalidValue', `"${name}" may be given once.`);
  if (typeof raw !== 'string' && typeof raw !== 'number') throw ScimError.badRequest('invalidValue', `"${name}" must be a string.`);
  return String(raw);
}

function integer(raw: unknown, name: string): number | undefined {
  const text = single(raw, name);
  if (text === undefined || text.trim() === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n)) throw ScimError.badRequest('invalidValue', `"${name}" must be an integer (got ${JSON.stringify(raw)}).`);
  return n;
}

function csv(raw: unknown): string[] | undefined {
  if (raw === undefined) return undefined;
  const list = (Array.isArray(raw) ? raw : String(raw).split(',')).map((s) => String(s).trim()).filter(Boolean);
  return list.length > 0 ? list : undefined;
}

/** The attribute a path names on `type`'s resources, or 400 `scimType` saying which ones there are. */
function attributeOf(path: AttrPath, type: EntitlementType, scimType: 'invalidFilter' | 'invalidValue'): string {
  const name = Object.keys(ATTRIBUTES).find((a) => a.toLowerCase() === path.attr.toLowerCase());
  const schemaOk = path.schema === undefined || path.schema.toLowerCase() === type.schema.toLowerCase();
  if (!name || !schemaOk || path.sub !== undefined) {
    throw ScimError.badRequest(
      scimType,
      `"${formatAttrPath(path)}" is not an attribute of ${type.name} resources; use one of: ${Object.keys(ATTRIBUTES).join(', ')}.`,
    );
  }
  return name;
}

/** A `sortBy` path; a malformed one is a bad parameter value (400 invalidValue), not a bad filter. */
function sortPath(text: string): AttrPath {
  try {
    return parseAttrPath(text, 'invalidPath');
  } catch (err) {
    throw err instanceof ScimError ? ScimError.badRequest('invalidValue', `"sortBy": ${err.detail}`) : err;
  }
}

/** `raw` is the query string (GET) or the SearchRequest body (POST /.search). */
export function parseEntitlementList(raw: Raw, type: EntitlementType): EntitlementListRequest {
  const filterText = single(raw.filter, 'filter');
  const filter = filterText !== undefined && filterText.trim() !== '' ? parseFilter(filterText) : undefined;
  if (filter) checkFilter(filter, type);
  const sortByText = single(raw.sortBy, 'sortBy');
  const sortBy = sortByText !== undefined ? attributeOf(sortPath(sortByText), type, 'invalidValue') : undefined;
  const sortOrder = single(raw.sortOrder, 'sortOrder');
  if (sortOrder !== undefined && !/^(ascending|descending)$/i.test(sortOrder)) {
    throw ScimError.badRequest('invalidValue', '"sortOrder" must be "ascending" or "descending".');
  }
  // A catalogue is one short page: cursors (RFC 9865) would add nothing, so only index paging is offered here.
  if (raw.cursor !== undefined) {
    throw ScimError.badRequest('invalidValue', `${type.endpoint} pages by "startIndex" and "count" only (it holds a few dozen entries); drop "cursor".`);
  }
  // RFC 7644 §3.4.2.4: startIndex below 1 is read as 1; a negative count as 0; above the maximum, the maximum.
  const startIndex = Math.max(1, integer(raw.startIndex, 'startIndex') ?? 1);
  const count = Math.min(LIMITS.pageSize, Math.max(0, integer(raw.count, 'count') ?? 100));
  return {
    filter,
    sortBy,
    descending: /^descending$/i.test(sortOrder ?? ''),
    startIndex,
    count,
    attributes: csv(raw.attributes),
    excludedAttributes: csv(raw.excludedAttributes),
  };
}

/** Rejects, before anything is read, a filter that names what these resources do not have. */
function checkFilter(node: FilterNode, type: EntitlementType): void {
  if (node.type === 'and' || node.type === 'or') {
    checkFilter(node.left, type);
    checkFilter(node.right, type);
  } else if (node.type === 'not') checkFilter(node.expr, type);
  else if (node.type === 'valuePath') {
    throw ScimError.badRequest('invalidFilter', `"${formatAttrPath(node.path)}[…]": ${type.name} resources have no multi-valued attributes to filter inside.`);
  } else attributeOf(node.path, type, 'invalidFilter');
}

/** RFC 7644 §3.4.2.2 on one resource's string attributes (all single-valued). */
function matches(node: FilterNode, resource: Json, type: EntitlementType): boolean {
  switch (node.type) {
    case 'and':
      return matches(node.left, resource, type) && matches(node.right, resource, type);
    case 'or':
      return matches(node.left, resource, type) || matches(node.right, resource, type);
    case 'not':
      return !matches(node.expr, resource, type);
    case 'valuePath':
      return false; // refused by checkFilter
    case 'present': {
      const v = resource[attributeOf(node.path, type, 'invalidFilter')];
      return typeof v === 'string' && v !== '';
    }
    case 'compare': {
      const name = attributeOf(node.path, type, 'invalidFilter');
      const actual = resource[name];
      // `eq null` is "not present", `ne null` "present" (RFC 7644 §3.4.2.2).
      if (node.value === null) {
        const present = typeof actual === 'string' && actual !== '';
        return node.op === 'eq' ? !present : node.op === 'ne' ? present : false;
      }
      if (typeof node.value !== 'string') return node.op === 'ne';
      if (typeof actual !== 'string') return node.op === 'ne';
      const fold = (s: string) => (ATTRIBUTES[name].caseExact ? s : s.toLowerCase());
      const a = fold(actual);
      const b = fold(node.value);
      switch (node.op) {
        case 'eq':
          return a === b;
        case 'ne':
          return a !== b;
        case 'co':
          return a.includes(b);
        case 'sw':
          return a.startsWith(b);
        case 'ew':
          return a.endsWith(b);
        case 'gt':
          return a > b;
        case 'lt':
          return a < b;
        case 'ge':
          return a >= b;
        case 'le':
          return a <= b;
      }
    }
  }
}

/** The tenant's resources of `type`, rendered, in the catalogue's order. */
async function resourcesOf(ctx: ScimContext, type: EntitlementType): Promise<(Json & { id: string })[]> {
  const { config } = await currentConfig(ctx.db, ctx.tenantId);
  return type.entries(entitlementCatalogue(config)).map((entry) => renderEntitlement(type, entry, ctx.baseUrl));
}

export async function listEntitlements(ctx: ScimContext, type: EntitlementType, req: EntitlementListRequest): Promise<Json> {
  let resources = await resourcesOf(ctx, type);
  if (req.filter) resources = resources.filter((r) => matches(req.filter as FilterNode, r, type));
  if (req.sortBy) {
    const key = req.sortBy;
    const value = (r: Json) => (typeof r[key] === 'string' ? (ATTRIBUTES[key].caseExact ? (r[key] as string) : (r[key] as string).toLowerCase()) : '');
    // A stable sort: entries that compare equal keep the catalogue's order.
    resources = [...resources].sort((x, y) => (value(x) < value(y) ? -1 : value(x) > value(y) ? 1 : 0) * (req.descending ? -1 : 1));
  }
  const page = resources.slice(req.startIndex - 1, req.startIndex - 1 + req.count);
  return {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
    totalResults: resources.length,
    itemsPerPage: page.length,
    startIndex: req.startIndex,
    Resources: page.map((r) => project(r as ScimResource, req.attributes, req.excludedAttributes)),
  };
}

export async function getEntitlement(ctx: ScimContext, type: EntitlementType, id: string, attributes?: string[], excluded?: string[]): Promise<Json> {
  const found = (await resourcesOf(ctx, type)).find((r) => r.id === id);
  if (!found) throw ScimError.notFound(`${type.name} "${id.slice(0, 100)}" not found: GET ${type.endpoint} lists this tenant's.`);
  return project(found as ScimResource, attributes, excluded);
}
