\set id random(1, 200)
-- the rows plan() reads for one order, as one prepared statement: profile,
-- items (weights and product columns), stock with its nodes, the free lots
-- of its lot-tracked SKUs, lanes to the destination, holidays of their
-- calendars.
WITH o AS (SELECT * FROM bench_routing.orders WHERE id = :id),
p AS MATERIALIZED (
    SELECT version, w_cost, w_days, w_late, w_distance, w_balance, split_penalty,
           backorder_penalty, max_shipments, allow_partial, ship_complete, late_policy,
           dist_fixed, dist_per_unit, dist_per_unit_mile
      FROM stockroute.profile WHERE profile_name = 'default'),
i AS MATERIALIZED (
    SELECT sku, weight_kg, tags, min_shelf_days,
           ship_to_allowed, ship_to_denied, ship_from_countries
      FROM stockroute.item WHERE sku = ANY ((SELECT skus FROM o)::text[])),
lt AS MATERIALIZED (
    SELECT node_id, sku, lot_code, on_hand - reserved, expires_on, attrs
      FROM stockroute.lot
     WHERE sku = ANY ((SELECT array_agg(sku) FROM i WHERE 'lot_tracked' = ANY (tags))::text[])
       AND on_hand > reserved),
s AS MATERIALIZED (
    SELECT s.node_id, s.sku, s.on_hand, s.reserved, s.available,
           s.reorder_point, n.name, n.status, n.lat, n.lon, n.handling_days,
           n.cutoff IS NOT NULL AND ((now() AT TIME ZONE n.timezone)::time > n.cutoff) AS past,
           i.allowed_nodes IS NULL OR s.node_id = ANY (i.allowed_nodes) AS allowed,
           n.timezone, n.ship_weekdays, n.calendar,
           'hazmat' = ANY (n.tags) AS hazmat_node, n.country
      FROM stockroute.stock s
      JOIN stockroute.node n ON n.node_id = s.node_id
      JOIN stockroute.item i ON i.sku = s.sku
     WHERE s.sku = ANY ((SELECT skus FROM o)::text[])
     ORDER BY s.node_id, s.sku),
l AS MATERIALIZED (
    SELECT l.node_id, l.service, l.base_cost, l.per_kg, l.per_unit,
           l.transit_days, l.min_weight_kg, l.max_weight_kg,
           CASE WHEN l.postal_prefix IS NOT NULL THEN 3
                WHEN l.region IS NOT NULL THEN 2
                WHEN l.country IS NOT NULL THEN 1 ELSE 0 END AS level,
           coalesce(length(l.postal_prefix), 0) AS prefix_len,
           l.transit_weekdays, l.calendar,
           l.mode, l.hazmat_ok, l.hazmat_separate
      FROM stockroute.lane l
     WHERE l.node_id = ANY ((SELECT array_agg(DISTINCT node_id) FROM s)::text[])
       AND (l.country IS NULL OR l.country = (SELECT country FROM o))
       AND (l.region IS NULL OR l.region = (SELECT region FROM o))
       AND (l.postal_prefix IS NULL OR starts_with((SELECT postal_code FROM o), l.postal_prefix))
     ORDER BY l.lane_id),
h AS MATERIALIZED (
    SELECT calendar, day FROM stockroute.holiday
     WHERE calendar = ANY ((SELECT array_agg(DISTINCT c) FROM (SELECT calendar FROM s
                             UNION SELECT calendar FROM l) u(c))::text[])
       AND day BETWEEN current_date - 2 AND current_date + 31
     ORDER BY calendar, day)
SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM i), (SELECT count(*) FROM s),
       (SELECT count(*) FROM lt), (SELECT count(*) FROM l), (SELECT count(*) FROM h);
