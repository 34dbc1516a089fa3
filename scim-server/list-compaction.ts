/**
 * Keeps listing positions (migration 024) dense without moving them under a walker:
 *
 * - every list request marks its tenant's listing as being paged (one write per tenant and
 *   resource type every 30 s per server at most);
 * - a pass every minute renumbers the listings that have holes and whose last page was read
 *   longer ago than a cursor lives plus a margin, so neither an index walk nor a live cursor
 *   ever sees positions move (docs/paging.md).
 */
import type { Db, Queryable } from '../common/db';
import type { Logger } from '../common/logger';
import type { PageWindow } from '../common/repositories/list-query';
import { listingsDueForRenumbering, noteListed, renumberListing, type ListedResource } from '../common/repositories/list-positions';
import { LIMITS } from './limits';

/** Quiet time before a listing is renumbered: a cursor's life, plus the marks' 30 s throttle, plus a margin. */
export const RENUMBER_AFTER_QUIET_SECONDS = LIMITS.cursorTimeoutSeconds + 300;
const NOTE_EVERY_MS = 30_000;

/** When each database's listings were last marked by this process (a WeakMap: tests open many databases). */
const noted = new WeakMap<Queryable, Map<string, number>>();

/**
 * Marks the listing as being paged by positions (a range or cursor page; an OFFSET page is
 * unaffected, since a renumbering keeps the order), at most every 30 s. Never fails the list
 * request: a failed mark is retried by the next one.
 */
export function noteListing(db: Queryable, tenantId: string, resource: ListedResource, page: PageWindow, nowMs = Date.now()): void {
  if (page.kind === 'offset') return;
  let byListing = noted.get(db);
  if (!byListing) noted.set(db, (byListing = new Map()));
  const key = `${tenantId}\u0000${resource}`;
  if (nowMs - (byListing.get(key) ?? -Infinity) < NOTE_EVERY_MS) return;
  byListing.set(key, nowMs);
  void noteListed(db, tenantId, resource).catch(() => byListing.delete(key));
}

export interface ListCompaction {
  start(): void;
  stop(): Promise<void>;
  /** One pass now: renumbers every listing that is due; resolves how many resources moved. */
  runOnce(): Promise<number>;
}

export function listCompaction(options: { db: Db; logger: Logger; intervalMs?: number; quietSeconds?: number }): ListCompaction {
  const quietSeconds = options.quietSeconds ?? RENUMBER_AFTER_QUIET_SECONDS;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  const pass = async (): Promise<number> => {
    let moved = 0;
    for (const { tenantId, resource } of await listingsDueForRenumbering(options.db, quietSeconds)) {
      const n = await renumberListing(options.db, tenantId, resource, quietSeconds);
      if (n > 0) options.logger.info({ tenantId, resource, moved: n }, 'listing positions renumbered: the holes deletions left are closed');
      moved += n;
    }
    return moved;
  };
  const runOnce = () => {
    running ??= pass().finally(() => (running = undefined));
    return running;
  };
  return {
    runOnce,
    start() {
      timer = setInterval(() => {
        runOnce().catch((err: Error) => options.logger.warn({ err: err.message }, 'listing renumbering failed; will retry at the next pass'));
      }, options.intervalMs ?? 60_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
