/**
 * RFC 9967 §2.5.1.1 asynchronous SCIM requests. A POST, PUT, PATCH or DELETE of /Users or
 * /Groups sent with `Prefer: respond-async` (RFC 7240) is validated and applied as usual, in one
 * transaction with its outbox row and events, and answered `202 Accepted` without a body, with
 * `Set-Txn: <txn>`, `Preference-Applied: respond-async` and the resource's `Location`. The
 * outcome follows as a misc:asyncresp event whose `txn` is that value:
 *
 *  - at once, in the same transaction, when nothing is left to do: a group write (groups have
 *    no workflow of their own), a user write that changes nothing;
 *  - for any other user write, when the user's workflow has carried the change: the activity
 *    calls completeAsyncRequests (events/lifecycle.ts) in its transaction, which finds the
 *    request recorded here (async_requests).
 *
 * A request refused before it is applied (400, 404, 409, 412) is answered at once as usual: an
 * asynchronous answer is only for a change that was accepted. /Bulk ignores the preference and
 * answers synchronously (RFC 9967 allows either; its per-operation txns are not implemented).
 * The `wait` preference is ignored: the answer is asynchronous whenever it is asked for.
 */
import type { RequestHandler, Response } from 'express';
import type { Queryable } from '../common/db';
import { appendEvent, markAsyncRequestsCompleted, recordAsyncRequest, type AsyncRequest } from '../common/repositories/security-events';
import { asyncResponseEvent, newAsyncTxn } from './set';

/** Whether a `Prefer` header (RFC 7240 §2: preferences separated by commas, each with optional parameters) asks for respond-async. */
export function prefersRespondAsync(prefer: string | string[] | undefined): boolean {
  const values = Array.isArray(prefer) ? prefer : prefer === undefined ? [] : [prefer];
  return values
    .flatMap((v) => v.split(','))
    .map((p) => p.split(';')[0].split('=')[0].trim().toLowerCase())
    .includes('respond-async');
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Mounted on /Users and /Groups: a write that prefers respond-async gets its txn
 * (`res.locals.asyncTxn`, read into ScimContext.asyncTxn). Searches (POST …/.search) are reads.
 */
export function asyncPreference(): RequestHandler {
  return (req, res, next) => {
    if (WRITES.has(req.method) && !req.path.endsWith('/.search') && prefersRespondAsync(req.headers.prefer)) res.locals.asyncTxn = newAsyncTxn();
    next();
  };
}

/** The txn asyncPreference gave this request, if any. */
export function asyncTxnOf(res: Response | undefined): string | undefined {
  const txn = (res?.locals as { asyncTxn?: unknown } | undefined)?.asyncTxn;
  return typeof txn === 'string' ? txn : undefined;
}

/** The 202 of an accepted asynchronous request (RFC 9967 §2.5.1.1, §3): no body. */
export function sendAccepted(res: Response, accepted: { txn: string; location: string; etag?: string }): void {
  res.status(202);
  res.setHeader('Set-Txn', accepted.txn);
  res.setHeader('Preference-Applied', 'respond-async');
  res.setHeader('Location', accepted.location);
  if (accepted.etag) res.setHeader('ETag', accepted.etag);
  res.end();
}

/**
 * Records an accepted asynchronous request in the transaction of its change. `completeNow`:
 * nothing is left to carry (a group write, a write that changed nothing), so its asyncresp event
 * is appended now and the request is complete; otherwise completeAsyncRequests appends it later.
 */
export async function acceptAsyncRequest(tx: Queryable, request: AsyncRequest, completeNow?: { version?: number; externalId?: unknown }): Promise<void> {
  await recordAsyncRequest(tx, request);
  if (!completeNow) return;
  await appendEvent(
    tx,
    asyncResponseEvent({
      tenantId: request.tenantId,
      txn: request.txn,
      resourceType: request.resourceType,
      resourceId: request.resourceId,
      method: request.method,
      location: request.location,
      version: completeNow.version,
      externalId: completeNow.externalId,
    }),
  );
  await markAsyncRequestsCompleted(tx, request.tenantId, [request.txn]);
}
