-- stockroute, node access: which nodes the calling role may read and send
-- events for (C, src/access.c), under the row-level security of
-- sql/schema/90_security.sql and in ingest().
--
-- A "replace" part (sql/manifest): it runs in the install script and again
-- in every update, so each statement creates or replaces.

CREATE OR REPLACE FUNCTION stockroute.visible_nodes()
RETURNS text[]
AS 'MODULE_PATHNAME', 'stockroute_visible_nodes'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION stockroute.visible_nodes() IS
    'The nodes the current role may read under row-level security: NULL for every node (superusers, the owner, stockroute_admin, stockroute_app, roles that are no node role); for a node role the nodes stockroute.node_role maps it to';

CREATE OR REPLACE FUNCTION stockroute.require_node_access(events jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'stockroute_require_node_access'
LANGUAGE C STABLE STRICT;

COMMENT ON FUNCTION stockroute.require_node_access(jsonb) IS
    'Raise 42501 naming the first event''s node_id (in batch order) that the calling role may not send events for: any node for superusers, the owner and stockroute_admin, else the nodes stockroute.node_role maps it to. ingest() calls it first';
