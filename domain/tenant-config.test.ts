import { parseStoredTenantConfig, validateTenantConfig } from './tenant-config';

const problems = (input: unknown) => {
  const r = validateTenantConfig(input);
  return r.ok ? [] : r.problems.map((p) => `${p.path.join('.')}: ${p.message}`);
};

describe('tenant configuration: strict keys', () => {
  test('when a key is misspelt anywhere, then it is a problem at its own path with a "did you mean"', () => {
    expect(
      problems({
        organisations: [{ key: 'north', name: 'North', seatlimit: 5 }],
        propagaton: { tags: '0s' },
        endDateActon: 'terminate',
        invitation: { expiresAfer: '3d' },
        rules: [{ when: { group: 'A' }, set: { securityRole: 'VOB Worker', mobileApUser: true } }],
      }),
    ).toEqual([
      'organisations.0.seatlimit: unknown key "seatlimit"; did you mean "seatLimit"?',
      'rules.0.set.mobileApUser: unknown key "mobileApUser"; did you mean "mobileAppUser"?',
      'invitation.expiresAfer: unknown key "expiresAfer"; did you mean "expiresAfter"?',
      'propagaton: unknown key "propagaton"; did you mean "propagation"?',
      'endDateActon: unknown key "endDateActon"; did you mean "endDateAction"?',
    ]);
  });

  test('when an unknown key is nothing like a known one, then the known keys are listed', () => {
    expect(problems({ requirements: { frobnicate: true } })).toEqual([
      'requirements.frobnicate: unknown key "frobnicate"; the keys here are: securityRole, employeeType, phoneForMobileUsers, name',
    ]);
  });

  test('when services, facilities or the phone region are wrong, then each is a problem', () => {
    expect(
      problems({
        organisations: [
          { key: 'north', name: 'North', services: ['app', 'mobil'] },
          { key: 'east', name: 'East', kind: 'location' },
        ],
        phoneRegion: 'XX',
        rules: [{ when: { group: 'A' }, set: { facilities: ['East'] } }],
      }),
    ).toEqual([
      'organisations.0.services.1: "mobil" is not a service; use app (the application licence) or mobile (the mobile licence)',
      'phoneRegion: "XX" is not a region code; use an ISO 3166-1 alpha-2 code such as US, CA or GB',
      'organisations.0.services: lists app, but licenceLevel is not set (the level of the app licence)',
      'rules.0.set.facilities.0: "East" is an organisation of kind location, not a facility',
    ]);
  });

  test('when nothing is said about the phone region, then it is US; a lower-case code is accepted', () => {
    expect(validateTenantConfig({})).toMatchObject({ ok: true, config: { phoneRegion: 'US' } });
    expect(validateTenantConfig({ phoneRegion: 'gb' })).toMatchObject({ ok: true, config: { phoneRegion: 'GB' } });
  });

  test('when a version stored before a cross-check existed is read, then it still loads', () => {
    const stored = { organisations: [{ key: 'east', name: 'East', kind: 'location' }], rules: [{ when: { group: 'A' }, set: { facilities: ['east'] } }] };
    expect(problems(stored)).toHaveLength(1);
    expect(parseStoredTenantConfig(stored).rules).toHaveLength(1);
  });
});
