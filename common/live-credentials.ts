/**
 * The SHA-256 hashes of the live tokens (scim, admin and codec kinds: not revoked, not expired)
 * and of the live OAuth credentials (the secrets of the clients not revoked, their access tokens
 * not expired; common/repositories/oauth-clients.ts), in memory, so the failure throttle
 * (failure-throttle.ts) tells a valid credential from a guess without a database look-up: a
 * valid token is always served, whatever the failure budget of the address it comes from (a NAT
 * or proxy it shares with a guesser, or the egress addresses an IdP's cloud shares between its
 * customers).
 *
 * Loaded at start; reloaded on every change, whoever makes it (the tokens CLI, the admin API, the
 * console, another SCIM server, the token endpoint): triggers on scim_tokens, oauth_clients and
 * oauth_access_tokens notify the channel `scimflow_tokens` (migrations 017 and 023), and the
 * notifications of `debounceMs` are coalesced into one reload. Also reloaded when the listening
 * connection is opened again (notifications were missed meanwhile), and every `reloadEveryMs` as
 * a safety net. A token whose expiry has passed is not live, between reloads too: each hash
 * keeps its expiry.
 *
 * The set never grants access, the look-up does: it only decides whether a credential from a
 * throttled address is worth looking up. Stale, it errs harmlessly either way: a revoked token
 * still listed is looked up and refused (401, a failure of its address); a token not listed yet
 * is throttled like a guess until the reload, milliseconds after it was created.
 *
 * Memory is bounded: at most `max` hashes (default 100,000, the newest tokens; beyond them tokens
 * are throttled like unknown ones, and a warning says so). Tokens are few: a handful per tenant.
 */
import type { Db, Listener } from './db';
import type { Logger } from './logger';
import { liveTokenHashes } from './repositories/tokens';

/** The channel the credential triggers notify (common/db/migrations/017_token_change_notify.sql, 023_oauth_clients.sql). */
export const TOKENS_CHANNEL = 'scimflow_tokens';

export interface LiveCredentialsOptions {
  db: Db;
  logger?: Logger;
  /** Notifications within this window make one reload. Default 50 ms. */
  debounceMs?: number;
  /** Reload this often whatever was notified. Default 60 s. */
  reloadEveryMs?: number;
  /** Hashes kept at most. Default 100,000. */
  max?: number;
}

/** After a failed reload (the database unreachable), the next try. */
const RETRY_MS = 5_000;

export class LiveCredentials {
  /** Hash → the time it expires (ms; Infinity: never). */
  private live = new Map<string, number>();
  private listener?: Listener;
  private listening = false;
  private interval?: NodeJS.Timeout;
  private timer?: NodeJS.Timeout;
  private timerDue = 0;
  private loading?: Promise<void>;
  private again = false;
  private stopped = false;
  private warnedFull = false;
  private readonly max: number;

  constructor(private readonly options: LiveCredentialsOptions) {
    this.max = options.max ?? 100_000;
  }

  /** Listens for changes, then loads (a change between the two is not missed). Never throws: without the database it keeps trying. */
  async start(): Promise<void> {
    const { db, logger } = this.options;
    if (db.listen) {
      this.listener = await db.listen(TOKENS_CHANNEL, () => this.schedule(this.options.debounceMs ?? 50), {
        // The first connection is followed by the load below; a later one may have missed changes.
        onConnect: () => {
          if (this.listening) this.schedule(0);
        },
        onError: (err) => logger?.warn({ err: err.message }, 'live tokens: the connection listening for token changes was lost; opening it again'),
      });
      this.listening = true;
    } else {
      logger?.warn('live tokens: this database notifies no token changes; they are read every %d s', (this.options.reloadEveryMs ?? 60_000) / 1000);
    }
    await this.reload();
    this.interval = setInterval(() => this.schedule(0), this.options.reloadEveryMs ?? 60_000);
    this.interval.unref();
  }

  /** Whether `hash` (hashToken of a presented credential) is a live token's. */
  has(hash: string, now = Date.now()): boolean {
    const until = this.live.get(hash);
    return until !== undefined && until > now;
  }

  /**
   * Holds `hash` as live until `untilMs` now, before the reload its notification brings: the
   * token endpoint of this process calls it for the access token it just issued.
   */
  remember(hash: string, untilMs: number): void {
    this.live.set(hash, untilMs);
  }

  /** Hashes held (expired ones included until the next reload). */
  get size(): number {
    return this.live.size;
  }

  /** Reads the live tokens now; a call while a read is under way makes one more after it. */
  reload(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        try {
          const rows = await liveTokenHashes(this.options.db, this.max + 1);
          const next = new Map<string, number>();
          for (const row of rows.slice(0, this.max)) next.set(row.hash, row.expiresAt ? row.expiresAt.getTime() : Number.POSITIVE_INFINITY);
          this.live = next;
          if (rows.length > this.max && !this.warnedFull) {
            this.warnedFull = true;
            this.options.logger?.warn({ max: this.max }, 'live tokens: more than %d live tokens; older ones are throttled like unknown tokens', this.max);
          }
          this.options.logger?.debug({ tokens: next.size }, 'live tokens reloaded');
        } catch (err) {
          if (this.stopped) return;
          this.options.logger?.warn({ err: (err as Error).message }, 'live tokens: could not reload; keeping the last ones read');
          this.schedule(RETRY_MS);
          return;
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** A reload in `delayMs` (or sooner, if one is already due sooner). */
  private schedule(delayMs: number): void {
    if (this.stopped) return;
    const due = Date.now() + delayMs;
    if (this.timer) {
      if (this.timerDue <= due) return;
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reload();
    }, delayMs);
    this.timer.unref();
  }

  /** Stops listening and reloading. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.interval) clearInterval(this.interval);
    this.timer = undefined;
    this.interval = undefined;
    await this.listener?.close();
    await this.loading;
  }
}
