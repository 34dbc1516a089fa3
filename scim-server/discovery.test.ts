/** /ServiceProviderConfig's RFC 9967 `securityEvents` (the strict parse of the whole document is discovery.int.test.ts's). */
import { securityEventsCapability } from '../events/discovery';
import { withSecurityEvents } from './discovery';

test('when a tenant advertises its event feed, then securityEvents is added before meta and nothing else changes', () => {
  const config = {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    patch: { supported: true },
    meta: { resourceType: 'ServiceProviderConfig' },
  };
  const spc = withSecurityEvents(config, securityEventsCapability(false));
  expect(Object.keys(spc)).toEqual(['schemas', 'patch', 'securityEvents', 'meta']);
  expect(spc.securityEvents).toEqual({ asyncRequest: 'request', eventUris: expect.arrayContaining(['urn:ietf:params:scim:event:prov:create:notice']) });
  expect(config).not.toHaveProperty('securityEvents');
});
