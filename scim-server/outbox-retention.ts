/**
 * The outbox's retention: delivered rows are kept `retentionDays` (OUTBOX_RETENTION_DAYS), then
 * deleted in small batches between the relay's delivery passes, at most one clean-up an hour.
 * One batch per pass (common/paced-cleanup.ts), so a large backlog never holds deliveries up.
 * Undelivered rows are never deleted, whatever their age (outbox.deleteDelivered).
 */
import type { Db } from '../common/db';
import type { Logger } from '../common/logger';
import { pacedCleanup, type PacedCleanup } from '../common/paced-cleanup';
import { deleteDelivered } from '../common/repositories/outbox';

export interface OutboxRetentionOptions {
  db: Db;
  logger: Logger;
  /** Delivered rows older than this many days are deleted; 0 keeps them. Default 30. */
  retentionDays?: number;
  /** Time between two clean-ups. Default 1 hour. */
  intervalMs?: number;
  /** Rows deleted per statement of a clean-up. Default 1000. */
  batchSize?: number;
}

/** The relay calls `step()` after each pass: one batch when a clean-up is due or running; never throws. */
export function outboxRetention(options: OutboxRetentionOptions): PacedCleanup {
  const retentionDays = options.retentionDays ?? 30;
  return pacedCleanup({
    deleteBatch: (limit) => deleteDelivered(options.db, retentionDays, limit),
    what: 'outbox retention (delivered changes)',
    logger: options.logger,
    enabled: retentionDays > 0,
    intervalMs: options.intervalMs ?? 3_600_000,
    batchSize: options.batchSize ?? 1000,
  });
}
