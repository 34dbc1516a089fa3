/**
 * Stored rows to SCIM resources (RFC 7643 §3.1 `meta`, ETag versions), and the
 * `attributes` / `excludedAttributes` projection of RFC 7644 §3.4.2.5.
 */
import { CORE_USER_URN, ENTERPRISE_USER_URN, SCIMFLOW_USER_URN } from '../domain/desired-user';
import type { ScimUserRow } from '../common/repositories/scim-users';
import type { GroupMember, ScimGroupRow } from '../common/repositories/scim-groups';

export const CORE_GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const EXTENSION_URNS = [ENTERPRISE_USER_URN, SCIMFLOW_USER_URN];

export type ScimResource = Record<string, unknown> & { id: string };

export function etagOf(version: number): string {
  return `W/"${version}"`;
}

export function renderUser(row: ScimUserRow, baseUrl: string): ScimResource {
  const { id: _ignoredId, meta: _ignoredMeta, schemas: _ignoredSchemas, ...doc } = row.doc as Record<string, unknown>;
  const resource: ScimResource = { schemas: [CORE_USER_URN], id: row.id, ...doc };
  if (row.provisioning) {
    const ext = { ...((resource[SCIMFLOW_USER_URN] as Record<string, unknown>) ?? {}) };
    ext.provisioning = {
      state: row.provisioning.state,
      ...(row.provisioning.waitingFor ? { waitingFor: row.provisioning.waitingFor } : {}),
      ...(row.provisioning.waitingUntil ? { waitingUntil: new Date(row.provisioning.waitingUntil).toISOString() } : {}),
      ...(row.provisioning.lastError ? { lastError: row.provisioning.lastError } : {}),
      workflowId: row.provisioning.workflowId,
    };
    resource[SCIMFLOW_USER_URN] = ext;
  }
  // Read-only (RFC 7643 §4.1.2): from the groups' memberships, never from what a client sent.
  delete resource.groups;
  if (row.groups?.length) resource.groups = row.groups.map((g) => ({ value: g.value, $ref: `${baseUrl}/Groups/${g.value}`, display: g.display, type: g.type }));
  resource.schemas = [CORE_USER_URN, ...EXTENSION_URNS.filter((urn) => resource[urn] !== undefined)];
  resource.meta = {
    resourceType: 'User',
    created: row.createdAt.toISOString(),
    lastModified: row.updatedAt.toISOString(),
    location: `${baseUrl}/Users/${row.id}`,
    version: etagOf(row.version),
  };
  return resource;
}

export function renderGroup(row: ScimGroupRow, members: GroupMember[] | undefined, baseUrl: string): ScimResource {
  return {
    schemas: [CORE_GROUP_URN],
    id: row.id,
    ...(row.externalId ? { externalId: row.externalId } : {}),
    displayName: row.displayName,
    ...(members
      ? {
          members: members.map((m) => ({
            value: m.value,
            ...(m.display ? { display: m.display } : {}),
            type: m.type,
            $ref: `${baseUrl}/${m.type === 'User' ? 'Users' : 'Groups'}/${m.value}`,
          })),
        }
      : {}),
    meta: {
      resourceType: 'Group',
      created: row.createdAt.toISOString(),
      lastModified: row.updatedAt.toISOString(),
      location: `${baseUrl}/Groups/${row.id}`,
      version: etagOf(row.version),
    },
  };
}

/** Splits an attribute path into the container key chain: extension URN (if any), attribute, sub-attribute. */
function pathKeys(path: string): string[] {
  for (const urn of [CORE_USER_URN, CORE_GROUP_URN]) {
    if (path.toLowerCase().startsWith(`${urn.toLowerCase()}:`)) return path.slice(urn.length + 1).split('.');
  }
  for (const urn of EXTENSION_URNS) {
    if (path.toLowerCase() === urn.toLowerCase()) return [urn];
    if (path.toLowerCase().startsWith(`${urn.toLowerCase()}:`)) return [urn, ...path.slice(urn.length + 1).split('.')];
  }
  return path.split('.');
}

function findKey(obj: Record<string, unknown>, key: string): string | undefined {
  return Object.keys(obj).find((k) => k.toLowerCase() === key.toLowerCase());
}

function copyPath(src: unknown, dst: Record<string, unknown>, keys: string[]): void {
  if (typeof src !== 'object' || src === null || keys.length === 0) return;
  const source = src as Record<string, unknown>;
  const key = findKey(source, keys[0]);
  if (key === undefined) return;
  const value = source[key];
  if (keys.length === 1) {
    dst[key] = value;
    return;
  }
  if (Array.isArray(value)) {
    const existing = Array.isArray(dst[key]) ? (dst[key] as Record<string, unknown>[]) : value.map(() => ({}));
    value.forEach((item, i) => copyPath(item, existing[i], keys.slice(1)));
    dst[key] = existing;
  } else {
    const child = (typeof dst[key] === 'object' && dst[key] !== null ? dst[key] : {}) as Record<string, unknown>;
    copyPath(value, child, keys.slice(1));
    dst[key] = child;
  }
}

function deletePath(obj: unknown, keys: string[]): void {
  if (typeof obj !== 'object' || obj === null) return;
  if (Array.isArray(obj)) {
    obj.forEach((item) => deletePath(item, keys));
    return;
  }
  const o = obj as Record<string, unknown>;
  const key = findKey(o, keys[0]);
  if (key === undefined) return;
  if (keys.length === 1) delete o[key];
  else deletePath(o[key], keys.slice(1));
}

/** `id` and `schemas` are always returned (RFC 7643 §7, returned "always"). */
export function project(resource: ScimResource, attributes?: string[], excluded?: string[]): ScimResource {
  if (attributes && attributes.length > 0) {
    const out: ScimResource = { schemas: resource.schemas, id: resource.id };
    for (const path of attributes) copyPath(resource, out, pathKeys(path));
    return out;
  }
  if (excluded && excluded.length > 0) {
    const out = structuredClone(resource);
    for (const path of excluded) {
      const keys = pathKeys(path);
      if (keys.length === 1 && ['id', 'schemas'].includes(keys[0].toLowerCase())) continue;
      deletePath(out, keys);
    }
    return out;
  }
  return resource;
}

/** Whether a projection leaves out group members, so they need not be loaded at all. */
export function excludesMembers(attributes?: string[], excluded?: string[]): boolean {
  if (attributes && attributes.length > 0) return !attributes.some((a) => pathKeys(a)[0].toLowerCase() === 'members');
  return (excluded ?? []).some((a) => {
    const keys = pathKeys(a);
    return keys.length === 1 && keys[0].toLowerCase() === 'members';
  });
}
