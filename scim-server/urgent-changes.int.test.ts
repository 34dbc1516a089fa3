/**
 * Which changes the outbox marks urgent (relayed ahead of an import, and to a workflow raised to
 * Temporal's top task priority): every change that may take access away, and no other.
 */
import { EXT, newUser, PATCH_OP, SCIM_GROUP, startHarness, type Harness } from '../test/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ withWorker: false });
});
afterAll(async () => h?.close());

async function lastChange(userId: string): Promise<{ change: string; urgent: boolean }> {
  return (
    await h.db.query<{ change: string; urgent: boolean }>(
      'SELECT change, urgent FROM outbox WHERE tenant_id = $1 AND resource_id = $2::uuid ORDER BY id DESC LIMIT 1',
      [h.tenantId, userId],
    )
  ).rows[0];
}

async function pushUser(ext: Record<string, unknown> = {}): Promise<string> {
  const res = await h.scim('POST', '/Users', newUser({ [EXT]: ext }));
  expect(res.status).toBe(201);
  return res.body.id;
}

test('when a user update drops a team or deactivates, then its change is urgent; when it only adds, then it is not', async () => {
  const id = await pushUser({ teams: ['Night', 'Day'] });
  expect(await lastChange(id)).toEqual({ change: 'created', urgent: false });
  const patch = (ops: unknown[]) => h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: ops });

  expect((await patch([{ op: 'add', path: `${EXT}:teams`, value: ['Weekend'] }])).status).toBe(200);
  expect(await lastChange(id)).toEqual({ change: 'updated', urgent: false });
  expect((await patch([{ op: 'replace', path: `${EXT}:teams`, value: ['Night'] }])).status).toBe(200);
  expect(await lastChange(id)).toEqual({ change: 'updated', urgent: true });
  expect((await patch([{ op: 'replace', path: 'title', value: 'RN' }])).status).toBe(200);
  expect(await lastChange(id)).toEqual({ change: 'updated', urgent: false });
  expect((await patch([{ op: 'replace', value: { active: false } }])).status).toBe(200);
  expect(await lastChange(id)).toEqual({ change: 'updated', urgent: true });
});

test('when members leave a group or the group is deleted, then their changes are urgent; members who join are not', async () => {
  const [stays, leaves, joins] = [await pushUser(), await pushUser(), await pushUser()];
  const group = await h.scim('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: 'Night Shift', members: [{ value: stays }, { value: leaves }] });
  expect(group.status).toBe(201);
  const gid = group.body.id as string;
  expect((await lastChange(stays)).urgent).toBe(false);

  const patched = await h.scim('PATCH', `/Groups/${gid}`, {
    schemas: [PATCH_OP],
    Operations: [
      { op: 'remove', path: `members[value eq "${leaves}"]` },
      { op: 'add', path: 'members', value: [{ value: joins }] },
    ],
  });
  expect(patched.status).toBe(204);
  expect(await lastChange(leaves)).toEqual({ change: 'membership', urgent: true });
  expect(await lastChange(joins)).toEqual({ change: 'membership', urgent: false });

  expect((await h.scim('DELETE', `/Groups/${gid}`)).status).toBe(204);
  expect(await lastChange(stays)).toEqual({ change: 'membership', urgent: true });
  expect(await lastChange(joins)).toEqual({ change: 'membership', urgent: true });
});
