/**
 * Whether a SCIM update of a user may take access away, so that its change is relayed ahead of
 * the others (urgent, like a deactivation): least privilege does not wait behind an import.
 * Conservative: any value of an access attribute that the update drops or replaces counts; a
 * change that only adds, or touches profile fields (name, phone, title), does not.
 */
import { SCIMFLOW_USER_URN } from './desired-user';

type Doc = Record<string, unknown>;

/** Core attributes that grant access in the application (RFC 7643 §4.1.2). */
const CORE_ACCESS = ['roles', 'entitlements'] as const;
/** Attributes of the scimflow extension that grant access (docs: domain.md; scim/schemas.ts). */
const EXTENSION_ACCESS = [
  'client',
  'clientRole',
  'organisations',
  'extraClientAccess',
  'caseManager',
  'providerAccounts',
  'securityRole',
  'allowGridExport',
  'employeeAreas',
  'biGroups',
  'teams',
  'facilities',
] as const;

/** The values an attribute holds, each as a comparable string (case-insensitive keys are the stored document's). */
function valuesOf(value: unknown): Set<string> {
  if (value === undefined || value === null || value === false || value === '') return new Set();
  const items = Array.isArray(value) ? value : [value];
  return new Set(items.filter((v) => v !== null && v !== undefined && v !== false).map((v) => (typeof v === 'string' ? v.toLowerCase() : JSON.stringify(v))));
}

const drops = (before: unknown, after: unknown) => {
  const kept = valuesOf(after);
  for (const v of valuesOf(before)) if (!kept.has(v)) return true;
  return false;
};

const extensionOf = (doc: Doc): Doc => (doc[SCIMFLOW_USER_URN] as Doc | undefined) ?? {};

export function removesAccess(before: Doc, after: Doc): boolean {
  if (before.active !== false && after.active === false) return true;
  if (CORE_ACCESS.some((k) => drops(before[k], after[k]))) return true;
  const b = extensionOf(before);
  const a = extensionOf(after);
  return EXTENSION_ACCESS.some((k) => drops(b[k], a[k]));
}
