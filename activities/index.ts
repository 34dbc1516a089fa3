/** All activities, built from their dependencies (db pool, mailer, URLs). */
import { connectorRegistry } from '../connectors/registry';
import { secretStore } from '../connectors/secrets';
import type { ActivityDeps } from './deps';
import { invitationActivities } from './invitations';
import { lifecycleActivities } from './lifecycle';
import { provisioningActivities } from './provisioning';
import { reconcileActivities } from './reconcile';

export function createActivities(options: ActivityDeps) {
  const deps: ActivityDeps = {
    ...options,
    connectors: options.connectors ?? connectorRegistry({ db: options.db, secrets: secretStore(options.db, { keys: options.connectorSecretKeys }) }),
  };
  return {
    ...provisioningActivities(deps),
    ...invitationActivities(deps),
    ...lifecycleActivities(deps),
    ...reconcileActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps';
