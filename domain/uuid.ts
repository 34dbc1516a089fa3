/**
 * Resource ids (users, groups, invitations, tokens) are server-assigned UUIDs: any other value
 * names no resource. Callers answer "not found" (or drop the value) before a query, which
 * compares `id = $n::uuid` so the primary-key index applies and would raise on a malformed id.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): boolean {
  return typeof value === 'string' && UUID.test(value);
}

export function onlyUuids(values: readonly string[]): string[] {
  return values.filter(isUuid);
}
