/**
 * The demo tenant of all-in-one mode: an example configuration covering both applications of
 * the domain brief, with a default client and role so a user pushed with core SCIM
 * attributes only onboards all the way to `invited`.
 */
import type { TenantConfigInput } from '../domain/tenant-config';

export const DEMO_TENANT_ID = 'demo';

export function demoTenantConfig(overrides: { tagPropagation?: string; rolePropagation?: string; settle?: string } = {}): TenantConfigInput {
  return {
    organisations: [
      {
        key: 'north',
        name: 'North Office',
        kind: 'client',
        licenceLevel: 'Professional',
        mobileLicence: 'Mobile Standard',
        services: ['app', 'mobile'],
        seatLimit: 500,
      },
      { key: 'south', name: 'South Office', kind: 'client', licenceLevel: 'Professional', services: ['app'], seatLimit: 200 },
      { key: 'east-clinic', name: 'East Clinic', kind: 'location', services: [] },
      { key: 'main-campus', name: 'Main Campus', kind: 'facility', services: [] },
      { key: 'riverside', name: 'Riverside Recovery Center', kind: 'facility', services: [] },
    ],
    defaults: { client: 'north', role: 'Client Staff' },
    providerTypes: ['RN', 'LPN', 'SW', 'Chaplain', 'Aide', 'Administrator'],
    employeeTypes: ['Admissions', 'Business Development', 'Clinical', 'Intake', 'Management', 'Other'],
    propagation: { tags: overrides.tagPropagation ?? '10m', securityRole: overrides.rolePropagation ?? '1h' },
    invitation: {
      applicationName: 'CareConnect',
      subject: 'Your {{applicationName}} account is ready',
      reminders: ['3d', '7d'],
      expiresAfter: '14d',
      startLeadTime: '1d',
      settle: overrides.settle ?? '60s',
    },
    endDateAction: 'suspend',
    seatRecheckInterval: '5m',
    // The event feed (docs/events.md) is advertised in /ServiceProviderConfig; EVENTS_URL polls it.
    events: {},
  };
}
