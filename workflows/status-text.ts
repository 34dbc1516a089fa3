/**
 * The workflow's current details in the Temporal UI: where the user is and what comes next, in
 * plain language for the ops person on call. Pure and deterministic (workflow code); no
 * personal data beyond what `lastError` already holds.
 */
import { decodeWait, describeWait } from '../domain/visible-state';
import type { UserStatus } from './definitions';

/** "2026-11-30 14:05 UTC" */
function when(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

export function describeStatus(s: UserStatus): string {
  const until = s.waitingUntil ? when(s.waitingUntil) : undefined;
  const wait = decodeWait(s.waitingFor);
  switch (s.state) {
    case 'pending':
      return 'Accepted from the identity provider; about to read what the user should have.';
    case 'onboarding':
      return 'Onboarding: creating the profile, organisations and roles, licences, provider accounts and access settings.';
    case 'awaitingData':
      return `Held for missing or conflicting data: ${s.lastError ?? 'see the provisioning state'}. Access no longer wanted is removed and login is blocked; resumes by itself when a SCIM update (or the release of a login) completes the data.`;
    case 'waitingForSeat':
      return `Waiting for ${wait ? describeWait(wait) : 'a free licence seat in its organisation'}; checks again at ${until ?? 'the next change'}.`;
    case 'waitingPropagation':
      return `Waiting for ${wait ? describeWait(wait) : 'the application to pick up the changes'} until ${until}, then the access check and the invitation.${wait?.kind === 'propagation' && wait.windows.includes('settle') ? ' (Settling: the first invitation waits until the identity provider has sent no change for this user for a while; each change restarts it.)' : ''}`;
    case 'scheduled':
      return `Account prepared; the invitation is held until ${until} (HR start date less the lead time).`;
    case 'invited':
      return `Invitation sent; waiting for acceptance. Next reminder, expiry or end date at ${until}.`;
    case 'active':
      return wait?.kind === 'endDate' ? `Active; the HR end date applies at ${until}.` : 'Active: invitation accepted.';
    case 'suspended':
      return wait?.kind === 'endDateChange'
        ? 'Suspended on the HR end date; a changed end date reactivates.'
        : 'Suspended (SCIM active=false): login blocked, entitlements kept; active=true reactivates.';
    case 'expired':
      return 'Invitation expired unaccepted; waiting for a resend (admin API, console or the resendInvitation signal).';
    case 'failed':
      return `Failed: ${s.lastError ?? 'unknown error'}. Waiting for a SCIM change or an operator's retry (the retry signal).`;
    case 'terminated':
      return 'Terminated: login blocked, entitlements ended; the record is kept for audit.';
    case 'deprovisionHeld':
      return `Held by the mass-deprovisioning guard: a ${wait?.kind === 'decision' && wait.action === 'terminate' ? 'termination' : 'suspension'} beyond the tenant's threshold waits for a Super User to allow or reject it (admin API or console). Access is unchanged meanwhile.`;
    case 'deletionRejected':
      return 'The identity provider deleted this user and a Super User rejected the termination: access is kept. Allowing the held change later terminates the user.';
  }
}
