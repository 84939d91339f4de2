-- aggregate: stockroute.split_plan(candidate [, profile]) over VALUES and over a
-- table grouped by order.  Proves: the plan's shape; that with
-- {"w_cost":1,"w_days":0,"split_penalty":0,"allow_partial":false} the score is
-- exactly sum(shipment_cost of nodes used) + sum(unit_cost * qty); partial
-- fills and unfillable groups; that row order does not matter; every bad row
-- and profile key with its SQLSTATE; and that a forced parallel plan
-- (Partial Aggregate, combine / serialise / deserialise) gives the serial
-- result.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql

-- solver statistics vary with the solver; the rest of the plan is pinned
CREATE FUNCTION pg_temp.p(plan jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT plan #- '{explain,solver,micros}' #- '{explain,solver,evaluated}' #- '{explain,solver,pruned}'
$$;

-- the seed scenario as candidates: 20 wanted; A 8, B 12 near, C 15 far
SELECT jsonb_pretty(pg_temp.p(stockroute.split_plan(c)))
  FROM (VALUES ('1', 20, 'A', 8, 0.43, 8.759, 2),
               ('1', 20, 'B', 12, 0.50, 8.759, 2),
               ('1', 20, 'C', 15, 1.47, 8.759, 5)) v(l, q, n, a, u, s, d),
       LATERAL (SELECT ROW(l, q, n, a, u, s, d)::stockroute.candidate AS c) x;

-- one node can ship everything: no split
SELECT pg_temp.p(stockroute.split_plan(ROW(l, q, n, a, u, s, d)::stockroute.candidate))
  FROM (VALUES ('1', 12, 'A', 8, 0.43, 8.759, 2),
               ('1', 12, 'B', 12, 0.50, 8.759, 2)) v(l, q, n, a, u, s, d);

-- the exact objective: sum of shipment_cost of the nodes used + sum of unit_cost x qty
CREATE TABLE cand (order_id int, line_ref text, qty bigint, node_id text, available bigint,
                   unit_cost float8, shipment_cost float8, days float8);
INSERT INTO cand
SELECT o, 'L' || l, 3 + (o * 7 + l * 3) % 9, 'N' || n, (o * 13 + l * 5 + n * 11) % 12,
       0.25 * (1 + (o + l * n) % 7), 2 + (o * 3 + n * 5) % 11, 1 + (o + n) % 5
  FROM generate_series(1, 60) o, generate_series(1, 3) l, generate_series(1, 6) n;
WITH plans AS (
    SELECT order_id,
           stockroute.split_plan(ROW(line_ref, qty, node_id, available, unit_cost, shipment_cost, days)::stockroute.candidate,
                                 '{"w_cost": 1, "w_days": 0, "split_penalty": 0, "allow_partial": false}') AS p
      FROM cand GROUP BY order_id),
shipped AS (
    SELECT pl.order_id, s->>'node_id' AS node_id, l->>'line_ref' AS line_ref, (l->>'qty')::bigint AS qty
      FROM plans pl, jsonb_array_elements(pl.p->'shipments') s, jsonb_array_elements(s->'lines') l),
objective AS (
    SELECT s.order_id,
           sum(c.unit_cost * s.qty)
           + (SELECT sum(DISTINCT_cost) FROM (SELECT DISTINCT c2.node_id, c2.shipment_cost AS DISTINCT_cost
                                               FROM shipped s2 JOIN cand c2 USING (order_id, node_id, line_ref)
                                              WHERE s2.order_id = s.order_id) n) AS cost
      FROM shipped s JOIN cand c USING (order_id, node_id, line_ref)
     GROUP BY s.order_id)
SELECT count(*) AS plans,
       count(*) FILTER (WHERE p->>'status' = 'complete') AS complete,
       count(*) FILTER (WHERE p->>'status' = 'unfillable') AS unfillable,
       count(*) FILTER (WHERE p->>'status' = 'complete'
                          AND abs((p->>'score')::float8 - o.cost) < 1e-5
                          AND abs((p->>'cost')::float8 - o.cost) < 1e-5) AS score_is_objective,
       count(*) FILTER (WHERE p->>'status' = 'complete'
                          AND (p->'score_terms'->>'days')::float8 = 0
                          AND (p->'score_terms'->>'split')::float8 = 0) AS no_other_terms
  FROM plans LEFT JOIN objective o USING (order_id);

-- the optimum, checked by brute force on a small group: every subset of nodes
-- that can cover the lines, each line taking its cheapest units
WITH c AS (SELECT * FROM cand WHERE order_id = 7),
subsets AS (SELECT s FROM generate_series(1, 63) s),
cost AS (
    SELECT s,
           (SELECT sum(DISTINCT_c) FROM (SELECT DISTINCT node_id, shipment_cost AS DISTINCT_c FROM c
                                         WHERE (s >> (substr(node_id, 2)::int - 1)) & 1 = 1) x) AS fixed,
           (SELECT bool_and(cover) FROM (
                SELECT sum(available) FILTER (WHERE (s >> (substr(node_id, 2)::int - 1)) & 1 = 1) >= max(qty) AS cover
                  FROM c GROUP BY line_ref) y) AS feasible,
           (SELECT sum(lc) FROM (
                SELECT line_ref, (SELECT sum(least(greatest(z.q - z.before, 0), z.available) * z.unit_cost)
                                    FROM (SELECT c2.available, c2.unit_cost, max(c2.qty) OVER () AS q,
                                                 coalesce(sum(c2.available) OVER (ORDER BY c2.unit_cost, c2.node_id
                                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                                            FROM c c2
                                           WHERE c2.line_ref = c1.line_ref
                                             AND (s >> (substr(c2.node_id, 2)::int - 1)) & 1 = 1) z) AS lc
                  FROM (SELECT DISTINCT line_ref FROM c) c1) w) AS variable
      FROM subsets)
SELECT round(min(fixed + variable)::numeric, 6) AS brute_force,
       (SELECT round((stockroute.split_plan(ROW(line_ref, qty, node_id, available, unit_cost, shipment_cost, days)::stockroute.candidate,
                     '{"w_cost": 1, "w_days": 0, "split_penalty": 0, "allow_partial": false}')->>'score')::numeric, 6)
          FROM cand WHERE order_id = 7) AS split_plan
  FROM cost WHERE feasible;

-- the profile: weights, penalties, limits
SELECT pr AS profile, p->>'status' AS status, p->'shipments' AS shipments, p->'unfilled' AS unfilled, p->'score' AS score, p->'score_terms' AS terms
  FROM (SELECT stockroute.split_plan(ROW(l, q, n, a, u, s, d)::stockroute.candidate, pr) AS p, pr
          FROM (VALUES ('1', 20, 'A', 8, 1.0, 5.0, 2), ('1', 20, 'B', 12, 1.0, 5.0, 3),
                       ('2', 4, 'B', 4, 2.0, 5.0, 3), ('2', 4, 'C', 4, 0.75, 5.0, 1)) v(l, q, n, a, u, s, d),
               (VALUES ('{}'::jsonb),
                       ('{"split_penalty": 100, "allow_partial": true, "backorder_penalty": 1}'),
                       ('{"max_shipments": 1, "allow_partial": true}'),
                       ('{"max_shipments": 1}'),
                       ('{"ship_complete": true}'),
                       ('{"w_days": 10, "w_late": 1, "need_by_days": 2}')) pr(pr)
         GROUP BY pr) x
 ORDER BY pr::text;

-- rows with available = 0 offer nothing but their line still counts;
-- NULL candidates are skipped; no rows at all give NULL
SELECT pg_temp.p(stockroute.split_plan(c, '{"allow_partial": true}'))
  FROM (VALUES (ROW('1', 5, 'A', 0, 1, 1, 1)::stockroute.candidate),
               (ROW('2', 3, 'A', 3, 1, 1, 1)::stockroute.candidate),
               (NULL::stockroute.candidate)) v(c);
SELECT stockroute.split_plan(c) FROM (SELECT NULL::stockroute.candidate WHERE false) v(c);
-- available above qty is the line's qty; row order does not matter
SELECT pg_temp.p(stockroute.split_plan(c ORDER BY (c).node_id)) = pg_temp.p(stockroute.split_plan(c ORDER BY (c).node_id DESC)) AS order_free,
       pg_temp.p(stockroute.split_plan(c ORDER BY (c).node_id))->'shipments' AS shipments
  FROM (VALUES (ROW('x', 5, 'B', 100, 1, 2, 1)::stockroute.candidate),
               (ROW('x', 5, 'A', 100, 1, 2, 1)::stockroute.candidate)) v(c);

-- bad rows and profiles: one per line
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW(NULL, 1, 'A', 1, 1, 1, 1)::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', NULL, 'A', 1, 1, 1, 1)::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, NULL, 1, 1, 1, 1)::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', NULL, 1, 1, 1)::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, NULL, 1, 1)::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 1, NULL, 1)::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 1, 1, NULL)::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 0, 'A', 1, 1, 1, 1)::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', -2, 'A', 1, 1, 1, 1)::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 2000000000000000, 'A', 1, 1, 1, 1)::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', -1, 1, 1, 1)::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 'NaN', 1, 1)::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, -0.5, 1, 1)::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 1, 'Infinity', 1)::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 1, -1, 1)::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 1, 1, '-Infinity')::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 1, 1, 1e19)::stockroute.candidate)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(c) FROM (VALUES (ROW('1', 1, 'A', 1, 1, 1, 1)::stockroute.candidate), (ROW('1', 2, 'B', 1, 1, 1, 1)::stockroute.candidate)) v(c)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(c) FROM (VALUES (ROW('1', 1, 'A', 1, 1, 1, 1)::stockroute.candidate), (ROW('2', 1, 'A', 1, 1, 5, 1)::stockroute.candidate)) v(c)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(c) FROM (VALUES (ROW('1', 1, 'A', 1, 1, 1, 1)::stockroute.candidate), (ROW('2', 1, 'A', 1, 1, 1, 2)::stockroute.candidate)) v(c)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(c) FROM (VALUES (ROW('1', 1, 'A', 1, 1, 1, 1)::stockroute.candidate), (ROW('1', 1, 'A', 1, 2, 1, 1)::stockroute.candidate)) v(c)$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 1, 1, 1)::stockroute.candidate, '[]')$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 1, 1, 1)::stockroute.candidate, '{"w_speed": 1}')$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 1, 1, 1)::stockroute.candidate, '{"w_cost": "1"}')$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 1, 1, 1)::stockroute.candidate, '{"w_days": -1}')$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 1, 1, 1)::stockroute.candidate, '{"split_penalty": 1e30}')$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 1, 1, 1)::stockroute.candidate, '{"allow_partial": "yes"}')$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 1, 1, 1)::stockroute.candidate, '{"ship_complete": 0}')$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 1, 1, 1)::stockroute.candidate, '{"max_shipments": 1.5}')$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 1, 1, 1)::stockroute.candidate, '{"max_shipments": -1}')$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 1, 'A', 1, 1, 1, 1)::stockroute.candidate, '{"need_by_days": true}')$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(c, p) FROM (VALUES (ROW('1', 1, 'A', 1, 1, 1, 1)::stockroute.candidate, '{}'::jsonb), (ROW('1', 1, 'B', 1, 1, 1, 1)::stockroute.candidate, '{"w_days": 0}')) v(c, p)$$);

-- explain() renders split_plan's plans too
SET stockroute.explain_timing = off;
SELECT regexp_replace(stockroute.explain(stockroute.split_plan(ROW(l, q, n, a, u, s, d)::stockroute.candidate, '{"allow_partial": true}')),
                      '\d+ evaluated, \d+ pruned', 'N evaluated, N pruned')
  FROM (VALUES ('1', 20, 'A', 8, 0.43, 8.759, 2), ('1', 20, 'B', 5, 0.50, 8.759, 2)) v(l, q, n, a, u, s, d);

-- parallel: partial aggregates in workers, combined in the leader
CREATE TABLE pcand AS
SELECT o AS order_id, 'L' || l AS line_ref, (2 + (o + l) % 7)::bigint AS qty, 'N' || n AS node_id,
       ((o * 7 + l * 3 + n * 5) % 9)::bigint AS available, (0.1 * (1 + (o * l + n) % 13))::float8 AS unit_cost,
       (3 + (o + 2 * n) % 8)::float8 AS shipment_cost, (1 + (o * n) % 4)::float8 AS days
  FROM generate_series(1, 400) o, generate_series(1, 3) l, generate_series(1, 8) n;
ANALYZE pcand;
CREATE TABLE serial_plans AS
SELECT order_id, pg_temp.p(stockroute.split_plan(ROW(line_ref, qty, node_id, available, unit_cost, shipment_cost, days)::stockroute.candidate,
                                                 '{"allow_partial": true}')) AS p
  FROM pcand GROUP BY order_id;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF)
SELECT order_id, stockroute.split_plan(ROW(line_ref, qty, node_id, available, unit_cost, shipment_cost, days)::stockroute.candidate,
                                       '{"allow_partial": true}')
  FROM pcand GROUP BY order_id;
CREATE TEMP TABLE parallel_plans AS
SELECT order_id, pg_temp.p(stockroute.split_plan(ROW(line_ref, qty, node_id, available, unit_cost, shipment_cost, days)::stockroute.candidate,
                                                 '{"allow_partial": true}')) AS p
  FROM pcand GROUP BY order_id;
SELECT count(*) AS orders,
       count(*) FILTER (WHERE s.p = pp.p) AS same_plan,
       count(*) FILTER (WHERE s.p->>'status' = 'complete') AS complete
  FROM serial_plans s JOIN parallel_plans pp USING (order_id);
-- the whole table as one group, split across workers
EXPLAIN (COSTS OFF)
SELECT stockroute.split_plan(ROW(line_ref, qty, node_id, available, unit_cost, shipment_cost, days)::stockroute.candidate)
  FROM pcand WHERE order_id = 5;
SELECT pg_temp.p(stockroute.split_plan(ROW(line_ref, qty, node_id, available, unit_cost, shipment_cost, days)::stockroute.candidate,
                                       '{"allow_partial": true}'))
       = (SELECT p FROM serial_plans WHERE order_id = 5) AS same_plan
  FROM pcand WHERE order_id = 5;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
RESET enable_hashagg;
DROP TABLE cand, pcand, serial_plans;
