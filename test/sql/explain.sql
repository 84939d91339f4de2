-- explain(): how a plan reads for people, from hand-written plan documents
-- (explain takes any plan jsonb).  Proves: amounts of money (the plan's cost,
-- each shipment's cost) are rounded to two decimals and followed by
-- stockroute.currency (default USD; another code; empty for bare amounts);
-- a candidate not chosen that carries delta_cost / delta_days is shown with
-- what choosing it would add ("+12.40 USD, 2 days later", sooner, cheaper,
-- the same cost or day, one of the two keys alone), one without them with
-- its reason; a bad currency and non-numeric deltas are refused with 22023
-- and leave the setting as it was; a real plan() asked for its deltas
-- (options.explain_deltas) is rendered with them.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql

SET stockroute.explain_timing = off;

-- a plan as plan() writes it, with deltas on the candidates not chosen
CREATE FUNCTION pg_temp.p() RETURNS jsonb LANGUAGE sql AS $$
SELECT '{"order_ref": "SO-1", "status": "complete", "cost": 43, "score": 47.5,
  "shipments": [
    {"node_id": "A", "service": "ground", "lines": [{"line_ref": "1", "sku": "VALVE-9", "qty": 8}],
     "cost": 21.5, "days": 2, "eta": "2026-11-25"},
    {"node_id": "B", "lines": [{"line_ref": "1", "sku": "VALVE-9", "qty": 12}],
     "cost": 21.499, "days": 1, "eta": "2026-11-24"}],
  "unfilled": [],
  "explain": {"candidates": [
    {"node_id": "A", "eligible": true, "chosen": true, "reason": "chosen"},
    {"node_id": "C", "eligible": true, "chosen": false, "reason": "not chosen: the plan scores better without it",
     "delta_cost": 12.4, "delta_days": 2},
    {"node_id": "D", "eligible": true, "chosen": false, "reason": "not chosen: the plan scores better without it",
     "delta_cost": -3.456, "delta_days": -1},
    {"node_id": "E", "eligible": true, "chosen": false, "reason": "not chosen: the plan scores better without it",
     "delta_cost": 0.001, "delta_days": 0},
    {"node_id": "F", "eligible": true, "chosen": false, "reason": "not chosen: the plan scores better without it",
     "delta_cost": 7},
    {"node_id": "G", "eligible": true, "chosen": false, "reason": "not chosen: the plan scores better without it",
     "delta_days": 1},
    {"node_id": "H", "eligible": true, "chosen": false, "reason": "not chosen: the plan scores better without it",
     "delta_cost": null, "delta_days": null},
    {"node_id": "M", "eligible": false, "chosen": false, "reason": "draining"}],
   "solver": {"method": "exact", "evaluated": 7, "micros": 12}}}'::jsonb
$$;

SHOW stockroute.currency;
SELECT stockroute.explain(pg_temp.p());

-- another currency; none
SET stockroute.currency = 'EUR';
SELECT stockroute.explain(pg_temp.p() #- '{explain}');
SET stockroute.currency = '';
SELECT stockroute.explain(pg_temp.p() #- '{explain}');
RESET stockroute.currency;

-- the rounding is half away from zero, large amounts keep their digits
SELECT stockroute.explain('{"status": "complete", "cost": 1234567.125, "shipments": []}');
SELECT stockroute.explain('{"status": "complete", "cost": 0.004, "shipments": []}');
-- a cost that is no number is shown as the plan stores it
SELECT stockroute.explain('{"status": "complete", "cost": null, "shipments": []}');

-- bad currencies, one per line; the setting stays as it was
SET stockroute.currency = 'CHF';
SELECT pg_temp.err($$SET stockroute.currency = 'usd'$$);
SELECT pg_temp.err($$SET stockroute.currency = 'US'$$);
SELECT pg_temp.err($$SET stockroute.currency = 'USDX'$$);
SELECT pg_temp.err($$SET stockroute.currency = '€'$$);
SHOW stockroute.currency;
RESET stockroute.currency;

-- deltas that are no numbers, one per line
SELECT pg_temp.err($$SELECT stockroute.explain('{"status": "complete", "explain": {"candidates": [{"node_id": "C", "chosen": false, "delta_cost": "12.40"}]}}')$$);
SELECT pg_temp.err($$SELECT stockroute.explain('{"status": "complete", "explain": {"candidates": [{"node_id": "C", "chosen": false, "delta_days": true}]}}')$$);
SELECT pg_temp.err($$SELECT stockroute.explain('{"status": "complete", "explain": {"candidates": [{"node_id": "C", "chosen": false, "delta_cost": 1, "delta_days": [2]}]}}')$$);

-- a real plan asked for its deltas renders them the same way
INSERT INTO stockroute.node (node_id, name, lat, lon, country) VALUES
    ('A', 'Atlanta', 33.75, -84.39, 'US'), ('B', 'Birmingham', 33.52, -86.81, 'US'),
    ('C', 'Reno', 39.53, -119.81, 'US');
INSERT INTO stockroute.item (sku, weight_kg) VALUES ('VALVE-9', 2.5);
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES ('A', 'VALVE-9', 8), ('B', 'VALVE-9', 12), ('C', 'VALVE-9', 15);
SET stockroute.now = '2026-11-23 09:00:00+00';
SELECT regexp_replace(stockroute.explain(stockroute.plan('{"order_ref": "SO-2",
         "ship_to": {"lat": 33.75, "lon": -84.39, "country": "US"},
         "lines": [{"line_ref": "1", "sku": "VALVE-9", "qty": 8}], "options": {"explain_deltas": true}}')),
       '\d+ evaluated, \d+ pruned', 'N evaluated, N pruned') AS explain;
