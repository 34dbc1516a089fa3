/** The overview (/console): the tenant at a glance, and "run drift repair now". */
import { Router } from 'express';
import { overview } from '../../admin/overview';
import { reconcileNow } from '../../admin/tenants';
import { loginHolderLabels } from '../../admin/users';
import { reconcileScheduleId } from '../../common/temporal/reconcile-schedule';
import { CONSOLE_PATH } from '../layout';
import { overviewPage } from '../pages/overview';
import { takeNotice } from '../session';
import { caller, go, page, send, tenant, viewer, type ConsoleOptions } from './shared';

export function overviewRoutes(options: ConsoleOptions): Router {
  const router = Router();
  router.get(
    '/',
    page(async (req, res) => {
      const o = await overview(options, caller(req), tenant(req));
      const schedule = options.temporalUi
        ? `${options.temporalUi.url}/namespaces/${encodeURIComponent(options.temporalUi.namespace)}/schedules/${encodeURIComponent(reconcileScheduleId(tenant(req)))}`
        : null;
      const holders = await loginHolderLabels(
        options,
        tenant(req),
        o.attention.map((u) => u.lastError),
      );
      send(res, 200, overviewPage(viewer(req), o, schedule, takeNotice(req, res), holders));
    }),
  );
  router.post(
    '/reconcile',
    page(async (req, res) => {
      const r = await reconcileNow(options, caller(req), tenant(req));
      go(options, req, res, CONSOLE_PATH, { kind: 'ok', text: `Drift repair started (workflow ${r.workflowId}); its result appears here when it finishes.` });
    }),
  );
  return router;
}
