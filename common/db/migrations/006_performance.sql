-- Statistics that keep up with bulk imports (docs/performance.md 5.2b). Autovacuum analyses a
-- table after 10 % of it changed by default, so an import of 10,000 users into a database of
-- 100,000 ran most of its look-ups on stale statistics; 2 % re-analyses far sooner.
ALTER TABLE scim_users SET (autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE provisioning_states SET (autovacuum_analyze_scale_factor = 0.02);

-- Group lists page in creation order (keys first, common/repositories/list-query.ts), as user
-- lists do over scim_users_created.
CREATE INDEX scim_groups_created ON scim_groups (tenant_id, created_at, id);
