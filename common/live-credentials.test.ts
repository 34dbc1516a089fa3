/** The in-memory set of live tokens, with a stand-in for the database and its notifications. */
import type { Db, ListenEvents, QueryResult } from './db';
import type { Logger } from './logger';
import { LiveCredentials, TOKENS_CHANNEL } from './live-credentials';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A database whose live tokens are `rows`, counting reads and handing out the listener's callbacks. */
function fakeDb(options: { listens?: boolean } = {}) {
  const state = {
    rows: [] as { token_hash: string; expires_at: Date | null }[],
    reads: 0,
    limits: [] as unknown[],
    failing: false,
    events: [] as string[],
    notify: undefined as undefined | ((payload: string) => void),
    listenEvents: undefined as undefined | ListenEvents,
    closed: false,
  };
  const db = {
    kind: 'postgres',
    async query<R>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      state.events.push('query');
      if (state.failing) throw new Error('database unavailable');
      expect(sql).toMatch(/FROM scim_tokens/);
      state.reads += 1;
      state.limits.push(params?.[0]);
      const rows = state.rows.slice(0, Number(params?.[0]));
      return { rows: rows as R[], rowCount: rows.length };
    },
    exec: async () => undefined,
    withTransaction: async () => undefined,
    ping: async () => undefined,
    close: async () => undefined,
    ...(options.listens === false
      ? {}
      : {
          async listen(channel: string, onNotify: (payload: string) => void, events?: ListenEvents) {
            expect(channel).toBe(TOKENS_CHANNEL);
            state.events.push('listen');
            state.notify = onNotify;
            state.listenEvents = events;
            events?.onConnect?.();
            return {
              close: async () => {
                state.closed = true;
              },
            };
          },
        }),
  } as unknown as Db;
  return { db, state };
}

const silent = { warn: jest.fn(), debug: jest.fn() } as unknown as Logger & { warn: jest.Mock };

test('when started, then it listens before it loads, and only the live tokens read are live', async () => {
  const { db, state } = fakeDb();
  state.rows = [
    { token_hash: 'a'.repeat(64), expires_at: null },
    { token_hash: 'b'.repeat(64), expires_at: new Date(Date.now() + 60_000) },
  ];
  const live = new LiveCredentials({ db });
  await live.start();
  try {
    expect(state.events).toEqual(['listen', 'query']);
    expect(live.has('a'.repeat(64))).toBe(true);
    expect(live.has('b'.repeat(64))).toBe(true);
    expect(live.has('c'.repeat(64))).toBe(false);
  } finally {
    await live.stop();
  }
});

test('when notifications arrive within the debounce window, then they make one reload, and a token created meanwhile becomes live', async () => {
  const { db, state } = fakeDb();
  const live = new LiveCredentials({ db, debounceMs: 30 });
  await live.start();
  try {
    expect(state.reads).toBe(1);
    state.rows = [{ token_hash: 'd'.repeat(64), expires_at: null }];
    for (let i = 0; i < 10; i++) state.notify?.('');
    expect(live.has('d'.repeat(64))).toBe(false);
    await sleep(120);
    expect(state.reads).toBe(2);
    expect(live.has('d'.repeat(64))).toBe(true);
    // Revoked: the next notification's reload drops it.
    state.rows = [];
    state.notify?.('');
    await sleep(120);
    expect(state.reads).toBe(3);
    expect(live.has('d'.repeat(64))).toBe(false);
  } finally {
    await live.stop();
  }
});

test("when a token's expiry passes, then it is not live, without a reload", async () => {
  const { db, state } = fakeDb();
  const expiresAt = new Date(Date.now() + 60_000);
  state.rows = [{ token_hash: 'e'.repeat(64), expires_at: expiresAt }];
  const live = new LiveCredentials({ db });
  await live.start();
  try {
    expect(live.has('e'.repeat(64), expiresAt.getTime() - 1)).toBe(true);
    expect(live.has('e'.repeat(64), expiresAt.getTime())).toBe(false);
    expect(state.reads).toBe(1);
  } finally {
    await live.stop();
  }
});

test('when the listening connection is opened again, then the tokens are reloaded (notifications may have been missed)', async () => {
  const { db, state } = fakeDb();
  const live = new LiveCredentials({ db });
  await live.start();
  try {
    expect(state.reads).toBe(1); // the first connection is followed by the start's own load only
    state.rows = [{ token_hash: 'f'.repeat(64), expires_at: null }];
    state.listenEvents?.onConnect?.();
    await sleep(30);
    expect(state.reads).toBe(2);
    expect(live.has('f'.repeat(64))).toBe(true);
  } finally {
    await live.stop();
  }
});

test('when more tokens are live than the cap, then the newest `max` are kept and a warning says so', async () => {
  const { db, state } = fakeDb();
  state.rows = Array.from({ length: 12 }, (_, i) => ({ token_hash: String(i).padStart(64, '0'), expires_at: null }));
  const logger = { warn: jest.fn(), debug: jest.fn() } as unknown as Logger & { warn: jest.Mock };
  const live = new LiveCredentials({ db, max: 10, logger });
  await live.start();
  try {
    expect(state.limits).toEqual([11]);
    expect(live.size).toBe(10);
    expect(live.has(String(0).padStart(64, '0'))).toBe(true);
    expect(live.has(String(11).padStart(64, '0'))).toBe(false);
    expect(logger.warn).toHaveBeenCalledWith({ max: 10 }, expect.stringMatching(/more than %d live tokens/), 10);
  } finally {
    await live.stop();
  }
});

test('when a reload fails, then the tokens read last stay live', async () => {
  const { db, state } = fakeDb();
  state.rows = [{ token_hash: 'a'.repeat(64), expires_at: null }];
  const live = new LiveCredentials({ db, debounceMs: 5, logger: silent });
  await live.start();
  try {
    state.failing = true;
    state.notify?.('');
    await sleep(50);
    expect(silent.warn).toHaveBeenCalledWith({ err: 'database unavailable' }, expect.stringMatching(/could not reload/));
    expect(live.has('a'.repeat(64))).toBe(true);
  } finally {
    await live.stop();
  }
});

test('when the database notifies nothing, then the tokens are read every reloadEveryMs', async () => {
  const { db, state } = fakeDb({ listens: false });
  const live = new LiveCredentials({ db, reloadEveryMs: 40, logger: silent });
  await live.start();
  try {
    state.rows = [{ token_hash: 'a'.repeat(64), expires_at: null }];
    await sleep(150);
    expect(state.reads).toBeGreaterThanOrEqual(3);
    expect(live.has('a'.repeat(64))).toBe(true);
  } finally {
    await live.stop();
  }
});

test('when stopped, then it stops listening and notifications read nothing', async () => {
  const { db, state } = fakeDb();
  const live = new LiveCredentials({ db, debounceMs: 5 });
  await live.start();
  await live.stop();
  expect(state.closed).toBe(true);
  state.notify?.('');
  await sleep(30);
  expect(state.reads).toBe(1);
});
