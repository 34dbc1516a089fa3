/**
 * Issue 15, cases 1, 2, 3 (phones) and 9, on real Temporal, PostgreSQL and SMTP: what reaches
 * the SCIM boundary is one email address per value and a usable login phone, or a 400 that
 * names the attribute and what is wrong and changes nothing; phones reach the directory in
 * E.164; Entra's `emails[type eq "work"].value eq` filter works; a PATCH `replace` whose filter
 * matches nothing is 400 noTarget, except Entra's `[type eq "…"]` shape, which creates the entry.
 */
import { createToken } from '../common/repositories/tokens';
import { EXT, newUser, PATCH_OP, startHarness, testTenantConfig, type Harness } from './harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    tenantConfig: testTenantConfig({
      rules: [{ name: 'Nurses use the mobile app', when: { attribute: 'title', equals: 'RN' }, set: { mobileAppUser: true } }],
    }),
  });
});
afterAll(async () => h?.close());

const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
const appUser = async (id: string) =>
  (await h.db.query<Record<string, any>>('SELECT * FROM app_users WHERE tenant_id = $1 AND user_id::text = $2', [h.tenantId, id])).rows[0];
const storedUsers = async (userName: string) =>
  Number((await h.db.query<{ n: string }>('SELECT count(*) AS n FROM scim_users WHERE tenant_id = $1 AND user_name = $2', [h.tenantId, userName])).rows[0].n);
const outboxRows = async () => Number((await h.db.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE tenant_id = $1', [h.tenantId])).rows[0].n);

describe('case 1: an email that is not an address', () => {
  test('when a user is pushed with emails "not-an-email", then 400 invalidValue names emails[0].value and nothing is stored, signalled or mailed', async () => {
    const user = newUser({ emails: [{ value: 'not-an-email', type: 'work', primary: true }] });
    const before = await outboxRows();
    const res = await h.scim('POST', '/Users', user);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ scimType: 'invalidValue', detail: 'emails[0].value "not-an-email" has no "@" (an address looks like name@example.org).' });
    expect(await storedUsers(user.userName)).toBe(0);
    expect(await outboxRows()).toBe(before);
  });
});

describe('case 2: one email value holding several recipients', () => {
  test.each([
    ['a@x.org, b@y.org', 'holds more than one address; send one address per emails[] entry'],
    ['a@x.org; b@y.org', 'holds more than one address; send one address per emails[] entry'],
    ['Trusted <b@evil.example>', 'is in display-name form ("Name <address>"); send the bare address only'],
    ['undisclosed: b@y.org;', 'uses group syntax or a prefix with ":" (e.g. "team: a@x.org;"); send the bare address'],
    ['a@x.org\r\nBcc: b@y.org', 'contains a control or invisible character (e.g. a line break); send the bare address only'],
  ])('when an email value is %j, then POST answers 400 invalidValue and no mail is sent to anyone', async (value, problem) => {
    const user = newUser({ emails: [{ value, type: 'work', primary: true }] });
    const res = await h.scim('POST', '/Users', user);
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidValue');
    expect(res.body.detail).toBe(`emails[0].value ${JSON.stringify(value)} ${problem}.`);
    expect(await storedUsers(user.userName)).toBe(0);
  });

  test('when PUT, PATCH or a Bulk operation brings a multi-recipient email, then each is refused with the same 400 and the user is unchanged', async () => {
    const user = newUser();
    const created = await h.scim('POST', '/Users', user);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const bad = 'Trusted <b@evil.example>';

    const put = await h.scim('PUT', `/Users/${id}`, { ...user, emails: [{ value: bad, type: 'work', primary: true }] });
    expect(put.status).toBe(400);
    expect(put.body.detail).toMatch(/^emails\[0\]\.value "Trusted <b@evil\.example>" is in display-name form/);

    const entra = await h.scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'emails[type eq "work"].value', value: 'a@x.org,b@y.org' }));
    expect(entra.status).toBe(400);
    expect(entra.body).toMatchObject({
      scimType: 'invalidValue',
      detail: expect.stringMatching(/^emails\[0\]\.value "a@x\.org,b@y\.org" holds more than one address/),
    });

    const bulk = await h.scim('POST', '/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [
        { method: 'PATCH', path: `/Users/${id}`, data: patch({ op: 'add', path: 'emails', value: [{ value: 'x@y.org\nBcc: z@w.org', type: 'home' }] }) },
        { method: 'POST', path: '/Users', bulkId: 'b1', data: newUser({ emails: [{ value: 'undisclosed: b@y.org;', primary: true }] }) },
      ],
    });
    expect(bulk.status).toBe(200);
    expect(bulk.body.Operations.map((o: any) => [o.status, o.response?.scimType])).toEqual([
      ['400', 'invalidValue'],
      ['400', 'invalidValue'],
    ]);
    expect(bulk.body.Operations[0].response.detail).toMatch(/^emails\[1\]\.value "x@y\.org\\nBcc: z@w\.org" contains a control or invisible character/);

    const after = await h.scim('GET', `/Users/${id}`);
    expect(after.body.emails).toEqual([{ value: user.userName, type: 'work', primary: true }]);
    expect(after.body.meta.version).toBe(created.body.meta.version);
  });
});

describe('case 3: login phones checked and normalised', () => {
  test('when a mobile-app user is pushed with "call me maybe" as the login phone, then 400 invalidValue names phoneNumbers[0].value', async () => {
    const user = newUser({ title: 'RN', phoneNumbers: [{ value: 'call me maybe', type: 'mobile', primary: true }] });
    const res = await h.scim('POST', '/Users', user);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      scimType: 'invalidValue',
      detail:
        'phoneNumbers[0].value "call me maybe" cannot be this mobile-app user\'s login phone: it is not a phone number. ' +
        'Send the number with its country code, e.g. +15550107777 (a number without one is read in region US).',
    });
    expect(await storedUsers(user.userName)).toBe(0);
  });

  test('when a PATCH makes a user a mobile-app user (explicitly) while its phone is unusable and new, then it is refused', async () => {
    const created = await h.scim('POST', '/Users', newUser());
    const res = await h.scim(
      'PATCH',
      `/Users/${created.body.id}`,
      patch({ op: 'add', path: 'phoneNumbers[type eq "mobile"].value', value: '12' }, { op: 'add', path: `${EXT}:mobileAppUser`, value: 'True' }),
    );
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(
      /^phoneNumbers\[0\]\.value "12" cannot be this mobile-app user's login phone: it does not have a possible length for region US/,
    );
  });

  test('when a login phone is written "+1 555 010 7777", then the directory holds +15550107777 and SCIM returns what was sent', async () => {
    const user = newUser({ title: 'RN', phoneNumbers: [{ value: '+1 555 010 7777', type: 'mobile', primary: true }] });
    const created = await h.scim('POST', '/Users', user);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await h.waitForState(id, 'invited');
    expect(await appUser(id)).toMatchObject({ primary_phone: '+15550107777' });
    expect((await h.scim('GET', `/Users/${id}`)).body.phoneNumbers).toEqual([{ value: '+1 555 010 7777', type: 'mobile', primary: true }]);
  });

  test('when an informational phone is unusable, then the user is accepted, the number is left out of the directory, and the admin view notes it', async () => {
    const user = newUser({
      phoneNumbers: [
        { value: '(555) 010-0142', type: 'work', primary: true },
        { value: 'call me maybe', type: 'home' },
      ],
    });
    const created = await h.scim('POST', '/Users', user);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await h.waitForState(id, 'invited');
    expect(await appUser(id)).toMatchObject({ primary_phone: '+15550100142', alternate_phones: [] });
    const { token } = await createToken(h.db, h.tenantId, 'reader', 'admin', 'Analytics Only');
    const view = await fetch(`${h.publicUrl}/admin/v1/tenants/${h.tenantId}/users/${id}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(((await view.json()) as { desired: { notes: string[] } }).desired.notes).toEqual([
      'phoneNumbers[1].value: "call me maybe" is not a phone number; left out of the directory (not a login phone)',
    ]);
  });
});

describe('case 9: the two SCIM deviations', () => {
  test('when Entra matches users with emails[type eq "work"].value eq "x", then the user is found instead of a 400', async () => {
    const user = newUser();
    await h.scim('POST', '/Users', user);
    const found = await h.scim('GET', `/Users?filter=${encodeURIComponent(`emails[type eq "work"].value eq "${user.userName.toUpperCase()}"`)}`);
    expect(found.status).toBe(200);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0].userName).toBe(user.userName);
    const home = await h.scim('GET', `/Users?filter=${encodeURIComponent(`emails[type eq "home"].value eq "${user.userName}"`)}`);
    expect(home.body.totalResults).toBe(0);
  });

  test('when a PATCH replace has a value filter that matches nothing, then 400 noTarget and nothing is created', async () => {
    const created = await h.scim('POST', '/Users', newUser());
    const id = created.body.id as string;
    const res = await h.scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'emails[value eq "nobody@x.org"].primary', value: true }));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      scimType: 'noTarget',
      detail:
        'Operation 1: "emails[value eq "nobody@x.org"].primary" matches no value of emails to replace (RFC 7644 §3.5.2.3). Use "add" to create a value, or a filter that matches one.',
    });
    const after = await h.scim('GET', `/Users/${id}`);
    expect(after.body.emails).toHaveLength(1);
    expect(after.body.meta.version).toBe(created.body.meta.version);
  });

  test('when Entra replaces emails[type eq "work"].value on a user without a work email, then the entry is created (the filter says what to create)', async () => {
    const user = newUser({ emails: [{ value: 'home.only@example.org', type: 'home', primary: true }] });
    const created = await h.scim('POST', '/Users', user);
    const id = created.body.id as string;
    const res = await h.scim(
      'PATCH',
      `/Users/${id}`,
      patch(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'work.address@example.org' },
        { op: 'Replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 010 0155' },
      ),
    );
    expect(res.status).toBe(200);
    expect(res.body.emails).toEqual(expect.arrayContaining([{ type: 'work', value: 'work.address@example.org' }]));
    expect(res.body.phoneNumbers).toEqual([{ type: 'mobile', value: '+1 555 010 0155' }]);
  });
});
