/**
 * Finding 7: look-alike userNames are one userName (domain/user-name.ts), compared on a key
 * the server writes with every user (existing users: common/db/backfills.int.test.ts).
 */
import { newUser, PATCH_OP, startHarness, type Harness } from '../../test/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ withWorker: false });
});
afterAll(async () => h?.close());

const create = (userName: string) => h.scim('POST', '/Users', newUser({ userName, emails: [{ value: 'same@example.org', type: 'work' }] }));

describe('finding 7: look-alike user names', () => {
  test.each([
    ['composed and decomposed "café"', 'caf\u00e9.one@example.org', 'cafe\u0301.one@example.org'],
    ['fullwidth "ｆｕｌｌ" and "full"', 'full', '\uff46\uff55\uff4c\uff4c'],
    ['a leading space', 'lead@example.org', ' lead@example.org'],
    ['a trailing space', 'trail@example.org', 'trail@example.org  '],
    ['case (as before)', 'Case@Example.org', 'case@example.org'],
  ])('when a user is created whose userName differs from an existing one by %s, then 409 uniqueness and nothing is written', async (_what, first, second) => {
    const a = await create(first);
    expect(a.status).toBe(201);
    expect(a.body.userName).toBe(first); // stored as sent
    const before = (await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM scim_users WHERE tenant_id = $1', [h.tenantId])).rows[0].n;
    const b = await create(second);
    expect(b.status).toBe(409);
    expect(b.body.scimType).toBe('uniqueness');
    expect(b.body.detail).toMatch(/compared regardless of case, character width/);
    expect((await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM scim_users WHERE tenant_id = $1', [h.tenantId])).rows[0].n).toBe(before);
  });

  test('when a user is renamed by PATCH or PUT to a look-alike of another, then 409 uniqueness', async () => {
    await create('\u00c5sa@example.org');
    const other = await create('other.person@example.org');
    const patched = await h.scim('PATCH', `/Users/${other.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'userName', value: 'A\u030asa@example.org' }],
    });
    expect(patched.status).toBe(409);
    const put = await h.scim('PUT', `/Users/${other.body.id}`, newUser({ userName: ' \u00e5sa@example.org' }));
    expect(put.status).toBe(409);
    // Renaming a user to a look-alike of its own name is no conflict.
    const self = await h.scim('PATCH', `/Users/${other.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'userName', value: 'OTHER.person@example.org' }],
    });
    expect(self.status).toBe(200);
    expect(self.body.userName).toBe('OTHER.person@example.org');
  });
});
