-- products: what a product allows, in plan(), available() and explain().
-- Proves: item.allowed_nodes excludes the other nodes with a reason; region
-- locks — ship_to_allowed / ship_to_denied by country and by region refuse a
-- line bound for a locked destination (SR034) and ask for the country or
-- region a lock needs (SR035); ship_from_countries excludes nodes of other
-- countries with a reason; the item columns' checks; hazmat SKUs ship only
-- from nodes tagged hazmat, never by air nor on lanes without hazmat_ok (each
-- exclusion with its reason), and by the distance model (as ground) where no
-- lane matches at all; a lane with hazmat_separate makes a node that ships
-- hazmat and other lines two shipments (two shipment costs, "hazmat": true on
-- one, the parts named in explain), a lane without it one hazmat shipment;
-- lanes by shipment weight (parcel, LTL, FTL) with "mode" and "weight_kg";
-- and a plan whose estimated weight picked another bracket re-costed and
-- solved again so that its lanes match the weights it ships.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql

SET stockroute.explain_timing = off;
SET stockroute.now = '2026-11-22 10:00-05';
CREATE FUNCTION pg_temp.ex(p jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(stockroute.explain(p), '\d+ evaluated, \d+ pruned', 'N evaluated, N pruned')
$$;
-- an order to Atlanta (GA 30301), or to the ship_to given in extra
CREATE FUNCTION pg_temp.o(ref text, lines jsonb, extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'order_ref', ref,
        'ship_to', '{"lat": 33.75, "lon": -84.39, "country": "US", "region": "GA", "postal_code": "30301"}'::jsonb,
        'lines', lines) || extra
$$;
-- the explain candidates of a plan: node (part), eligible, reason
CREATE FUNCTION pg_temp.why(p jsonb)
RETURNS TABLE (node text, eligible text, chosen text, basis text, reason text) LANGUAGE sql AS $$
    SELECT c->>'node_id' || coalesce(' (' || (c->>'part') || ')', ''), c->>'eligible', c->>'chosen',
           c->>'basis', c->>'reason'
      FROM jsonb_array_elements(p->'explain'->'candidates') c
$$;
-- the shipments of a plan
CREATE FUNCTION pg_temp.ships(p jsonb)
RETURNS TABLE (node text, service text, mode text, hazmat text, weight_kg numeric, cost numeric,
               lines text) LANGUAGE sql AS $$
    SELECT s->>'node_id', s->>'service', s->>'mode', s->>'hazmat', (s->>'weight_kg')::numeric,
           (s->>'cost')::numeric,
           (SELECT string_agg((l->>'line_ref') || ':' || (l->>'sku') || 'x' || (l->>'qty'), ' '
                              ORDER BY l->>'line_ref')
              FROM jsonb_array_elements(s->'lines') l)
      FROM jsonb_array_elements(p->'shipments') s
$$;

-- the network: A Atlanta and H Huntsville and D Dallas are hazmat sites, B
-- Birmingham is not; T Toronto is in Canada
INSERT INTO stockroute.node (node_id, name, lat, lon, country, region, tags) VALUES
    ('A', 'Atlanta',     33.749,  -84.388, 'US', 'GA', '{hazmat}'),
    ('B', 'Birmingham',  33.519,  -86.810, 'US', 'AL', '{}'),
    ('D', 'Dallas',      32.777,  -96.797, 'US', 'TX', '{hazmat,ltl}'),
    ('H', 'Huntsville',  34.730,  -86.586, 'US', 'AL', '{hazmat}'),
    ('T', 'Toronto',     43.653,  -79.383, 'CA', 'ON', '{}');
INSERT INTO stockroute.item (sku, weight_kg, tags, allowed_nodes, ship_to_allowed, ship_to_denied, ship_from_countries) VALUES
    ('BOLT-1',    1,  '{}',       NULL,  NULL,             NULL,        NULL),
    ('ACID-1',    2,  '{hazmat}', NULL,  NULL,             NULL,        NULL),
    ('HEAVY-1',  10,  '{}',       NULL,  NULL,             NULL,        NULL),
    ('LIC-1',     1,  '{}',       '{A}', NULL,             NULL,        NULL),
    -- export control: North America only, and not California
    ('CHIP-1',  0.1,  '{}',       NULL,  '{US,CA}',        '{US-CA}',   NULL),
    -- a regional licence: Georgia and Alabama
    ('WINE-1',  1.5,  '{}',       NULL,  '{US-GA,US-AL}',  NULL,        NULL),
    -- an embargo
    ('EMB-1',     1,  '{}',       NULL,  NULL,             '{CU,IR}',   NULL),
    ('HOLD-1',    1,  '{}',       NULL,  '{}',             NULL,        NULL),
    -- stock for the Canadian market ships from Canada
    ('MAPLE-1',   1,  '{}',       NULL,  NULL,             NULL,        '{CA}');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES
    ('A', 'BOLT-1', 100), ('B', 'BOLT-1', 100), ('H', 'BOLT-1', 100),
    ('A', 'ACID-1', 50), ('B', 'ACID-1', 50), ('D', 'ACID-1', 50), ('H', 'ACID-1', 50),
    ('A', 'HEAVY-1', 500),
    ('A', 'LIC-1', 10), ('B', 'LIC-1', 10),
    ('A', 'CHIP-1', 10), ('A', 'WINE-1', 10), ('A', 'EMB-1', 10), ('A', 'HOLD-1', 10),
    ('A', 'MAPLE-1', 10), ('T', 'MAPLE-1', 10);

-- 1. allowed_nodes: LIC-1 ships from A only
SELECT * FROM pg_temp.why(stockroute.plan(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "LIC-1", "qty": 12}]')));

-- 2. region locks.  Allowed destinations: CHIP-1 to Georgia, WINE-1 to
-- Alabama, EMB-1 anywhere but its embargoed countries
SELECT p->>'status' AS status, (SELECT string_agg(s->>'node_id', ',') FROM jsonb_array_elements(p->'shipments') s) AS ships
  FROM (VALUES (stockroute.plan(pg_temp.o('SO-2', '[{"line_ref": "1", "sku": "CHIP-1", "qty": 1}]'))),
               (stockroute.plan(pg_temp.o('SO-3', '[{"line_ref": "1", "sku": "WINE-1", "qty": 1}]',
                                          '{"ship_to": {"lat": 33.52, "lon": -86.81, "country": "US", "region": "AL"}}'))),
               (stockroute.plan(pg_temp.o('SO-4', '[{"line_ref": "1", "sku": "EMB-1", "qty": 1}]',
                                          '{"ship_to": {"lat": 45.5, "lon": -73.6, "country": "CA"}}')))) v(p);
-- refused: a denied region, a country outside the allowed list, a region
-- outside a regional licence, an embargoed country, a SKU that ships nowhere
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-5', '[{"line_ref": "1", "sku": "CHIP-1", "qty": 1}]',
        '{"ship_to": {"lat": 34.05, "lon": -118.24, "country": "US", "region": "CA"}}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-5', '[{"line_ref": "1", "sku": "CHIP-1", "qty": 1}]',
        '{"ship_to": {"country": "DE", "region": "BY"}}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-5', '[{"line_ref": "1", "sku": "WINE-1", "qty": 1}]',
        '{"ship_to": {"country": "US", "region": "TX"}}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-5', '[{"line_ref": "1", "sku": "BOLT-1", "qty": 1}, {"line_ref": "2", "sku": "EMB-1", "qty": 1}]',
        '{"ship_to": {"country": "CU"}}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-5', '[{"line_ref": "1", "sku": "HOLD-1", "qty": 1}]'))$$);
-- the lock needs what ship_to lacks: a region (US-CA is denied, US-GA and
-- US-AL allowed), a country (coordinates only)
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-5', '[{"line_ref": "1", "sku": "CHIP-1", "qty": 1}]',
        '{"ship_to": {"country": "US"}}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-5', '[{"line_ref": "1", "sku": "WINE-1", "qty": 1}]',
        '{"ship_to": {"country": "US"}}'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-5', '[{"line_ref": "1", "sku": "EMB-1", "qty": 1}]',
        '{"ship_to": {"lat": 33.75, "lon": -84.39}}'))$$);
-- ... but an embargo by country needs no region, and a SKU without locks no country
SELECT stockroute.plan(pg_temp.o('SO-6', '[{"line_ref": "1", "sku": "EMB-1", "qty": 1}]',
        '{"ship_to": {"lat": 40.71, "lon": -74.01, "country": "US"}}'))->>'status' AS status;
SELECT stockroute.plan(pg_temp.o('SO-7', '[{"line_ref": "1", "sku": "BOLT-1", "qty": 1}]',
        '{"ship_to": {"lat": 33.75, "lon": -84.39}}'))->>'status' AS status;
-- allocate() refuses alike and reserves nothing
SELECT pg_temp.err($$SELECT stockroute.allocate(pg_temp.o('SO-8', '[{"line_ref": "1", "sku": "CHIP-1", "qty": 1}]',
        '{"ship_to": {"country": "US", "region": "CA"}}'))$$);
SELECT count(*) AS reservations, (SELECT count(*) FROM stockroute.decision) AS decisions FROM stockroute.reservation;

-- ship_from_countries: MAPLE-1 ships from Toronto, not from Atlanta
SELECT * FROM pg_temp.why(stockroute.plan(pg_temp.o('SO-9', '[{"line_ref": "1", "sku": "MAPLE-1", "qty": 2}]')));
-- available(): routable where the product may ship from and to
SELECT n->>'node_id' AS node, n->>'routable' AS routable
  FROM jsonb_array_elements(stockroute.available('MAPLE-1', '{"lat": 33.75, "lon": -84.39, "country": "US"}')->'nodes') n;
SELECT a->>'available' AS available, (SELECT string_agg(n->>'routable', ',') FROM jsonb_array_elements(a->'nodes') n) AS routable
  FROM (VALUES (stockroute.available('CHIP-1', '{"country": "US", "region": "CA"}')),
               (stockroute.available('CHIP-1', '{"lat": 33.75, "lon": -84.39, "country": "US", "region": "GA"}')),
               (stockroute.available('CHIP-1'))) v(a);

-- the item columns' checks: places are 'CC' or 'CC-REGION', origins countries
SELECT pg_temp.err($$INSERT INTO stockroute.item (sku, ship_to_allowed) VALUES ('X-1', '{usa}')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.item (sku, ship_to_denied) VALUES ('X-1', '{US-}')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.item (sku, ship_to_denied) VALUES ('X-1', ARRAY['US', NULL])$$);
SELECT pg_temp.err($$INSERT INTO stockroute.item (sku, ship_from_countries) VALUES ('X-1', '{US-GA}')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.item (sku, min_shelf_days) VALUES ('X-1', -1)$$);
SELECT count(*) AS items FROM stockroute.item WHERE sku = 'X-1';

-- 3. hazmat.  Lanes: A ground (carries hazmat) and a cheaper, faster air
-- lane that says hazmat_ok but flies; H only air and a ground lane without
-- hazmat_ok; D no lane at all (the distance model, as ground)
INSERT INTO stockroute.lane (node_id, country, service, mode, base_cost, per_kg, transit_days, hazmat_ok, hazmat_separate) VALUES
    ('A', 'US', 'ground', 'parcel', 8, 0.5, 2, true,  false),
    ('A', 'US', 'jet',    'air',    5, 0.2, 1, true,  false),
    ('H', 'US', 'jet',    'air',    5, 0.2, 1, true,  false),
    ('H', 'US', 'ground', 'parcel', 6, 0.5, 2, false, false);
-- ACID-1: B is not a hazmat site, H has no lane that may carry it, D ships by
-- the distance model, A by ground
SELECT * FROM pg_temp.why(stockroute.plan(pg_temp.o('SO-10', '[{"line_ref": "1", "sku": "ACID-1", "qty": 2}]')));
SELECT * FROM pg_temp.ships(stockroute.plan(pg_temp.o('SO-10', '[{"line_ref": "1", "sku": "ACID-1", "qty": 2}]')));
-- BOLT-1 alone takes A's air lane; with ACID-1 (and no lane asking for
-- hazmat apart) A ships both in one hazmat shipment by ground; H still ships
-- BOLT-1, never ACID-1
SELECT * FROM pg_temp.ships(stockroute.plan(pg_temp.o('SO-11', '[{"line_ref": "1", "sku": "BOLT-1", "qty": 3}]')));
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-12',
        '[{"line_ref": "1", "sku": "BOLT-1", "qty": 3}, {"line_ref": "2", "sku": "ACID-1", "qty": 2}]')));
SELECT * FROM pg_temp.why(stockroute.plan(pg_temp.o('SO-12',
        '[{"line_ref": "1", "sku": "BOLT-1", "qty": 3}, {"line_ref": "2", "sku": "ACID-1", "qty": 2}]')))
 WHERE node LIKE 'H%';
-- a lane cannot ask for hazmat apart without carrying hazmat
SELECT pg_temp.err($$INSERT INTO stockroute.lane (node_id, service, transit_days, hazmat_ok, hazmat_separate)
                     VALUES ('B', 'x', 1, false, true)$$);

-- 4. hazmat apart: A's ground lane now ships hazmat in a shipment of its
-- own.  A ships ACID-1 by ground and BOLT-1 by air: two shipments from A,
-- two shipment costs (8 + 2 x 2 kg x 0.5 and 5 + 3 x 1 kg x 0.2)
UPDATE stockroute.lane SET hazmat_separate = true WHERE node_id = 'A' AND service = 'ground';
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-13',
        '[{"line_ref": "1", "sku": "BOLT-1", "qty": 3}, {"line_ref": "2", "sku": "ACID-1", "qty": 2}]')));
SELECT * FROM pg_temp.ships(stockroute.plan(pg_temp.o('SO-13',
        '[{"line_ref": "1", "sku": "BOLT-1", "qty": 3}, {"line_ref": "2", "sku": "ACID-1", "qty": 2}]')));
SELECT * FROM pg_temp.why(stockroute.plan(pg_temp.o('SO-13',
        '[{"line_ref": "1", "sku": "BOLT-1", "qty": 3}, {"line_ref": "2", "sku": "ACID-1", "qty": 2}]')));
-- two shipments count as two: one shipment at most leaves one line unfilled
SELECT p->>'status' AS status, jsonb_array_length(p->'shipments') AS shipments, p->'unfilled' AS unfilled
  FROM stockroute.plan(pg_temp.o('SO-14',
        '[{"line_ref": "1", "sku": "BOLT-1", "qty": 3}, {"line_ref": "2", "sku": "ACID-1", "qty": 2}]',
        '{"options": {"max_shipments": 1}}')) p;
-- allocate(): both shipments reserved from A, and an outbox message each
SELECT r->>'node_id' AS node, r->>'line_ref' AS line, r->>'sku' AS sku, r->>'qty' AS qty
  FROM jsonb_array_elements(stockroute.allocate(pg_temp.o('SO-15',
        '[{"line_ref": "1", "sku": "BOLT-1", "qty": 3}, {"line_ref": "2", "sku": "ACID-1", "qty": 2}]'))->'reservations') r;
SELECT node_id, payload->>'hazmat' AS hazmat, payload->>'service' AS service FROM stockroute.outbox
 WHERE order_ref = 'SO-15' ORDER BY payload->>'hazmat';
SELECT stockroute.release('SO-15')->>'released' AS released;
DELETE FROM stockroute.lane;

-- 5. lanes by shipment weight: A's parcel lane up to 70 kg, LTL from 70 kg,
-- FTL from 2,000 kg; HEAVY-1 weighs 10 kg
INSERT INTO stockroute.lane (node_id, country, service, mode, base_cost, per_kg, transit_days, min_weight_kg, max_weight_kg) VALUES
    ('A', 'US', 'ground',    'parcel',   8, 0.5,  2,    0,   70),
    ('A', 'US', 'freight',   'ltl',     60, 0.1,  3,   70, 2000),
    ('A', 'US', 'truckload', 'ftl',    400, 0.02, 2, 2000, NULL);
SELECT q AS units, s.*
  FROM unnest(ARRAY[3, 20, 250]) q,
       pg_temp.ships(stockroute.plan(pg_temp.o('SO-16', jsonb_build_array(
           jsonb_build_object('line_ref', '1', 'sku', 'HEAVY-1', 'qty', q))))) s;
-- the re-cost.  5 HEAVY-1 and 30 BOLT-1: A could ship both, 80 kg, which
-- prices A at the LTL lane; B has a 0.50 courier lane.  Under that estimate A
-- ships HEAVY-1 and B BOLT-1, but A's 50 kg go by parcel, not LTL: A is
-- re-costed, the order solved again, and the lanes match the weights
INSERT INTO stockroute.lane (node_id, country, service, mode, base_cost, per_kg, transit_days) VALUES
    ('B', 'US', 'local', 'courier', 0.5, 0, 0);
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-17',
        '[{"line_ref": "1", "sku": "HEAVY-1", "qty": 5}, {"line_ref": "2", "sku": "BOLT-1", "qty": 30}]')));
SELECT p->'explain'->'recost' AS recost, p->'explain'->'passes' AS passes, p->'cost' AS cost,
       p->'score' AS score, p->'score_terms' AS terms
  FROM stockroute.plan(pg_temp.o('SO-17',
        '[{"line_ref": "1", "sku": "HEAVY-1", "qty": 5}, {"line_ref": "2", "sku": "BOLT-1", "qty": 30}]')) p;
-- every shipment's lane holds its weight
SELECT s->>'node_id' AS node, s->>'service' AS service, (s->>'weight_kg')::numeric AS weight_kg,
       l.min_weight_kg, l.max_weight_kg
  FROM jsonb_array_elements(stockroute.plan(pg_temp.o('SO-17',
        '[{"line_ref": "1", "sku": "HEAVY-1", "qty": 5}, {"line_ref": "2", "sku": "BOLT-1", "qty": 30}]'))->'shipments') s
  JOIN stockroute.lane l ON l.node_id = s->>'node_id' AND l.service = s->>'service';
