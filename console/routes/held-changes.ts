/** Allow or Reject a change the mass-deprovisioning guard holds, from the overview or the user's page. */
import { Router } from 'express';
import { decideHeldChange } from '../../admin/held-changes';
import { CONSOLE_PATH } from '../layout';
import { caller, go, page, tenant, type ConsoleOptions } from './shared';

export function heldChangeRoutes(options: ConsoleOptions): Router {
  const router = Router();
  router.post(
    '/held-changes/:id/:decision',
    page(async (req, res) => {
      const decision = req.params.decision === 'allow' ? 'allow' : 'reject';
      // Answered like every console action: back to the overview with what was applied (it used to hang).
      const r = await decideHeldChange(options, caller(req), tenant(req), String(req.params.id), decision);
      // Decided on the user's page: back there (only a user page of this console, never another address).
      const back = (req.body as Record<string, unknown> | undefined)?.back === 'user' ? `${CONSOLE_PATH}/users/${r.userId}` : CONSOLE_PATH;
      go(options, req, res, back, { kind: 'ok', text: `${decision === 'allow' ? 'Allowed' : 'Rejected'}: ${r.outcome} (user ${r.userId}).` });
    }),
  );
  return router;
}
