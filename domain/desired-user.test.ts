import { desiredUser, ENTERPRISE_USER_URN, SCIMFLOW_USER_URN } from './desired-user';
import { parseTenantConfig } from './tenant-config';

const config = parseTenantConfig({
  organisations: [
    { key: 'north', name: 'North Office', licenceLevel: 'Professional', mobileLicence: 'Mobile Standard' },
    { key: 'south', name: 'South Office', licenceLevel: 'Basic' },
    { key: 'east', name: 'East Clinic', kind: 'location' },
    { key: 'campus', name: 'Main Campus', kind: 'facility' },
  ],
  defaults: { client: 'north', role: 'Client Staff' },
  providerTypes: ['RN', 'SW'],
});

const core = {
  userName: 'jane@example.org',
  name: { givenName: 'Jane', familyName: 'Doe' },
  emails: [{ value: 'Jane@Example.org', type: 'work', primary: true }],
};

describe('desiredUser', () => {
  test('when only core attributes are sent, then the tenant defaults give a client, a role and its licence', () => {
    const d = desiredUser(core, config);
    expect(d.missing).toEqual([]);
    expect(d.profile).toMatchObject({ firstName: 'Jane', lastName: 'Doe', email: 'jane@example.org' });
    expect(d.memberships).toEqual([{ orgKey: 'north', kind: 'primary', role: 'Client Staff' }]);
    expect(d.licences).toEqual([{ orgKey: 'north', licenceLevel: 'Professional', mobileLicence: 'Mobile Standard' }]);
  });

  test('when the extension names organisations by name, roles and extra access, then licences follow each organisation and not the extra access', () => {
    const d = desiredUser(
      {
        ...core,
        [SCIMFLOW_USER_URN]: {
          client: 'South Office',
          organisations: [{ value: 'north', role: 'Client Admin' }],
          extraClientAccess: ['east'],
          providerAccounts: [{ type: 'RN', organisations: ['north', 'South Office'] }],
          securityRole: 'vob worker',
          employeeAreas: ['Care Coordinator', 'Care Coordinator'],
          facilities: ['campus'],
        },
      },
      config,
    );
    expect(d.missing).toEqual([]);
    expect(d.clientKey).toBe('south');
    expect(d.memberships).toEqual([
      { orgKey: 'south', kind: 'primary', role: 'Client Staff' },
      { orgKey: 'north', kind: 'member', role: 'Client Admin' },
      { orgKey: 'east', kind: 'extra', role: null },
    ]);
    expect(d.licences.map((l) => l.orgKey)).toEqual(['south', 'north']);
    expect(d.providerAccounts).toEqual([
      { providerType: 'RN', orgKey: 'north' },
      { providerType: 'RN', orgKey: 'south' },
    ]);
    expect(d.securityRole).toBe('VOB Worker');
    expect(d.settings.employeeArea).toEqual(['Care Coordinator']);
  });

  test('when data is missing or wrong, then every reason is listed for awaitingData', () => {
    const d = desiredUser(
      {
        userName: 'no-at-sign',
        name: {},
        [SCIMFLOW_USER_URN]: { client: 'Atlantis', mobileAppUser: true, securityRole: 'Boss', providerAccounts: [{ type: 'Wizard' }] },
      },
      config,
    );
    expect(d.missing).toEqual(
      expect.arrayContaining([
        expect.stringContaining('email'),
        expect.stringContaining('name.givenName'),
        expect.stringContaining('name.familyName'),
        expect.stringContaining('"Atlantis" is not an organisation'),
        expect.stringContaining('primary phone'),
        expect.stringContaining('"Boss" is not a security role'),
        expect.stringContaining('"Wizard" is not a provider type'),
      ]),
    );
  });

  test('when the tenant requires a security role and employee type, then their absence is missing data', () => {
    const strict = parseTenantConfig({ requirements: { securityRole: true, employeeType: true } });
    expect(desiredUser(core, strict).missing).toEqual([expect.stringContaining('securityRole'), expect.stringContaining('employeeType')]);
  });

  test('when a mobile-app user has a mobile number, then it is the primary phone and other numbers are alternates', () => {
    const d = desiredUser(
      {
        ...core,
        phoneNumbers: [
          { value: '+1 555 010 0101', type: 'work' },
          { value: '(555) 010-0102', type: 'mobile' },
        ],
        [SCIMFLOW_USER_URN]: { mobileAppUser: 'True' },
        [ENTERPRISE_USER_URN]: { department: 'Nursing' },
      },
      config,
    );
    expect(d.missing).toEqual([]);
    expect(d.profile.primaryPhone).toBe('+15550100102');
    expect(d.profile.alternatePhones).toEqual(['+15550100101']);
  });

  test('when active is false, then the desired user is inactive; dates pass through', () => {
    const d = desiredUser({ ...core, active: false, [SCIMFLOW_USER_URN]: { startDate: '2027-01-04T08:00:00Z', endDate: '2027-06-30T17:00:00Z' } }, config);
    expect(d.active).toBe(false);
    expect(d.startDate).toBe('2027-01-04T08:00:00Z');
    expect(d.endDate).toBe('2027-06-30T17:00:00Z');
  });
});
