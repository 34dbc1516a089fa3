/** The failure throttle's arithmetic and who passes a throttled address. */
import { FailureThrottle } from './failure-throttle';

const LIVE = 'a'.repeat(64);

test('when an address spends its burst, then it must wait, refilled at perMinute', () => {
  const throttle = new FailureThrottle({ perMinute: 6, burst: 3 });
  const t0 = 1_000_000;
  for (let i = 0; i < 3; i++) {
    expect(throttle.retryAfter('10.0.0.1', t0)).toBe(0);
    throttle.fail('10.0.0.1', t0);
  }
  expect(throttle.retryAfter('10.0.0.1', t0)).toBe(10);
  expect(throttle.retryAfter('10.0.0.2', t0)).toBe(0);
  expect(throttle.retryAfter('10.0.0.1', t0 + 10_000)).toBe(0);
});

test('when a credential is live, then it is known good however long ago (or whether ever) it was used; other hashes are not', () => {
  const live = new Set([LIVE]);
  const throttle = new FailureThrottle({ perMinute: 6, burst: 3, liveCredentials: { has: (hash) => live.has(hash) } });
  const t0 = 1_000_000;
  expect(throttle.knownGood(LIVE, t0)).toBe(true);
  expect(throttle.knownGood(LIVE, t0 + 40 * 60_000)).toBe(true);
  expect(throttle.knownGood('b'.repeat(64), t0)).toBe(false);
  live.delete(LIVE); // revoked
  expect(throttle.knownGood(LIVE, t0)).toBe(false);
});

test('when no live set is given, then no token is known good, and a success is not remembered for tokens', () => {
  const throttle = new FailureThrottle({ perMinute: 6, burst: 3 });
  expect(throttle.knownGood(LIVE)).toBe(false);
});

test('when an invitation link worked, then it is known good for knownGoodMs', () => {
  const throttle = new FailureThrottle({ perMinute: 6, burst: 3, knownGoodMs: 60_000, liveCredentials: { has: () => false } });
  const t0 = 1_000_000;
  throttle.succeeded('link:abc', t0);
  expect(throttle.knownGood('link:abc', t0 + 59_000)).toBe(true);
  expect(throttle.knownGood('link:abc', t0 + 61_000)).toBe(false);
});
