-- Admin console sessions: an admin token exchanged for a session cookie. Only a SHA-256 hash of
-- the session id is stored; a session ends at its expiry, at sign-out, or when its token is
-- revoked (every request joins the token and checks revoked_at).
CREATE TABLE console_sessions (
  id_hash       text PRIMARY KEY,
  tenant_id     text NOT NULL REFERENCES tenants(id),
  token_id      uuid NOT NULL REFERENCES scim_tokens(id),
  -- the form field / header every state-changing request must echo (CSRF)
  csrf_token    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL
);
CREATE INDEX console_sessions_token ON console_sessions (token_id);

-- The console overview counts invitation events and times of the last 30 days per tenant.
CREATE INDEX audit_log_action ON audit_log (tenant_id, action, created_at);
