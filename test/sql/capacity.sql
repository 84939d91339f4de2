-- capacity: node.daily_order_limit and daily_unit_limit under a fixed
-- stockroute.now.  Proves: an order counts once per node and local day (the
-- node's timezone), its units with it; a full node drops out of routing with
-- its reason and reserve() there is refused (SR060) changing nothing; an
-- order already counted there today takes no second order slot; a unit limit
-- cuts what a node may ship; release and expiry give capacity back,
-- fulfilment keeps it; a new local day starts empty; a limit set in the
-- middle of a day starts from what the node already has; w_capacity steers
-- orders away from loaded nodes and its score term adds up; node_load always
-- equals its entries; node_health shows the load; routing_now() is the clock.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql

SET stockroute.explain_timing = off;
CREATE FUNCTION pg_temp.ex(p jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(stockroute.explain(p), '\d+ evaluated, \d+ pruned', 'N evaluated, N pruned')
$$;
-- an order to Atlanta
CREATE FUNCTION pg_temp.o(ref text, lines jsonb, extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('order_ref', ref,
                              'ship_to', '{"lat": 33.75, "lon": -84.39, "country": "US"}'::jsonb,
                              'lines', lines) || extra
$$;
-- the day's counters next to what the entries say they must be
CREATE FUNCTION pg_temp.load() RETURNS TABLE (node_id text, day date, orders integer, units bigint, matches boolean)
LANGUAGE sql AS $$
    SELECT l.node_id, l.day, l.orders, l.units,
           (l.orders, l.units) = (SELECT count(DISTINCT e.order_ref)::integer, coalesce(sum(e.qty), 0)::bigint
                                    FROM stockroute.node_load_entry e
                                   WHERE e.node_id = l.node_id AND e.day = l.day)
      FROM stockroute.node_load l ORDER BY l.node_id, l.day
$$;
CREATE FUNCTION pg_temp.reasons(p jsonb) RETURNS TABLE (node_id text, eligible text, reason text, load jsonb)
LANGUAGE sql AS $$
    SELECT c->>'node_id', c->>'eligible', c->>'reason', c->'load'
      FROM jsonb_array_elements(p->'explain'->'candidates') c
$$;

-- A Atlanta takes 2 orders a day, B Birmingham any number, M Macon 10 units
-- a day; A counts New York days, B Chicago days
INSERT INTO stockroute.node (node_id, name, lat, lon, timezone, daily_order_limit, daily_unit_limit) VALUES
    ('A', 'Atlanta',    33.749, -84.388, 'America/New_York', 2,    NULL),
    ('B', 'Birmingham', 33.519, -86.810, 'America/Chicago',  NULL, NULL),
    ('M', 'Macon',      32.841, -83.632, 'America/New_York', NULL, 10);
INSERT INTO stockroute.item (sku) VALUES ('X'), ('Y');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES
    ('A', 'X', 100), ('A', 'Y', 100), ('B', 'X', 100), ('B', 'Y', 100), ('M', 'X', 30), ('M', 'Y', 30);

-- limits are NULL (none) or >= 0
SELECT pg_temp.err($$UPDATE stockroute.node SET daily_order_limit = -1 WHERE node_id = 'B'$$);
SELECT pg_temp.err($$UPDATE stockroute.node SET daily_unit_limit = -5 WHERE node_id = 'B'$$);
SELECT node_id, daily_order_limit, daily_unit_limit FROM stockroute.node ORDER BY node_id;

-- the routing clock days are counted by: the transaction's start, or stockroute.now
SELECT stockroute.routing_now() = now() AS transaction_start;
-- Sunday 22 Nov 2026, 10:00 in Atlanta
SET stockroute.now = '2026-11-22 10:00-05';
SELECT stockroute.routing_now() = '2026-11-22 15:00+00' AS routing_clock;

-- 1. A is nearest: the first two orders go there; its load is in explain
SELECT * FROM pg_temp.reasons(stockroute.plan(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "X", "qty": 2}]')));
SELECT a->'shipments'->0->>'node_id' AS node, a->>'attempts' AS attempts
  FROM stockroute.allocate(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "X", "qty": 2}, {"line_ref": "2", "sku": "Y", "qty": 1}]')) a;
SELECT a->'shipments'->0->>'node_id' AS node
  FROM stockroute.allocate(pg_temp.o('SO-2', '[{"line_ref": "1", "sku": "X", "qty": 4}]')) a;
-- one order, however many lines, counts once; its units all count
SELECT * FROM pg_temp.load();
SELECT node_id, day, order_ref, qty FROM stockroute.node_load_entry ORDER BY node_id, order_ref, qty;

-- 2. A is full: it drops out with its reason, the order goes to M
SELECT pg_temp.ex(stockroute.allocate(pg_temp.o('SO-3', '[{"line_ref": "1", "sku": "X", "qty": 3}]')));
SELECT * FROM pg_temp.load();

-- 3. reserve() at the full node: refused, nothing changed
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'X', 'A', 1)$$);
SELECT (SELECT count(*) FROM stockroute.reservation) AS reservations,
       (SELECT reserved FROM stockroute.stock WHERE node_id = 'A' AND sku = 'X') AS a_x_reserved,
       (SELECT count(*) FROM stockroute.node_load_entry) AS entries;
SELECT * FROM pg_temp.load();
-- ... but SO-1, counted there today, takes no second slot: more units are fine
SELECT stockroute.reserve('SO-1', '3', 'Y', 'A', 5)->>'status' AS status;
SELECT * FROM pg_temp.load();
-- and so does plan() for it: A is not full for SO-1
SELECT * FROM pg_temp.reasons(stockroute.plan(pg_temp.o('SO-1', '[{"line_ref": "4", "sku": "X", "qty": 1}]')))
 WHERE node_id = 'A';

-- 4. releasing before shipment gives the capacity back: a whole order ...
SELECT stockroute.release('SO-2')->'units' AS released_units;
SELECT * FROM pg_temp.load();
SELECT * FROM pg_temp.reasons(stockroute.plan(pg_temp.o('SO-4', '[{"line_ref": "1", "sku": "X", "qty": 1}]')))
 WHERE node_id = 'A';
-- ... one line of an order gives its units back; the order stays while it has others
SELECT stockroute.release('SO-1', '3')->'units' AS released_units;
SELECT * FROM pg_temp.load();

-- 5. an expired hold gives it back too (reconcile() expires holds past expires_at)
SELECT stockroute.reserve('SO-5', '1', 'X', 'A', 7)->>'status' AS status;
SELECT * FROM pg_temp.load();
UPDATE stockroute.reservation SET expires_at = now() - interval '1 minute' WHERE order_ref = 'SO-5';
SELECT (stockroute.reconcile())->'expired' AS expired;
SELECT * FROM pg_temp.load();

-- 6. fulfilment keeps it: the node shipped those units that day
SELECT stockroute.commit('SO-1')->'committed' AS committed;
SELECT stockroute.fulfill('SO-1')->'units' AS fulfilled_units;
SELECT * FROM pg_temp.load();
SELECT stockroute.reserve('SO-6', '1', 'X', 'A', 1)->>'status' AS status;
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-7', '1', 'X', 'A', 1)$$);
SELECT * FROM pg_temp.load();

-- 7. a unit limit cuts what a node may ship: M has 10 units a day, 3 used
-- (SO-3).  To Macon, A full and B offline, X 6 and Y 6: M may give X its 6,
-- then Y only 1 (a node's rows go in sku order); 5 stay unfilled
UPDATE stockroute.node SET status = 'offline' WHERE node_id = 'B';
SELECT pg_temp.ex(stockroute.allocate(pg_temp.o('SO-10', '[{"line_ref": "1", "sku": "X", "qty": 6}, {"line_ref": "2", "sku": "Y", "qty": 6}]',
        '{"ship_to": {"lat": 32.84, "lon": -83.63}}')));
UPDATE stockroute.node SET status = 'active' WHERE node_id = 'B';
SELECT c->>'reason' AS m_reason
  FROM stockroute.decision d, jsonb_array_elements(d.output->'explain'->'candidates') c
 WHERE d.order_ref = 'SO-10' AND c->>'node_id' = 'M';
SELECT * FROM pg_temp.load();
-- M is full by units now: out of routing, and refused even for an order it has
SELECT * FROM pg_temp.reasons(stockroute.plan(pg_temp.o('SO-11', '[{"line_ref": "1", "sku": "X", "qty": 1}]',
        '{"ship_to": {"lat": 32.84, "lon": -83.63}}')));
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-10', '1', 'X', 'M', 1)$$);
SELECT * FROM pg_temp.load();

-- 8. the node's next local day starts empty.  At 00:30 New York time on the
-- 23rd A and M count the 23rd; B, in Chicago, still the 22nd
SET stockroute.now = '2026-11-23 00:30-05';
SELECT * FROM pg_temp.reasons(stockroute.plan(pg_temp.o('SO-12', '[{"line_ref": "1", "sku": "X", "qty": 1}]')));
SELECT stockroute.reserve('SO-12', '1', 'X', 'A', 1)->>'status' AS a, stockroute.reserve('SO-12', '2', 'X', 'B', 1)->>'status' AS b;
SELECT node_id, day, order_ref FROM stockroute.node_load_entry WHERE order_ref = 'SO-12' ORDER BY node_id;
SELECT * FROM pg_temp.load();
SET stockroute.now = '2026-11-22 10:00-05';

-- 9. a limit set in the middle of a day starts from what the node has: B,
-- by its Chicago day, has SO-12 on the 22nd
UPDATE stockroute.node SET daily_order_limit = 1 WHERE node_id = 'B';
SELECT * FROM pg_temp.reasons(stockroute.plan(pg_temp.o('SO-13', '[{"line_ref": "1", "sku": "X", "qty": 1}]')))
 WHERE node_id = 'B';
-- no node has room: A (SO-1, SO-6) and B full by orders, M by units
SELECT a->>'status' AS status, a->'unfilled' AS unfilled
  FROM stockroute.allocate(pg_temp.o('SO-13', '[{"line_ref": "1", "sku": "X", "qty": 1}]')) a;
SELECT order_ref, line_ref, qty FROM stockroute.backorder WHERE order_ref = 'SO-13';
-- a limit of 0 takes nothing; without a limit a node takes everything again,
-- and a counter row it has stays exact
UPDATE stockroute.node SET daily_order_limit = 0 WHERE node_id = 'B';
SELECT * FROM pg_temp.reasons(stockroute.plan(pg_temp.o('SO-14', '[{"line_ref": "1", "sku": "X", "qty": 1}]'))) WHERE node_id = 'B';
UPDATE stockroute.node SET daily_order_limit = NULL WHERE node_id IN ('A', 'B');
SELECT a->'shipments'->0->>'node_id' AS node
  FROM stockroute.allocate(pg_temp.o('SO-14', '[{"line_ref": "1", "sku": "X", "qty": 1}]')) a;
SELECT * FROM pg_temp.load();

-- 10. w_capacity: a score per shipment times the share of the tighter limit
-- used today.  On the 24th A, back at 2 orders a day, has one (SO-20)
SET stockroute.now = '2026-11-24 10:00-05';
UPDATE stockroute.node SET daily_order_limit = 2 WHERE node_id = 'A';
SELECT stockroute.reserve('SO-20', '1', 'X', 'A', 1)->>'status' AS status;
INSERT INTO stockroute.profile (profile_name, description, w_capacity)
VALUES ('spread', 'keep loaded nodes for later orders', 50);
-- default: A (nearest) despite its load; spread: 50 x 1/2 = 25 more for A,
-- so M (nothing used today)
SELECT p->'shipments'->0->>'node_id' AS node, p->'score_terms' AS terms
  FROM stockroute.plan(pg_temp.o('SO-21', '[{"line_ref": "1", "sku": "X", "qty": 1}]')) p;
SELECT p->'shipments'->0->>'node_id' AS node, p->'score_terms' AS terms, p->'score' AS score
  FROM stockroute.plan(pg_temp.o('SO-21', '[{"line_ref": "1", "sku": "X", "qty": 1}]', '{"profile": "spread"}')) p;
-- from A alone (B and M out), the capacity term is in the score and its terms
UPDATE stockroute.node SET status = 'offline' WHERE node_id IN ('B', 'M');
SELECT p->'shipments'->0->>'node_id' AS node, p->'score_terms' AS terms, p->'score' AS score,
       round((SELECT sum(v::numeric) FROM jsonb_each_text(p->'score_terms') t(k, v)), 6) = (p->>'score')::numeric AS adds_up
  FROM stockroute.plan(pg_temp.o('SO-21', '[{"line_ref": "1", "sku": "X", "qty": 1}]', '{"profile": "spread"}')) p;
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-21', '[{"line_ref": "1", "sku": "X", "qty": 1}]', '{"profile": "spread"}')));
UPDATE stockroute.node SET status = 'active' WHERE node_id IN ('B', 'M');
SELECT pg_temp.err($$UPDATE stockroute.profile SET w_capacity = -1 WHERE profile_name = 'spread'$$);

-- 11. node_health: today's load (at the routing clock) and the share used
SELECT node_id, daily_order_limit, daily_unit_limit, orders_today, units_today, capacity_used
  FROM stockroute.node_health ORDER BY node_id;
-- on the 22nd A took SO-14 while it had no limit: 3 orders of 2 (above 1)
SET stockroute.now = '2026-11-22 10:00-05';
SELECT node_id, daily_order_limit, daily_unit_limit, orders_today, units_today, capacity_used
  FROM stockroute.node_health ORDER BY node_id;

-- the counters equal their entries; invariant 2 holds
SELECT count(*) FILTER (WHERE NOT matches) AS counter_mismatches FROM pg_temp.load();
SELECT count(*) AS reserved_mismatches
  FROM stockroute.stock s
 WHERE s.reserved <> coalesce((SELECT sum(r.qty) FROM stockroute.reservation r
                                WHERE r.node_id = s.node_id AND r.sku = s.sku
                                  AND r.status IN ('held', 'committed')), 0);
