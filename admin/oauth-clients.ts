/**
 * The tenant's OAuth 2.0 clients (client credentials, RFC 6749 §4.4; common/repositories/
 * oauth-clients.ts): listed with each one's last request and last error, created and rotated
 * with the secret shown once in the answer, revoked. The IdP exchanges the id and secret at the
 * token endpoint (tokenUrl) for access tokens that the SCIM API takes beside the SCIM tokens.
 */
import { createOAuthClient, listOAuthClients, revokeOAuthClient, rotateOAuthClientSecret, tokenUrlOf } from '../common/repositories/oauth-clients';
import { tokenActivity } from '../common/repositories/request-log';
import { isUuid } from '../domain/uuid';
import { AdminError, auditAction, requireWriter, tenantOf, type AdminDeps, type Caller } from './shared';

/** At most this many live OAuth clients per tenant through the admin API (the one in use and one for a move between IdPs); a rotation keeps the client. */
export const MAX_LIVE_OAUTH_CLIENTS = 2;

/** The token endpoint beside the SCIM base URL (…/scim/v2 → …/oauth/token). */
function tokenUrl(deps: AdminDeps): string {
  return tokenUrlOf(deps.scimBaseUrl.replace(/\/scim\/v2\/?$/, ''));
}

export async function listTenantOAuthClients(deps: AdminDeps, caller: Caller, tenantId: string) {
  await tenantOf(deps, caller, tenantId);
  const clients = await listOAuthClients(deps.db, tenantId);
  // The request log records an access token's requests under its client's id.
  const activity = await tokenActivity(
    deps.db,
    tenantId,
    clients.map((c) => c.clientId),
  );
  return {
    clients: clients.map((c) => ({
      clientId: c.clientId,
      name: c.name,
      secretPrefix: c.secretPrefix,
      createdAt: c.createdAt,
      secretRotatedAt: c.secretRotatedAt,
      revokedAt: c.revokedAt,
      lastUsedAt: c.lastUsedAt,
      liveAccessTokens: c.liveAccessTokens,
      lastRequest: activity.get(c.clientId)?.lastRequest ?? null,
      lastError: activity.get(c.clientId)?.lastError ?? null,
    })),
    tokenUrl: tokenUrl(deps),
    scimBaseUrl: deps.scimBaseUrl,
    maxLiveClients: MAX_LIVE_OAUTH_CLIENTS,
  };
}

/** A new client (Super User): its secret is in this answer only; 409 with two live ones. */
export async function createTenantOAuthClient(deps: AdminDeps, caller: Caller, tenantId: string, body: unknown) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const name = typeof (body as { name?: unknown })?.name === 'string' ? (body as { name: string }).name.trim() : '';
  if (!/^[\p{L}\p{N} ._@-]{1,64}$/u.test(name)) throw new AdminError(400, '"name" must be 1 to 64 letters, digits, spaces or . _ @ - (e.g. "entra")');
  const live = (await listOAuthClients(deps.db, tenantId)).filter((c) => !c.revokedAt);
  if (live.length >= MAX_LIVE_OAUTH_CLIENTS) {
    throw new AdminError(
      409,
      `this tenant has ${live.length} live OAuth clients (${live.map((c) => `"${c.name}"`).join(', ')}); revoke one first, or rotate its secret instead`,
    );
  }
  const created = await createOAuthClient(deps.db, tenantId, name);
  await auditAction(deps, caller, null, 'oauthClientCreated', { clientId: created.clientId, name });
  return {
    clientId: created.clientId,
    clientSecret: created.clientSecret,
    name,
    secretPrefix: created.clientSecret.slice(0, 8),
    createdAt: created.createdAt,
    tokenUrl: tokenUrl(deps),
    scimBaseUrl: deps.scimBaseUrl,
  };
}

async function clientOf(deps: AdminDeps, tenantId: string, clientId: string) {
  const client = isUuid(clientId) ? (await listOAuthClients(deps.db, tenantId)).find((c) => c.clientId === clientId.toLowerCase()) : undefined;
  if (!client) throw new AdminError(404, `OAuth client "${clientId}" not found`);
  return client;
}

/** A new secret for a live client (Super User), in this answer only: the old one stops at once; access tokens already issued work until they expire. */
export async function rotateTenantOAuthClient(deps: AdminDeps, caller: Caller, tenantId: string, clientId: string) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const client = await clientOf(deps, tenantId, clientId);
  if (client.revokedAt) throw new AdminError(409, `OAuth client "${client.name}" is revoked; create a new one`);
  const rotated = await rotateOAuthClientSecret(deps.db, client.clientId, tenantId);
  if (!rotated) throw new AdminError(409, `OAuth client "${client.name}" is revoked; create a new one`);
  await auditAction(deps, caller, null, 'oauthClientSecretRotated', { clientId: client.clientId, name: client.name });
  return {
    clientId: client.clientId,
    clientSecret: rotated.clientSecret,
    name: client.name,
    secretPrefix: rotated.clientSecret.slice(0, 8),
    tokenUrl: tokenUrl(deps),
  };
}

/** Revokes a client (Super User): it gets no new access token, and the ones it holds are refused from the next request on. */
export async function revokeTenantOAuthClient(deps: AdminDeps, caller: Caller, tenantId: string, clientId: string) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const client = await clientOf(deps, tenantId, clientId);
  const revoked = await revokeOAuthClient(deps.db, client.clientId, tenantId);
  if (revoked) await auditAction(deps, caller, null, 'oauthClientRevoked', { clientId: client.clientId, name: client.name });
  return { clientId: client.clientId, name: client.name, revoked, alreadyRevoked: !revoked };
}
