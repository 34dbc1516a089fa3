/** Provision on demand (/console/preview): one stored user, or a SCIM document, under today's policy; "run now". */
import { Router } from 'express';
import { previewOneUser } from '../../admin/preview';
import { AdminError } from '../../admin/shared';
import { signalUser } from '../../admin/user-actions';
import { listUsers } from '../../admin/users';
import { ScimError } from '../../scim/error';
import { CONSOLE_PATH } from '../layout';
import { previewPage, type PreviewForm } from '../pages/preview';
import { caller, go, page, send, str, tenant, viewer, type ConsoleOptions } from './shared';

export function previewRoutes(options: ConsoleOptions): Router {
  const router = Router();
  router.get(
    '/preview',
    page(async (req, res) => {
      const form: PreviewForm = { user: str(req.query.user)?.trim() };
      if (!form.user) return send(res, 200, previewPage(viewer(req), form));
      const c = caller(req);
      const matches = (await listUsers(options, c, tenant(req), { q: form.user, limit: '20' })).users.filter((u) => u.userName || u.displayName);
      const exact = matches.filter(
        (m) =>
          m.userId === form.user!.toLowerCase() ||
          m.userName?.toLowerCase() === form.user!.toLowerCase() ||
          m.email?.toLowerCase() === form.user!.toLowerCase(),
      );
      const pick = exact.length === 1 ? exact[0] : matches.length === 1 ? matches[0] : undefined;
      if (!pick) {
        return send(res, 200, previewPage(viewer(req), form, matches.length ? { matches } : { error: `No stored user matches "${form.user}".` }));
      }
      const result = await previewOneUser(options, c, tenant(req), { userId: pick.userId });
      send(res, 200, previewPage(viewer(req), form, { result, storedUserId: pick.userId }));
    }),
  );
  router.post(
    '/preview',
    page(async (req, res) => {
      const form: PreviewForm = { scimBody: str(req.body.scimBody) ?? '', groups: str(req.body.groups) ?? '' };
      let user: unknown;
      try {
        user = JSON.parse(form.scimBody ?? '');
      } catch (err) {
        return send(res, 400, previewPage(viewer(req), form, { error: `The SCIM User is not valid JSON: ${(err as Error).message}` }));
      }
      const groups = (form.groups ?? '')
        .split(/\r?\n/)
        .map((g) => g.trim())
        .filter(Boolean);
      try {
        const result = await previewOneUser(options, caller(req), tenant(req), { user, groups });
        send(res, 200, previewPage(viewer(req), form, { result }));
      } catch (err) {
        if (err instanceof ScimError) return send(res, 400, previewPage(viewer(req), form, { error: err.detail }));
        if (err instanceof AdminError && err.status === 400)
          return send(res, 400, previewPage(viewer(req), form, { error: err.message, problems: err.problems }));
        throw err;
      }
    }),
  );
  router.post(
    '/preview/run',
    page(async (req, res) => {
      const id = str(req.body.userId) ?? '';
      const r = await signalUser(options, caller(req), tenant(req), id, 'retry');
      go(options, req, res, `${CONSOLE_PATH}/users/${id}#h-log`, {
        kind: 'ok',
        text: `Run now: signalled workflow ${r.workflowId} (request ${r.requestId}); its steps appear in the log below as they run.`,
      });
    }),
  );
  return router;
}
