-- Changes that remove access (a deactivation, a deletion) are relayed ahead of the others, so
-- a suspension sent in the middle of a long import does not wait behind it (least privilege).
ALTER TABLE outbox ADD COLUMN urgent boolean NOT NULL DEFAULT false;
CREATE INDEX outbox_undelivered_urgent ON outbox (id) WHERE delivered_at IS NULL AND urgent;
