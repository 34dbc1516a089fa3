-- Issue 15. The application's single "Name" field (the admissions CRM): SCIM displayName, else
-- name.formatted, else "givenName familyName" (domain/desired-user.ts).
ALTER TABLE app_users ADD COLUMN IF NOT EXISTS display_name text;

-- An organisation's `services` now decide its licences (`app`, `mobile`; absent: what it has a
-- licence for). Before, they had no effect, and every stored version holds them as parsed
-- (`services: []` where the document left them out). Removing them keeps every stored version
-- giving exactly the licences it gave; a new version that lists services gets their effect.
UPDATE tenant_config_versions v
SET config = jsonb_set(v.config, '{organisations}', (
  SELECT jsonb_agg(o.value - 'services' ORDER BY o.ordinality)
  FROM jsonb_array_elements(v.config -> 'organisations') WITH ORDINALITY AS o(value, ordinality)))
WHERE jsonb_typeof(v.config -> 'organisations') = 'array'
  AND EXISTS (SELECT 1 FROM jsonb_array_elements(v.config -> 'organisations') AS o(value) WHERE o.value ? 'services');
