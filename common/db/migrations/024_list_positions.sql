-- Listing positions (issue 25): every SCIM user and group holds a position in its tenant's
-- listing that does not move while a client walks it. startIndex N of an unfiltered list is
-- position N, so a page is an index range scan (no OFFSET: the last page of 250,000 users costs
-- what the first does), and a user deleted before the walker's page leaves a hole instead of
-- shifting everyone after it (offsets did: a walk with count=7 while 30 users were deleted and
-- 30 created skipped 2 users that existed throughout). Cursors (RFC 9865) are positions too.
--
-- * A new resource takes the lowest hole its tenant has, else the next position: churn fills
--   the holes it made, and a walker sees each resource that existed throughout exactly once.
-- * A deleted resource's position becomes a hole (a page over it is shorter than `count`).
-- * Holes left over (more deletions than creations) are closed by renumbering, only after the
--   tenant's listing has been quiet longer than a cursor lives (scim-server/list-compaction.ts).
--
-- The listing's row in scim_list_positions is locked by every position taken (until commit) and
-- by the renumbering, so the two never interleave.

CREATE TABLE scim_list_positions (
  tenant_id      text NOT NULL REFERENCES tenants(id),
  resource       text NOT NULL CHECK (resource IN ('User', 'Group')),
  -- When a client last paged this listing (written at most every 30 s per server): the renumbering waits for quiet.
  listed_at      timestamptz,
  PRIMARY KEY (tenant_id, resource)
);

CREATE TABLE scim_list_holes (
  tenant_id  text NOT NULL,
  resource   text NOT NULL,
  position   bigint NOT NULL,
  PRIMARY KEY (tenant_id, resource, position)
);

ALTER TABLE scim_users ADD COLUMN list_position bigint;
ALTER TABLE scim_groups ADD COLUMN list_position bigint;

-- Existing resources keep the order they were listed in (creation).
UPDATE scim_users u SET list_position = n.rn
FROM (SELECT tenant_id, id, row_number() OVER (PARTITION BY tenant_id ORDER BY created_at, id) AS rn FROM scim_users) n
WHERE u.tenant_id = n.tenant_id AND u.id = n.id;
UPDATE scim_groups g SET list_position = n.rn
FROM (SELECT tenant_id, id, row_number() OVER (PARTITION BY tenant_id ORDER BY created_at, id) AS rn FROM scim_groups) n
WHERE g.tenant_id = n.tenant_id AND g.id = n.id;

INSERT INTO scim_list_positions (tenant_id, resource) SELECT DISTINCT tenant_id, 'User' FROM scim_users;
INSERT INTO scim_list_positions (tenant_id, resource) SELECT DISTINCT tenant_id, 'Group' FROM scim_groups;

ALTER TABLE scim_users ALTER COLUMN list_position SET NOT NULL;
ALTER TABLE scim_groups ALTER COLUMN list_position SET NOT NULL;
-- Deferrable: the renumbering moves positions down in one statement and checks at commit.
ALTER TABLE scim_users ADD CONSTRAINT scim_users_list_position_uq UNIQUE (tenant_id, list_position) DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE scim_groups ADD CONSTRAINT scim_groups_list_position_uq UNIQUE (tenant_id, list_position) DEFERRABLE INITIALLY IMMEDIATE;

-- Every insert, whatever its path (create, restore of a rejected deletion, a seed), takes a position here.
-- The next position is read from the unique index (the highest + 1), not kept in a counter: an
-- updated counter row makes a new row version per insert, and a seed of 25,000 users in one
-- statement then walked a chain of versions as long as the rows inserted before it.
CREATE FUNCTION scim_take_list_position() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  kind text := TG_ARGV[0];
  taken bigint;
BEGIN
  PERFORM 1 FROM scim_list_positions WHERE tenant_id = NEW.tenant_id AND resource = kind FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO scim_list_positions (tenant_id, resource) VALUES (NEW.tenant_id, kind) ON CONFLICT DO NOTHING;
    PERFORM 1 FROM scim_list_positions WHERE tenant_id = NEW.tenant_id AND resource = kind FOR UPDATE;
  END IF;
  DELETE FROM scim_list_holes h
  WHERE h.tenant_id = NEW.tenant_id AND h.resource = kind
    AND h.position = (SELECT min(position) FROM scim_list_holes WHERE tenant_id = NEW.tenant_id AND resource = kind)
  RETURNING h.position INTO taken;
  -- ORDER BY … DESC LIMIT 1, not max(): with no statistics for the tenant yet, max() was planned
  -- as an aggregate over all of the tenant's index entries, once per inserted row.
  IF taken IS NULL AND kind = 'User' THEN
    SELECT list_position + 1 INTO taken FROM scim_users WHERE tenant_id = NEW.tenant_id ORDER BY list_position DESC LIMIT 1;
  ELSIF taken IS NULL THEN
    SELECT list_position + 1 INTO taken FROM scim_groups WHERE tenant_id = NEW.tenant_id ORDER BY list_position DESC LIMIT 1;
  END IF;
  NEW.list_position := COALESCE(taken, 1);
  RETURN NEW;
END $$;

CREATE FUNCTION scim_free_list_position() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO scim_list_holes (tenant_id, resource, position) VALUES (OLD.tenant_id, TG_ARGV[0], OLD.list_position) ON CONFLICT DO NOTHING;
  RETURN OLD;
END $$;

CREATE TRIGGER scim_users_take_position BEFORE INSERT ON scim_users FOR EACH ROW EXECUTE FUNCTION scim_take_list_position('User');
CREATE TRIGGER scim_users_free_position AFTER DELETE ON scim_users FOR EACH ROW EXECUTE FUNCTION scim_free_list_position('User');
CREATE TRIGGER scim_groups_take_position BEFORE INSERT ON scim_groups FOR EACH ROW EXECUTE FUNCTION scim_take_list_position('Group');
CREATE TRIGGER scim_groups_free_position AFTER DELETE ON scim_groups FOR EACH ROW EXECUTE FUNCTION scim_free_list_position('Group');
