/**
 * One email address per value: what `emails[].value` may hold. Pure.
 *
 * Accepted: a single mailbox `local@domain` (RFC 5322 addr-spec in its dot-atom form, the
 * RFC 5321 Mailbox, with RFC 6531 internationalised text), checked by @hapi/address with a
 * domain of at least two labels. Not accepted, each with its own reason: display names
 * ("Name <a@x.org>"), lists ("a@x.org, b@y.org", "a; b"), group syntax ("team: a@x;"),
 * comments ("a(c)@x.org"), quoted local parts, address literals ("a@[10.0.0.1]"), spaces and
 * control or invisible characters (a CR/LF is a header injection). Every one of those forms is
 * a way for one value to reach more than one mailbox, or a different one than it shows, and no
 * staff mailbox needs them: the value becomes the login and the invitation's only recipient.
 */
import { analyzeEmail } from '@hapi/address';

/** Control, format (zero-width, bidi), separator (line/paragraph) and unassigned characters. */
const INVISIBLE = /[\p{C}\p{Zl}\p{Zp}]/u;
const SPACE = /\s|\p{Zs}/u;

/** Why `value` is not one email address, in words an IdP admin can act on; undefined when it is one. */
export function emailAddressProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'is not a string';
  if (value.trim() === '') return 'is empty';
  if (INVISIBLE.test(value)) return 'contains a control or invisible character (e.g. a line break); send the bare address only';
  const at = (value.match(/@/g) ?? []).length;
  if (/[<>]/.test(value)) return 'is in display-name form ("Name <address>"); send the bare address only';
  if (/[,;]/.test(value) && at > 1) return 'holds more than one address; send one address per emails[] entry';
  if (/:/.test(value)) return 'uses group syntax or a prefix with ":" (e.g. "team: a@x.org;"); send the bare address';
  if (/[()]/.test(value)) return 'contains a comment in parentheses; send the bare address';
  if (/"/.test(value)) return 'has a quoted local part, which is not accepted; send a plain address';
  if (SPACE.test(value.trim())) return 'contains spaces; send one address without spaces';
  if (SPACE.test(value)) return 'has spaces around it; send the address without them';
  if (at === 0) return 'has no "@" (an address looks like name@example.org)';
  if (at > 1) return 'has more than one "@"; send one address per emails[] entry';
  if (/@\[/.test(value)) return 'has an address literal as its domain ([…]), which is not accepted; use the domain name';
  const analysis = analyzeEmail(value);
  if (analysis) return `is not an email address: ${analysis.error.charAt(0).toLowerCase()}${analysis.error.slice(1)}`;
  return undefined;
}

export const isEmailAddress = (value: unknown): value is string => emailAddressProblem(value) === undefined;
