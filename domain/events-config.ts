/**
 * The `events` section of a tenant's configuration (docs/events.md): present, it advertises the
 * tenant's event feed in /ServiceProviderConfig (RFC 9967 `securityEvents`; strict SCIM clients
 * such as scim2-models refuse a configuration holding it, hence opt-in); `push` also delivers the
 * feed to the tenant's receiver (RFC 8935). The feed itself is kept for every tenant and can be
 * polled (RFC 8936) either way.
 *
 *   events:
 *     push:
 *       url: https://app.example.org/scim-events
 *       authorizationSecret: EVENTS_PUSH_TOKEN   # sent as "Authorization: Bearer <value>"
 *
 * The secret is named, never written here: its value is set with
 * `npm run tenant-config -- set-secret` and kept encrypted, like a connector's.
 */
import { z } from 'zod';
import { httpUrl } from './http-url';

export const eventsConfigSchema = z.strictObject({
  /** RFC 8935: where the SETs are POSTed, one per request, in order. */
  push: z
    .strictObject({
      url: httpUrl,
      /** The name of a secret (set-secret) sent as `Authorization: Bearer <value>`; absent: no Authorization header. */
      authorizationSecret: z
        .string()
        .regex(
          /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
          'a secret name is 1-64 characters of A-Z a-z 0-9 . _ - (the value is set with `npm run tenant-config -- set-secret`)',
        )
        .optional(),
    })
    .optional(),
});

export type EventsConfig = z.output<typeof eventsConfigSchema>;
