/** All activities, built from their dependencies (db pool, mailer, URLs). */
import type { ActivityDeps } from './deps';
import { invitationActivities } from './invitations';
import { lifecycleActivities } from './lifecycle';
import { provisioningActivities } from './provisioning';
import { reconcileActivities } from './reconcile';

export function createActivities(deps: ActivityDeps) {
  return {
    ...provisioningActivities(deps),
    ...invitationActivities(deps),
    ...lifecycleActivities(deps),
    ...reconcileActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps';
