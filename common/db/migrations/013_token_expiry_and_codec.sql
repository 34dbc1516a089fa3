-- Tokens may expire (`npm run tokens -- create … --expires 90d`); NULL: never. Live tokens that
-- expire within 14 days are counted in scimflow_tokens_expiring_soon.
ALTER TABLE scim_tokens ADD COLUMN expires_at timestamptz;

-- Codec tokens: for the payload codec endpoint only, each reaching one tenant's payloads
-- (common/codec/remote-codec.ts). Admin tokens no longer open the codec.
ALTER TABLE scim_tokens DROP CONSTRAINT scim_tokens_kind_check;
ALTER TABLE scim_tokens ADD CONSTRAINT scim_tokens_kind_check CHECK (kind IN ('scim', 'admin', 'codec'));
