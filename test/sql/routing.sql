-- routing: plan(), allocate(), available() and explain() over the extension's
-- tables.  Proves: the seed scenario (20 wanted, A 8 + B 12, C far away) and
-- the no-split case; lanes (most specific, weight brackets, cheapest service)
-- against the distance model; the cutoff push under a fixed stockroute.now;
-- ineligible nodes with their reasons; partial fills and backorders,
-- max_shipments, ship_complete, need_by; every bad order field with its
-- SQLSTATE; that plan() writes nothing (it runs in a read-only transaction);
-- allocate()'s reservations, decision, backorders, outbox and idempotency
-- (keys routing does not read do not make another order; a replay shows each
-- reservation as it is now).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql

-- solver counters are the solver's business; keep the expected output to ours
SET stockroute.explain_timing = off;
CREATE FUNCTION pg_temp.ex(p jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(stockroute.explain(p), '\d+ evaluated, \d+ pruned', 'N evaluated, N pruned')
$$;
-- an order to Atlanta (GA 30301) with the given lines and extra keys
CREATE FUNCTION pg_temp.o(ref text, lines jsonb, extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'order_ref', ref,
        'ship_to', '{"lat": 33.75, "lon": -84.39, "country": "US", "region": "GA", "postal_code": "30301"}'::jsonb,
        'customer', '{"id": "C-42", "segment": "tier3"}'::jsonb,
        'lines', lines) || extra
$$;

-- the network: A Atlanta, B Birmingham, C Los Angeles (across the country),
-- M Macon; D draining, O offline, Z with no stock, N without coordinates
INSERT INTO stockroute.node (node_id, name, lat, lon, country, region, handling_days, cutoff, timezone, status) VALUES
    ('A', 'Atlanta',     33.749,  -84.388, 'US', 'GA', 1, '15:00', 'America/New_York',    'active'),
    ('B', 'Birmingham',  33.519,  -86.810, 'US', 'AL', 1, '15:00', 'America/Chicago',     'active'),
    ('C', 'Los Angeles', 34.052, -118.244, 'US', 'CA', 1, '15:00', 'America/Los_Angeles', 'active'),
    ('D', 'Denver',      39.739, -104.990, 'US', 'CO', 1, NULL,    'America/Denver',      'draining'),
    ('M', 'Macon',       32.841,  -83.632, 'US', 'GA', 2, NULL,    'America/New_York',    'active'),
    ('N', 'Nowhere',     NULL,     NULL,   'US', 'TX', 1, NULL,    'UTC',                 'active'),
    ('O', 'Omaha',       41.257,  -95.995, 'US', 'NE', 1, NULL,    'America/Chicago',     'offline'),
    ('Z', 'Zanesville',  39.940,  -82.013, 'US', 'OH', 1, NULL,    'America/New_York',    'active');
INSERT INTO stockroute.item (sku, weight_kg, allowed_nodes, hold_ttl) VALUES
    ('VALVE-9', 2.5, NULL, NULL),
    ('PUMP-1', 12, NULL, '2 hours'),
    ('ACID-1', 1, '{C,M}', NULL),
    ('GASKET-3', 0.1, NULL, NULL);
INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock, reorder_point) VALUES
    ('A', 'VALVE-9', 8, 0, 0), ('B', 'VALVE-9', 14, 2, 0), ('C', 'VALVE-9', 15, 0, 0),
    ('D', 'VALVE-9', 40, 0, 0), ('O', 'VALVE-9', 50, 0, 0), ('Z', 'VALVE-9', 0, 0, 0),
    ('N', 'VALVE-9', 30, 0, 0),
    ('A', 'PUMP-1', 10, 0, 0), ('B', 'PUMP-1', 10, 0, 0), ('M', 'PUMP-1', 30, 0, 0),
    ('A', 'ACID-1', 5, 0, 0), ('M', 'ACID-1', 3, 0, 0),
    ('A', 'GASKET-3', 100, 0, 0), ('M', 'GASKET-3', 100, 0, 0);

-- the routing clock: Sunday 22 Nov 2026, 10:00 in Atlanta (before every cutoff).
-- Nodes ship Monday to Friday (the default ship_weekdays) and ground transit
-- counts business days, so an order today ships Tuesday from a node with one
-- handling day (test/sql/eta.sql covers the calendar rules one by one)
SET stockroute.now = '2026-11-22 10:00-05';
SHOW stockroute.now;

-- 1. the seed scenario: 20 wanted; A has 8, B 12 available (14 - 2 safety),
-- C 15 but across the country: A 8 + B 12
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}]')));
-- the plan document itself (solver statistics vary; the rest is pinned)
SELECT jsonb_pretty(stockroute.plan(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}]'))
                    #- '{explain,solver}');

-- asked to ("explain_deltas"), each eligible node not chosen says what the
-- best plan using it would add: cost, and days later; chosen and ineligible
-- nodes carry no delta
SELECT c->>'node_id' AS node_id, c->>'chosen' AS chosen, c->>'eligible' AS eligible,
       c->>'delta_cost' AS delta_cost, c->>'delta_days' AS delta_days
  FROM jsonb_array_elements(stockroute.plan(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}]',
                                                      '{"options": {"explain_deltas": true}}'))
                            -> 'explain' -> 'candidates') c;
-- ... and only when asked
SELECT count(*) FILTER (WHERE c ? 'delta_cost') AS with_delta
  FROM jsonb_array_elements(stockroute.plan(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}]'))
                            -> 'explain' -> 'candidates') c;
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}]',
                                                      '{"options": {"explain_deltas": "yes"}}'))$$);

-- 2. one node can ship it all at similar cost: no split (B alone, not A 8 + B 4)
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-2', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 12}]')));
-- PUMP-1: A 10 + B 10 would do, M ships all 20 in one shipment
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-3', '[{"line_ref": "1", "sku": "PUMP-1", "qty": 20}]')));

-- 3. lanes beat the distance model; the most specific lane wins, within its
-- weight bracket, and the cheapest service among equally specific lanes
INSERT INTO stockroute.lane (node_id, country, region, postal_prefix, service, base_cost, per_kg, per_unit, transit_days, min_weight_kg, max_weight_kg) VALUES
    ('A', 'US', NULL, NULL,  'ground',   9.00, 0.10, 0.05, 3, 0, NULL),
    ('A', 'US', 'GA', NULL,  'ground',   6.00, 0.10, 0.05, 2, 0, NULL),
    ('A', 'US', 'GA', NULL,  'express', 15.00, 0.20, 0.05, 1, 0, NULL),
    ('A', 'US', 'GA', '303', 'courier',  3.00, 0.00, 0.10, 0, 0, 10),
    ('A', 'US', 'GA', '303', 'freight', 20.00, 0.00, 0.00, 1, 10, NULL),
    ('A', 'US', 'TX', NULL,  'ground',   1.00, 0.00, 0.00, 1, 0, NULL),
    ('B', NULL, NULL, NULL,  'any',      7.00, 0.00, 0.50, 2, 0, NULL);
-- 2 x 2.5 kg = 5 kg: the courier lane to 303xx (base 3, 0.10 a unit, 0 transit + 1 handling)
SELECT s->>'node_id' AS node, s->>'service' AS service, s->'cost' AS cost, s->'days' AS days
  FROM jsonb_array_elements(stockroute.plan(pg_temp.o('SO-4', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]'))->'shipments') s;
-- 8 x 2.5 = 20 kg is over the courier's 10 kg: the freight lane, still postal
SELECT c->>'node_id' AS node, c->>'basis' AS basis, c->'shipment_cost' AS shipment_cost, c->'days' AS days
  FROM jsonb_array_elements(stockroute.plan(pg_temp.o('SO-5', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 8}]'))->'explain'->'candidates') c
 WHERE c->>'node_id' IN ('A', 'B');
-- outside 303xx: the GA region lanes, ground (cheaper) over express
SELECT s->>'node_id' AS node, s->>'service' AS service, s->'cost' AS cost, s->'days' AS days
  FROM jsonb_array_elements(stockroute.plan(pg_temp.o('SO-6', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]')
        || '{"ship_to": {"lat": 32.08, "lon": -81.09, "country": "US", "region": "GA", "postal_code": "31401"}}')->'shipments') s;
-- to Texas: A's TX lane and B's catch-all lane apply, C falls back to the
-- distance model; N has neither a lane nor coordinates, so it cannot ship
SELECT c->>'node_id' AS node, c->>'eligible' AS eligible, c->>'basis' AS basis,
       c->'shipment_cost' AS shipment_cost, c->'days' AS days, c->>'reason' AS reason
  FROM jsonb_array_elements(stockroute.plan(pg_temp.o('SO-7', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]')
        || '{"ship_to": {"lat": 32.78, "lon": -96.80, "country": "US", "region": "TX"}}')->'explain'->'candidates') c;
-- a destination by country only (no coordinates): only lanes can cost it;
-- A's US ground lane (9 + 0.30, 5 days) loses to B's catch-all (7.50, 4 days)
SELECT c->>'node_id' AS node, c->>'eligible' AS eligible, c->>'reason' AS reason
  FROM jsonb_array_elements(stockroute.plan(pg_temp.o('SO-8', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]')
        || '{"ship_to": {"country": "US", "region": "WA"}}')->'explain'->'candidates') c;
DELETE FROM stockroute.lane;

-- 4. the cutoff, on Monday 23 Nov (on a Sunday no node ships, so it does
-- not matter): at 16:00 in Atlanta A is past its 15:00 cutoff (a day later),
-- B's 15:00 is Chicago time, 15:00 there: not past it
SET stockroute.now = '2026-11-23 16:00-05';
SELECT c->>'node_id' AS node, c->'days' AS days
  FROM jsonb_array_elements(stockroute.plan(pg_temp.o('SO-9', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}]'))->'explain'->'candidates') c
 WHERE c->>'node_id' IN ('A', 'B', 'C');
SET stockroute.now = '2026-11-23 16:01-05';
SELECT c->>'node_id' AS node, c->'days' AS days
  FROM jsonb_array_elements(stockroute.plan(pg_temp.o('SO-9', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}]'))->'explain'->'candidates') c
 WHERE c->>'node_id' IN ('A', 'B', 'C');
SELECT s->>'node_id' AS node, s->>'eta' AS eta
  FROM jsonb_array_elements(stockroute.plan(pg_temp.o('SO-9', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}]'))->'shipments') s;
SET stockroute.now = '2026-11-22 10:00-05';

-- 5. ineligible nodes and their reasons; ACID-1 is allowed at C and M only
SELECT c->>'node_id' AS node, c->>'eligible' AS eligible, c->>'chosen' AS chosen, c->>'reason' AS reason
  FROM jsonb_array_elements(stockroute.plan(pg_temp.o('SO-10',
        '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}, {"line_ref": "2", "sku": "ACID-1", "qty": 2}]'))->'explain'->'candidates') c;

-- 6. partial fills: 100 wanted, 35 routable; the default profile allows partial
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-11', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 100}]')));
-- not allowed: nothing ships, everything unfilled
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-12', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 100}]',
        '{"options": {"allow_partial": false}}')));
-- two lines of one SKU share its stock: 20 + 10 wanted, 35 there
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-13',
        '[{"line_ref": "a", "sku": "VALVE-9", "qty": 20}, {"line_ref": "b", "sku": "VALVE-9", "qty": 10}]')));

-- 7. max_shipments 1: no node has 20, so the best single node and a backorder
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-14', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}]',
        '{"options": {"max_shipments": 1}}')));
-- ... and unfillable when partial is not allowed
SELECT p->>'status' AS status, jsonb_array_length(p->'shipments') AS shipments, p->'unfilled' AS unfilled
  FROM stockroute.plan(pg_temp.o('SO-15', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}]',
        '{"options": {"max_shipments": 1, "allow_partial": false}}')) p;

-- 8. ship_complete: one shipment with the whole order or nothing.  PUMP-1 and
-- GASKET-3: A and M have both; M has enough PUMP-1 for 15
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-16',
        '[{"line_ref": "1", "sku": "PUMP-1", "qty": 15}, {"line_ref": "2", "sku": "GASKET-3", "qty": 5}]',
        '{"options": {"ship_complete": true}}')));
SELECT p->>'status' AS status, p->'unfilled' AS unfilled
  FROM stockroute.plan(pg_temp.o('SO-17',
        '[{"line_ref": "1", "sku": "PUMP-1", "qty": 15}, {"line_ref": "2", "sku": "ACID-1", "qty": 5}]',
        '{"options": {"ship_complete": true}}')) p;

-- 9. need_by: lateness against it is scored (w_late) or, with late_policy
-- 'exclude', late nodes are not used.  Profiles of one's own:
INSERT INTO stockroute.profile (profile_name, description, w_cost, w_days, w_late)
VALUES ('rush', 'lateness costs 10 a shipment-day', 1, 1, 10);
INSERT INTO stockroute.profile (profile_name, description, late_policy)
VALUES ('strict', 'never late', 'exclude');
-- need_by tomorrow: A and B take 3 days, two days late each: late term 10 x 4
SELECT p->>'need_by' AS need_by, p->'profile' AS profile, p->'score_terms'->'late' AS late_term
  FROM stockroute.plan(pg_temp.o('SO-18', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}]',
        '{"profile": "rush", "options": {"need_by": "2026-11-23"}}')) p;
-- a need_by in the past counts from today
SELECT p->'score_terms'->'late' AS late_term
  FROM stockroute.plan(pg_temp.o('SO-18', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}]',
        '{"profile": "rush", "options": {"need_by": "2026-01-01"}}')) p;
-- need_by in 4 days under 'strict': C (8 days, eta Monday 30) is late and not used
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-18', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 30}]',
        '{"profile": "strict", "options": {"need_by": "2026-11-26"}}')));

-- 10. profiles: named, versioned, recorded in the plan
SELECT p->'profile' AS profile, p->'shipments'->0->>'node_id' AS first_node
  FROM stockroute.plan(pg_temp.o('SO-19', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 5}]',
        '{"profile": "fastest"}')) p;

-- 11. bad orders: one per line, SQLSTATE and message naming the field
SELECT pg_temp.err($$SELECT stockroute.plan(NULL)$$);
SELECT pg_temp.err($$SELECT stockroute.plan('[]')$$);
SELECT pg_temp.err($$SELECT stockroute.plan('"SO-1"')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]') - 'order_ref')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]') || '{"order_ref": null}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]') || '{"order_ref": 1001}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]') - 'ship_to')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]') || '{"ship_to": "Atlanta"}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]') || '{"ship_to": {}}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]') || '{"ship_to": {"lat": 33.7}}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]') || '{"ship_to": {"lat": 95, "lon": 0}}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]') || '{"ship_to": {"lat": 33, "lon": -190}}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]') || '{"ship_to": {"lat": "33.7", "lon": -84}}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]') || '{"ship_to": {"country": "usa"}}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]') || '{"ship_to": {"country": "US", "postal_code": 30301}}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]') || '{"customer": "C-42"}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]') - 'lines')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '{"line_ref": "1"}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '["VALVE-9"]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"sku": "VALVE-9", "qty": 1}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": 1, "sku": "VALVE-9", "qty": 1}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "qty": 1}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "", "qty": 1}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9"}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 0}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": -4}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2.5}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": "20"}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1e16}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}, {"line_ref": "1", "sku": "PUMP-1", "qty": 1}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "NOPE-0", "qty": 1}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]', '{"profile": "speedy"}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]', '{"profile": 7}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]', '{"options": []}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]', '{"options": {"allow_partial": "yes"}}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]', '{"options": {"ship_complete": 1}}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]', '{"options": {"max_shipments": -1}}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]', '{"options": {"max_shipments": 1.5}}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]', '{"options": {"need_by": "tomorrow"}}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]', '{"options": {"need_by": "2026-02-30"}}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]', '{"options": {"need_by": 20261125}}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}]', '{"options": {"allow_parital": true}}'))$$);
SET stockroute.max_order_lines = 2;
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-E', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 1}, {"line_ref": "2", "sku": "VALVE-9", "qty": 1}, {"line_ref": "3", "sku": "VALVE-9", "qty": 1}]'))$$);
RESET stockroute.max_order_lines;
SELECT pg_temp.err($$SET stockroute.now = 'next tuesday'$$);
SELECT pg_temp.err($$SET stockroute.now = 'infinity'$$);
SELECT pg_temp.err($$SET stockroute.max_order_lines = 0$$);

-- 12. plan() writes nothing: it runs in a read-only transaction (as on a hot
-- standby) and leaves every table as it was
SELECT (SELECT count(*) FROM stockroute.reservation) AS reservations,
       (SELECT count(*) FROM stockroute.decision) AS decisions,
       (SELECT count(*) FROM stockroute.backorder) AS backorders,
       (SELECT count(*) FROM stockroute.outbox) AS outbox,
       (SELECT sum(reserved) FROM stockroute.stock) AS reserved;
BEGIN TRANSACTION READ ONLY;
SELECT p->>'status' AS status FROM stockroute.plan(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}]')) p;
SELECT pg_temp.err($$SELECT stockroute.allocate(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}]'))$$);
COMMIT;

-- 13. available(): per node and network-wide, with ETA to a destination
SELECT jsonb_pretty(stockroute.available('VALVE-9'));
SELECT n->>'node_id' AS node, n->>'routable' AS routable, n->'available' AS available, n->'days' AS days, n->>'eta' AS eta
  FROM jsonb_array_elements(stockroute.available('VALVE-9',
        '{"lat": 33.75, "lon": -84.39, "country": "US"}', '{"segment": "tier1"}')->'nodes') n;
SELECT stockroute.available('ACID-1') - 'nodes' AS totals;
SELECT pg_temp.err($$SELECT stockroute.available(NULL)$$);
SELECT pg_temp.err($$SELECT stockroute.available('NOPE-0')$$);
SELECT pg_temp.err($$SELECT stockroute.available('VALVE-9', '[1, 2]')$$);
SELECT pg_temp.err($$SELECT stockroute.available('VALVE-9', '{"lat": 33}')$$);
SELECT pg_temp.err($$SELECT stockroute.available('VALVE-9', NULL, '"tier1"')$$);

-- 14. allocate(): reserves the plan's shipment lines in (node, sku) order;
-- 40 VALVE-9 wanted, 35 routable: 5 backordered
SELECT pg_temp.ex(a) AS explain, a->'attempts' AS attempts
  FROM stockroute.allocate(pg_temp.o('SO-100', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 40}, {"line_ref": "2", "sku": "PUMP-1", "qty": 3}]')) a;
SELECT order_ref, line_ref, sku, node_id, qty, status, idempotency_key,
       expires_at - created_at AS ttl
  FROM stockroute.reservation ORDER BY node_id, sku;
-- stock.reserved equals the active reservations
SELECT s.node_id, s.sku, s.on_hand, s.reserved, s.available,
       s.reserved = coalesce((SELECT sum(r.qty) FROM stockroute.reservation r
                               WHERE r.node_id = s.node_id AND r.sku = s.sku
                                 AND r.status IN ('held', 'committed')), 0) AS matches
  FROM stockroute.stock s WHERE s.reserved > 0 OR s.sku = 'VALVE-9' ORDER BY s.node_id, s.sku;
-- the decision, the backorder for the 5 units nobody has, one outbox row per shipment
SELECT (output->'reservations'->0) - 'reservation_id' - 'created_at' - 'updated_at' - 'expires_at' AS first_reservation
  FROM stockroute.decision;
SELECT order_ref, kind, profile_name, profile_version, output->>'status' AS status,
       solver->>'method' AS method, input = pg_temp.o('SO-100', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 40}, {"line_ref": "2", "sku": "PUMP-1", "qty": 3}]') AS input_kept
  FROM stockroute.decision;
SELECT order_ref, line_ref, sku, qty, status, order_doc->>'order_ref' AS doc FROM stockroute.backorder;
SELECT topic, order_ref, node_id, payload->'lines' AS lines, payload->>'status' AS status
  FROM stockroute.outbox ORDER BY node_id;

-- idempotent: the same order again returns the first result, changes nothing
SELECT a1 = a2 AS same_result
  FROM (SELECT output AS a1 FROM stockroute.decision WHERE order_ref = 'SO-100') d,
       stockroute.allocate(pg_temp.o('SO-100', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 40}, {"line_ref": "2", "sku": "PUMP-1", "qty": 3}]')) a2;
SELECT (SELECT count(*) FROM stockroute.reservation) AS reservations,
       (SELECT count(*) FROM stockroute.decision) AS decisions,
       (SELECT count(*) FROM stockroute.backorder) AS backorders,
       (SELECT count(*) FROM stockroute.outbox) AS outbox;
-- the same order_ref for a different order is refused
SELECT pg_temp.err($$SELECT stockroute.allocate(pg_temp.o('SO-100', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 31}]'))$$);
-- ... but keys routing does not read (sent_at, source, a line's note) do not make it another order
SELECT a->'shipments' = d.output->'shipments' AS same_plan, a->>'attempts' AS attempts
  FROM (SELECT output FROM stockroute.decision WHERE order_ref = 'SO-100') d,
       stockroute.allocate(pg_temp.o('SO-100', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 40, "note": "gift"}, {"line_ref": "2", "sku": "PUMP-1", "qty": 3}]')
                           || '{"sent_at": "2026-11-22T10:00:00Z", "source": "web"}') a;
SELECT pg_temp.err($$SELECT stockroute.allocate(NULL)$$);
SELECT pg_temp.err($$SELECT stockroute.allocate('{"lines": []}')$$);
SELECT pg_temp.err($$SELECT stockroute.allocate(pg_temp.o('SO-101', '[{"line_ref": "1", "sku": "NOPE-0", "qty": 1}]'))$$);
SELECT (SELECT count(*) FROM stockroute.reservation) AS reservations,
       (SELECT count(*) FROM stockroute.decision) AS decisions;

-- the network is now short: the next order sees what is left (no routable
-- VALVE-9): PUMP-1 ships, VALVE-9 is backordered
SELECT pg_temp.ex(stockroute.allocate(pg_temp.o('SO-102',
        '[{"line_ref": "1", "sku": "VALVE-9", "qty": 10}, {"line_ref": "2", "sku": "PUMP-1", "qty": 5}]'))) AS explain;
-- an unfillable order reserves nothing and backorders everything
SELECT a->>'status' AS status, a->'reservations' AS reservations, a->'unfilled' AS unfilled
  FROM stockroute.allocate(pg_temp.o('SO-103', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 10}]',
        '{"options": {"allow_partial": false}}')) a;
SELECT order_ref, line_ref, sku, qty, status FROM stockroute.backorder ORDER BY order_ref, line_ref;
SELECT order_ref, count(*) AS reservations, sum(qty) AS units
  FROM stockroute.reservation GROUP BY order_ref ORDER BY order_ref;
-- a released order: allocate() again returns its decision with each
-- reservation as it is now (released), and holds nothing anew
SELECT stockroute.release('SO-102') ->> 'released' AS released;
SELECT r->>'node_id' AS node_id, r->>'qty' AS qty, r->>'status' AS status
  FROM jsonb_array_elements(stockroute.allocate(pg_temp.o('SO-102',
        '[{"line_ref": "1", "sku": "VALVE-9", "qty": 10}, {"line_ref": "2", "sku": "PUMP-1", "qty": 5}]'))
        -> 'reservations') r;
SELECT count(*) AS active FROM stockroute.reservation WHERE order_ref = 'SO-102' AND status = 'held';
-- invariant 2 still holds everywhere
SELECT count(*) AS mismatches
  FROM stockroute.stock s
 WHERE s.reserved <> coalesce((SELECT sum(r.qty) FROM stockroute.reservation r
                                WHERE r.node_id = s.node_id AND r.sku = s.sku
                                  AND r.status IN ('held', 'committed')), 0);

-- explain() of a bad plan
SELECT pg_temp.err($$SELECT stockroute.explain('[]')$$);
SELECT pg_temp.err($$SELECT stockroute.explain('{"shipments": []}')$$);
SELECT pg_temp.err($$SELECT stockroute.explain('{"status": "complete", "shipments": {}}')$$);

-- a stale node (no event for stale_after, marked by reconcile()) drops out of
-- routing with its reason, and comes back when it is no longer stale
SELECT node_id, available FROM stockroute.stock WHERE sku = 'PUMP-1' ORDER BY node_id;
UPDATE stockroute.node SET stale = true WHERE node_id = 'B';
SELECT c->>'node_id' AS node_id, c->>'eligible' AS eligible, c->>'reason' AS reason
  FROM jsonb_array_elements(stockroute.plan(pg_temp.o('SO-110', '[{"line_ref": "1", "sku": "PUMP-1", "qty": 1}]'))
                            -> 'explain' -> 'candidates') c
 WHERE c->>'node_id' = 'B';
SELECT n->>'node_id' AS node_id, n->>'status' AS status, n->>'routable' AS routable
  FROM jsonb_array_elements(stockroute.available('PUMP-1') -> 'nodes') n WHERE n->>'node_id' = 'B';
UPDATE stockroute.node SET stale = false WHERE node_id = 'B';
SELECT n->>'node_id' AS node_id, n->>'status' AS status, n->>'routable' AS routable
  FROM jsonb_array_elements(stockroute.available('PUMP-1') -> 'nodes') n WHERE n->>'node_id' = 'B';
