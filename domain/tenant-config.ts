/**
 * A tenant's configuration: its organisations, catalogues (provider types, security roles,
 * employee types, areas, BI groups, teams, notification kinds), defaults, mapping rules
 * (domain/policy.ts), propagation windows, invitation schedule and drift repair.
 * Validated once when loaded; every problem is listed with its path. docs/tenant-policy.md
 * is the reference.
 */
import { z } from 'zod';
import { connectorSchema } from './connector-config';
import { eventsConfigSchema } from './events-config';
import { parseDuration } from './duration';
import { DEFAULT_PHONE_REGION, isPhoneRegion } from './phone-number';
import { parseMailbox } from './mailbox';
import { clientRoleSchema, ruleSchema, securityRoleSchema, type Rule } from './policy';
import { ruleWarnings } from './policy-warnings';
import { SECURITY_ROLES } from './roles';
import { splitUnknownKeys, unknownKeyError } from './strict-object';

const duration = z.string().refine((v) => {
  try {
    parseDuration(v);
    return true;
  } catch {
    return false;
  }
}, 'must be a duration such as 0s, 10m, 1h or 3d');

/** What an organisation can offer its users: the application licence and the mobile licence. */
export const SERVICES = ['app', 'mobile'] as const;
export type Service = (typeof SERVICES)[number];

const organisation = z.strictObject({
  key: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be letters, digits, _ . -'),
  name: z.string().min(1),
  kind: z.enum(['client', 'location', 'facility']).default('client'),
  /** The app licence level of users of this organisation; absent: the service is not enabled. */
  licenceLevel: z.string().min(1).optional(),
  /** The mobile licence of users of this organisation; absent: no mobile service. */
  mobileLicence: z.string().min(1).optional(),
  /**
   * The services enabled here: `app` gives users the app licence (at licenceLevel), `mobile` the
   * mobile licence. Absent: what the organisation has a licence for (servicesOf).
   */
  services: z
    .array(
      z.enum(SERVICES, { error: (iss) => `${JSON.stringify(iss.input)} is not a service; use app (the application licence) or mobile (the mobile licence)` }),
    )
    .optional(),
  /** Seats in the licence pool; absent: unlimited. */
  seatLimit: z.number().int().nonnegative().optional(),
});

const catalogueValue = z.string().trim().min(1);

/** One mailbox without control characters (domain/mailbox.ts); which domains are allowed is the operator's (common/mail/sender.ts). */
const mailbox = z.string().superRefine((value, ctx) => {
  const parsed = parseMailbox(value);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.problem });
});

const baseSchema = z.strictObject({
  organisations: z.array(organisation).default([]),
  defaults: z
    .strictObject({
      /** Client used when the IdP sends none (the brief: the admin's primary organisation). */
      client: z.string().optional(),
      role: clientRoleSchema.default('Client Staff'),
      securityRole: securityRoleSchema.optional(),
      employeeType: z.string().optional(),
    })
    .default({ role: 'Client Staff' }),
  requirements: z
    .strictObject({
      /** Application B: security role and employee type are required. */
      securityRole: z.boolean().default(false),
      employeeType: z.boolean().default(false),
      /** Mobile-app users need a primary phone: it is their mobile login id. */
      phoneForMobileUsers: z.boolean().default(true),
      /**
       * What the application's name fields need: `firstAndLast` (application A: first and last
       * name, each required) or `full` (application B: one Name field; displayName, else
       * name.formatted, else givenName and familyName together).
       */
      name: z
        .enum(['firstAndLast', 'full'], { error: (iss) => `${JSON.stringify(iss.input)} is not a name requirement; use firstAndLast or full` })
        .default('firstAndLast'),
    })
    .default({ securityRole: false, employeeType: false, phoneForMobileUsers: true, name: 'firstAndLast' }),
  /**
   * Region (ISO 3166-1 alpha-2) for phone numbers sent without a country code: "555-010-7777"
   * is read as +1 555 010 7777 with US. Default US.
   */
  phoneRegion: z
    .string()
    .trim()
    .transform((v) => v.toUpperCase())
    .refine(isPhoneRegion, { error: (iss) => `${JSON.stringify(iss.input)} is not a region code; use an ISO 3166-1 alpha-2 code such as US, CA or GB` })
    .default(DEFAULT_PHONE_REGION),
  // Catalogues: the values this tenant's application offers. An empty list accepts any value.
  providerTypes: z.array(z.string()).default([]),
  employeeTypes: z.array(z.string()).default([]),
  /** The security roles this tenant uses, out of the eleven of application B; empty: all. */
  securityRoles: z.array(securityRoleSchema).default([]),
  /** Employee areas (tags); four have effects in the application, each making the user selectable in a picker: Alumni Coordinator, Assigned Agent, Care Coordinator, Relationship Manager. */
  employeeAreas: z.array(catalogueValue).default([]),
  biGroups: z.array(catalogueValue).default([]),
  teams: z.array(catalogueValue).default([]),
  /** Notification subscriptions: email per stage, in-app (system), pop-up (toastr). */
  notifications: z
    .strictObject({
      email: z.array(catalogueValue).default([]),
      system: z.array(catalogueValue).default([]),
      toastr: z.array(catalogueValue).default([]),
    })
    .prefault({}),
  /** Mapping rules from IdP attributes and groups to application fields (domain/policy.ts). */
  rules: z.array(ruleSchema).default([]),
  propagation: z
    .strictObject({
      /** Employee-area tag changes reach the app's cache within this window (brief: 10 minutes). */
      tags: duration.default('10m'),
      /** Security-role changes take effect within this window (brief: one hour). */
      securityRole: duration.default('1h'),
    })
    .default({ tags: '10m', securityRole: '1h' }),
  invitation: z
    .strictObject({
      /** The sender, one mailbox ("Name <a@x.org>" or "a@x.org"), in a domain the operator allows (MAIL_ALLOWED_FROM_DOMAINS); default the platform's MAIL_FROM. */
      from: mailbox.optional(),
      /** The tenant's contact for replies (Reply-To), one mailbox, any domain. */
      replyTo: mailbox.optional(),
      subject: z.string().default('You have been invited to {{applicationName}}'),
      applicationName: z.string().default('the application'),
      /** Reminders after the invitation was sent, e.g. ["3d", "7d"]. */
      reminders: z.array(duration).default(['3d', '7d']),
      expiresAfter: duration.default('14d'),
      /** With an HR start date: the invitation is held until this long before it. */
      startLeadTime: duration.default('1d'),
      /** A paragraph of the tenant's own in the invitation mail ({{applicationName}} and {{firstName}} are replaced). */
      message: z.string().min(1).max(2000).optional(),
      /**
       * The first invitation waits until no change has arrived for the user (its SCIM resource,
       * its groups, the policy) for this long: Okta assigns a user first and pushes its group
       * memberships seconds later, and the first invitation must carry the access the groups give.
       */
      settle: duration.default('60s'),
      /** The settling window never holds the first invitation longer than this after the user's first change. */
      settleMax: duration.default('10m'),
    })
    .default({
      subject: 'You have been invited to {{applicationName}}',
      applicationName: 'the application',
      reminders: ['3d', '7d'],
      expiresAfter: '14d',
      startLeadTime: '1d',
      settle: '60s',
      settleMax: '10m',
    }),
  /**
   * The mass-deprovisioning guard (after Entra's accidental-deletions threshold): suspensions and
   * terminations that SCIM requests ask for beyond `threshold` within `window` (an IdP scope
   * mistake, a wrong group push) are held until a Super User allows or rejects them.
   */
  deprovisionGuard: z
    .object({
      enabled: z.boolean().default(true),
      /** Deprovisionings allowed within `window` before further ones are held. */
      threshold: z.number().int().min(1).default(25),
      window: duration.default('1h'),
      /** Addresses told when changes start being held (besides the admin API, the metric and the log). */
      notify: z.array(z.string().trim().min(3).max(320)).max(20).default([]),
    })
    .prefault({}),
  /** What an HR end date does on the day. */
  endDateAction: z.enum(['suspend', 'terminate']).default('suspend'),
  /** How often a user waiting for a licence seat checks again. */
  seatRecheckInterval: duration.default('5m'),
  /** A re-hire (same externalId) within this window gets its earlier entitlements back. */
  rehireRetention: duration.default('90d'),
  /**
   * Where the users' accounts are made and changed (domain/connector-config.ts, docs/connectors.md):
   * `directory` (absent: the default, scimflow's own ledger), `http` (a REST user API, declared) or
   * `scim` (an outbound SCIM 2.0 client). Absent from the parsed configuration when not given, so
   * configurations saved before connectors read and compare as they did.
   */
  connector: connectorSchema.optional(),
  /**
   * The event feed (domain/events-config.ts, docs/events.md): present, it is advertised in
   * /ServiceProviderConfig; `push` delivers it to the tenant's receiver (RFC 8935). Absent from
   * the parsed configuration when not given.
   */
  events: eventsConfigSchema.optional(),
  /** Drift repair: a Temporal Schedule per tenant compares the application directory with the desired state. */
  reconcile: z
    .strictObject({
      /** How often. Default 1h. */
      interval: duration.default('1h'),
      /** false pauses the schedule. Default true. */
      enabled: z.boolean().default(true),
      /** Users changed (SCIM, groups, policy) within this time are left to their running workflow. Default 5m. */
      settleTime: duration.default('5m'),
      /** Users compared per activity. Default 200. */
      pageSize: z.number().int().min(1).max(2000).default(200),
    })
    .prefault({}),
});

/**
 * Cross-references (organisations, catalogues, rule values). They run even when other parts of
 * the document are invalid, so one validation lists every problem; hence the defensive reads.
 */
export const tenantConfigSchema = baseSchema.superRefine(
  (cfg, ctx) => {
    const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
    const strs = (v: unknown): string[] => list(v).filter((x): x is string => typeof x === 'string');
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const orgs = list(cfg.organisations).filter((o): o is Organisation => typeof (o as Organisation)?.key === 'string');
    const keys = new Set<string>();
    orgs.forEach((o, i) => {
      if (keys.has(o.key.toLowerCase())) issue(['organisations', i, 'key'], `duplicate organisation key "${o.key}"`);
      keys.add(o.key.toLowerCase());
    });
    const refs = new Set(orgs.flatMap((o) => [o.key.toLowerCase(), typeof o.name === 'string' ? o.name.toLowerCase() : o.key.toLowerCase()]));
    const kindOf = new Map(
      orgs.flatMap((o) => [o.key, o.name].filter((r) => typeof r === 'string').map((r) => [r.toLowerCase(), o.kind ?? 'client'] as const)),
    );
    // A service needs the licence it gives: `app` the licenceLevel, `mobile` the mobileLicence.
    orgs.forEach((o, i) => {
      const services = list(o.services);
      if (services.includes('app') && !o.licenceLevel)
        issue(['organisations', i, 'services'], 'lists app, but licenceLevel is not set (the level of the app licence)');
      if (services.includes('mobile') && !o.mobileLicence)
        issue(['organisations', i, 'services'], 'lists mobile, but mobileLicence is not set (the mobile licence users get)');
    });
    const defaults = (cfg.defaults ?? {}) as Partial<TenantConfig['defaults']>;
    if (typeof defaults.client === 'string' && !keys.has(defaults.client.toLowerCase()))
      issue(['defaults', 'client'], `"${defaults.client}" is not one of the organisations`);
    const catalogues = {
      providerTypes: strs(cfg.providerTypes),
      employeeTypes: strs(cfg.employeeTypes),
      securityRoles: strs(cfg.securityRoles),
      employeeAreas: strs(cfg.employeeAreas),
      biGroups: strs(cfg.biGroups),
      teams: strs(cfg.teams),
      'notifications.email': strs(cfg.notifications?.email),
      'notifications.system': strs(cfg.notifications?.system),
      'notifications.toastr': strs(cfg.notifications?.toastr),
    };
    const inCatalogue = (value: unknown, catalogue: keyof typeof catalogues, path: (string | number)[]) => {
      // A security role that is not one of the eleven is already reported by its schema.
      if (catalogue === 'securityRoles' && !(SECURITY_ROLES as readonly unknown[]).includes(value)) return;
      if (typeof value === 'string' && catalogues[catalogue].length > 0 && !catalogues[catalogue].includes(value))
        issue(path, `"${value}" is not one of ${catalogue}`);
    };
    inCatalogue(defaults.securityRole, 'securityRoles', ['defaults', 'securityRole']);
    inCatalogue(defaults.employeeType, 'employeeTypes', ['defaults', 'employeeType']);

    // Rule values must name this tenant's organisations and catalogue entries, so a typo fails at load, not at a user's onboarding.
    list(cfg.rules).forEach((rule, i) => {
      const set = (rule as Partial<Rule> | undefined)?.set as Record<string, unknown> | undefined;
      if (!set || typeof set !== 'object') return;
      const at = (...path: (string | number)[]) => ['rules', i, 'set', ...path];
      const org = (ref: unknown, path: (string | number)[]) => {
        if (typeof ref === 'string' && !refs.has(ref.toLowerCase())) issue(path, `"${ref}" is not one of the organisations (key or name)`);
      };
      org(set.client, at('client'));
      list(set.organisations).forEach((o, j) => org((o as { value?: unknown })?.value, at('organisations', j, 'value')));
      list(set.extraClientAccess).forEach((ref, j) => org(ref, at('extraClientAccess', j)));
      if (orgs.length > 0)
        list(set.facilities).forEach((ref, j) => {
          org(ref, at('facilities', j));
          const kind = typeof ref === 'string' ? kindOf.get(ref.toLowerCase()) : undefined;
          if (kind && kind !== 'facility') issue(at('facilities', j), `"${ref}" is an organisation of kind ${kind}, not a facility`);
        });
      list(set.providerAccounts).forEach((pa, j) => {
        const p = (pa ?? {}) as { type?: unknown; organisations?: unknown };
        inCatalogue(p.type, 'providerTypes', at('providerAccounts', j, 'type'));
        list(p.organisations).forEach((ref, k) => org(ref, at('providerAccounts', j, 'organisations', k)));
      });
      inCatalogue(set.securityRole, 'securityRoles', at('securityRole'));
      inCatalogue(set.employeeType, 'employeeTypes', at('employeeType'));
      for (const field of ['employeeAreas', 'biGroups', 'teams'] as const) list(set[field]).forEach((v, j) => inCatalogue(v, field, at(field, j)));
      const notifications = (set.notifications ?? {}) as Record<string, unknown>;
      for (const kind of ['email', 'system', 'toastr'] as const) {
        list(notifications[kind]).forEach((v, j) => inCatalogue(v, `notifications.${kind}`, at('notifications', kind, j)));
      }
    });
  },
  { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
);

export type TenantConfig = z.output<typeof tenantConfigSchema>;
export type TenantConfigInput = z.input<typeof tenantConfigSchema>;
export type Organisation = TenantConfig['organisations'][number];

/** Thrown when a tenant configuration is invalid; `problems` lists each one with its path. */
export class TenantConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid tenant configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'TenantConfigError';
  }
}

/** One validation problem: where (path into the document) and what. */
export interface ConfigProblem {
  path: (string | number)[];
  message: string;
}

export const formatProblem = (p: ConfigProblem) => `${p.path.join('.') || '(root)'}: ${p.message}`;

/**
 * Validates without throwing: every problem, each with its path (an unknown key is a problem
 * of its own, with a "did you mean"); a valid configuration also gets its warnings (rules that
 * can never change anything, domain/policy-warnings.ts), which do not stop it from loading.
 */
export function validateTenantConfig(input: unknown): { ok: true; config: TenantConfig; warnings: ConfigProblem[] } | { ok: false; problems: ConfigProblem[] } {
  const result = tenantConfigSchema.safeParse(input, { error: unknownKeyError });
  if (result.success) return { ok: true, config: result.data, warnings: ruleWarnings(result.data) };
  return {
    ok: false,
    problems: result.error.issues.flatMap((i) =>
      splitUnknownKeys({
        ...i,
        path: i.path.filter((k): k is string | number => typeof k !== 'symbol'),
        keys: i.code === 'unrecognized_keys' ? i.keys : undefined,
      }),
    ),
  };
}

export function parseTenantConfig(input: unknown): TenantConfig {
  const result = validateTenantConfig(input);
  if (!result.ok) throw new TenantConfigError(result.problems.map(formatProblem));
  return result.config;
}

/**
 * A stored version, validated when it was saved: read with the shape and defaults of today's
 * schema, but without the cross-reference checks, which have grown stricter over time (a
 * facility must be of kind facility, a service needs its licence). A version saved before a
 * check was added keeps working; loading it again as a new version reports the problem.
 */
export function parseStoredTenantConfig(stored: unknown): TenantConfig {
  const result = baseSchema.safeParse(stored, { error: unknownKeyError });
  if (result.success) return result.data;
  throw new TenantConfigError(
    result.error.issues.flatMap((i) => splitUnknownKeys({ ...i, path: i.path as (string | number)[], keys: undefined })).map(formatProblem),
  );
}

/** The services an organisation offers: as listed, else what it has a licence for (a configuration without `services` keeps working). */
export function servicesOf(org: Pick<Organisation, 'services' | 'licenceLevel' | 'mobileLicence'>): Service[] {
  return org.services ?? [...(org.licenceLevel ? (['app'] as const) : []), ...(org.mobileLicence ? (['mobile'] as const) : [])];
}

/** Timings a workflow needs, in milliseconds (workflows get numbers, never the whole config). */
export interface LifecycleTimings {
  tagPropagationMs: number;
  rolePropagationMs: number;
  reminderOffsetsMs: number[];
  expiryMs: number;
  startLeadMs: number;
  seatRecheckMs: number;
  endDateAction: 'suspend' | 'terminate';
  settleMs: number;
  settleMaxMs: number;
}

export function lifecycleTimings(cfg: TenantConfig): LifecycleTimings {
  return {
    tagPropagationMs: parseDuration(cfg.propagation.tags),
    rolePropagationMs: parseDuration(cfg.propagation.securityRole),
    reminderOffsetsMs: cfg.invitation.reminders.map(parseDuration).sort((a, b) => a - b),
    expiryMs: parseDuration(cfg.invitation.expiresAfter),
    startLeadMs: parseDuration(cfg.invitation.startLeadTime),
    seatRecheckMs: parseDuration(cfg.seatRecheckInterval),
    endDateAction: cfg.endDateAction,
    settleMs: parseDuration(cfg.invitation.settle),
    settleMaxMs: parseDuration(cfg.invitation.settleMax),
  };
}
