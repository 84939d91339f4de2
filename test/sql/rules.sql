-- rules: routing rules as data (stockroute.rule) applied by plan(), allocate()
-- and available().  Proves: every row of DESIGN.md's buyer template, stored
-- as data, picks the node it should (tier1 contract -> B; tier2 cheapest
-- within 4 days else fastest; guest closest within 100 of freight else
-- cheapest; mro_urgent fastest from nodes with 5 available; outside the US
-- bonded nodes only; cash on delivery within 150 km); per-customer contracts
-- and customer tags; sku and sku_tag rules restrict only their lines;
-- prefer_nodes with a bonus that never makes a score negative; priority order
-- (the first profile switch wins, the rule over the order's own profile);
-- validity windows on the routing clock and disabled rules; max_days and
-- max_cost as hard limits; a rule that leaves no node gives an unfillable
-- plan whose explain names it; a rule written around the validation is
-- skipped, never an error; available(), allocate() and the filling of its
-- backorders with a customer; every
-- validation error with its SQLSTATE; profiles and nodes named by a rule
-- cannot be deleted, and a renamed node is renamed in the rules.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql

SET stockroute.explain_timing = off;
CREATE FUNCTION pg_temp.ex(p jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(stockroute.explain(p), '\d+ evaluated, \d+ pruned', 'N evaluated, N pruned')
$$;
-- an order to Atlanta (GA 30301) from the given customer, with extra keys
CREATE FUNCTION pg_temp.o(ref text, customer jsonb, lines jsonb, extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('order_ref', ref,
        'ship_to', '{"lat": 33.75, "lon": -84.39, "country": "US", "region": "GA", "postal_code": "30301"}'::jsonb,
        'customer', customer, 'lines', lines) || extra
$$;
-- where a plan ships from: "A: VALVE-9 x 8 + M: VALVE-9 x 2"
CREATE FUNCTION pg_temp.ships(p jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(s->>'node_id' || ': ' ||
               (SELECT string_agg((l->>'sku') || ' x ' || (l->>'qty'), ', ') FROM jsonb_array_elements(s->'lines') l),
               ' + ' ORDER BY s->>'node_id'), '(nothing)')
      FROM jsonb_array_elements(p->'shipments') s
$$;
-- Savannah (GA 31401) and Athens (GA 30601)
CREATE FUNCTION pg_temp.sav() RETURNS jsonb LANGUAGE sql AS
$$ SELECT '{"ship_to": {"lat": 32.08, "lon": -81.09, "country": "US", "region": "GA", "postal_code": "31401"}}'::jsonb $$;
CREATE FUNCTION pg_temp.ath() RETURNS jsonb LANGUAGE sql AS
$$ SELECT '{"ship_to": {"lat": 33.96, "lon": -83.38, "country": "US", "region": "GA", "postal_code": "30601"}}'::jsonb $$;

-- the network: A Atlanta, B Birmingham, C Los Angeles, M Macon (2 handling
-- days), BND a bonded warehouse in Miami, HAZ a hazmat (and bonded) one in
-- Houston.  C ships to Savannah (314xx) by a very cheap but slow consolidated
-- lane; A ships to Athens (306xx) only by an expensive white-glove lane.
INSERT INTO stockroute.node (node_id, name, lat, lon, country, region, handling_days, timezone, tags) VALUES
    ('A',   'Atlanta',        33.749,  -84.388, 'US', 'GA', 1, 'America/New_York',    '{}'),
    ('B',   'Birmingham',     33.519,  -86.810, 'US', 'AL', 1, 'America/Chicago',     '{}'),
    ('C',   'Los Angeles',    34.052, -118.244, 'US', 'CA', 1, 'America/Los_Angeles', '{}'),
    ('M',   'Macon',          32.841,  -83.632, 'US', 'GA', 2, 'America/New_York',    '{}'),
    ('BND', 'Miami bonded',   25.812,  -80.337, 'US', 'FL', 2, 'America/New_York',    '{bonded}'),
    ('HAZ', 'Houston hazmat', 29.691,  -95.209, 'US', 'TX', 2, 'America/Chicago',     '{hazmat,bonded}');
INSERT INTO stockroute.item (sku, weight_kg, tags) VALUES
    ('VALVE-9', 2.5, '{}'), ('PUMP-1', 12, '{}'), ('GASKET-3', 0.1, '{}'),
    -- corrosive, not hazmat: the product rules (routing.md, Products) would
    -- keep a hazmat SKU at hazmat nodes without any rule
    ('ACID-1', 1, '{corrosive}'), ('SEAL-7', 0.2, '{}');
INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock) VALUES
    ('A', 'VALVE-9', 8, 0), ('B', 'VALVE-9', 14, 2), ('C', 'VALVE-9', 15, 0), ('M', 'VALVE-9', 5, 0),
    ('BND', 'VALVE-9', 30, 0), ('HAZ', 'VALVE-9', 30, 0),
    ('A', 'PUMP-1', 10, 0), ('B', 'PUMP-1', 10, 0), ('M', 'PUMP-1', 10, 0),
    ('A', 'GASKET-3', 3, 0), ('B', 'GASKET-3', 50, 0), ('C', 'GASKET-3', 50, 0),
    ('A', 'ACID-1', 20, 0), ('M', 'ACID-1', 20, 0), ('HAZ', 'ACID-1', 20, 0),
    ('A', 'SEAL-7', 40, 0), ('B', 'SEAL-7', 40, 0);
INSERT INTO stockroute.lane (node_id, country, region, postal_prefix, service, base_cost, per_unit, transit_days) VALUES
    ('C', 'US', 'GA', '314', 'consolidated', 1.00, 0, 5),
    ('A', 'US', 'GA', '306', 'white-glove', 120.00, 0, 1);

-- the routing clock: Monday 23 Nov 2026, 09:00 in Atlanta
SET stockroute.now = '2026-11-23 09:00-05';

-- DESIGN.md's buyer template, as data
INSERT INTO stockroute.rule (rule_id, description, match, effect, priority) VALUES
    ('tier1-contract', 'tier1 (contract)', '{"segment": "tier1"}', '{"require_nodes": ["B"]}', 10),
    ('tier2-recurring', 'tier2 (recurring)', '{"segment": "tier2"}',
     '{"profile": "cheapest", "max_days": 4, "else_profile": "fastest"}', 20),
    ('guest', 'guest', '{"segment": "guest"}',
     '{"profile": "closest", "max_cost": 100, "else_profile": "cheapest"}', 30),
    ('mro-urgent', 'mro_urgent', '{"segment": "mro_urgent"}', '{"profile": "fastest", "min_node_available": 5}', 40),
    ('international', 'international', '{"country_not": "US"}', '{"require_node_tags": ["bonded"]}', 50),
    ('cash-on-delivery', 'cash on delivery', '{"payment": "cod"}', '{"local_km": 150}', 60);
SELECT rule_id, match, effect, priority FROM stockroute.rule ORDER BY priority;

-- 1. tier1 contract: B.  A tier3 customer gets A (8 there, nearest); tier1
-- ships from B, and the plan lists the rule and what it excluded
SELECT pg_temp.ships(p) AS tier3, p->'rules' AS rules
  FROM stockroute.plan(pg_temp.o('SO-1', '{"id": "C-1", "segment": "tier3"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 5}]')) p;
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-2', '{"id": "C-2", "segment": "tier1"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 5}]')));
SELECT jsonb_pretty(stockroute.plan(pg_temp.o('SO-2', '{"id": "C-2", "segment": "tier1"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 5}]'))->'rules');

-- 2. tier2: cheapest, unless a shipment takes more than 4 days, then fastest.
-- To Savannah the cheapest plan is C's consolidated lane, 6 days:
SELECT pg_temp.ships(p) AS cheapest, p->'shipments'->0->'days' AS days
  FROM stockroute.plan(pg_temp.o('SO-3', '{"segment": "tier3"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]',
                                 pg_temp.sav() || '{"profile": "cheapest"}')) p;
-- so tier2 falls back to fastest: A, 2 days; the plan says why
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-4', '{"segment": "tier2"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]', pg_temp.sav())));
SELECT jsonb_pretty(stockroute.plan(pg_temp.o('SO-4', '{"segment": "tier2"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]', pg_temp.sav()))->'profile');
-- SEAL-7 is not at C: cheapest ships in 2 days and stands
SELECT pg_temp.ships(p) AS ships, p->'profile' AS profile
  FROM stockroute.plan(pg_temp.o('SO-5', '{"segment": "tier2"}', '[{"line_ref": "1", "sku": "SEAL-7", "qty": 2}]', pg_temp.sav())) p;

-- 3. guest: closest, unless the freight is over 100, then cheapest.  To
-- Athens the closest node is A, whose only lane there costs 120: cheapest (M)
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-6', '{"segment": "guest"}', '[{"line_ref": "1", "sku": "PUMP-1", "qty": 1}]', pg_temp.ath())));
-- to Atlanta the closest node (A) costs 9.18: closest stands
SELECT pg_temp.ships(p) AS ships, p->'cost' AS cost, p->'profile' AS profile
  FROM stockroute.plan(pg_temp.o('SO-7', '{"segment": "guest"}', '[{"line_ref": "1", "sku": "PUMP-1", "qty": 1}]')) p;

-- 4. mro_urgent: fastest, from nodes with at least 5 available.  A has 3
-- GASKET-3: a tier3 order ships 2 from A, an urgent one from B
SELECT pg_temp.ships(stockroute.plan(pg_temp.o('SO-8', '{"segment": "tier3"}', '[{"line_ref": "1", "sku": "GASKET-3", "qty": 2}]'))) AS tier3;
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-9', '{"segment": "mro_urgent"}', '[{"line_ref": "1", "sku": "GASKET-3", "qty": 2}]')));

-- 5. international (ship_to outside the US): bonded nodes only
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-10', '{"segment": "tier3"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]',
                                            '{"ship_to": {"lat": 43.65, "lon": -79.38, "country": "CA"}}')));
-- a destination without a country is not known to be outside the US
SELECT pg_temp.ships(p) AS ships, p->'rules' AS rules
  FROM stockroute.plan(pg_temp.o('SO-11', '{"segment": "tier3"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]',
                                 '{"ship_to": {"lat": 43.65, "lon": -79.38}}')) p;

-- 6. cash on delivery: nodes within 150 km only.  10 VALVE-9 to Atlanta: B
-- (225 km) would ship them in one box; A (0 km) and M (123 km) ship them
SELECT pg_temp.ships(stockroute.plan(pg_temp.o('SO-12', '{"segment": "tier3"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 10}]'))) AS card;
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-13', '{"segment": "tier3", "payment": "cod"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 10}]')));
-- without coordinates no distance can be measured: no node qualifies
SELECT p->>'status' AS status, c->>'node_id' AS node, c->>'reason' AS reason
  FROM stockroute.plan(pg_temp.o('SO-14', '{"payment": "cod"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 10}]',
                                 '{"ship_to": {"country": "US", "region": "GA"}}')) p,
       jsonb_array_elements(p->'explain'->'candidates') c;

-- 7. available() with a customer: the same rules decide what is routable
SELECT n->>'node_id' AS node, n->>'routable' AS routable, n->>'available' AS available, n->>'excluded' AS excluded
  FROM jsonb_array_elements(stockroute.available('VALVE-9', '{"lat": 33.75, "lon": -84.39, "country": "US"}',
                                                  '{"id": "C-2", "segment": "tier1"}')->'nodes') n;
SELECT a->'available' AS tier1_available, a->'rules'->0->'rule_id' AS rule,
       stockroute.available('VALVE-9', '{"lat": 33.75, "lon": -84.39, "country": "US"}', '{"segment": "tier3"}')->'available' AS tier3_available
  FROM stockroute.available('VALVE-9', '{"lat": 33.75, "lon": -84.39, "country": "US"}', '{"segment": "tier1"}') a;
-- min_node_available and a profile switch (fastest's distance model) for mro_urgent
SELECT n->>'node_id' AS node, n->>'routable' AS routable, n->>'excluded' AS excluded
  FROM jsonb_array_elements(stockroute.available('GASKET-3', '{"lat": 33.75, "lon": -84.39, "country": "US"}',
                                                  '{"segment": "mro_urgent"}')->'nodes') n;
-- cash on delivery with no ship_to: nothing is local
SELECT a->'available' AS available, a->'rules'->0->'excluded' AS excluded
  FROM stockroute.available('SEAL-7', NULL, '{"payment": "cod"}') a;
-- international, by ship_to alone
SELECT a->'available' AS available, a->'rules'->0->>'rule_id' AS rule
  FROM stockroute.available('VALVE-9', '{"lat": 43.65, "lon": -79.38, "country": "CA"}') a;
SELECT pg_temp.err($$SELECT stockroute.available('VALVE-9', NULL, '{"segment": 1}')$$);
SELECT pg_temp.err($$SELECT stockroute.available('VALVE-9', NULL, '{"tags": "vip"}')$$);

-- 8. allocate() goes the same way: tier1 reserves at B
SELECT r->>'node_id' AS node, r->>'qty' AS qty, a->'rules'->0->>'rule_id' AS rule
  FROM stockroute.allocate(pg_temp.o('SO-15', '{"segment": "tier1"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 5}]')) a,
       jsonb_array_elements(a->'reservations') r;
SELECT node_id, sku, qty, status FROM stockroute.reservation WHERE order_ref = 'SO-15';
SELECT stockroute.release('SO-15') IS NOT NULL AS released;
-- and so does filling its backorders: 20 wanted, B has 12, 8 are backordered;
-- A's 8 are not for a tier1 order, B's next 10 are
SELECT a->>'status' AS status, pg_temp.ships(a) AS ships, a->'unfilled'->0->'qty' AS backordered
  FROM stockroute.allocate(pg_temp.o('SO-15b', '{"segment": "tier1"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}]')) a;
SELECT stockroute.fill_backorders(ARRAY['VALVE-9']) AS fill_with_a_only;
UPDATE stockroute.stock SET on_hand = on_hand + 10 WHERE node_id = 'B' AND sku = 'VALVE-9';
SELECT stockroute.fill_backorders(ARRAY['VALVE-9']) AS fill_with_b;
SELECT node_id, qty, status FROM stockroute.reservation WHERE order_ref = 'SO-15b' ORDER BY node_id, qty;
SELECT status, qty FROM stockroute.backorder WHERE order_ref = 'SO-15b';
SELECT stockroute.release('SO-15b') IS NOT NULL AS released;
UPDATE stockroute.stock SET on_hand = on_hand - 10 WHERE node_id = 'B' AND sku = 'VALVE-9';

-- 9. per-customer contracts (customer_id, any of a list) and customer tags
INSERT INTO stockroute.rule (rule_id, match, effect, priority) VALUES
    ('acme-contract', '{"customer_id": ["C-900", "C-901"]}', '{"require_nodes": "M"}', 5),
    ('no-atlanta', '{"customer_tag": ["no-atl", "blocked-a"]}', '{"forbid_nodes": ["A"]}', 100);
SELECT c AS customer, pg_temp.ships(p) AS ships,
       (SELECT string_agg(r->>'rule_id', ', ') FROM jsonb_array_elements(p->'rules') r) AS rules
  FROM unnest(ARRAY['{"id": "C-900"}', '{"id": "C-901", "tags": ["vip"]}', '{"id": "C-902"}',
                    '{"id": "C-902", "tags": ["vip", "blocked-a"]}', '{"id": "C-900", "tags": ["no-atl"]}']::jsonb[]) c,
       LATERAL stockroute.plan(pg_temp.o('SO-16', c, '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]')) p;
DELETE FROM stockroute.rule WHERE rule_id IN ('acme-contract', 'no-atlanta');

-- 10. sku and sku_tag rules restrict only their lines.  SEAL-7 and ACID-1
-- both ship from A; a rule for ACID-1 sends that line to HAZ only, while
-- SEAL-7 (not at HAZ) still ships from A
SELECT pg_temp.ships(stockroute.plan(pg_temp.o('SO-17', '{"segment": "tier3"}',
       '[{"line_ref": "1", "sku": "SEAL-7", "qty": 2}, {"line_ref": "2", "sku": "ACID-1", "qty": 2}]'))) AS no_rule;
INSERT INTO stockroute.rule (rule_id, match, effect) VALUES
    ('acid-from-houston', '{"sku": "ACID-1"}', '{"require_nodes": ["HAZ"]}');
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-18', '{"segment": "tier3"}',
       '[{"line_ref": "1", "sku": "SEAL-7", "qty": 2}, {"line_ref": "2", "sku": "ACID-1", "qty": 2}]')));
SELECT p->'rules' AS rules
  FROM stockroute.plan(pg_temp.o('SO-18', '{"segment": "tier3"}',
       '[{"line_ref": "1", "sku": "SEAL-7", "qty": 2}, {"line_ref": "2", "sku": "ACID-1", "qty": 2}]')) p;
-- an order without ACID-1 does not match it
SELECT p->'rules' AS rules
  FROM stockroute.plan(pg_temp.o('SO-19', '{"segment": "tier3"}', '[{"line_ref": "1", "sku": "SEAL-7", "qty": 2}]')) p;
-- the same by the item's tag, and by node tags: corrosive lines from hazmat nodes;
-- with the order's segment too (every key must hold)
UPDATE stockroute.rule SET match = '{"sku_tag": "corrosive", "segment": ["tier3", "tier2"]}',
                           effect = '{"require_node_tags": "hazmat"}'
 WHERE rule_id = 'acid-from-houston';
SELECT c AS customer, pg_temp.ships(p) AS ships, p->'rules'->0->'skus' AS rule_skus
  FROM unnest(ARRAY['{"segment": "tier3"}', '{"segment": "guest"}']::jsonb[]) c,
       LATERAL stockroute.plan(pg_temp.o('SO-20', c,
               '[{"line_ref": "1", "sku": "SEAL-7", "qty": 2}, {"line_ref": "2", "sku": "ACID-1", "qty": 2}]')) p;
-- an order effect of a sku rule (a profile switch) applies to the whole order
UPDATE stockroute.rule SET effect = '{"profile": "fastest"}' WHERE rule_id = 'acid-from-houston';
SELECT p->'profile'->>'name' AS profile, pg_temp.ships(p) AS ships
  FROM stockroute.plan(pg_temp.o('SO-21', '{"segment": "tier3"}',
       '[{"line_ref": "1", "sku": "SEAL-7", "qty": 2}, {"line_ref": "2", "sku": "ACID-1", "qty": 2}]')) p;
DELETE FROM stockroute.rule WHERE rule_id = 'acid-from-houston';

-- 11. prefer_nodes: a bonus off the score of each shipment from M.  Without
-- it A ships (score 11.85 against M's 12.69); with 5 off, M
SELECT pg_temp.ships(p) AS ships, p->'score' AS score
  FROM stockroute.plan(pg_temp.o('SO-22', '{"tags": ["loyal"]}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]')) p;
INSERT INTO stockroute.rule (rule_id, match, effect) VALUES
    ('prefer-macon', '{"customer_tag": "loyal"}', '{"prefer_nodes": ["M"], "bonus": 5}');
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-23', '{"tags": ["loyal"]}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]')));
-- the score terms still add up to the score; cost and days are the real ones
SELECT p->'score' AS score, p->'score_terms' AS terms, p->'cost' AS cost, p->'shipments'->0->'days' AS days,
       round(((SELECT sum(value::numeric) FROM jsonb_each_text(p->'score_terms')) - (p->>'score')::numeric), 5) AS terms_minus_score
  FROM stockroute.plan(pg_temp.o('SO-23', '{"tags": ["loyal"]}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]')) p;
-- a bonus larger than the shipment's own score is only taken as far as it
-- goes (8.759 freight x 1 + 3 days x 1): the score stays non-negative
UPDATE stockroute.rule SET effect = '{"prefer_nodes": ["M"], "bonus": 1000}' WHERE rule_id = 'prefer-macon';
SELECT pg_temp.ships(p) AS ships, p->'score' AS score, p->'score_terms'->'preference' AS preference
  FROM stockroute.plan(pg_temp.o('SO-24', '{"tags": ["loyal"]}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]')) p;
-- under fastest (w_cost 0.05, w_days 100) the bonus comes mostly off the days
UPDATE stockroute.rule SET effect = '{"prefer_nodes": ["M"], "bonus": 150}' WHERE rule_id = 'prefer-macon';
SELECT pg_temp.ships(p) AS ships, p->'score' AS score, p->'score_terms' AS terms
  FROM stockroute.plan(pg_temp.o('SO-25', '{"tags": ["loyal"]}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]',
                                 '{"profile": "fastest"}')) p;
DELETE FROM stockroute.rule WHERE rule_id = 'prefer-macon';

-- 12. priority: the first rule in (priority, rule_id) order sets the profile;
-- the later one is listed with what it could not set
INSERT INTO stockroute.rule (rule_id, match, effect, priority) VALUES
    ('vip-fast', '{"customer_tag": "vip"}', '{"profile": "fastest"}', 5),
    ('vip-cheap', '{"customer_tag": "vip"}', '{"profile": "cheapest"}', 7);
SELECT p->'profile' AS profile, p->'rules' AS rules
  FROM stockroute.plan(pg_temp.o('SO-26', '{"tags": ["vip"]}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]')) p;
-- equal priorities: rule_id in byte order, vip-cheap first
UPDATE stockroute.rule SET priority = 5 WHERE rule_id = 'vip-cheap';
SELECT p->'profile'->>'name' AS profile, p->'profile'->>'rule' AS rule
  FROM stockroute.plan(pg_temp.o('SO-27', '{"tags": ["vip"]}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]')) p;
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-27', '{"tags": ["vip"]}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]')));
DELETE FROM stockroute.rule WHERE rule_id IN ('vip-fast', 'vip-cheap');

-- 13. the order's own profile: a rule's switch wins over what the storefront
-- sends (requested says what it asked for); an unknown profile is still an error
SELECT p->'profile' AS profile
  FROM stockroute.plan(pg_temp.o('SO-28', '{"segment": "tier2"}', '[{"line_ref": "1", "sku": "SEAL-7", "qty": 2}]',
                                 '{"profile": "fastest"}')) p;
SELECT p->'profile' AS profile
  FROM stockroute.plan(pg_temp.o('SO-29', '{"segment": "tier3"}', '[{"line_ref": "1", "sku": "SEAL-7", "qty": 2}]',
                                 '{"profile": "fastest"}')) p;
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-30', '{"segment": "tier2"}', '[{"line_ref": "1", "sku": "SEAL-7", "qty": 2}]', '{"profile": "fastset"}'))$$);

-- 14. validity windows on the routing clock, and disabled rules
INSERT INTO stockroute.rule (rule_id, match, effect, valid_from, valid_until) VALUES
    ('december', '{"customer_tag": "seasonal"}', '{"forbid_nodes": ["A"]}', '2026-12-01 00:00-05', '2027-01-01 00:00-05');
CREATE FUNCTION pg_temp.seasonal() RETURNS TABLE (routing_clock text, ships text, rules text) LANGUAGE sql AS $$
    SELECT current_setting('stockroute.now'), pg_temp.ships(p),
           (SELECT string_agg(r->>'rule_id', ', ') FROM jsonb_array_elements(p->'rules') r)
      FROM stockroute.plan(pg_temp.o('SO-31', '{"tags": ["seasonal"]}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]')) p
$$;
SET stockroute.now = '2026-11-30 23:59:59-05';
SELECT * FROM pg_temp.seasonal();
SET stockroute.now = '2026-12-01 00:00-05';
SELECT * FROM pg_temp.seasonal();
SET stockroute.now = '2026-12-31 23:59:59-05';
SELECT * FROM pg_temp.seasonal();
SET stockroute.now = '2027-01-01 00:00-05';
SELECT * FROM pg_temp.seasonal();
SET stockroute.now = '2026-12-15 09:00-05';
SELECT * FROM pg_temp.seasonal();
UPDATE stockroute.rule SET enabled = false WHERE rule_id = 'december';
SELECT pg_temp.ships(p) AS ships, p->'rules' AS rules
  FROM stockroute.plan(pg_temp.o('SO-32', '{"tags": ["seasonal"]}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]')) p;
DELETE FROM stockroute.rule WHERE rule_id = 'december';
SET stockroute.now = '2026-11-23 09:00-05';

-- 15. max_days and max_cost without else_profile are limits.  max_days 2:
-- M (3 days) and C (5) are not used
INSERT INTO stockroute.rule (rule_id, match, effect) VALUES
    ('two-day', '{"segment": "quick"}', '{"max_days": 2}'),
    ('freight-cap', '{"segment": "capped"}', '{"max_cost": 5}');
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-33', '{"segment": "quick"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 20}]')));
-- max_cost 5: the best plan costs 9.61, so nothing ships (allocate() would
-- backorder it: the order waits for a person)
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-34', '{"segment": "capped"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]')));
SELECT p->'rules' AS rules
  FROM stockroute.plan(pg_temp.o('SO-34', '{"segment": "capped"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]')) p;
DELETE FROM stockroute.rule WHERE rule_id IN ('two-day', 'freight-cap');

-- 16. a rule that leaves no node: an unfillable plan, not an error, and its
-- explain names the rule
INSERT INTO stockroute.rule (rule_id, match, effect) VALUES
    ('blocked', '{"customer_id": "C-666"}', '{"forbid_nodes": ["A", "B", "C", "M", "BND", "HAZ"]}');
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-35', '{"id": "C-666"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]')));
DELETE FROM stockroute.rule WHERE rule_id = 'blocked';

-- 17. a rule written around the validation (trigger disabled, or data from
-- before 0.2.0) is skipped and listed, and routing goes on
ALTER TABLE stockroute.rule DISABLE TRIGGER rule_validate;
INSERT INTO stockroute.rule (rule_id, match, effect) VALUES
    ('bad-match', '{"segment": 5}', '{"require_nodes": ["B"]}'),
    ('bad-effect', '{}', '{"require_nodes": ["B"], "surcharge": 5}'),
    ('bad-profile', '{"segment": "tier3"}', '{"profile": "nope"}'),
    ('not-matching', '{"segment": "nobody"}', '{"bonus": "x"}');
ALTER TABLE stockroute.rule ENABLE TRIGGER rule_validate;
SELECT pg_temp.ships(p) AS ships, p->'profile'->>'name' AS profile, jsonb_pretty(p->'rules') AS rules
  FROM stockroute.plan(pg_temp.o('SO-36', '{"segment": "tier3"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]')) p;
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-36', '{"segment": "tier3"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 2}]')));
-- touching such a rule validates it
SELECT pg_temp.err($$UPDATE stockroute.rule SET priority = 1 WHERE rule_id = 'bad-effect'$$);
DELETE FROM stockroute.rule WHERE rule_id IN ('bad-match', 'bad-effect', 'bad-profile', 'not-matching');

-- 18. validation when a rule is written: one bad value per line
CREATE FUNCTION pg_temp.r(m text, e text) RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.err(format('INSERT INTO stockroute.rule (rule_id, match, effect) VALUES (%L, %L, %L)', 'r1', m, e))
$$;
-- SR024: unknown keys
SELECT pg_temp.r('{"segmnt": "tier1"}', '{"require_nodes": ["B"]}');
SELECT pg_temp.r('{"segment": "tier1"}', '{"require_node": ["B"]}');
-- SR025: wrong types
SELECT pg_temp.r('{"segment": 1}', '{"require_nodes": ["B"]}');
SELECT pg_temp.r('{"customer_tag": ["a", 2]}', '{"require_nodes": ["B"]}');
SELECT pg_temp.r('{"sku": {"eq": "X"}}', '{"require_nodes": ["B"]}');
SELECT pg_temp.r('[]', '{"require_nodes": ["B"]}');
SELECT pg_temp.r('{}', '{"require_nodes": 7}');
SELECT pg_temp.r('{}', '{"require_node_tags": true}');
SELECT pg_temp.r('{}', '{"prefer_nodes": ["B"], "bonus": "5"}');
SELECT pg_temp.r('{}', '{"profile": 3}');
SELECT pg_temp.r('{}', '{"max_cost": "100", "else_profile": "cheapest"}');
SELECT pg_temp.r('{}', '{"local_km": null}');
SELECT pg_temp.r('{}', '[]');
-- SR026: values out of range or that cannot go together
SELECT pg_temp.r('{"segment": []}', '{"require_nodes": ["B"]}');
SELECT pg_temp.r('{"segment": ""}', '{"require_nodes": ["B"]}');
SELECT pg_temp.r('{"country": "us"}', '{"require_nodes": ["B"]}');
SELECT pg_temp.r('{"country_not": ["US", "USA"]}', '{"require_nodes": ["B"]}');
SELECT pg_temp.r('{}', '{"forbid_nodes": []}');
SELECT pg_temp.r('{}', '{"max_cost": -1}');
SELECT pg_temp.r('{}', '{"max_days": -0.5}');
SELECT pg_temp.r('{}', '{"local_km": -150}');
SELECT pg_temp.r('{}', '{"min_node_available": -5}');
SELECT pg_temp.r('{}', '{"min_node_available": 2.5}');
SELECT pg_temp.r('{}', '{"prefer_nodes": ["B"], "bonus": -1}');
SELECT pg_temp.r('{}', '{"max_cost": 1e16}');
SELECT pg_temp.r('{}', '{"bonus": 5}');
SELECT pg_temp.r('{}', '{"prefer_nodes": ["B"]}');
SELECT pg_temp.r('{}', '{"profile": "cheapest", "else_profile": "fastest"}');
SELECT pg_temp.r('{}', '{}');
-- SR027: profiles that do not exist
SELECT pg_temp.r('{}', '{"profile": "cheapst"}');
SELECT pg_temp.r('{}', '{"max_days": 3, "else_profile": "fastst"}');
-- SR028: nodes that do not exist (a typo is an error; create the node first)
SELECT pg_temp.r('{}', '{"require_nodes": ["B", "Q"]}');
SELECT pg_temp.r('{}', '{"forbid_nodes": "a"}');
SELECT pg_temp.r('{}', '{"prefer_nodes": ["ZZ"], "bonus": 1}');
-- an UPDATE is checked the same way; nothing changed
SELECT pg_temp.err($$UPDATE stockroute.rule SET effect = '{"require_nodes": ["Q"]}' WHERE rule_id = 'tier1-contract'$$);
SELECT pg_temp.err($$UPDATE stockroute.rule SET match = '{"segment": ["tier1", 1]}' WHERE rule_id = 'tier1-contract'$$);
SELECT effect FROM stockroute.rule WHERE rule_id = 'tier1-contract';
-- a good rule goes in; an update stamps updated_at
SELECT pg_temp.r('{"country": ["CA", "MX"], "sku_tag": "hazmat"}',
                 '{"require_node_tags": ["hazmat", "bonded"], "max_days": 6, "max_cost": 50.5, "else_profile": "cheapest", "min_node_available": 0, "local_km": 2000, "prefer_nodes": "HAZ", "bonus": 2.5, "profile": "default", "forbid_nodes": ["A"], "require_nodes": ["HAZ", "BND"]}');
UPDATE stockroute.rule SET updated_at = '2000-01-01' WHERE rule_id = 'r1';
SELECT updated_at > '2020-01-01' AS stamped FROM stockroute.rule WHERE rule_id = 'r1';
DELETE FROM stockroute.rule WHERE rule_id = 'r1';

-- 19. what a rule names stays: a profile or node a rule names cannot be
-- deleted (SR029); a renamed node is renamed in the rules
INSERT INTO stockroute.profile (profile_name, w_cost, w_days) VALUES ('contract', 1, 5);
INSERT INTO stockroute.rule (rule_id, match, effect) VALUES
    ('uses-contract', '{"customer_id": "C-77"}', '{"profile": "contract", "prefer_nodes": "BND", "bonus": 1}');
SELECT pg_temp.err($$DELETE FROM stockroute.profile WHERE profile_name = 'contract'$$);
SELECT pg_temp.err($$DELETE FROM stockroute.profile WHERE profile_name = 'cheapest'$$);
SELECT pg_temp.err($$DELETE FROM stockroute.node WHERE node_id = 'B'$$);
SELECT pg_temp.err($$DELETE FROM stockroute.node WHERE node_id = 'BND'$$);
INSERT INTO stockroute.node (node_id, name) VALUES ('SPARE', 'unused');
SELECT pg_temp.err($$DELETE FROM stockroute.node WHERE node_id = 'SPARE'$$);
-- (a node that ever held a reservation keeps its id: reservation.node_id never changes)
UPDATE stockroute.node SET node_id = 'MIA' WHERE node_id = 'BND';
SELECT rule_id, effect FROM stockroute.rule WHERE rule_id = 'uses-contract';
SELECT pg_temp.ships(stockroute.plan(pg_temp.o('SO-37', '{"id": "C-77"}', '[{"line_ref": "1", "sku": "VALVE-9", "qty": 5}]'))) AS ships;
DELETE FROM stockroute.rule WHERE rule_id = 'uses-contract';
SELECT pg_temp.err($$DELETE FROM stockroute.profile WHERE profile_name = 'contract'$$);

-- plan() writes nothing, rules included: it runs in a read-only transaction
BEGIN TRANSACTION READ ONLY;
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-38', '{"segment": "tier2", "payment": "cod"}',
                                            '[{"line_ref": "1", "sku": "VALVE-9", "qty": 12}]')));
COMMIT;
