/**
 * The SCIM request log (scim-server/request-log.ts) against a real SCIM server and PostgreSQL:
 * refused and accepted pushes appear in the admin API's log with what the IdP was told, per
 * tenant; filters and keyset paging; identifiers only; retention.
 */
import crypto from 'node:crypto';
import { createToken } from '../common/repositories/tokens';
import { adminRequest, eventually, newUser, startHarness, type Harness } from './harness';

let h: Harness;
let adminToken: string;
let otherTenant: string;
let otherAdmin: string;
let otherScim: string;

const requests = (token: string, tenant: string, query = '') => adminRequest(h.publicUrl, token, 'GET', `/tenants/${tenant}/requests${query}`);

/** Waits until the log holds the request with this id (written within ~250 ms), then answers the row. */
async function logged(requestId: string): Promise<any> {
  const r = await eventually(
    () => requests(adminToken, h.tenantId, `?q=${encodeURIComponent(requestId)}`),
    (r) => r.status === 200 && r.body.requests.length === 1,
    `request ${requestId} in the log`,
    10_000,
  );
  return r.body.requests[0];
}

const secret = crypto.randomBytes(4).toString('hex');
const refusedUser = newUser({
  name: { givenName: `Given${secret}`, familyName: `Family${secret}` },
  emails: [{ value: 'not an address', type: 'work', primary: true }],
  phoneNumbers: [{ value: `+4470${parseInt(secret, 16) % 100000000}`, type: 'work' }],
});
const acceptedUser = newUser({
  name: { givenName: `Accepted${secret}`, familyName: `Person${secret}` },
  externalId: `ext-${secret}`,
});
let refused: { status: number; body: any; headers: Headers };
let accepted: { status: number; body: any; headers: Headers };
let lookup: { status: number; body: any; headers: Headers };
let emailFilter: { status: number; body: any; headers: Headers };

beforeAll(async () => {
  h = await startHarness({ withWorker: false });
  adminToken = (await createToken(h.db, h.tenantId, 'auditor', 'admin', 'Read Only')).token;
  otherTenant = `other-${crypto.randomBytes(3).toString('hex')}`;
  otherScim = await h.newTenant(otherTenant);
  otherAdmin = (await createToken(h.db, otherTenant, 'other-admin', 'admin', 'Super User')).token;

  refused = await h.scim('POST', '/Users', refusedUser);
  accepted = await h.scim('POST', '/Users', acceptedUser);
  lookup = await h.scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${acceptedUser.userName}"`)}&startIndex=1&count=10`);
  emailFilter = await h.scim('GET', `/Users?filter=${encodeURIComponent(`emails.value eq "hidden.${secret}@example.net"`)}`);
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('what is recorded', () => {
  test('when a POST /Users is refused with 400 (invalid email), then the log shows it with the userName, the detail, scimType and the token', async () => {
    expect(refused.status).toBe(400);
    const row = await logged(refused.headers.get('x-request-id')!);
    expect(row).toMatchObject({
      method: 'POST',
      path: '/Users',
      status: 400,
      userName: refusedUser.userName,
      scimType: 'invalidValue',
      detail: refused.body.detail,
      token: { name: 'test' },
      resourceId: null,
    });
    expect(row.detail).toMatch(/emails\[0\]\.value/);
    expect(row.durationMs).toBeGreaterThanOrEqual(0);
    expect(Date.now() - new Date(row.at).getTime()).toBeLessThan(60_000);
  });

  test('when a POST /Users is accepted, then the log shows the 201 with the new resource id, userName and externalId, and no error', async () => {
    expect(accepted.status).toBe(201);
    const row = await logged(accepted.headers.get('x-request-id')!);
    expect(row).toMatchObject({
      method: 'POST',
      status: 201,
      resourceId: accepted.body.id,
      userName: acceptedUser.userName,
      externalId: `ext-${secret}`,
      detail: null,
      scimType: null,
    });
  });

  test('when a filter compares userName, then the path keeps it; when it compares an email, then the value is elided', async () => {
    const byName = await logged(lookup.headers.get('x-request-id')!);
    expect(byName.path).toBe(`/Users?filter=userName eq "${acceptedUser.userName}"&startIndex=1&count=10`);
    expect(byName.userName).toBe(acceptedUser.userName);
    const byEmail = await logged(emailFilter.headers.get('x-request-id')!);
    expect(byEmail.path).toBe('/Users?filter=emails.value eq "…"');
    expect(byEmail.userName).toBeNull();
  });

  test('when a request is refused before any tenant is known (unknown token), then it is not recorded', async () => {
    const res = await fetch(`${h.baseUrl}/Users`, { headers: { Authorization: 'Bearer sfs_unknown' } });
    expect(res.status).toBe(401);
    await h.server.requestLog.flush();
    const n = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM scim_request_log WHERE request_id = $1', [res.headers.get('x-request-id')]);
    expect(n.rows[0].n).toBe(0);
  });

  test('when the rows are read back, then no column holds the name, phone number or other personal data of the bodies', async () => {
    await h.server.requestLog.flush();
    const rows = (await h.db.query<{ row: string }>('SELECT row_to_json(l)::text AS row FROM scim_request_log l')).rows.map((r) => r.row);
    expect(rows.length).toBeGreaterThanOrEqual(4);
    const all = rows.join('\n');
    for (const personal of [
      `Given${secret}`,
      `Family${secret}`,
      `Accepted${secret}`,
      `Person${secret}`,
      (refusedUser.phoneNumbers as { value: string }[])[0].value,
      `hidden.${secret}`,
    ]) {
      expect({ personal, found: all.includes(personal) }).toEqual({ personal, found: false });
    }
  });
});

describe('who sees it', () => {
  test("when another tenant's admin reads its log, then none of this tenant's requests are there, and this tenant's log is a 404 to it", async () => {
    const own = await fetch(`${h.baseUrl}/ServiceProviderConfig`, { headers: { Authorization: `Bearer ${otherScim}` } });
    expect(own.status).toBe(200);
    const ownId = own.headers.get('x-request-id')!;
    const theirs = await eventually(
      () => requests(otherAdmin, otherTenant),
      (r) => r.status === 200 && r.body.requests.some((x: any) => x.requestId === ownId),
      'the other tenant sees its own request',
      10_000,
    );
    const ours = [refused, accepted, lookup].map((r) => r.headers.get('x-request-id'));
    expect(theirs.body.requests.filter((x: any) => ours.includes(x.requestId))).toEqual([]);
    expect(theirs.body.requests.every((x: any) => x.token?.name === 'test')).toBe(true);
    expect((await requests(otherAdmin, h.tenantId)).status).toBe(404);
  });

  test('when a SCIM token calls the admin API, then it is refused (401)', async () => {
    expect((await requests(h.token, h.tenantId)).status).toBe(401);
  });
});

describe('filters and paging', () => {
  beforeAll(async () => {
    await logged(emailFilter.headers.get('x-request-id')!);
  });

  test('when filtered by status class, exact status, method or userName, then only the matching requests come back, newest first', async () => {
    const refusedOnly = await requests(adminToken, h.tenantId, '?status=4xx');
    expect(refusedOnly.status).toBe(200);
    expect(refusedOnly.body.requests.length).toBeGreaterThanOrEqual(1);
    expect(refusedOnly.body.requests.every((r: any) => r.status >= 400 && r.status < 500)).toBe(true);
    expect(refusedOnly.body.requests.map((r: any) => r.requestId)).toContain(refused.headers.get('x-request-id'));

    const created = await requests(adminToken, h.tenantId, '?status=201');
    expect(created.body.requests.map((r: any) => r.requestId)).toEqual([accepted.headers.get('x-request-id')]);

    const gets = await requests(adminToken, h.tenantId, '?method=get');
    expect(gets.body.requests.length).toBeGreaterThanOrEqual(2);
    expect(gets.body.requests.every((r: any) => r.method === 'GET')).toBe(true);

    const byUser = await requests(adminToken, h.tenantId, `?q=${encodeURIComponent(acceptedUser.userName.toUpperCase())}`);
    expect(byUser.body.requests.map((r: any) => r.requestId)).toEqual([lookup, accepted].map((r) => r.headers.get('x-request-id')));

    const byExternalId = await requests(adminToken, h.tenantId, `?q=ext-${secret}`);
    expect(byExternalId.body.requests.map((r: any) => r.requestId)).toEqual([accepted.headers.get('x-request-id')]);
    const byResource = await requests(adminToken, h.tenantId, `?q=${accepted.body.id}`);
    expect(byResource.body.requests.map((r: any) => r.requestId)).toEqual([accepted.headers.get('x-request-id')]);
  });

  test('when a filter is not understood, then the answer is 400 naming it', async () => {
    expect((await requests(adminToken, h.tenantId, '?status=teapot')).status).toBe(400);
    expect((await requests(adminToken, h.tenantId, '?method=TRACE')).status).toBe(400);
    const bad = await requests(adminToken, h.tenantId, '?after=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/after/);
  });

  test('when read a page at a time, then the pages follow each other newest first without gaps or repeats', async () => {
    for (let i = 0; i < 5; i += 1) await h.scim('GET', `/Users/${crypto.randomUUID()}`);
    await h.server.requestLog.flush();
    const all = (await requests(adminToken, h.tenantId, '?limit=500')).body.requests.map((r: any) => r.id);
    expect(all.length).toBeGreaterThanOrEqual(9);
    const paged: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 20; pages += 1) {
      const res: any = await requests(adminToken, h.tenantId, `?limit=2${after ? `&after=${after}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.requests.length).toBeLessThanOrEqual(2);
      paged.push(...res.body.requests.map((r: any) => r.id));
      after = res.body.next;
      if (!after) break;
    }
    expect(paged).toEqual(all);
    const times = (await requests(adminToken, h.tenantId, '?limit=500')).body.requests.map((r: any) => new Date(r.at).getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  test('when the tokens are listed, then each SCIM token shows its last request and last error', async () => {
    const tokens = await adminRequest(h.publicUrl, adminToken, 'GET', `/tenants/${h.tenantId}/tokens`);
    const scim = tokens.body.tokens.find((t: any) => t.kind === 'scim' && t.name === 'test');
    expect(scim.lastRequest).toMatchObject({ method: 'GET' });
    expect(scim.lastError.status).toBeGreaterThanOrEqual(400);
    expect(typeof scim.lastError.detail).toBe('string');
  });
});

describe('retention', () => {
  test('when rows are older than REQUEST_LOG_RETENTION_DAYS (14), then a clean-up deletes them and keeps the newer ones', async () => {
    await h.server.requestLog.flush();
    const oldId = refused.headers.get('x-request-id')!;
    await h.db.query(`UPDATE scim_request_log SET at = now() - interval '15 days' WHERE request_id = $1`, [oldId]);
    const deleted = await h.server.requestLog.cleanUp();
    expect(deleted).toBe(1);
    const left = await h.db.query<{ request_id: string }>('SELECT request_id FROM scim_request_log WHERE request_id = ANY($1)', [
      [oldId, accepted.headers.get('x-request-id')],
    ]);
    expect(left.rows.map((r) => r.request_id)).toEqual([accepted.headers.get('x-request-id')]);
  });
});
