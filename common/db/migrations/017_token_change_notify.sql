-- Every change to the set of live tokens (a token created, revoked, re-expired or re-hashed,
-- or deleted) is announced on the channel scimflow_tokens, whoever writes it (the tokens CLI,
-- the admin API, the console, another SCIM server): each SCIM server keeps the hashes of the
-- live tokens in memory (common/live-credentials.ts) and reloads them on the notification, so
-- a valid token is served from an address whose failure budget is spent. One notification per
-- statement, sent at commit; last_used_at updates do not notify. Created in this schema, like
-- the table (tests give each file a schema of its own).
CREATE OR REPLACE FUNCTION scim_tokens_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('scimflow_tokens', '');
  RETURN NULL;
END;
$$;

CREATE TRIGGER scim_tokens_changed
AFTER INSERT OR UPDATE OF revoked_at, expires_at, token_hash OR DELETE ON scim_tokens
FOR EACH STATEMENT EXECUTE FUNCTION scim_tokens_notify();
