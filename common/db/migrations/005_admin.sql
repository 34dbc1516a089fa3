-- Admin API tokens (kind 'admin') carry a role: 'Super User' may change users and
-- configuration; any other role (or none, for admin tokens made before roles) only reads.
ALTER TABLE scim_tokens ADD COLUMN admin_role text;

-- Users are also told when a group they belong to changes ('membership', already allowed), when
-- a new tenant policy changes what they should have ('policy'), and when drift repair finds their
-- directory rows no longer match it ('drift').
ALTER TABLE outbox DROP CONSTRAINT outbox_change_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_change_check
  CHECK (change IN ('created', 'updated', 'deleted', 'membership', 'invitationAccepted', 'policy', 'drift'));

-- A user's changes: drift repair skips users with a change in flight; the admin audit trail lists them.
CREATE INDEX outbox_resource ON outbox (tenant_id, resource_id, id);
