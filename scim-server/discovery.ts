/**
 * Discovery endpoints (RFC 7644 §4): advertise exactly what this server does. The standard
 * documents (/ServiceProviderConfig, /ResourceTypes, /Schemas) hold only what RFC 7643 §5-7
 * declares, so strict clients parse them (scim2-models refuses any other attribute or schema
 * URN: "Extra inputs are not permitted"). The limits that RFC 7643 §5 has no place for are a
 * document of their own at LIMITS_PATH, described by LIMITS_SCHEMA_URN in /Schemas.
 */
import { Router } from 'express';
import { tokenUrlOf } from '../common/repositories/oauth-clients';
import { ENTITLEMENT_TYPES, resourceTypeOf, schemaOf } from './entitlements/resource-types';
import { LIMITS } from './limits';
import { sendScim } from './respond';
import { SCIMMY } from '../scim/schemas';
import { ScimError } from '../scim/error';

/**
 * Where the limits this server enforces are served (limits.ts; docs/reliability.md "Limits"),
 * relative to the SCIM base URL. Not in /ServiceProviderConfig: an attribute RFC 7643 §5 does
 * not declare there makes strict clients refuse the whole document.
 */
export const LIMITS_PATH = '/ServiceProviderConfig/limits';

/** The schema of the limits document, listed in /Schemas (RFC 7643 §7). */
export const LIMITS_SCHEMA_URN = 'urn:ietf:params:scim:schemas:scimflow:2.0:Limits';

/** What each limit means, for its schema in /Schemas. */
const LIMIT_DESCRIPTIONS = {
  patchOperations: 'Operations in one PATCH request.',
  multiValuedAttributeValues: 'Values of one multi-valued core attribute (emails, phoneNumbers, addresses, roles, ...).',
  multiValuedExtensionAttributeValues: 'Values of one multi-valued extension attribute (teams, tags, facilities, ...).',
  groupMembersPerRequest: 'Group members added or replaced in one request.',
  indexedAttributeLength: 'Characters of a value that is looked up by filters (userName, externalId, displayName).',
  stringLength: 'Characters of any other string value.',
  referenceLength: 'Characters of a reference (a URI).',
  binaryLength: 'Characters of a binary value (base64).',
  filterLength: 'Characters of a filter.',
  filterDepth: 'Levels of parentheses and value paths in a filter.',
  filterComparisons: 'Comparisons in one filter.',
  jsonDepth: 'Nesting levels of a request body.',
  bodyBytes: 'Bytes of a request body.',
} as const;

function limitsSchema(baseUrl: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
    id: LIMITS_SCHEMA_URN,
    name: 'Limits',
    description: `The limits this server enforces per request, served at GET ${LIMITS_PATH}; exceeding one is a 400 naming it (413 for bodyBytes).`,
    attributes: Object.entries(LIMIT_DESCRIPTIONS).map(([name, description]) => ({
      name,
      type: 'integer',
      multiValued: false,
      description,
      required: true,
      caseExact: false,
      mutability: 'readOnly',
      returned: 'always',
      uniqueness: 'none',
    })),
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${LIMITS_SCHEMA_URN}` },
  };
}

/** The limits document (LIMITS_PATH): one integer per limit its schema declares. */
function limitsDocument(baseUrl: string, bodyLimitBytes: number) {
  const limits: Record<keyof typeof LIMIT_DESCRIPTIONS, number> = {
    patchOperations: LIMITS.patchOperations,
    multiValuedAttributeValues: LIMITS.multiValued,
    multiValuedExtensionAttributeValues: LIMITS.multiValuedExtension,
    groupMembersPerRequest: LIMITS.groupMembersPerRequest,
    indexedAttributeLength: LIMITS.indexedLength,
    stringLength: LIMITS.stringLength,
    referenceLength: LIMITS.referenceLength,
    binaryLength: LIMITS.binaryLength,
    filterLength: LIMITS.filterLength,
    filterDepth: LIMITS.filterDepth,
    filterComparisons: LIMITS.filterTerms,
    jsonDepth: LIMITS.jsonDepth,
    bodyBytes: bodyLimitBytes,
  };
  // A resource's id is always returned (RFC 7643 §3.1); there is one limits document per server.
  return { schemas: [LIMITS_SCHEMA_URN], id: 'limits', ...limits, meta: { resourceType: 'Limits', location: `${baseUrl}${LIMITS_PATH}` } };
}

/** RFC 7643 §5 (and RFC 9865's pagination), nothing else: strict clients refuse any other attribute (RFC 9967's securityEvents is added per tenant, withSecurityEvents). */
function serviceProviderConfig(baseUrl: string, bodyLimitBytes: number) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: 'https://github.com/scimflow/scimflow/blob/main/docs/reliability.md#limits',
    patch: { supported: true },
    bulk: { supported: true, maxOperations: LIMITS.bulkOperations, maxPayloadSize: bodyLimitBytes },
    filter: { supported: true, maxResults: LIMITS.pageSize },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    // RFC 9865: cursor and index paging.
    pagination: {
      cursor: true,
      index: true,
      defaultPaginationMethod: 'index',
      defaultPageSize: 100,
      maxPageSize: LIMITS.pageSize,
      cursorTimeout: LIMITS.cursorTimeoutSeconds,
    },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'A per-tenant token created with `npm run tokens -- create`, sent as "Authorization: Bearer <token>".',
        primary: true,
      },
      {
        type: 'oauth2',
        name: 'OAuth 2.0 client credentials',
        description: `A per-tenant OAuth client (\`npm run tokens -- create-client\`, or the console's Connection page) posts grant_type=client_credentials with its client id and secret (HTTP Basic or the body) to ${tokenUrlOf(baseUrl.replace(/\/scim\/v2\/?$/, ''))} and sends the access token it gets as "Authorization: Bearer <token>" until it expires.`,
        specUri: 'https://www.rfc-editor.org/info/rfc6749',
        documentationUri: 'https://github.com/scimflow/scimflow/blob/main/docs/entra-id.md#with-oauth-20-client-credentials-the-gallery-app',
        primary: false,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

/**
 * /ServiceProviderConfig with RFC 9967 §4's `securityEvents` (which updates RFC 7643 §5) before
 * its meta. Only for a tenant whose configuration advertises its event feed (events/discovery.ts):
 * strict clients refuse the attribute.
 */
export function withSecurityEvents<T extends { meta: unknown }>(
  config: T,
  securityEvents: object,
): Omit<T, 'meta'> & { securityEvents: object; meta: T['meta'] } {
  const { meta, ...rest } = config;
  return { ...rest, securityEvents, meta };
}

/**
 * `securityEvents`: the tenant's RFC 9967 capability, or undefined when its configuration does
 * not advertise the event feed (events/discovery.ts securityEventsOf).
 */
export function discoveryRouter(baseUrl: string, bodyLimitBytes: number, securityEvents?: (tenantId: string) => Promise<object | undefined>): Router {
  const router = Router();
  for (const resource of [SCIMMY.Resources.Schema, SCIMMY.Resources.ResourceType, SCIMMY.Resources.User, SCIMMY.Resources.Group]) {
    (resource as unknown as { basepath(p: string): void }).basepath(baseUrl);
  }
  const config = serviceProviderConfig(baseUrl, bodyLimitBytes);
  router.get('/ServiceProviderConfig', async (req, res) => {
    const events = securityEvents && req.auth ? await securityEvents(req.auth.tenantId) : undefined;
    sendScim(res, 200, events ? withSecurityEvents(config, events) : config);
  });
  const limitsDoc = limitsDocument(baseUrl, bodyLimitBytes);
  router.get(LIMITS_PATH, (_req, res) => sendScim(res, 200, limitsDoc));

  const listOrOne = (Resource: typeof SCIMMY.Resources.Schema | typeof SCIMMY.Resources.ResourceType, kind: string) => async (id: string | undefined) => {
    try {
      return await new (Resource as unknown as new (id?: string) => { read(): Promise<unknown> })(id).read();
    } catch {
      throw ScimError.notFound(`${kind} "${id}" not found.`);
    }
  };
  const schemas = listOrOne(SCIMMY.Resources.Schema, 'Schema');
  const types = listOrOne(SCIMMY.Resources.ResourceType, 'ResourceType');
  // scimmy knows the resource schemas; the limits document's schema is this server's own, and so are
  // the entitlement types' (Okta Identity Governance: /Roles, /Licenses; entitlements/resource-types.ts).
  const limits = limitsSchema(baseUrl);
  const entitlementSchemas = ENTITLEMENT_TYPES.map((t) => schemaOf(t, baseUrl));
  const entitlementTypes = ENTITLEMENT_TYPES.map((t) => resourceTypeOf(t, baseUrl));
  router.get('/Schemas', async (_req, res) => {
    const list = JSON.parse(JSON.stringify(await schemas(undefined))) as { totalResults: number; itemsPerPage?: number; Resources: unknown[] };
    list.Resources.push(limits, ...entitlementSchemas);
    list.totalResults = list.Resources.length;
    if (list.itemsPerPage !== undefined) list.itemsPerPage = list.Resources.length;
    sendScim(res, 200, list);
  });
  router.get('/Schemas/:id', async (req, res) =>
    sendScim(
      res,
      200,
      req.params.id === LIMITS_SCHEMA_URN ? limits : (entitlementSchemas.find((s) => s.id === req.params.id) ?? (await schemas(req.params.id))),
    ),
  );
  router.get('/ResourceTypes', async (_req, res) => {
    // scimmy reports its default page size (20) as itemsPerPage; RFC 7644 §3.4.2: the number of resources returned.
    const list = JSON.parse(JSON.stringify(await types(undefined))) as { totalResults: number; itemsPerPage?: number; Resources: unknown[] };
    list.Resources.push(...entitlementTypes);
    list.totalResults = list.Resources.length;
    if (list.itemsPerPage !== undefined) list.itemsPerPage = list.Resources.length;
    sendScim(res, 200, list);
  });
  router.get('/ResourceTypes/:id', async (req, res) =>
    sendScim(res, 200, entitlementTypes.find((t) => t.id === req.params.id) ?? (await types(req.params.id))),
  );
  return router;
}
