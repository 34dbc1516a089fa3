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
  test('when only core attributes are sent, then the tenant defaults give a client, a role and its licence (no mobile licence: not a mobile-app user)', () => {
    const d = desiredUser(core, config);
    expect(d.missing).toEqual([]);
    expect(d.profile).toMatchObject({ firstName: 'Jane', lastName: 'Doe', email: 'jane@example.org' });
    expect(d.memberships).toEqual([{ orgKey: 'north', kind: 'primary', role: 'Client Staff' }]);
    expect(d.licences).toEqual([{ orgKey: 'north', licenceLevel: 'Professional', mobileLicence: null }]);
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

describe('desiredUser: identifiers, phones and the smaller rules of issue 15', () => {
  const tenant = parseTenantConfig({
    organisations: [
      { key: 'north', name: 'North Office', licenceLevel: 'Professional', mobileLicence: 'Mobile Standard', services: ['app', 'mobile'] },
      { key: 'south', name: 'South Office', licenceLevel: 'Basic', mobileLicence: 'Mobile Basic', services: ['app'] },
      { key: 'dark', name: 'Dark Office', licenceLevel: 'Basic', services: [] },
      { key: 'legacy', name: 'Legacy Office', licenceLevel: 'Basic', mobileLicence: 'Mobile Basic' },
      { key: 'lakeview', name: 'Lakeview Detox', kind: 'facility' },
      { key: 'east', name: 'East Clinic', kind: 'location' },
    ],
    defaults: { client: 'north', role: 'Client Staff' },
    providerTypes: ['RN'],
    phoneRegion: 'gb',
  });
  const user = (ext: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ ...core, [SCIMFLOW_USER_URN]: ext, ...extra });

  test('when an organisation lists services, then only those give licences; without services its licences follow what it has', () => {
    const phone = { phoneNumbers: [{ value: '+44 20 7946 0001', type: 'mobile', primary: true }] };
    const d = desiredUser(
      user({ mobileAppUser: true, organisations: [{ value: 'north' }, { value: 'south' }, { value: 'dark' }, { value: 'legacy' }] }, phone),
      tenant,
    );
    expect(d.licences).toEqual([
      { orgKey: 'north', licenceLevel: 'Professional', mobileLicence: 'Mobile Standard' },
      { orgKey: 'south', licenceLevel: 'Basic', mobileLicence: null },
      { orgKey: 'legacy', licenceLevel: 'Basic', mobileLicence: 'Mobile Basic' },
    ]);
  });

  test('when a user does not use the mobile app, then no organisation gives it a mobile licence', () => {
    const d = desiredUser(user({ mobileAppUser: false, organisations: [{ value: 'north' }, { value: 'legacy' }] }), tenant);
    expect(d.licences).toEqual([
      { orgKey: 'north', licenceLevel: 'Professional', mobileLicence: null },
      { orgKey: 'legacy', licenceLevel: 'Basic', mobileLicence: null },
    ]);
    expect(d.notes).toEqual([]);
  });

  test('when a mobile-app user is only in organisations without the mobile service, then it has no mobile licence and a note says why', () => {
    const phone = { phoneNumbers: [{ value: '+44 20 7946 0001', type: 'mobile', primary: true }] };
    const d = desiredUser(user({ mobileAppUser: true, client: 'south' }, phone), tenant);
    expect(d.licences).toEqual([{ orgKey: 'south', licenceLevel: 'Basic', mobileLicence: null }]);
    expect(d.missing).toEqual([]);
    expect(d.notes).toEqual([expect.stringMatching(/^mobileLicence: none of the user's organisations \(south\) offers the mobile service/)]);
  });

  test('when the application has one Name field (requirements.name: full), then displayName or name.formatted alone is enough', () => {
    const oneName = parseTenantConfig({
      organisations: [{ key: 'north', name: 'North Office' }],
      defaults: { client: 'north' },
      requirements: { name: 'full' },
    });
    const withDisplayName = desiredUser({ userName: 'a@example.org', displayName: 'Ana María', emails: [{ value: 'a@example.org' }] }, oneName);
    expect(withDisplayName.missing).toEqual([]);
    expect(withDisplayName.profile).toMatchObject({ displayName: 'Ana María', firstName: null, lastName: null });
    const formatted = desiredUser({ userName: 'b@example.org', name: { formatted: 'Bo Li' }, emails: [{ value: 'b@example.org' }] }, oneName);
    expect(formatted.missing).toEqual([]);
    expect(formatted.profile.displayName).toBe('Bo Li');
    const nameless = desiredUser({ userName: 'c@example.org', emails: [{ value: 'c@example.org' }] }, oneName);
    expect(nameless.missing).toEqual(['displayName: a name is required (displayName, name.formatted, or name.givenName and name.familyName)']);
    // The default still asks for first and last name.
    expect(desiredUser({ userName: 'a@example.org', displayName: 'Ana María', emails: [{ value: 'a@example.org' }] }, tenant).missing).toEqual([
      'name.givenName: first name is required',
      'name.familyName: last name is required',
    ]);
  });

  test('when facilities are sent by name in any case, then they are stored as the facility keys; other kinds and unknown names hold the user', () => {
    expect(desiredUser(user({ facilities: ['lakeview detox', 'LAKEVIEW'] }), tenant).settings.facility).toEqual(['lakeview']);
    expect(desiredUser(user({ facilities: ['East Clinic', 'Nowhere'] }), tenant).missing).toEqual([
      'facilities: "East Clinic" is an organisation of kind location, not a facility',
      'facilities: "Nowhere" is not a facility of this tenant',
    ]);
  });

  test("when a provider account names an organisation that is not one of the user's, then the user is held with the reason", () => {
    const d = desiredUser(user({ providerAccounts: [{ type: 'RN', organisations: ['south'] }] }), tenant);
    expect(d.providerAccounts).toEqual([]);
    expect(d.missing).toEqual([
      expect.stringMatching(/^providerAccounts: RN in "South Office" \(south\), which is not one of the user's organisations \(north\)/),
    ]);
    const withAccess = desiredUser(user({ providerAccounts: [{ type: 'RN', organisations: ['south'] }], extraClientAccess: ['south'] }), tenant);
    expect(withAccess.missing).toEqual([]);
    expect(withAccess.providerAccounts).toEqual([{ providerType: 'RN', orgKey: 'south' }]);
  });

  test('when displayName, name.formatted or only the parts are sent, then the single Name field takes them in that order', () => {
    expect(desiredUser({ ...core, displayName: 'Dr Jane Doe', name: { ...core.name, formatted: 'Jane Q. Doe' } }, tenant).profile.displayName).toBe(
      'Dr Jane Doe',
    );
    expect(desiredUser({ ...core, name: { ...core.name, formatted: 'Jane Q. Doe' } }, tenant).profile.displayName).toBe('Jane Q. Doe');
    expect(desiredUser(core, tenant).profile.displayName).toBe('Jane Doe');
  });

  test("when phones are written in the tenant's region, then the directory gets E.164; an unusable informational number is left out with a note", () => {
    const d = desiredUser(
      user(
        {},
        { phoneNumbers: [{ value: '020 7946 0958', type: 'work', primary: true }, { value: 'call me maybe', type: 'home' }, { value: '+44 20 7946 0958' }] },
      ),
      tenant,
    );
    expect(d.missing).toEqual([]);
    expect(d.profile.primaryPhone).toBe('+442079460958');
    expect(d.profile.alternatePhones).toEqual([]);
    expect(d.notes).toEqual(['phoneNumbers[1].value: "call me maybe" is not a phone number; left out of the directory (not a login phone)']);
  });

  test('when a mobile-app user has an unusable login phone, then the user is held with the reason', () => {
    const d = desiredUser(user({ mobileAppUser: true }, { phoneNumbers: [{ value: 'call me maybe', type: 'mobile' }] }), tenant);
    expect(d.profile.primaryPhone).toBeNull();
    expect(d.missing).toEqual(['phoneNumbers[0].value: "call me maybe" cannot be the mobile login: it is not a phone number']);
  });

  test('when a stored email is not one address, or userName is not one, then the user is held with the reason', () => {
    expect(desiredUser({ ...core, emails: [{ value: 'a@x.org, b@y.org' }] }, tenant).missing).toEqual([
      'emails[0].value: "a@x.org, b@y.org" holds more than one address; send one address per emails[] entry',
    ]);
    expect(desiredUser({ ...core, emails: undefined, userName: 'Trusted <b@evil.example>' }, tenant).missing).toEqual([
      'email: no work email and userName is not an address',
    ]);
    expect(desiredUser({ ...core, emails: undefined }, tenant).profile.email).toBe('jane@example.org');
  });
});
