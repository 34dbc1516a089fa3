/**
 * The desired state of stored SCIM users, exactly as the user workflow's steps compute it:
 * SCIM document + direct group memberships + a re-hire's earlier entitlements + tenant
 * configuration (defaults and mapping rules). One place, so the workflow, a policy change,
 * a preview and drift repair never disagree about what a user should have.
 */
import type { Queryable } from '../common/db';
import { desiredUser, SCIMFLOW_USER_URN, type DesiredUser } from '../domain/desired-user';
import type { TenantConfig } from '../domain/tenant-config';
import { parseDuration } from '../domain/duration';
import { rehireSources } from '../common/repositories/app-users';
import { groupNamesOfUsers } from '../common/repositories/scim-groups';
import { getUser } from '../common/repositories/scim-users';
import { desiredInputsOf } from '../common/repositories/desired-inputs';
import type { ConfigVersion } from '../common/repositories/tenants';

type Json = Record<string, unknown>;

export interface DesiredState {
  desired: DesiredUser;
  /** The terminated user whose entitlements this re-hire inherits, if any. */
  rehiredFrom?: string;
  /** The SCIM resource version the state was computed from. */
  version: number;
}

/** A re-hire's earlier entitlements fill in what its SCIM data leaves out; explicit values still win. */
function withRehireSnapshot(doc: Json, snapshot: Json | undefined): Json {
  if (!snapshot) return doc;
  const explicit = (doc[SCIMFLOW_USER_URN] ?? {}) as Json;
  return { ...doc, [SCIMFLOW_USER_URN]: { ...snapshot, ...explicit } };
}

/** The inputs beyond the document, for many users at once (group names, re-hire sources). */
async function contextOf(db: Queryable, tenantId: string, users: { id: string; doc: Json }[], config: TenantConfig) {
  const ids = users.map((u) => u.id);
  const groups = await groupNamesOfUsers(db, tenantId, ids);
  const withExternalId = users.flatMap((u) =>
    typeof u.doc.externalId === 'string' && u.doc.externalId !== '' ? [{ userId: u.id, externalId: u.doc.externalId }] : [],
  );
  const rehires = await rehireSources(db, tenantId, withExternalId, parseDuration(config.rehireRetention));
  return { groups, rehires };
}

/** Desired states of a page of users under `configs` (e.g. today's and a draft), sharing the database reads. */
export async function desiredStatesUnder(
  db: Queryable,
  tenantId: string,
  users: { id: string; doc: Json; version: number }[],
  configs: TenantConfig[],
): Promise<Map<string, DesiredState>[]> {
  // Group names do not depend on the configuration; re-hire sources do (the retention window).
  const contexts = await Promise.all(
    configs.map((c, i) => (i === 0 || c.rehireRetention !== configs[0].rehireRetention ? contextOf(db, tenantId, users, c) : undefined)),
  );
  return configs.map((config, i) => {
    const ctx = contexts[i] ?? contexts[0]!;
    const states = new Map<string, DesiredState>();
    for (const u of users) {
      const rehire = ctx.rehires.get(u.id);
      states.set(u.id, {
        desired: desiredUser(withRehireSnapshot(u.doc, rehire?.snapshot), config, ctx.groups.get(u.id) ?? []),
        rehiredFrom: rehire?.userId,
        version: u.version,
      });
    }
    return states;
  });
}

/** One user's desired state under the tenant's configuration; undefined when the SCIM user no longer exists. */
export async function desiredStateOf(db: Queryable, tenantId: string, userId: string, config: TenantConfig): Promise<DesiredState | undefined> {
  const scim = await getUser(db, tenantId, userId);
  if (!scim) return undefined;
  const [states] = await desiredStatesUnder(db, tenantId, [{ id: userId, doc: scim.doc, version: scim.version }], [config]);
  return states.get(userId);
}

/**
 * The tenant's current configuration and one user's desired state under it (undefined when the
 * SCIM user no longer exists), from one statement: what each onboarding step reads.
 */
export async function readDesiredState(db: Queryable, tenantId: string, userId: string): Promise<{ config: ConfigVersion; state?: DesiredState }> {
  const { config, user } = await desiredInputsOf(db, tenantId, userId);
  if (!user) return { config };
  const retentionMs = parseDuration(config.config.rehireRetention);
  const rehire = user.rehireCandidates.find((c) => c.terminatedMsAgo !== null && c.terminatedMsAgo < retentionMs);
  return {
    config,
    state: {
      desired: desiredUser(withRehireSnapshot(user.doc, rehire?.snapshot), config.config, user.groups),
      rehiredFrom: rehire?.userId,
      version: user.version,
    },
  };
}
