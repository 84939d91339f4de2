-- reject: a node refuses its part of an order, under a fixed stockroute.now.
-- Proves: its held and committed reservations of the order are released and
-- its daily capacity given back; the node is excluded for that order (with
-- its reason in explain) until the exclusion expires, not for other orders;
-- the lines are routed again by allocate()'s code path (committed ones land
-- committed) or backordered; a decision of kind 'reject' and outbox messages
-- record it; a second call returns the first result and changes nothing; a
-- node given the order again may reject it again; an order reserved without
-- allocate() is routed as if shipped to the node, and what finds no node is
-- backordered with an order that backorder filling routes once stock
-- arrives; node_health counts rejections; every bad argument fails with its
-- SQLSTATE and changes nothing.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql

SET stockroute.explain_timing = off;
CREATE FUNCTION pg_temp.ex(p jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(stockroute.explain(p), '\d+ evaluated, \d+ pruned', 'N evaluated, N pruned')
$$;
CREATE FUNCTION pg_temp.o(ref text, lines jsonb, extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('order_ref', ref,
                              'ship_to', '{"lat": 33.75, "lon": -84.39, "country": "US"}'::jsonb,
                              'lines', lines) || extra
$$;
-- an order's reservations, without ids and timestamps
CREATE FUNCTION pg_temp.res(ref text) RETURNS TABLE (line_ref text, node_id text, qty bigint, status text, key text)
LANGUAGE sql AS $$
    SELECT r.line_ref, r.node_id, r.qty, r.status,
           regexp_replace(r.idempotency_key, '[0-9a-f-]{36}$', '<exclusion_id>')
      FROM stockroute.reservation r WHERE r.order_ref = ref ORDER BY r.node_id, r.line_ref, r.status
$$;
-- what a call may change
CREATE FUNCTION pg_temp.counts() RETURNS TABLE (reservations bigint, active bigint, exclusions bigint,
                                                 decisions bigint, backorders bigint, outbox bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM stockroute.reservation),
           (SELECT count(*) FROM stockroute.reservation WHERE status IN ('held', 'committed')),
           (SELECT count(*) FROM stockroute.order_exclusion),
           (SELECT count(*) FROM stockroute.decision),
           (SELECT count(*) FROM stockroute.backorder),
           (SELECT count(*) FROM stockroute.outbox)
$$;

-- A Atlanta (2 orders a day), B Birmingham, C Los Angeles (far)
INSERT INTO stockroute.node (node_id, name, lat, lon, timezone, daily_order_limit) VALUES
    ('A', 'Atlanta',     33.749,  -84.388, 'America/New_York',    2),
    ('B', 'Birmingham',  33.519,  -86.810, 'America/Chicago',     NULL),
    ('C', 'Los Angeles', 34.052, -118.244, 'America/Los_Angeles', NULL);
INSERT INTO stockroute.item (sku) VALUES ('VALVE-9'), ('PUMP-1');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES
    ('A', 'VALVE-9', 8), ('B', 'VALVE-9', 12), ('C', 'VALVE-9', 15),
    ('A', 'PUMP-1', 10), ('B', 'PUMP-1', 10);
SET stockroute.now = '2026-11-22 10:00-05';

-- SO-1: 20 valves, A 8 + B 12, and 2 pumps from A; paid (committed)
SELECT pg_temp.ex(stockroute.allocate(pg_temp.o('SO-1',
        '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}, {"line_ref": "2", "sku": "PUMP-1", "qty": 2}]')));
SELECT stockroute.commit('SO-1')->'committed' AS committed;
SELECT node_id, orders, units FROM stockroute.node_load ORDER BY node_id;

-- 1. A cannot find the valves: its part (line 1 x 8 and line 2 x 2) is
-- released, committed as it was; the valves go to C (B has none left), the
-- pumps to B; both land committed
SELECT pg_temp.ex(r) AS explain, r->'rejected'->'released' AS released, r->>'attempts' AS attempts
  FROM stockroute.reject('SO-1', 'A', 'cannot find the item') r;
SELECT * FROM pg_temp.res('SO-1');
-- A's capacity came back; stock.reserved follows the reservations
SELECT node_id, orders, units FROM stockroute.node_load ORDER BY node_id;
SELECT node_id, sku, on_hand, reserved, available FROM stockroute.stock ORDER BY node_id, sku;
-- the exclusion, the decision, the outbox
SELECT order_ref, node_id, reason, expires_at = '2026-11-29 10:00-05' AS for_7_days,
       decision_id = (SELECT decision_id FROM stockroute.decision WHERE kind = 'reject') AS recorded
  FROM stockroute.order_exclusion;
SELECT kind, profile_name, input, output->>'status' AS status FROM stockroute.decision ORDER BY created_at;
SELECT topic, node_id, payload - 'lines' - 'order_ref' AS payload, payload->'lines' AS lines
  FROM stockroute.outbox WHERE topic <> 'shipment' OR payload ? 'rerouted_from' ORDER BY created_at, node_id;

-- 2. a second call returns the first result and changes nothing
SELECT * FROM pg_temp.counts();
SELECT r = (SELECT output FROM stockroute.decision WHERE kind = 'reject') AS same_result
  FROM stockroute.reject('SO-1', 'A', 'says it again') r;
SELECT * FROM pg_temp.counts();

-- 3. routing skips A for SO-1, with the reason; not for other orders
SELECT c->>'node_id' AS node, c->>'eligible' AS eligible, c->>'reason' AS reason
  FROM jsonb_array_elements(stockroute.plan(pg_temp.o('SO-1', '[{"line_ref": "3", "sku": "PUMP-1", "qty": 1}]'))
                            ->'explain'->'candidates') c;
SELECT p->'shipments'->0->>'node_id' AS node
  FROM stockroute.plan(pg_temp.o('SO-2', '[{"line_ref": "1", "sku": "PUMP-1", "qty": 1}]')) p;
-- ... until the exclusion expires (7 days by default, at the routing clock)
SET stockroute.now = '2026-11-29 10:00:01-05';
SELECT p->'shipments'->0->>'node_id' AS node
  FROM stockroute.plan(pg_temp.o('SO-1', '[{"line_ref": "3", "sku": "PUMP-1", "qty": 1}]')) p;
SET stockroute.now = '2026-11-22 10:00-05';

-- 4. given the order again, the node may reject it again: a new rejection
SELECT stockroute.reserve('SO-1', '3', 'PUMP-1', 'A', 1)->>'status' AS status;
SELECT r->'rejected'->'released' AS released, r->'shipments' AS shipments
  FROM stockroute.reject('SO-1', 'A', 'still cannot', '1 hour') r;
SELECT node_id, reason, expires_at - '2026-11-22 10:00-05' AS excluded_for
  FROM stockroute.order_exclusion WHERE order_ref = 'SO-1' ORDER BY expires_at;
SELECT * FROM pg_temp.res('SO-1');

-- 5. nothing else can take it: backordered, with the reason.  SO-3 to Los
-- Angeles ships from C; A (the only other valves) is draining when C refuses
SELECT a->'shipments'->0->>'node_id' AS node
  FROM stockroute.allocate(pg_temp.o('SO-3', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 5}]',
                                     '{"ship_to": {"lat": 34.05, "lon": -118.24}}')) a;
UPDATE stockroute.node SET status = 'draining' WHERE node_id = 'A';
SELECT pg_temp.ex(stockroute.reject('SO-3', 'C', '3PL in maintenance', '2 days'));
UPDATE stockroute.node SET status = 'active' WHERE node_id = 'A';
SELECT order_ref, line_ref, sku, qty, status, order_doc->'ship_to' IS NOT NULL AS has_order
  FROM stockroute.backorder ORDER BY order_ref;
SELECT topic, node_id, payload - 'backorder_id' AS payload
  FROM stockroute.outbox WHERE topic = 'backorder';

-- 6. an order reserved with reserve() alone has no allocate() decision: its
-- lines are routed as an order shipped to the rejecting node's location,
-- partial fills allowed (as a short stock row's holds are): the pumps go to A
SELECT stockroute.reserve('SO-4', '1', 'PUMP-1', 'B', 2)->>'status' AS status;
SELECT r->>'status' AS status, r->'unfilled' AS unfilled,
       r->'shipments'->0->>'node_id' AS node, r->'shipments'->0->'lines'->0->>'qty' AS qty
  FROM stockroute.reject('SO-4', 'B', 'damaged') r;
SELECT * FROM pg_temp.res('SO-4');
SELECT count(*) AS backorders FROM stockroute.backorder WHERE order_ref = 'SO-4';

-- 7. node_health counts the rejections against the orders the node was given
SELECT node_id, rejections_24h, rejections_7d, reject_rate_7d
  FROM stockroute.node_health ORDER BY node_id;

-- 8. bad calls: each fails with its SQLSTATE and changes nothing.  SO-2 is
-- at B only; SO-1's part at B ships (fulfilled)
SELECT stockroute.reserve('SO-2', '1', 'PUMP-1', 'B', 1)->>'status' AS status;
SELECT stockroute.commit('SO-1')->'committed' AS committed;
SELECT stockroute.fulfill('SO-1', NULL, 'B')->'units' AS fulfilled;
SELECT * FROM pg_temp.counts();
SELECT pg_temp.err($$SELECT stockroute.reject(NULL, 'A', 'x')$$);
SELECT pg_temp.err($$SELECT stockroute.reject('SO-1', NULL, 'x')$$);
SELECT pg_temp.err($$SELECT stockroute.reject('SO-1', 'A', NULL)$$);
SELECT pg_temp.err($$SELECT stockroute.reject('SO-1', 'B', 'x', NULL)$$);
SELECT pg_temp.err($$SELECT stockroute.reject('', 'A', 'x')$$);
SELECT pg_temp.err($$SELECT stockroute.reject('SO-1', '', 'x')$$);
SELECT pg_temp.err($$SELECT stockroute.reject('SO-1', 'B', '')$$);
SELECT pg_temp.err($$SELECT stockroute.reject('SO-1', 'B', 'x', '0')$$);
SELECT pg_temp.err($$SELECT stockroute.reject('SO-1', 'B', 'x', '-1 day')$$);
SELECT pg_temp.err($$SELECT stockroute.reject('SO-1', 'NOPE', 'x')$$);
SELECT pg_temp.err($$SELECT stockroute.reject('SO-404', 'A', 'x')$$);
-- nothing to reject: A never had SO-2, B shipped its part of SO-1
SELECT pg_temp.err($$SELECT stockroute.reject('SO-2', 'A', 'x')$$);
SELECT pg_temp.err($$SELECT stockroute.reject('SO-1', 'B', 'x')$$);
SELECT * FROM pg_temp.counts();

-- invariant 2 and the capacity counters still hold
SELECT count(*) AS reserved_mismatches
  FROM stockroute.stock s
 WHERE s.reserved <> coalesce((SELECT sum(r.qty) FROM stockroute.reservation r
                                WHERE r.node_id = s.node_id AND r.sku = s.sku
                                  AND r.status IN ('held', 'committed')), 0);
SELECT count(*) AS counter_mismatches
  FROM stockroute.node_load l
 WHERE (l.orders, l.units) <> (SELECT count(DISTINCT e.order_ref)::integer, coalesce(sum(e.qty), 0)::bigint
                                 FROM stockroute.node_load_entry e WHERE e.node_id = l.node_id AND e.day = l.day);

-- 9. a reserve()-only order whose units find no node: backordered with the
-- order it was routed as, which backorder filling routes once stock arrives
INSERT INTO stockroute.item (sku) VALUES ('GASKET');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES ('C', 'GASKET', 5);
SELECT stockroute.reserve('SO-9', '1', 'GASKET', 'C', 5)->>'status' AS status;
SELECT r->>'status' AS status, r->'unfilled' AS unfilled
  FROM stockroute.reject('SO-9', 'C', 'lost in the warehouse') r;
SELECT line_ref, sku, qty, status, order_doc->'lines' AS lines, order_doc->'options' AS options,
       order_doc->'ship_to'->>'lat' AS ship_to_lat
  FROM stockroute.backorder WHERE order_ref = 'SO-9';
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES ('B', 'GASKET', 5);
SELECT stockroute.fill_backorders(ARRAY['GASKET']) AS filled;
SELECT * FROM pg_temp.res('SO-9');
SELECT status FROM stockroute.backorder WHERE order_ref = 'SO-9';
