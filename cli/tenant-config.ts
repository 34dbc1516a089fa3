/**
 * `npm run tenant-config -- <command>`: tenant configuration (organisations, catalogues,
 * defaults, mapping rules, windows, invitation, drift repair) from YAML or JSON files.
 *
 *   validate <file>                                     every problem with its path and line; exit 1 if any;
 *                                                       warnings (rules that can never change anything) too
 *   load --tenant <id> [--create-tenant] [--by <name>] <file>
 *                                                       a new version; users whose desired state changes are
 *                                                       told (outbox), the drift-repair Schedule follows
 *   show --tenant <id> [--version <n>] [--json]         a version (default the current) as YAML or JSON
 *   versions --tenant <id>                              the versions, newest first
 *   preview --tenant <id> [--sample <n>] <draft-file>   what the draft would change, e.g. "37 users would
 *                                                       gain security role VOB Worker"; changes nothing
 *
 * Works beside a running `npm start` (it finds the embedded database through DATA_DIR), or with DATABASE_URL.
 * `load` updates the Schedule through TEMPORAL_ADDRESS or the running `npm start`'s Temporal; otherwise the worker does at its next start.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { allInOnePayloadKeys, payloadCodecsOf, resolvePayloadKeys } from '../common/codec/keys';
import { cliOperator, loadConfig } from '../common/config';
import type { Db } from '../common/db';
import { fieldLabel, type FieldChange } from '../domain/directory-diff';
import { formatProblem, type TenantConfig } from '../domain/tenant-config';
import { parseTenantConfigDocument } from '../domain/tenant-config-document';
import { configProblems, previewTenantConfig, saveTenantConfig } from '../policy/tenant-policy';
import { createTenant, currentConfig, getConfigVersion, getTenant, listConfigVersions } from '../common/repositories/tenants';
import { connectClient, targetFromConfig } from '../common/temporal/connection';
import { ensureReconcileSchedule, reconcileScheduleId, scheduleSpecOf } from '../common/temporal/reconcile-schedule';
import { openCliDatabase } from './database';

const USAGE = `usage:
  npm run tenant-config -- validate <file>
  npm run tenant-config -- load --tenant <id> [--create-tenant] [--by <name>] <file>
  npm run tenant-config -- show --tenant <id> [--version <n>] [--json]
  npm run tenant-config -- versions --tenant <id>
  npm run tenant-config -- preview --tenant <id> [--sample <n>] <draft-file>`;

const out = (line = '') => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

/** Reads and validates a file; prints every problem and returns undefined when there are any; prints the warnings of a valid one. */
function readConfigFile(file: string | undefined): { input: unknown; config: TenantConfig; warnings: string[] } | undefined {
  if (!file) throw new Error('give the configuration file (YAML or JSON)');
  const result = parseTenantConfigDocument(fs.readFileSync(file, 'utf8'));
  if (result.problems.length > 0) {
    err(`${file}: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}`);
    for (const p of result.problems) err(`  - ${p}`);
    return undefined;
  }
  if (result.warnings.length > 0) {
    err(`${file}: ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}`);
    for (const w of result.warnings) err(`  - warning: ${w}`);
  }
  return { input: result.input, config: result.config!, warnings: result.warnings };
}

function describeChange(c: FieldChange): string {
  if (c.added || c.removed) return `${fieldLabel(c.field)}: ${[...(c.added ?? []).map((v) => `+${v}`), ...(c.removed ?? []).map((v) => `-${v}`)].join(', ')}`;
  return `${fieldLabel(c.field)}: ${JSON.stringify(c.from ?? null)} → ${JSON.stringify(c.to ?? null)}`;
}

async function requireTenant(db: Db, id: string | undefined): Promise<string> {
  if (!id) throw new Error('--tenant is required');
  if (!(await getTenant(db, id))) throw new Error(`tenant "${id}" does not exist`);
  return id;
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      'create-tenant': { type: 'boolean' },
      by: { type: 'string' },
      version: { type: 'string' },
      json: { type: 'boolean' },
      sample: { type: 'string' },
    },
  });
  const [command, file] = positionals;
  if (command === 'validate') {
    const read = readConfigFile(file);
    if (!read) return 1;
    const settings = loadConfig();
    const [problem] = configProblems(read.input, { platformFrom: settings.mailFrom, allowedFromDomains: settings.mailAllowedFromDomains });
    if (problem) {
      err(`${file}: 1 problem`);
      err(`  - ${formatProblem(problem)}`);
      return 1;
    }
    const warned = read.warnings.length > 0 ? `, ${read.warnings.length} warning${read.warnings.length === 1 ? '' : 's'}` : '';
    out(`${file}: valid (${read.config.organisations.length} organisations, ${read.config.rules.length} rules${warned})`);
    return 0;
  }
  if (!['load', 'show', 'versions', 'preview'].includes(command ?? '')) {
    err(USAGE);
    return 2;
  }
  const settings = loadConfig();
  const target = await openCliDatabase(settings, 'npm run tenant-config', err);
  const db = target.db;
  try {
    switch (command) {
      case 'load': {
        const read = readConfigFile(file);
        if (!read) return 1;
        if (!values.tenant) throw new Error('--tenant is required');
        if (!(await getTenant(db, values.tenant))) {
          if (!values['create-tenant']) throw new Error(`tenant "${values.tenant}" does not exist; add --create-tenant to create it`);
          await createTenant(db, values.tenant, values.tenant);
        }
        const by = values.by ?? cliOperator();
        const saved = await saveTenantConfig(db, values.tenant, read.input, {
          createdBy: by,
          requestId: `config:${values.tenant}:${Date.now()}`,
          senderPolicy: { platformFrom: settings.mailFrom, allowedFromDomains: settings.mailAllowedFromDomains },
        });
        out(`tenant ${values.tenant}: version ${saved.version} saved (was ${saved.previousVersion})`);
        out(`${saved.usersCompared} users compared; ${saved.signalled} re-provisioned (their workflows are told through the outbox)`);
        for (const line of saved.summary.text) out(`  ${line}`);
        // The Temporal of the running `npm start` on DATA_DIR, else TEMPORAL_ADDRESS.
        const temporalAddress = settings.temporal.address ?? target.temporalAddress;
        if (temporalAddress) {
          const payloadKeys = settings.temporal.address
            ? settings.payloadKeys
            : allInOnePayloadKeys({ payloadKeys: settings.payloadKeys, dataDir: settings.dataDir });
          const keys = resolvePayloadKeys({ payloadKeys, dataDir: settings.dataDir, allInOne: false });
          const client = await connectClient({ ...targetFromConfig(settings, temporalAddress), payloadCodecs: payloadCodecsOf(keys) });
          try {
            const { config } = await currentConfig(db, values.tenant);
            const outcome = await ensureReconcileSchedule(client, scheduleSpecOf(values.tenant, settings.temporal.taskQueue, config));
            out(`drift-repair schedule ${reconcileScheduleId(values.tenant)}: ${outcome}`);
          } finally {
            await client.connection.close();
          }
        } else {
          out(
            `drift-repair schedule ${reconcileScheduleId(values.tenant)}: brought in line by the worker at its next start (TEMPORAL_ADDRESS is not set and npm start is not running)`,
          );
        }
        return 0;
      }
      case 'show': {
        const tenant = await requireTenant(db, values.tenant);
        const found = values.version ? await getConfigVersion(db, tenant, Number(values.version)) : await currentConfig(db, tenant);
        if (!found) throw new Error(`tenant ${tenant} has no version ${values.version}`);
        err(`# tenant ${tenant}, version ${found.version}, by ${found.createdBy} at ${found.createdAt.toISOString()}`);
        process.stdout.write(values.json ? `${JSON.stringify(found.config, null, 2)}\n` : YAML.stringify(found.config));
        return 0;
      }
      case 'versions': {
        const tenant = await requireTenant(db, values.tenant);
        for (const v of await listConfigVersions(db, tenant)) out(`${v.version}\t${v.createdAt.toISOString()}\t${v.createdBy}`);
        return 0;
      }
      case 'preview': {
        const tenant = await requireTenant(db, values.tenant);
        const read = readConfigFile(file);
        if (!read) return 1;
        const preview = await previewTenantConfig(db, tenant, read.input, { sampleLimit: Number(values.sample ?? 20) || 20 });
        out(`against version ${preview.currentVersion}: ${preview.usersCompared} users compared, ${preview.summary.usersChanged} would change`);
        for (const line of preview.summary.text) out(`  ${line}`);
        if (preview.users.length > 0) out('\nfor example:');
        for (const u of preview.users) out(`  ${u.userName} (${u.userId}): ${u.changes.map(describeChange).join('; ')}`);
        if (preview.truncated) out(`  … and ${preview.summary.usersChanged - preview.users.length} more`);
        return 0;
      }
    }
    return 2;
  } finally {
    await target.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    err((e as Error).message);
    process.exit(1);
  },
);
