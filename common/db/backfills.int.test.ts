/** Migration 011's backfill (finding 7): existing users get their userName key, oldest first; look-alikes it cannot key are named. */
import { newUser, startHarness, type Harness } from '../../test/harness';
import { BACKFILLS } from './backfills';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ withWorker: false });
});
afterAll(async () => h?.close());

const create = (userName: string) => h.scim('POST', '/Users', newUser({ userName }));

describe('finding 7: the userName key of existing users', () => {
  test('when existing users have no key (rows from before migration 011), then the backfill keys them oldest first and names look-alikes it cannot key', async () => {
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
    const notes = await h.db.withTransaction((tx) => BACKFILLS[11](tx));
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
