-- pickup: orders with "fulfillment": "pickup" at a "pickup_node", under a
-- fixed stockroute.now.  Proves: the pickup node hands over its own units
-- with no freight after its handling time (its cutoff counts); where the
-- profile allows transfers, what it lacks comes by transfer from other nodes
-- (marked, with the ETA of the lane or distance model plus the pickup node's
-- handling) and ready_by is the last arrival; without that permission, or
-- when the pickup node is not active, the rest is unfilled with the reason;
-- ship_to is optional and ignored; allocate() reserves at the pickup node
-- and the transfer sources and says so downstream; a rejection by the pickup
-- node brings the units by transfer; "fulfillment": "ship" is the default;
-- every bad key fails with its SQLSTATE, naming the field, writing nothing.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql

SET stockroute.explain_timing = off;
CREATE FUNCTION pg_temp.ex(p jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(stockroute.explain(p), '\d+ evaluated, \d+ pruned', 'N evaluated, N pruned')
$$;
-- a pickup order at a node
CREATE FUNCTION pg_temp.pk(ref text, node text, lines jsonb, extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('order_ref', ref, 'fulfillment', 'pickup', 'pickup_node', node,
                              'lines', lines) || extra
$$;
CREATE FUNCTION pg_temp.ships(p jsonb) RETURNS TABLE (node_id text, transfer text, transfer_to text,
                                                     lines text, cost numeric, days numeric, eta text)
LANGUAGE sql AS $$
    SELECT s->>'node_id', s->>'transfer', s->>'transfer_to',
           (SELECT string_agg((l->>'line_ref') || ':' || (l->>'sku') || 'x' || (l->>'qty'), ' ')
              FROM jsonb_array_elements(s->'lines') l),
           (s->>'cost')::numeric, (s->>'days')::numeric, s->>'eta'
      FROM jsonb_array_elements(p->'shipments') s
$$;

-- S1 an Atlanta store (ready the same day, orders until 18:00), S2 a store
-- that is closed, W a Macon warehouse with a lane to Georgia, F Los Angeles
INSERT INTO stockroute.node (node_id, name, kind, lat, lon, country, region, postal_code, timezone,
                             handling_days, cutoff, status) VALUES
    ('S1', 'Atlanta store',  'store',     33.749,  -84.388, 'US', 'GA', '30303', 'America/New_York',    0, '18:00', 'active'),
    ('S2', 'Athens store',   'store',     33.951,  -83.357, 'US', 'GA', '30601', 'America/New_York',    0, '18:00', 'offline'),
    ('W',  'Macon DC',       'warehouse', 32.841,  -83.632, 'US', 'GA', '31201', 'America/New_York',    1, NULL,    'active'),
    ('F',  'Los Angeles DC', 'warehouse', 34.052, -118.244, 'US', 'CA', '90001', 'America/Los_Angeles', 1, NULL,    'active');
INSERT INTO stockroute.lane (node_id, country, region, service, base_cost, per_unit, transit_days)
VALUES ('W', 'US', 'GA', 'store-shuttle', 4, 0.10, 1);
INSERT INTO stockroute.item (sku) VALUES ('X'), ('Y');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES
    ('S1', 'X', 2), ('S2', 'X', 50), ('W', 'X', 10), ('W', 'Y', 5), ('F', 'X', 50), ('F', 'Y', 3);
-- transfers are a profile's decision, off by default
SELECT profile_name, allow_pickup_transfer FROM stockroute.profile ORDER BY profile_name;
INSERT INTO stockroute.profile (profile_name, description, allow_pickup_transfer)
VALUES ('bopis', 'buy online, pick up in store: what the store lacks comes by transfer', true);

-- Sunday 22 Nov 2026, 10:00 in Atlanta: nodes ship Monday to Friday
SET stockroute.now = '2026-11-22 10:00-05';

-- 1. the store has it: picked there, no freight, ready its next shipping
-- day (Monday: 0 handling days, shipping days Monday to Friday); no
-- ship_to needed
SELECT pg_temp.ex(stockroute.plan(pg_temp.pk('P-1', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 2}]')));
SELECT p->>'fulfillment' AS fulfillment, p->>'pickup_node' AS pickup_node, p->>'ready_by' AS ready_by,
       (SELECT c - 'reason' FROM jsonb_array_elements(p->'explain'->'candidates') c
         WHERE c->>'node_id' = 'S1') AS s1
  FROM stockroute.plan(pg_temp.pk('P-1', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 2}]')) p;
-- after the store's cutoff on a Monday it is ready on Tuesday
SET stockroute.now = '2026-11-23 18:30-05';
SELECT p->>'ready_by' AS ready_by FROM stockroute.plan(pg_temp.pk('P-1', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 2}]')) p;
SET stockroute.now = '2026-11-22 10:00-05';

-- 2. 5 wanted, the store has 2.  Without transfers (default profile) the
-- other 3 are unfilled, and say why
SELECT pg_temp.ex(stockroute.plan(pg_temp.pk('P-2', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 5}]')));
SELECT p->'unfilled' AS unfilled
  FROM stockroute.plan(pg_temp.pk('P-2', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 5}]')) p;
SELECT p->>'status' AS status, p->'shipments' AS shipments, p->>'ready_by' AS ready_by
  FROM stockroute.plan(pg_temp.pk('P-2', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 5}]',
                                  '{"options": {"allow_partial": false}}')) p;

-- 3. with transfers (bopis): the store's 2 first, W sends 3 by its Georgia
-- lane: 1 handling day (ships Tuesday) + 1 transit day + the store's 0;
-- ready when the transfer is in
SELECT pg_temp.ex(stockroute.plan(pg_temp.pk('P-3', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 5}]',
                                             '{"profile": "bopis"}')));
SELECT * FROM pg_temp.ships(stockroute.plan(pg_temp.pk('P-3', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 5}]',
                                                       '{"profile": "bopis"}')));
-- a SKU the store does not stock at all, more than W or F has alone: W 5
-- and F 3 (distance model, 4 transit days from Los Angeles); ready when
-- F's transfer arrives
SELECT * FROM pg_temp.ships(stockroute.plan(pg_temp.pk('P-4', 'S1', '[{"line_ref": "1", "sku": "Y", "qty": 8}]',
                                                       '{"profile": "bopis"}')));
SELECT p->>'ready_by' AS ready_by
  FROM stockroute.plan(pg_temp.pk('P-4', 'S1', '[{"line_ref": "1", "sku": "Y", "qty": 8}]', '{"profile": "bopis"}')) p;

-- a rule that routes a segment's orders by bopis brings its transfers: the
-- profile's settings are those of the profile the order is routed by, not
-- the one it asked for
INSERT INTO stockroute.rule (rule_id, description, match, effect, priority)
VALUES ('members-bopis', 'members pick up with transfers', '{"segment": "member"}', '{"profile": "bopis"}', 10);
SELECT p->>'status' AS status, p->'profile'->>'name' AS profile, p->'unfilled' AS unfilled,
       (SELECT count(*) FROM jsonb_array_elements(p->'shipments')) AS shipments
  FROM stockroute.plan(pg_temp.pk('P-3m', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 5}]',
                                  '{"customer": {"segment": "member"}}')) p;
DELETE FROM stockroute.rule WHERE rule_id = 'members-bopis';

-- 4. the pickup node is not open: nothing can be picked up there
SELECT pg_temp.ex(stockroute.plan(pg_temp.pk('P-5', 'S2', '[{"line_ref": "1", "sku": "X", "qty": 1}]',
                                             '{"profile": "bopis"}')));

-- 5. a ship_to on a pickup order is checked but not used; "ship" is the default
SELECT stockroute.plan(pg_temp.pk('P-6', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 2}]',
                                  '{"ship_to": {"lat": 34.05, "lon": -118.24}}')) #- '{explain,solver}'
     = stockroute.plan(pg_temp.pk('P-6', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 2}]')) #- '{explain,solver}' AS same_plan;
SELECT stockroute.plan('{"order_ref": "SO-7", "fulfillment": "ship", "ship_to": {"lat": 34.05, "lon": -118.24},
                         "lines": [{"line_ref": "1", "sku": "X", "qty": 2}]}') #- '{explain,solver}'
     = stockroute.plan('{"order_ref": "SO-7", "ship_to": {"lat": 34.05, "lon": -118.24},
                         "lines": [{"line_ref": "1", "sku": "X", "qty": 2}]}') #- '{explain,solver}' AS ship_is_default;

-- 6. allocate(): held at the store and at W; the outbox tells W where to send
SELECT pg_temp.ex(stockroute.allocate(pg_temp.pk('P-8', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 5}]',
                                                 '{"profile": "bopis"}')));
SELECT line_ref, node_id, qty, status FROM stockroute.reservation WHERE order_ref = 'P-8' ORDER BY node_id;
SELECT node_id, payload->>'transfer' AS transfer, payload->>'transfer_to' AS transfer_to, payload->>'eta' AS eta
  FROM stockroute.outbox WHERE order_ref = 'P-8' ORDER BY node_id;

-- 7. the store rejects its part (cannot find the items): W transfers them
SELECT pg_temp.ex(stockroute.reject('P-8', 'S1', 'cannot find the item'));
SELECT line_ref, node_id, qty, status FROM stockroute.reservation WHERE order_ref = 'P-8' ORDER BY node_id, status;

-- 8. bad keys: one per line, SQLSTATE and message naming the field, nothing written
SELECT (SELECT count(*) FROM stockroute.reservation) AS reservations, (SELECT count(*) FROM stockroute.decision) AS decisions;
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.pk('E-1', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 1}]') || '{"fulfillment": "deliver"}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.pk('E-1', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 1}]') || '{"fulfillment": 1}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.pk('E-1', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 1}]') - 'pickup_node')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.pk('E-1', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 1}]') || '{"pickup_node": null}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.pk('E-1', 'S9', '[{"line_ref": "1", "sku": "X", "qty": 1}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.pk('E-1', '', '[{"line_ref": "1", "sku": "X", "qty": 1}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.pk('E-1', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 1}]') || '{"pickup_node": ["S1"]}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.pk('E-1', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 1}]') || '{"fulfillment": "ship", "ship_to": {"country": "US"}}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.pk('E-1', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 1}]') || '{"ship_to": {"lat": 95, "lon": 0}}')$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.pk('E-1', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 1}]') - 'fulfillment' - 'pickup_node')$$);
SELECT pg_temp.err($$SELECT stockroute.allocate(pg_temp.pk('E-2', 'S9', '[{"line_ref": "1", "sku": "X", "qty": 1}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.allocate(pg_temp.pk('E-2', 'S1', '[{"line_ref": "1", "sku": "X", "qty": 1}]') || '{"fulfillment": "Pickup"}')$$);
SELECT (SELECT count(*) FROM stockroute.reservation) AS reservations, (SELECT count(*) FROM stockroute.decision) AS decisions;
