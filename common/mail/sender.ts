/**
 * Who an invitation is from. A tenant may name its own sender (`invitation.from`) only in a
 * domain the operator allows: the platform sender's (MAIL_FROM) or one of
 * MAIL_ALLOWED_FROM_DOMAINS ("hospital.example", or "*.hospital.example" for its subdomains);
 * otherwise mail leaves from the platform sender. A tenant's contact (`invitation.replyTo`)
 * goes in Reply-To, so replies reach the tenant without a forged From. Both must be one
 * mailbox without control characters (domain/mailbox.ts), checked when a configuration is
 * saved and again here, for configurations saved before.
 */
import { parseMailbox } from '../../domain/mailbox';

export interface SenderPolicy {
  /** MAIL_FROM: the platform's sender. */
  platformFrom: string;
  /** MAIL_ALLOWED_FROM_DOMAINS: domains tenants may send from besides the platform sender's ("x.org", "*.x.org"). */
  allowedFromDomains: string[];
}

function domainAllowed(domain: string, policy: SenderPolicy): boolean {
  const platform = parseMailbox(policy.platformFrom);
  const allowed = [...policy.allowedFromDomains, ...(platform.ok ? [platform.mailbox.domain] : [])].map((d) => d.toLowerCase());
  return allowed.some((d) => (d.startsWith('*.') ? domain.endsWith(d.slice(1)) : domain === d));
}

/** Why a tenant may not send from `from` (syntax or domain), in words for the tenant admin; undefined when it may. */
export function fromProblem(from: string, policy: SenderPolicy): string | undefined {
  const parsed = parseMailbox(from);
  if (!parsed.ok) return parsed.problem;
  if (!domainAllowed(parsed.mailbox.domain, policy)) {
    const platform = parseMailbox(policy.platformFrom);
    const domains = [...new Set([...(platform.ok ? [platform.mailbox.domain] : []), ...policy.allowedFromDomains])];
    return `sends from ${parsed.mailbox.domain}, which the operator does not allow (allowed: ${domains.join(', ') || 'none'}; MAIL_ALLOWED_FROM_DOMAINS). Use invitation.replyTo for your contact address`;
  }
  return undefined;
}

/** The From and Reply-To of a tenant's invitation mail; `refused` says why the tenant's own From was not used. */
export function senderOf(invitation: { from?: string; replyTo?: string }, policy: SenderPolicy): { from: string; replyTo?: string; refused?: string } {
  const replyTo = invitation.replyTo !== undefined && parseMailbox(invitation.replyTo).ok ? invitation.replyTo.trim() : undefined;
  if (invitation.from === undefined) return { from: policy.platformFrom, ...(replyTo ? { replyTo } : {}) };
  const refused = fromProblem(invitation.from, policy);
  if (!refused) return { from: invitation.from.trim(), ...(replyTo ? { replyTo } : {}) };
  // A sender saved before the restriction: its address, when it is one, still gets the replies.
  const parsed = parseMailbox(invitation.from);
  const fallback = replyTo ?? (parsed.ok ? parsed.mailbox.address : undefined);
  return { from: policy.platformFrom, ...(fallback ? { replyTo: fallback } : {}), refused };
}
