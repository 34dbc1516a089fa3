/**
 * The check every fault scenario ends with: each change that got a 2xx is reflected exactly
 * once in the application directory, each onboarded user got exactly one invitation, and the
 * audit log agrees. Figures are appended to test-results/reliability.jsonl for docs/reliability.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Queryable } from '../../common/db';

export interface LedgerFigures {
  scenario: string;
  sent: number;
  acknowledged: number;
  applied: number;
  duplicated: number;
  invitations: number;
  duplicateInvitations: number;
}

export async function checkLedger(
  db: Queryable,
  tenantId: string,
  scenario: string,
  sent: number,
  acknowledged: { id: string; userName: string }[],
  mailsTo: (address: string) => number,
): Promise<LedgerFigures> {
  const ids = acknowledged.map((a) => a.id);
  const profiles = (
    await db.query<{ user_id: string; n: number }>(
      `SELECT user_id::text AS user_id, count(*)::int AS n FROM app_users WHERE tenant_id = $1 AND user_id::text = ANY($2::text[]) GROUP BY user_id`,
      [tenantId, ids],
    )
  ).rows;
  const invitations = (
    await db.query<{ user_id: string; n: number }>(
      `SELECT user_id::text AS user_id, count(*)::int AS n FROM invitations WHERE tenant_id = $1 AND user_id::text = ANY($2::text[]) GROUP BY user_id`,
      [tenantId, ids],
    )
  ).rows;
  const audited = (
    await db.query<{ user_id: string; n: number }>(
      `SELECT user_id::text AS user_id, count(*)::int AS n FROM audit_log WHERE tenant_id = $1 AND action = 'invitation.sent' AND user_id::text = ANY($2::text[]) GROUP BY user_id`,
      [tenantId, ids],
    )
  ).rows;
  const mails = acknowledged.map((a) => mailsTo(a.userName));
  const figures: LedgerFigures = {
    scenario,
    sent,
    acknowledged: acknowledged.length,
    applied: profiles.length,
    duplicated: profiles.filter((p) => p.n > 1).length + mails.filter((m) => m > 1).length,
    invitations: mails.filter((m) => m === 1).length,
    duplicateInvitations: mails.filter((m) => m > 1).length + invitations.filter((i) => i.n > 1).length + audited.filter((a) => a.n > 1).length,
  };
  const dir = path.join(__dirname, '..', '..', 'test-results');
  fs.mkdirSync(dir, { recursive: true });
  fs.appendFileSync(path.join(dir, 'reliability.jsonl'), `${JSON.stringify({ ...figures, at: new Date().toISOString() })}\n`);
  return figures;
}
