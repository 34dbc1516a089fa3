import { durationInWords, formatDuration, InvalidDurationError, parseDuration } from './duration';

test.each([
  ['0s', 0],
  ['500ms', 500],
  ['10m', 600_000],
  ['1h', 3_600_000],
  ['14d', 1_209_600_000],
  ['1.5h', 5_400_000],
])('when "%s" is parsed, then it is %d ms', (input, ms) => {
  expect(parseDuration(input)).toBe(ms);
});

test.each(['', '10', 'm', '-1s', '10 minutes', '1w'])('when "%s" is parsed, then it is rejected with a hint', (input) => {
  expect(() => parseDuration(input)).toThrow(InvalidDurationError);
  expect(() => parseDuration(input)).toThrow(/e\.g\. 0s/);
});

test('when durations are formatted, then they round-trip', () => {
  for (const ms of [0, 1500, 600_000, 3_600_000, 86_400_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
});

test.each([
  [42, '42 ms'],
  [1_000, '1 s'],
  [190_000, '3 min 10 s'],
  [600_000, '10 min'],
  [3_600_000, '1 h'],
  [3_900_000, '1 h 5 min'],
  [3_605_000, '1 h'],
  [183_600_000, '2 d 3 h'],
  [-1, '–'],
])('when %d ms is said in words, then it is "%s"', (ms, words) => {
  expect(durationInWords(ms)).toBe(words);
});
