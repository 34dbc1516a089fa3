/** Discovery endpoints (RFC 7644 §4): advertise exactly what this server does. */
import { Router } from 'express';
import { LIMITS } from './limits';
import { sendScim } from './respond';
import { SCIMMY } from './schemas';
import { ScimError } from './scim-error';

/** The limits this server enforces beyond those RFC 7643 §5 has a place for (limits.ts; docs/reliability.md "Limits"). */
export const LIMITS_EXTENSION_URN = 'urn:ietf:params:scim:schemas:extension:scimflow:2.0:ServiceProviderConfig';

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
  router.get('/Schemas', async (_req, res) => sendScim(res, 200, await schemas(undefined)));
  router.get('/Schemas/:id', async (req, res) => sendScim(res, 200, await schemas(req.params.id)));
  router.get('/ResourceTypes', async (_req, res) => sendScim(res, 200, await types(undefined)));
  router.get('/ResourceTypes/:id', async (req, res) => sendScim(res, 200, await types(req.params.id)));
  return router;
}
