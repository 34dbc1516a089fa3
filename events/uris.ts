/**
 * The event URIs scimflow emits (docs/events.md). SCIM's own are RFC 9967's (§2.4, §2.5.1.3),
 * always in the `:notice` form: a receiver learns which attributes changed and reads the user
 * with a SCIM GET, so no personal data travels in a SET.
 *
 * scimflow's lifecycle outcomes have no RFC 9967 URI. They are not put under
 * `urn:ietf:params:scim:event`: that namespace is IANA's (RFC 9967 §7.3: a registry with expert
 * review, whose class must be feed, prov or misc), and a name squatted there could be given to
 * something else. Nor under the deployment's PUBLIC_URL, which differs between deployments
 * while a receiver's code compares constants. They are `urn:scimflow:event:<outcome>`: stable,
 * collision-free in practice (the product's name), and plainly not an IETF name. ("scimflow" is
 * not a registered URN namespace; a receiver compares the strings, listed in
 * /ServiceProviderConfig `securityEvents.eventUris`.)
 */

export const SCIM_EVENT_PREFIX = 'urn:ietf:params:scim:event:';

/** RFC 9967's events, as scimflow emits them. */
export const SCIM_EVENTS = {
  create: 'urn:ietf:params:scim:event:prov:create:notice',
  patch: 'urn:ietf:params:scim:event:prov:patch:notice',
  put: 'urn:ietf:params:scim:event:prov:put:notice',
  delete: 'urn:ietf:params:scim:event:prov:delete',
  activate: 'urn:ietf:params:scim:event:prov:activate',
  deactivate: 'urn:ietf:params:scim:event:prov:deactivate',
  asyncResponse: 'urn:ietf:params:scim:event:misc:asyncresp',
} as const;

/** scimflow's own outcomes of a user's onboarding (events/lifecycle.ts). */
export const LIFECYCLE_OUTCOMES = ['invited', 'accepted', 'expired', 'failed', 'held'] as const;
export type LifecycleOutcome = (typeof LIFECYCLE_OUTCOMES)[number];

export const SCIMFLOW_EVENT_PREFIX = 'urn:scimflow:event:';

export function lifecycleEventUri(outcome: LifecycleOutcome): string {
  return `${SCIMFLOW_EVENT_PREFIX}${outcome}`;
}

/**
 * Whether the activities append the lifecycle events (events/lifecycle.ts): they do (invited,
 * expired in activities/invitations.ts; accepted, failed in activities/lifecycle.ts; held in
 * activities/provisioning.ts), so /ServiceProviderConfig lists them.
 */
export const LIFECYCLE_EVENTS_EMITTED = true;

/**
 * The event URIs emitted, in the order /ServiceProviderConfig lists them. misc:asyncresp is
 * emitted for every asynchronous request: at once for a group write and a user write that
 * changes nothing; for any other user write when its workflow has carried it (the activities).
 */
export function emittedEventUris(lifecycleEmitted = LIFECYCLE_EVENTS_EMITTED): string[] {
  return [
    SCIM_EVENTS.create,
    SCIM_EVENTS.patch,
    SCIM_EVENTS.put,
    SCIM_EVENTS.delete,
    SCIM_EVENTS.activate,
    SCIM_EVENTS.deactivate,
    SCIM_EVENTS.asyncResponse,
    ...(lifecycleEmitted ? LIFECYCLE_OUTCOMES.map(lifecycleEventUri) : []),
  ];
}
