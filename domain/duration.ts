/** Parses durations such as `0s`, `500ms`, `10m`, `1h`, `14d` into milliseconds. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Thrown when a duration string is not `<number><unit>` with unit ms, s, m, h or d. */
export class InvalidDurationError extends Error {
  constructor(readonly input: string) {
    super(`"${input}" is not a duration; use a number and a unit, e.g. 0s, 500ms, 10m, 1h, 14d`);
    this.name = 'InvalidDurationError';
  }
}

export function parseDuration(input: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(input);
  if (!match) throw new InvalidDurationError(input);
  return Math.round(Number(match[1]) * UNIT_MS[match[2]]);
}

export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * A duration as people say it, largest units first, at most two: "42 ms", "3 min 10 s", "1 h",
 * "1 h 5 min", "2 d 3 h". Under a second in milliseconds; seconds are whole.
 */
export function durationInWords(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['min', 60],
    ['s', 1],
  ];
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [name, size] of units) {
    if (parts.length === 2) break;
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n} ${name}`);
    else if (parts.length === 1) break; // "1 h", not "1 h 0 min 5 s"
  }
  return parts.join(' ');
}
