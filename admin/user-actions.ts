/**
 * What a Super User does to one user: suspend and reactivate (`active` on the SCIM resource),
 * terminate (DELETE), both through the users service as the identity provider would; resend the
 * invitation (the workflow's update) and retry (its signal). Every action is audited.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { userWorkflowId } from '../common/temporal/constants';
import * as users from '../scim-server/users/service';
import { requestResendUpdate, resendInvitationSignal, retrySignal, type ResendRequested } from '../workflows/definitions';
import { AdminError, auditAction, requireWriter, scimContext, tenantOf, userId, type AdminDeps, type Caller } from './shared';

const PATCH_OP_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const activePatch = (active: boolean) => ({ schemas: [PATCH_OP_URN], Operations: [{ op: 'replace', path: 'active', value: active }] });

/** What the answer of a Super User's suspension or termination says about the mass-deprovisioning guard. */
const NOT_COUNTED =
  "not counted by the mass-deprovisioning guard (a Super User's own action); the workflow blocks login as soon as it applies the change, within seconds";

/** Suspend / reactivate: `active` on the SCIM resource, as the IdP would (which may set it back on its next push). */
export async function setActive(deps: AdminDeps, caller: Caller, tenantId: string, id: string, active: boolean) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const uid = userId(id);
  const result = await users.patchUser(scimContext(deps, caller), uid, activePatch(active));
  await auditAction(deps, caller, uid, active ? 'reactivate' : 'suspend', { changed: result.changed });
  return {
    requestId: caller.requestId,
    changed: result.changed,
    ...(active ? {} : { guard: NOT_COUNTED }),
    user: result.resource,
  };
}

/** Terminate: DELETE of the SCIM resource; the workflow releases everything and keeps the record for audit. */
export async function terminate(deps: AdminDeps, caller: Caller, tenantId: string, id: string) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const uid = userId(id);
  await users.deleteUser(scimContext(deps, caller), uid);
  await auditAction(deps, caller, uid, 'terminate');
  return { requestId: caller.requestId, terminated: true, guard: NOT_COUNTED };
}

/**
 * A new invitation round, through the workflow's update: answered 409 with the reason when there
 * is nothing to resend (accepted, held, suspended, not invited yet); otherwise 202 with the
 * round whose invitation (a new link, replacing the earlier ones) is on its way.
 */
export async function resendInvitation(deps: AdminDeps, caller: Caller, tenantId: string, id: string) {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const uid = userId(id);
  const handle = (await deps.temporal()).workflow.getHandle(userWorkflowId(tenantId, uid));
  let requested: ResendRequested;
  try {
    requested = await handle.executeUpdate(requestResendUpdate);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new AdminError(409, `user "${id}" has no running workflow (not provisioned yet, or terminated)`);
    if (err instanceof WorkflowUpdateFailedError) throw new AdminError(409, (err.cause as Error | undefined)?.message ?? err.message);
    throw err;
  }
  await auditAction(deps, caller, uid, 'resendInvitation', { round: requested.round });
  return { requestId: caller.requestId, requested: 'resendInvitation', round: requested.round, workflowId: handle.workflowId };
}

/** retry: a signal to the user's running workflow (409 when it has none). */
export async function signalUser(deps: AdminDeps, caller: Caller, tenantId: string, id: string, which: 'resendInvitation' | 'retry') {
  await tenantOf(deps, caller, tenantId);
  requireWriter(caller);
  const uid = userId(id);
  const handle = (await deps.temporal()).workflow.getHandle(userWorkflowId(tenantId, uid));
  try {
    await handle.signal(which === 'retry' ? retrySignal : resendInvitationSignal);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new AdminError(409, `user "${id}" has no running workflow (not provisioned yet, or terminated)`);
    throw err;
  }
  await auditAction(deps, caller, uid, which);
  return { requestId: caller.requestId, signalled: which, workflowId: handle.workflowId };
}
