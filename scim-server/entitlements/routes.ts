/**
 * HTTP routes of the entitlement endpoints (/Roles, /Licenses); the logic is in service.ts.
 *
 * Read-only: the entries come from the tenant configuration (npm run tenant-config, the
 * console's Policy page), never from a SCIM client. Any other method is answered 501 Not
 * Implemented with a SCIM error body, as RFC 7644 §3.12 says for an operation the service
 * provider does not support, with `Allow` naming the methods that are (RFC 9110 §10.2.1).
 */
import { Router, type Request, type Response } from 'express';
import type { ScimContext } from '../context';
import { sendScimError } from '../error-boundary';
import { csvParam, sendScim } from '../respond';
import { ScimError } from '../../scim/error';
import { ENTITLEMENT_TYPES, type EntitlementType } from './resource-types';
import * as service from './service';

function readOnly(type: EntitlementType, allow: string) {
  return (req: Request, res: Response) => {
    res.setHeader('Allow', allow);
    sendScimError(
      res,
      new ScimError(
        501,
        undefined,
        `${req.method} ${type.endpoint}${req.path === '/' ? '' : req.path} is not supported: ${type.endpoint} is read-only, made from the tenant configuration. ` +
          `Assign a ${type.name === 'Role' ? 'role to a user in its "roles"' : "licence tier through the user's organisation"} (PATCH /Users/{id}).`,
      ),
    );
  };
}

function entitlementTypeRouter(context: (req: Request) => ScimContext, type: EntitlementType): Router {
  const router = Router();
  router.get('/', async (req, res) =>
    sendScim(res, 200, await service.listEntitlements(context(req), type, service.parseEntitlementList(req.query as Record<string, unknown>, type))),
  );
  router.post('/.search', async (req, res) =>
    sendScim(res, 200, await service.listEntitlements(context(req), type, service.parseEntitlementList((req.body ?? {}) as Record<string, unknown>, type))),
  );
  router.all('/.search', readOnly(type, 'POST'));
  router.get('/:id', async (req, res) =>
    sendScim(res, 200, await service.getEntitlement(context(req), type, req.params.id, csvParam(req, 'attributes'), csvParam(req, 'excludedAttributes'))),
  );
  router.all('/', readOnly(type, 'GET'));
  router.all('/:id', readOnly(type, 'GET'));
  return router;
}

/** /Roles and /Licenses, mounted under the SCIM base path. */
export function entitlementsRouter(context: (req: Request) => ScimContext): Router {
  const router = Router();
  for (const type of ENTITLEMENT_TYPES) router.use(type.endpoint, entitlementTypeRouter(context, type));
  return router;
}
