-- OAuth 2.0 client credentials (RFC 6749 §4.4) per tenant, for IdPs that want them (the Entra
-- gallery): a client id and secret exchanged at POST /oauth/token for short-lived access tokens
-- (OAUTH_ACCESS_TOKEN_TTL, default 60 min), which the SCIM API accepts beside the static bearer
-- tokens. Secrets and access tokens are random (256 bits) and stored as SHA-256 hashes only,
-- like scim_tokens; the prefix tells secrets apart after a rotation.
CREATE TABLE oauth_clients (
  client_id          uuid PRIMARY KEY,
  tenant_id          text NOT NULL REFERENCES tenants(id),
  name               text NOT NULL,
  secret_hash        text NOT NULL UNIQUE,
  secret_prefix      text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  -- When the secret was last replaced (null: never); access tokens issued before keep working until they expire.
  secret_rotated_at  timestamptz,
  -- A revoked client gets no new access token, and the ones it holds are refused from the next request on.
  revoked_at         timestamptz,
  last_used_at       timestamptz
);
CREATE INDEX oauth_clients_tenant ON oauth_clients (tenant_id, created_at);

-- Issued access tokens: the hash, whose they are, and when they stop working (on the database
-- clock). Expired rows are kept a day (so a late request is told "expired", not "unknown"), then
-- deleted in small batches when tokens are issued.
CREATE TABLE oauth_access_tokens (
  token_hash   text PRIMARY KEY,
  client_id    uuid NOT NULL REFERENCES oauth_clients(client_id) ON DELETE CASCADE,
  tenant_id    text NOT NULL REFERENCES tenants(id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL
);
CREATE INDEX oauth_access_tokens_client ON oauth_access_tokens (client_id, expires_at);
CREATE INDEX oauth_access_tokens_expires ON oauth_access_tokens (expires_at);

-- Changes to either set of live credentials are announced on the channel of the bearer tokens
-- (migration 017): each SCIM server keeps the hashes of every live credential in memory
-- (common/live-credentials.ts), so a valid client secret or access token passes an address
-- whose failure budget is spent. last_used_at updates do not notify.
CREATE TRIGGER oauth_clients_changed
AFTER INSERT OR UPDATE OF revoked_at, secret_hash OR DELETE ON oauth_clients
FOR EACH STATEMENT EXECUTE FUNCTION scim_tokens_notify();

CREATE TRIGGER oauth_access_tokens_changed
AFTER INSERT OR DELETE ON oauth_access_tokens
FOR EACH STATEMENT EXECUTE FUNCTION scim_tokens_notify();
