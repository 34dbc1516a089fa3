-- The request log (issue 23): one row per SCIM request of a known tenant, refused ones included,
-- so an admin sees what the identity provider sent and what it was told (Entra's provisioning
-- logs, Okta's tasks). Identifiers only: the path (query values other than identifiers elided),
-- the resource id, userName and externalId; never names, emails or phone numbers of the body.
-- Written in batches by scim-server/request-log.ts; rows older than REQUEST_LOG_RETENTION_DAYS
-- are deleted in small batches. No foreign keys: a log row outlives nothing and slows no write.
CREATE TABLE scim_request_log (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id    text NOT NULL,
  at           timestamptz NOT NULL,
  method       text NOT NULL,
  path         text NOT NULL,
  resource_id  text,
  user_name    text,
  external_id  text,
  status       smallint NOT NULL,
  scim_type    text,
  detail       text,
  token_id     uuid,
  request_id   text NOT NULL,
  duration_ms  real NOT NULL
);
-- Newest first per tenant, keyset paging on (at, id).
CREATE INDEX scim_request_log_tenant_at ON scim_request_log (tenant_id, at DESC, id DESC);
-- q: a userName, externalId, resource id or request id.
CREATE INDEX scim_request_log_user_name ON scim_request_log (tenant_id, lower(user_name)) WHERE user_name IS NOT NULL;
CREATE INDEX scim_request_log_external_id ON scim_request_log (tenant_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX scim_request_log_resource_id ON scim_request_log (tenant_id, resource_id) WHERE resource_id IS NOT NULL;
CREATE INDEX scim_request_log_request_id ON scim_request_log (request_id);
-- A token's last request and last error (the console's Connection page).
CREATE INDEX scim_request_log_token_at ON scim_request_log (token_id, at DESC) WHERE token_id IS NOT NULL;
CREATE INDEX scim_request_log_token_errors ON scim_request_log (token_id, at DESC) WHERE token_id IS NOT NULL AND status >= 400;
-- Retention.
CREATE INDEX scim_request_log_at ON scim_request_log (at);
