/**
 * A tenant's configuration: its organisations, defaults, propagation windows and invitation
 * schedule. Validated once when loaded; every problem is listed with its path.
 */
import { z } from 'zod';
import { parseDuration } from '../duration';
import { CLIENT_ROLES, SECURITY_ROLES } from './roles';

const duration = z.string().refine((v) => {
  try {
    parseDuration(v);
    return true;
  } catch {
    return false;
  }
}, 'must be a duration such as 0s, 10m, 1h or 3d');

const organisation = z.object({
  key: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be letters, digits, _ . -'),
  name: z.string().min(1),
  kind: z.enum(['client', 'location', 'facility']).default('client'),
  /** The app licence level of users of this organisation; absent: the service is not enabled. */
  licenceLevel: z.string().min(1).optional(),
  /** The mobile licence of users of this organisation; absent: no mobile service. */
  mobileLicence: z.string().min(1).optional(),
  services: z.array(z.string()).default([]),
  /** Seats in the licence pool; absent: unlimited. */
  seatLimit: z.number().int().nonnegative().optional(),
});

export const tenantConfigSchema = z
  .object({
    organisations: z.array(organisation).default([]),
    defaults: z
      .object({
        /** Client used when the IdP sends none (the brief: the admin's primary organisation). */
        client: z.string().optional(),
        role: z.enum(CLIENT_ROLES).default('Client Staff'),
        securityRole: z.enum(SECURITY_ROLES).optional(),
        employeeType: z.string().optional(),
      })
      .default({ role: 'Client Staff' }),
    requirements: z
      .object({
        /** Application B: security role and employee type are required. */
        securityRole: z.boolean().default(false),
        employeeType: z.boolean().default(false),
        /** Mobile-app users need a primary phone: it is their mobile login id. */
        phoneForMobileUsers: z.boolean().default(true),
      })
      .default({ securityRole: false, employeeType: false, phoneForMobileUsers: true }),
    providerTypes: z.array(z.string()).default([]),
    employeeTypes: z.array(z.string()).default([]),
    propagation: z
      .object({
        /** Employee-area tag changes reach the app's cache within this window (brief: 10 minutes). */
        tags: duration.default('10m'),
        /** Security-role changes take effect within this window (brief: one hour). */
        securityRole: duration.default('1h'),
      })
      .default({ tags: '10m', securityRole: '1h' }),
    invitation: z
      .object({
        from: z.string().optional(),
        subject: z.string().default('You have been invited to {{applicationName}}'),
        applicationName: z.string().default('the application'),
        /** Reminders after the invitation was sent, e.g. ["3d", "7d"]. */
        reminders: z.array(duration).default(['3d', '7d']),
        expiresAfter: duration.default('14d'),
        /** With an HR start date: the invitation is held until this long before it. */
        startLeadTime: duration.default('1d'),
      })
      .default({ subject: 'You have been invited to {{applicationName}}', applicationName: 'the application', reminders: ['3d', '7d'], expiresAfter: '14d', startLeadTime: '1d' }),
    /** What an HR end date does on the day. */
    endDateAction: z.enum(['suspend', 'terminate']).default('suspend'),
    /** How often a user waiting for a licence seat checks again. */
    seatRecheckInterval: duration.default('5m'),
    /** A re-hire (same externalId) within this window gets its earlier entitlements back. */
    rehireRetention: duration.default('90d'),
  })
  .superRefine((cfg, ctx) => {
    const keys = new Set<string>();
    cfg.organisations.forEach((o, i) => {
      if (keys.has(o.key.toLowerCase())) ctx.addIssue({ code: 'custom', path: ['organisations', i, 'key'], message: `duplicate organisation key "${o.key}"` });
      keys.add(o.key.toLowerCase());
    });
    if (cfg.defaults.client && !keys.has(cfg.defaults.client.toLowerCase())) {
      ctx.addIssue({ code: 'custom', path: ['defaults', 'client'], message: `"${cfg.defaults.client}" is not one of the organisations` });
    }
  });

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

export function parseTenantConfig(input: unknown): TenantConfig {
  const result = tenantConfigSchema.safeParse(input);
  if (!result.success) {
    throw new TenantConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return result.data;
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
  };
}
