/**
 * Allow or Reject a change the mass-deprovisioning guard holds, from the overview or the user's
 * page; and Allow all / Reject all of a burst from the overview, confirmed on a page that states
 * how many (the confirmation posts exactly the changes it listed, not ones held since).
 */
import { Router, type Request } from 'express';
import { decideHeldChange, decideHeldChanges, listHeldChanges } from '../../admin/held-changes';
import { AdminError } from '../../admin/shared';
import { count } from '../format';
import { html } from '../html';
import { CONSOLE_PATH } from '../layout';
import { confirmPage } from '../pages/basic';
import { caller, go, page, send, str, tenant, viewer, type ConsoleOptions } from './shared';

/** Names listed on the confirmation; the rest are counted. */
const LISTED = 20;

const burstDecision = (req: Request): 'allow' | 'reject' => {
  const d = String(req.params.decision);
  if (d !== 'allow' && d !== 'reject') throw new AdminError(404, `no decision "${d}"`);
  return d;
};

const changes = (n: { suspend: number; terminate: number }) =>
  [
    n.suspend ? `${count(n.suspend)} suspension${n.suspend === 1 ? '' : 's'}` : '',
    n.terminate ? `${count(n.terminate)} termination${n.terminate === 1 ? '' : 's'}` : '',
  ]
    .filter(Boolean)
    .join(' and ');

/** Why changes of a burst were not decided, each reason once with how many it stopped ("decided already (2); …"). */
function notDecidedReasons(results: Awaited<ReturnType<typeof decideHeldChanges>>['results']): string {
  const reasons = new Map<string, number>();
  for (const r of results) if (!r.applied) reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
  return [...reasons].map(([reason, n]) => (n > 1 ? `${reason} (${count(n)})` : reason)).join('; ');
}

export function heldChangeRoutes(options: ConsoleOptions): Router {
  const router = Router();
  router.get(
    '/held-changes/confirm/:decision',
    page(async (req, res) => {
      const decision = burstDecision(req);
      const held = (await listHeldChanges(options, caller(req), tenant(req)))?.held ?? [];
      if (held.length === 0) return go(options, req, res, `${CONSOLE_PATH}#h-held`, { kind: 'ok', text: 'Nothing is held: there is nothing to decide.' });
      const n = count(held.length);
      const kinds = changes({ suspend: held.filter((h) => h.change === 'suspend').length, terminate: held.filter((h) => h.change === 'terminate').length });
      const who = (h: (typeof held)[number]) => h.name ?? h.userName ?? h.userId;
      send(
        res,
        200,
        confirmPage({
          viewer: viewer(req),
          active: 'overview',
          title: `${decision === 'allow' ? 'Allow' : 'Reject'} all ${n} held change${held.length === 1 ? '' : 's'}?`,
          explain: html`The guard holds <strong>${kinds}</strong>.
            ${
              decision === 'allow'
                ? 'Allowing applies each of them now: suspended users lose login, terminated users lose their licences, seats and invitations.'
                : 'Rejecting keeps each user as it is, with its access; a rejected change can still be allowed later, one by one.'
            }
            <span class="held-list"
              >${held.slice(0, LISTED).map((h, i) => html`${i ? ', ' : ''}${who(h)}`)}${held.length > LISTED ? ` and ${count(held.length - LISTED)} more` : ''}.</span
            >`,
          action: `${CONSOLE_PATH}/held-changes/decide/${decision}`,
          confirmLabel: `${decision === 'allow' ? 'Allow' : 'Reject'} all ${n}`,
          cancelHref: `${CONSOLE_PATH}#h-held`,
          danger: decision === 'allow',
          hidden: { ids: held.map((h) => h.id).join(',') },
        }),
      );
    }),
  );
  router.post(
    '/held-changes/decide/:decision',
    page(async (req, res) => {
      const decision = burstDecision(req);
      const ids = (str(req.body?.ids) ?? '').split(',').filter(Boolean);
      const r = await decideHeldChanges(options, caller(req), tenant(req), { decision, ids });
      const applied = r.results.flatMap((x) => (x.applied ? [x] : []));
      const kinds = changes({
        suspend: applied.filter((x) => x.change === 'suspend').length,
        terminate: applied.filter((x) => x.change === 'terminate').length,
      });
      const text =
        (decision === 'allow'
          ? `Allowed ${count(r.decided)} held change${r.decided === 1 ? '' : 's'}${kinds ? `: ${kinds} ${r.decided === 1 ? 'is' : 'are'} being applied` : ''}.`
          : `Rejected ${count(r.decided)} held change${r.decided === 1 ? '' : 's'}${kinds ? ` (${kinds})` : ''}: the users keep their access; each can still be allowed later.`) +
        (r.notDecided ? ` ${count(r.notDecided)} ${r.notDecided === 1 ? 'was' : 'were'} not decided: ${notDecidedReasons(r.results)}.` : '');
      go(options, req, res, `${CONSOLE_PATH}#h-held`, { kind: r.decided ? 'ok' : 'error', text });
    }),
  );
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
