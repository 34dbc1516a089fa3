/**
 * What an admin can do about a state or an error the workflow reports: the "recommended action"
 * of a provisioning log. Pure. The first matching rule wins; new lastError texts add a rule.
 */
import { decodeWait } from '../domain/visible-state';

/** The organisation a seat wait names. */
function seatOrg(waitingFor: string | null | undefined): string | undefined {
  const w = decodeWait(waitingFor);
  return w?.kind === 'seat' ? w.orgKey : undefined;
}

export interface AdviceInput {
  state: string | null;
  waitingFor?: string | null;
  lastError?: string | null;
}

interface Rule {
  when: (i: AdviceInput) => boolean;
  advice: (i: AdviceInput) => string;
}

const error = (re: RegExp) => (i: AdviceInput) => !!i.lastError && re.test(i.lastError);

const RULES: Rule[] = [
  {
    when: (i) => i.state === 'awaitingData' && !!i.lastError && /is already the login of user/.test(i.lastError),
    advice: () =>
      'Another user already logs in with this email or mobile phone (the IdP may send a shared mailbox). Give this user its own ' +
      'address in the identity provider, or terminate the other user if it left; this user continues by itself once the login is free.',
  },
  {
    when: (i) => i.state === 'deprovisionHeld',
    advice: () =>
      'More users than the tenant allows were to lose access at once. If the identity provider meant it, allow the held change; ' +
      'if it was a scope or group mistake, reject it (the user keeps its access) and fix the identity provider.',
  },
  {
    when: (i) => i.state === 'deletionRejected',
    advice: () => 'The deletion was rejected, so the user keeps its access. Allow the held change when the user should be terminated after all.',
  },
  {
    when: (i) => i.state === 'awaitingData',
    advice: (i) =>
      `Send the missing data from the identity provider${i.lastError ? ` (${i.lastError})` : ''}, or give it a default or a mapping rule in the policy. ` +
      'The user continues by itself when it arrives.',
  },
  {
    when: (i) => i.state === 'waitingForSeat',
    advice: (i) =>
      `Every seat of ${seatOrg(i.waitingFor) ?? 'the organisation'} is taken. Raise its seatLimit in the policy or free a seat ` +
      '(terminate a leaver); the workflow checks again by itself.',
  },
  {
    when: (i) => i.state === 'expired',
    advice: () => 'The invitation expired unanswered. Resend the invitation, or terminate the user if they do not need access.',
  },
  { when: (i) => i.state === 'suspended', advice: () => 'Login is blocked. Reactivate here or assign the user in the identity provider again.' },
  { when: error(/no longer exists/i), advice: () => 'The SCIM user was deleted; the workflow terminates it. Nothing to do.' },
  { when: error(/no email address|No recipients defined/i), advice: () => 'Send a valid work email from the identity provider, then retry.' },
  {
    when: error(/refused the (invitation|reminder) .* for good/i),
    advice: () =>
      "The mail server rejected the user's address for good (it does not exist). Correct the email in the identity provider; " +
      'the invitation is sent to the new address by itself.',
  },
  {
    when: error(/smtp|ECONNREFUSED|ETIMEDOUT|EAUTH|mail|recipient/i),
    advice: () => 'The mail server refused the message or could not be reached. Check SMTP_URL and the address, then retry.',
  },
  {
    when: error(/access not effective/i),
    advice: () => 'The directory does not show the access yet. Retry; if it fails again, compare "should have" and "has" on this page.',
  },
  {
    when: (i) => i.state === 'failed',
    advice: () => 'Retry. If it fails again, open the workflow in the Temporal UI for the full error, or fix the data it names in the identity provider.',
  },
];

/** The recommended action, or undefined when the state needs nobody. */
export function adviceFor(input: AdviceInput): string | undefined {
  return RULES.find((r) => r.when(input))?.advice(input);
}
