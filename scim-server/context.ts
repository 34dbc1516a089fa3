/** What a SCIM handler knows about the request it serves. */
import type { Db } from '../common/db';

export interface ScimContext {
  db: Db;
  tenantId: string;
  /** Correlates the request with its outbox rows, workflow signals and audit entries. */
  requestId: string;
  /** Absolute base of SCIM URLs (…/scim/v2), for `meta.location` and `Location`. */
  baseUrl: string;
  /** Called after a commit that wrote outbox rows, so the relay delivers at once instead of on its next poll. */
  onCommitted: () => void;
}

export const SCIM_CONTENT_TYPE = 'application/scim+json';
/** Limits of a SCIM request: see limits.ts. */
export { checkIndexedLength } from './limits';
