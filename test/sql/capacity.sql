-- capacity: node.daily_order_limit and daily_unit_limit, counted on each
-- node's local day by the real clock.  Proves: an order counts once per node
-- and local day (the node's timezone), its units with it; a full node drops
-- out of routing with its reason and reserve() there is refused (SR060)
-- changing nothing; an order already counted there today takes no second
-- order slot; a unit limit cuts what a node may ship; release and expiry give
-- capacity back, fulfilment keeps it; a limit set in the middle of a day
-- starts from what the node already has; a new local day starts empty; each
-- node counts its own local day; w_capacity steers orders away from loaded
-- nodes and its score term adds up; node_load always equals its entries;
-- node_health shows the load; the routing clock (stockroute.now) moves
-- quotes, never the limits: a session that sets it to another day still
-- cannot give a node with a limit of 1 a second order today.
--
-- The test runs in one transaction, so the real day cannot turn while it
-- runs; the turn of a day is played by moving what was counted back a day
-- (pg_temp.night).  The nodes count New York days, as does the session, so a
-- node's day and the plans' today agree at any hour.  Dates, days and scores
-- follow the weekday the test runs on, so none is printed.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql

SET stockroute.explain_timing = off;
SET TimeZone = 'America/New_York';
BEGIN;
-- an error with the real local day in it as <today>
CREATE FUNCTION pg_temp.cerr(stmt text) RETURNS text LANGUAGE sql AS $$
    SELECT replace(pg_temp.err(stmt), to_char(now()::date, 'YYYY-MM-DD'), '<today>')
$$;
-- an order to Atlanta
CREATE FUNCTION pg_temp.o(ref text, lines jsonb, extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('order_ref', ref,
                              'ship_to', '{"lat": 33.75, "lon": -84.39, "country": "US"}'::jsonb,
                              'lines', lines) || extra
$$;
-- the counters, by how many days before the node's local today, next to what
-- the entries say they must be
CREATE FUNCTION pg_temp.load() RETURNS TABLE (node_id text, days_ago integer, orders integer, units bigint, matches boolean)
LANGUAGE sql AS $$
    SELECT l.node_id, (now() AT TIME ZONE n.timezone)::date - l.day, l.orders, l.units,
           (l.orders, l.units) = (SELECT count(DISTINCT e.order_ref)::integer, coalesce(sum(e.qty), 0)::bigint
                                    FROM stockroute.node_load_entry e
                                   WHERE e.node_id = l.node_id AND e.day = l.day)
      FROM stockroute.node_load l JOIN stockroute.node n ON n.node_id = l.node_id
     ORDER BY l.node_id, l.day
$$;
CREATE FUNCTION pg_temp.entries() RETURNS TABLE (node_id text, days_ago integer, order_ref text, qty bigint)
LANGUAGE sql AS $$
    SELECT e.node_id, (now() AT TIME ZONE n.timezone)::date - e.day, e.order_ref, e.qty
      FROM stockroute.node_load_entry e JOIN stockroute.node n ON n.node_id = e.node_id
     ORDER BY e.node_id, e.day, e.order_ref, e.qty
$$;
CREATE FUNCTION pg_temp.reasons(p jsonb) RETURNS TABLE (node_id text, eligible text, reason text, load jsonb)
LANGUAGE sql AS $$
    SELECT c->>'node_id', c->>'eligible', c->>'reason', c->'load'
      FROM jsonb_array_elements(p->'explain'->'candidates') c
$$;
-- what a plan ships and leaves unfilled
CREATE FUNCTION pg_temp.ships(p jsonb) RETURNS TABLE (status text, shipments text, unfilled text)
LANGUAGE sql AS $$
    SELECT p->>'status',
           (SELECT string_agg((s->>'node_id') || ': ' ||
                              (SELECT string_agg('line ' || (l->>'line_ref') || ' x ' || (l->>'qty'), ', '
                                                 ORDER BY l->>'line_ref')
                                 FROM jsonb_array_elements(s->'lines') l), '; ' ORDER BY s->>'node_id')
              FROM jsonb_array_elements(p->'shipments') s),
           (SELECT string_agg('line ' || (u->>'line_ref') || ' x ' || (u->>'qty'), ', ' ORDER BY u->>'line_ref')
              FROM jsonb_array_elements(p->'unfilled') u)
$$;
-- the night: everything counted so far moves back a day, oldest first
CREATE FUNCTION pg_temp.night() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    d date;
BEGIN
    UPDATE stockroute.node_load_entry SET day = day - 1;
    FOR d IN SELECT DISTINCT l.day FROM stockroute.node_load l ORDER BY 1 LOOP
        UPDATE stockroute.node_load SET day = day - 1 WHERE day = d;
    END LOOP;
END;
$$;

-- A Atlanta takes 2 orders a day, B Birmingham any number, M Macon 10 units
-- a day; all count New York days
INSERT INTO stockroute.node (node_id, name, lat, lon, timezone, daily_order_limit, daily_unit_limit) VALUES
    ('A', 'Atlanta',    33.749, -84.388, 'America/New_York', 2,    NULL),
    ('B', 'Birmingham', 33.519, -86.810, 'America/New_York', NULL, NULL),
    ('M', 'Macon',      32.841, -83.632, 'America/New_York', NULL, 10);
INSERT INTO stockroute.item (sku) VALUES ('X'), ('Y');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES
    ('A', 'X', 100), ('A', 'Y', 100), ('B', 'X', 100), ('B', 'Y', 100), ('M', 'X', 30), ('M', 'Y', 30);

-- limits are NULL (none) or >= 0
SELECT pg_temp.err($$UPDATE stockroute.node SET daily_order_limit = -1 WHERE node_id = 'B'$$);
SELECT pg_temp.err($$UPDATE stockroute.node SET daily_unit_limit = -5 WHERE node_id = 'B'$$);
SELECT node_id, daily_order_limit, daily_unit_limit FROM stockroute.node ORDER BY node_id;

-- the routing clock: the transaction's start unless stockroute.now is set
SELECT stockroute.routing_now() = now() AS transaction_start;

-- 1. A is nearest: the first two orders go there; its load is in explain
SELECT * FROM pg_temp.reasons(stockroute.plan(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "X", "qty": 2}]')));
SELECT a->'shipments'->0->>'node_id' AS node, a->>'attempts' AS attempts
  FROM stockroute.allocate(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "X", "qty": 2}, {"line_ref": "2", "sku": "Y", "qty": 1}]')) a;
SELECT a->'shipments'->0->>'node_id' AS node
  FROM stockroute.allocate(pg_temp.o('SO-2', '[{"line_ref": "1", "sku": "X", "qty": 4}]')) a;
-- one order, however many lines, counts once; its units all count, today
SELECT * FROM pg_temp.load();
SELECT * FROM pg_temp.entries();

-- 2. A is full: it drops out with its reason, the order goes to M
SELECT (pg_temp.ships(a)).*, a->>'attempts' AS attempts
  FROM stockroute.allocate(pg_temp.o('SO-3', '[{"line_ref": "1", "sku": "X", "qty": 3}]')) a;
SELECT r.node_id, r.reason FROM stockroute.decision d, pg_temp.reasons(d.output) r WHERE d.order_ref = 'SO-3';
SELECT * FROM pg_temp.load();

-- 3. reserve() at the full node: refused, nothing changed
SELECT pg_temp.cerr($$SELECT stockroute.reserve('SO-9', '1', 'X', 'A', 1)$$);
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
SELECT pg_temp.cerr($$SELECT stockroute.reserve('SO-7', '1', 'X', 'A', 1)$$);
SELECT * FROM pg_temp.load();

-- 7. a unit limit cuts what a node may ship: M has 10 units a day, 3 used
-- (SO-3).  To Macon, A full and B offline, X 6 and Y 6: M may give X its 6,
-- then Y only 1 (a node's rows go in sku order); 5 stay unfilled
UPDATE stockroute.node SET status = 'offline' WHERE node_id = 'B';
SELECT (pg_temp.ships(a)).*
  FROM stockroute.allocate(pg_temp.o('SO-10', '[{"line_ref": "1", "sku": "X", "qty": 6}, {"line_ref": "2", "sku": "Y", "qty": 6}]',
        '{"ship_to": {"lat": 32.84, "lon": -83.63}}')) a;
UPDATE stockroute.node SET status = 'active' WHERE node_id = 'B';
SELECT r.node_id, r.reason FROM stockroute.decision d, pg_temp.reasons(d.output) r WHERE d.order_ref = 'SO-10';
SELECT * FROM pg_temp.load();
-- M is full by units now: out of routing, and refused even for an order it has
SELECT * FROM pg_temp.reasons(stockroute.plan(pg_temp.o('SO-11', '[{"line_ref": "1", "sku": "X", "qty": 1}]',
        '{"ship_to": {"lat": 32.84, "lon": -83.63}}')));
SELECT pg_temp.cerr($$SELECT stockroute.reserve('SO-10', '1', 'X', 'M', 1)$$);
SELECT * FROM pg_temp.load();

-- 8. a limit set in the middle of a day starts from what the node has: B
-- has SO-12 today
SELECT stockroute.reserve('SO-12', '1', 'X', 'B', 1)->>'status' AS status;
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

-- 9. the next local day starts empty: after the night A (its limit back at
-- 2) and M have room again, and today's orders count on the new day
SELECT pg_temp.night();
UPDATE stockroute.node SET daily_order_limit = 2 WHERE node_id = 'A';
SELECT * FROM pg_temp.reasons(stockroute.plan(pg_temp.o('SO-20', '[{"line_ref": "1", "sku": "X", "qty": 1}]')));
SELECT stockroute.reserve('SO-20', '1', 'X', 'A', 1)->>'status' AS status;
SELECT * FROM pg_temp.load();
SELECT * FROM pg_temp.entries() WHERE days_ago = 0;
-- each node counts its own local day: at any moment F (UTC+14) and W
-- (UTC-12) are on different dates, and each entry is on its node's
INSERT INTO stockroute.node (node_id, name, timezone) VALUES ('F', 'Fakaofo', 'Etc/GMT-14'), ('W', 'Wake', 'Etc/GMT+12');
INSERT INTO stockroute.item (sku) VALUES ('Z');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES ('F', 'Z', 5), ('W', 'Z', 5);
SELECT stockroute.reserve('SO-Z', '1', 'Z', 'F', 1)->>'status' AS f, stockroute.reserve('SO-Z', '2', 'Z', 'W', 1)->>'status' AS w;
SELECT node_id, days_ago FROM pg_temp.entries() WHERE order_ref = 'SO-Z';
SELECT count(DISTINCT day) AS days FROM stockroute.node_load_entry WHERE order_ref = 'SO-Z';

-- 10. w_capacity: a score per shipment times the share of the tighter limit
-- used today.  A, at 2 orders a day, has one today (SO-20)
INSERT INTO stockroute.profile (profile_name, description, w_capacity)
VALUES ('spread', 'keep loaded nodes for later orders', 50);
-- default: A (nearest) despite its load; spread: 50 x 1/2 = 25 more for A,
-- so M (nothing used today)
SELECT p->'shipments'->0->>'node_id' AS node, (p->'score_terms') - 'days' AS terms
  FROM stockroute.plan(pg_temp.o('SO-21', '[{"line_ref": "1", "sku": "X", "qty": 1}]')) p;
SELECT p->'shipments'->0->>'node_id' AS node, (p->'score_terms') - 'days' AS terms
  FROM stockroute.plan(pg_temp.o('SO-21', '[{"line_ref": "1", "sku": "X", "qty": 1}]', '{"profile": "spread"}')) p;
-- from A alone (B and M out), the capacity term is in the score and its terms
UPDATE stockroute.node SET status = 'offline' WHERE node_id IN ('B', 'M');
SELECT p->'shipments'->0->>'node_id' AS node, (p->'score_terms') - 'days' AS terms,
       round((SELECT sum(v::numeric) FROM jsonb_each_text(p->'score_terms') t(k, v)), 6) = (p->>'score')::numeric AS adds_up
  FROM stockroute.plan(pg_temp.o('SO-21', '[{"line_ref": "1", "sku": "X", "qty": 1}]', '{"profile": "spread"}')) p;
SELECT * FROM pg_temp.reasons(stockroute.plan(pg_temp.o('SO-21', '[{"line_ref": "1", "sku": "X", "qty": 1}]', '{"profile": "spread"}')));
UPDATE stockroute.node SET status = 'active' WHERE node_id IN ('B', 'M');
SELECT pg_temp.err($$UPDATE stockroute.profile SET w_capacity = -1 WHERE profile_name = 'spread'$$);

-- 11. node_health: today's load and the share of the tighter limit used
SELECT node_id, daily_order_limit, daily_unit_limit, orders_today, units_today, capacity_used
  FROM stockroute.node_health ORDER BY node_id;
-- a limit lowered below the day's load: A has 2 orders, may take 1 (above 1)
SELECT stockroute.reserve('SO-22', '1', 'X', 'A', 2)->>'status' AS status;
UPDATE stockroute.node SET daily_order_limit = 1 WHERE node_id = 'A';
SELECT node_id, daily_order_limit, orders_today, units_today, capacity_used
  FROM stockroute.node_health WHERE node_id = 'A';

-- 12. the routing clock moves quotes, never the limits.  C Columbus takes 1
-- order a day and has one today.  A session that sets stockroute.now to a
-- day in 2031 gets no second order in there: reserve() is refused on C's real
-- local day, allocate() routes around C as it would without the clock, and
-- node_health still shows today
INSERT INTO stockroute.node (node_id, name, lat, lon, timezone, daily_order_limit)
VALUES ('C', 'Columbus', 32.461, -84.988, 'America/New_York', 1);
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES ('C', 'X', 10);
SELECT stockroute.reserve('SO-30', '1', 'X', 'C', 1)->>'status' AS status;
SET stockroute.now = '2031-06-02 12:00-04';
SELECT stockroute.routing_now() = '2031-06-02 16:00+00' AS routing_clock;
SELECT pg_temp.cerr($$SELECT stockroute.reserve('SO-31', '1', 'X', 'C', 1)$$);
SELECT (pg_temp.ships(a)).*
  FROM stockroute.allocate(pg_temp.o('SO-32', '[{"line_ref": "1", "sku": "X", "qty": 1}]',
        '{"ship_to": {"lat": 32.46, "lon": -84.99}}')) a;
SELECT r.node_id, r.reason FROM stockroute.decision d, pg_temp.reasons(d.output) r
 WHERE d.order_ref = 'SO-32' AND r.node_id = 'C';
SELECT node_id, daily_order_limit, orders_today FROM stockroute.node_health WHERE node_id = 'C';
SELECT * FROM pg_temp.load() WHERE node_id = 'C';
RESET stockroute.now;

-- the counters equal their entries; invariant 2 holds
SELECT count(*) FILTER (WHERE NOT matches) AS counter_mismatches FROM pg_temp.load();
SELECT count(*) AS reserved_mismatches
  FROM stockroute.stock s
 WHERE s.reserved <> coalesce((SELECT sum(r.qty) FROM stockroute.reservation r
                                WHERE r.node_id = s.node_id AND r.sku = s.sku
                                  AND r.status IN ('held', 'committed')), 0);
COMMIT;
