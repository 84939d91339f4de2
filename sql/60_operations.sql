-- stockroute, operations: daily node capacity, a node's rejection of its
-- part of an order (and the re-routing), and the node health figures they
-- feed; their tables are in sql/schema/60_operations.sql.  Pickup orders are
-- routing (src/plan.c, src/operations.c).  See docs/routing.md: Capacity,
-- Rejection, Pickup.
--
-- A "replace" part (sql/manifest): it runs in the install script and again
-- in every update, so each statement creates or replaces.

-- The routing clock ------------------------------------------------------------

CREATE OR REPLACE FUNCTION stockroute.routing_now()
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'stockroute_routing_now'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION stockroute.routing_now() IS
    'The routing clock: stockroute.now when set, else the transaction''s start time';

-- Count the reservations a statement made active, gave back or resized, per
-- node and day, and enforce the limits (src/capacity.c).  A statement-level
-- trigger, so the counter rows are locked once per statement, in (node_id,
-- day) order — after the stock rows, which the row-level reservation_apply
-- trigger has already locked — whatever order the statement met its rows in.
CREATE OR REPLACE FUNCTION stockroute.node_load_count()
RETURNS trigger
AS 'MODULE_PATHNAME', 'node_load_count'
LANGUAGE C
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION stockroute.node_load_count() IS
    'Trigger: counts the reservations a statement made active, released, expired or resized per node and local day (node_load_entry, node_load) and refuses (SR060) what exceeds a node''s daily limit';

CREATE OR REPLACE TRIGGER reservation_load_insert
    AFTER INSERT ON stockroute.reservation
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stockroute.node_load_count();
CREATE OR REPLACE TRIGGER reservation_load_update
    AFTER UPDATE ON stockroute.reservation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stockroute.node_load_count();

-- Rejection -----------------------------------------------------------------------

-- A node's rejection releases its part of the order, records the exclusion
-- and the decision and re-allocates elsewhere, as the owner.
CREATE OR REPLACE FUNCTION stockroute.reject(order_ref text, node_id text, reason text,
                                  exclude_for interval DEFAULT '7 days')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'stockroute_reject'
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION stockroute.reject(text, text, text, interval) IS
    'A node refuses its part of an order: release its held and committed reservations of the order, exclude the node for the order for exclude_for, re-allocate the lines elsewhere or backorder them, in one transaction; idempotent per (order_ref, node_id)';

-- Dashboards ----------------------------------------------------------------------

-- (here rather than in sql/50_reconcile.sql, beside the other dashboards,
-- because it reads node_load_entry and order_exclusion)
CREATE OR REPLACE VIEW stockroute.node_health AS
SELECT n.node_id, n.name, n.status, n.stale,
       n.status = 'active' AND NOT n.stale AS routable,
       n.last_event_at, n.last_occurred_at,
       pg_catalog.now() - n.last_event_at AS silent_for,
       n.stale_after,
       l.events_last_hour,
       l.lag_p50, l.lag_p95,
       coalesce(n.seq_max - n.seq_min + 1 - n.seq_count, 0) AS seq_missing,
       (SELECT count(*) FROM stockroute.alert a
         WHERE a.node_id = n.node_id AND a.status = 'open') AS open_alerts,
       n.daily_order_limit, n.daily_unit_limit,
       ld.orders_today, ld.units_today,
       greatest(ld.orders_today::float8 / nullif(n.daily_order_limit, 0),
                ld.units_today::float8 / nullif(n.daily_unit_limit, 0),
                CASE WHEN n.daily_order_limit = 0 OR n.daily_unit_limit = 0 THEN 1 END) AS capacity_used,
       rj.rejections_24h, rj.rejections_7d,
       round(rj.rejections_7d::numeric / nullif(rj.rejections_7d + ld.orders_7d, 0), 4) AS reject_rate_7d
  FROM stockroute.node n
  LEFT JOIN LATERAL (
        SELECT count(*) AS events_last_hour,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY e.latency) AS lag_p50,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY e.latency) AS lag_p95
          FROM stockroute.event e
         WHERE e.node_id = n.node_id AND e.received_at > pg_catalog.now() - interval '1 hour'
           AND e.latency IS NOT NULL) l ON true
  CROSS JOIN LATERAL (
        SELECT count(DISTINCT e.order_ref) FILTER (WHERE e.day = t.today) AS orders_today,
               coalesce(sum(e.qty) FILTER (WHERE e.day = t.today), 0) AS units_today,
               count(DISTINCT (e.day, e.order_ref)) FILTER (WHERE e.order_ref IS NOT NULL) AS orders_7d
          FROM (SELECT (pg_catalog.now() AT TIME ZONE n.timezone)::date AS today) t
          LEFT JOIN stockroute.node_load_entry e
            ON e.node_id = n.node_id AND e.day > t.today - 7 AND e.day <= t.today) ld
  CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE x.created_at > pg_catalog.now() - interval '24 hours') AS rejections_24h,
               count(*) AS rejections_7d
          FROM stockroute.order_exclusion x
         WHERE x.node_id = n.node_id AND x.created_at > pg_catalog.now() - interval '7 days') rj;

COMMENT ON VIEW stockroute.node_health IS
    'Per node: status, stale, routable, last event, event lag (received_at - occurred_at) p50/p95 over the last hour, missing seqs, open alerts; daily limits, orders and units given today (its local day by the real clock, as the limits count it) and the share of the tighter limit used; rejections in the last 24 hours and 7 days and their share of the orders given to the node in its last 7 days';
