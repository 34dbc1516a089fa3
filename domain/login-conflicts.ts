/**
 * Login conflicts as the workflow reports them ("email x is already the login of user <id>",
 * activities/provisioning.ts `takenReason`; the text is stored in states and logs and stays as
 * it is). Readers find the other user in it, so that a page can name that user and link to it.
 */

const CONFLICT = /(email|mobile phone) (\S+) is already the login of user ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/gi;

export interface LoginConflict {
  kind: 'email' | 'mobile phone';
  /** The email address or phone number both users would log in with. */
  value: string;
  /** The user who holds the login. */
  holderId: string;
}

/** Every login conflict a reason names, in order. */
export function loginConflictsIn(text: string | null | undefined): LoginConflict[] {
  if (!text) return [];
  return [...text.matchAll(CONFLICT)].map((m) => ({ kind: m[1].toLowerCase() as LoginConflict['kind'], value: m[2], holderId: m[3].toLowerCase() }));
}

/**
 * The text in parts: plain text, and the holder's id where a conflict names it (the part after
 * "is already the login of user "), so a renderer can put a link there and nothing else changes.
 */
export function splitAtHolders(text: string): ({ text: string } | { holderId: string })[] {
  const parts: ({ text: string } | { holderId: string })[] = [];
  let at = 0;
  for (const m of text.matchAll(CONFLICT)) {
    const idAt = (m.index ?? 0) + m[0].length - m[3].length;
    parts.push({ text: text.slice(at, idAt) });
    parts.push({ holderId: m[3].toLowerCase() });
    at = idAt + m[3].length;
  }
  if (at < text.length) parts.push({ text: text.slice(at) });
  return parts.filter((p) => !('text' in p) || p.text !== '');
}

/** The holders named in any of `texts`, each once. */
export function holdersIn(texts: readonly (string | null | undefined)[]): string[] {
  return [...new Set(texts.flatMap((t) => loginConflictsIn(t).map((c) => c.holderId)))];
}
