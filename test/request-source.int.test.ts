/**
 * Finding 8: a client's X-Request-Id is a correlation value only; the source the audit trail
 * shows comes from the credential that made the change.
 */
import crypto from 'node:crypto';
import { createToken } from '../common/repositories/tokens';
import { newUser, PATCH_OP, startHarness, type Harness } from './harness';

let h: Harness;
let adminToken: string;
beforeAll(async () => {
  h = await startHarness({ withWorker: false });
  adminToken = (await createToken(h.db, h.tenantId, 'ops', 'admin', 'Super User')).token;
});
afterAll(async () => h?.close());

const admin = async (method: string, path: string) => {
  const res = await fetch(`${h.publicUrl}/admin/v1/tenants/${h.tenantId}${path}`, { method, headers: { Authorization: `Bearer ${adminToken}` } });
  return { status: res.status, body: (await res.json()) as any };
};

describe('finding 8: the audit source comes from the credential, not from X-Request-Id', () => {
  test('when a SCIM client sends X-Request-Id "admin:<uuid>", then its changes show as SCIM in the trail, and the id is kept as correlation', async () => {
    const spoofed = `admin:${crypto.randomUUID()}`;
    const created = await h.scim('POST', '/Users', newUser(), { 'X-Request-Id': spoofed });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-request-id')).toBe(spoofed);
    const id = created.body.id as string;
    const patched = await h.scim(
      'PATCH',
      `/Users/${id}`,
      { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'RN' }] },
      { 'X-Request-Id': 'reconcile:fake' },
    );
    expect(patched.status).toBe(200);
    const suspended = await admin('POST', `/users/${id}/suspend`);
    expect(suspended.status).toBe(202);

    const trail = await admin('GET', `/users/${id}/audit`);
    expect(trail.status).toBe(200);
    const sourceOf = (requestId: string) => trail.body.requests.find((r: any) => r.requestId === requestId)?.source;
    expect(sourceOf(spoofed)).toBe('scim');
    expect(sourceOf('reconcile:fake')).toBe('scim');
    expect(sourceOf(suspended.body.requestId)).toBe('admin');
    const rows = await h.db.query<{ request_id: string; source: string }>('SELECT request_id, source FROM outbox WHERE resource_id = $1::uuid ORDER BY id', [
      id,
    ]);
    expect(rows.rows).toEqual([
      { request_id: spoofed, source: 'scim' },
      { request_id: 'reconcile:fake', source: 'scim' },
      { request_id: suspended.body.requestId, source: 'admin' },
    ]);
  });

  test("when a SCIM client reuses an admin request's id, then the trail shows both sources for it, never admin alone", async () => {
    const created = await h.scim('POST', '/Users', newUser());
    const id = created.body.id as string;
    const suspended = await admin('POST', `/users/${id}/suspend`);
    const copied = await h.scim(
      'PATCH',
      `/Users/${id}`,
      { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] },
      { 'X-Request-Id': suspended.body.requestId },
    );
    expect(copied.status).toBe(200);
    const trail = await admin('GET', `/users/${id}/audit`);
    expect(trail.body.requests.find((r: any) => r.requestId === suspended.body.requestId).source).toBe('admin and scim');
  });
});
