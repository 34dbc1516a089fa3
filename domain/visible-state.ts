/**
 * What a user's workflow is waiting in, as everyone sees it: the workflow records it, the
 * status text, the admin API, the console and the search filters read it. One vocabulary:
 * the states and their waits as a discriminated union, one encoding (the `waitingFor` string
 * stored in provisioning_states and shown in SCIM's `provisioning.waitingFor`), one wording.
 * A new kind of wait fails to compile until it has an encoding and a text.
 */
import type { ProvisioningState } from './roles';

/** The application caches a change must pass through before the user relies on it, and the quiet period before the first invitation. */
export const PROPAGATION_WINDOWS = ['tags', 'securityRole', 'settle'] as const;
export type PropagationWindow = (typeof PROPAGATION_WINDOWS)[number];

/** What a user waits for. */
export type Wait =
  | { kind: 'data' }
  | { kind: 'seat'; orgKey: string }
  | { kind: 'propagation'; windows: PropagationWindow[] }
  | { kind: 'startDate' }
  | { kind: 'acceptance' }
  | { kind: 'resendInvitation' }
  | { kind: 'reactivation' }
  | { kind: 'endDate' }
  | { kind: 'endDateChange' }
  | { kind: 'decision'; action: 'suspend' | 'terminate' }
  | { kind: 'changeOrRetry' };
export type WaitKind = Wait['kind'];
type WaitOf<K extends WaitKind> = Extract<Wait, { kind: K }>;

/**
 * Where a user is: each state with the waits it can have. `until` is the end of the wait
 * (epoch ms) where it has one; `lastError` what a person must fix or know.
 */
export type Situation =
  | { state: 'pending' }
  | { state: 'onboarding' }
  | { state: 'terminated' }
  | { state: 'awaitingData'; wait: WaitOf<'data'>; lastError: string }
  | { state: 'waitingForSeat'; wait: WaitOf<'seat'>; until: number }
  | { state: 'waitingPropagation'; wait: WaitOf<'propagation'>; until: number }
  | { state: 'scheduled'; wait: WaitOf<'startDate'>; until: number }
  | { state: 'invited'; wait: WaitOf<'acceptance'>; until?: number }
  | { state: 'active'; wait?: WaitOf<'endDate'>; until?: number }
  | { state: 'suspended'; wait: WaitOf<'reactivation'> | WaitOf<'endDateChange'> }
  | { state: 'expired'; wait: WaitOf<'resendInvitation'> }
  | { state: 'failed'; wait: WaitOf<'changeOrRetry'>; lastError: string }
  | { state: 'deprovisionHeld'; wait: WaitOf<'decision'> }
  | { state: 'deletionRejected'; wait: WaitOf<'decision'> };

// A state of the union that is not a ProvisioningState (or one missing) fails here.
type Missing = Exclude<ProvisioningState, Situation['state']> | Exclude<Situation['state'], ProvisioningState>;
const _everyState: [Missing] extends [never] ? true : never = true;
void _everyState;

/** Waits with a parameter, stored as `<kind>:<parameter>`. */
type ParameterisedKind = 'seat' | 'propagation' | 'decision';
type PlainKind = Exclude<WaitKind, ParameterisedKind>;

/** The stored form of each wait without a parameter (as 0.2 wrote them: histories and searches hold them). */
const PLAIN: Record<PlainKind, string> = {
  data: 'data',
  startDate: 'startDate',
  acceptance: 'acceptance',
  resendInvitation: 'resendInvitation',
  reactivation: 'reactivation',
  endDate: 'endDate',
  endDateChange: 'endDate change',
  changeOrRetry: 'change or retry',
};

/** The stored `waitingFor` string: `seat:<org>`, `propagation:tags,securityRole`, `decision:suspend`, `acceptance` … */
export function encodeWait(w: Wait): string {
  switch (w.kind) {
    case 'seat':
      return `seat:${w.orgKey}`;
    case 'propagation':
      return `propagation:${w.windows.join(',')}`;
    case 'decision':
      return `decision:${w.action}`;
    default:
      return PLAIN[w.kind];
  }
}

const isWindow = (v: string): v is PropagationWindow => (PROPAGATION_WINDOWS as readonly string[]).includes(v);

/** The wait a stored `waitingFor` string names; undefined for none or a string no version wrote. */
export function decodeWait(stored: string | null | undefined): Wait | undefined {
  if (!stored) return undefined;
  const colon = stored.indexOf(':');
  const [prefix, rest] = colon < 0 ? [stored, ''] : [stored.slice(0, colon), stored.slice(colon + 1)];
  if (prefix === 'seat' && colon > 0) return { kind: 'seat', orgKey: rest };
  if (prefix === 'propagation' && colon > 0) {
    const windows = rest.split(',').filter(isWindow);
    return windows.length > 0 ? { kind: 'propagation', windows } : undefined;
  }
  if (prefix === 'decision' && (rest === 'suspend' || rest === 'terminate')) return { kind: 'decision', action: rest };
  const plain = Object.entries(PLAIN).find(([, s]) => s === stored);
  return plain ? ({ kind: plain[0] } as Wait) : undefined;
}

const WINDOW_TEXT: Record<PropagationWindow, string> = { tags: 'employee-area tags', securityRole: 'security role', settle: 'settling period' };

/** "a and b", "a, b and c" */
function joined(words: string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** What the user waits for, in words that complete "Waiting for …". Every kind must have one. */
const WAIT_TEXT: { [K in WaitKind]: (w: WaitOf<K>) => string } = {
  data: () => 'missing data from the identity provider',
  seat: (w) => `a free licence seat in ${w.orgKey}`,
  propagation: (w) => `the application to pick up the ${joined(w.windows.map((k) => WINDOW_TEXT[k]))}`,
  startDate: () => 'the HR start date',
  acceptance: () => 'the user to accept the invitation',
  resendInvitation: () => 'someone to resend the invitation',
  reactivation: () => 'reactivation by the identity provider',
  endDate: () => 'the HR end date',
  endDateChange: () => 'a change of the HR end date',
  decision: (w) => `a Super User to allow or reject the ${w.action === 'terminate' ? 'termination' : 'suspension'}`,
  changeOrRetry: () => 'a change or a retry',
};

export function describeWait(w: Wait): string {
  return (WAIT_TEXT[w.kind] as (w: Wait) => string)(w);
}

/** A stored `waitingFor` in words; an unknown string is shown as it is rather than hidden. */
export function waitingText(stored: string | null | undefined): string {
  if (!stored) return '';
  const w = decodeWait(stored);
  return w ? describeWait(w) : stored;
}

/** The kinds a person can search users by (console and admin API `waitingFor=`), in the order a list shows them. */
export const WAIT_FILTERS: readonly WaitKind[] = [
  'data',
  'seat',
  'propagation',
  'startDate',
  'acceptance',
  'resendInvitation',
  'reactivation',
  'endDate',
  'endDateChange',
  'decision',
  'changeOrRetry',
];

/** A search for a kind of wait: the stored string itself (plain kinds) or its prefix (`seat` finds `seat:<any org>`). */
export function waitFilter(kind: WaitKind): { exact: string } | { prefix: string } {
  return kind in PLAIN ? { exact: PLAIN[kind as PlainKind] } : { prefix: `${kind}:` };
}

/**
 * A search parameter as a search: a kind finds every wait of that kind (`seat` finds `seat:<any
 * org>`); a stored string finds itself (`seat:north`, `change or retry`). Undefined: neither.
 */
export function waitSearch(param: string): { exact: string } | { prefix: string } | undefined {
  if ((WAIT_FILTERS as readonly string[]).includes(param)) return waitFilter(param as WaitKind);
  const w = decodeWait(param);
  return w ? { exact: encodeWait(w) } : undefined;
}

/** The `waitingFor` a wait example shows as a filter label ("a free licence seat in any organisation"). */
export function waitFilterText(kind: WaitKind): string {
  const examples: { [K in WaitKind]: WaitOf<K> } = {
    data: { kind: 'data' },
    seat: { kind: 'seat', orgKey: 'any organisation' },
    propagation: { kind: 'propagation', windows: ['tags', 'securityRole'] },
    startDate: { kind: 'startDate' },
    acceptance: { kind: 'acceptance' },
    resendInvitation: { kind: 'resendInvitation' },
    reactivation: { kind: 'reactivation' },
    endDate: { kind: 'endDate' },
    endDateChange: { kind: 'endDateChange' },
    decision: { kind: 'decision', action: 'suspend' },
    changeOrRetry: { kind: 'changeOrRetry' },
  };
  if (kind === 'decision') return 'a Super User to allow or reject a suspension or termination';
  return describeWait(examples[kind]);
}
