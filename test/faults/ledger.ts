/**
 * The check every fault scenario ends with: each change that got a 2xx is reflected exactly
 * once in the application directory, each onboarded user got its invitation (one invitation,
 * one Message-ID: a copy re-sent after a worker died inside the SMTP exchange carries the same
 * Message-ID, so the person's mail client shows one), and the audit log agrees. Figures are appended to test-results/reliability.jsonl for docs/reliability.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Queryable } from '../../common/db';
import { appUsersOf } from '../../common/repositories/app-users';
import { actionCountsByUser } from '../../common/repositories/audit-log';
import { invitationCountsByUser } from '../../common/repositories/invitations';

export interface LedgerFigures {
  scenario: string;
  sent: number;
  acknowledged: number;
  applied: number;
  duplicated: number;
  /** Users whose mailbox holds their invitation. */
  invitations: number;
  /** Users with more than one invitation (row, audit entry or distinct Message-ID). */
  duplicateInvitations: number;
  /** Users who received a second copy of the same message (re-sent after an interrupted try). */
  secondCopies: number;
}

/** The Message-ID header of a raw mail. */
export function messageIdOf(raw: string): string | undefined {
  return /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(raw)?.[1];
}

export async function checkLedger(
  db: Queryable,
  tenantId: string,
  scenario: string,
  sent: number,
  acknowledged: { id: string; userName: string }[],
  /** The raw mails the address received. */
  mailsTo: (address: string) => string[],
): Promise<LedgerFigures> {
  const ids = acknowledged.map((a) => a.id);
  const profiles = new Map<string, number>();
  for (const u of await appUsersOf(db, tenantId, ids)) profiles.set(u.userId, (profiles.get(u.userId) ?? 0) + 1);
  const invitations = await invitationCountsByUser(db, tenantId, ids);
  const audited = await actionCountsByUser(db, tenantId, 'invitation.sent', ids);
  const mails = acknowledged.map((a) => mailsTo(a.userName));
  const distinctIds = mails.map((m) => new Set(m.map(messageIdOf)).size);
  const figures: LedgerFigures = {
    scenario,
    sent,
    acknowledged: acknowledged.length,
    applied: profiles.size,
    duplicated: [...profiles.values()].filter((n) => n > 1).length + distinctIds.filter((n) => n > 1).length,
    invitations: mails.filter((m) => m.length >= 1).length,
    duplicateInvitations:
      distinctIds.filter((n) => n > 1).length + [...invitations.values()].filter((n) => n > 1).length + [...audited.values()].filter((n) => n > 1).length,
    secondCopies: mails.filter((m) => m.length > 1).length,
  };
  const dir = path.join(__dirname, '..', '..', 'test-results');
  fs.mkdirSync(dir, { recursive: true });
  fs.appendFileSync(path.join(dir, 'reliability.jsonl'), `${JSON.stringify({ ...figures, at: new Date().toISOString() })}\n`);
  return figures;
}
