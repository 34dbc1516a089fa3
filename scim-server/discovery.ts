/** Discovery endpoints (RFC 7644 §4): advertise exactly what this server does. */
import { Router } from 'express';
import { LIMITS } from './limits';
import { sendScim } from './respond';
import { SCIMMY } from './schemas';
import { ScimError } from './scim-error';

/** The limits this server enforces beyond those RFC 7643 §5 has a place for (limits.ts; docs/reliability.md "Limits"). */
export const LIMITS_EXTENSION_URN = 'urn:ietf:params:scim:schemas:extension:scimflow:2.0:ServiceProviderConfig';

/** What each limit of the extension means, for its schema in /Schemas (RFC 7643 §7). */
const LIMIT_DESCRIPTIONS: Record<string, string> = {
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
};

function limitsSchema(baseUrl: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
    id: LIMITS_EXTENSION_URN,
    name: 'Limits',
    description: 'The limits this server enforces per request; exceeding one is a 400 naming it (docs/reliability.md "Limits").',
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
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${LIMITS_EXTENSION_URN}` },
  };
}

function serviceProviderConfig(baseUrl: string, bodyLimitBytes: number) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig', LIMITS_EXTENSION_URN],
    documentationUri: 'https://github.com/scimflow/scimflow/blob/main/docs/reliability.md#limits',
    patch: { supported: true },
    bulk: { supported: true, maxOperations: LIMITS.bulkOperations, maxPayloadSize: bodyLimitBytes },
    filter: { supported: true, maxResults: LIMITS.pageSize },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    // RFC 9865: cursor and index paging.
    pagination: { cursor: true, index: true, defaultPaginationMethod: 'index', defaultPageSize: 100, maxPageSize: LIMITS.pageSize, cursorTimeout: 86_400 },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'A per-tenant token created with `npm run tokens -- create`, sent as "Authorization: Bearer <token>".',
        primary: true,
      },
    ],
    [LIMITS_EXTENSION_URN]: {
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
    },
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

export function discoveryRouter(baseUrl: string, bodyLimitBytes: number): Router {
  const router = Router();
  for (const resource of [SCIMMY.Resources.Schema, SCIMMY.Resources.ResourceType, SCIMMY.Resources.User, SCIMMY.Resources.Group]) {
    (resource as unknown as { basepath(p: string): void }).basepath(baseUrl);
  }
  const config = serviceProviderConfig(baseUrl, bodyLimitBytes);
  router.get('/ServiceProviderConfig', (_req, res) => sendScim(res, 200, config));

  const listOrOne = (Resource: typeof SCIMMY.Resources.Schema | typeof SCIMMY.Resources.ResourceType, kind: string) => async (id: string | undefined) => {
    try {
      return await new (Resource as unknown as new (id?: string) => { read(): Promise<unknown> })(id).read();
    } catch {
      throw ScimError.notFound(`${kind} "${id}" not found.`);
    }
  };
  const schemas = listOrOne(SCIMMY.Resources.Schema, 'Schema');
  const types = listOrOne(SCIMMY.Resources.ResourceType, 'ResourceType');
  // scimmy knows the resource schemas; the limits extension of /ServiceProviderConfig is this server's own.
  const limits = limitsSchema(baseUrl);
  router.get('/Schemas', async (_req, res) => {
    const list = JSON.parse(JSON.stringify(await schemas(undefined))) as { totalResults: number; itemsPerPage?: number; Resources: unknown[] };
    list.Resources.push(limits);
    list.totalResults = list.Resources.length;
    if (list.itemsPerPage !== undefined) list.itemsPerPage = list.Resources.length;
    sendScim(res, 200, list);
  });
  router.get('/Schemas/:id', async (req, res) => sendScim(res, 200, req.params.id === LIMITS_EXTENSION_URN ? limits : await schemas(req.params.id)));
  router.get('/ResourceTypes', async (_req, res) => sendScim(res, 200, await types(undefined)));
  router.get('/ResourceTypes/:id', async (req, res) => sendScim(res, 200, await types(req.params.id)));
  return router;
}
