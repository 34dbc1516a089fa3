/** What a draft configuration, or today's, would do: across the tenant, or for one user (stored, or a SCIM document); writes nothing. */
import type { FieldChange } from '../domain/directory-diff';
import { TenantConfigError } from '../domain/tenant-config';
import { previewTenantConfig, previewUser } from '../policy/tenant-policy';
import * as users from '../scim-server/users/service';
import { AdminError, tenantOf, userId, type AdminDeps, type Caller } from './shared';

function draftFrom(body: unknown): unknown {
  const b = (body ?? {}) as Record<string, unknown>;
  return 'config' in b ? b.config : body;
}

/** A draft's effect across the tenant, e.g. "37 users would gain security role VOB Worker"; writes nothing. */
export async function previewTenant(deps: AdminDeps, caller: Caller, tenantId: string, body: unknown, sampleLimit?: number) {
  await tenantOf(deps, caller, tenantId);
  try {
    return await previewTenantConfig(deps.db, tenantId, draftFrom(body), { sampleLimit });
  } catch (err) {
    if (err instanceof TenantConfigError) throw new AdminError(400, 'the draft configuration is invalid', err.problems);
    throw err;
  }
}

/** One user (stored, by id; or a SCIM document not stored yet, with its groups) under today's configuration or a draft; writes nothing. */
export async function previewOneUser(deps: AdminDeps, caller: Caller, tenantId: string, body: unknown) {
  await tenantOf(deps, caller, tenantId);
  const b = (body ?? {}) as { userId?: unknown; user?: unknown; groups?: unknown; config?: unknown };
  const groups = Array.isArray(b.groups) ? b.groups.filter((g): g is string => typeof g === 'string') : [];
  let subject: { userId: string } | { doc: Record<string, unknown>; groups: string[] };
  if (typeof b.userId === 'string') subject = { userId: userId(b.userId) };
  else if (b.user !== undefined) subject = { doc: users.userDocOf(b.user), groups };
  else throw new AdminError(400, 'give "userId" (a stored user) or "user" (a SCIM User document, with optional "groups": [displayName, …])');
  try {
    const result = await previewUser(deps.db, tenantId, subject, b.config);
    if (!result) throw new AdminError(404, `user "${String(b.userId)}" not found`);
    // The convergence steps that would change something (a user not stored yet: every step).
    return { ...result, steps: stepsForChanges('userId' in subject ? (result.changesFromDirectory ?? undefined) : undefined) };
  } catch (err) {
    if (err instanceof TenantConfigError) throw new AdminError(400, 'the draft configuration is invalid', err.problems);
    throw err;
  }
}

/** Which convergence step applies each changed field (what "run now" would do for a stored user). */
const STEP_OF_FIELD: [RegExp, string][] = [
  [/^(profile\.|clientKey$|caseManager$)/, 'createProfile'],
  [/^memberships$/, 'assignOrganisations'],
  [/^licences$/, 'assignLicences'],
  [/^providerAccounts$/, 'assignProviderAccounts'],
  [/./, 'applyAccessSettings'],
];

const CONVERGE_STEPS = ['createProfile', 'assignOrganisations', 'assignLicences', 'assignProviderAccounts', 'applyAccessSettings'];

export function stepsForChanges(changes: FieldChange[] | undefined): { step: string; fields: string[] }[] {
  if (changes === undefined) return CONVERGE_STEPS.map((step) => ({ step, fields: [] }));
  const byStep = new Map<string, string[]>();
  for (const c of changes) {
    if (c.field === 'missing' || c.field === 'active') continue;
    const step = STEP_OF_FIELD.find(([re]) => re.test(c.field))![1];
    byStep.set(step, [...(byStep.get(step) ?? []), c.field]);
  }
  return CONVERGE_STEPS.filter((s) => byStep.has(s)).map((step) => ({ step, fields: byStep.get(step)! }));
}
