import { desiredUser, SCIMFLOW_USER_URN } from './desired-user';
import { attributesTestedByRules, entitlementCatalogue, licencesOfUser, rolesOfUser, slugOf } from './entitlement-catalogue';
import { SECURITY_ROLES } from './roles';
import { parseTenantConfig, type TenantConfigInput } from './tenant-config';

const ORGS: TenantConfigInput['organisations'] = [
  { key: 'north', name: 'North Office', licenceLevel: 'Professional', mobileLicence: 'Mobile Standard', services: ['app', 'mobile'] },
  { key: 'south', name: 'South Office', licenceLevel: 'Basic', services: ['app'] },
  { key: 'east', name: 'East Office', licenceLevel: 'Professional', mobileLicence: 'Mobile Plus', services: ['app'] },
  { key: 'campus', name: 'Main Campus', kind: 'facility' },
];
const config = (extra: Partial<TenantConfigInput> = {}) => parseTenantConfig({ organisations: ORGS, defaults: { client: 'north' }, ...extra });
const jane = (extra: Record<string, unknown> = {}) => ({
  userName: 'jane@example.org',
  name: { givenName: 'Jane', familyName: 'Doe' },
  emails: [{ value: 'jane@example.org', primary: true }],
  ...extra,
});

describe('the entitlement catalogue', () => {
  test('when the roles are listed, then they are the eleven security roles and the two client roles, with slug ids', () => {
    const { roles } = entitlementCatalogue(config());
    expect(roles.filter((r) => r.kind === 'securityRole').map((r) => r.name)).toEqual([...SECURITY_ROLES]);
    expect(roles.filter((r) => r.kind === 'clientRole').map((r) => r.id)).toEqual(['client-admin', 'client-staff']);
    expect(roles.find((r) => r.name === 'Business Development w/Reports')?.id).toBe('business-development-w-reports');
    expect(roles.find((r) => r.name === 'Alumni/Aftercare Worker')?.id).toBe('alumni-aftercare-worker');
    expect(new Set(roles.map((r) => r.id)).size).toBe(roles.length);
    for (const r of roles) expect(r.description).not.toBe('');
  });

  test('when the tenant lists its security roles, then only those are offered', () => {
    const { roles } = entitlementCatalogue(config({ securityRoles: ['VOB Worker', 'Super User'] }));
    expect(roles.map((r) => r.id)).toEqual(['super-user', 'vob-worker', 'client-admin', 'client-staff']);
  });

  test('when the licence tiers are listed, then they are the enabled services’ tiers, each once with the organisations that give it', () => {
    const { licences } = entitlementCatalogue(config());
    expect(licences.map((l) => [l.id, l.name, l.kind, l.organisations])).toEqual([
      ['app.professional', 'Professional', 'app', ['north', 'east']],
      ['mobile.mobile-standard', 'Mobile Standard', 'mobile', ['north']],
      ['app.basic', 'Basic', 'app', ['south']],
    ]);
  });

  test('when the configuration is saved again, reordered, then every id is the same', () => {
    const ids = (cfg: ReturnType<typeof config>) => {
      const c = entitlementCatalogue(cfg);
      return [...c.roles, ...c.licences].map((e) => e.id).sort();
    };
    expect(ids(parseTenantConfig({ organisations: [...ORGS].reverse() }))).toEqual(ids(config()));
  });

  test('when two tier names make the same slug, then each gets a suffix of its own name, whatever the order', () => {
    const orgs = [
      { key: 'a', name: 'A', licenceLevel: 'Tier 1' },
      { key: 'b', name: 'B', licenceLevel: 'tier-1' },
    ];
    const one = entitlementCatalogue(parseTenantConfig({ organisations: orgs })).licences.map((l) => [l.name, l.id]);
    const two = entitlementCatalogue(parseTenantConfig({ organisations: [...orgs].reverse() })).licences.map((l) => [l.name, l.id]);
    expect(new Set(one.map(([, id]) => id)).size).toBe(2);
    expect(Object.fromEntries(two)).toEqual(Object.fromEntries(one));
    expect(one.every(([, id]) => /^app\.tier-1-[0-9a-f]{8}$/.test(id))).toBe(true);
  });

  test('when names are slugged, then accents, case and punctuation go', () => {
    expect(slugOf('Équipe  Nord / Sud')).toBe('equipe-nord-sud');
    expect(slugOf('***')).toBe('x');
  });
});

describe("a user's roles and entitlements", () => {
  test('when roles name roles by id or by name, then they are read; other values are unknown', () => {
    const read = rolesOfUser(jane({ roles: [{ value: 'VOB-WORKER' }, { value: 'Client Admin' }, { value: 'Night shift' }] }), entitlementCatalogue(config()));
    expect(read.securityRoles.map((r) => r.name)).toEqual(['VOB Worker']);
    expect(read.clientRoles.map((r) => r.name)).toEqual(['Client Admin']);
    expect(read.unknown).toEqual([{ index: 2, value: 'Night shift', type: null }]);
  });

  test('when roles name a security role and a client role, then the user gets them, above the rules and defaults', () => {
    const cfg = config({
      defaults: { client: 'north', securityRole: 'Analytics Only' },
      rules: [{ when: { attribute: 'title', equals: 'RN' }, set: { securityRole: 'Super User', clientRole: 'Client Staff' } }],
    });
    const d = desiredUser(jane({ title: 'RN', roles: [{ value: 'vob-worker' }, { value: 'client-admin' }] }), cfg);
    expect(d.missing).toEqual([]);
    expect(d.securityRole).toBe('VOB Worker');
    expect(d.memberships).toEqual([{ orgKey: 'north', kind: 'primary', role: 'Client Admin' }]);
  });

  test('when roles and the extension name different security roles, or roles name two, then the user is held with the reason', () => {
    const cfg = config();
    const contradiction = desiredUser(jane({ roles: [{ value: 'vob-worker' }], [SCIMFLOW_USER_URN]: { securityRole: 'Analytics Only' } }), cfg);
    expect(contradiction.missing).toEqual([
      expect.stringContaining('roles: names security role "VOB Worker", but the extension\'s securityRole is "Analytics Only"'),
    ]);
    const two = desiredUser(jane({ roles: [{ value: 'vob-worker' }, { value: 'super-user' }] }), cfg);
    expect(two.missing).toEqual([expect.stringContaining('roles: names 2 security roles (VOB Worker, Super User)')]);
    const same = desiredUser(jane({ roles: [{ value: 'vob-worker' }], [SCIMFLOW_USER_URN]: { securityRole: 'VOB Worker' } }), cfg);
    expect(same).toMatchObject({ missing: [], securityRole: 'VOB Worker' });
  });

  test('when a licence tier is named that the organisations do not give, then it is noted and not given', () => {
    const cfg = config();
    const doc = jane({
      entitlements: [
        { value: 'app.basic', type: 'License' },
        { value: 'app.professional', type: 'License' },
      ],
    });
    expect(licencesOfUser(doc, entitlementCatalogue(cfg)).licences.map((l) => l.id)).toEqual(['app.basic', 'app.professional']);
    const d = desiredUser(doc, cfg);
    expect(d.licences).toEqual([{ orgKey: 'north', licenceLevel: 'Professional', mobileLicence: null }]);
    expect(d.notes).toEqual([
      expect.stringMatching(/^entitlements: app\.basic \(licence level Basic\) is not given: licences follow the user's organisations/),
    ]);
  });

  test('when rules test roles or entitlements, then those attributes are found, with or without the core URN', () => {
    const cfg = config({
      rules: [
        { when: { attribute: 'roles.value', equals: 'Night shift' }, set: { caseManager: true } },
        { when: { not: { attribute: 'urn:ietf:params:scim:schemas:core:2.0:User:entitlements', present: true } }, set: { caseManager: true } },
        { when: { attribute: `${SCIMFLOW_USER_URN}:teams`, present: true }, set: { caseManager: true } },
      ],
    });
    expect([...attributesTestedByRules(cfg.rules)].sort()).toEqual(['entitlements', 'roles']);
  });
});
