/**
 * The tenant's configuration (its policy): versions, validation, saving a new version (which
 * tells the affected users' workflows and brings the drift-repair Schedule in line), and versions
 * as YAML with the difference between two.
 */
import { diffLines } from 'diff';
import YAML from 'yaml';
import { currentConfig, getConfigVersion, listConfigVersions } from '../common/repositories/tenants';
import type { SenderPolicy } from '../common/mail/sender';
import { ensureReconcileSchedule, reconcileScheduleId, scheduleSpecOf } from '../common/temporal/reconcile-schedule';
import { TenantConfigError, formatProblem, validateTenantConfig, type ConfigProblem } from '../domain/tenant-config';
import { configProblems, saveTenantConfig, TenantNotFoundError } from '../policy/tenant-policy';
import { connectorOf, type ConnectorConfig } from '../domain/connector-config';
import { digestOf } from '../connectors/account-state';
import { secretStore } from '../connectors/secrets';
import { connectorProblemsOnline } from '../connectors/validate';
import { AdminError, requireWriter, tenantOf, type AdminDeps, type Caller } from './shared';

/** A configuration refused: `problems` as "path: message" (the answer's), `details` with their paths (the console's). */
export class ConfigRefusedError extends AdminError {
  constructor(
    message: string,
    readonly details: ConfigProblem[],
  ) {
    super(400, message, details.map(formatProblem));
  }
}

/**
 * The connector's problems that only the database and the network can tell (connectors/validate.ts,
 * as the CLI's `validate` and `load`): every secret it names exists for the tenant, and, when the
 * connector section differs from the current version's, its URLs answer (an application that is
 * down for a while does not keep an administrator from changing a rule). Nothing for a document
 * that does not validate (its own problems are reported first) or for the `directory` connector.
 */
export async function connectorProblems(deps: AdminDeps, tenantId: string, body: unknown): Promise<ConfigProblem[]> {
  const result = validateTenantConfig(body);
  if (!result.ok) return [];
  const connector = connectorOf(result.config);
  if (connector.kind === 'directory') return [];
  const current = connectorOf((await currentConfig(deps.db, tenantId)).config as { connector?: ConnectorConfig });
  return connectorProblemsOnline(result.config, {
    tenantId,
    secrets: secretStore(deps.db, { keys: deps.connectorSecretKeys, cacheMs: 0 }),
    reach: digestOf(connector) !== digestOf(current),
  });
}

export async function listVersions(deps: AdminDeps, caller: Caller, tenantId: string) {
  await tenantOf(deps, caller, tenantId);
  return { versions: await listConfigVersions(deps.db, tenantId) };
}

export async function getVersion(deps: AdminDeps, caller: Caller, tenantId: string, version: string) {
  await tenantOf(deps, caller, tenantId);
  if (version === 'current') return currentConfig(deps.db, tenantId);
  // Versions are PostgreSQL integers: a larger number names none (it used to reach the query and fail with a 500).
  const n = /^\d{1,10}$/.test(version) ? Number(version) : NaN;
  const found = n > 0 && n <= 2_147_483_647 ? await getConfigVersion(deps.db, tenantId, n) : undefined;
  if (!found) throw new AdminError(404, `configuration version "${version}" not found`);
  return found;
}

/** Every problem (an unknown key with a "did you mean", a sender the operator does not allow), or, when valid, the warnings: rules that can never change anything. */
export function validateConfig(
  body: unknown,
  senderPolicy?: SenderPolicy,
): { valid: boolean; problems: string[]; details: ConfigProblem[]; warnings: string[] } {
  const result = validateTenantConfig(body);
  const problems = configProblems(body, senderPolicy);
  return result.ok && problems.length === 0
    ? { valid: true, problems: [], details: [], warnings: result.warnings.map(formatProblem) }
    : { valid: false, problems: problems.map(formatProblem), details: problems, warnings: [] };
}

/** Every problem of a draft as `validateConfig`, then (when it is valid) its connector's online problems. */
export async function validateConfigOnline(deps: AdminDeps, tenantId: string, body: unknown) {
  const checked = validateConfig(body, deps.senderPolicy);
  if (!checked.valid) return checked;
  const online = await connectorProblems(deps, tenantId, body);
  return online.length === 0 ? checked : { valid: false, problems: online.map(formatProblem), details: online, warnings: [] };
}

/**
 * Saves a new version (400 with every problem when invalid, a connector whose secret is missing or
 * whose new URL does not answer included), tells the affected users' workflows, and brings the
 * drift-repair Schedule in line.
 */
export async function saveConfig(deps: AdminDeps, caller: Caller, tenantId: string, body: unknown) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const online = await connectorProblems(deps, tenantId, body);
  if (online.length > 0) throw new ConfigRefusedError("the configuration's connector cannot be used; nothing was saved", online);
  let saved;
  try {
    saved = await saveTenantConfig(deps.db, tenantId, body, {
      createdBy: `admin-token:${caller.tokenId}`,
      requestId: caller.requestId,
      senderPolicy: deps.senderPolicy,
    });
  } catch (err) {
    if (err instanceof TenantConfigError) throw new AdminError(400, 'the configuration is invalid', err.problems);
    if (err instanceof TenantNotFoundError) throw new AdminError(404, err.message);
    throw err;
  }
  deps.onCommitted();
  let schedule: string;
  try {
    const { config } = await currentConfig(deps.db, tenantId);
    schedule = await ensureReconcileSchedule(await deps.temporal(), scheduleSpecOf(tenantId, deps.taskQueue, config));
  } catch (err) {
    // The version is saved; the worker brings the Schedule in line at its next start.
    deps.logger.warn({ requestId: caller.requestId, tenantId, err: (err as Error).message }, 'drift-repair schedule not updated');
    schedule = `not updated: ${(err as Error).message}`;
  }
  return { ...saved, schedule: { id: reconcileScheduleId(tenantId), outcome: schedule } };
}

export async function configYaml(deps: AdminDeps, caller: Caller, tenantId: string, version: string) {
  const v = await getVersion(deps, caller, tenantId, version);
  return { version: v.version, createdBy: v.createdBy, createdAt: v.createdAt, yaml: YAML.stringify(v.config) };
}

/** Line diff of two versions' YAML (with defaults filled in, as stored). */
export async function diffVersions(deps: AdminDeps, caller: Caller, tenantId: string, from: string, to: string) {
  const [a, b] = await Promise.all([configYaml(deps, caller, tenantId, from), configYaml(deps, caller, tenantId, to)]);
  const lines = diffLines(a.yaml, b.yaml).flatMap((part) =>
    part.value
      .replace(/\n$/, '')
      .split('\n')
      .map((text) => ({ kind: part.added ? ('added' as const) : part.removed ? ('removed' as const) : ('same' as const), text })),
  );
  return {
    from: { version: a.version, createdBy: a.createdBy, createdAt: a.createdAt },
    to: { version: b.version, createdBy: b.createdBy, createdAt: b.createdAt },
    changed: lines.some((l) => l.kind !== 'same'),
    lines,
  };
}
