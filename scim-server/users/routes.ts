/** HTTP routes of /Users; the logic is in service.ts. */
import { Router, type Request } from 'express';
import type { ScimContext } from '../context';
import { parseListRequest } from '../list-params';
import { notModified } from '../preconditions';
import { csvParam, sendScim } from '../respond';
import { ScimError } from '../scim-error';
import * as service from './service';
import { isUuid } from '../../domain/uuid';

export function usersRouter(context: (req: Request) => ScimContext): Router {
  const router = Router();
  // Ids are server-assigned UUIDs: any other id names no resource. Answering 404 here also keeps
  // text PostgreSQL cannot compare (e.g. %00 in the URL, which made a 500) away from the query.
  router.param('id', (_req, _res, next, id: string) => next(isUuid(id) ? undefined : ScimError.notFound(`User "${id.slice(0, 100)}" not found.`)));
  router.get('/', async (req, res) =>
    sendScim(res, 200, await service.listUsers(context(req), parseListRequest(req.query as Record<string, unknown>, 'User'))),
  );
  router.post('/.search', async (req, res) =>
    sendScim(res, 200, await service.listUsers(context(req), parseListRequest((req.body ?? {}) as Record<string, unknown>, 'User'))),
  );
  router.get('/:id', async (req, res) => {
    const ctx = context(req);
    const row = await service.getUser(ctx, req.params.id);
    if (notModified(req.get('If-None-Match'), row.version)) return void res.status(304).setHeader('ETag', `W/"${row.version}"`).end();
    const { resource, etag } = await service.getUserResource(ctx, req.params.id, csvParam(req, 'attributes'), csvParam(req, 'excludedAttributes'));
    sendScim(res, 200, resource, { ETag: etag });
  });
  router.post('/', async (req, res) => {
    const { resource, etag } = await service.createUser(context(req), req.body);
    sendScim(res, 201, resource, { ETag: etag, Location: (resource.meta as { location: string }).location });
  });
  router.put('/:id', async (req, res) => {
    const { resource, etag } = await service.replaceUser(context(req), req.params.id, req.body, req.get('If-Match'));
    sendScim(res, 200, resource, { ETag: etag });
  });
  router.patch('/:id', async (req, res) => {
    const { resource, etag } = await service.patchUser(context(req), req.params.id, req.body, req.get('If-Match'));
    sendScim(res, 200, resource, { ETag: etag });
  });
  router.delete('/:id', async (req, res) => {
    await service.deleteUser(context(req), req.params.id, req.get('If-Match'));
    res.status(204).end();
  });
  return router;
}
