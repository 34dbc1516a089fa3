/** The SCIM request log (/console/requests). */
import { Router } from 'express';
import { listRequests } from '../../admin/requests';
import { requestsPage } from '../pages/requests';
import { caller, page, send, str, tenant, viewer, type ConsoleOptions } from './shared';

export function requestsRoutes(options: ConsoleOptions): Router {
  const router = Router();
  router.get(
    '/requests',
    page(async (req, res) => {
      const f = { q: str(req.query.q), status: str(req.query.status), method: str(req.query.method), after: str(req.query.after) };
      const list = await listRequests(options, caller(req), tenant(req), { ...f, limit: '50' });
      send(res, 200, requestsPage(viewer(req), f, list.requests, list.next));
    }),
  );
  return router;
}
