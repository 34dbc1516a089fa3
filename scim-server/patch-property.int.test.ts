/**
 * Property-based: generated PATCH requests (valid, odd and wrong) against a real server and
 * database never produce a 500, always leave a readable resource, and never touch another
 * tenant's rows.
 */
import fc from 'fast-check';
import { EXT, ENTERPRISE, newUser, PATCH_OP, startHarness, type Harness } from '../test/harness';

let h: Harness;
let otherToken: string;
let otherId: string;
let otherBefore: string;

beforeAll(async () => {
  h = await startHarness({ withWorker: false });
  otherToken = await h.newTenant(`other-${Date.now().toString(36)}`);
  const other = await fetch(`${h.baseUrl}/Users`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${otherToken}`, 'Content-Type': 'application/scim+json' },
    body: JSON.stringify(newUser({ title: 'Other' })),
  });
  otherId = ((await other.json()) as { id: string }).id;
  otherBefore = JSON.stringify((await h.db.query('SELECT doc, version FROM scim_users WHERE id::text = $1', [otherId])).rows[0]);
});
afterAll(async () => h?.close());

const paths = fc.constantFrom(
  'title',
  'displayName',
  'nickName',
  'active',
  'userName',
  'name.givenName',
  'name.familyName',
  'emails',
  'emails[type eq "work"].value',
  'emails[type eq "home"].value',
  'phoneNumbers',
  'phoneNumbers[type eq "mobile"].value',
  'addresses[type eq "work"].postalCode',
  `${ENTERPRISE}:department`,
  `${ENTERPRISE}:manager`,
  `${ENTERPRISE}:employeeNumber`,
  `${EXT}:securityRole`,
  `${EXT}:teams`,
  `${EXT}:caseManager`,
  `${EXT}:organisations`,
  `${EXT}:provisioning`,
  'id',
  'meta.created',
  'nosuch',
  'emails[',
  'emails[type eq]',
  'name..givenName',
  '',
);
const values = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.boolean(),
  fc.constantFrom('True', 'False', 'VOB Worker', 'Analytics Only', null),
  fc.integer(),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
  fc.array(fc.record({ value: fc.string({ maxLength: 12 }), type: fc.constantFrom('work', 'home', 'mobile') }), { maxLength: 2 }),
  fc.dictionary(fc.constantFrom('active', 'title', 'name.givenName', `${EXT}:teams`, 'bogus'), fc.oneof(fc.string({ maxLength: 8 }), fc.boolean()), {
    maxKeys: 3,
  }),
);
const operation = fc.record(
  { op: fc.constantFrom('add', 'replace', 'remove', 'Add', 'Replace', 'Remove', 'bogus'), path: paths, value: values },
  { requiredKeys: ['op'] },
);

test('when arbitrary PATCH operations are sent, then the server answers 200 or a 4xx SCIM error, never 500, and other tenants are untouched', async () => {
  const created = await h.scim('POST', '/Users', newUser());
  const id = created.body.id as string;
  await fc.assert(
    fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 4 }), async (ops) => {
      const res = await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: ops });
      expect([200, 400, 409]).toContain(res.status);
      if (res.status !== 200) {
        expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
        expect(typeof res.body.detail).toBe('string');
      }
      const read = await h.scim('GET', `/Users/${id}`);
      expect(read.status).toBe(200);
      expect(typeof read.body.userName).toBe('string');
      // The same id under another tenant's token is not found.
      const cross = await fetch(`${h.baseUrl}/Users/${id}`, { headers: { Authorization: `Bearer ${otherToken}` } });
      expect(cross.status).toBe(404);
    }),
    { numRuns: 150 },
  );
  expect(JSON.stringify((await h.db.query('SELECT doc, version FROM scim_users WHERE id::text = $1', [otherId])).rows[0])).toBe(otherBefore);
});
