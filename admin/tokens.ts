/** The tenant's credentials: its tokens with each SCIM token's last request and error, a new SCIM token, a revocation. */
import { tokenActivity } from '../common/repositories/request-log';
import { createToken, listTokens, revokeToken } from '../common/repositories/tokens';
import { parseDuration } from '../domain/duration';
import { AdminError, auditAction, requireWriter, tenantOf, type AdminDeps, type Caller } from './shared';

/** At most this many live SCIM tokens per tenant through the admin API: the one in use and its successor during a rotation. */
export const MAX_LIVE_SCIM_TOKENS = 2;

export async function listTenantTokens(deps: AdminDeps, caller: Caller, tenantId: string) {
  await tenantOf(deps, caller, tenantId);
  const all = await listTokens(deps.db, tenantId);
  // The request log's last request and last error of each SCIM token (two index look-ups a token).
  const activity = await tokenActivity(
    deps.db,
    tenantId,
    all.filter((t) => t.kind === 'scim').map((t) => t.id),
  );
  return {
    tokens: all.map((t) => ({
      ...(t.kind === 'scim' ? { lastRequest: activity.get(t.id)?.lastRequest ?? null, lastError: activity.get(t.id)?.lastError ?? null } : {}),
      id: t.id,
      name: t.name,
      kind: t.kind,
      prefix: t.prefix,
      adminRole: t.adminRole,
      createdAt: t.createdAt,
      lastUsedAt: t.lastUsedAt,
      revokedAt: t.revokedAt,
      // Null: it never expires (npm run tokens -- create … --expires 90d).
      expiresAt: t.expiresAt,
      expired: !!t.expiresAt && new Date(t.expiresAt).getTime() <= Date.now(),
    })),
    maxLiveScimTokens: MAX_LIVE_SCIM_TOKENS,
  };
}

/** A new SCIM token for the IdP, shown once in the answer (Super User); 409 with two live ones. */
export async function createScimToken(deps: AdminDeps, caller: Caller, tenantId: string, body: unknown) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const name = typeof (body as { name?: unknown })?.name === 'string' ? (body as { name: string }).name.trim() : '';
  if (!/^[\p{L}\p{N} ._@-]{1,64}$/u.test(name)) throw new AdminError(400, '"name" must be 1 to 64 letters, digits, spaces or . _ @ - (e.g. "okta-2025")');
  const live = (await listTokens(deps.db, tenantId)).filter((t) => t.kind === 'scim' && !t.revokedAt);
  if (live.length >= MAX_LIVE_SCIM_TOKENS) {
    throw new AdminError(
      409,
      `this tenant has ${live.length} live SCIM tokens (${live.map((t) => `"${t.name}"`).join(', ')}); revoke the one the identity provider no longer uses first`,
    );
  }
  const expires = (body as { expires?: unknown })?.expires;
  let expiresInMs: number | undefined;
  if (expires !== undefined && expires !== null) {
    try {
      expiresInMs = typeof expires === 'string' ? parseDuration(expires) : NaN;
    } catch {
      expiresInMs = NaN;
    }
    if (!(expiresInMs! > 0)) throw new AdminError(400, '"expires" must be a duration such as 90d or 12h (or left out: the token does not expire)');
  }
  const created = await createToken(deps.db, tenantId, name, 'scim', undefined, expiresInMs);
  await auditAction(deps, caller, null, 'tokenCreated', { createdTokenId: created.id, name, expiresAt: created.expiresAt });
  return { id: created.id, name, kind: 'scim', token: created.token, prefix: created.token.slice(0, 8), expiresAt: created.expiresAt };
}

export async function revokeScimToken(deps: AdminDeps, caller: Caller, tenantId: string, tokenId: string) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const token = (await listTokens(deps.db, tenantId)).find((t) => t.id === tokenId && t.kind === 'scim');
  if (!token) throw new AdminError(404, `SCIM token "${tokenId}" not found`);
  const revoked = await revokeToken(deps.db, token.id);
  if (revoked) await auditAction(deps, caller, null, 'tokenRevoked', { revokedTokenId: token.id, name: token.name });
  return { id: token.id, name: token.name, revoked, alreadyRevoked: !revoked };
}
