/**
 * The workflow's current details in the Temporal UI: where the user is and what comes next, in
 * plain language for the ops person on call. Pure and deterministic (workflow code); no
 * personal data beyond what `lastError` already holds.
 */
import type { UserStatus } from './definitions';

/** "2026-11-30 14:05 UTC" */
function when(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

const WINDOW_NAMES: Record<string, string> = { tags: 'employee-area tags', securityRole: 'security-role' };

function windows(waitingFor: string): string {
  const kinds = waitingFor.replace(/^propagation:/, '').split(',');
  const names = kinds.map((k) => WINDOW_NAMES[k] ?? k);
  return `${names.join(' and ')} propagation window${names.length > 1 ? 's' : ''}`;
}

export function describeStatus(s: UserStatus): string {
  const until = s.waitingUntil ? when(s.waitingUntil) : undefined;
  switch (s.state) {
    case 'pending':
      return 'Accepted from the identity provider; about to read what the user should have.';
    case 'onboarding':
      return 'Onboarding: creating the profile, organisations and roles, licences, provider accounts and access settings.';
    case 'awaitingData':
      return `Held for missing data: ${s.lastError ?? 'see the provisioning state'}. Resumes by itself when a SCIM update supplies it.`;
    case 'waitingForSeat':
      return `Waiting for a free licence seat in ${s.waitingFor?.replace(/^seat:/, '') ?? 'its organisation'}; checks again at ${until ?? 'the next change'}.`;
    case 'waitingPropagation':
      return `Waiting for the ${windows(s.waitingFor ?? '')} until ${until}, then the access check and the invitation.`;
    case 'scheduled':
      return `Account prepared; the invitation is held until ${until} (HR start date less the lead time).`;
    case 'invited':
      return `Invitation sent; waiting for acceptance. Next reminder, expiry or end date at ${until}.`;
    case 'active':
      return s.waitingFor === 'endDate' ? `Active; the HR end date applies at ${until}.` : 'Active: invitation accepted.';
    case 'suspended':
      return s.waitingFor === 'endDate change'
        ? 'Suspended on the HR end date; a changed end date reactivates.'
        : 'Suspended (SCIM active=false): login blocked, entitlements kept; active=true reactivates.';
    case 'expired':
      return 'Invitation expired unaccepted; waiting for a resend (admin API, console or the resendInvitation signal).';
    case 'failed':
      return `Failed: ${s.lastError ?? 'unknown error'}. Waiting for a SCIM change or an operator's retry (the retry signal).`;
    case 'terminated':
      return 'Terminated: login blocked, entitlements ended; the record is kept for audit.';
  }
}
