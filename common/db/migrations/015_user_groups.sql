-- A user's groups for its SCIM representation (RFC 7643 §4.1.2): direct memberships, then the
-- groups those groups are in. A group reached both ways is 'direct'; UNION keeps each
-- (group, direct) pair once, so a cycle of groups ends. In PL/pgSQL so each connection plans
-- the statements once: the user look-up path calls it for every user it answers, and most
-- users are in no group (one index probe).
CREATE OR REPLACE FUNCTION scim_user_groups(p_tenant text, p_user uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM scim_group_members WHERE tenant_id = p_tenant AND member_id = p_user) THEN
    RETURN NULL;
  END IF;
  RETURN (
    WITH RECURSIVE up(group_id, direct) AS (
      SELECT m.group_id, true FROM scim_group_members m WHERE m.tenant_id = p_tenant AND m.member_id = p_user
      UNION
      SELECT m.group_id, false FROM up JOIN scim_group_members m ON m.tenant_id = p_tenant AND m.member_id = up.group_id
    )
    SELECT jsonb_agg(jsonb_build_object('value', x.id::text, 'display', x.display_name, 'type', CASE WHEN x.direct THEN 'direct' ELSE 'indirect' END)
                     ORDER BY x.display_name, x.id)
    FROM (SELECT g.id, g.display_name, bool_or(up.direct) AS direct
          FROM up JOIN scim_groups g ON g.tenant_id = p_tenant AND g.id = up.group_id
          GROUP BY g.id, g.display_name) x
  );
END;
$$;
