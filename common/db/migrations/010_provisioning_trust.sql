-- Provisioning you can trust: truthful invitation links, least privilege while held, unique
-- login identifiers, and the mass-deprovisioning guard.

-- Why an invitation stopped working: a newer invitation replaced it ('superseded'), the user
-- was suspended ('suspended') or terminated ('terminated'). The invitation page says which.
ALTER TABLE invitations ADD COLUMN revoked_reason text
  CHECK (revoked_reason IN ('superseded', 'suspended', 'terminated'));
UPDATE invitations SET revoked_reason = 'terminated' WHERE status = 'revoked';

-- A user held for missing or conflicting data keeps only what it still should have and cannot
-- log in until the data is complete; hold_reason says why (the held data, as the workflow shows it).
ALTER TABLE app_users ADD COLUMN hold_reason text;

-- The application's login identifiers, unique per tenant among users that are not terminated:
-- the login email of every user and the primary phone of mobile-app users (their mobile login).
CREATE TABLE login_claims (
  tenant_id  text NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('email', 'phone')),
  value      text NOT NULL,
  user_id    uuid NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, kind, value)
);
CREATE INDEX login_claims_user ON login_claims (tenant_id, user_id);

-- Users held because their login is another user's: told (an outbox 'login' change) when it is released.
CREATE TABLE login_waiters (
  tenant_id text NOT NULL,
  kind      text NOT NULL,
  value     text NOT NULL,
  user_id   uuid NOT NULL,
  since     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, kind, value, user_id)
);

-- Existing users keep their logins; where two already share one, the earlier user keeps it.
INSERT INTO login_claims (tenant_id, kind, value, user_id, claimed_at)
SELECT DISTINCT ON (tenant_id, lower(email)) tenant_id, 'email', lower(email), user_id, created_at
FROM app_users WHERE email IS NOT NULL AND status <> 'terminated'
ORDER BY tenant_id, lower(email), created_at, user_id;

-- The mass-deprovisioning guard: every suspension or termination a SCIM request asks for is
-- recorded here; beyond the tenant's threshold within its window it is held until a Super User
-- allows or rejects it.
CREATE TABLE deprovision_requests (
  id          uuid PRIMARY KEY,
  tenant_id   text NOT NULL,
  user_id     uuid NOT NULL,
  action      text NOT NULL CHECK (action IN ('suspend', 'terminate')),
  -- the SCIM version that asked (a suspension); 0 for a deletion
  scim_version integer NOT NULL,
  request_id  text NOT NULL,
  status      text NOT NULL CHECK (status IN ('allowed', 'held', 'approved', 'rejected')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  decided_at  timestamptz,
  decided_by  text,
  UNIQUE (tenant_id, user_id, action, scim_version)
);
CREATE INDEX deprovision_requests_recent ON deprovision_requests (tenant_id, created_at);
CREATE INDEX deprovision_requests_held ON deprovision_requests (tenant_id) WHERE status = 'held';

-- Two more reasons to wake a user's workflow: its login was released by another user ('login'),
-- and a Super User decided on its held deprovisioning ('decision').
ALTER TABLE outbox DROP CONSTRAINT outbox_change_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_change_check
  CHECK (change IN ('created', 'updated', 'deleted', 'membership', 'invitationAccepted', 'policy', 'drift', 'login', 'decision'));
