/**
 * Rule-given employee-area tags can be found (issue 23, item 11; seed B: the four tags fill the
 * application's Care Coordinator, Assigned Agent, … pickers), on real Temporal, PostgreSQL and
 * SMTP: a SCIM filter on the scimflow extension's employeeAreas (and teams) matches the values
 * a tenant's rules give as well as the ones the identity provider sends, and the admin users
 * list searches employee areas in force.
 */
import { createToken } from '../common/repositories/tokens';
import { adminRequest, eventually, EXT, newUser, PATCH_OP, SCIM_GROUP, startHarness, testTenantConfig, type Harness } from './harness';

const CARE_RULE = { name: 'Care team', when: { group: 'Care Team' }, set: { employeeAreas: ['Care Coordinator'], teams: ['Care Team A'] } };

let h: Harness;
let superToken: string;

beforeAll(async () => {
  h = await startHarness({ tenantConfig: testTenantConfig({ rules: [CARE_RULE] }) });
  superToken = (await createToken(h.db, h.tenantId, 'super', 'admin', 'Super User')).token;
});
afterAll(async () => h?.close());

const create = async (user: Record<string, unknown>) => {
  const res = await h.scim('POST', '/Users', user);
  expect(res.status).toBe(201);
  return res.body.id as string;
};

/** The ids a SCIM filter finds, over GET /Users and POST /Users/.search alike. */
async function found(filter: string): Promise<string[]> {
  const get = await h.scim('GET', `/Users?count=100&filter=${encodeURIComponent(filter)}`);
  expect(get.status).toBe(200);
  const post = await h.scim('POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter, count: 100 });
  expect(post.status).toBe(200);
  const ids = (get.body.Resources ?? []).map((r: { id: string }) => r.id).sort();
  expect((post.body.Resources ?? []).map((r: { id: string }) => r.id).sort()).toEqual(ids);
  expect(get.body.totalResults).toBe(ids.length);
  return ids;
}

const tagged = async (area: string) =>
  (await adminRequest(h.publicUrl, superToken, 'GET', `/tenants/${h.tenantId}/users?employeeArea=${encodeURIComponent(area)}`)).body.users
    .map((u: { userId: string }) => u.userId)
    .sort();

describe('rule-given employee-area tags', () => {
  test('when a rule gives "Care Coordinator" to the users of a group, then the SCIM filter on employeeAreas and the admin search find them as well as the users who were sent it', async () => {
    const byRule = await create(newUser());
    const explicit = await create(newUser({ [EXT]: { employeeAreas: ['Care Coordinator'] } }));
    // The identity provider's own list wins over the rule's: this member of the group is an Assigned Agent only.
    const overridden = await create(newUser({ [EXT]: { employeeAreas: ['Assigned Agent'] } }));
    const untagged = await create(newUser());
    const group = await h.scim('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: 'Care Team', members: [{ value: byRule }, { value: overridden }] });
    expect(group.status).toBe(201);
    for (const id of [byRule, explicit, overridden, untagged]) await h.waitForState(id, 'invited');
    const sorted = (...ids: string[]) => ids.sort();

    const careCoordinator = `${EXT}:employeeAreas eq "Care Coordinator"`;
    expect(
      await eventually(
        () => found(careCoordinator),
        (ids) => ids.includes(byRule),
        'the rule-given tag found',
      ),
    ).toEqual(sorted(byRule, explicit));
    // Exact, case-insensitive (the attribute is not caseExact), and composable like any filter.
    expect(await found(`${EXT}:employeeAreas eq "care coordinator"`)).toEqual(sorted(byRule, explicit));
    expect(await found(`${EXT}:employeeAreas eq "Assigned Agent"`)).toEqual([overridden]);
    expect(await found(`not (${careCoordinator})`)).toEqual(sorted(overridden, untagged));
    expect(await found(`${careCoordinator} and userName sw "user"`)).toEqual(sorted(byRule, explicit));
    expect(await found(`${EXT}:employeeAreas pr`)).toEqual(sorted(byRule, explicit, overridden));
    // Teams a rule gives are found the same way.
    expect(await found(`${EXT}:teams eq "Care Team A"`)).toEqual(sorted(byRule, overridden));

    // The resource shows what the identity provider sent (no rule-given value is written into it).
    const resource = await h.scim('GET', `/Users/${byRule}`);
    expect(resource.body[EXT]?.employeeAreas).toBeUndefined();

    // The admin users list searches employee areas in force, exact and case-insensitive.
    expect(await tagged('Care Coordinator')).toEqual(sorted(byRule, explicit));
    expect(await tagged('  care coordinator ')).toEqual(sorted(byRule, explicit));
    expect(await tagged('Assigned Agent')).toEqual([overridden]);
    expect(await tagged('Care')).toEqual([]);

    // Out of the group, the rule no longer gives the tag: neither search finds the user any more.
    const left = await h.scim('PATCH', `/Groups/${group.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'remove', path: `members[value eq "${byRule}"]` }],
    });
    expect([200, 204]).toContain(left.status);
    expect(
      await eventually(
        () => found(careCoordinator),
        (ids) => !ids.includes(byRule),
        'the tag gone with the rule',
      ),
    ).toEqual([explicit]);
    expect(await tagged('Care Coordinator')).toEqual([explicit]);
  });

  test('when the admin search is given an unusable employee area, then it answers 400', async () => {
    const long = await adminRequest(h.publicUrl, superToken, 'GET', `/tenants/${h.tenantId}/users?employeeArea=${'x'.repeat(201)}`);
    expect(long.status).toBe(400);
    const twice = await adminRequest(h.publicUrl, superToken, 'GET', `/tenants/${h.tenantId}/users?employeeArea=a&employeeArea=b`);
    expect(twice.status).toBe(400);
  });
});
