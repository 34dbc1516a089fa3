/**
 * The entitlement resource types as discovery shows them (RFC 7643 §6, §7), in the shapes Okta
 * Identity Governance reads (Okta's "Build a SCIM 2.0 server with entitlements" guide): a
 * ResourceType per endpoint whose `schema` is Okta's Role or Entitlement URN, and resources with
 * `id`, `displayName`, `description` (and `type`, the resource type's name, on entitlements).
 *
 *  - Role (/Roles): the tenant's security roles and the two client roles; a user names them in
 *    core `roles`. `type` says which kind (securityRole, clientRole).
 *  - License (/Licenses): the licence tiers its organisations give; a user's core
 *    `entitlements` name them with `type` "License". Read-only reflections: they never grant.
 *
 * Okta knows these two schemas, but strict clients (scim2-models, test/strict-scim) build every
 * resource type from /Schemas, so both are published there too. `id` and `meta` are common
 * attributes (RFC 7643 §3.1), not listed among a schema's attributes.
 */
import type { EntitlementCatalogue, LicenceEntitlement, RoleEntitlement } from '../../domain/entitlement-catalogue';
import { displayNameOf, LICENCE_ENTITLEMENT_TYPE } from '../../domain/entitlement-catalogue';

export const OKTA_ROLE_SCHEMA_URN = 'urn:okta:scim:schemas:core:1.0:Role';
export const OKTA_ENTITLEMENT_SCHEMA_URN = 'urn:okta:scim:schemas:core:1.0:Entitlement';
const RESOURCE_TYPE_URN = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const SCHEMA_URN = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

type Json = Record<string, unknown>;

/** One entitlement resource type: its name (also the ResourceType id and the resources' meta.resourceType), endpoint and schema. */
export interface EntitlementType {
  name: 'Role' | 'License';
  endpoint: '/Roles' | '/Licenses';
  schema: string;
  description: string;
  /** What the tenant offers of this type. */
  entries(catalogue: EntitlementCatalogue): (RoleEntitlement | LicenceEntitlement)[];
  /** The attributes a resource of this type holds besides schemas, id and meta. */
  attributes(entry: RoleEntitlement | LicenceEntitlement): Json;
  /** The schema's attributes (RFC 7643 §7), for /Schemas. */
  schemaAttributes: Json[];
}

const readOnlyString = (name: string, description: string, extra: Json = {}): Json => ({
  name,
  type: 'string',
  multiValued: false,
  description,
  required: false,
  caseExact: false,
  mutability: 'readOnly',
  returned: 'default',
  uniqueness: 'none',
  ...extra,
});

export const ROLE_TYPE: EntitlementType = {
  name: 'Role',
  endpoint: '/Roles',
  schema: OKTA_ROLE_SCHEMA_URN,
  description:
    "The application's security roles (exactly one per user) and client roles (the role in the main client), from the tenant configuration; read-only. A user names them by id in roles.",
  entries: (catalogue) => catalogue.roles,
  attributes: (entry) => ({ displayName: displayNameOf(entry), type: (entry as RoleEntitlement).kind, description: entry.description }),
  schemaAttributes: [
    readOnlyString('displayName', 'The role as the application spells it.', { required: true, returned: 'always' }),
    readOnlyString('type', 'securityRole (exactly one per user) or clientRole (the role in the main client).', {
      canonicalValues: ['securityRole', 'clientRole'],
      caseExact: true,
    }),
    readOnlyString('description', 'What the role gives.'),
  ],
};

export const LICENSE_TYPE: EntitlementType = {
  name: 'License',
  endpoint: '/Licenses',
  schema: OKTA_ENTITLEMENT_SCHEMA_URN,
  description:
    "The licence tiers the tenant's organisations give (application licence levels and mobile licences); read-only. A user's licence follows their organisation: an entitlement naming a tier never grants it.",
  entries: (catalogue) => catalogue.licences,
  attributes: (entry) => ({ displayName: displayNameOf(entry), type: LICENCE_ENTITLEMENT_TYPE, description: entry.description }),
  schemaAttributes: [
    readOnlyString('displayName', 'The tier as the configuration spells it ("(mobile)" added for a mobile licence).', { required: true, returned: 'always' }),
    readOnlyString('type', `The resource type's name: ${LICENCE_ENTITLEMENT_TYPE}.`, {
      required: true,
      canonicalValues: [LICENCE_ENTITLEMENT_TYPE],
      caseExact: true,
    }),
    readOnlyString('description', 'What the tier is and which organisations give it.'),
  ],
};

export const ENTITLEMENT_TYPES: readonly EntitlementType[] = [ROLE_TYPE, LICENSE_TYPE];

/** The ResourceType document of `type` (RFC 7643 §6). */
export function resourceTypeOf(type: EntitlementType, baseUrl: string): Json {
  return {
    schemas: [RESOURCE_TYPE_URN],
    id: type.name,
    name: type.name,
    endpoint: type.endpoint,
    description: type.description,
    schema: type.schema,
    meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${type.name}` },
  };
}

/** The Schema document of `type` (RFC 7643 §7). */
export function schemaOf(type: EntitlementType, baseUrl: string): Json {
  return {
    schemas: [SCHEMA_URN],
    id: type.schema,
    name: type.name,
    description:
      type.name === 'Role'
        ? 'A role of the application (Okta Identity Governance role).'
        : 'An entitlement of the application (Okta Identity Governance entitlement).',
    attributes: type.schemaAttributes,
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${type.schema}` },
  };
}

/** A catalogue entry as a resource of `type`. */
export function renderEntitlement(type: EntitlementType, entry: RoleEntitlement | LicenceEntitlement, baseUrl: string): Json & { id: string } {
  return {
    schemas: [type.schema],
    id: entry.id,
    ...type.attributes(entry),
    meta: { resourceType: type.name, location: `${baseUrl}${type.endpoint}/${encodeURIComponent(entry.id)}` },
  };
}
