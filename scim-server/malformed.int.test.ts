/**
 * A corpus of malformed and hostile requests against the running server: each must be answered
 * with an RFC 7644 §3.12 error body (never a 500) and must change nothing (no resource, no
 * outbox row). Injection attempts must match no rows they should not.
 */
import crypto from 'node:crypto';
import { newUser, PATCH_OP, SCIM_GROUP, SCIM_USER, startHarness, type Harness } from '../test/harness';

const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

let h: Harness;
let userId: string;
let groupId: string;

beforeAll(async () => {
  h = await startHarness({ withWorker: false });
  userId = (await h.scim('POST', '/Users', newUser({ title: 'Original' }))).body.id;
  groupId = (await h.scim('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: 'Original group', members: [{ value: userId }] })).body.id;
});
afterAll(async () => h?.close());

async function snapshot(): Promise<string> {
  const q = async (sql: string) => JSON.stringify((await h.db.query(sql, [h.tenantId])).rows);
  return [
    await q('SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1'),
    await q('SELECT id, version, doc FROM scim_users WHERE tenant_id = $1 ORDER BY id'),
    await q('SELECT id, version, display_name FROM scim_groups WHERE tenant_id = $1 ORDER BY id'),
    await q('SELECT group_id, member_id FROM scim_group_members WHERE tenant_id = $1 ORDER BY 1, 2'),
  ].join('\n');
}

/** Sends raw bytes with the tenant's token; the harness's h.scim always sends UTF-8 JSON. */
async function raw(method: string, path: string, body: string | Buffer | undefined, headers: Record<string, string> = {}) {
  const res = await fetch(`${h.baseUrl}${path}`, { method, headers: { Authorization: `Bearer ${h.token}`, ...headers }, body });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // leave as text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Asserts a SCIM error answer of `status` (and `scimType`), and that nothing changed. */
async function expectRejected(send: () => Promise<{ status: number; body: any; headers: Headers }>, status: number, scimType?: string) {
  const before = await snapshot();
  const res = await send();
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
  expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: String(status), detail: expect.any(String) });
  if (scimType) expect(res.body.scimType).toBe(scimType);
  expect(await snapshot()).toBe(before);
  return res;
}

const JSON_TYPE = { 'Content-Type': 'application/scim+json' };
const userBody = (extra: Record<string, unknown> = {}) => ({
  schemas: [SCIM_USER],
  userName: `m${crypto.randomBytes(4).toString('hex')}@example.org`,
  ...extra,
});
const patch = (...operations: unknown[]) => ({ schemas: [PATCH_OP], Operations: operations });

describe('malformed bodies', () => {
  test.each([
    ['POST /Users', 'POST', '/Users'],
    ['PUT /Users/:id', 'PUT', '/Users/{user}'],
    ['PATCH /Users/:id', 'PATCH', '/Users/{user}'],
    ['PATCH /Groups/:id', 'PATCH', '/Groups/{group}'],
    ['POST /Bulk', 'POST', '/Bulk'],
    ['POST /Users/.search', 'POST', '/Users/.search'],
  ])('when %s carries invalid JSON, then 400 invalidSyntax', async (_what, method, path) => {
    const url = path.replace('{user}', userId).replace('{group}', groupId);
    await expectRejected(() => raw(method, url, '{"schemas": ["urn:', JSON_TYPE), 400, 'invalidSyntax');
  });

  test.each([
    ['a JSON null', 'null'],
    ['a JSON string', '"user"'],
    ['a JSON array', '[]'],
    ['an empty object', '{}'],
  ])('when the User body is %s, then 400', async (_what, body) => {
    await expectRejected(() => raw('POST', '/Users', body, JSON_TYPE), 400);
  });

  test('when the content type is text/plain or missing, then 415', async () => {
    const body = JSON.stringify(userBody());
    await expectRejected(() => raw('POST', '/Users', body, { 'Content-Type': 'text/plain' }), 415);
    await expectRejected(() => raw('POST', '/Users', body, {}), 415);
    await expectRejected(
      () => raw('PATCH', `/Users/${userId}`, JSON.stringify(patch({ op: 'remove', path: 'title' })), { 'Content-Type': 'application/x-www-form-urlencoded' }),
      415,
    );
  });

  test('when the charset or content encoding is not UTF-8 JSON, then 415 or 400', async () => {
    const body = JSON.stringify(userBody());
    await expectRejected(() => raw('POST', '/Users', body, { 'Content-Type': 'application/scim+json; charset=latin1' }), 415);
    await expectRejected(() => raw('POST', '/Users', body, { ...JSON_TYPE, 'Content-Encoding': 'compress' }), 415);
    await expectRejected(() => raw('POST', '/Users', 'not gzip at all', { ...JSON_TYPE, 'Content-Encoding': 'gzip' }), 400);
  });

  test('when the body is over the 1 MiB limit, then 413', async () => {
    await expectRejected(() => h.scim('POST', '/Users', userBody({ title: 'x'.repeat(1024 * 1024 + 1) })), 413);
  });

  test('when the body nests deeply, then 400 invalidSyntax', async () => {
    const deep = (n: number) => `{"schemas":["${SCIM_USER}"],"userName":"deep@example.org","title":${'['.repeat(n)}${']'.repeat(n)}}`;
    await expectRejected(() => raw('POST', '/Users', deep(40), JSON_TYPE), 400, 'invalidSyntax');
    await expectRejected(() => raw('POST', '/Users', deep(100_000), JSON_TYPE), 400);
  });

  test('when the body is not valid UTF-8, then 400 invalidSyntax', async () => {
    const bytes = Buffer.concat([Buffer.from(`{"schemas":["${SCIM_USER}"],"userName":"bad`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('@example.org"}')]);
    await expectRejected(() => raw('POST', '/Users', bytes, JSON_TYPE), 400, 'invalidSyntax');
  });

  test.each([
    ['a NUL character in userName', `{"schemas":["${SCIM_USER}"],"userName":"nul\\u0000@example.org"}`],
    ['a NUL character in another attribute', `{"schemas":["${SCIM_USER}"],"userName":"nul@example.org","title":"a\\u0000b"}`],
    ['an unpaired surrogate in userName', `{"schemas":["${SCIM_USER}"],"userName":"ls\\ud800@example.org"}`],
    ['an unpaired surrogate in a key', `{"schemas":["${SCIM_USER}"],"userName":"ls@example.org","\\udc00":"x"}`],
  ])('when the body holds %s, then 400 invalidValue', async (_what, body) => {
    await expectRejected(() => raw('POST', '/Users', body, JSON_TYPE), 400, 'invalidValue');
  });

  test('when schemas names an unknown URN, or not the User schema at all, then 400 invalidSyntax', async () => {
    await expectRejected(
      () => h.scim('POST', '/Users', userBody({ schemas: [SCIM_USER, 'urn:example:unknown:2.0:User'], 'urn:example:unknown:2.0:User': { x: 1 } })),
      400,
      'invalidSyntax',
    );
    await expectRejected(() => h.scim('POST', '/Users', userBody({ schemas: ['urn:example:unknown:2.0:User'] })), 400, 'invalidSyntax');
    await expectRejected(() => h.scim('PUT', `/Users/${userId}`, userBody({ schemas: 'not-a-list' })), 400, 'invalidSyntax');
    await expectRejected(() => h.scim('POST', '/Groups', { schemas: ['urn:example:unknown'], displayName: 'x' }), 400, 'invalidSyntax');
  });

  test.each([
    ['userName', { userName: crypto.randomBytes(75_000).toString('base64') }],
    ['externalId', { externalId: crypto.randomBytes(75_000).toString('base64') }],
    ['displayName', { displayName: crypto.randomBytes(75_000).toString('base64') }],
    ['an e-mail address', { emails: [{ value: crypto.randomBytes(75_000).toString('base64'), type: 'work' }] }],
  ])('when %s is 100 KB long, then 400 invalidValue (not a database failure)', async (_what, extra) => {
    await expectRejected(() => h.scim('POST', '/Users', userBody(extra)), 400, 'invalidValue');
  });

  test('when a 100 KB userName or group name arrives by PATCH, then 400 invalidValue', async () => {
    const long = crypto.randomBytes(75_000).toString('base64');
    await expectRejected(() => h.scim('PATCH', `/Users/${userId}`, patch({ op: 'replace', path: 'userName', value: long })), 400, 'invalidValue');
    await expectRejected(() => h.scim('PATCH', `/Groups/${groupId}`, patch({ op: 'replace', path: 'displayName', value: long })), 400, 'invalidValue');
    await expectRejected(() => h.scim('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: long }), 400, 'invalidValue');
  });

  test('when an unindexed attribute is longer than the string limit (100 KB title), then 400 invalidValue naming it and the limit', async () => {
    const res = await h.scim('POST', '/Users', userBody({ title: 't'.repeat(100_000) }));
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidValue');
    expect(res.body.detail).toMatch(/"title" is 100000 characters long; at most 1024/);
    const atLimit = await h.scim('POST', '/Users', userBody({ title: 't'.repeat(1024) }));
    expect(atLimit.status).toBe(201);
    expect(atLimit.body.title).toHaveLength(1024);
  });
});

describe('malformed PATCH messages', () => {
  test.each([
    ['no Operations', { schemas: [PATCH_OP] }, 'invalidSyntax'],
    ['empty Operations', patch(), 'invalidSyntax'],
    ['Operations not an array', { schemas: [PATCH_OP], Operations: { op: 'replace' } }, 'invalidSyntax'],
    ['no PatchOp schema', { Operations: [{ op: 'replace', path: 'title', value: 'x' }] }, 'invalidSyntax'],
    ['a bad op name', patch({ op: 'merge', path: 'title', value: 'x' }), 'invalidSyntax'],
    ['a null operation', patch(null), 'invalidSyntax'],
    ['a numeric path', patch({ op: 'replace', path: 5, value: 'x' }), 'invalidPath'],
    ['replace without a value', patch({ op: 'replace', path: 'title' }), 'invalidValue'],
    ['a value of the wrong type', patch({ op: 'replace', path: 'active', value: { yes: true } }), 'invalidValue'],
    ['a no-path value that is not an object', patch({ op: 'add', value: 'x' }), 'invalidSyntax'],
    ['a malformed value path', patch({ op: 'replace', path: 'emails[type eq ].value', value: 'x' }), 'invalidPath'],
    ['an unknown extension path', patch({ op: 'replace', path: 'urn:example:x:2.0:User:foo', value: 'x' }), 'invalidPath'],
    ['SQL in the path', patch({ op: 'replace', path: "title'; DROP TABLE scim_users; --", value: 'x' }), 'invalidPath'],
    ['removing the required userName', patch({ op: 'remove', path: 'userName' }), undefined],
    [
      'a valid operation after an invalid one',
      patch({ op: 'replace', path: 'title', value: 'Changed' }, { op: 'replace', path: 'nope', value: 'x' }),
      'invalidPath',
    ],
  ])('when a User PATCH has %s, then 400 and nothing changes', async (_what, body, scimType) => {
    await expectRejected(() => h.scim('PATCH', `/Users/${userId}`, body), 400, scimType);
  });

  test.each([
    ['a bad op name', patch({ op: 'merge', path: 'members', value: [] }), 'invalidSyntax'],
    ['an unknown attribute', patch({ op: 'replace', path: 'owner', value: 'x' }), 'invalidPath'],
    ['a member without value', patch({ op: 'add', path: 'members', value: [{ display: 'x' }] }), 'invalidValue'],
    ['an unsupported removal filter', patch({ op: 'remove', path: 'members[display eq "x"]' }), 'invalidFilter'],
    ['removing displayName', patch({ op: 'remove', path: 'displayName' }), 'mutability'],
    ['adding the group to itself', patch({ op: 'add', path: 'members', value: [{ value: '{group}' }] }), 'invalidValue'],
  ])('when a Group PATCH has %s, then 400 and nothing changes', async (_what, body, scimType) => {
    const resolved = JSON.parse(JSON.stringify(body).replace('{group}', groupId));
    await expectRejected(() => h.scim('PATCH', `/Groups/${groupId}`, resolved), 400, scimType);
  });
});

describe('hostile ids, filters and query parameters', () => {
  test.each([["' OR 1=1 --"], ['1; DROP TABLE scim_users'], ['\u0000'], ['../Groups'], ['x'.repeat(2000)]])(
    'when the id is %j, then every method answers 404',
    async (id) => {
      const path = `/Users/${encodeURIComponent(id)}`;
      await expectRejected(() => h.scim('GET', path), 404);
      await expectRejected(() => h.scim('PUT', path, userBody()), 404);
      await expectRejected(() => h.scim('PATCH', path, patch({ op: 'replace', path: 'title', value: 'x' })), 404);
      await expectRejected(() => h.scim('DELETE', path), 404);
      await expectRejected(() => h.scim('DELETE', `/Groups/${encodeURIComponent(id)}`), 404);
    },
  );

  test('when the id is not valid percent-encoded UTF-8, then 400', async () => {
    await expectRejected(() => h.scim('GET', '/Users/%FF'), 400);
  });

  test.each([
    [`userName eq "' OR 1=1 --"`],
    [`userName eq "x\\" or \\"1\\" eq \\"1"`],
    [`userName co "%"`],
    [`userName co "_"`],
    [`title eq "Original') OR ('1'='1"`],
  ])('when the filter value carries an injection attempt %s, then 200 and no rows', async (filter) => {
    const res = await h.scim('GET', `/Users?filter=${encodeURIComponent(filter)}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ totalResults: 0, Resources: [] });
  });

  test.each([
    [`userName eq x' OR 1=1 --`],
    [`userName eq "x" OR 1=1`],
    [`userName eq "x"; DROP TABLE scim_users`],
    [`(userName eq "x"`],
    [`userName eq "${'x'.repeat(5000)}"`],
    [`title[value eq "x"]`],
  ])('when the filter itself is malformed (%s), then 400 invalidFilter', async (filter) => {
    await expectRejected(() => h.scim('GET', `/Users?filter=${encodeURIComponent(filter)}`), 400, 'invalidFilter');
  });

  test.each([
    ['count=-5', 200],
    ['count=99999999999', 200],
    ['count=1.5', 400],
    ['count=1e400', 400],
    ['count=abc', 400],
    ['startIndex=abc', 400],
    ['startIndex=99999999999', 400],
    ['sortOrder=sideways', 400],
    ['sortBy=userName%3B%20DROP%20TABLE%20scim_users', 400],
    ['filter=a&filter=b', 400],
    ['cursor=not-a-cursor', 400],
    ['cursor=&startIndex=2', 400],
  ])('when the query is %s, then %i (never 500)', async (query, status) => {
    const res = await h.scim('GET', `/Users?${query}`);
    expect(res.status).toBe(status);
    if (status === 400) expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '400', scimType: expect.any(String) });
    if (query.startsWith('count=-')) expect(res.body).toMatchObject({ itemsPerPage: 0, Resources: [] });
  });

  test('when a URL is 100 KB long, then the server refuses it without a 500', async () => {
    const res = await h.scim('GET', `/Users?filter=${'x'.repeat(100_000)}`);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  test('when an endpoint or method does not exist, then 404 with a SCIM error', async () => {
    await expectRejected(() => h.scim('DELETE', '/Users'), 404);
    await expectRejected(() => h.scim('PATCH', '/Groups', patch({ op: 'remove', path: 'members' })), 404);
    await expectRejected(() => h.scim('GET', '/Nope'), 404);
  });

  test('after the whole corpus, the original user and group are untouched', async () => {
    const user = await h.scim('GET', `/Users/${userId}`);
    expect(user.body).toMatchObject({ title: 'Original', meta: { version: 'W/"1"' } });
    const group = await h.scim('GET', `/Groups/${groupId}`);
    expect(group.body).toMatchObject({ displayName: 'Original group', meta: { version: 'W/"1"' } });
    expect(group.body.members.map((m: { value: string }) => m.value)).toEqual([userId]);
  });
});
