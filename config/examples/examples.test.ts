/**
 * The example configurations of the two applications of the domain brief load and validate,
 * and their rules do what their comments say for a few typical users.
 */
import fs from 'node:fs';
import path from 'node:path';
import { desiredUser, ENTERPRISE_USER_URN } from '../../domain/desired-user';
import { parseTenantConfigDocument } from '../../domain/tenant-config-document';

const load = (file: string) => parseTenantConfigDocument(fs.readFileSync(path.join(__dirname, file), 'utf8'));
const person = (extra: Record<string, unknown> = {}) => ({
  userName: 'pat@example.org',
  name: { givenName: 'Pat', familyName: 'Lee' },
  emails: [{ value: 'pat@example.org', primary: true }],
  phoneNumbers: [{ value: '+1 555 010 0100', type: 'mobile', primary: true }],
  ...extra,
});

describe.each(['call-centre.yaml', 'admissions-crm.yaml'])('config/examples/%s', (file) => {
  test('when it is loaded, then it validates without problems', () => {
    const result = load(file);
    expect(result.problems).toEqual([]);
    expect(result.config?.rules.length).toBeGreaterThan(5);
  });
});

describe('call centre (application A)', () => {
  const config = load('call-centre.yaml').config!;

  test('when a hospice nurse in the on-call group is pushed, then rules give the client, provider accounts and extra access', () => {
    const d = desiredUser(person({ title: 'RN', [ENTERPRISE_USER_URN]: { division: 'Hospice' } }), config, ['On-Call']);
    expect(d.missing).toEqual([]);
    expect(d.clientKey).toBe('hospice');
    expect(d.providerAccounts).toEqual([
      { providerType: 'RN', orgKey: 'hospice' },
      { providerType: 'On-Call Nurse', orgKey: 'north' },
      { providerType: 'On-Call Nurse', orgKey: 'south' },
    ]);
    expect(d.memberships.map((m) => `${m.orgKey}:${m.kind}`)).toEqual(['hospice:primary', 'after-hours:extra', 'north:extra', 'south:extra']);
    expect(d.licences).toEqual([{ orgKey: 'hospice', licenceLevel: 'Enterprise', mobileLicence: 'Mobile Plus' }]);
  });

  test('when a regional manager is pushed, then both offices are Client Admin memberships', () => {
    const d = desiredUser(person(), config, ['Regional Managers']);
    expect(d.memberships).toEqual([
      { orgKey: 'north', kind: 'primary', role: 'Client Admin' },
      { orgKey: 'south', kind: 'member', role: 'Client Admin' },
      { orgKey: 'east-clinic', kind: 'extra', role: null },
    ]);
  });
});

describe('admissions CRM (application B)', () => {
  const config = load('admissions-crm.yaml').config!;

  test('when an admissions worker is pushed with core and enterprise attributes only, then the required security role and employee type come from the rules', () => {
    const d = desiredUser(person({ [ENTERPRISE_USER_URN]: { department: 'Admissions' } }), config, ['Facility - Riverside']);
    expect(d.missing).toEqual([]);
    expect(d.securityRole).toBe('Admissions Worker with Reports');
    expect(d.employeeType).toBe('Admissions');
    expect(d.settings.employeeArea).toEqual(['Assigned Agent', 'Care Coordinator']);
    expect(d.settings.facility).toEqual(['riverside']);
  });

  test('when a user is in both the VOB and the Super Users groups, then the first matching rule gives the security role', () => {
    expect(desiredUser(person(), config, ['VOB', 'CRM Super Users']).securityRole).toBe('Super User');
    expect(desiredUser(person(), config, ['VOB']).securityRole).toBe('VOB Worker');
  });

  test('when no rule gives a security role, then the user waits for data (required in application B)', () => {
    expect(desiredUser(person(), config, []).missing).toEqual(
      expect.arrayContaining([expect.stringContaining('securityRole'), expect.stringContaining('employeeType')]),
    );
  });
});

test('when a document has mistakes, then every problem is listed with its path and line', () => {
  const result = parseTenantConfigDocument(
    ['organisations:', '  - { key: north, name: North }', 'rules:', '  - when: { group: Nurses }', '    set: { client: south, securityRole: Nurse }', ''].join(
      '\n',
    ),
  );
  expect(result.problems).toEqual([
    expect.stringMatching(/^rules\.0\.set\.securityRole \(line 5\): "Nurse" is not a security role/),
    expect.stringMatching(/^rules\.0\.set\.client \(line 5\): "south" is not one of the organisations/),
  ]);
});
