/**
 * One mailbox, as a tenant may name its invitation sender (`invitation.from`) or contact
 * (`invitation.replyTo`): `local@domain`, or `Display Name <local@domain>`. Pure.
 *
 * Refused, each with its reason: control characters (a CR/LF in a header forges further
 * headers and empties the envelope sender), lists and groups (`a@x, b@y`, `team: a@x;`), quoted
 * or bracketed tricks in the display name, comments, address literals, non-ASCII local parts
 * and domains (write an internationalised domain in its xn-- form). A display name may say
 * anything readable; which domains a tenant may send from is the operator's decision
 * (common/mail/sender.ts).
 */
export interface Mailbox {
  address: string;
  /** Lower-cased domain of the address. */
  domain: string;
  displayName?: string;
}

const CONTROL = /[\p{C}\p{Zl}\p{Zp}]/u;
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const NAMED = /^([^<>]*?)\s*<([^<>]*)>$/;
const NAME_FORBIDDEN = /["\\,;:@()[\]<>]/;

/** The mailbox `text` names, or why it is not one mailbox (in words a tenant admin can act on). */
export function parseMailbox(text: unknown): { ok: true; mailbox: Mailbox } | { ok: false; problem: string } {
  const fail = (problem: string) => ({ ok: false as const, problem });
  if (typeof text !== 'string' || text.trim() === '') return fail('must be an e-mail address');
  if (CONTROL.test(text)) return fail('contains a control character (e.g. a line break), which would forge mail headers');
  if (text.length > 320) return fail('is longer than 320 characters');
  let displayName: string | undefined;
  let address = text.trim();
  const named = NAMED.exec(address);
  if (named) {
    displayName = named[1].trim();
    address = named[2].trim();
    if (displayName === '') displayName = undefined;
    else if (NAME_FORBIDDEN.test(displayName))
      return fail('has a display name with quotes, brackets or one of , ; : @ ( ); write it plainly, e.g. "IT Service Desk <it@example.org>"');
  } else if (/[<>]/.test(address)) return fail('is not of the form "address" or "Name <address>"');
  const at = address.lastIndexOf('@');
  if (at <= 0 || address.indexOf('@') !== at) return fail('must hold exactly one address with one "@" (no lists or groups)');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64 || !LOCAL.test(local))
    return fail(`has a local part "${local.slice(0, 64)}" that is not a plain address (letters, digits, . and !#$%&'*+/=?^_\`{|}~-)`);
  const labels = domain.split('.');
  if (domain.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l)))
    return fail(`has a domain "${domain.slice(0, 80)}" that is not a domain name (write an internationalised one in its xn-- form)`);
  return { ok: true, mailbox: { address, domain: domain.toLowerCase(), ...(displayName ? { displayName } : {}) } };
}
