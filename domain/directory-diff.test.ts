import { desiredUser, SCIMFLOW_USER_URN } from './desired-user';
import { diffDesired, diffStates, stateOf, summariseChanges } from './directory-diff';
import { parseTenantConfig } from './tenant-config';

const today = parseTenantConfig({
  organisations: [
    { key: 'north', name: 'North Office', licenceLevel: 'Professional' },
    { key: 'south', name: 'South Office', licenceLevel: 'Basic' },
  ],
  defaults: { client: 'north' },
});
const draft = parseTenantConfig({
  ...today,
  rules: [
    { when: { group: 'VOB' }, set: { securityRole: 'VOB Worker', employeeAreas: ['Care Coordinator'] } },
    { when: { attribute: 'title', equals: 'Manager' }, set: { clientRole: 'Client Admin', caseManager: true } },
  ],
});
const user = (n: number, extra: Record<string, unknown> = {}) => ({ userName: `u${n}@example.org`, name: { givenName: 'U', familyName: `${n}` }, ...extra });

describe('directory diff', () => {
  test('when two states are equal, then there is no change, whatever the order of their sets', () => {
    const a = stateOf(desiredUser(user(1, { [SCIMFLOW_USER_URN]: { employeeAreas: ['b', 'a'] } }), today));
    const b = stateOf(desiredUser(user(1, { [SCIMFLOW_USER_URN]: { employeeAreas: ['a', 'b'] } }), today));
    expect(diffStates(a, b)).toEqual([]);
  });

  test('when a draft adds rules, then each user shows what it gains and loses, field by field', () => {
    const changes = diffDesired(desiredUser(user(1, { title: 'Manager' }), today, ['VOB']), desiredUser(user(1, { title: 'Manager' }), draft, ['VOB']));
    expect(changes).toEqual([
      { field: 'caseManager', from: false, to: true },
      { field: 'securityRole', from: null, to: 'VOB Worker' },
      { field: 'memberships', added: ['north [primary, Client Admin]'], removed: ['north [primary, Client Staff]'] },
      { field: 'settings.employeeArea', added: ['Care Coordinator'], removed: [] },
    ]);
  });

  test('when many users change, then the summary counts them ("37 users would gain VOB Worker")', () => {
    const perUser = [1, 2, 3].map((n) => diffDesired(desiredUser(user(n), today, n < 3 ? ['VOB'] : []), desiredUser(user(n), draft, n < 3 ? ['VOB'] : [])));
    const summary = summariseChanges(perUser, 3);
    expect(summary.usersChanged).toBe(2);
    expect(summary.text).toEqual(['2 users would gain security role VOB Worker', '2 users would gain employee area Care Coordinator']);
  });
});
