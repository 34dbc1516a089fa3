-- Connectors (issue 24, docs/connectors.md): what the application a tenant provisions into
-- confirmed for each user, and the secrets its connector authenticates with.
--
-- connector_accounts: one row per user the tenant's connector carried a change for (none for
-- the default `directory` connector, whose application is the ledger itself). The ledger
-- (app_*) says what scimflow decided the user holds; this row says what the application
-- confirmed: its account id, the digest of each part it accepted (profile, organisations,
-- licences, providerAccounts, access), login as last set, and the last refusal or outage. The
-- access check before the invitation compares the parts' digests with the desired state's, so
-- no invitation goes out for an account the application refused. No personal data: ids,
-- digests, kinds, and the application's last error message.
CREATE TABLE connector_accounts (
  tenant_id        text NOT NULL REFERENCES tenants(id),
  user_id          uuid NOT NULL,
  connector_kind   text NOT NULL CHECK (connector_kind IN ('directory', 'http', 'scim')),
  app_id           text,
  pushed_version   integer,
  pushed_digest    text,
  pushed_at        timestamptz,
  confirmed_parts  jsonb NOT NULL DEFAULT '{}',
  confirmed_at     timestamptz,
  login_enabled    boolean,
  terminated_at    timestamptz,
  last_error       text,
  last_error_kind  text CHECK (last_error_kind IN ('permanent', 'conflict', 'transient')),
  last_error_at    timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id)
);
-- The console's connector health: users whose last call failed.
CREATE INDEX connector_accounts_errors ON connector_accounts (tenant_id, last_error_at DESC) WHERE last_error IS NOT NULL;

-- Secrets a tenant's connector configuration names (`auth.bearer.secret: NAME`): AES-256-GCM
-- ciphertext (12-byte IV, then the ciphertext, then the 16-byte tag), encrypted with the key
-- `key_id` names: one of CONNECTOR_SECRETS_KEYS, or `db` for the key kept in app_secrets when
-- none is configured (development). Set with `npm run tenant-config -- set-secret`; never in
-- the YAML, never logged.
CREATE TABLE connector_secrets (
  tenant_id   text NOT NULL REFERENCES tenants(id),
  name        text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  key_id      text NOT NULL,
  ciphertext  bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);
