/** One user's history: the audit trail by request, and the provisioning log (timeline.ts) with its CSV. */
import * as views from '../common/repositories/admin-views';
import { changesOfUser } from '../common/repositories/outbox';
import { userWorkflowId } from '../common/temporal/constants';
import { AdminError, tenantOf, userId, type AdminDeps, type Caller } from './shared';
import { buildTimeline, timelineCsv } from './timeline';

/**
 * The trail of one user: each request (SCIM, admin, policy change, group change, drift repair)
 * with when it was accepted and delivered to the workflow, and the audit entries it caused
 * (workflow, run, step), in order.
 */
export async function auditTrail(deps: AdminDeps, caller: Caller, tenantId: string, id: string) {
  await tenantOf(deps, caller, tenantId);
  const uid = userId(id);
  const [entries, changes] = await Promise.all([views.auditOfUser(deps.db, tenantId, uid), changesOfUser(deps.db, tenantId, uid)]);
  if (entries.length === 0 && changes.length === 0) throw new AdminError(404, `user "${id}" not found`);
  const requests = new Map<string, { requestId: string; source: string; changes: typeof changes; entries: typeof entries; sources: Set<string> }>();
  const bucket = (rid: string | null) => {
    const key = rid ?? '(none)';
    if (!requests.has(key)) requests.set(key, { requestId: key, source: 'unknown', changes: [], entries: [], sources: new Set() });
    return requests.get(key)!;
  };
  // The source comes from what the server recorded with the change (the credential's kind), never from the request
  // id, which a SCIM client may choose: "admin:<uuid>" sent as X-Request-Id used to show as an admin action.
  for (const c of changes) {
    const b = bucket(c.requestId);
    b.changes.push(c);
    b.sources.add(c.source ?? 'unknown');
  }
  for (const e of entries) {
    const b = bucket(e.requestId);
    b.entries.push(e);
    // admin.* entries are written by this service after an admin token authenticated the action.
    if (e.action.startsWith('admin.')) b.sources.add('admin');
  }
  const trail = [...requests.values()].map(({ sources, ...r }) => ({ ...r, source: sources.size > 0 ? [...sources].sort().join(' and ') : 'unknown' }));
  return { userId: uid, workflowId: userWorkflowId(tenantId, uid), requests: trail, entries };
}

/** A user's provisioning log: each request with when it was accepted and delivered, the steps it caused (old → new), failures with what to do. */
export async function userTimeline(deps: AdminDeps, caller: Caller, tenantId: string, id: string) {
  await tenantOf(deps, caller, tenantId);
  const uid = userId(id);
  const [entries, changes] = await Promise.all([views.auditOfUser(deps.db, tenantId, uid), changesOfUser(deps.db, tenantId, uid)]);
  if (entries.length === 0 && changes.length === 0) throw new AdminError(404, `user "${id}" not found`);
  return { userId: uid, workflowId: userWorkflowId(tenantId, uid), ...buildTimeline(changes, entries) };
}

export { timelineCsv };
