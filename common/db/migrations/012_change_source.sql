-- Who made each outbox change (domain/resource-changes.ts ChangeSource), from the credential
-- that authenticated the request or the server part that wrote it. The admin audit trail used
-- to read it from the request id's prefix ("admin:…"), which a SCIM client could send as its
-- X-Request-Id; the request id is now a correlation value only. Rows written before keep NULL
-- ("unknown"): their prefix cannot be trusted.
ALTER TABLE outbox ADD COLUMN source text;
