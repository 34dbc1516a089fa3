/**
 * `npm run tokens -- <command>`: manage tenants' bearer tokens. A token is printed once, at
 * creation; only its hash is stored.
 *
 *   create --tenant <id> [--name <label>] [--admin] [--create-tenant]
 *   list [--tenant <id>]
 *   revoke <token-id>
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../common/config';
import { openDatabase } from '../common/db';
import { createTenant, getTenant } from '../common/repositories/tenants';
import { createToken, listTokens, revokeToken } from '../common/repositories/tokens';

const USAGE = `usage:
  npm run tokens -- create --tenant <id> [--name <label>] [--admin] [--create-tenant]
  npm run tokens -- list [--tenant <id>]
  npm run tokens -- revoke <token-id>`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { tenant: { type: 'string' }, name: { type: 'string' }, admin: { type: 'boolean' }, 'create-tenant': { type: 'boolean' } },
  });
  const [command, arg] = positionals;
  if (!command) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfig();
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    switch (command) {
      case 'create': {
        if (!values.tenant) throw new Error('--tenant is required');
        if (!(await getTenant(db, values.tenant))) {
          if (!values['create-tenant']) throw new Error(`tenant "${values.tenant}" does not exist; add --create-tenant to create it`);
          await createTenant(db, values.tenant, values.tenant);
        }
        const { token, id } = await createToken(db, values.tenant, values.name ?? 'token', values.admin ? 'admin' : 'scim');
        process.stdout.write(`TOKEN_ID=${id}\nSCIM_TOKEN=${token}\nSCIM_BASE_URL=${config.publicUrl}/scim/v2\n`);
        process.stderr.write('Store the token now: it is not shown again.\n');
        return 0;
      }
      case 'list': {
        for (const t of await listTokens(db, values.tenant)) {
          process.stdout.write(
            `${t.id}  tenant=${t.tenantId}  kind=${t.kind}  name=${t.name}  prefix=${t.prefix}…  created=${t.createdAt.toISOString()}  ${t.revokedAt ? `revoked=${t.revokedAt.toISOString()}` : 'active'}  last-used=${t.lastUsedAt?.toISOString() ?? 'never'}\n`,
          );
        }
        return 0;
      }
      case 'revoke': {
        if (!arg) throw new Error('give the token id (see `list`)');
        if (!(await revokeToken(db, arg))) throw new Error(`no active token with id ${arg}`);
        process.stdout.write(`revoked ${arg}\n`);
        return 0;
      }
      default:
        process.stderr.write(`${USAGE}\n`);
        return 2;
    }
  } finally {
    await db.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  },
);
