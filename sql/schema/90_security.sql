-- stockroute, least privilege: the node mapping (which nodes a role speaks
-- for) and the row-level security that keeps a node role to its own nodes'
-- stock, lots and events (docs/operations.md).  A "create 0.2.0" part
-- (sql/manifest), after sql/85_access.sql whose visible_nodes() the policies
-- call: created by the install script and by the update from 0.1.0.

-- Node roles and the nodes they speak for ---------------------------------------

CREATE TABLE stockroute.node_role (
    grantee     regrole NOT NULL,
    node_id     text NOT NULL REFERENCES stockroute.node ON UPDATE CASCADE ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (grantee, node_id)
);

CREATE INDEX node_role_node_idx ON stockroute.node_role (node_id);

COMMENT ON TABLE stockroute.node_role IS
    'Which nodes a role (a login role or a group) speaks for: it may ingest events for them and, as a node role, read only their stock, lot and event rows';
COMMENT ON COLUMN stockroute.node_role.grantee IS
    'the role; members that inherit its privileges are mapped too. Dropping the role leaves a dangling row (shown as an OID) that maps nobody';

-- the mapping is the user's data; pg_dump writes role names, so restore the
-- roles first (pg_dumpall --globals-only)
SELECT pg_catalog.pg_extension_config_dump('stockroute.node_role', '');

-- Row-level security: a node role reads its own nodes ---------------------------
-- The owner (and so every SECURITY DEFINER function) and superusers bypass it.
-- Each visible_nodes() is an InitPlan: evaluated once per query, not per row.

ALTER TABLE stockroute.stock ENABLE ROW LEVEL SECURITY;
CREATE POLICY node_scope ON stockroute.stock
    USING ((SELECT stockroute.visible_nodes()) IS NULL
           OR node_id = ANY ((SELECT stockroute.visible_nodes())::text[]));
COMMENT ON POLICY node_scope ON stockroute.stock IS
    'A node role sees and touches only the stock of the nodes stockroute.node_role maps it to; other roles are unaffected';

ALTER TABLE stockroute.lot ENABLE ROW LEVEL SECURITY;
CREATE POLICY node_scope ON stockroute.lot
    USING ((SELECT stockroute.visible_nodes()) IS NULL
           OR node_id = ANY ((SELECT stockroute.visible_nodes())::text[]));
COMMENT ON POLICY node_scope ON stockroute.lot IS
    'A node role sees and touches only the lots of the nodes stockroute.node_role maps it to; other roles are unaffected';

ALTER TABLE stockroute.event ENABLE ROW LEVEL SECURITY;
CREATE POLICY node_scope ON stockroute.event
    USING ((SELECT stockroute.visible_nodes()) IS NULL
           OR node_id = ANY ((SELECT stockroute.visible_nodes())::text[]));
COMMENT ON POLICY node_scope ON stockroute.event IS
    'A node role sees only the events of the nodes stockroute.node_role maps it to (not rejected events without a node); other roles are unaffected';
