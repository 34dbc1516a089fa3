/** The users list (/console/users): search, filters by state and by what users wait for, paging. */
import { Router } from 'express';
import { listUsers, loginHolderLabels } from '../../admin/users';
import { usersPage } from '../pages/users';
import { caller, page, send, str, tenant, viewer, type ConsoleOptions } from './shared';

export function usersRoutes(options: ConsoleOptions): Router {
  const router = Router();
  router.get(
    '/users',
    page(async (req, res) => {
      const f = {
        q: str(req.query.q),
        state: str(req.query.state),
        waitingFor: str(req.query.waitingFor),
        waiting: str(req.query.waiting),
        after: str(req.query.after),
      };
      const list = await listUsers(options, caller(req), tenant(req), { ...f, limit: '50' });
      const holders = await loginHolderLabels(
        options,
        tenant(req),
        list.users.map((u) => u.lastError),
      );
      send(res, 200, usersPage(viewer(req), f, list.users, list.next, holders));
    }),
  );
  return router;
}
