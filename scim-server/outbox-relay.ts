/**
 * Where a SCIM change becomes a workflow signal. A loop of passes (outbox-delivery.ts: claim
 * committed outbox rows, deliver each with signal-with-start on the user's workflow, mark it
 * delivered, retry with backoff while Temporal is unreachable), paced by the API's load, with
 * the outbox's retention clean-up between passes (outbox-retention.ts). At-least-once: the
 * workflow tolerates duplicates because it re-reads the latest state.
 */
import type { Client } from '@temporalio/client';
import type { Db } from '../common/db';
import type { Logger } from '../common/logger';
import type { AppMetrics } from '../common/metrics';
import type { PacedCleanup } from '../common/paced-cleanup';
import { deliveryPass, type DeliveryOutcome, type PassLimits } from './outbox-delivery';
import { outboxRetention } from './outbox-retention';

export interface OutboxRelayOptions {
  db: Db;
  /** Resolves a connected client; rejects while Temporal is unreachable. */
  temporal: () => Promise<Client>;
  taskQueue: string;
  logger: Logger;
  /** Poll interval when idle. Default 500 ms. */
  pollMs?: number;
  /** Rows per claim. Default 200. */
  batchSize?: number;
  /** Signals in flight at once. Default 32. */
  concurrency?: number;
  /**
   * Whether the API is answering requests now. Then a pass claims at most `busyBatchSize` rows
   * and keeps at most `busyConcurrency` signals in flight: the API comes first, never alone.
   */
  busy?: () => boolean;
  /** Signals in flight while busy(). Default 4. */
  busyConcurrency?: number;
  /** Rows per claim while busy(): short passes, so a change that removes access waits at most one. Default 16. */
  busyBatchSize?: number;
  /** Delivered/failed counters and the healthy gauge. */
  metrics?: AppMetrics;
  /** Delivered rows older than this many days are deleted; 0 keeps them. Default 30. */
  retentionDays?: number;
  /** Time between two retention clean-ups. Default 1 hour. */
  retentionIntervalMs?: number;
  /** Rows deleted per statement of a clean-up. Default 1000. */
  retentionBatchSize?: number;
  /** The admin console's base URL: a new user workflow's details in the Temporal UI link back to the user's console page. */
  consoleUrl?: () => string | undefined;
}

export interface OutboxRelay {
  start(): void;
  /** Wake now (after a commit) instead of at the next poll. */
  nudge(): void;
  /** Delivers everything due, then resolves; for tests and shutdown. */
  drain(): Promise<number>;
  stop(): Promise<void>;
  /** Whether the relay runs, its loop is not stuck, and the last delivery attempt reached Temporal. */
  healthy(): boolean;
  /** As healthy(), with the reason when not. */
  health(): { ok: boolean; reason?: string };
}

/**
 * Back-pressure without starvation: while the API is busy a pass is small and few signals are
 * in flight, but it always runs to its end, so the next pass (and the urgent changes it claims
 * first) is never more than one short pass away, however long the requests keep coming.
 *
 * A backlog that outlasts the busy passes grows their share: each busy pass that delivered a
 * full batch doubles the next one's batch and signals in flight, up to the normal limits, and a
 * pass that finds less than a full batch starts again from the small limits. Without it, an IdP
 * sending 100 requests/s without a pause of 200 ms (4 tenants at the Entra gallery's 25/s)
 * wrote 38.6 changes/s while the relay delivered 16.5/s, and new users waited minutes for their
 * workflow (docs/performance.md §14).
 */
export class Pacing {
  private readonly normal: PassLimits;
  private readonly limited: PassLimits;
  private readonly busy: () => boolean;
  /** Busy passes in a row that delivered a full batch. */
  private fullBusyPasses = 0;

  constructor(options: Pick<OutboxRelayOptions, 'batchSize' | 'concurrency' | 'busyBatchSize' | 'busyConcurrency' | 'busy'>) {
    this.normal = { batchSize: options.batchSize ?? 200, concurrency: options.concurrency ?? 32 };
    this.limited = {
      batchSize: Math.min(options.busyBatchSize ?? 16, this.normal.batchSize),
      concurrency: Math.min(options.busyConcurrency ?? 4, this.normal.concurrency),
    };
    this.busy = options.busy ?? (() => false);
  }

  /** What the next pass may take on, decided once at its start. */
  limits(): PassLimits {
    if (!this.busy()) return this.normal;
    const grown = 2 ** Math.min(this.fullBusyPasses, 16);
    return {
      batchSize: Math.min(this.normal.batchSize, this.limited.batchSize * grown),
      concurrency: Math.min(this.normal.concurrency, this.limited.concurrency * grown),
    };
  }

  /** After a pass run with `limits`: whether it met a backlog (a full batch delivered). */
  passed(limits: PassLimits, delivered: number): void {
    const busyPass = limits.batchSize < this.normal.batchSize || limits.concurrency < this.normal.concurrency;
    if (busyPass && delivered >= limits.batchSize) this.fullBusyPasses += 1;
    else if (delivered < limits.batchSize) this.fullBusyPasses = 0;
  }
}

/** Whether the relay is healthy: its loop runs and is not stuck, its last pass worked, its last delivery attempt reached Temporal. */
class RelayHealth {
  /** When the loop last finished a pass (or started). */
  private lastPassAt = Date.now();
  /** The error of the last relay pass when it failed as a whole (database unreachable), until a pass succeeds. */
  private passError: string | undefined;
  /** Whether the last delivery attempt reached Temporal (and its error when not). */
  private delivery: DeliveryOutcome = { ok: true };

  /** A loop that has not finished a pass for `stuckAfterMs` is stuck (a claim or a signal hangs). */
  constructor(
    private readonly stuckAfterMs: number,
    private readonly metrics: AppMetrics | undefined,
  ) {}

  started(): void {
    this.lastPassAt = Date.now();
  }

  passFinished(error: string | undefined): void {
    this.passError = error;
    this.lastPassAt = Date.now();
  }

  attempted(outcome: DeliveryOutcome): void {
    this.delivery = outcome;
    this.metrics?.outboxRelayHealthy.set(outcome.ok ? 1 : 0);
  }

  report(running: boolean): { ok: boolean; reason?: string } {
    if (!running) return { ok: false, reason: 'relay is not running' };
    const sinceLastPass = Date.now() - this.lastPassAt;
    if (sinceLastPass > this.stuckAfterMs) return { ok: false, reason: `no relay pass finished for ${Math.round(sinceLastPass / 1000)} s` };
    if (this.passError) return { ok: false, reason: `relay pass failed: ${this.passError.slice(0, 150)}` };
    if (!this.delivery.ok) return { ok: false, reason: `last delivery to Temporal failed: ${(this.delivery.error ?? 'unknown error').slice(0, 150)}` };
    return { ok: true };
  }
}

/** A pause of up to `ms` that `wake()` ends early; a wake while not pausing is not remembered. */
class Pause {
  private wakeUp: (() => void) | undefined;

  for(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.wakeUp = end;
    });
  }

  wake(): void {
    this.wakeUp?.();
  }
}

/**
 * The relay's loop: a pass, then one step of the retention clean-up, then (when the pass
 * delivered nothing) a pause of `pollMs` that a nudge ends; until stopped.
 */
class PassLoop {
  private isRunning = false;
  private done: Promise<void> | undefined;
  private readonly pause = new Pause();

  constructor(
    private readonly steps: {
      pass: () => Promise<number>;
      between: PacedCleanup;
      health: RelayHealth;
      logger: Logger;
      pollMs: number;
    },
  ) {}

  get running(): boolean {
    return this.isRunning;
  }

  start(): void {
    this.isRunning = true;
    this.done = this.run();
  }

  nudge(): void {
    this.pause.wake();
  }

  async stop(): Promise<void> {
    this.isRunning = false;
    this.pause.wake();
    await this.done;
  }

  private async run(): Promise<void> {
    const { health, logger } = this.steps;
    while (this.running) {
      const delivered = await this.steps.pass().then(
        (n) => {
          health.passFinished(undefined);
          return n;
        },
        (err: Error) => {
          health.passFinished(err.message);
          logger.warn({ err: err.message }, 'outbox relay pass failed; will retry');
          return 0;
        },
      );
      if (!this.running) break;
      await this.steps.between.step();
      if (!this.running) break;
      if (delivered === 0) await this.pause.for(this.steps.pollMs);
    }
  }
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const pollMs = options.pollMs ?? 500;
  const pacing = new Pacing(options);
  const health = new RelayHealth(Math.max(60_000, pollMs * 10), options.metrics);
  const deps = { ...options, attempted: (outcome: DeliveryOutcome) => health.attempted(outcome) };
  const pass = async () => {
    const limits = pacing.limits();
    const delivered = await deliveryPass(deps, limits);
    pacing.passed(limits, delivered);
    return delivered;
  };
  const retention = outboxRetention({
    db: options.db,
    logger: options.logger,
    retentionDays: options.retentionDays,
    intervalMs: options.retentionIntervalMs,
    batchSize: options.retentionBatchSize,
  });
  const loop = new PassLoop({ pass, between: retention, health, logger: options.logger, pollMs });
  return {
    start() {
      if (loop.running) return;
      health.started();
      loop.start();
    },
    nudge: () => loop.nudge(),
    async drain() {
      let total = 0;
      for (let n = await pass(); n > 0; n = await pass()) total += n;
      return total;
    },
    stop: () => loop.stop(),
    healthy: () => health.report(loop.running).ok,
    health: () => health.report(loop.running),
  };
}
