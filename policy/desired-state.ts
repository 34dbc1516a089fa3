/**
 * The desired state of stored SCIM users, exactly as the user workflow's steps compute it:
 * SCIM document + group memberships (nested groups included) + a re-hire's earlier entitlements
 * + tenant configuration (defaults and mapping rules). One reader, so the workflow, a policy
 * change, a preview and drift repair never disagree about what a user should have: one
 * statement reads the inputs of any number of users (common/repositories/desired-inputs.ts) and
 * one function turns a user's inputs into its state under a configuration (`stateUnder`).
 */
import type { Queryable } from '../common/db';
import { desiredUser, SCIMFLOW_USER_URN, type DesiredUser } from '../domain/desired-user';
import { entitlementCatalogue, rolesOfUser } from '../domain/entitlement-catalogue';
import type { TenantConfig } from '../domain/tenant-config';
import { parseDuration } from '../domain/duration';
import { desiredInputsOf, type UserInputs } from '../common/repositories/desired-inputs';
import type { ConfigVersion } from '../common/repositories/tenants';

type Json = Record<string, unknown>;

export interface DesiredState {
  desired: DesiredUser;
  /** The terminated user whose entitlements this re-hire inherits, if any. */
  rehiredFrom?: string;
  /** The SCIM resource version the state was computed from. */
  version: number;
}

/**
 * A re-hire's earlier entitlements fill in what its SCIM data leaves out; explicit values still win,
 * a role named in core `roles` included (the earlier securityRole / clientRole would contradict it).
 */
function withRehireSnapshot(doc: Json, snapshot: Json | undefined, config: TenantConfig): Json {
  if (!snapshot) return doc;
  const explicit = (doc[SCIMFLOW_USER_URN] ?? {}) as Json;
  const earlier = { ...snapshot };
  const named = rolesOfUser(doc, entitlementCatalogue(config));
  if (named.securityRoles.length > 0) delete earlier.securityRole;
  if (named.clientRoles.length > 0 && Array.isArray(earlier.organisations)) {
    // The earlier role in the main client yields to the client role `roles` names (other memberships keep theirs).
    earlier.organisations = (earlier.organisations as Json[]).map((o) => (o.primary === true ? { value: o.value, primary: true } : o));
  }
  return { ...doc, [SCIMFLOW_USER_URN]: { ...earlier, ...explicit } };
}

/** One user's state under `config`: the only place the re-hire window (`rehireRetention`) is applied. */
function stateUnder(user: UserInputs, config: TenantConfig): DesiredState {
  const candidate = user.rehireCandidate;
  const rehire = candidate && candidate.terminatedMsAgo < parseDuration(config.rehireRetention) ? candidate : undefined;
  return {
    desired: desiredUser(withRehireSnapshot(user.doc, rehire?.snapshot, config), config, user.groups),
    rehiredFrom: rehire?.userId,
    version: user.version,
  };
}

/**
 * The tenant's current configuration and the desired states of `userIds` under each of `configs`
 * (default: the current configuration alone), in one statement. A user id that names no SCIM
 * user is absent from the maps.
 */
export async function readDesiredStates(
  db: Queryable,
  tenantId: string,
  userIds: readonly string[],
  configs?: readonly TenantConfig[],
): Promise<{ config: ConfigVersion; states: Map<string, DesiredState>[] }> {
  const { config, users } = await desiredInputsOf(db, tenantId, userIds);
  const states = (configs ?? [config.config]).map((c) => new Map([...users].map(([id, user]) => [id, stateUnder(user, c)])));
  return { config, states };
}

/** Desired states of a page of users under `configs` (e.g. today's and a draft), from one read. */
export async function desiredStatesUnder(
  db: Queryable,
  tenantId: string,
  userIds: readonly string[],
  configs: readonly TenantConfig[],
): Promise<Map<string, DesiredState>[]> {
  return (await readDesiredStates(db, tenantId, userIds, configs)).states;
}

/** One user's desired state under `config`; undefined when the SCIM user no longer exists. */
export async function desiredStateOf(db: Queryable, tenantId: string, userId: string, config: TenantConfig): Promise<DesiredState | undefined> {
  const [states] = await desiredStatesUnder(db, tenantId, [userId], [config]);
  return states.get(userId);
}

/**
 * The tenant's current configuration and one user's desired state under it (undefined when the
 * SCIM user no longer exists), from one statement: what each onboarding step reads.
 */
export async function readDesiredState(db: Queryable, tenantId: string, userId: string): Promise<{ config: ConfigVersion; state?: DesiredState }> {
  const { config, states } = await readDesiredStates(db, tenantId, [userId]);
  return { config, state: states[0].get(userId) };
}
