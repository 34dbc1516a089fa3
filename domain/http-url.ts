/** A tenant configuration's URL of another system (a connector's base URL, an event receiver): http or https only. */
import { z } from 'zod';

export const httpUrl = z.string().refine((v) => {
  try {
    return ['http:', 'https:'].includes(new URL(v).protocol);
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL');
