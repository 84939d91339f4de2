-- simulate: simulate(orders, profile, plans) routes a batch in sequence as
-- allocate() would — each order sees the stock the earlier ones took — and
-- its plans are exactly the ones allocate() then makes for the same orders;
-- its KPIs (cost, fill, shipments, split rate, days mean and p95, node load)
-- agree with its plans; a profile override; a repeated order_ref counted
-- once (a different order under it is SR007); nothing written: no row, no
-- transaction id, no NOTIFY (it runs in a read-only transaction); errors
-- with SQLSTATEs, naming orders[i].  replay(from, to, profile, plans)
-- re-routes the recorded allocate() decisions with their own reservations
-- given back: under their own profiles it reproduces them exactly; under
-- another it shows the KPIs side by side; a recorded order that no longer
-- plans is skipped and named; it writes nothing either.  Capacity: the
-- batch's earlier orders count against the nodes' daily order and unit
-- limits in memory, so a node at its limit drops out for the later orders
-- as it does for allocate(), and w_capacity sees the load; the plans are
-- again allocate()'s.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql
SET TimeZone = 'UTC';
-- a fixed routing clock: ETAs and days do not depend on when the test runs
SET stockroute.now = '2026-11-22 10:00-05';

INSERT INTO stockroute.node (node_id, name, lat, lon, country) VALUES
    ('A', 'Atlanta', 33.749, -84.388, 'US'), ('B', 'Birmingham', 33.519, -86.810, 'US'),
    ('C', 'Los Angeles', 34.052, -118.244, 'US'), ('M', 'Macon', 32.841, -83.632, 'US');
INSERT INTO stockroute.item (sku, weight_kg) VALUES ('V', 2.5), ('P', 12);
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES
    ('A', 'V', 8), ('B', 'V', 12), ('C', 'V', 15), ('A', 'P', 5), ('M', 'P', 10);

-- five orders: to Atlanta (o1, o2, o3, o5) and Los Angeles (o4)
CREATE TEMP TABLE orders (n int PRIMARY KEY, doc jsonb NOT NULL);
INSERT INTO orders VALUES
 (1, '{"order_ref": "o1", "ship_to": {"lat": 33.75, "lon": -84.39}, "lines": [{"line_ref": "1", "sku": "V", "qty": 20}]}'),
 (2, '{"order_ref": "o2", "ship_to": {"lat": 33.75, "lon": -84.39}, "lines": [{"line_ref": "1", "sku": "V", "qty": 5}]}'),
 (3, '{"order_ref": "o3", "ship_to": {"lat": 33.75, "lon": -84.39}, "lines": [{"line_ref": "1", "sku": "V", "qty": 3}, {"line_ref": "2", "sku": "P", "qty": 2}]}'),
 (4, '{"order_ref": "o4", "ship_to": {"lat": 34.05, "lon": -118.24}, "lines": [{"line_ref": "1", "sku": "V", "qty": 4}]}'),
 (5, '{"order_ref": "o5", "ship_to": {"lat": 33.75, "lon": -84.39}, "lines": [{"line_ref": "1", "sku": "P", "qty": 14}]}');
CREATE FUNCTION pg_temp.batch() RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(doc ORDER BY n) FROM orders
$$;
CREATE FUNCTION pg_temp.brief(plans jsonb) RETURNS TABLE (order_ref text, status text, ships text, cost numeric)
LANGUAGE sql AS $$
    SELECT p->>'order_ref', p->>'status',
           (SELECT string_agg(format('%s:%s', s->>'node_id',
                                     (SELECT string_agg((l->>'sku') || (l->>'qty'), '+' ORDER BY l->>'line_ref')
                                        FROM jsonb_array_elements(s->'lines') l)), ' ' ORDER BY s->>'node_id')
              FROM jsonb_array_elements(p->'shipments') s),
           round((p->>'cost')::numeric, 2)
      FROM jsonb_array_elements(plans) WITH ORDINALITY x(p, i) ORDER BY i
$$;
CREATE VIEW pg_temp.written AS
SELECT (SELECT count(*) FROM stockroute.reservation) AS reservations,
       (SELECT count(*) FROM stockroute.decision) AS decisions,
       (SELECT count(*) FROM stockroute.backorder) AS backorders,
       (SELECT count(*) FROM stockroute.outbox) AS outbox,
       (SELECT sum(reserved) FROM stockroute.stock) AS reserved;

-- 1. the batch in sequence: o2 gets what o1 left (C, across the country),
-- o5 wants more P than there is
SELECT stockroute.simulate(pg_temp.batch()) - 'micros' - 'nodes' AS kpis;
SELECT stockroute.simulate(pg_temp.batch()) -> 'nodes' AS node_load;
SELECT * FROM pg_temp.brief(stockroute.simulate(pg_temp.batch(), NULL, true) -> 'plans');
-- o2 alone is served from Atlanta's region: the sequence matters
SELECT * FROM pg_temp.brief(stockroute.simulate((SELECT jsonb_agg(doc) FROM orders WHERE n = 2), NULL, true) -> 'plans');
-- the KPIs are the plans' own figures
WITH s AS (SELECT stockroute.simulate(pg_temp.batch(), NULL, true) AS s),
p AS (SELECT x.p FROM s, jsonb_array_elements(s.s->'plans') x(p))
SELECT (SELECT round(sum((p->>'cost')::numeric), 6) FROM p) = round((s->>'cost')::numeric, 6) AS cost,
       (SELECT sum(jsonb_array_length(p->'shipments')) FROM p) = (s->>'shipments')::bigint AS shipments,
       (SELECT count(*) FILTER (WHERE jsonb_array_length(p->'shipments') > 1)::numeric
               / count(*) FILTER (WHERE jsonb_array_length(p->'shipments') > 0) FROM p)
         = (s->>'split_rate')::numeric AS split_rate,
       (SELECT sum((l->>'qty')::bigint) FROM p, jsonb_array_elements(p->'shipments') sh,
                                            jsonb_array_elements(sh->'lines') l) = (s->>'units_filled')::bigint AS filled
  FROM s;

-- 2. another profile for the whole batch: closest (w_distance 1 per km)
-- would rather leave o3's 3 units of V unfilled than ship them from Los Angeles
SELECT stockroute.simulate(pg_temp.batch(), 'closest') - 'micros' - 'nodes' AS kpis;
SELECT * FROM pg_temp.brief(stockroute.simulate(pg_temp.batch(), 'closest', true) -> 'plans') WHERE order_ref = 'o3';

-- 3. an order_ref twice: the same order is allocate()'s idempotent replay,
-- counted once; a different order under it is refused (section 7)
SELECT stockroute.simulate(pg_temp.batch() || (SELECT jsonb_agg(doc) FROM orders WHERE n = 1))
       -> 'repeated' AS repeated;

-- 4. nothing is written: no row, no transaction id, no notification (psql
-- would print one here), and it runs in a read-only transaction
LISTEN stockroute;
BEGIN TRANSACTION READ ONLY;
SELECT stockroute.simulate(pg_temp.batch(), 'cheapest', true) ->> 'orders' AS orders;
SELECT txid_current_if_assigned() IS NULL AS no_transaction_id;
COMMIT;
UNLISTEN stockroute;
SELECT * FROM pg_temp.written;

-- 5. the plans are allocate()'s: allocate the same orders for real, one
-- statement (and transaction) each, and compare
CREATE TEMP TABLE sim AS
SELECT x.i AS n, x.p - 'explain' AS plan
  FROM jsonb_array_elements(stockroute.simulate(pg_temp.batch(), NULL, true) -> 'plans') WITH ORDINALITY x(p, i);
CREATE TEMP TABLE real_plans (n bigint, plan jsonb);
SELECT format('INSERT INTO real_plans SELECT %s, stockroute.allocate(%L)', n, doc) FROM orders ORDER BY n \gexec
SELECT s.n, s.plan = r.plan - 'explain' - 'attempts' - 'reservations' AS same_plan
  FROM sim s JOIN real_plans r USING (n) ORDER BY s.n;
-- and now simulate sees the stock they hold
SELECT * FROM pg_temp.brief(stockroute.simulate(pg_temp.batch(), NULL, true) -> 'plans');

-- 6. replay: the recorded decisions under their own profiles, with their
-- own reservations given back, are reproduced exactly
CREATE FUNCTION pg_temp.replay(profile text DEFAULT NULL, plans boolean DEFAULT false) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT stockroute.replay(now() - interval '1 hour', now() + interval '1 hour', profile, plans)
           - 'from' - 'to' - 'micros'
$$;
SELECT r->'decisions' AS decisions, r->'compared' AS compared, r->'difference' AS difference,
       r->'recorded' = r->'replayed' AS same_kpis, r->'recorded_profiles' AS recorded_profiles,
       r->'replay_profiles' AS replay_profiles
  FROM pg_temp.replay() r;
-- under another profile, side by side
SELECT key, r->'recorded'->key AS recorded, r->'replayed'->key AS replayed, r->'difference'->key AS difference
  FROM pg_temp.replay('closest') r,
       unnest(ARRAY['orders', 'units_filled', 'cost', 'shipments', 'split_rate', 'days_mean', 'days_p95']) key;
SELECT o->>'order_ref' AS order_ref, o->'recorded' AS recorded, o->'replayed' AS replayed
  FROM pg_temp.replay('closest', true) r, jsonb_array_elements(r->'orders') o;
SELECT r->'replay_profiles' AS replay_profiles FROM pg_temp.replay('closest') r;
-- a recorded order that no longer plans (its profile is gone) is skipped and named
INSERT INTO stockroute.profile (profile_name, w_cost, w_days) VALUES ('gone', 1, 1);
SELECT stockroute.allocate('{"order_ref": "o6", "profile": "gone", "ship_to": {"lat": 33.75, "lon": -84.39},
                             "lines": [{"line_ref": "1", "sku": "P", "qty": 1}]}') ->> 'status' AS status;
DELETE FROM stockroute.profile WHERE profile_name = 'gone';
SELECT r->'decisions' AS decisions, r->'compared' AS compared, r->'skipped' AS skipped, r->'errors' AS errors
  FROM pg_temp.replay() r;
-- replay writes nothing either
BEGIN TRANSACTION READ ONLY;
SELECT pg_temp.replay('cheapest') ->> 'compared' AS compared;
SELECT txid_current_if_assigned() IS NULL AS no_transaction_id;
COMMIT;
-- an empty window
SELECT r->'decisions' AS decisions, r->'recorded'->'orders' AS recorded, r->'replayed'->'cost' AS cost,
       r->'difference' AS difference
  FROM stockroute.replay(now() + interval '1 day', now() + interval '2 days') r;

-- 7. errors: each names its field or order, and changes nothing
SELECT pg_temp.err($$SELECT stockroute.simulate(NULL)$$);
SELECT pg_temp.err($$SELECT stockroute.simulate('{"order_ref": "o1"}')$$);
SELECT pg_temp.err($$SELECT stockroute.simulate('[1]')$$);
SELECT pg_temp.err($$SELECT stockroute.simulate(pg_temp.batch() || '[{"order_ref": "o9"}]')$$);
SELECT pg_temp.err($$SELECT stockroute.simulate(pg_temp.batch() || '[{"order_ref": "o9", "ship_to": {"lat": 33.75, "lon": -84.39}, "lines": [{"line_ref": "1", "sku": "NOPE-0", "qty": 1}]}]')$$);
SELECT pg_temp.err($$SELECT stockroute.simulate('[{"order_ref": "o9", "priority": "high", "ship_to": {"lat": 33.75, "lon": -84.39}, "lines": [{"line_ref": "1", "sku": "V", "qty": 1}]}]')$$);
SELECT pg_temp.err($$SELECT stockroute.simulate(pg_temp.batch() || '[{"order_ref": "o1", "ship_to": {"lat": 33.75, "lon": -84.39}, "lines": [{"line_ref": "1", "sku": "V", "qty": 1}]}]')$$);
SELECT pg_temp.err($$SELECT stockroute.simulate(pg_temp.batch(), 'nope')$$);
SET stockroute.max_simulate_orders = 4;
SELECT pg_temp.err($$SELECT stockroute.simulate(pg_temp.batch())$$);
RESET stockroute.max_simulate_orders;
SELECT pg_temp.err($$SELECT stockroute.replay(NULL, now())$$);
SELECT pg_temp.err($$SELECT stockroute.replay(now(), NULL)$$);
SELECT pg_temp.err($$SELECT stockroute.replay('2026-11-23 00:00+00', '2026-11-22 00:00+00')$$);
SELECT pg_temp.err($$SELECT stockroute.replay(now() - interval '1 hour', now(), 'nope')$$);
SELECT * FROM pg_temp.written;

-- 8. capacity: earlier orders of the batch fill a node's day.  Seattle takes
-- 2 orders a day, Tacoma 5 units; Portland has no limit.  Six orders to
-- Seattle (2 units each, c5 1 unit) would each alone ship from Seattle.
INSERT INTO stockroute.node (node_id, name, lat, lon, country, daily_order_limit, daily_unit_limit) VALUES
    ('S', 'Seattle', 47.606, -122.332, 'US', 2, NULL), ('T', 'Tacoma', 47.253, -122.444, 'US', NULL, 5),
    ('R', 'Portland', 45.515, -122.679, 'US', NULL, NULL);
INSERT INTO stockroute.item (sku, weight_kg) VALUES ('K', 1);
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES ('S', 'K', 50), ('T', 'K', 50), ('R', 'K', 50);
CREATE TEMP TABLE cap_orders (n int PRIMARY KEY, doc jsonb NOT NULL);
INSERT INTO cap_orders
SELECT i, jsonb_build_object('order_ref', 'c' || i, 'ship_to', '{"lat": 47.61, "lon": -122.33}'::jsonb,
                             'lines', jsonb_build_array(jsonb_build_object('line_ref', '1', 'sku', 'K',
                                                                           'qty', CASE WHEN i = 5 THEN 1 ELSE 2 END)))
  FROM generate_series(1, 6) i;
CREATE FUNCTION pg_temp.cap_batch(profile text DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(CASE WHEN profile IS NULL THEN doc ELSE doc || jsonb_build_object('profile', profile) END
                     ORDER BY n)
      FROM cap_orders
$$;
SELECT * FROM pg_temp.brief(stockroute.simulate((SELECT jsonb_agg(doc) FROM cap_orders WHERE n IN (3, 6)), NULL, true)
                            -> 'plans');
-- in sequence: c1, c2 to Seattle, which is then full (2/2 orders); c3, c4
-- to Tacoma (4 units), c5 its last unit, c6 none of Tacoma (5/5 units).  In
-- a read-only transaction: the load is counted in memory only.
BEGIN TRANSACTION READ ONLY;
SELECT * FROM pg_temp.brief(stockroute.simulate(pg_temp.cap_batch(), NULL, true) -> 'plans');
SELECT stockroute.simulate(pg_temp.cap_batch()) -> 'nodes' AS node_load;
COMMIT;
SELECT count(*) AS counters FROM stockroute.node_load;
-- w_capacity sees the earlier orders' load: under w_capacity 10, Seattle
-- used 1/2 after c1 costs c2 5 more, so c2 goes to Tacoma, and so on
INSERT INTO stockroute.profile (profile_name, w_cost, w_days, w_capacity) VALUES ('busy', 1, 1, 10);
CREATE TEMP TABLE cap_busy AS
SELECT x.i AS n, x.p - 'explain' AS plan
  FROM jsonb_array_elements(stockroute.simulate(pg_temp.cap_batch('busy'), NULL, true) -> 'plans') WITH ORDINALITY x(p, i);
SELECT * FROM pg_temp.brief((SELECT jsonb_agg(plan ORDER BY n) FROM cap_busy));
-- and allocate() makes the same plans (rolled back)
BEGIN;
CREATE TEMP TABLE cap_busy_real (n bigint, plan jsonb);
SELECT format('INSERT INTO cap_busy_real SELECT %s, stockroute.allocate(%L)', n, doc || '{"profile": "busy"}')
  FROM cap_orders ORDER BY n \gexec
SELECT s.n, s.plan = r.plan - 'explain' - 'attempts' - 'reservations' AS same_plan
  FROM cap_busy s JOIN cap_busy_real r USING (n) ORDER BY s.n;
ROLLBACK;
-- the plans are allocate()'s, with the real counters
CREATE TEMP TABLE cap_sim AS
SELECT x.i AS n, x.p - 'explain' AS plan
  FROM jsonb_array_elements(stockroute.simulate(pg_temp.cap_batch(), NULL, true) -> 'plans') WITH ORDINALITY x(p, i);
CREATE TEMP TABLE cap_real (n bigint, plan jsonb);
SELECT format('INSERT INTO cap_real SELECT %s, stockroute.allocate(%L)', n, doc) FROM cap_orders ORDER BY n \gexec
SELECT s.n, s.plan = r.plan - 'explain' - 'attempts' - 'reservations' AS same_plan
  FROM cap_sim s JOIN cap_real r USING (n) ORDER BY s.n;
SELECT node_id, orders, units FROM stockroute.node_load ORDER BY node_id;
-- allocate() saw the limits: Seattle full for c3, Tacoma full for c6
SELECT r.n, c->>'node_id' AS node_id, c->>'reason' AS reason
  FROM cap_real r, jsonb_array_elements(r.plan->'explain'->'candidates') c
 WHERE r.n IN (3, 6) AND NOT (c->>'chosen')::boolean
 ORDER BY 1, 2;
-- an order the counters already have at a node today takes no second order
-- slot there when the batch routes it afresh: with Seattle's limit at 4
-- (2 used, by c1 and c2), c1 and c2 again, then c7 and c8, all fit
UPDATE stockroute.node SET daily_order_limit = 4 WHERE node_id = 'S';
SELECT * FROM pg_temp.brief(stockroute.simulate(
    (SELECT jsonb_agg(doc ORDER BY n) FROM cap_orders WHERE n IN (1, 2))
    || (SELECT jsonb_agg(jsonb_set(doc, '{order_ref}', to_jsonb('c' || (n + 5))) ORDER BY n)
          FROM cap_orders WHERE n IN (2, 3)), NULL, true) -> 'plans');
