/**
 * Wakes whoever waits for a tenant's next event (a long poll, the push loop) when one is
 * appended: PostgreSQL announces each on the channel scimflow_events with the tenant's id
 * (migration 021's trigger), heard over one listening connection per process. Without it (a Db
 * that cannot listen, or while the connection is being opened again) the waiters look again
 * every `recheckMs` instead, so nothing waits longer than that for an event that was missed.
 */
import type { Db, Listener } from '../common/db';
import type { Logger } from '../common/logger';

export const EVENTS_CHANNEL = 'scimflow_events';

export interface EventNotifier {
  /** Resolves at the tenant's next event, after `ms`, when `signal` aborts, or when the notifier stops. */
  wait(tenantId: string, ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `onEvent` with the tenant of every event announced ('' when any tenant may have new events); returns a function that stops it. */
  subscribe(onEvent: (tenantId: string) => void): () => void;
  /** How long a waiter should wait before looking again without a notification. */
  readonly recheckMs: number;
  /** Whether stop() was called: waits end at once. */
  readonly stopped: boolean;
  start(): Promise<void>;
  /** Releases every waiter and stops listening. */
  stop(): Promise<void>;
}

export function eventNotifier(options: { db: Db; logger?: Logger; recheckMs?: number; fallbackRecheckMs?: number }): EventNotifier {
  const waiters = new Map<string, Set<() => void>>();
  const subscribers = new Set<(tenantId: string) => void>();
  let listener: Listener | undefined;
  let listening = false;
  let stopped = false;
  const wake = (tenantId: string) => {
    for (const w of waiters.get(tenantId) ?? []) w();
    for (const s of subscribers) s(tenantId);
  };
  const wakeAll = () => {
    for (const set of waiters.values()) for (const w of set) w();
    for (const s of subscribers) s('');
  };
  return {
    get stopped() {
      return stopped;
    },
    get recheckMs() {
      return listening ? (options.recheckMs ?? 5_000) : (options.fallbackRecheckMs ?? 1_000);
    },
    wait(tenantId, ms, signal) {
      if (stopped || signal?.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const set = waiters.get(tenantId) ?? new Set();
        waiters.set(tenantId, set);
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          set.delete(done);
          if (set.size === 0 && waiters.get(tenantId) === set) waiters.delete(tenantId);
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal?.addEventListener('abort', done);
        set.add(done);
      });
    },
    subscribe(onEvent) {
      subscribers.add(onEvent);
      return () => subscribers.delete(onEvent);
    },
    async start() {
      if (!options.db.listen || listener) return;
      listener = await options.db.listen(EVENTS_CHANNEL, (tenantId) => wake(tenantId), {
        // Notifications sent while not connected were missed: everyone looks again.
        onConnect: () => {
          listening = true;
          wakeAll();
        },
        onError: (err) => {
          listening = false;
          options.logger?.warn({ err: err.message }, 'event notifications lost; waiters poll until they are back');
        },
      });
    },
    async stop() {
      stopped = true;
      wakeAll();
      await listener?.close();
      listener = undefined;
      listening = false;
    },
  };
}
