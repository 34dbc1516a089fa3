-- Tenants, their SCIM tokens, and the SCIM resources the identity providers push.

CREATE TABLE tenants (
  id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Bearer tokens: only a SHA-256 hash is stored; the prefix lets an operator tell tokens apart.
CREATE TABLE scim_tokens (
  id            uuid PRIMARY KEY,
  tenant_id     text NOT NULL REFERENCES tenants(id),
  name          text NOT NULL,
  kind          text NOT NULL DEFAULT 'scim' CHECK (kind IN ('scim', 'admin')),
  token_hash    text NOT NULL UNIQUE,
  prefix        text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz,
  last_used_at  timestamptz
);

CREATE TABLE scim_users (
  tenant_id      text NOT NULL REFERENCES tenants(id),
  id             uuid NOT NULL,
  user_name      text NOT NULL,
  external_id    text,
  display_name   text,
  active         boolean NOT NULL DEFAULT true,
  -- lower-cased emails[].value, so `emails.value eq` is an index lookup
  email_values   text[] NOT NULL DEFAULT '{}',
  doc            jsonb NOT NULL,
  version        integer NOT NULL DEFAULT 1,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
-- RFC 7643 §4.1.1: userName is unique and case-insensitive within a tenant.
CREATE UNIQUE INDEX scim_users_user_name_uq ON scim_users (tenant_id, lower(user_name));
CREATE INDEX scim_users_external_id ON scim_users (tenant_id, external_id);
CREATE INDEX scim_users_display_name ON scim_users (tenant_id, lower(display_name));
CREATE INDEX scim_users_emails ON scim_users USING gin (email_values);
CREATE INDEX scim_users_created ON scim_users (tenant_id, created_at, id);
CREATE INDEX scim_users_updated ON scim_users (tenant_id, updated_at, id);

CREATE TABLE scim_groups (
  tenant_id      text NOT NULL REFERENCES tenants(id),
  id             uuid NOT NULL,
  display_name   text NOT NULL,
  external_id    text,
  doc            jsonb NOT NULL DEFAULT '{}',
  version        integer NOT NULL DEFAULT 1,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX scim_groups_display_name ON scim_groups (tenant_id, lower(display_name));
CREATE INDEX scim_groups_external_id ON scim_groups (tenant_id, external_id);

-- One row per member, so a PATCH on a group of 50,000 members touches only the members named.
CREATE TABLE scim_group_members (
  tenant_id    text NOT NULL,
  group_id     uuid NOT NULL,
  member_id    uuid NOT NULL,
  member_type  text NOT NULL DEFAULT 'User',
  PRIMARY KEY (tenant_id, group_id, member_id),
  FOREIGN KEY (tenant_id, group_id) REFERENCES scim_groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX scim_group_members_member ON scim_group_members (tenant_id, member_id);

-- Transactional outbox: written in the same transaction as the resource change, relayed to
-- Temporal afterwards, so no acknowledged change is lost when Temporal is down.
CREATE TABLE outbox (
  id               bigserial PRIMARY KEY,
  tenant_id        text NOT NULL,
  resource_type    text NOT NULL CHECK (resource_type IN ('User', 'Group')),
  resource_id      uuid NOT NULL,
  change           text NOT NULL CHECK (change IN ('created', 'updated', 'deleted', 'membership', 'invitationAccepted')),
  resource_version integer NOT NULL,
  request_id       text NOT NULL,
  -- the invitation id of an invitationAccepted change
  subject_id       uuid,
  created_at       timestamptz NOT NULL DEFAULT now(),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  delivered_at     timestamptz
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id) WHERE delivered_at IS NULL;
