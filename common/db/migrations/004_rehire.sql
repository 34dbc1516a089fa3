-- Termination keeps a snapshot of what the user had, so a re-hire (same externalId) within the
-- tenant's retention window gets it back.
ALTER TABLE app_users ADD COLUMN entitlements_snapshot jsonb;
ALTER TABLE app_users ADD COLUMN rehired_from uuid;
