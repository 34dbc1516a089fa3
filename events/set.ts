/**
 * What a Security Event Token says (RFC 8417, RFC 9967), built from a change: pure, so the
 * SCIM write path, the activities and the tests build the same events.
 *
 * Stored claims: `sub_id` (RFC 9493, SCIM form: `{ format: 'scim', uri: '/Users/<id>',
 * externalId? }`), `txn` and `events` (one event URI per SET). The signer adds iss, aud, iat and
 * jti when it delivers (setClaims). Each SET carries one event: a PATCH that deactivates a user
 * is two SETs, prov:patch:notice then prov:deactivate, with one txn (RFC 9967 §2.2: the txn
 * names the change, the jti the token).
 *
 * jti and txn are derived from the change, never random: the same change (tenant, resource,
 * version, event URI; an activity's outcome and its key) always gets the same jti, so a
 * retried transaction appends nothing new and a redelivered SET keeps its jti.
 */
import crypto from 'node:crypto';
import type { EventResourceType, NewSecurityEvent } from '../common/repositories/security-events';
import { lifecycleEventUri, SCIM_EVENTS, type LifecycleOutcome } from './uris';

type Json = Record<string, unknown>;

/** A UUID (version 8, RFC 9562 §5.8) derived from `parts`: equal parts, equal UUID. */
export function derivedUuid(...parts: string[]): string {
  const h = crypto.createHash('sha256').update(parts.join('\u0000')).digest();
  h[6] = (h[6] & 0x0f) | 0x80;
  h[8] = (h[8] & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The jti of the event `eventUri` about the change `changeKey` of the tenant. */
export function eventJti(tenantId: string, changeKey: string, eventUri: string): string {
  return derivedUuid('scimflow-set-jti-v1', tenantId, changeKey, eventUri);
}

/** The key of a SCIM resource's change: its type, id and the version the change made. */
export function resourceChangeKey(resourceType: EventResourceType, id: string, version: number): string {
  return `${resourceType}/${id}@${version}`;
}

/** The txn of a SCIM write (RFC 9967 §2.2), 32 hex digits: the same for every SET the write causes. */
export function changeTxn(tenantId: string, resourceType: EventResourceType, id: string, version: number): string {
  return derivedUuid('scimflow-set-txn-v1', tenantId, resourceChangeKey(resourceType, id, version)).replace(/-/g, '');
}

/** A fresh transaction id for an asynchronous request (the `Set-Txn` header), 32 hex digits. */
export function newAsyncTxn(): string {
  return crypto.randomUUID().replace(/-/g, '');
}

/** RFC 9967 §2.1: the subject, as a SCIM relative URI, with the externalId when there is one. */
export function subjectOf(resourceType: EventResourceType, id: string, externalId?: unknown): Json {
  return {
    format: 'scim',
    uri: `/${resourceType === 'User' ? 'Users' : 'Groups'}/${id}`,
    ...(typeof externalId === 'string' && externalId !== '' ? { externalId } : {}),
  };
}

/** The ETag of a version, as SCIM responses send it (RFC 9967 `version`). */
export const versionTag = (version: number) => `W/"${version}"`;

/** JSON with sorted keys, so that documents equal but for key order compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The attribute paths whose values differ between two User documents (RFC 7644 §3.5.2 `path`
 * syntax): top-level attributes by name, an extension's attributes as `<urn>:<name>`. Names
 * only, never values. Sorted, so equal changes give equal lists.
 */
export function changedAttributes(before: Json, after: Json): string[] {
  const out: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[key];
    const b = after[key];
    if (key.toLowerCase().startsWith('urn:') && (isObject(a) || isObject(b))) {
      const left = isObject(a) ? a : {};
      const right = isObject(b) ? b : {};
      for (const sub of new Set([...Object.keys(left), ...Object.keys(right)])) if (canonical(left[sub]) !== canonical(right[sub])) out.push(`${key}:${sub}`);
    } else if (canonical(a) !== canonical(b)) out.push(key);
  }
  return out.sort();
}

const isActive = (doc: Json | undefined) => doc !== undefined && doc.active !== false;

interface Change {
  tenantId: string;
  resourceType: EventResourceType;
  id: string;
  /** The version the change made (a deletion: the version after the last). */
  version: number;
  externalId?: unknown;
}

function event(c: Change, eventUri: string, payload: Json, txn: string): NewSecurityEvent {
  return {
    tenantId: c.tenantId,
    jti: eventJti(c.tenantId, resourceChangeKey(c.resourceType, c.id, c.version), eventUri),
    eventUri,
    resourceType: c.resourceType,
    resourceId: c.id,
    txn,
    claims: { sub_id: subjectOf(c.resourceType, c.id, c.externalId), txn, events: { [eventUri]: payload } },
  };
}

/**
 * The events of a SCIM write of a user: `before` absent is a creation, `after` absent a
 * deletion, else the method says PATCH or PUT. An `active` that flips adds prov:activate or
 * prov:deactivate after the change's own event.
 */
export function userChangeEvents(
  c: Omit<Change, 'resourceType' | 'externalId'> & { method: 'POST' | 'PUT' | 'PATCH' | 'DELETE'; before?: Json; after?: Json },
): NewSecurityEvent[] {
  const change: Change = { ...c, resourceType: 'User', externalId: (c.after ?? c.before)?.externalId };
  const txn = changeTxn(c.tenantId, 'User', c.id, c.version);
  if (c.method === 'DELETE' || c.after === undefined) return [event(change, SCIM_EVENTS.delete, {}, txn)];
  if (c.method === 'POST' || c.before === undefined) {
    return [event(change, SCIM_EVENTS.create, { attributes: ['id', ...changedAttributes({}, c.after)], version: versionTag(c.version) }, txn)];
  }
  const uri = c.method === 'PUT' ? SCIM_EVENTS.put : SCIM_EVENTS.patch;
  const events = [event(change, uri, { attributes: changedAttributes(c.before, c.after), version: versionTag(c.version) }, txn)];
  if (isActive(c.before) !== isActive(c.after)) events.push(event(change, isActive(c.after) ? SCIM_EVENTS.activate : SCIM_EVENTS.deactivate, {}, txn));
  return events;
}

/** The events of a SCIM write of a group; `attributes`: what it changed (displayName, externalId, members). */
export function groupChangeEvents(
  c: Omit<Change, 'resourceType'> & { method: 'POST' | 'PUT' | 'PATCH' | 'DELETE'; attributes?: string[] },
): NewSecurityEvent[] {
  const change: Change = { ...c, resourceType: 'Group' };
  const txn = changeTxn(c.tenantId, 'Group', c.id, c.version);
  if (c.method === 'DELETE') return [event(change, SCIM_EVENTS.delete, {}, txn)];
  const uri = c.method === 'POST' ? SCIM_EVENTS.create : c.method === 'PUT' ? SCIM_EVENTS.put : SCIM_EVENTS.patch;
  const attributes = c.method === 'POST' ? ['id', ...(c.attributes ?? [])] : (c.attributes ?? []);
  return [event(change, uri, { attributes: [...new Set(attributes)], version: versionTag(c.version) }, txn)];
}

/** The HTTP status a completed SCIM request of `method` answers (RFC 7644 §3.3, §3.5, §3.6). */
export const successStatus = (method: 'POST' | 'PUT' | 'PATCH' | 'DELETE') => (method === 'POST' ? '201' : method === 'DELETE' ? '204' : '200');

/**
 * RFC 9967 §2.5.1.3: the completion of an asynchronous request, one Bulk response operation
 * (RFC 7644 §3.7.3) under misc:asyncresp, with the txn its 202 answered in `Set-Txn`. A
 * failure carries `response`, a SCIM error (RFC 7644 §3.12) whose detail must hold no personal data.
 */
export function asyncResponseEvent(r: {
  tenantId: string;
  txn: string;
  resourceType: EventResourceType;
  resourceId: string;
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  location: string;
  version?: number;
  externalId?: unknown;
  failure?: { status: string; detail: string; scimType?: string };
}): NewSecurityEvent {
  const eventUri = SCIM_EVENTS.asyncResponse;
  const status = r.failure?.status ?? successStatus(r.method);
  const payload: Json = {
    method: r.method,
    ...(r.method !== 'DELETE' && r.version !== undefined ? { version: versionTag(r.version) } : {}),
    ...(r.method !== 'DELETE' ? { location: r.location } : {}),
    status,
    ...(r.failure
      ? {
          response: {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
            status,
            ...(r.failure.scimType ? { scimType: r.failure.scimType } : {}),
            detail: r.failure.detail,
          },
        }
      : {}),
  };
  return {
    tenantId: r.tenantId,
    jti: eventJti(r.tenantId, `async/${r.txn}`, eventUri),
    eventUri,
    resourceType: r.resourceType,
    resourceId: r.resourceId,
    txn: r.txn,
    claims: { sub_id: subjectOf(r.resourceType, r.resourceId, r.externalId), txn: r.txn, events: { [eventUri]: payload } },
  };
}

/**
 * One of scimflow's lifecycle outcomes of a user (urn:scimflow:event:<outcome>). `key` names
 * the occurrence, so a retried activity repeats the jti and a later occurrence gets its own:
 * the invitation's id for invited, accepted and expired; the workflow's step and the version it
 * applied for failed and held. `reason`: a short text without personal data (failed, held).
 */
export function lifecycleEvent(e: {
  tenantId: string;
  userId: string;
  outcome: LifecycleOutcome;
  key: string;
  externalId?: unknown;
  reason?: string;
}): NewSecurityEvent {
  const eventUri = lifecycleEventUri(e.outcome);
  const txn = derivedUuid('scimflow-set-txn-v1', e.tenantId, `User/${e.userId}/${e.outcome}/${e.key}`).replace(/-/g, '');
  return {
    tenantId: e.tenantId,
    jti: eventJti(e.tenantId, `User/${e.userId}/${e.outcome}/${e.key}`, eventUri),
    eventUri,
    resourceType: 'User',
    resourceId: e.userId,
    txn,
    claims: { sub_id: subjectOf('User', e.userId, e.externalId), txn, events: { [eventUri]: e.reason ? { reason: e.reason } : {} } },
  };
}

/** The issuer of a tenant's SETs: `${publicUrl}/events/<tenant>`; its JWKS is at `${issuer}/jwks.json`. */
export function issuerOf(publicUrl: string, tenantId: string): string {
  return `${publicUrl}/events/${encodeURIComponent(tenantId)}`;
}

/** The audience of a tenant's SETs: its event feed, `${issuer}/feed` (RFC 9967's examples name the feed). */
export function audienceOf(publicUrl: string, tenantId: string): string {
  return `${issuerOf(publicUrl, tenantId)}/feed`;
}

/** The full claim set of a stored event, as signed: iss, iat (when it was appended), jti, aud, then the stored claims. */
export function setClaims(e: { jti: string; claims: Json; createdAt: Date }, publicUrl: string, tenantId: string): Json {
  return {
    iss: issuerOf(publicUrl, tenantId),
    iat: Math.floor(e.createdAt.getTime() / 1000),
    jti: e.jti,
    aud: audienceOf(publicUrl, tenantId),
    ...e.claims,
  };
}
