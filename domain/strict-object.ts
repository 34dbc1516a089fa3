/**
 * Objects of the tenant configuration reject keys they do not know: a typo (`seatlimit`,
 * `propagaton`, `endDateActon`) used to be dropped without a word, so the tenant silently got
 * a default (unlimited seats, default windows, suspend instead of terminate). Each unknown key
 * is a problem with its own path and, when one is close, a "did you mean".
 */
import { distance } from 'fastest-levenshtein';
import { z } from 'zod';

/** The known key closest to `key` (case ignored), when it is close enough to be the one meant. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: { key: string; d: number } | undefined;
  for (const k of known) {
    const d = distance(lower, k.toLowerCase());
    if (!best || d < best.d) best = { key: k, d };
  }
  // One edit in four characters, at least two: catches a dropped, doubled or swapped letter, not a different word.
  return best && best.d <= Math.max(2, Math.floor(key.length / 4)) ? best.key : undefined;
}

export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const near = closestKey(key, known);
  return near ? `unknown key "${key}"; did you mean "${near}"?` : `unknown key "${key}"; the keys here are: ${known.join(', ')}`;
}

/**
 * A per-parse zod error map (`schema.safeParse(input, { error: unknownKeyError })`) for the
 * objects that are strict (z.strictObject, .strict()): one message line per unknown key, in
 * zod's key order, naming the closest known key of that object; splitUnknownKeys turns the
 * issue into one problem per key. Other issues keep their messages.
 */
export const unknownKeyError: z.core.$ZodErrorMap = (iss) => {
  if (iss.code !== 'unrecognized_keys') return undefined;
  const shape = (iss.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape ?? {};
  return iss.keys.map((k) => unknownKeyMessage(k, Object.keys(shape))).join('\n');
};

type Path = (string | number)[];

/** One problem per unknown key, at the key's own path (so a YAML line can be found for it); other issues unchanged. */
export function splitUnknownKeys(issue: { code: string; path: Path; message: string; keys?: string[] }): { path: Path; message: string }[] {
  if (issue.code !== 'unrecognized_keys' || !issue.keys) return [{ path: issue.path, message: issue.message }];
  const lines = issue.message.split('\n');
  return issue.keys.map((key, i) => ({ path: [...issue.path, key], message: lines[i] ?? `unknown key "${key}"` }));
}
