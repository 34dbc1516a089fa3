import { SCIMFLOW_USER_URN as EXT } from './desired-user';
import { removesAccess } from './access-loss';

const user = (extra: Record<string, unknown> = {}, ext: Record<string, unknown> = {}) => ({ userName: 'a@example.org', active: true, ...extra, [EXT]: ext });

describe('which SCIM updates may take access away (relayed first)', () => {
  test('when a user is deactivated, then it removes access; reactivating does not', () => {
    expect(removesAccess(user(), user({ active: false }))).toBe(true);
    expect(removesAccess(user({ active: false }), user())).toBe(false);
  });

  test('when a role, tag, team, facility or organisation is dropped, or the security role changes, then it removes access', () => {
    expect(removesAccess(user({ roles: [{ value: 'nurse' }, { value: 'admin' }] }), user({ roles: [{ value: 'nurse' }] }))).toBe(true);
    expect(removesAccess(user({}, { employeeAreas: ['Care Coordinator', 'Assigned Agent'] }), user({}, { employeeAreas: ['Care Coordinator'] }))).toBe(true);
    expect(removesAccess(user({}, { teams: ['Night'] }), user({}, {}))).toBe(true);
    expect(removesAccess(user({}, { facilities: ['North'] }), user({}, { facilities: ['South'] }))).toBe(true);
    expect(
      removesAccess(
        user({}, { organisations: [{ value: 'north', role: 'Client Admin' }] }),
        user({}, { organisations: [{ value: 'north', role: 'Client Staff' }] }),
      ),
    ).toBe(true);
    expect(removesAccess(user({}, { securityRole: 'VOB Worker' }), user({}, { securityRole: 'Intake Worker' }))).toBe(true);
    expect(removesAccess(user({}, { allowGridExport: true }), user({}, { allowGridExport: false }))).toBe(true);
  });

  test('when access is only added, or profile fields change, then it does not', () => {
    expect(removesAccess(user({}, { teams: ['Night'] }), user({}, { teams: ['Night', 'Day'] }))).toBe(false);
    expect(removesAccess(user({}, { securityRole: 'VOB Worker' }), user({}, { securityRole: 'vob worker' }))).toBe(false);
    expect(removesAccess(user({ title: 'RN', name: { givenName: 'A' } }), user({ title: 'Charge nurse', name: { givenName: 'B' } }))).toBe(false);
    expect(removesAccess(user({}, { allowGridExport: false }), user({}, { allowGridExport: true }))).toBe(false);
  });
});
