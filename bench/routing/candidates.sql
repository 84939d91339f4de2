-- bench/routing/candidates.sql — 10,000 orders as split_plan candidate rows:
-- 1-5 lines (3 on average) and 6-10 nodes (8 on average) per order, every
-- line stocked at about 70% of its order's nodes, costs from the distance
-- model (8.759 per shipment, 0.423 + 0.000541 x miles per unit, +-20%), a day
-- per started 500 miles.  Seeded, so every run has the same rows; every line
-- can be filled (one node tops up what the others lack).

\set ON_ERROR_STOP on
BEGIN;
SELECT setseed(0.42);

CREATE TABLE bench_routing.cand (
    order_id      integer NOT NULL,
    line_ref      text NOT NULL,
    qty           bigint NOT NULL,
    node_id       text NOT NULL,
    available     bigint NOT NULL,
    unit_cost     float8 NOT NULL,
    shipment_cost float8 NOT NULL,
    days          float8 NOT NULL
);

CREATE TEMP TABLE o_shape AS
SELECT o AS order_id, 1 + floor(random() * 5)::int AS nlines, 6 + floor(random() * 5)::int AS nnodes
  FROM generate_series(1, 10000) o;

CREATE TEMP TABLE o_line AS
SELECT s.order_id, l AS line, 1 + floor(random() * 12)::bigint AS qty
  FROM o_shape s, generate_series(1, s.nlines) l;

CREATE TEMP TABLE o_node AS
SELECT s.order_id, n AS node, 50 + random() * 2450 AS miles
  FROM o_shape s, generate_series(1, s.nnodes) n;

CREATE TEMP TABLE o_cand AS
SELECT l.order_id, l.line, l.qty, n.node, n.miles,
       1 + floor(random() * l.qty)::bigint AS available,
       (0.423 + 0.000541 * n.miles) * (0.8 + 0.4 * random()) AS unit_cost,
       random() < 0.7 AS stocked,
       random() AS pick
  FROM o_line l JOIN o_node n USING (order_id);

-- top up: the line's randomly picked node gets what the line still lacks
WITH lack AS (
    SELECT order_id, line, max(qty) - coalesce(sum(available) FILTER (WHERE stocked), 0) AS short
      FROM o_cand GROUP BY order_id, line),
topper AS (
    SELECT DISTINCT ON (order_id, line) order_id, line, node FROM o_cand
     ORDER BY order_id, line, pick)
UPDATE o_cand c
   SET stocked = true,
       available = CASE WHEN c.stocked THEN c.available ELSE 0 END + k.short
  FROM lack k JOIN topper t USING (order_id, line)
 WHERE k.short > 0 AND c.order_id = k.order_id AND c.line = k.line AND c.node = t.node;

INSERT INTO bench_routing.cand
SELECT order_id, 'L' || line, qty, 'N' || lpad(node::text, 2, '0'), available, unit_cost,
       8.759, 1 + floor(miles / 500)
  FROM o_cand WHERE stocked
 ORDER BY order_id, line, node;

CREATE INDEX ON bench_routing.cand (order_id);
DROP TABLE o_shape, o_line, o_node, o_cand;
COMMIT;
ANALYZE bench_routing.cand;
SELECT count(*) AS candidate_rows, count(DISTINCT order_id) AS orders,
       round(count(*)::numeric / count(DISTINCT order_id), 1) AS rows_per_order
  FROM bench_routing.cand;
