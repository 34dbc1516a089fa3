/**
 * CPU work over a large request in slices, with a turn of the event loop between them, so
 * that /healthz and other tenants' requests are answered while one large request (a PATCH of
 * 1,000 operations, a Bulk request) is worked through: its total time is unchanged, but no
 * single stretch holds the loop for more than one slice.
 */
import { setImmediate as turn } from 'node:timers/promises';

/** Items handled per slice: a few milliseconds of work for the heaviest PATCH operations. */
const SLICE = 50;

export async function mapInSlices<T, R>(items: readonly T[], fn: (item: T, index: number) => R, size = SLICE): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % size === 0) await turn();
    out.push(fn(items[i], i));
  }
  return out;
}
