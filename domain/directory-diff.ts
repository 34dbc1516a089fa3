/**
 * What a user holds in the application directory, in a comparable shape, and the difference
 * between two such states. Pure. Used three ways: a policy change (desired state under the old
 * and the new configuration), a preview (today's desired state against a draft's), and drift
 * repair (what the directory holds against what it should hold).
 *
 * Only what the user workflow's convergence steps write is compared (profile, organisations,
 * licences, provider accounts, access settings): that is what re-running them repairs.
 */
import type { DesiredLicence, DesiredMembership, DesiredProfile, DesiredUser } from './desired-user';
import { SETTING_KINDS, type SettingKind } from './roles';

export interface DirectoryState {
  profile: DesiredProfile;
  clientKey: string | null;
  caseManager: boolean;
  /** Sorted keys (membershipKey, licenceKey, providerKey): sets compare as sets. */
  memberships: string[];
  licences: string[];
  providerAccounts: string[];
  securityRole: string | null;
  employeeType: string | null;
  allowGridExport: boolean;
  receivesDocumentation: boolean;
  settings: Record<SettingKind, string[]>;
}

export const membershipKey = (m: Pick<DesiredMembership, 'orgKey' | 'kind'> & { role: string | null }) =>
  `${m.orgKey} [${m.kind}${m.role ? `, ${m.role}` : ''}]`;
export const licenceKey = (l: Pick<DesiredLicence, 'orgKey' | 'licenceLevel'> & { mobileLicence: string | null }) =>
  `${l.orgKey}: ${l.licenceLevel}${l.mobileLicence ? ` + ${l.mobileLicence}` : ''}`;
export const providerKey = (p: { providerType: string; orgKey: string }) => `${p.providerType} @ ${p.orgKey}`;

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

export function emptySettings(): Record<SettingKind, string[]> {
  return Object.fromEntries(SETTING_KINDS.map((k) => [k, []])) as unknown as Record<SettingKind, string[]>;
}

/** The directory state a desired user converges to. */
export function stateOf(d: DesiredUser): DirectoryState {
  const settings = emptySettings();
  for (const kind of SETTING_KINDS) settings[kind] = sorted(d.settings[kind]);
  return {
    profile: { ...d.profile, alternatePhones: [...d.profile.alternatePhones] },
    clientKey: d.clientKey,
    caseManager: d.caseManager,
    memberships: sorted(d.memberships.map(membershipKey)),
    licences: sorted(d.licences.map(licenceKey)),
    providerAccounts: sorted(d.providerAccounts.map(providerKey)),
    securityRole: d.securityRole,
    employeeType: d.employeeType,
    allowGridExport: d.allowGridExport,
    receivesDocumentation: d.receivesDocumentation,
    settings,
  };
}

/** One difference: a single value that changes (`from` → `to`), or a set that gains and loses members. */
export interface FieldChange {
  field: string;
  from?: unknown;
  to?: unknown;
  added?: string[];
  removed?: string[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function setChange(field: string, before: string[], after: string[]): FieldChange | undefined {
  const added = after.filter((v) => !before.includes(v));
  const removed = before.filter((v) => !after.includes(v));
  return added.length || removed.length ? { field, added, removed } : undefined;
}

/** What changes from `before` to `after`, field by field (empty: the same). */
export function diffStates(before: DirectoryState, after: DirectoryState): FieldChange[] {
  const changes: (FieldChange | undefined)[] = [];
  for (const key of Object.keys(after.profile) as (keyof DirectoryState['profile'])[]) {
    if (!same(before.profile[key], after.profile[key])) changes.push({ field: `profile.${key}`, from: before.profile[key], to: after.profile[key] });
  }
  for (const key of ['clientKey', 'caseManager', 'securityRole', 'employeeType', 'allowGridExport', 'receivesDocumentation'] as const) {
    if (!same(before[key], after[key])) changes.push({ field: key, from: before[key], to: after[key] });
  }
  changes.push(setChange('memberships', before.memberships, after.memberships));
  changes.push(setChange('licences', before.licences, after.licences));
  changes.push(setChange('providerAccounts', before.providerAccounts, after.providerAccounts));
  for (const kind of SETTING_KINDS) changes.push(setChange(`settings.${kind}`, before.settings[kind], after.settings[kind]));
  return changes.filter((c): c is FieldChange => c !== undefined);
}

/**
 * What changes for a user between two desired states: the directory, plus whether onboarding
 * would now wait for data (`missing`) or stop waiting.
 */
export function diffDesired(before: DesiredUser, after: DesiredUser): FieldChange[] {
  const changes = diffStates(stateOf(before), stateOf(after));
  const missing = setChange('missing', sorted(before.missing), sorted(after.missing));
  if (missing) changes.push(missing);
  if (before.active !== after.active) changes.push({ field: 'active', from: before.active, to: after.active });
  return changes;
}

const LABELS: Record<string, string> = {
  clientKey: 'client',
  caseManager: 'case manager',
  securityRole: 'security role',
  employeeType: 'employee type',
  allowGridExport: 'grid export',
  receivesDocumentation: 'documentation',
  memberships: 'organisation',
  licences: 'licence',
  providerAccounts: 'provider account',
  'settings.employeeArea': 'employee area',
  'settings.biGroup': 'BI group',
  'settings.team': 'team',
  'settings.facility': 'facility access',
  'settings.emailNotification': 'email notification',
  'settings.systemNotification': 'system notification',
  'settings.toastrNotification': 'pop-up notification',
  missing: 'missing data',
};

export const fieldLabel = (field: string) => LABELS[field] ?? field.replace(/^profile\./, '');

export interface SummaryLine {
  field: string;
  value: string;
  /** Users that would gain / lose this value. */
  gain: number;
  lose: number;
}

export interface ChangeSummary {
  usersCompared: number;
  usersChanged: number;
  lines: SummaryLine[];
  /** The lines as sentences, e.g. "37 users would gain security role VOB Worker". */
  text: string[];
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** Counts, over many users' changes, how many would gain or lose each value. */
export function summariseChanges(perUser: FieldChange[][], usersCompared: number): ChangeSummary {
  const lines = new Map<string, SummaryLine>();
  const bump = (field: string, value: unknown, kind: 'gain' | 'lose') => {
    if (value === null || value === undefined || value === false || (Array.isArray(value) && value.length === 0)) return;
    const key = `${field}\u0000${show(value)}`;
    const line = lines.get(key) ?? { field, value: show(value), gain: 0, lose: 0 };
    line[kind] += 1;
    lines.set(key, line);
  };
  for (const changes of perUser) {
    for (const c of changes) {
      if (c.added || c.removed) {
        for (const v of c.added ?? []) bump(c.field, v, 'gain');
        for (const v of c.removed ?? []) bump(c.field, v, 'lose');
      } else if (typeof c.to === 'boolean' || typeof c.from === 'boolean') {
        bump(c.field, fieldLabel(c.field), c.to ? 'gain' : 'lose');
      } else {
        bump(c.field, c.from, 'lose');
        bump(c.field, c.to, 'gain');
      }
    }
  }
  const ordered = [...lines.values()].sort((a, b) => b.gain + b.lose - (a.gain + a.lose) || a.field.localeCompare(b.field) || a.value.localeCompare(b.value));
  const users = (n: number) => `${n} user${n === 1 ? '' : 's'}`;
  const text = ordered.flatMap((l) => {
    const what = l.value === fieldLabel(l.field) ? l.value : `${fieldLabel(l.field)} ${l.value}`;
    return [...(l.gain ? [`${users(l.gain)} would gain ${what}`] : []), ...(l.lose ? [`${users(l.lose)} would lose ${what}`] : [])];
  });
  return { usersCompared, usersChanged: perUser.filter((c) => c.length > 0).length, lines: ordered, text };
}
