/** ETag preconditions (RFC 7644 §3.14): `If-Match` on writes, `If-None-Match` on reads. */
import { etagOf } from './render';
import { ScimError } from '../scim/error';

function tags(header: string): string[] {
  return header
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

/** Throws 412 when `If-Match` names no current version; absent header means unconditional. */
export function checkIfMatch(ifMatch: string | undefined, version: number): void {
  if (!ifMatch) return;
  const list = tags(ifMatch);
  const current = etagOf(version);
  // Weak comparison: W/"3" and "3" name the same version.
  if (list.includes('*') || list.some((t) => t.replace(/^W\//, '') === current.replace(/^W\//, ''))) return;
  throw new ScimError(412, undefined, `The resource has changed: its version is ${current}, the request expected ${ifMatch}. Fetch it again and retry.`);
}

/** True when the client's cached copy (If-None-Match) is current, so a 304 suffices. */
export function notModified(ifNoneMatch: string | undefined, version: number): boolean {
  if (!ifNoneMatch) return false;
  const current = etagOf(version).replace(/^W\//, '');
  return tags(ifNoneMatch).some((t) => t === '*' || t.replace(/^W\//, '') === current);
}
