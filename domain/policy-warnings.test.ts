import { implies, ruleWarnings } from './policy-warnings';
import type { Condition } from './policy';
import { parseTenantConfig } from './tenant-config';

const config = (rules: unknown[], extra: Record<string, unknown> = {}) =>
  parseTenantConfig({ organisations: [{ key: 'north', name: 'North' }], rules, ...extra });
const warnings = (rules: unknown[], extra: Record<string, unknown> = {}) => ruleWarnings(config(rules, extra)).map((w) => `${w.path.join('.')}: ${w.message}`);

describe('implies', () => {
  const g = (group: string): Condition => ({ group });
  const title = (equals: string): Condition => ({ attribute: 'title', equals });
  test.each<[string, Condition, Condition, boolean]>([
    ['the same condition', g('Nurses'), g('nurses'), true],
    ['a different group', g('Nurses'), g('Chaplains'), false],
    ['all of a list, one of its parts', { all: [g('On-Call'), g('Nurses')] }, g('Nurses'), true],
    ['one part, all of a list', g('Nurses'), { all: [g('On-Call'), g('Nurses')] }, false],
    ['one option, any of a list', g('Nurses'), { any: [g('Nurses'), title('RN')] }, true],
    ['any of a list, one option', { any: [g('Nurses'), title('RN')] }, g('Nurses'), false],
    ['equals, in', title('RN'), { attribute: 'title', in: ['RN', 'LPN'] }, true],
    ['in, equals', { attribute: 'title', in: ['RN', 'LPN'] }, title('RN'), false],
    ['equals, present', title('RN'), { attribute: 'title', present: true }, true],
    ['equals on another attribute', title('RN'), { attribute: 'userType', equals: 'RN' }, false],
    ['the core URN form of the same attribute', title('RN'), { attribute: 'urn:ietf:params:scim:schemas:core:2.0:User:title', equals: 'rn' }, true],
    ['not b, not a (contraposition)', { not: { attribute: 'title', in: ['RN', 'LPN'] } }, { not: title('RN') }, true],
    ['a regular expression, the same one', { attribute: 'title', matches: '^R' }, { attribute: 'title', matches: '^R' }, true],
    ['equals, a regular expression (not decided)', title('RN'), { attribute: 'title', matches: '^R' }, false],
  ])('when a is %s, then implies is right', (_what, a, b, expected) => expect(implies(a, b)).toBe(expected));
});

describe('ruleWarnings', () => {
  test('when a later rule with the same condition sets only fields an earlier one sets, then it is shadowed', () => {
    expect(
      warnings([
        { name: 'VOB', when: { group: 'VOB' }, set: { securityRole: 'VOB Worker', employeeType: 'Intake' } },
        { name: 'VOB again', when: { all: [{ group: 'VOB' }, { group: 'Night' }] }, set: { securityRole: 'Analytics Only' } },
      ]),
    ).toEqual([
      expect.stringMatching(
        /^rules\.1: rule "VOB again" can never change what a user gets: whenever it matches, "VOB" matches too and already sets securityRole/,
      ),
    ]);
  });

  test('when a later rule also sets a multi-valued field with a new value, then it is not shadowed (lists are unions)', () => {
    expect(
      warnings([
        { when: { group: 'VOB' }, set: { securityRole: 'VOB Worker', teams: ['A'] } },
        { when: { group: 'VOB' }, set: { securityRole: 'Analytics Only', teams: ['B'] } },
      ]),
    ).toEqual([]);
  });

  test('when a later rule adds only values an earlier matching rule already adds, then it is shadowed', () => {
    expect(
      warnings([
        { when: { group: 'VOB' }, set: { teams: ['A', 'B'], organisations: [{ value: 'north', role: 'Client Admin' }] } },
        { name: 'subset', when: { group: 'VOB' }, set: { teams: ['b'], organisations: [{ value: 'North', role: 'Client Staff' }] } },
      ]),
    ).toEqual([expect.stringContaining('rule "subset" can never change')]);
  });

  test('when the earlier rule matches fewer users than the later one, then the later one is not shadowed', () => {
    expect(
      warnings([
        { when: { all: [{ group: 'VOB' }, { group: 'Night' }] }, set: { securityRole: 'VOB Worker' } },
        { when: { group: 'VOB' }, set: { securityRole: 'Analytics Only' } },
      ]),
    ).toEqual([]);
  });

  test('when a rule sets a default value after the rules that set another one, then it never changes anything (the call-centre contractors case)', () => {
    const rules = [
      { name: 'Nurses', when: { group: 'Nurses' }, set: { mobileAppUser: true } },
      { name: 'Contractors', when: { attribute: 'userType', equals: 'Contractor' }, set: { mobileAppUser: false } },
    ];
    expect(warnings(rules)).toEqual([
      expect.stringMatching(
        /^rules\.1: rule "Contractors" can never change what a user gets: mobileAppUser: false is already the default .* "Nurses" above it sets mobileAppUser first/,
      ),
    ]);
    // Put first, it wins over the nurses' rule for contractors: no warning.
    expect(warnings([rules[1], rules[0]])).toEqual([]);
  });

  test('when a rule sets a value that is not the default, then it has an effect', () => {
    expect(warnings([{ when: { group: 'Nurses' }, set: { mobileAppUser: true } }])).toEqual([]);
    expect(warnings([{ when: { group: 'Nurses' }, set: { securityRole: 'VOB Worker' } }], { defaults: { securityRole: 'Analytics Only' } })).toEqual([]);
    expect(warnings([{ when: { group: 'Nurses' }, set: { securityRole: 'Analytics Only' } }], { defaults: { securityRole: 'Analytics Only' } })).toHaveLength(
      1,
    );
  });
});
