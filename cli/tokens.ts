/**
 * `npm run tokens -- <command>`: manage tenants' bearer tokens. A token is printed once, at
 * creation; only its hash is stored.
 *
 *   create --tenant <id> [--name <label>] [--admin --role <role> | --codec] [--expires <duration>] [--create-tenant]
 *
 * An admin token (--admin) opens the admin API (/admin/v1) of its tenant; its role decides what
 * it may do: "Super User" changes users and configuration, any other role (or none) only reads.
 * A codec token (--codec) opens the tenant's workflow payloads at the codec endpoint (/codec),
 * and nothing else. --expires (e.g. 90d) makes the token stop working that long from now.
 *   list [--tenant <id>]
 *   revoke <token-id>
 *
 * OAuth 2.0 client credentials (RFC 6749 §4.4) for IdPs that take them (the Entra gallery): the
 * client exchanges its id and secret at TOKEN_URL (POST /oauth/token) for access tokens that
 * the SCIM API takes like a SCIM token, each living OAUTH_ACCESS_TOKEN_TTL (default 60 min).
 * The secret is printed once, at creation or rotation; only its hash is stored. `list` shows
 * the clients beside the tokens, never a secret.
 *   create-client --tenant <id> --name <label> [--create-tenant]
 *   rotate-client <client-id>     a new secret; the old one stops at once, access tokens already
 *                                 issued work until they expire
 *   revoke-client <client-id>     no new access token, and the ones issued are refused at once
 *
 * The keys a tenant's Security Event Tokens are signed with (docs/events.md):
 *   event-keys --tenant <id>                 list them (kid, created, superseded, retired)
 *   rotate-event-key --tenant <id>           the current key stops signing; the next SET gets a new
 *                                            key (within 10 s); the old one stays in the JWKS
 *   retire-event-key --tenant <id> <kid>     the key leaves the JWKS: SETs it signed no longer verify
 *
 * Works beside a running `npm start` (it finds the embedded database through DATA_DIR and
 * prints that server's addresses), or with DATABASE_URL.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../common/config';
import { parseDuration } from '../domain/duration';
import { createTenant, getTenant } from '../common/repositories/tenants';
import { ADMIN_WRITE_ROLE, createToken, listTokens, revokeToken } from '../common/repositories/tokens';
import { retireSigningKey, signingKeysOf, supersedeSigningKeys } from '../common/repositories/event-signing-keys';
import { createOAuthClient, listOAuthClients, revokeOAuthClient, rotateOAuthClientSecret, tokenUrlOf } from '../common/repositories/oauth-clients';
import { openCliDatabase } from './database';

const USAGE = `usage:
  npm run tokens -- create --tenant <id> [--name <label>] [--admin --role <role> | --codec] [--expires <duration, e.g. 90d>] [--create-tenant]
  npm run tokens -- list [--tenant <id>]
  npm run tokens -- revoke <token-id>
  npm run tokens -- create-client --tenant <id> --name <label> [--create-tenant]
  npm run tokens -- rotate-client <client-id>
  npm run tokens -- revoke-client <client-id>
  npm run tokens -- event-keys --tenant <id>
  npm run tokens -- rotate-event-key --tenant <id>
  npm run tokens -- retire-event-key --tenant <id> <kid>`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      name: { type: 'string' },
      admin: { type: 'boolean' },
      role: { type: 'string' },
      codec: { type: 'boolean' },
      expires: { type: 'string' },
      'create-tenant': { type: 'boolean' },
    },
  });
  const [command, arg] = positionals;
  if (!command) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfig();
  const target = await openCliDatabase(config, 'npm run tokens', (msg) => process.stderr.write(`${msg}\n`));
  const db = target.db;
  try {
    switch (command) {
      case 'create': {
        if (!values.tenant) throw new Error('--tenant is required');
        if (values.role !== undefined && !values.admin) throw new Error('--role is for admin tokens: add --admin');
        if (values.codec && values.admin) throw new Error('a token is either --admin or --codec, not both');
        let expiresInMs: number | undefined;
        if (values.expires !== undefined) {
          try {
            expiresInMs = parseDuration(values.expires);
          } catch {
            throw new Error(`--expires "${values.expires}" must be a duration such as 30d, 90d or 12h`);
          }
          if (expiresInMs <= 0) throw new Error('--expires must be longer than 0');
        }
        if (!(await getTenant(db, values.tenant))) {
          if (!values['create-tenant']) throw new Error(`tenant "${values.tenant}" does not exist; add --create-tenant to create it`);
          await createTenant(db, values.tenant, values.tenant);
        }
        const kind = values.admin ? 'admin' : values.codec ? 'codec' : 'scim';
        const { token, id, expiresAt } = await createToken(db, values.tenant, values.name ?? 'token', kind, values.role?.trim(), expiresInMs);
        if (expiresAt) process.stderr.write(`The token expires at ${expiresAt.toISOString()}.\n`);
        if (kind === 'codec') {
          process.stdout.write(`TOKEN_ID=${id}\nCODEC_TOKEN=${token}\nCODEC_ENDPOINT=${target.publicUrl}/codec\n`);
          process.stderr.write(
            `Opens tenant "${values.tenant}"'s workflow payloads only. Temporal UI: codec endpoint ${target.publicUrl}/codec/<token>; CLI: --codec-endpoint ${target.publicUrl}/codec --codec-auth "Bearer <token>".\n`,
          );
        } else if (values.admin) {
          process.stdout.write(`TOKEN_ID=${id}\nADMIN_TOKEN=${token}\nADMIN_BASE_URL=${target.publicUrl}/admin/v1\nCONSOLE_URL=${target.publicUrl}/console\n`);
          const role = values.role?.trim();
          process.stderr.write(
            `${role ? `Role "${role}"` : 'No --role'}: ${role === ADMIN_WRITE_ROLE ? 'may change users and configuration' : `read-only (only "${ADMIN_WRITE_ROLE}" may change users and configuration)`}.\n`,
          );
        } else {
          process.stdout.write(`TOKEN_ID=${id}\nSCIM_TOKEN=${token}\nSCIM_BASE_URL=${target.publicUrl}/scim/v2\n`);
        }
        process.stderr.write('Store the token now: it is not shown again.\n');
        return 0;
      }
      case 'list': {
        for (const t of await listTokens(db, values.tenant)) {
          process.stdout.write(
            `${t.id}  tenant=${t.tenantId}  kind=${t.kind}${t.kind === 'admin' ? `  role=${t.adminRole ?? '(none: read-only)'}` : ''}  name=${t.name}  prefix=${t.prefix}…  created=${t.createdAt.toISOString()}  ${t.revokedAt ? `revoked=${t.revokedAt.toISOString()}` : t.expiresAt && t.expiresAt.getTime() <= Date.now() ? 'expired' : 'active'}  expires=${t.expiresAt?.toISOString() ?? 'never'}  last-used=${t.lastUsedAt?.toISOString() ?? 'never'}\n`,
          );
        }
        // OAuth clients: the id is not secret; the secret is never shown again (its first characters tell rotations apart).
        for (const c of await listOAuthClients(db, values.tenant)) {
          process.stdout.write(
            `${c.clientId}  tenant=${c.tenantId}  kind=oauth-client  name=${c.name}  secret=${c.secretPrefix}…  created=${c.createdAt.toISOString()}  ${c.revokedAt ? `revoked=${c.revokedAt.toISOString()}` : 'active'}  secret-rotated=${c.secretRotatedAt?.toISOString() ?? 'never'}  live-access-tokens=${c.liveAccessTokens}  last-used=${c.lastUsedAt?.toISOString() ?? 'never'}\n`,
          );
        }
        return 0;
      }
      case 'create-client': {
        if (!values.tenant) throw new Error('--tenant is required');
        const name = values.name?.trim();
        if (!name) throw new Error('--name is required (e.g. --name entra)');
        if (!(await getTenant(db, values.tenant))) {
          if (!values['create-tenant']) throw new Error(`tenant "${values.tenant}" does not exist; add --create-tenant to create it`);
          await createTenant(db, values.tenant, values.tenant);
        }
        const { clientId, clientSecret } = await createOAuthClient(db, values.tenant, name);
        process.stdout.write(
          `CLIENT_ID=${clientId}\nCLIENT_SECRET=${clientSecret}\nTOKEN_URL=${tokenUrlOf(target.publicUrl)}\nSCIM_BASE_URL=${target.publicUrl}/scim/v2\n`,
        );
        process.stderr.write(
          `OAuth client "${name}" of tenant "${values.tenant}": POST grant_type=client_credentials to TOKEN_URL (HTTP Basic or client_id/client_secret in the body) for an access token to send to SCIM_BASE_URL as "Authorization: Bearer <token>".\nStore the secret now: it is not shown again (rotate-client makes a new one).\n`,
        );
        return 0;
      }
      case 'rotate-client': {
        if (!arg) throw new Error('give the client id (see `list`)');
        const rotated = await rotateOAuthClientSecret(db, arg);
        if (!rotated) throw new Error(`no active OAuth client with id ${arg}`);
        process.stdout.write(`CLIENT_ID=${rotated.clientId}\nCLIENT_SECRET=${rotated.clientSecret}\nTOKEN_URL=${tokenUrlOf(target.publicUrl)}\n`);
        process.stderr.write(
          'The old secret stopped working now; access tokens already issued work until they expire. Enter the new secret in the identity provider. Store it now: it is not shown again.\n',
        );
        return 0;
      }
      case 'revoke-client': {
        if (!arg) throw new Error('give the client id (see `list`)');
        if (!(await revokeOAuthClient(db, arg))) throw new Error(`no active OAuth client with id ${arg}`);
        process.stdout.write(`revoked ${arg}: it gets no new access token, and the ones it holds are refused from the next request on\n`);
        return 0;
      }
      case 'revoke': {
        if (!arg) throw new Error('give the token id (see `list`)');
        if (!(await revokeToken(db, arg))) throw new Error(`no active token with id ${arg}`);
        process.stdout.write(`revoked ${arg}\n`);
        return 0;
      }
      case 'event-keys': {
        if (!values.tenant) throw new Error('--tenant is required');
        for (const k of await signingKeysOf(db, values.tenant)) {
          const state = k.retiredAt ? `retired=${k.retiredAt.toISOString()}` : k.supersededAt ? 'published (no longer signs)' : 'signing';
          process.stdout.write(
            `${k.kid}  alg=${k.alg}  created=${k.createdAt.toISOString()}  ${state}${k.supersededAt && !k.retiredAt ? `  superseded=${k.supersededAt.toISOString()}` : ''}\n`,
          );
        }
        return 0;
      }
      case 'rotate-event-key': {
        if (!values.tenant) throw new Error('--tenant is required');
        if (!(await getTenant(db, values.tenant))) throw new Error(`tenant "${values.tenant}" does not exist`);
        const superseded = await supersedeSigningKeys(db, values.tenant);
        process.stdout.write(superseded.length > 0 ? `superseded ${superseded.join(', ')}\n` : 'no current key: one is made at the next SET\n');
        process.stderr.write(
          'The next SET is signed with a new key (every SCIM server within 10 s). The old key stays in the JWKS until: npm run tokens -- retire-event-key --tenant <id> <kid>\n',
        );
        return 0;
      }
      case 'retire-event-key': {
        if (!values.tenant) throw new Error('--tenant is required');
        if (!arg) throw new Error('give the key id (see `event-keys`)');
        if (!(await retireSigningKey(db, values.tenant, arg))) throw new Error(`tenant "${values.tenant}" has no published key ${arg}`);
        process.stdout.write(`retired ${arg}: it is no longer in the JWKS (receivers that cached it keep it up to 5 min)\n`);
        return 0;
      }
      default:
        process.stderr.write(`${USAGE}\n`);
        return 2;
    }
  } finally {
    await target.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  },
);
