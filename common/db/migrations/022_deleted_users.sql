-- A rejected deletion restores the SCIM user (issue 23, item 2; docs/admin-api.md, "Held
-- changes").
--
-- scim_deleted_users: the last document of each SCIM user the identity provider (or a Super
-- User) deleted, while the deletion is not carried out: a Super User who rejects the held
-- termination gets the user back as the same SCIM resource (same id, this document, a new
-- version), so the identity provider can see and deprovision it again. `version` is the
-- resource's last version (the deletion's outbox row is version + 1; the restored resource
-- version + 2). `group_ids`: the groups it was a direct member of, given back where they still
-- exist. The row is removed when the user is restored or terminated (activities/lifecycle.ts
-- terminateUser), so a deleted person's data is kept no longer than the deletion is undecided.
CREATE TABLE scim_deleted_users (
  tenant_id   text NOT NULL REFERENCES tenants(id),
  id          uuid NOT NULL,
  doc         jsonb NOT NULL,
  version     integer NOT NULL,
  created_at  timestamptz NOT NULL,
  deleted_at  timestamptz NOT NULL DEFAULT now(),
  group_ids   uuid[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (tenant_id, id)
);

-- A rejected deletion whose user was restored is over: it can no longer be allowed (the
-- identity provider deletes the restored user again, or a Super User terminates it), and a
-- later deletion of the same user is a new request for the guard to count. The key of a
-- deletion is (tenant, user, 'terminate', 0), so it is unique among requests not restored only.
ALTER TABLE deprovision_requests ADD COLUMN restored_at timestamptz;
ALTER TABLE deprovision_requests DROP CONSTRAINT deprovision_requests_tenant_id_user_id_action_scim_version_key;
CREATE UNIQUE INDEX deprovision_requests_key ON deprovision_requests (tenant_id, user_id, action, scim_version) WHERE restored_at IS NULL;

-- A SCIM filter on the scimflow extension's employeeAreas, teams, facilities or biGroups also
-- matches the values in force in the ledger (rule-given ones included), and the admin users
-- list searches employee areas (`employeeArea=`): both look values up case-insensitively.
CREATE INDEX app_user_settings_value ON app_user_settings (tenant_id, kind, lower(value));
