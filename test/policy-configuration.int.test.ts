/**
 * Issue 15, cases 7 and 8, on real Temporal, PostgreSQL and SMTP: configuration typos are
 * errors with a "did you mean" (CLI and admin API), rules that can never change anything are
 * warnings, and the smaller rules: provider accounts in the user's own organisations,
 * facilities by kind and key, services that decide licences, the allowed security roles in a
 * 400, the single Name field, nested groups in rules, and an admin "create user" answer that
 * says when onboarding will wait for data.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createToken } from '../common/repositories/tokens';
import { reconcileScheduleId } from '../common/temporal/reconcile-schedule';
import { adminRequest, EXT, newUser, PATCH_OP, SCIM_GROUP, startHarness, testTenantConfig, type Harness } from './harness';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..');

const ORGANISATIONS = [
  {
    key: 'north',
    name: 'North Office',
    kind: 'client' as const,
    licenceLevel: 'Professional',
    mobileLicence: 'Mobile Standard',
    services: ['app' as const, 'mobile' as const],
  },
  { key: 'south', name: 'South Office', kind: 'client' as const, licenceLevel: 'Basic', mobileLicence: 'Mobile Basic', services: ['app' as const] },
  { key: 'dark', name: 'Dark Office', kind: 'client' as const, licenceLevel: 'Basic', services: [] },
  { key: 'lakeview', name: 'Lakeview Detox', kind: 'facility' as const },
  { key: 'east', name: 'East Clinic', kind: 'location' as const },
];
const RULES = [{ name: 'Clinical staff', when: { group: 'Clinical' }, set: { securityRole: 'VOB Worker' as const, employeeType: 'Clinical' } }];

let h: Harness;
let superToken: string;

beforeAll(async () => {
  h = await startHarness({ tenantConfig: testTenantConfig({ organisations: ORGANISATIONS, rules: RULES }) });
  superToken = (await createToken(h.db, h.tenantId, 'super', 'admin', 'Super User')).token;
});
afterAll(async () => {
  await h?.client.schedule
    .getHandle(reconcileScheduleId(h.tenantId))
    .delete()
    .catch(() => undefined);
  await h?.close();
});

const adminCall = (method: string, route: string, body?: unknown) => adminRequest(h.publicUrl, superToken, method, route, body);

const appUser = async (id: string) =>
  (await h.db.query<Record<string, any>>('SELECT * FROM app_users WHERE tenant_id = $1 AND user_id::text = $2', [h.tenantId, id])).rows[0];
const licences = async (id: string) =>
  (
    await h.db.query(
      'SELECT org_key, licence_level, mobile_licence FROM app_licences WHERE tenant_id = $1 AND user_id::text = $2 AND released_at IS NULL ORDER BY org_key',
      [h.tenantId, id],
    )
  ).rows;
const settings = async (id: string, kind: string) =>
  (
    await h.db.query<{ value: string }>('SELECT value FROM app_user_settings WHERE tenant_id = $1 AND user_id::text = $2 AND kind = $3 ORDER BY value', [
      h.tenantId,
      id,
      kind,
    ])
  ).rows.map((r) => r.value);

async function pushUser(extra: Record<string, unknown>): Promise<string> {
  const res = await h.scim('POST', '/Users', newUser(extra));
  expect(res.status).toBe(201);
  return res.body.id as string;
}

describe('case 7: strict configuration', () => {
  const typos = {
    ...testTenantConfig({ organisations: ORGANISATIONS.map((o, i) => (i === 1 ? { ...o, seatlimit: 5 } : o)) }),
    propagaton: { tags: '0s' },
    endDateActon: 'terminate',
  };

  test('when a configuration has typos, then the admin API validate and save answer every unknown key with its path and a "did you mean", and nothing is saved', async () => {
    const expected = [
      'organisations.1.seatlimit: unknown key "seatlimit"; did you mean "seatLimit"?',
      'propagaton: unknown key "propagaton"; did you mean "propagation"?',
      'endDateActon: unknown key "endDateActon"; did you mean "endDateAction"?',
    ];
    const validated = await adminCall('POST', `/tenants/${h.tenantId}/config/validate`, typos);
    expect(validated.status).toBe(200);
    expect(validated.body).toMatchObject({ valid: false, problems: expected });
    const versions = (await adminCall('GET', `/tenants/${h.tenantId}/config/versions`)).body.versions.length;
    const saved = await adminCall('POST', `/tenants/${h.tenantId}/config/versions`, typos);
    expect(saved.status).toBe(400);
    expect(saved.body.error.problems).toEqual(expected);
    expect((await adminCall('GET', `/tenants/${h.tenantId}/config/versions`)).body.versions.length).toBe(versions);
  });

  test('when a rule is shadowed, then validate, preview and save answer a warning for it, and the configuration still saves', async () => {
    const draft = testTenantConfig({
      organisations: ORGANISATIONS,
      rules: [
        ...RULES,
        { name: 'Nurses', when: { group: 'Nurses' }, set: { mobileAppUser: true } },
        { name: 'Contractors do not get the mobile app', when: { attribute: 'userType', equals: 'Contractor' }, set: { mobileAppUser: false } },
      ],
    });
    const warning = expect.stringMatching(
      /^rules\.2: rule "Contractors do not get the mobile app" can never change what a user gets: mobileAppUser: false is already the default/,
    );
    const validated = await adminCall('POST', `/tenants/${h.tenantId}/config/validate`, draft);
    expect(validated.body).toMatchObject({ valid: true, problems: [], warnings: [warning] });
    const preview = await adminCall('POST', `/tenants/${h.tenantId}/preview`, { config: draft });
    expect(preview.status).toBe(200);
    expect(preview.body.warnings).toEqual([warning]);
    const saved = await adminCall('POST', `/tenants/${h.tenantId}/config/versions`, draft);
    expect(saved.status).toBe(201);
    expect(saved.body.warnings).toEqual([warning]);
    // Put back the configuration the other tests expect.
    expect((await adminCall('POST', `/tenants/${h.tenantId}/config/versions`, testTenantConfig({ organisations: ORGANISATIONS, rules: RULES }))).status).toBe(
      201,
    );
  });

  test('when the CLI validates the shipped call-centre.yaml, then it is clean; with the contractors rule back below the nurses, then it warns; typos fail with exit 1', async () => {
    const cli = (...args: string[]) =>
      run(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'cli/tenant-config.ts', ...args], { cwd: ROOT });
    const shipped = path.join(ROOT, 'config/examples/call-centre.yaml');
    const clean = await cli('validate', shipped);
    expect(clean.stdout).toMatch(/call-centre\.yaml: valid \(5 organisations, \d+ rules\)\n$/);
    expect(clean.stderr).toBe('');

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenant-config-'));
    const text = fs.readFileSync(shipped, 'utf8');
    const rule = /  - name: Contractors do not get the mobile app\n.*\n.*\n/.exec(text)![0];
    const shadowed = path.join(dir, 'shadowed.yaml');
    fs.writeFileSync(shadowed, `${text.replace(rule, '').replace(/\npropagation:/, `${rule}\npropagation:`)}`);
    const warned = await cli('validate', shadowed);
    expect(warned.stdout).toMatch(/valid \(5 organisations, \d+ rules, 1 warning\)/);
    expect(warned.stderr).toMatch(/warning: rules\.\d+ \(line \d+\): rule "Contractors do not get the mobile app" can never change what a user gets/);

    const typo = path.join(dir, 'typo.yaml');
    fs.writeFileSync(typo, text.replace('endDateAction: suspend', 'endDateActon: terminate').replace('seatLimit: 200', 'seatlimit: 200'));
    const failed = await cli('validate', typo).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/organisations\.1\.seatlimit \(line \d+\): unknown key "seatlimit"; did you mean "seatLimit"\?/);
    expect(failed?.stderr).toMatch(/endDateActon \(line \d+\): unknown key "endDateActon"; did you mean "endDateAction"\?/);
  });
});

describe('case 8: the smaller ones', () => {
  test("when a provider account names an organisation that is not one of the user's, then the user waits in awaitingData with the reason; access to it releases the hold", async () => {
    const id = await pushUser({ [EXT]: { providerAccounts: [{ type: 'RN', organisations: ['South Office'] }] } });
    await h.waitForState(id, 'awaitingData');
    const provisioning = (await h.scim('GET', `/Users/${id}`)).body[EXT].provisioning;
    expect(provisioning.lastError).toMatch(/^providerAccounts: RN in "South Office" \(south\), which is not one of the user's organisations \(north\)/);
    await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: `${EXT}:extraClientAccess`, value: ['south'] }] });
    await h.waitForState(id, 'invited');
    const rows = (await h.db.query('SELECT provider_type, org_key FROM app_provider_accounts WHERE tenant_id = $1 AND user_id::text = $2', [h.tenantId, id]))
      .rows;
    expect(rows).toEqual([{ provider_type: 'RN', org_key: 'south' }]);
  });

  test('when facilities are sent by name in another case, then the facility keys are stored; a location as a facility holds the user', async () => {
    const id = await pushUser({ [EXT]: { facilities: ['lakeview detox', 'Lakeview'] } });
    await h.waitForState(id, 'invited');
    expect(await settings(id, 'facility')).toEqual(['lakeview']);
    const held = await pushUser({ [EXT]: { facilities: ['East Clinic'] } });
    await h.waitForState(held, 'awaitingData');
    expect((await h.scim('GET', `/Users/${held}`)).body[EXT].provisioning.lastError).toBe(
      'facilities: "East Clinic" is an organisation of kind location, not a facility',
    );
  });

  test('when organisations list services, then services: [] gives no licence and services: [app] no mobile licence to a mobile-app user', async () => {
    const id = await pushUser({
      phoneNumbers: [{ value: '+1 555 010 0142', type: 'mobile', primary: true }],
      [EXT]: { mobileAppUser: true, organisations: [{ value: 'north', primary: true }, { value: 'south' }, { value: 'dark' }] },
    });
    await h.waitForState(id, 'invited');
    expect(await licences(id)).toEqual([
      { org_key: 'north', licence_level: 'Professional', mobile_licence: 'Mobile Standard' },
      { org_key: 'south', licence_level: 'Basic', mobile_licence: null },
    ]);
  });

  test('when securityRole is not one of the roles, then the 400 lists the allowed values', async () => {
    const res = await h.scim('POST', '/Users', newUser({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', EXT], [EXT]: { securityRole: 'Nurse' } }));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      scimType: 'invalidValue',
      detail:
        '"securityRole" must be one of: Super User; Business Development Functions Only; Business Development w/Reports; Referral Source Management Plus; ' +
        'Referral Source Management; Combined Admissions and Business Development; VOB Worker; Admissions Worker with Reports; ' +
        'Admissions and VOB worker with Reports; Alumni/Aftercare Worker; Analytics Only (spelt exactly so).',
    });
  });

  test('when a user has a displayName (or only name parts), then the single Name field of the directory holds it', async () => {
    const named = await pushUser({ displayName: 'Dr. Ada Okafor' });
    const parts = await pushUser({ name: { givenName: 'Ben', familyName: 'Ito' } });
    await h.waitForState(named, 'invited');
    await h.waitForState(parts, 'invited');
    expect((await appUser(named)).display_name).toBe('Dr. Ada Okafor');
    expect((await appUser(parts)).display_name).toBe('Ben Ito');
  });

  test('when a rule names group G and the user is in a group nested in G (with a cycle), then the rule applies, and leaving the nesting removes it', async () => {
    const id = await pushUser({});
    await h.waitForState(id, 'invited');
    const team = await h.scim('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: 'Night Nurses', members: [{ value: id }] });
    const clinical = await h.scim('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: 'Clinical', members: [{ value: team.body.id }] });
    expect(clinical.status).toBe(201);
    // A cycle: Night Nurses ∋ Clinical ∋ Night Nurses.
    const cycle = await h.scim('PATCH', `/Groups/${team.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'add', path: 'members', value: [{ value: clinical.body.id }] }],
    });
    expect(cycle.status).toBe(204);
    const deadline = Date.now() + 30_000;
    while ((await appUser(id)).security_role !== 'VOB Worker' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await appUser(id)).toMatchObject({ security_role: 'VOB Worker', employee_type: 'Clinical' });

    // Taking the nested group out of Clinical (the cycle's other edge too) tells its members.
    await h.scim('PATCH', `/Groups/${clinical.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${team.body.id}"]` }] });
    await h.scim('PATCH', `/Groups/${team.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${clinical.body.id}"]` }] });
    while ((await appUser(id)).security_role !== null && Date.now() < deadline + 30_000) await new Promise((r) => setTimeout(r, 200));
    expect((await appUser(id)).security_role).toBeNull();
  });

  test('when an admin creates a user whose data is incomplete, then the 201 answer says onboarding will wait for data and why', async () => {
    const res = await adminCall('POST', `/tenants/${h.tenantId}/users`, newUser({ name: { givenName: 'Only' } }));
    expect(res.status).toBe(201);
    expect(res.body.onboarding).toEqual({
      waitsForData: true,
      message: 'The user is created, but onboarding will wait (awaitingData) until this is supplied: name.familyName: last name is required',
      missing: ['name.familyName: last name is required'],
    });
    const complete = await adminCall('POST', `/tenants/${h.tenantId}/users`, newUser());
    expect(complete.body.onboarding).toEqual({ waitsForData: false });
  });
});
