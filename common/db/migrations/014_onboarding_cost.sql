-- The relay claims the oldest due changes (ORDER BY id LIMIT n): an index on id over the
-- undelivered rows lets the claim stop after n rows instead of sorting every pending row by id
-- (docs/performance.md §6: 8.6 → 5.6 ms per claim of 200 with 6,000 pending).
CREATE INDEX outbox_undelivered ON outbox (id) WHERE delivered_at IS NULL;
DROP INDEX outbox_pending;
