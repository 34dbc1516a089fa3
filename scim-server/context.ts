/** What a SCIM handler knows about the request it serves. */
import type { Db } from '../common/db';
import { ScimError } from './scim-error';

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
export const MAX_PAGE_SIZE = 1000;
export const MAX_BULK_OPERATIONS = 1000;
/**
 * Longest value (in characters) of an attribute kept in an indexed column (userName, externalId,
 * displayName, emails.value; group displayName, externalId). An index entry holds at most about
 * 2.7 kB, so a longer value failed in PostgreSQL with a 500; 512 characters is at most 2 kB of
 * UTF-8 and far above what IdPs send (Entra UPNs ≤ 113 characters, e-mail addresses ≤ 254).
 */
const MAX_INDEXED_LENGTH = 512;

/** Throws 400 invalidValue when an indexed attribute is longer than MAX_INDEXED_LENGTH. */
export function checkIndexedLength(name: string, value: unknown): void {
  if (typeof value === 'string' && value.length > MAX_INDEXED_LENGTH) {
    throw ScimError.badRequest('invalidValue', `"${name}" is ${value.length} characters long; at most ${MAX_INDEXED_LENGTH} are accepted.`);
  }
}
