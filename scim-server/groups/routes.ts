/** HTTP routes of /Groups; the logic is in service.ts. */
import { Router, type Request } from 'express';
import type { ScimContext } from '../context';
import { parseListRequest } from '../list-params';
import { notModified } from '../preconditions';
import { csvParam, sendScim } from '../respond';
import { ScimError } from '../../scim/error';
import * as service from './service';
import type { ScimResource } from '../render';
import { isUuid } from '../../domain/uuid';
import { asyncTxnOf, sendAccepted } from '../../events/async';

export function groupsRouter(context: (req: Request) => ScimContext): Router {
  const router = Router();
  // Ids are server-assigned UUIDs: any other id names no resource. Answering 404 here also keeps
  // text PostgreSQL cannot compare (e.g. %00 in the URL, which made a 500) away from the query.
  router.param('id', (_req, _res, next, id: string) => next(isUuid(id) ? undefined : ScimError.notFound(`Group "${id.slice(0, 100)}" not found.`)));
  // GET with the query string, POST /.search with a SearchRequest body (RFC 7644 §3.4.3).
  const list = async (req: Request, raw: unknown) => {
    const ctx = context(req);
    return service.listGroups(ctx, parseListRequest((raw ?? {}) as Record<string, unknown>, 'Group', ctx.tenantId));
  };
  router.get('/', async (req, res) => sendScim(res, 200, await list(req, req.query)));
  router.post('/.search', async (req, res) => sendScim(res, 200, await list(req, req.body)));
  router.get('/:id', async (req, res) => {
    const ctx = context(req);
    const row = await service.getGroup(ctx, req.params.id);
    if (notModified(req.get('If-None-Match'), row.version)) return void res.status(304).setHeader('ETag', `W/"${row.version}"`).end();
    const { resource, etag } = await service.getGroupResource(ctx, req.params.id, csvParam(req, 'attributes'), csvParam(req, 'excludedAttributes'));
    sendScim(res, 200, resource, { ETag: etag });
  });
  // With `Prefer: respond-async` (RFC 9967 §2.5.1.1) an accepted write is answered 202 with Set-Txn, without a body (events/async.ts).
  const location = (resource: ScimResource) => (resource.meta as { location: string }).location;
  router.post('/', async (req, res) => {
    const { resource, etag } = await service.createGroup(context(req), req.body);
    const txn = asyncTxnOf(res);
    if (txn) return sendAccepted(res, { txn, location: location(resource), etag });
    sendScim(res, 201, resource, { ETag: etag, Location: location(resource) });
  });
  router.put('/:id', async (req, res) => {
    const { resource, etag } = await service.replaceGroup(context(req), req.params.id, req.body, req.get('If-Match'));
    const txn = asyncTxnOf(res);
    if (txn) return sendAccepted(res, { txn, location: location(resource), etag });
    sendScim(res, 200, resource, { ETag: etag });
  });
  // 204: Okta and Entra accept it, and a group of 50,000 members need not be serialised after every push.
  router.patch('/:id', async (req, res) => {
    const ctx = context(req);
    await service.patchGroup(ctx, req.params.id, req.body, req.get('If-Match'));
    const row = await service.getGroup(ctx, req.params.id);
    const txn = asyncTxnOf(res);
    if (txn) return sendAccepted(res, { txn, location: `${ctx.baseUrl}/Groups/${row.id}`, etag: `W/"${row.version}"` });
    res.status(204).setHeader('ETag', `W/"${row.version}"`);
    res.end();
  });
  router.delete('/:id', async (req, res) => {
    const ctx = context(req);
    await service.deleteGroup(ctx, req.params.id, req.get('If-Match'));
    const txn = asyncTxnOf(res);
    if (txn) return sendAccepted(res, { txn, location: `${ctx.baseUrl}/Groups/${req.params.id}` });
    res.status(204).end();
  });
  return router;
}
