-- The event feed (issue 24, docs/events.md): RFC 9967 Security Event Tokens about each tenant's
-- users and groups, served by RFC 8936 poll and pushed by RFC 8935.
--
-- security_events: one tenant's stream of events, in `seq` order. Each row is written in the
-- transaction of the change it reports (the SCIM write, an activity's step), so none is lost and
-- none reports a change that was rolled back. `jti` is derived from the change (events/set.ts),
-- and a second write of one (an activity retried) is ignored (ON CONFLICT (jti) DO NOTHING): a
-- retry repeats the same jti. `claims` are the SET's claims without iss, aud, iat and jti (the
-- signer adds them when it delivers): sub_id, events, txn. No personal data: `:notice` events
-- name the attributes that changed, never their values. A row stays unacknowledged until the
-- receiver acknowledges it (poll `ack`, push 202) or refuses it (poll `setErrs`, push 400,
-- whose err and description are kept in `error`); unacknowledged rows are delivered again.
-- Rows are deleted after EVENTS_RETENTION_DAYS, acknowledged or not.
CREATE TABLE security_events (
  jti              uuid PRIMARY KEY,
  seq              bigserial NOT NULL,
  tenant_id        text NOT NULL REFERENCES tenants(id),
  event_uri        text NOT NULL,
  resource_type    text NOT NULL CHECK (resource_type IN ('User', 'Group')),
  resource_id      uuid NOT NULL,
  txn              text,
  claims           jsonb NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  acknowledged_at  timestamptz,
  acknowledged_by  text CHECK (acknowledged_by IN ('poll', 'push')),
  error            text
);
-- What a poll or a push pass reads: the tenant's unacknowledged events, oldest first.
CREATE INDEX security_events_unacknowledged ON security_events (tenant_id, seq) WHERE acknowledged_at IS NULL;
-- Retention: rows are written in time order, so a BRIN index finds the old ones at almost no cost per insert.
CREATE INDEX security_events_created ON security_events USING brin (created_at);

-- Every appended event is announced on the channel scimflow_events (payload: the tenant id), so
-- a long poll answers at once and the push loop wakes; sent at commit, one per tenant and
-- transaction (PostgreSQL folds identical notifications). Created in this schema, like the table.
CREATE OR REPLACE FUNCTION security_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('scimflow_events', NEW.tenant_id);
  RETURN NULL;
END;
$$;

CREATE TRIGGER security_events_appended
AFTER INSERT ON security_events
FOR EACH ROW EXECUTE FUNCTION security_events_notify();

-- The keys a tenant's SETs are signed with (ES256). The newest key neither superseded nor retired
-- signs; every key not retired is published in the tenant's JWKS (GET /events/<tenant>/jwks.json),
-- so SETs signed before a rotation still verify. The private key (PKCS#8 PEM) is AES-256-GCM
-- ciphertext (12-byte IV, ciphertext, 16-byte tag) under the key `encryption_key_id` names: one
-- of CONNECTOR_SECRETS_KEYS, or `db` for a key kept in app_secrets when none is configured.
CREATE TABLE event_signing_keys (
  kid                text PRIMARY KEY,
  tenant_id          text NOT NULL REFERENCES tenants(id),
  alg                text NOT NULL CHECK (alg IN ('ES256')),
  public_jwk         jsonb NOT NULL,
  encryption_key_id  text NOT NULL,
  private_key        bytea NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  -- Rotated (`npm run tokens -- rotate-event-key`): no longer signs, still published.
  superseded_at      timestamptz,
  -- Retired (`npm run tokens -- retire-event-key`): no longer published.
  retired_at         timestamptz
);
CREATE INDEX event_signing_keys_tenant ON event_signing_keys (tenant_id, created_at DESC);

-- RFC 9967 asynchronous requests: a SCIM write sent with `Prefer: respond-async` was answered
-- 202 with `Set-Txn: <txn>`; its misc:asyncresp event (the same txn) is appended when the user's
-- workflow has carried the change (events/lifecycle.ts, in the activity's transaction), which
-- sets completed_at. `location` and `method` are what the asyncresp event reports.
CREATE TABLE async_requests (
  tenant_id         text NOT NULL REFERENCES tenants(id),
  txn               text NOT NULL,
  resource_type     text NOT NULL CHECK (resource_type IN ('User', 'Group')),
  resource_id       uuid NOT NULL,
  method            text NOT NULL CHECK (method IN ('POST', 'PUT', 'PATCH', 'DELETE')),
  resource_version  integer NOT NULL,
  location          text NOT NULL,
  request_id        text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  completed_at      timestamptz,
  PRIMARY KEY (tenant_id, txn)
);
CREATE INDEX async_requests_pending ON async_requests (tenant_id, resource_id, resource_version) WHERE completed_at IS NULL;

-- RFC 8935 push, one stream per tenant whose configuration names a push endpoint: pushed in seq
-- order by one SCIM server at a time (the lease), the whole stream backing off while the
-- receiver is down (a later event never overtakes an earlier one).
CREATE TABLE event_push_streams (
  tenant_id          text PRIMARY KEY REFERENCES tenants(id),
  leased_until       timestamptz,
  next_attempt_at    timestamptz NOT NULL DEFAULT now(),
  failures           integer NOT NULL DEFAULT 0,
  last_error         text,
  last_delivered_at  timestamptz
);
