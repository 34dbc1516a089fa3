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
 *  - every value of core `roles` names one of the tenant's roles (GET /Roles) and every value of
 *    `entitlements` one of its licence tiers (GET /Licenses), unless the tenant's rules test
 *    that attribute (then other values are rule inputs, e.g. Entra app roles); at most one
 *    security role and one client role; and none contradicts the extension's `securityRole` /
 *    `clientRole` (domain/entitlement-catalogue.ts; docs/okta.md, "Okta Identity Governance").
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
import { loginPhoneProblem, needsLoginPhone, SCIMFLOW_USER_URN } from '../../domain/desired-user';
import {
  attributesTestedByRules,
  displayNameOf,
  entitlementCatalogue,
  findLicence,
  findRole,
  LICENCE_ENTITLEMENT_TYPE,
  referencesOf,
  rolesOfUser,
  type RoleEntitlement,
} from '../../domain/entitlement-catalogue';
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

const refKeys = (list: unknown) => new Set(referencesOf(list).map((r) => `${r.type ?? ''}\u0000${r.value}`));
const listOf = (values: string[], max = 40) => (values.length > max ? `${values.slice(0, max).join(', ')}, …` : values.join(', '));

/**
 * Throws 400 invalidValue when `roles` or `entitlements` name what the tenant does not offer, name
 * two security (or client) roles, or contradict the extension. Values `before` already held are not
 * re-checked (as for emails); the configuration is read only when the document carries either list.
 */
export async function checkEntitlementReferences(db: Queryable, tenantId: string, doc: Json, before?: Json): Promise<void> {
  const roles = referencesOf(doc.roles);
  const entitlements = referencesOf(doc.entitlements);
  if (roles.length === 0 && entitlements.length === 0) return;
  const { config } = await currentConfig(db, tenantId);
  const catalogue = entitlementCatalogue(config);
  const tested = attributesTestedByRules(config.rules);

  const heldRoles = refKeys(before?.roles);
  if (!tested.has('roles')) {
    const known = () => listOf(catalogue.roles.map((r) => `${r.id} (${r.name})`));
    for (const ref of roles) {
      if (heldRoles.has(`${ref.type ?? ''}\u0000${ref.value}`) || findRole(catalogue, ref.value)) continue;
      throw ScimError.badRequest(
        'invalidValue',
        `roles[${ref.index}].value ${quote(ref.value)} is not a role of this tenant; use the id of one of its roles (GET /Roles): ${known()}.`,
      );
    }
  }
  const heldEntitlements = refKeys(before?.entitlements);
  if (!tested.has('entitlements')) {
    const known = () => (catalogue.licences.length > 0 ? listOf(catalogue.licences.map((l) => `${l.id} (${displayNameOf(l)})`)) : 'none');
    for (const ref of entitlements) {
      if (heldEntitlements.has(`${ref.type ?? ''}\u0000${ref.value}`)) continue;
      if (ref.type !== null && ref.type.toLowerCase() !== LICENCE_ENTITLEMENT_TYPE.toLowerCase()) {
        throw ScimError.badRequest(
          'invalidValue',
          `entitlements[${ref.index}].type ${quote(ref.type)} is not an entitlement type of this server; the one it offers is ${LICENCE_ENTITLEMENT_TYPE} (GET /ResourceTypes).`,
        );
      }
      if (!findLicence(catalogue, ref.value)) {
        throw ScimError.badRequest(
          'invalidValue',
          `entitlements[${ref.index}].value ${quote(ref.value)} is not a licence tier of this tenant; use the id of one of its tiers (GET /Licenses): ${known()}.`,
        );
      }
    }
  }

  // One role of each kind, agreeing with the extension. Checked when `roles` or the extension's role changed.
  const ext = (doc[SCIMFLOW_USER_URN] ?? {}) as Json;
  const extBefore = (before?.[SCIMFLOW_USER_URN] ?? {}) as Json;
  const sameRoles = before !== undefined && heldRoles.size === refKeys(doc.roles).size && roles.every((r) => heldRoles.has(`${r.type ?? ''}\u0000${r.value}`));
  const assigned = rolesOfUser(doc, catalogue);
  const kinds: [string, RoleEntitlement[], unknown, unknown][] = [
    ['security', assigned.securityRoles, ext.securityRole, extBefore.securityRole],
    ['client', assigned.clientRoles, ext.clientRole, extBefore.clientRole],
  ];
  for (const [kind, list, extValue, extValueBefore] of kinds) {
    if (sameRoles && extValue === extValueBefore) continue;
    if (list.length > 1) {
      throw ScimError.badRequest(
        'invalidValue',
        `roles names ${list.length} ${kind} roles (${list.map((r) => `${r.id} (${r.name})`).join(', ')}); a user has exactly one ${kind} role.`,
      );
    }
    if (list.length === 1 && typeof extValue === 'string' && extValue.trim() !== '' && extValue.trim().toLowerCase() !== list[0].name.toLowerCase()) {
      throw ScimError.badRequest(
        'invalidValue',
        `roles names ${kind} role ${list[0].id} (${list[0].name}), but ${SCIMFLOW_USER_URN}:${kind}Role is ${quote(extValue)}: ` +
          `the two must agree; send the ${kind} role in one of them (remove ${kind}Role when roles carries it) or the same in both.`,
      );
    }
  }
}

/** Every check, for a document about to be stored. */
export async function checkUserDoc(db: Queryable, tenantId: string, doc: Json, before?: { id: string; doc: Json }): Promise<void> {
  checkEmails(doc, before?.doc);
  await checkLoginPhone(db, tenantId, doc, before);
  await checkEntitlementReferences(db, tenantId, doc, before?.doc);
}
