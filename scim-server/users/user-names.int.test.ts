/**
 * Finding 7: look-alike userNames are one userName (domain/user-name.ts), compared on a key
 * the server writes with every user; existing users get the key from migration 010's backfill.
 */
import { BACKFILLS } from '../../common/db/backfills';
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

  test('when existing users have no key (rows from before migration 010), then the backfill keys them oldest first and names look-alikes it cannot key', async () => {
    const tenant = h.tenantId;
    const legacy = [
      ['legacy.one@example.org', '2020-01-01T00:00:00Z'],
      ['\uff4c\uff45\uff47\uff41\uff43\uff59.one@example.org', '2020-01-02T00:00:00Z'], // fullwidth "legacy": a look-alike of the first
      ['Legacy.Two@example.org', '2020-01-03T00:00:00Z'],
    ];
    const ids: string[] = [];
    for (const [userName, createdAt] of legacy) {
      const row = await h.db.query<{ id: string }>(
        `INSERT INTO scim_users (tenant_id, id, user_name, doc, created_at) VALUES ($1, gen_random_uuid(), $2, jsonb_build_object('userName', $2::text), $3)
         RETURNING id::text AS id`,
        [tenant, userName, createdAt],
      );
      ids.push(row.rows[0].id);
    }
    const notes = await h.db.withTransaction((tx) => BACKFILLS[10](tx));
    const keys = new Map(
      (
        await h.db.query<{ id: string; k: string | null }>('SELECT id::text AS id, user_name_key AS k FROM scim_users WHERE id = ANY($1::uuid[])', [ids])
      ).rows.map((r) => [r.id, r.k]),
    );
    expect(keys.get(ids[0])).toBe('legacy.one@example.org');
    expect(keys.get(ids[1])).toBeNull();
    expect(keys.get(ids[2])).toBe('legacy.two@example.org');
    expect(notes).toEqual([expect.stringContaining(`user ${ids[1]} has a userName that an older user's matches`)]);
    // Keyed now: a new look-alike of a backfilled user is refused.
    expect((await create('LEGACY.TWO@example.org')).status).toBe(409);
  });
});
