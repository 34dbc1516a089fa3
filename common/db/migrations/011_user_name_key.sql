-- userName uniqueness on a comparison key (domain/user-name.ts: RFC 8265 UsernameCaseMapped
-- mapping, surrounding spaces trimmed), so that look-alikes are one userName: "café" composed
-- and decomposed, "ｆｕｌｌ" and "full", " ann" and "ann". The userName stays as sent. The server
-- writes the key with every user; existing rows are backfilled right after this file
-- (common/db/backfills.ts). A row whose key would repeat an older user's (look-alikes stored
-- before this migration) keeps NULL, so the index stays unique; the backfill names them.
-- The case-insensitive index on lower(user_name) stays: lookups by `userName eq` use it.
ALTER TABLE scim_users ADD COLUMN user_name_key text;
CREATE UNIQUE INDEX scim_users_user_name_key_uq ON scim_users (tenant_id, user_name_key);
