/**
 * One user (/console/users/:id): the page, its live part (refreshed by console.js), the
 * provisioning log as CSV or JSON, and the actions (suspend, reactivate, terminate, resend the
 * invitation, retry), each confirmed on a page of its own.
 */
import { Router, type Request } from 'express';
import { timelineCsv, userTimeline } from '../../admin/audit';
import { AdminError } from '../../admin/shared';
import { resendInvitation, setActive, signalUser, terminate } from '../../admin/user-actions';
import { describeUser, loginHolderLabels } from '../../admin/users';
import { html } from '../html';
import { CONSOLE_PATH } from '../layout';
import { confirmPage } from '../pages/basic';
import { liveFragment, retryRefusal, USER_ACTIONS, userPage, type UserAction } from '../pages/user';
import { takeNotice } from '../session';
import { caller, go, page, send, tenant, viewer, type ConsoleOptions } from './shared';

const userAction = (req: Request): UserAction => {
  const a = String(req.params.action);
  if (!(a in USER_ACTIONS)) throw new AdminError(404, `no action "${a}"`);
  return a as UserAction;
};

export function userRoutes(options: ConsoleOptions): Router {
  const router = Router();
  const userData = async (req: Request) => {
    const c = caller(req);
    const id = String(req.params.id);
    const detail = await describeUser(options, c, tenant(req), id);
    const timeline = await userTimeline(options, c, tenant(req), id).catch((err) => {
      if (err instanceof AdminError && err.status === 404) return undefined; // nothing recorded yet
      throw err;
    });
    // Users named as the holder of a login this user wants: shown by name, linked (the stored reason names them by id).
    const wf = detail.workflow as { lastError?: string } | undefined;
    const reasons = [detail.lastError, wf?.lastError, ...(timeline?.groups ?? []).flatMap((g) => g.steps.map((s) => s.error))];
    const holders = await loginHolderLabels(options, tenant(req), reasons);
    return { detail, timeline, holders };
  };
  router.get(
    '/users/:id',
    page(async (req, res) => {
      const { detail, timeline, holders } = await userData(req);
      send(res, 200, userPage(viewer(req), detail, timeline, takeNotice(req, res), holders));
    }),
  );
  router.get(
    '/users/:id/live',
    page(async (req, res) => {
      const { detail, timeline, holders } = await userData(req);
      send(res, 200, liveFragment(viewer(req), detail, timeline, holders));
    }),
  );
  router.get(
    '/users/:id/timeline.:format',
    page(async (req, res) => {
      const t = await userTimeline(options, caller(req), tenant(req), String(req.params.id));
      if (req.params.format === 'csv') res.type('text/csv').attachment(`provisioning-log-${t.userId}.csv`).send(timelineCsv(t));
      else if (req.params.format === 'json')
        res
          .type('application/json')
          .attachment(`provisioning-log-${t.userId}.json`)
          .send(JSON.stringify(t, null, 2));
      else res.status(404).type('text').send('CSV or JSON');
    }),
  );
  router.get(
    '/users/:id/confirm/:action',
    page(async (req, res) => {
      const action = userAction(req);
      const detail = await describeUser(options, caller(req), tenant(req), String(req.params.id));
      const who = detail.userName ?? detail.userId;
      const spec = USER_ACTIONS[action];
      send(
        res,
        200,
        confirmPage({
          viewer: viewer(req),
          active: 'users',
          title: spec.title,
          explain: html`<strong>${who}</strong>: ${spec.explain}`,
          action: `${CONSOLE_PATH}/users/${detail.userId}/${action}`,
          confirmLabel: spec.label,
          cancelHref: `${CONSOLE_PATH}/users/${detail.userId}`,
          danger: action === 'terminate' || action === 'suspend',
        }),
      );
    }),
  );
  router.post(
    '/users/:id/:action',
    page(async (req, res) => {
      const action = userAction(req);
      const id = String(req.params.id);
      const c = caller(req);
      let text: string;
      switch (action) {
        case 'suspend':
        case 'reactivate': {
          const r = await setActive(options, c, tenant(req), id, action === 'reactivate');
          text = r.changed
            ? `${action === 'suspend' ? 'Suspension' : 'Reactivation'} recorded on the SCIM resource (active=${action === 'reactivate'}, request ${r.requestId}); the workflow ${action === 'suspend' ? 'blocks login' : 'restores login'} now, as the log below shows.`
            : `The SCIM resource already had active=${action === 'reactivate'}; nothing changed (request ${r.requestId}).`;
          break;
        }
        case 'terminate': {
          const r = await terminate(options, c, tenant(req), id);
          text = `The SCIM resource is deleted (request ${r.requestId}); the workflow releases licences and seats and revokes invitations, as the log below shows.`;
          break;
        }
        case 'resend-invitation': {
          // The same workflow update as the admin API: refused with the workflow's reason when there is nothing to resend.
          try {
            const r = await resendInvitation(options, c, tenant(req), id);
            text = `Invitation round ${r.round} requested (request ${r.requestId}): a new link goes out now and replaces the earlier ones; it appears in the log below.`;
          } catch (err) {
            if (!(err instanceof AdminError) || err.status !== 409) throw err;
            return go(options, req, res, `${CONSOLE_PATH}/users/${id}`, { kind: 'error', text: `Nothing was resent: ${err.message}.` });
          }
          break;
        }
        case 'retry': {
          const detail = await describeUser(options, c, tenant(req), id);
          const state = (detail.workflow as { state?: string } | undefined)?.state ?? detail.state;
          const refused = retryRefusal(state);
          if (refused) return go(options, req, res, `${CONSOLE_PATH}/users/${id}`, { kind: 'error', text: `Nothing was retried: ${refused}.` });
          const r = await signalUser(options, c, tenant(req), id, 'retry');
          text = `Retry sent to workflow ${r.workflowId} (request ${r.requestId}): it runs its steps again now; they appear in the log below.`;
          break;
        }
      }
      go(options, req, res, `${CONSOLE_PATH}/users/${id}`, { kind: 'ok', text });
    }),
  );
  return router;
}
