/**
 * RFC 9967 §4: what /ServiceProviderConfig says of the event feed, `securityEvents` with
 * `asyncRequest` ("request": an asynchronous answer when the client asks for one, events/async.ts)
 * and `eventUris` (only the URIs scimflow emits, events/uris.ts).
 *
 * Served only to a tenant whose configuration has an `events` section
 * (domain/events-config.ts): scim2-models (behind scim2-client and scim2-tester) parses
 * /ServiceProviderConfig strictly against RFC 7643 and refuses the whole document when it
 * holds an attribute it does not know, securityEvents included (0.12.3), so advertising it to
 * every tenant would stop such clients at discovery (scim-server/discovery.int.test.ts).
 */
import type { Queryable } from '../common/db';
import { currentConfig } from '../common/repositories/tenants';
import { emittedEventUris } from './uris';

export interface SecurityEventsCapability {
  asyncRequest: 'none' | 'long' | 'request';
  eventUris: string[];
}

export function securityEventsCapability(lifecycleEmitted?: boolean): SecurityEventsCapability {
  return { asyncRequest: 'request', eventUris: emittedEventUris(lifecycleEmitted) };
}

/** The tenant's `securityEvents`, or undefined when its configuration does not advertise the feed. */
export async function securityEventsOf(db: Queryable, tenantId: string): Promise<SecurityEventsCapability | undefined> {
  return (await currentConfig(db, tenantId)).config.events ? securityEventsCapability() : undefined;
}
