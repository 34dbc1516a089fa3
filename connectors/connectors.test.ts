/**
 * The connector section of a tenant configuration (every problem with its path), the `http`
 * connector's template language, its classification of answers, its auth and its reading of ids
 * and state, against a fake fetch. No services.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { validateTenantConfig } from '../domain/tenant-config';
import { parseTenantConfigDocument } from '../domain/tenant-config-document';
import { renderBody, renderPath, resolvePointer } from '../domain/connector-template';
import type { HttpConnectorConfig } from '../domain/connector-config';
import { accountStateOf, differingParts, partDigests, partsToSend } from './account-state';
import { applicationMessage, classifyStatus, httpConnector, retryAfterMs } from './http';
import { ConnectorError, type AccountState } from './port';
import { connectorProblemsOnline } from './validate';
import { decryptSecret, encryptSecret, parseSecretKeys } from './secret-crypto';
import { desiredUser } from '../domain/desired-user';
import { parseTenantConfig } from '../domain/tenant-config';

const problems = (input: unknown) => {
  const r = validateTenantConfig(input);
  return r.ok ? [] : r.problems.map((p) => `${p.path.join('.')}: ${p.message}`);
};

const minimal = (extra: Record<string, unknown> = {}) => ({
  kind: 'http',
  baseUrl: 'https://app.example/api',
  auth: { bearer: { secret: 'app-token' } },
  findAccount: { path: '/users?email={{profile.email}}', id: '/users/0/id' },
  createAccount: { path: '/users', body: { email: '{{profile.email}}' }, id: '/id' },
  setLogin: { path: '/users/{{appId}}/login', body: { enabled: '{{loginEnabled}}' } },
  terminate: { path: '/users/{{appId}}' },
  ...extra,
});

describe('connector configuration', () => {
  test('when there is no connector section, then the tenant keeps the directory (nothing is added to the parsed configuration)', () => {
    const r = validateTenantConfig({});
    expect(r.ok && r.config.connector).toBeUndefined();
    expect(validateTenantConfig({ connector: { kind: 'directory' } })).toMatchObject({ ok: true, config: { connector: { kind: 'directory' } } });
  });

  test('when a template names an unknown field, or one the operation does not have, then each is a problem at its path', () => {
    expect(
      problems({
        connector: minimal({
          createAccount: {
            path: '/users',
            body: { email: '{{profile.emial}}', owner: '{{appId}}', orgs: { $each: '{{organisations}}', $item: { key: '{{item.org}}' } } },
            id: '/id',
          },
          setLogin: { path: '/users/{{appId}}/login', body: { enabled: '{{loginEnabled}}', who: '{{profile.email}}' } },
        }),
      }),
    ).toEqual([
      'connector.createAccount.body.email: unknown placeholder {{profile.emial}}; did you mean {{profile.email}}?',
      'connector.createAccount.body.owner: {{appId}} is not available in createAccount: the account has no id in the application before it is made',
      'connector.createAccount.body.orgs.$item.key: {{item.org}} is not a field of an entry of organisations; the fields are: item.orgKey, item.kind, item.role',
      'connector.setLogin.body.who: {{profile.email}} is not available in setLogin (it has {{appId}}, {{userId}}, {{idempotencyKey}}, {{loginEnabled}})',
    ]);
  });

  test('when auth, URL, timeout, pointers, bodies or read-back keys are wrong, then each is a problem at its path', () => {
    expect(
      problems({
        connector: minimal({
          baseUrl: 'ftp://app.example',
          auth: { bearer: { secret: 'a' }, hmac: { secret: 'b' } },
          timeout: '2m',
          findAccount: { path: 'users', id: 'users/0/id' },
          terminate: { path: '/users/{{appId}}', body: { why: 'left' } },
          readAccount: { path: '/users/{{appId}}', read: { 'profile.emial': '/email', organisations: { at: '/m', item: { org: '/o' } } } },
          apply: { profiles: { path: '/p' } },
        }),
      }),
    ).toEqual([
      'connector.baseUrl: must be an http:// or https:// URL',
      'connector.auth: give exactly one of bearer, oauth2ClientCredentials, hmac (not bearer and hmac)',
      'connector.timeout: must be a duration from 100ms to 20s, such as 5s (several calls run within one 30-second step)',
      'connector.findAccount.path: must start with / (it is appended to baseUrl)',
      'connector.findAccount.id: must be a JSON pointer such as /id or /users/0/id (RFC 6901)',
      'connector.apply.profiles: unknown key "profiles"; did you mean "profile"?',
      'connector.terminate.body: a DELETE request has no body',
      'connector.readAccount.read.profile.emial: unknown attribute "profile.emial"; did you mean "profile.email"?',
      'connector.readAccount.read.organisations.item.org: unknown field "org"; the fields of an entry of organisations are: orgKey, kind, role',
    ]);
  });

  test('when the kind is unknown, or a directory connector has settings, then it says so', () => {
    expect(problems({ connector: { kind: 'ldap' } })).toEqual(['connector.kind: kind must be directory, http or scim']);
    expect(problems({ connector: { kind: 'directory', baseUrl: 'https://x' } })).toEqual(['connector.baseUrl: unknown key "baseUrl"; the keys here are: kind']);
  });

  test('when the shipped sample-app example is read, then it validates, with its line numbers for problems', () => {
    const doc = parseTenantConfigDocument(fs.readFileSync(path.join(__dirname, '../config/examples/sample-app-connector.yaml'), 'utf8'));
    expect(doc.problems).toEqual([]);
    expect(doc.config?.connector?.kind).toBe('http');
    const broken = parseTenantConfigDocument(
      'connector:\n  kind: http\n  baseUrl: https://x\n  auth: { bearer: { secret: t } }\n  findAccount: { path: "/u?e={{profile.mail}}", id: /id }\n  createAccount: { path: /u, id: /id }\n  setLogin: { path: "/u/{{appId}}" }\n  terminate: { path: "/u/{{appId}}" }\n',
    );
    expect(broken.problems).toEqual(['connector.findAccount.path (line 5): unknown placeholder {{profile.mail}}; did you mean {{profile.email}}?']);
  });

  test('when a secret named is missing or the URL does not answer, then the online check refuses it with its path', async () => {
    // A port nothing listens on.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const r = validateTenantConfig({ connector: minimal({ baseUrl: `http://127.0.0.1:${port}` }) });
    if (!r.ok) throw new Error('invalid');
    const found = await connectorProblemsOnline(r.config, { tenantId: 'acme', secrets: { has: async () => false }, timeoutMs: 2_000 });
    expect(found.map((p) => `${p.path.join('.')}: ${p.message}`)).toEqual([
      'connector.auth.bearer.secret: no secret named app-token; set it with: npm run tenant-config -- set-secret --tenant acme --name app-token (the value on stdin)',
      `connector.baseUrl: http://127.0.0.1:${port} is unreachable (ECONNREFUSED); check the URL, and that this host can reach it`,
    ]);
  });
});

describe('templates', () => {
  const context = {
    appId: 'a/1',
    profile: { email: 'pat lee@example.org', firstName: 'Pat', title: null, alternatePhones: ['+1', '+2'] },
    organisations: [
      { orgKey: 'north', kind: 'primary', role: 'Client Admin' },
      { orgKey: 'south', kind: 'member', role: null },
    ],
    access: { caseManager: true, settings: { employeeArea: ['Care Coordinator'] } },
  };

  test('when a whole value is one placeholder, then its JSON type is kept; inside text, it is text', () => {
    expect(
      renderBody(
        {
          orgs: '{{organisations}}',
          cm: '{{access.caseManager}}',
          title: '{{profile.title}}',
          greeting: 'Dear {{profile.firstName}} {{profile.title}}!',
          tags: { $each: '{{access.settings.employeeArea}}', $item: { name: '{{item}}' } },
          clients: { $each: '{{organisations}}', $item: { client: '{{item.orgKey}}', admin: '{{item.role}}' } },
        },
        context,
      ),
    ).toEqual({
      orgs: context.organisations,
      cm: true,
      title: null,
      greeting: 'Dear Pat !',
      tags: [{ name: 'Care Coordinator' }],
      clients: [
        { client: 'north', admin: 'Client Admin' },
        { client: 'south', admin: null },
      ],
    });
  });

  test('when a path has placeholders, then each value is URL-encoded', () => {
    expect(renderPath('/users/{{appId}}?email={{profile.email}}&p={{profile.alternatePhones}}', context)).toBe(
      '/users/a%2F1?email=pat%20lee%40example.org&p=%2B1,%2B2',
    );
  });

  test('when a pointer misses, then it says whether a list was empty (nothing found) or the shape is unknown', () => {
    expect(resolvePointer({ users: [{ id: 'x' }] }, '/users/0/id')).toEqual({ found: true, value: 'x' });
    expect(resolvePointer({ users: [] }, '/users/0/id')).toEqual({ found: false, missing: 'emptyList', at: '/users/0' });
    expect(resolvePointer({ data: [] }, '/users/0/id')).toEqual({ found: false, missing: 'shape', at: '/users' });
    expect(resolvePointer({ 'a/b': { '~': 1 } }, '/a~1b/~0')).toEqual({ found: true, value: 1 });
  });
});

describe('classification of answers', () => {
  test('when the application answers, then 2xx is ok, 409 a conflict, 408/425/429/5xx transient, other 4xx permanent, 404 permanent only on a write', () => {
    expect([200, 201, 204].map((s) => classifyStatus(s, true))).toEqual(['ok', 'ok', 'ok']);
    expect([400, 403, 422, 405].map((s) => classifyStatus(s, true))).toEqual(['permanent', 'permanent', 'permanent', 'permanent']);
    expect([classifyStatus(404, true), classifyStatus(404, false)]).toEqual(['permanent', 'notFound']);
    expect(classifyStatus(409, true)).toBe('conflict');
    expect([408, 425, 429, 500, 502, 503].map((s) => classifyStatus(s, false))).toEqual(Array(6).fill('transient'));
    expect(classifyStatus(401, false)).toBe('unauthorized');
  });

  test('when Retry-After is seconds or a date, then it becomes milliseconds', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('7', now)).toBe(7_000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  test('when the application explains itself, then its message is taken from detail, message, error or the text, one line and shortened', () => {
    expect(applicationMessage('{"detail":"Email domain not allowed"}')).toBe('Email domain not allowed');
    expect(applicationMessage('{"error":{"message":"role unknown"}}')).toBe('role unknown');
    expect(applicationMessage('{"error":"invalid_client","error_description":"bad secret"}')).toBe('bad secret');
    expect(applicationMessage('<html><body>Bad\n  gateway</body></html>')).toBe('Bad gateway');
    expect(applicationMessage('x'.repeat(500))).toHaveLength(300);
  });
});

describe('the http connector', () => {
  const account: AccountState = accountStateOf(
    desiredUser(
      { userName: 'pat@example.org', name: { givenName: 'Pat', familyName: 'Lee' }, emails: [{ value: 'pat@example.org', primary: true }] },
      parseTenantConfig({ organisations: [{ key: 'north', name: 'North', licenceLevel: 'Pro' }], defaults: { client: 'north' } }),
    ),
  );
  const call = { tenantId: 'acme', userId: 'u1', idempotencyKey: 'user-acme-u1:convergeUser:3' };

  /** A fake application: answers from `answer`, records each request. */
  function fake(answer: (method: string, url: string, body: unknown) => { status: number; body?: unknown; headers?: Record<string, string> }) {
    const seen: { method: string; url: string; headers: Record<string, string>; body: unknown }[] = [];
    const fetchFn = (async (url: string, init: RequestInit) => {
      const text = init.body ? String(init.body) : undefined;
      const body = text === undefined ? undefined : text.startsWith('{') ? JSON.parse(text) : text;
      seen.push({ method: String(init.method), url, headers: init.headers as Record<string, string>, body });
      const a = answer(String(init.method), url, body);
      return new Response(a.body === undefined ? null : JSON.stringify(a.body), { status: a.status, headers: a.headers });
    }) as unknown as typeof fetch;
    return { fetchFn, seen };
  }

  const connector = (cfg: Record<string, unknown>, fetchFn: typeof fetch, secret = 'tok') => {
    const r = validateTenantConfig({ connector: minimal(cfg) });
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return httpConnector(r.config.connector as HttpConnectorConfig, { tenantId: 'acme', fetch: fetchFn, secret: async () => secret });
  };

  test('when no account is found, then it is created with the body template, login off, an Idempotency-Key and the bearer token', async () => {
    const app = fake((method) => (method === 'GET' ? { status: 200, body: { users: [] } } : { status: 201, body: { id: 'A-1' } }));
    const c = connector({ createAccount: { path: '/users', body: { email: '{{profile.email}}', login: '{{loginEnabled}}' }, id: '/id' } }, app.fetchFn);
    expect(await c.ensureAccount(call, account, null)).toEqual({ appId: 'A-1', created: true });
    expect(app.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET https://app.example/api/users?email=pat%40example.org',
      'POST https://app.example/api/users',
    ]);
    expect(app.seen[1].body).toEqual({ email: 'pat@example.org', login: false });
    expect(app.seen[1].headers).toMatchObject({
      Authorization: 'Bearer tok',
      'Idempotency-Key': expect.stringMatching(/^user-acme-u1:convergeUser:3:createAccount:/),
    });
    expect(app.seen[0].headers['Idempotency-Key']).toBeUndefined();
  });

  test('when an earlier try made the account, then it is found and not made again', async () => {
    const app = fake(() => ({ status: 200, body: { users: [{ id: 'A-9' }] } }));
    expect(await connector({}, app.fetchFn).ensureAccount(call, account, null)).toEqual({ appId: 'A-9', created: false });
    expect(app.seen).toHaveLength(1);
  });

  test('when the answer lacks the id, then the failure is permanent and says what was missing', async () => {
    const app = fake((method) => (method === 'GET' ? { status: 200, body: { data: [] } } : { status: 201, body: { ok: true } }));
    await expect(connector({}, app.fetchFn).ensureAccount(call, account, null)).rejects.toMatchObject({
      kind: 'permanent',
      message: "the application's answer to findAccount has no /users (expected the account id at /users/0/id)",
    });
  });

  test('when the application refuses, is busy or is down, then the failure is classified with its message and Retry-After', async () => {
    const refuse = fake(() => ({ status: 422, body: { detail: 'role not licensed' } }));
    await expect(connector({}, refuse.fetchFn).setLogin(call, 'A-1', true)).rejects.toMatchObject({
      kind: 'permanent',
      message: 'role not licensed',
      details: { status: 422, operation: 'setLogin' },
    });
    const busy = fake(() => ({ status: 429, body: { detail: 'slow down' }, headers: { 'Retry-After': '12' } }));
    await expect(connector({}, busy.fetchFn).setLogin(call, 'A-1', true)).rejects.toMatchObject({
      kind: 'transient',
      details: { retryAfterMs: 12_000, status: 429 },
    });
    const clash = fake(() => ({ status: 409, body: { message: 'login taken' } }));
    await expect(connector({}, clash.fetchFn).setLogin(call, 'A-1', true)).rejects.toMatchObject({ kind: 'conflict', message: 'login taken' });
    const down = (async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    }) as unknown as typeof fetch;
    await expect(connector({}, down).setLogin(call, 'A-1', true)).rejects.toMatchObject({
      kind: 'transient',
      message: 'app.example unreachable (ECONNREFUSED)',
    });
    const gone = fake(() => ({ status: 404 }));
    await expect(connector({}, gone.fetchFn).terminate(call, 'A-1')).resolves.toBeUndefined();
    await expect(connector({}, gone.fetchFn).setLogin(call, 'A-1', true)).rejects.toBeInstanceOf(ConnectorError);
  });

  test('when OAuth client credentials are configured, then one token is fetched, kept, and fetched again after a 401', async () => {
    let tokens = 0;
    const app = fake((method, url) => {
      if (url.endsWith('/token')) return { status: 200, body: { access_token: `t${++tokens}`, expires_in: 3600 } };
      return { status: tokens === 1 && app.seen.filter((s) => !s.url.endsWith('/token')).length === 3 ? 401 : 204 };
    });
    const c = connector(
      { auth: { oauth2ClientCredentials: { tokenUrl: 'https://idp.example/token', clientId: 'scimflow', clientSecret: { secret: 'cs' } } } },
      app.fetchFn,
    );
    await c.setLogin(call, 'A-1', true);
    await c.setLogin(call, 'A-1', false);
    await c.setLogin(call, 'A-1', true); // answered 401: a new token, then the call again
    expect(tokens).toBe(2);
    expect(app.seen.filter((s) => !s.url.endsWith('/token')).map((s) => s.headers.Authorization)).toEqual(['Bearer t1', 'Bearer t1', 'Bearer t1', 'Bearer t2']);
  });

  test('when HMAC is configured, then each request carries a signature of method, path, timestamp and body', async () => {
    const app = fake(() => ({ status: 204 }));
    const c = connector({ auth: { hmac: { secret: 'mac', header: 'X-Sig' } } }, app.fetchFn, 'k3y');
    await c.setLogin(call, 'A-1', true);
    const sig = app.seen[0].headers['X-Sig'];
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sig) ?? [];
    const crypto = await import('node:crypto');
    expect(v1).toBe(crypto.createHmac('sha256', 'k3y').update(`POST\n/api/users/A-1/login\n${t}\n{"enabled":true}`).digest('hex'));
  });

  test('when the account is read back, then each mapped attribute comes from its pointer', async () => {
    const app = fake(() => ({
      status: 200,
      body: {
        email: 'pat@example.org',
        login: true,
        access: { role: 'VOB Worker', tags: [{ n: 'Care Coordinator' }] },
        m: [{ k: 'north', r: 'Client Staff' }],
      },
    }));
    const c = connector(
      {
        readAccount: {
          path: '/users/{{appId}}',
          read: {
            'profile.email': '/email',
            loginEnabled: '/login',
            'access.securityRole': '/access/role',
            'access.settings.employeeArea': { at: '/access/tags', item: '/n' },
            organisations: { at: '/m', item: { orgKey: '/k', role: '/r' } },
          },
        },
      },
      app.fetchFn,
    );
    expect(c.readsBack).toBe(true);
    const read = await c.readAccount(call, 'A-1');
    expect(read).toMatchObject({
      profile: { email: 'pat@example.org', firstName: null },
      loginEnabled: true,
      organisations: [{ orgKey: 'north', kind: null, role: 'Client Staff' }],
      access: { securityRole: 'VOB Worker', settings: { employeeArea: ['Care Coordinator'] } },
    });
  });
});

describe('what is sent and confirmed', () => {
  test('when one part changed since the application confirmed, then only that part is sent; nothing confirmed: all', () => {
    const base = accountStateOf(desiredUser({ userName: 'a@example.org', name: { givenName: 'A', familyName: 'B' } }, parseTenantConfig({})));
    const confirmed = partDigests(base);
    const changed = { ...base, access: { ...base.access, securityRole: 'VOB Worker' } };
    expect(partsToSend(partDigests(changed), confirmed)).toEqual(['access']);
    expect(partsToSend(partDigests(base), {})).toEqual(['profile', 'organisations', 'licences', 'providerAccounts', 'access']);
    // Order within lists does not matter.
    const reordered = { ...base, profile: { ...base.profile, alternatePhones: ['+2', '+1'] } };
    const ordered = { ...base, profile: { ...base.profile, alternatePhones: ['+1', '+2'] } };
    expect(partDigests(reordered).profile).toBe(partDigests(ordered).profile);
  });

  test('when the application reports an account, then the parts it differs on are those of the attributes it reads; a full read compares whole parts', () => {
    const ledger = accountStateOf(desiredUser({ userName: 'a@example.org', name: { givenName: 'A', familyName: 'B' } }, parseTenantConfig({})));
    ledger.organisations = [{ orgKey: 'north', kind: 'primary', role: 'Client Staff' }];
    ledger.access.securityRole = 'VOB Worker';
    ledger.access.settings.employeeArea = ['Care Coordinator', 'Assigned Agent'];
    // What an http connector reading only some attributes reports: the rest read as empty.
    const reported = accountStateOf(desiredUser({ userName: 'a@example.org', name: { givenName: 'A', familyName: 'B' } }, parseTenantConfig({})));
    reported.profile.title = null;
    reported.organisations = [{ orgKey: 'north', kind: 'primary', role: 'Client Staff' }];
    reported.access.securityRole = 'VOB Worker';
    reported.access.settings.employeeArea = ['Assigned Agent', 'Care Coordinator'];
    const read = ['profile.email', 'profile.firstName', 'access.securityRole', 'access.settings.employeeArea', 'organisations', 'loginEnabled'];
    expect(differingParts(ledger, reported, read)).toEqual([]);
    reported.access.securityRole = 'Analytics Only';
    reported.organisations = [];
    expect(differingParts(ledger, reported, read)).toEqual(['organisations', 'access']);
    // Licences are not read back: never taken to differ; a full read (scim) compares them.
    reported.licences = [{ orgKey: 'elsewhere', licenceLevel: 'Basic', mobileLicence: null }];
    expect(differingParts(ledger, reported, read)).toEqual(['organisations', 'access']);
    expect(differingParts(ledger, reported, null)).toEqual(['organisations', 'licences', 'access']);
  });
});

describe('secrets', () => {
  test('when a secret is encrypted, then it decrypts only with its key, tenant and name', () => {
    const [key, other] = parseSecretKeys(`k1:${Buffer.alloc(32, 1).toString('base64')},k2:${Buffer.alloc(32, 2).toString('base64')}`);
    const box = encryptSecret(key, 'acme', 'app-token', 's3cret');
    expect(box.toString('utf8')).not.toContain('s3cret');
    expect(decryptSecret(key, 'acme', 'app-token', box)).toBe('s3cret');
    expect(() => decryptSecret(other, 'acme', 'app-token', box)).toThrow();
    expect(() => decryptSecret(key, 'other', 'app-token', box)).toThrow();
    expect(() => parseSecretKeys('k1:short')).toThrow('CONNECTOR_SECRETS_KEYS key "k1" must be 32 bytes in base64');
  });
});
