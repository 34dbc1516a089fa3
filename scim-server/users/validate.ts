/**
 * Checks of a User document at the SCIM boundary that scimmy's schema validation lacks, run on
 * the document as it would be stored after POST, PUT, PATCH (and their Bulk forms), before
 * anything is written:
 *  - every `emails[].value` is one email address (domain/email-address.ts): a list, a
 *    display-name form, group syntax or a line break would send the invitation, with its
 *    one-time link, to someone else;
 *  - the login phone of a mobile-app user (domain/desired-user.ts needsLoginPhone) is a usable
 *    number in the tenant's region (domain/phone-number.ts). An informational number that is
 *    not usable is accepted and left out of the directory with a note (DesiredUser.notes).
 * 400 invalidValue names the attribute, the value and what is wrong with it.
 *
 * A value the resource already held before this request is not re-checked: a PATCH that
 * deactivates a user whose address was stored before these checks existed must not fail. Such
 * a user waits in awaitingData with the reason (desired-user.ts) until the IdP sends a good value.
 * The stored document keeps what the IdP sent (a SCIM GET returns it); the directory gets the
 * normalised values.
 */
import type { Queryable } from '../../common/db';
import { groupNamesOfUsers } from '../../common/repositories/scim-groups';
import { currentConfig } from '../../common/repositories/tenants';
import { loginPhoneProblem, needsLoginPhone } from '../../domain/desired-user';
import { emailAddressProblem } from '../../domain/email-address';
import { parsePhone } from '../../domain/phone-number';
import { evaluatePolicy } from '../../domain/policy';
import { ScimError } from '../../scim/error';

type Json = Record<string, unknown>;

const valuesOf = (list: unknown): unknown[] =>
  Array.isArray(list) ? list.map((x) => (typeof x === 'object' && x !== null ? (x as Json).value : undefined)).filter((v) => v !== undefined) : [];
const quote = (value: string) => JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value);

/** Throws 400 invalidValue for the first email value that is not one address (values `before` already held excepted). */
export function checkEmails(doc: Json, before?: Json): void {
  const held = new Set(valuesOf(before?.emails));
  const emails = Array.isArray(doc.emails) ? doc.emails : [];
  emails.forEach((entry, i) => {
    const value = typeof entry === 'object' && entry !== null ? (entry as Json).value : undefined;
    if (value === undefined || value === null || held.has(value)) return;
    const problem = emailAddressProblem(value);
    if (problem) throw ScimError.badRequest('invalidValue', `emails[${i}].value${typeof value === 'string' ? ` ${quote(value)}` : ''} ${problem}.`);
  });
}

/**
 * Throws 400 invalidValue when the user needs a login phone and it is not usable. Reads the
 * tenant's configuration (cached) and, for an existing user whose rules test groups, its groups.
 */
export async function checkLoginPhone(db: Queryable, tenantId: string, doc: Json, before?: { id: string; doc: Json }): Promise<void> {
  if (!Array.isArray(doc.phoneNumbers) || doc.phoneNumbers.length === 0) return;
  // Every phone usable in international form: no region is needed, so the configuration is not read (most IdPs send "+1 …").
  const international = valuesOf(doc.phoneNumbers).every((v) => {
    if (typeof v !== 'string' || !/^(tel:)?\+/i.test(v.trim())) return false;
    const parsed = parsePhone(v);
    return parsed.ok && !parsed.extension;
  });
  if (international) return;
  const { config } = await currentConfig(db, tenantId);
  const problem = loginPhoneProblem(doc, config);
  if (!problem || valuesOf(before?.doc.phoneNumbers).includes(problem.value)) return;
  const groups = before ? ((await groupNamesOfUsers(db, tenantId, [before.id])).get(before.id) ?? []) : [];
  if (!needsLoginPhone(doc, config, evaluatePolicy(config.rules, { doc, groups }))) return;
  throw ScimError.badRequest(
    'invalidValue',
    `phoneNumbers[${problem.index}].value ${quote(problem.value)} cannot be this mobile-app user's login phone: it ${problem.problem}. ` +
      `Send the number with its country code, e.g. +15550107777 (a number without one is read in region ${config.phoneRegion}).`,
  );
}

/** Both checks, for a document about to be stored. */
export async function checkUserDoc(db: Queryable, tenantId: string, doc: Json, before?: { id: string; doc: Json }): Promise<void> {
  checkEmails(doc, before?.doc);
  await checkLoginPhone(db, tenantId, doc, before);
}
