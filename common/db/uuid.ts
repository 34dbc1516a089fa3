/**
 * Ids are compared as `col = $n::uuid` so the primary-key indexes apply (`col::text = $n`
 * scans the whole table). Input that is not UUID-shaped names no resource: callers drop it
 * before the query instead of letting the cast raise.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

export function onlyUuids(values: readonly string[]): string[] {
  return values.filter(isUuid);
}
