/**
 * A retention clean-up paced into small steps: each `step()` deletes at most one batch, so a
 * large backlog of old rows never holds up the loop that calls it (the outbox relay, the request
 * log's writer). A clean-up starts at most every `intervalMs`, runs batch by batch on later
 * steps, and ends at the first short batch (or an error, retried at the next one).
 */
import type { Logger } from './logger';

export interface PacedCleanup {
  /** One batch when a clean-up is due or running; never throws. */
  step(): Promise<void>;
}

export function pacedCleanup(options: {
  /** Deletes at most `limit` rows; resolves how many it deleted. */
  deleteBatch: (limit: number) => Promise<number>;
  /** What is cleaned, for the log lines ("outbox retention"). */
  what: string;
  logger: Logger;
  enabled: boolean;
  intervalMs: number;
  batchSize: number;
  /** The first clean-up waits this long (not in a start-up's rush). Default 0. */
  firstAfterMs?: number;
}): PacedCleanup {
  let nextAt = Date.now() + (options.firstAfterMs ?? 0);
  let running = false;
  let deleted = 0;
  return {
    async step() {
      if (!options.enabled || (!running && Date.now() < nextAt)) return;
      if (!running) {
        running = true;
        deleted = 0;
        nextAt = Date.now() + options.intervalMs;
      }
      try {
        const n = await options.deleteBatch(options.batchSize);
        deleted += n;
        if (n < options.batchSize) {
          running = false;
          if (deleted > 0) options.logger.info({ deleted }, `${options.what}: old rows deleted`);
        }
      } catch (err) {
        running = false;
        options.logger.warn({ err: (err as Error).message }, `${options.what} clean-up failed; will retry at the next one`);
      }
    },
  };
}
