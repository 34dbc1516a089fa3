/**
 * `npm run catalogue-check -- --tenant <id> [--json]`: whether this deployment's settings meet
 * what the Okta Integration Network and the Microsoft Entra app gallery ask before a
 * submission (domain/catalogue-readiness.ts): the SCIM base URL is HTTPS, has no underscore and
 * names a public host; the tenant has an OAuth client (Entra takes client credentials); access
 * tokens live 60 to 360 minutes (OAUTH_ACCESS_TOKEN_TTL).
 *
 * Reads PUBLIC_URL and OAUTH_ACCESS_TOKEN_TTL of this environment (run it where the SCIM server
 * runs, e.g. `docker compose exec scim-server npm run catalogue-check:prod -- --tenant acme`);
 * beside a running `npm start` the base URL is that server's. Prints one line per check
 * (PASS/FAIL, its name, the catalogue that asks, the reason), or with --json one document;
 * exits 0 when every check passes, 1 when one fails, 2 on a usage error.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../common/config';
import { listOAuthClients } from '../common/repositories/oauth-clients';
import { getTenant } from '../common/repositories/tenants';
import { catalogueReadiness } from '../domain/catalogue-readiness';
import { openCliDatabase } from './database';

const USAGE = 'usage: npm run catalogue-check -- --tenant <id> [--json]';

async function main(): Promise<number> {
  let values: { tenant?: string; json?: boolean };
  try {
    values = parseArgs({ options: { tenant: { type: 'string' }, json: { type: 'boolean' } } }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (!values.tenant) {
    process.stderr.write(`--tenant is required\n${USAGE}\n`);
    return 2;
  }
  const config = loadConfig();
  const target = await openCliDatabase(config, 'npm run catalogue-check', (msg) => process.stderr.write(`${msg}\n`));
  try {
    if (!(await getTenant(target.db, values.tenant))) throw new Error(`tenant "${values.tenant}" does not exist`);
    const clients = (await listOAuthClients(target.db, values.tenant)).filter((c) => !c.revokedAt);
    const result = catalogueReadiness({
      scimBaseUrl: `${target.publicUrl}/scim/v2`,
      accessTokenTtlMs: config.oauthAccessTokenTtlMs,
      liveOAuthClients: clients.map((c) => ({ clientId: c.clientId, name: c.name })),
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ tenant: values.tenant, ...result }, null, 2)}\n`);
    } else {
      const width = Math.max(...result.checks.map((c) => c.id.length));
      for (const c of result.checks) process.stdout.write(`${c.ok ? 'PASS' : 'FAIL'}  ${c.id.padEnd(width)}  [${c.catalogue}]  ${c.reason}\n`);
      const failed = result.checks.filter((c) => !c.ok).length;
      process.stdout.write(result.ok ? 'Ready: every check passed.\n' : `Not ready: ${failed} of ${result.checks.length} checks failed.\n`);
      // Honest about its reach: the settings only, not the requests on the wire.
      process.stderr.write(
        "These are the settings only. Also run Microsoft's SCIM Validator (https://scimvalidator.microsoft.com) against the public URL; the request-level checks are replayed by test/entra-gallery.int.test.ts.\n",
      );
    }
    return result.ok ? 0 : 1;
  } finally {
    await target.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  },
);
