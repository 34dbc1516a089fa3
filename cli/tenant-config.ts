/**
 * `npm run tenant-config -- <command>`: tenant configuration (organisations, catalogues,
 * defaults, mapping rules, windows, invitation, drift repair) from YAML or JSON files.
 *
 *   validate [--tenant <id>] [--offline] <file>         every problem with its path and line; exit 1 if any;
 *                                                       warnings (rules that can never change anything) too;
 *                                                       a connector's URLs are tried (not --offline), and with
 *                                                       --tenant the secrets it names must exist
 *   load --tenant <id> [--create-tenant] [--by <name>] [--offline] <file>
 *                                                       a new version (after the connector's online checks);
 *                                                       users whose desired state changes are told (outbox),
 *                                                       the drift-repair Schedule follows
 *   set-secret --tenant <id> --name <name>              stores a connector secret, its value read from stdin
 *                                                       (never an argument), encrypted (CONNECTOR_SECRETS_KEYS)
 *   secrets --tenant <id>                               the names of the tenant's connector secrets
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
import { cliOperator, loadConfig, type Config } from '../common/config';
import { connectorSecretNames } from '../common/repositories/connector-secrets';
import { DB_KEY_ID, parseSecretKeys } from '../connectors/secret-crypto';
import { secretStore } from '../connectors/secrets';
import { connectorProblemsOnline } from '../connectors/validate';
import { connectorOf, secretReferences } from '../domain/connector-config';
import type { Db } from '../common/db';
import { fieldLabel, type FieldChange } from '../domain/directory-diff';
import { formatProblem, type ConfigProblem, type TenantConfig } from '../domain/tenant-config';
import { parseTenantConfigDocument } from '../domain/tenant-config-document';
import { configProblems, previewTenantConfig, saveTenantConfig } from '../policy/tenant-policy';
import { createTenant, currentConfig, getConfigVersion, getTenant, listConfigVersions } from '../common/repositories/tenants';
import { connectClient, targetFromConfig } from '../common/temporal/connection';
import { ensureReconcileSchedule, reconcileScheduleId, scheduleSpecOf } from '../common/temporal/reconcile-schedule';
import { openCliDatabase } from './database';

const USAGE = `usage:
  npm run tenant-config -- validate [--tenant <id>] [--offline] <file>
  npm run tenant-config -- load --tenant <id> [--create-tenant] [--by <name>] [--offline] <file>
  npm run tenant-config -- set-secret --tenant <id> --name <name>     (the value on stdin)
  npm run tenant-config -- secrets --tenant <id>
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
      offline: { type: 'boolean' },
      name: { type: 'string' },
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
    // The connector's secrets (with --tenant: they live in the tenant's database rows) and URLs.
    const online = await onlineProblems(read.config, values.tenant, !values.offline, settings);
    if (!values.tenant && secretReferences(connectorOf(read.config)).length > 0) err(`${file}: the connector's secrets are not checked without --tenant`);
    if (online.length > 0) {
      err(`${file}: ${online.length} problem${online.length === 1 ? '' : 's'}`);
      for (const p of online) err(`  - ${formatProblem(p)}`);
      return 1;
    }
    const warned = read.warnings.length > 0 ? `, ${read.warnings.length} warning${read.warnings.length === 1 ? '' : 's'}` : '';
    out(`${file}: valid (${read.config.organisations.length} organisations, ${read.config.rules.length} rules${warned})`);
    return 0;
  }
  if (!['load', 'show', 'versions', 'preview', 'set-secret', 'secrets'].includes(command ?? '')) {
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
        // The connector's secrets must exist and its URLs answer, before anything is saved.
        const online = await connectorProblemsOnline(read.config, { tenantId: values.tenant, secrets: secretsOf(db, settings), reach: !values.offline });
        if (online.length > 0) {
          err(`${file}: ${online.length} problem${online.length === 1 ? '' : 's'}; nothing saved`);
          for (const p of online) err(`  - ${formatProblem(p)}`);
          return 1;
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
      case 'set-secret': {
        const tenant = await requireTenant(db, values.tenant);
        if (!values.name) throw new Error('--name is required (the name the configuration gives, e.g. auth.bearer.secret)');
        if (positionals.length > 1)
          throw new Error('the secret is read from stdin, never from an argument: echo -n "$TOKEN" | npm run tenant-config -- set-secret …');
        if (process.stdin.isTTY) err(`type the value of secret ${values.name}, then Enter and Ctrl-D`);
        const value = (await readStdin()).replace(/\r?\n$/, '');
        const stored = await secretsOf(db, settings).set(tenant, values.name, value);
        out(`tenant ${tenant}: secret ${values.name} ${stored.outcome} (encrypted with key ${stored.keyId})`);
        if (stored.keyId === DB_KEY_ID)
          err(
            'note: CONNECTOR_SECRETS_KEYS is not set, so the key kept in the database encrypted it (fine for development; set CONNECTOR_SECRETS_KEYS in production)',
          );
        return 0;
      }
      case 'secrets': {
        const tenant = await requireTenant(db, values.tenant);
        for (const s of await connectorSecretNames(db, tenant)) out(`${s.name}\t${s.updatedAt.toISOString()}\tkey ${s.keyId}`);
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

/** The connector's online problems: its URLs (unless `reach` is false) and, for a tenant, its secrets (read from the tenant's database). */
async function onlineProblems(config: TenantConfig, tenantId: string | undefined, reach: boolean, settings: Config): Promise<ConfigProblem[]> {
  if (!tenantId) return connectorProblemsOnline(config, { reach });
  const target = await openCliDatabase(settings, 'npm run tenant-config', err);
  try {
    return await connectorProblemsOnline(config, { tenantId, secrets: secretsOf(target.db, settings), reach });
  } finally {
    await target.close();
  }
}

/** Everything on stdin, as text. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The connector secret store of this database, with the operator's keys. */
function secretsOf(db: Db, settings: Config) {
  return secretStore(db, { keys: settings.connectorSecretsKeys ? parseSecretKeys(settings.connectorSecretsKeys) : undefined, cacheMs: 0 });
}

main().then(
  (code) => process.exit(code),
  (e) => {
    err((e as Error).message);
    process.exit(1);
  },
);
