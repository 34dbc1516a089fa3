/**
 * OAuth 2.0 client credentials (issue 25), against the real server and database: the token
 * endpoint (RFC 6749 §4.4, Basic and body client authentication, the §5.2 errors), its access
 * tokens on the SCIM API beside the static tokens, expiry, revocation at once, the failure
 * throttle, the tokens CLI and the admin API; secrets and tokens never in a log line.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { createLogger } from '../common/logger';
import { createOAuthClient, revokeOAuthClient } from '../common/repositories/oauth-clients';
import { createToken } from '../common/repositories/tokens';
import { adminRequest, newUser, startHarness, type Harness } from './harness';

const logLines: string[] = [];
const logStream = new Writable({
  write(chunk: Buffer, _encoding, done) {
    logLines.push(chunk.toString('utf8'));
    done();
  },
});

let h: Harness;
/** A server of its own: access tokens living 2 s, and a small failure budget (its address stays throttled). */
let s: Harness;
/** Every secret and access token the tests saw: none may reach a log line. */
const secrets: string[] = [];

beforeAll(async () => {
  // Bearer tokens trusted 5 s without a look-up, as in production: access tokens are looked up on every request whatever it is.
  h = await startHarness({ withWorker: false, tokenCacheMs: 5_000, logger: createLogger('debug', { process: 'test' }, logStream) });
  s = await startHarness({ withWorker: false, oauthAccessTokenTtlMs: 2_000, failureLimit: { perMinute: 1, burst: 3 } });
});
afterAll(async () => {
  await h?.close();
  await s?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function tokenRequest(
  harness: Harness,
  form: Record<string, string> | string,
  options: { authorization?: string; contentType?: string } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${harness.publicUrl}/oauth/token`, {
    method: 'POST',
    headers: {
      'Content-Type': options.contentType ?? 'application/x-www-form-urlencoded',
      ...(options.authorization ? { Authorization: options.authorization } : {}),
    },
    body: typeof form === 'string' ? form : new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

async function newClient(harness: Harness, name = 'entra') {
  const client = await createOAuthClient(harness.db, harness.tenantId, name);
  secrets.push(client.clientSecret);
  return client;
}

/** An access token for the client, by HTTP Basic. */
async function accessToken(harness: Harness, client: { clientId: string; clientSecret: string }): Promise<string> {
  const res = await tokenRequest(harness, { grant_type: 'client_credentials' }, { authorization: basic(client.clientId, client.clientSecret) });
  expect(res.status).toBe(200);
  secrets.push(res.body.access_token);
  return res.body.access_token as string;
}

const users = (harness: Harness, token: string, query = '?count=1') =>
  fetch(`${harness.baseUrl}/Users${query}`, { headers: { Authorization: `Bearer ${token}` } });

describe('the token endpoint', () => {
  test('when a client authenticates with HTTP Basic, then it gets a Bearer access token living 60 minutes, not cached, that lists and creates /Users', async () => {
    const client = await newClient(h);
    const res = await tokenRequest(h, { grant_type: 'client_credentials' }, { authorization: basic(client.clientId, client.clientSecret) });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.body).toEqual({ access_token: expect.stringMatching(/^sft_[A-Za-z0-9_-]{43}$/), token_type: 'Bearer', expires_in: 3600 });
    secrets.push(res.body.access_token);
    // Stored as a hash only.
    const stored = (await h.db.query<{ token_hash: string }>('SELECT token_hash FROM oauth_access_tokens WHERE client_id = $1', [client.clientId])).rows;
    expect(stored).toHaveLength(1);
    expect(stored[0].token_hash).toMatch(/^[0-9a-f]{64}$/);

    const list = await users(h, res.body.access_token);
    expect(list.status).toBe(200);
    expect(((await list.json()) as { schemas: string[] }).schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
    const created = await fetch(`${h.baseUrl}/Users`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${res.body.access_token}`, 'Content-Type': 'application/scim+json' },
      body: JSON.stringify(newUser()),
    });
    expect(created.status).toBe(201);
  });

  test('when a client sends client_id and client_secret in the body, then it gets an access token that works on /Users; a scope of "scim" is accepted', async () => {
    const client = await newClient(h, 'body-auth');
    const res = await tokenRequest(h, { grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret, scope: 'scim' });
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
    secrets.push(res.body.access_token);
    expect((await users(h, res.body.access_token)).status).toBe(200);
    // Basic with the same client_id in the body (RFC 6749 §3.2.1 lets a client send it) is one method, not two.
    const alsoId = await tokenRequest(
      h,
      { grant_type: 'client_credentials', client_id: client.clientId },
      { authorization: basic(client.clientId, client.clientSecret) },
    );
    expect(alsoId.status).toBe(200);
    secrets.push(alsoId.body.access_token);
  });

  test('when the secret is wrong, the client unknown or the credentials missing, then the answer is 401 invalid_client with a Basic challenge', async () => {
    const client = await newClient(h, 'wrong-secret');
    const attempts = [
      { authorization: basic(client.clientId, `${client.clientSecret}x`) },
      { authorization: basic('00000000-0000-4000-8000-000000000000', client.clientSecret) },
      // The secret pasted into the id field: refused, and (last test) never logged.
      { authorization: basic(client.clientSecret, client.clientSecret) },
      { authorization: 'Bearer something' },
      {},
    ];
    for (const attempt of attempts) {
      const res = await tokenRequest(h, { grant_type: 'client_credentials' }, attempt);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="scimflow"/);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    const inBody = await tokenRequest(h, { grant_type: 'client_credentials', client_id: client.clientId, client_secret: 'sfo_wrong' });
    expect(inBody.status).toBe(401);
    expect(inBody.body.error).toBe('invalid_client');
  });

  test('when a client authenticates both ways at once, then the answer is 400 invalid_request', async () => {
    const client = await newClient(h, 'both');
    const res = await tokenRequest(
      h,
      { grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret },
      { authorization: basic(client.clientId, client.clientSecret) },
    );
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: expect.stringMatching(/not both/) });
    // A body client_id naming another client beside Basic is two methods too.
    const other = await tokenRequest(
      h,
      { grant_type: 'client_credentials', client_id: '00000000-0000-4000-8000-000000000000' },
      { authorization: basic(client.clientId, client.clientSecret) },
    );
    expect(other.body.error).toBe('invalid_request');
  });

  test('when the grant is not client_credentials, the request is malformed or the scope unknown, then the RFC 6749 §5.2 error says which', async () => {
    const client = await newClient(h, 'grants');
    const authorization = basic(client.clientId, client.clientSecret);
    const cases: [Record<string, string> | string, { contentType?: string }, number, string][] = [
      [{ grant_type: 'password', username: 'a', password: 'b' }, {}, 400, 'unsupported_grant_type'],
      [{ grant_type: 'authorization_code', code: 'x' }, {}, 400, 'unsupported_grant_type'],
      [{}, {}, 400, 'invalid_request'],
      ['grant_type=client_credentials&grant_type=client_credentials', {}, 400, 'invalid_request'],
      [JSON.stringify({ grant_type: 'client_credentials' }), { contentType: 'application/json' }, 400, 'invalid_request'],
      [{ grant_type: 'client_credentials', scope: 'admin' }, {}, 400, 'invalid_scope'],
    ];
    for (const [form, options, status, error] of cases) {
      const res = await tokenRequest(h, form, { ...options, authorization });
      expect({ form, status: res.status, error: res.body.error }).toEqual({ form, status, error });
      expect(typeof res.body.error_description).toBe('string');
    }
    const get = await fetch(`${h.publicUrl}/oauth/token`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });
});

describe('access tokens on the SCIM API', () => {
  test("when a client is revoked, then its access tokens get 401 on the very next request, and it gets no new one; the tenant's static token still works", async () => {
    const client = await newClient(h, 'to-revoke');
    const token = await accessToken(h, client);
    expect((await users(h, token)).status).toBe(200);
    expect(await revokeOAuthClient(h.db, client.clientId)).toBe(true);
    const refused = await users(h, token);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="scimflow", error="invalid_token"');
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/revoked/);
    const again = await tokenRequest(h, { grant_type: 'client_credentials' }, { authorization: basic(client.clientId, client.clientSecret) });
    expect(again.body.error).toBe('invalid_client');
    expect((await users(h, h.token)).status).toBe(200);
  });

  test("when an access token is used, then it reaches its own tenant's users only, and it opens neither the admin API nor another tenant", async () => {
    const otherToken = await h.newTenant(`o-${Date.now().toString(36)}`);
    const theirs = newUser();
    const made = await fetch(`${h.baseUrl}/Users`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${otherToken}`, 'Content-Type': 'application/scim+json' },
      body: JSON.stringify(theirs),
    });
    expect(made.status).toBe(201);
    const token = await accessToken(h, await newClient(h, 'own-tenant'));
    const found = await users(h, token, `?filter=${encodeURIComponent(`userName eq "${theirs.userName}"`)}`);
    expect(((await found.json()) as { totalResults: number }).totalResults).toBe(0);
    expect((await adminRequest(h.publicUrl, token, 'GET', `/tenants/${h.tenantId}/tokens`)).status).toBe(401);
  });

  test('when an access token has expired, then the SCIM API answers 401 with a SCIM error saying it expired', async () => {
    const client = await newClient(s, 'short');
    const res = await tokenRequest(s, { grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret });
    expect(res.body.expires_in).toBe(2);
    secrets.push(res.body.access_token);
    expect((await users(s, res.body.access_token)).status).toBe(200);
    await sleep(2_500);
    const expired = await users(s, res.body.access_token);
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const body = (await expired.json()) as { schemas: string[]; status: string; detail: string };
    expect(body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    expect(body.status).toBe('401');
    expect(body.detail).toMatch(/^The access token expired at \d{4}-\d\d-\d\dT.*request a new one/);
  });

  test('when an address sends wrong client secrets past its budget, then it gets 429 slow_down with Retry-After, while a valid client and its fresh access token are still served from it', async () => {
    const client = await newClient(s, 'throttled-neighbour');
    await sleep(500); // the server learns of the new client by NOTIFY within milliseconds
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 6; i++) {
      const res = await tokenRequest(s, { grant_type: 'client_credentials' }, { authorization: basic(client.clientId, `sfo_guess_${i}`) });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.body.error).toBe('slow_down');
        retryAfter = res.headers.get('retry-after');
      }
    }
    expect(statuses).toContain(401);
    expect(statuses.slice(-2)).toEqual([429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    // An unknown access token from the throttled address is not even looked up.
    expect((await users(s, 'sft_unknown_0000000000000000000000000000000000000')).status).toBe(429);
    // The valid client is served, and so is the token it just got.
    const token = await accessToken(s, client);
    expect((await users(s, token)).status).toBe(200);
  });
});

describe('managing clients', () => {
  test('when the tokens CLI creates, lists, rotates and revokes a client, then CLIENT_ID, CLIENT_SECRET and TOKEN_URL are printed once, the list never shows a secret, and each change holds at once', async () => {
    const run = promisify(execFile);
    // A DATA_DIR of its own: no `npm start` of this clone lends the CLI its addresses.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-oauth-cli-'));
    const env = { ...process.env, DATABASE_URL: h.databaseUrlForChildren, PUBLIC_URL: h.publicUrl, DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
    const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'cli/tokens.ts', ...args], { cwd: path.join(__dirname, '..'), env });
    const created = await cli('create-client', '--tenant', h.tenantId, '--name', 'entra-cli');
    const printed = Object.fromEntries(
      created.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
    );
    expect(printed).toEqual({
      CLIENT_ID: expect.stringMatching(/^[0-9a-f-]{36}$/),
      CLIENT_SECRET: expect.stringMatching(/^sfo_/),
      TOKEN_URL: `${h.publicUrl}/oauth/token`,
      SCIM_BASE_URL: h.baseUrl,
    });
    secrets.push(printed.CLIENT_SECRET);
    expect(created.stderr).toMatch(/not shown again/);
    const token = await accessToken(h, { clientId: printed.CLIENT_ID, clientSecret: printed.CLIENT_SECRET });

    const listed = await cli('list', '--tenant', h.tenantId);
    expect(listed.stdout).toMatch(new RegExp(`${printed.CLIENT_ID}  tenant=${h.tenantId}  kind=oauth-client  name=entra-cli  secret=sfo_.{4}…`));
    expect(listed.stdout).not.toContain(printed.CLIENT_SECRET);

    const rotated = await cli('rotate-client', printed.CLIENT_ID);
    const newSecret = /^CLIENT_SECRET=(.+)$/m.exec(rotated.stdout)?.[1] as string;
    secrets.push(newSecret);
    expect(newSecret).not.toBe(printed.CLIENT_SECRET);
    expect(rotated.stdout).toContain(`TOKEN_URL=${h.publicUrl}/oauth/token`);
    const old = await tokenRequest(h, { grant_type: 'client_credentials' }, { authorization: basic(printed.CLIENT_ID, printed.CLIENT_SECRET) });
    expect(old.body.error).toBe('invalid_client');
    await accessToken(h, { clientId: printed.CLIENT_ID, clientSecret: newSecret });
    // Issued before the rotation: works until it expires.
    expect((await users(h, token)).status).toBe(200);

    await cli('revoke-client', printed.CLIENT_ID);
    expect((await users(h, token)).status).toBe(401);
    await expect(cli('revoke-client', printed.CLIENT_ID)).rejects.toThrow(/no active OAuth client/);
  });

  test("when a Super User manages clients through the admin API, then the secret is shown once, the listing has each one's last request, rotation and revocation are audited, and a read-only token may only list", async () => {
    const admin = (await createToken(h.db, h.tenantId, 'ops', 'admin', 'Super User')).token;
    const reader = (await createToken(h.db, h.tenantId, 'reader', 'admin', 'Read Only')).token;
    const base = `/tenants/${h.tenantId}/oauth-clients`;
    // The earlier tests' clients are revoked, so the limit of two live ones applies to what this test makes.
    await h.db.query('UPDATE oauth_clients SET revoked_at = now() WHERE tenant_id = $1 AND revoked_at IS NULL', [h.tenantId]);

    const created = await adminRequest(h.publicUrl, admin, 'POST', base, { name: 'entra-gallery' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'entra-gallery', tokenUrl: `${h.publicUrl}/oauth/token`, scimBaseUrl: h.baseUrl });
    const { clientId, clientSecret } = created.body as { clientId: string; clientSecret: string };
    secrets.push(clientSecret);
    const token = await accessToken(h, { clientId, clientSecret });
    expect((await users(h, token)).status).toBe(200);
    await h.server.requestLog.flush();

    const listed = await adminRequest(h.publicUrl, reader, 'GET', base);
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(clientSecret);
    const entry = (listed.body.clients as { clientId: string }[]).find((c) => c.clientId === clientId);
    expect(entry).toMatchObject({
      name: 'entra-gallery',
      secretPrefix: clientSecret.slice(0, 8),
      revokedAt: null,
      liveAccessTokens: 1,
      lastRequest: { method: 'GET', status: 200 },
    });
    expect(listed.body).toMatchObject({ tokenUrl: `${h.publicUrl}/oauth/token`, maxLiveClients: 2 });

    expect((await adminRequest(h.publicUrl, reader, 'POST', base, { name: 'nope' })).status).toBe(403);
    expect((await adminRequest(h.publicUrl, reader, 'POST', `${base}/${clientId}/revoke`)).status).toBe(403);
    expect((await adminRequest(h.publicUrl, admin, 'POST', base, { name: '' })).status).toBe(400);
    expect((await adminRequest(h.publicUrl, admin, 'POST', base, { name: 'second' })).status).toBe(201);
    expect((await adminRequest(h.publicUrl, admin, 'POST', base, { name: 'third' })).status).toBe(409);

    const rotated = await adminRequest(h.publicUrl, admin, 'POST', `${base}/${clientId}/rotate`);
    expect(rotated.status).toBe(200);
    secrets.push(rotated.body.clientSecret);
    expect(rotated.body.clientSecret).not.toBe(clientSecret);
    expect((await tokenRequest(h, { grant_type: 'client_credentials' }, { authorization: basic(clientId, clientSecret) })).body.error).toBe('invalid_client');
    await accessToken(h, { clientId, clientSecret: rotated.body.clientSecret });

    const revoked = await adminRequest(h.publicUrl, admin, 'POST', `${base}/${clientId}/revoke`);
    expect(revoked.body).toEqual({ clientId, name: 'entra-gallery', revoked: true, alreadyRevoked: false });
    expect((await users(h, token)).status).toBe(401);
    expect((await adminRequest(h.publicUrl, admin, 'POST', `${base}/${clientId}/rotate`)).status).toBe(409);
    expect((await adminRequest(h.publicUrl, admin, 'POST', `${base}/not-a-client/revoke`)).status).toBe(404);

    const audit = (
      await h.db.query<{ action: string }>("SELECT action FROM audit_log WHERE tenant_id = $1 AND action LIKE 'admin.oauthClient%' ORDER BY id", [h.tenantId])
    ).rows.map((r) => r.action);
    expect(audit).toEqual(['admin.oauthClientCreated', 'admin.oauthClientCreated', 'admin.oauthClientSecretRotated', 'admin.oauthClientRevoked']);
  });

  test('when all of the above has run, then no client secret and no access token appears in any log line', async () => {
    const all = logLines.join('');
    expect(all).toContain('OAuth token request');
    expect(all).toContain('"error":"invalid_client"');
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(all).not.toContain(secret);
  });
});
