import { desiredUser, ENTERPRISE_USER_URN, SCIMFLOW_USER_URN } from './desired-user';
import { attributeValues, evaluatePolicy, matches, type Condition, type Rule } from './policy';
import { parseTenantConfig, validateTenantConfig, type TenantConfigInput } from './tenant-config';

const core = {
  userName: 'jane@example.org',
  name: { givenName: 'Jane', familyName: 'Doe' },
  emails: [{ value: 'jane@example.org', type: 'work', primary: true }],
};
const nurse = {
  ...core,
  title: 'RN',
  userType: 'Employee',
  roles: [{ value: 'Night shift', type: 'shift' }],
  [ENTERPRISE_USER_URN]: { department: 'Admissions', division: 'East', manager: { value: 'm-1', displayName: 'Boss' } },
};

function config(rules: unknown[], extra: Partial<TenantConfigInput> = {}) {
  return parseTenantConfig({
    organisations: [
      { key: 'north', name: 'North Office', licenceLevel: 'Professional' },
      { key: 'south', name: 'South Office', licenceLevel: 'Basic' },
      { key: 'east', name: 'East Clinic', kind: 'location' },
      { key: 'campus', name: 'Main Campus', kind: 'facility' },
    ],
    defaults: { client: 'north', role: 'Client Staff', securityRole: 'Analytics Only', employeeType: 'Other' },
    providerTypes: ['RN', 'SW'],
    rules,
    ...extra,
  });
}

const holds = (when: unknown, subject = { doc: nurse as Record<string, unknown>, groups: ['Nurses', 'Facility - Riverside'] }) =>
  matches(config([{ when, set: { caseManager: true } }]).rules[0].when as Condition, subject);

describe('rule conditions', () => {
  test.each([
    { what: 'a group by displayName, ignoring case', when: { group: 'nurses' }, expected: true },
    { what: 'a group the user is not in', when: { group: 'Chaplains' }, expected: false },
    { what: 'a group pattern', when: { groupMatches: '^facility - ' }, expected: true },
    { what: 'a core attribute', when: { attribute: 'title', equals: 'rn' }, expected: true },
    { what: 'a core attribute in a list', when: { attribute: 'userType', in: ['Contractor', 'Employee'] }, expected: true },
    { what: 'an enterprise attribute by its full path', when: { attribute: `${ENTERPRISE_USER_URN}:department`, equals: 'Admissions' }, expected: true },
    { what: 'the enterprise manager (its value)', when: { attribute: `${ENTERPRISE_USER_URN}:manager`, equals: 'm-1' }, expected: true },
    { what: 'a sub-attribute', when: { attribute: `${ENTERPRISE_USER_URN}:manager.displayName`, matches: '^bo' }, expected: true },
    { what: 'a multi-valued attribute (any value)', when: { attribute: 'roles.value', equals: 'Night shift' }, expected: true },
    { what: 'presence', when: { attribute: 'nickName', present: false }, expected: true },
    { what: 'presence of a missing attribute', when: { attribute: 'nickName', present: true }, expected: false },
    { what: 'all of', when: { all: [{ group: 'Nurses' }, { attribute: 'title', equals: 'RN' }] }, expected: true },
    { what: 'all of, one failing', when: { all: [{ group: 'Nurses' }, { attribute: 'title', equals: 'SW' }] }, expected: false },
    { what: 'any of', when: { any: [{ group: 'Chaplains' }, { attribute: 'title', equals: 'RN' }] }, expected: true },
    { what: 'not', when: { not: { group: 'Chaplains' } }, expected: true },
  ])('when a rule tests $what, then it holds: $expected', ({ when, expected }) => {
    expect(holds(when)).toBe(expected);
  });

  test('when an attribute path names the core schema, then it reads the core attribute', () => {
    expect(attributeValues(nurse, 'urn:ietf:params:scim:schemas:core:2.0:User:title')).toEqual(['RN']);
    expect(attributeValues(nurse, 'emails.value')).toEqual(['jane@example.org']);
  });

  test('when conditions or values are malformed, then validation lists every problem with its path', () => {
    const result = validateTenantConfig({
      organisations: [{ key: 'north', name: 'North' }],
      rules: [
        { when: { grup: 'x' }, set: { caseManager: true } },
        { when: { attribute: 'title', equals: 'RN', in: ['x'] }, set: { securityRole: 'VOB worker' } },
        { when: { attribute: 'title', matches: '(' }, set: { client: 'nowhere', unknownField: 1 } },
        { when: { all: [] }, set: {} },
      ],
    });
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems.map((p) => `${p.path.join('.')}: ${p.message}`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^rules\.0\.when: unknown condition "grup"/),
        expect.stringMatching(/^rules\.1\.when: an attribute condition needs exactly one of/),
        expect.stringMatching(/^rules\.1\.set\.securityRole: "VOB worker" is not a security role/),
        expect.stringMatching(/^rules\.2\.when\.matches: not a valid regular expression/),
        expect.stringMatching(/^rules\.2\.set\.unknownField: unknown key "unknownField"; the keys here are: client, clientRole/),
        expect.stringMatching(/^rules\.2\.set\.client: "nowhere" is not one of the organisations/),
        expect.stringMatching(/^rules\.3\.when\.all: "all" must be a non-empty list/),
        expect.stringMatching(/^rules\.3\.set: a rule must set at least one field/),
      ]),
    );
  });

  test('when rule values fall outside the tenant catalogues, then validation names them', () => {
    const result = validateTenantConfig({
      providerTypes: ['RN'],
      employeeAreas: ['Care Coordinator'],
      securityRoles: ['VOB Worker'],
      rules: [{ when: { group: 'x' }, set: { providerAccounts: [{ type: 'LPN' }], employeeAreas: ['Care coordinator'], securityRole: 'Super User' } }],
    });
    expect(result.ok ? [] : result.problems.map((p) => p.path.join('.'))).toEqual([
      'rules.0.set.providerAccounts.0.type',
      'rules.0.set.securityRole',
      'rules.0.set.employeeAreas.0',
    ]);
  });
});

describe('rule merge', () => {
  const rules = config([
    {
      name: 'admins',
      when: { group: 'Office Admins' },
      set: { securityRole: 'Super User', employeeAreas: ['Care Coordinator'], organisations: [{ value: 'south', role: 'Client Admin' }] },
    },
    {
      name: 'nurses',
      when: { group: 'Nurses' },
      set: {
        securityRole: 'VOB Worker',
        employeeAreas: ['Assigned Agent', 'care coordinator'],
        organisations: [{ value: 'south', role: 'Client Staff' }, { value: 'east' }],
      },
    },
    { name: 'never', when: { group: 'Nobody' }, set: { securityRole: 'Analytics Only' } },
  ]).rules as Rule[];

  test('when several rules match, then single values come from the first and lists are the union in rule order', () => {
    const v = evaluatePolicy(rules, { doc: core, groups: ['Nurses', 'Office Admins'] });
    expect(v.matchedRules).toEqual(['admins', 'nurses']);
    expect(v.securityRole).toBe('Super User');
    expect(v.employeeAreas).toEqual(['Care Coordinator', 'Assigned Agent']);
    // An organisation's role: the first rule naming it with one.
    expect(v.organisations).toEqual([
      { value: 'south', role: 'Client Admin' },
      { value: 'east', role: undefined },
    ]);
  });

  test('when no rule matches, then nothing is set', () => {
    const v = evaluatePolicy(rules, { doc: core, groups: [] });
    expect(v).toMatchObject({ matchedRules: [], employeeAreas: [], organisations: [] });
    expect(v.securityRole).toBeUndefined();
  });
});

describe('precedence: explicit extension values, then rules, then tenant defaults', () => {
  const cfg = config([
    {
      name: 'nurses',
      when: { group: 'Nurses' },
      set: {
        securityRole: 'VOB Worker',
        employeeType: 'Clinical',
        client: 'south',
        clientRole: 'Client Admin',
        extraClientAccess: ['east'],
        providerAccounts: [{ type: 'RN' }],
        employeeAreas: ['Care Coordinator'],
        facilities: ['campus'],
        notifications: { email: ['Admitted'] },
        caseManager: true,
        mobileAppUser: false,
        allowGridExport: true,
      },
    },
  ]);

  test('when a rule matches and the extension says nothing, then the rule decides over the defaults', () => {
    const d = desiredUser(core, cfg, ['Nurses']);
    expect(d.missing).toEqual([]);
    expect(d).toMatchObject({
      securityRole: 'VOB Worker',
      employeeType: 'Clinical',
      clientKey: 'south',
      caseManager: true,
      allowGridExport: true,
      matchedRules: ['nurses'],
    });
    expect(d.memberships).toEqual([
      { orgKey: 'south', kind: 'primary', role: 'Client Admin' },
      { orgKey: 'east', kind: 'extra', role: null },
    ]);
    expect(d.providerAccounts).toEqual([{ providerType: 'RN', orgKey: 'south' }]);
    expect(d.settings).toMatchObject({ employeeArea: ['Care Coordinator'], facility: ['campus'], emailNotification: ['Admitted'] });
  });

  test('when no rule matches, then the tenant defaults apply', () => {
    const d = desiredUser(core, cfg, ['Chaplains']);
    expect(d).toMatchObject({ securityRole: 'Analytics Only', employeeType: 'Other', clientKey: 'north', caseManager: false, matchedRules: [] });
    expect(d.memberships).toEqual([{ orgKey: 'north', kind: 'primary', role: 'Client Staff' }]);
  });

  test('when the extension has explicit values, then they win over the rule, field by field', () => {
    const d = desiredUser(
      {
        ...core,
        [SCIMFLOW_USER_URN]: {
          securityRole: 'Analytics Only',
          organisations: [{ value: 'north', role: 'Client Staff' }],
          employeeAreas: ['Relationship Manager'],
          caseManager: 'False', // Entra's boolean string is explicit too
          teams: [], // an empty list is not explicit: the rule (none for teams) or nothing
        },
      },
      cfg,
      ['Nurses'],
    );
    expect(d.securityRole).toBe('Analytics Only');
    expect(d.clientKey).toBe('north'); // explicit organisations decide the client before the rule's client
    expect(d.memberships[0]).toEqual({ orgKey: 'north', kind: 'primary', role: 'Client Staff' });
    expect(d.settings.employeeArea).toEqual(['Relationship Manager']);
    expect(d.caseManager).toBe(false);
    // Fields the extension leaves out still come from the rule.
    expect(d.employeeType).toBe('Clinical');
    expect(d.settings.facility).toEqual(['campus']);
  });

  test('when a tenant keeps a catalogue, then an explicit value outside it is missing data', () => {
    const strict = config([], { employeeAreas: ['Care Coordinator'], securityRoles: ['VOB Worker', 'Analytics Only'] });
    const d = desiredUser({ ...core, [SCIMFLOW_USER_URN]: { employeeAreas: ['Care coordinator'], securityRole: 'Super User' } }, strict);
    expect(d.missing).toEqual([
      expect.stringContaining('"Super User" is not a security role of this tenant'),
      expect.stringContaining('"Care coordinator" is not one of'),
    ]);
  });
});
