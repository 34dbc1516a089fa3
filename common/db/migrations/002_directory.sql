-- The application directory: what the workflows provision. Only activities write here.

-- Versioned tenant configuration (organisations, defaults, propagation windows, invitation
-- schedule). Every change is a new version with who and when.
CREATE TABLE tenant_config_versions (
  tenant_id   text NOT NULL REFERENCES tenants(id),
  version     integer NOT NULL,
  config      jsonb NOT NULL,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, version)
);

-- Clients, locations and facilities, materialised from the current configuration.
CREATE TABLE organisations (
  tenant_id        text NOT NULL REFERENCES tenants(id),
  key              text NOT NULL,
  name             text NOT NULL,
  kind             text NOT NULL CHECK (kind IN ('client', 'location', 'facility')),
  licence_level    text,
  mobile_licence   text,
  services         text[] NOT NULL DEFAULT '{}',
  seat_limit       integer,
  PRIMARY KEY (tenant_id, key)
);

CREATE TABLE app_users (
  tenant_id               text NOT NULL REFERENCES tenants(id),
  user_id                 uuid NOT NULL,          -- the SCIM id
  external_id             text,
  first_name              text,
  last_name               text,
  title                   text,
  email                   text,
  primary_phone           text,
  alternate_phones        text[] NOT NULL DEFAULT '{}',
  client_key              text,
  case_manager            boolean NOT NULL DEFAULT false,
  security_role           text,
  employee_type           text,
  allow_grid_export       boolean NOT NULL DEFAULT false,
  receives_documentation  boolean NOT NULL DEFAULT false,
  status                  text NOT NULL DEFAULT 'provisioning'
                          CHECK (status IN ('provisioning', 'invited', 'active', 'suspended', 'terminated')),
  login_enabled           boolean NOT NULL DEFAULT false,
  role_changed_at         timestamptz,
  tags_changed_at         timestamptz,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  terminated_at           timestamptz,
  PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX app_users_external_id ON app_users (tenant_id, external_id);

-- Client memberships with their role; `extra` rows are the extra client access of the brief.
CREATE TABLE app_memberships (
  tenant_id  text NOT NULL,
  user_id    uuid NOT NULL,
  org_key    text NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('primary', 'member', 'extra')),
  role       text CHECK (role IN ('Client Admin', 'Client Staff')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id, org_key),
  FOREIGN KEY (tenant_id, user_id) REFERENCES app_users (tenant_id, user_id)
);

-- Licences follow the organisation's level; an unreleased row holds one seat of that organisation.
CREATE TABLE app_licences (
  tenant_id      text NOT NULL,
  user_id        uuid NOT NULL,
  org_key        text NOT NULL,
  licence_level  text NOT NULL,
  mobile_licence text,
  assigned_at    timestamptz NOT NULL DEFAULT now(),
  released_at    timestamptz,
  PRIMARY KEY (tenant_id, user_id, org_key),
  FOREIGN KEY (tenant_id, user_id) REFERENCES app_users (tenant_id, user_id)
);
CREATE INDEX app_licences_seats ON app_licences (tenant_id, org_key) WHERE released_at IS NULL;

CREATE TABLE app_provider_accounts (
  tenant_id      text NOT NULL,
  user_id        uuid NOT NULL,
  provider_type  text NOT NULL,
  org_key        text NOT NULL,
  PRIMARY KEY (tenant_id, user_id, provider_type, org_key),
  FOREIGN KEY (tenant_id, user_id) REFERENCES app_users (tenant_id, user_id)
);

-- Set-valued settings of application B: employee areas, BI groups, teams, facility access,
-- notification subscriptions (email per stage, in-app, pop-up).
CREATE TABLE app_user_settings (
  tenant_id  text NOT NULL,
  user_id    uuid NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('employeeArea', 'biGroup', 'team', 'facility',
                                           'emailNotification', 'systemNotification', 'toastrNotification')),
  value      text NOT NULL,
  PRIMARY KEY (tenant_id, user_id, kind, value),
  FOREIGN KEY (tenant_id, user_id) REFERENCES app_users (tenant_id, user_id)
);

CREATE TABLE invitations (
  id              uuid PRIMARY KEY,
  tenant_id       text NOT NULL,
  user_id         uuid NOT NULL,
  -- workflow id + invitation round: a retried activity finds the same row
  idempotency_key text NOT NULL UNIQUE,
  token_hash      text NOT NULL UNIQUE,
  status          text NOT NULL CHECK (status IN ('pending', 'sent', 'accepted', 'expired', 'revoked')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  sent_at         timestamptz,
  expires_at      timestamptz NOT NULL,
  accepted_at     timestamptz,
  revoked_at      timestamptz,
  FOREIGN KEY (tenant_id, user_id) REFERENCES app_users (tenant_id, user_id)
);
CREATE INDEX invitations_user ON invitations (tenant_id, user_id);

-- One row per mail we intend to send. A row in 'sending' after a crash is never sent again:
-- at most one mail per invitation and reminder.
CREATE TABLE mail_deliveries (
  idempotency_key  text PRIMARY KEY,
  tenant_id        text NOT NULL,
  user_id          uuid NOT NULL,
  kind             text NOT NULL,
  status           text NOT NULL CHECK (status IN ('sending', 'sent', 'failed')),
  message_id       text,
  attempts         integer NOT NULL DEFAULT 0,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz
);

-- What each user's workflow is doing now; feeds the SCIM `provisioning` attribute without a
-- round trip to Temporal on every GET.
CREATE TABLE provisioning_states (
  tenant_id      text NOT NULL,
  user_id        uuid NOT NULL,
  state          text NOT NULL,
  waiting_for    text,
  waiting_until  timestamptz,
  last_error     text,
  workflow_id    text NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id)
);

-- Append-only: what changed, when, and which SCIM request and workflow caused it.
CREATE TABLE audit_log (
  id           bigserial PRIMARY KEY,
  tenant_id    text NOT NULL,
  user_id      uuid,
  action       text NOT NULL,
  detail       jsonb NOT NULL DEFAULT '{}',
  request_id   text,
  workflow_id  text,
  run_id       text,
  step         text,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_user ON audit_log (tenant_id, user_id, id);

-- Server-side secrets generated on first use (the key that derives invitation tokens).
CREATE TABLE app_secrets (
  name        text PRIMARY KEY,
  value       text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
