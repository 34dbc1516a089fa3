/** What a SCIM handler knows about the request it serves. */
import type { Db } from '../common/db';
import type { ChangeSource } from '../domain/resource-changes';

export interface ScimContext {
  db: Db;
  tenantId: string;
  /** Correlates the request with its outbox rows, workflow signals and audit entries; the client may choose it, so it means nothing else. */
  requestId: string;
  /** Who makes the changes, from the credential that authenticated the request: recorded with each outbox row. */
  source: Extract<ChangeSource, 'scim' | 'admin'>;
  /** Absolute base of SCIM URLs (…/scim/v2), for `meta.location` and `Location`. */
  baseUrl: string;
  /** Called after a commit that wrote outbox rows, so the relay delivers at once instead of on its next poll. */
  onCommitted: () => void;
  /**
   * Set when the client asked for an asynchronous answer (RFC 9967 §2.5.1.1, `Prefer:
   * respond-async`): the txn of its `Set-Txn` header and of the misc:asyncresp event that will
   * report the outcome (events/async.ts).
   */
  asyncTxn?: string;
}

export const SCIM_CONTENT_TYPE = 'application/scim+json';
/** Limits of a SCIM request: see limits.ts. */
export { checkIndexedLength } from './limits';
