/**
 * RFC 8936 poll delivery: `POST /scim/v2/Events` with the tenant's SCIM bearer token (the
 * stream is the token's tenant's), JSON in and out:
 *
 *   { "ack": ["<jti>", …], "setErrs": { "<jti>": { "err": "…", "description": "…" } },
 *     "maxEvents": 10, "returnImmediately": true }
 *   → 200 { "sets": { "<jti>": "<compact JWS>", … }, "moreAvailable": false }
 *
 * Acknowledged SETs (`ack`) are never returned again; SETs the receiver refused (`setErrs`) are
 * not either, and their error is kept. Every other SET is returned again on the next poll
 * (at-least-once), oldest first. `maxEvents` defaults to DEFAULT_MAX_EVENTS and is capped at
 * MAX_EVENTS; 0 only acknowledges. `returnImmediately` false (RFC 8936's default) is a long
 * poll: with nothing to return the answer waits for the tenant's next event, at most
 * LONG_POLL_MS (30 s), then answers `{ "sets": {} }`. A malformed request is a 400
 * `{ "err": "invalid_request", "description": "…" }`.
 */
import { Router, type Request, type Response } from 'express';
import type { Db } from '../common/db';
import { acknowledgeEvents, rejectEvents, unacknowledgedEvents } from '../common/repositories/security-events';
import type { EventNotifier } from './notifier';
import type { EventSigner } from './signing';

/** The longest a long poll waits for an event before answering with none. */
export const LONG_POLL_MS = 30_000;
export const DEFAULT_MAX_EVENTS = 100;
export const MAX_EVENTS = 1_000;
/** Acknowledgements and errors one request may carry. */
export const MAX_ACKS = 10_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PollRequest {
  ack: string[];
  setErrs: { jti: string; error: string }[];
  maxEvents: number;
  returnImmediately: boolean;
}

export class PollRequestError extends Error {}

/** Reads and checks a poll request body (RFC 8936 §2.4). Unknown members are ignored. */
export function parsePollRequest(body: unknown): PollRequest {
  if (body === undefined || body === null || body === '') body = {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new PollRequestError('the request body must be a JSON object');
  const b = body as Record<string, unknown>;
  const ack = b.ack ?? [];
  if (!Array.isArray(ack) || ack.some((j) => typeof j !== 'string')) throw new PollRequestError('"ack" must be an array of jti strings');
  const errs = b.setErrs ?? {};
  if (typeof errs !== 'object' || errs === null || Array.isArray(errs)) throw new PollRequestError('"setErrs" must be an object of jti: { err, description }');
  const setErrs = Object.entries(errs as Record<string, unknown>).map(([jti, e]) => {
    const err = (e as { err?: unknown } | null)?.err;
    const description = (e as { description?: unknown } | null)?.description;
    if (typeof err !== 'string' || (description !== undefined && typeof description !== 'string'))
      throw new PollRequestError(`"setErrs.${jti.slice(0, 64)}" must be { "err": string, "description": string }`);
    return { jti, error: description ? `${err}: ${description}` : err };
  });
  if (ack.length + setErrs.length > MAX_ACKS) throw new PollRequestError(`one request may acknowledge at most ${MAX_ACKS} SETs`);
  const maxEvents = b.maxEvents ?? DEFAULT_MAX_EVENTS;
  if (typeof maxEvents !== 'number' || !Number.isInteger(maxEvents) || maxEvents < 0)
    throw new PollRequestError('"maxEvents" must be a whole number, 0 or more');
  const returnImmediately = b.returnImmediately ?? false;
  if (typeof returnImmediately !== 'boolean') throw new PollRequestError('"returnImmediately" must be true or false');
  return {
    // A jti this server did not issue cannot be one of its events: dropped, not an error (RFC 8936 acknowledges what it knows).
    ack: (ack as string[]).filter((j) => UUID.test(j)),
    setErrs: setErrs.filter((e) => UUID.test(e.jti)),
    maxEvents: Math.min(maxEvents, MAX_EVENTS),
    returnImmediately,
  };
}

export interface PollDeps {
  db: Db;
  signer: EventSigner;
  notifier: EventNotifier;
  /** The longest a long poll waits. Default LONG_POLL_MS. */
  longPollMs?: number;
}

/** The poll endpoint; mount it where the SCIM bearer authentication has set `req.auth`. */
export function pollRouter(deps: PollDeps): Router {
  const router = Router();
  router.post('/', async (req: Request, res: Response) => {
    const tenantId = (req.auth as { tenantId: string }).tenantId;
    let poll: PollRequest;
    try {
      poll = parsePollRequest(req.body);
    } catch (err) {
      if (!(err instanceof PollRequestError)) throw err;
      return void res.status(400).json({ err: 'invalid_request', description: err.message });
    }
    await acknowledgeEvents(deps.db, tenantId, poll.ack, 'poll');
    await rejectEvents(deps.db, tenantId, poll.setErrs, 'poll');
    if (poll.maxEvents === 0) return void res.status(200).json({ sets: {} });

    const gone = new AbortController();
    res.once('close', () => gone.abort());
    const deadline = Date.now() + (poll.returnImmediately ? 0 : (deps.longPollMs ?? LONG_POLL_MS));
    let events = await unacknowledgedEvents(deps.db, tenantId, poll.maxEvents + 1);
    while (events.length === 0 && Date.now() < deadline && !gone.signal.aborted) {
      await deps.notifier.wait(tenantId, Math.min(deadline - Date.now(), deps.notifier.recheckMs), gone.signal);
      if (gone.signal.aborted) return;
      events = await unacknowledgedEvents(deps.db, tenantId, poll.maxEvents + 1);
      // The server is closing: answer with what there is.
      if (deps.notifier.stopped) break;
    }
    if (gone.signal.aborted) return;
    const sets: Record<string, string> = {};
    for (const e of events.slice(0, poll.maxEvents)) sets[e.jti] = await deps.signer.sign(tenantId, e);
    res.status(200).json({ sets, moreAvailable: events.length > poll.maxEvents });
  });
  return router;
}
