/**
 * RFC 8935 push delivery, a loop in each SCIM server process beside the outbox relay. For every
 * tenant whose configuration has `events.push` (domain/events-config.ts), its unacknowledged
 * SETs are POSTed to the URL one at a time, oldest first, as `application/secevent+jwt` (with
 * `Authorization: Bearer <secret>` when `authorizationSecret` names one):
 *
 *  - 202 (any 2xx): delivered, acknowledged, never sent again;
 *  - 400 with `{ "err", "description" }` (RFC 8935 §2.3): the receiver refuses this SET for good;
 *    it is not sent again and the error is kept with it (security_events.error); the next goes;
 *  - anything else (a network error, a timeout, 5xx, 401, 403, 404, 429…): the pass stops and
 *    the whole stream waits (backoff from 1 s doubling to 5 min), so a later SET never
 *    overtakes an earlier one; the same SET (same jti) is sent again then.
 *
 * One SCIM server pushes a tenant's stream at a time (a lease in event_push_streams); a server
 * that dies mid-pass leaves it to another once the lease runs out. The loop wakes on every
 * appended event (LISTEN) and otherwise every `pollMs`; which tenants push is read again every
 * `tenantsRefreshMs`, so a configuration saved takes effect within it. Between passes it runs a
 * step of the feed's retention clean-up (EVENTS_RETENTION_DAYS).
 */
import type { Db } from '../common/db';
import type { Logger } from '../common/logger';
import type { PacedCleanup } from '../common/paced-cleanup';
import {
  acknowledgeEvents,
  hasUnacknowledgedEvents,
  leasePushStream,
  rejectEvents,
  releasePushStream,
  unacknowledgedEvents,
} from '../common/repositories/security-events';
import { currentConfig, listTenants } from '../common/repositories/tenants';
import type { EventsConfig } from '../domain/events-config';
import type { EventNotifier } from './notifier';
import { SET_MEDIA_TYPE, type EventSigner } from './signing';

type PushTarget = NonNullable<EventsConfig['push']>;

/** Reads a named secret of the tenant (connectors/secrets.ts's store). */
export interface SecretReader {
  get(tenantId: string, name: string): Promise<string>;
}

export interface EventPusherOptions {
  db: Db;
  signer: EventSigner;
  logger: Logger;
  secrets?: SecretReader;
  notifier?: EventNotifier;
  /** Pause between passes when nothing woke the loop. Default 1 s. */
  pollMs?: number;
  /** How often the tenants' push settings are read again. Default 10 s. */
  tenantsRefreshMs?: number;
  /** Longest wait for one receiver's answer. Default 10 s. */
  requestTimeoutMs?: number;
  /** How long a pass holds a tenant's stream. Default 2 min. */
  leaseMs?: number;
  /** SETs per pass and tenant. Default 100. */
  batchSize?: number;
  /** First backoff after a failed delivery, doubled per consecutive failure up to maxBackoffMs. Defaults 1 s and 5 min. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** The tenants' push settings; default: each tenant's current configuration. */
  targets?: () => Promise<Map<string, PushTarget>>;
  /** The feed's retention clean-up, one step between passes (EVENTS_RETENTION_DAYS). */
  retention?: PacedCleanup;
}

export interface EventPusher {
  start(): void;
  /** Runs passes until nothing is due, then resolves how many SETs were delivered (tests, shutdown). */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

/** What one POST came to. */
export type PushOutcome = { kind: 'delivered' } | { kind: 'rejected'; error: string } | { kind: 'retry'; error: string };

/** Classifies a receiver's answer (RFC 8935 §2.2-2.4). */
export function pushOutcomeOf(status: number, body: string): PushOutcome {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 400) {
    try {
      const parsed = JSON.parse(body) as { err?: unknown; description?: unknown };
      if (typeof parsed.err === 'string') {
        return { kind: 'rejected', error: typeof parsed.description === 'string' ? `${parsed.err}: ${parsed.description}` : parsed.err };
      }
    } catch {
      // not RFC 8935's error document: treated as any other failure
    }
  }
  return { kind: 'retry', error: `HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}` };
}

/** The tenants whose current configuration pushes, with where to. */
async function configuredTargets(db: Db): Promise<Map<string, PushTarget>> {
  const targets = new Map<string, PushTarget>();
  for (const t of await listTenants(db)) {
    const push = (await currentConfig(db, t.id)).config.events?.push;
    if (push) targets.set(t.id, push);
  }
  return targets;
}

export function createEventPusher(options: EventPusherOptions): EventPusher {
  const pollMs = options.pollMs ?? 1_000;
  const refreshMs = options.tenantsRefreshMs ?? 10_000;
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const leaseMs = options.leaseMs ?? 120_000;
  const batchSize = options.batchSize ?? 100;
  const backoffMs = options.backoffMs ?? 1_000;
  const maxBackoffMs = options.maxBackoffMs ?? 300_000;
  const readTargets = options.targets ?? (() => configuredTargets(options.db));
  let targets: { map: Map<string, PushTarget>; at: number } | undefined;
  let running = false;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;
  let unsubscribe: (() => void) | undefined;

  const currentTargets = async () => {
    if (!targets || Date.now() - targets.at > refreshMs) targets = { map: await readTargets(), at: Date.now() };
    return targets.map;
  };

  const post = async (tenantId: string, target: PushTarget, set: string): Promise<PushOutcome> => {
    const headers: Record<string, string> = { 'Content-Type': SET_MEDIA_TYPE, Accept: 'application/json' };
    if (target.authorizationSecret) {
      if (!options.secrets) return { kind: 'retry', error: 'no secret store to read authorizationSecret from' };
      try {
        headers.Authorization = `Bearer ${await options.secrets.get(tenantId, target.authorizationSecret)}`;
      } catch (err) {
        return { kind: 'retry', error: (err as Error).message };
      }
    }
    try {
      const res = await fetch(target.url, { method: 'POST', headers, body: set, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
      return pushOutcomeOf(res.status, await res.text().catch(() => ''));
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      return {
        kind: 'retry',
        error: e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `${e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}`,
      };
    }
  };

  /** Pushes what is due of one tenant's stream; returns how many SETs went (delivered or refused). */
  const pushTenant = async (tenantId: string, target: PushTarget): Promise<number> => {
    if (!(await hasUnacknowledgedEvents(options.db, tenantId))) return 0;
    const lease = await leasePushStream(options.db, tenantId, leaseMs);
    if (!lease) return 0;
    const started = Date.now();
    let sent = 0;
    try {
      for (const event of await unacknowledgedEvents(options.db, tenantId, batchSize)) {
        // Well inside the lease: a pass never outlives it (another server would push beside it).
        if (Date.now() - started > leaseMs / 2) break;
        const outcome = await post(tenantId, target, await options.signer.sign(tenantId, event));
        if (outcome.kind === 'retry') {
          const failures = lease.failures + 1;
          const retryInMs = Math.min(maxBackoffMs, backoffMs * 2 ** Math.min(failures - 1, 20));
          options.logger.warn({ tenant: tenantId, jti: event.jti, failures, retryInMs, err: outcome.error }, 'event push failed; the stream waits and retries');
          await releasePushStream(options.db, tenantId, { failures, retryInMs, error: outcome.error, delivered: sent > 0 });
          return sent;
        }
        if (outcome.kind === 'delivered') await acknowledgeEvents(options.db, tenantId, [event.jti], 'push');
        else {
          options.logger.warn({ tenant: tenantId, jti: event.jti, err: outcome.error }, 'event push refused by the receiver; not sent again');
          await rejectEvents(options.db, tenantId, [{ jti: event.jti, error: outcome.error }], 'push');
        }
        sent += 1;
      }
      await releasePushStream(options.db, tenantId, { failures: 0, retryInMs: 0, delivered: sent > 0 });
      return sent;
    } catch (err) {
      // The database (or the signer) failed: give the stream back for a later pass.
      await releasePushStream(options.db, tenantId, {
        failures: lease.failures,
        retryInMs: backoffMs,
        error: (err as Error).message,
        delivered: sent > 0,
      }).catch(() => undefined);
      throw err;
    }
  };

  const pass = async (): Promise<number> => {
    let total = 0;
    for (const [tenantId, target] of await currentTargets()) {
      try {
        total += await pushTenant(tenantId, target);
      } catch (err) {
        options.logger.warn({ tenant: tenantId, err: (err as Error).message }, 'event push pass failed; will retry');
      }
    }
    return total;
  };

  const run = async () => {
    while (running) {
      const sent = await pass().catch((err: Error) => {
        options.logger.warn({ err: err.message }, 'event push pass failed; will retry');
        return 0;
      });
      if (!running) break;
      await options.retention?.step();
      if (!running) break;
      if (sent === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => end(), pollMs);
          const end = () => {
            clearTimeout(timer);
            wakeUp = undefined;
            resolve();
          };
          wakeUp = end;
        });
      }
    }
  };

  return {
    start() {
      if (running) return;
      running = true;
      // Only an event of a tenant that pushes (or a reconnection, '') is worth a pass.
      unsubscribe = options.notifier?.subscribe((tenantId) => {
        if (tenantId === '' || !targets || targets.map.has(tenantId)) wakeUp?.();
      });
      loop = run();
    },
    async drain() {
      let total = 0;
      for (let n = await pass(); n > 0; n = await pass()) total += n;
      return total;
    },
    async stop() {
      running = false;
      unsubscribe?.();
      wakeUp?.();
      await loop;
    },
  };
}
