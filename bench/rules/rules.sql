-- bench/rules/rules.sql — the rules benchmark's buyers and rules, on top of
-- bench/routing/network.sql (50 nodes, 200 ten-line orders, and the six
-- buyer rules of demo/network.sql).
--
-- bench_rules.orders: the 200 orders, each with a customer (and
-- bench_rules.orders1: the same with their first line only): segments tier3
-- 50 %, tier2 20 %, guest 15 %, tier1 10 %, mro_urgent 5 %; payment card
-- 80 %, net30 15 %, cod 5 %; tags vip 10 %, no-3pl 5 %; ids C-1 ... C-1000.
-- bench_rules.rule_set: 50 rules, all enabled and in force, the kind a
-- distributor accumulates: the six of the buyer template, 14 per-customer
-- contracts, 10 sku rules, 6 sku_tag rules, 6 customer-tag rules, 4 payment
-- rules, 3 export rules and 1 rule on every US order.  Most do not match a
-- given order; run.sh counts how many do.  Deterministic (hashtext()).

\set ON_ERROR_STOP on
BEGIN;
CREATE SCHEMA bench_rules;

CREATE TABLE bench_rules.orders AS
SELECT o.id,
       o.doc || jsonb_build_object('customer', jsonb_build_object(
           'id', 'C-' || (1 + abs(hashtext('cust' || o.id)) % 1000),
           'segment', CASE WHEN s < 50 THEN 'tier3' WHEN s < 70 THEN 'tier2' WHEN s < 85 THEN 'guest'
                           WHEN s < 95 THEN 'tier1' ELSE 'mro_urgent' END,
           'payment', CASE WHEN p < 80 THEN 'card' WHEN p < 95 THEN 'net30' ELSE 'cod' END,
           'tags', CASE WHEN t < 10 THEN '["vip"]'::jsonb WHEN t < 15 THEN '["no-3pl"]' ELSE '[]' END)) AS doc
  FROM (SELECT r.*, abs(hashtext('seg' || r.id)) % 100 AS s, abs(hashtext('pay' || r.id)) % 100 AS p,
               abs(hashtext('tag' || r.id)) % 100 AS t
          FROM bench_routing.orders r) o;
ALTER TABLE bench_rules.orders ADD PRIMARY KEY (id);

-- the same orders cut to their first line: checkout-sized quotes, where the
-- rules' fixed cost weighs most
CREATE TABLE bench_rules.orders1 AS
SELECT id, jsonb_set(doc, '{lines}', jsonb_build_array(doc->'lines'->0)) AS doc FROM bench_rules.orders;
ALTER TABLE bench_rules.orders1 ADD PRIMARY KEY (id);

CREATE TABLE bench_rules.rule_set (LIKE stockroute.rule INCLUDING DEFAULTS);

-- the six of the buyer template, as demo/network.sql stored them
INSERT INTO bench_rules.rule_set SELECT * FROM stockroute.rule;

CREATE TEMP VIEW active_nodes AS
SELECT array_agg(node_id ORDER BY node_id) AS ids,
       array_agg(node_id ORDER BY node_id) FILTER (WHERE kind = '3pl') AS tpl
  FROM stockroute.node WHERE status = 'active';

-- 14 per-customer contracts, 3 or 4 accounts each (C-1 ... C-50: 5 % of orders)
INSERT INTO bench_rules.rule_set (rule_id, description, match, effect, priority)
SELECT 'contract-' || g, 'contract ' || g,
       jsonb_build_object('customer_id',
           (SELECT jsonb_agg('C-' || c) FROM generate_series(1 + (g - 1) * 50 / 14, g * 50 / 14) c)),
       CASE g % 3 WHEN 0 THEN jsonb_build_object('require_nodes', jsonb_build_array(ids[1 + g % 50], ids[1 + (g * 7) % 50], ids[1 + (g * 13) % 50]))
                  WHEN 1 THEN jsonb_build_object('profile', 'cheapest', 'forbid_nodes', jsonb_build_array(ids[1 + g % 50]))
                  ELSE jsonb_build_object('prefer_nodes', jsonb_build_array(ids[1 + g % 50], ids[1 + (g * 7) % 50]), 'bonus', 5) END,
       5
  FROM generate_series(1, 14) g, active_nodes;

-- 10 sku rules: five pumps off the 3PLs, five motors from LTL-capable nodes
INSERT INTO bench_rules.rule_set (rule_id, description, match, effect, priority)
SELECT 'pump-' || n, 'pump ' || n || ' not from 3PLs',
       jsonb_build_object('sku', 'PUMP-' || (100 + n)), jsonb_build_object('forbid_nodes', to_jsonb(tpl)), 70
  FROM generate_series(1, 5) n, active_nodes
UNION ALL
SELECT 'motor-' || n, 'motor ' || n || ' by LTL only',
       jsonb_build_object('sku', jsonb_build_array('MOTOR-' || (100 + n), 'MOTOR-' || (110 + n))),
       '{"require_node_tags": ["ltl"]}', 70
  FROM generate_series(1, 5) n;

-- 6 sku_tag rules
INSERT INTO bench_rules.rule_set (rule_id, description, match, effect, priority) VALUES
    ('perishable-not-slc', 'perishables not from the slow 3PL', '{"sku_tag": "perishable"}', '{"forbid_nodes": ["SLC-3PL"]}', 80),
    ('lots-keep-two', 'lot-tracked: keep two units', '{"sku_tag": "lot_tracked"}', '{"min_node_available": 2}', 80),
    ('perishable-guest', 'perishables to guests within 4 days', '{"sku_tag": "perishable", "segment": "guest"}', '{"max_days": 4}', 80),
    ('hazmat-nodes', 'hazmat from hazmat nodes', '{"sku_tag": "hazmat"}', '{"require_node_tags": ["hazmat"]}', 1),
    ('perishable-cod', 'perishables on cash on delivery: 300 km', '{"sku_tag": "perishable", "payment": "cod"}', '{"local_km": 300}', 80),
    ('lots-tier1-fast', 'lot-tracked for tier1: fastest', '{"sku_tag": "lot_tracked", "segment": "tier1"}', '{"profile": "fastest"}', 80);

-- 6 customer-tag rules
INSERT INTO bench_rules.rule_set (rule_id, description, match, effect, priority)
SELECT 'vip-prefer', 'vip: the big DCs', '{"customer_tag": "vip"}'::jsonb, '{"prefer_nodes": ["NJ-WH", "CHI-WH", "ONT-WH"], "bonus": 3}'::jsonb, 90
UNION ALL SELECT 'vip-fast', 'vip: fastest', '{"customer_tag": "vip"}', '{"profile": "fastest"}', 90
UNION ALL SELECT 'no-3pl', 'no 3PLs', '{"customer_tag": "no-3pl"}', jsonb_build_object('forbid_nodes', to_jsonb(tpl)), 90 FROM active_nodes
UNION ALL SELECT 'blocked', 'blocked accounts', '{"customer_tag": "blocked"}', jsonb_build_object('forbid_nodes', to_jsonb(ids)), 1 FROM active_nodes
UNION ALL SELECT 'government', 'government: bonded only', '{"customer_tag": ["gov", "federal"]}', '{"require_node_tags": ["bonded"]}', 90
UNION ALL SELECT 'wholesale', 'wholesale: deep stock only', '{"customer_tag": "wholesale"}', '{"min_node_available": 20}', 90;

-- 4 payment rules
INSERT INTO bench_rules.rule_set (rule_id, description, match, effect, priority) VALUES
    ('net30-depth', 'net30: nodes with 3 or more', '{"payment": "net30"}', '{"min_node_available": 3}', 95),
    ('net30-tier3-cheap', 'net30 tier3: cheapest', '{"payment": "net30", "segment": "tier3"}', '{"profile": "cheapest"}', 95),
    ('wire', 'wire transfer: freight cap', '{"payment": "wire"}', '{"max_cost": 250}', 95),
    ('po-local', 'purchase orders: within 800 km', '{"payment": ["po", "invoice"]}', '{"local_km": 800}', 95);

-- 3 export rules and 1 rule on every US order
INSERT INTO bench_rules.rule_set (rule_id, description, match, effect, priority) VALUES
    ('canada', 'Canada: bonded, cheapest', '{"country": "CA"}', '{"require_node_tags": ["bonded"], "profile": "cheapest"}', 15),
    ('mexico', 'Mexico: bonded, from Texas', '{"country": "MX"}', '{"require_nodes": ["DAL-3PL", "HOU-HAZ", "MIA-BND"]}', 15),
    ('overseas-cap', 'overseas: freight cap', '{"country_not": ["US", "CA", "MX"]}', '{"max_cost": 500}', 15),
    ('exit-memphis', 'no new orders for the Memphis 3PL', '{"country": "US"}', '{"forbid_nodes": ["MEM-3PL"]}', 1);

COMMIT;
SELECT count(*) AS rules, count(*) FILTER (WHERE enabled) AS enabled FROM bench_rules.rule_set;
