-- stockroute demo: a day of orders simulated under the default profile and
-- under nearest-location routing (the shipped profile "closest"), with the
-- KPIs of each.  simulate() routes the batch as allocate() would, one order
-- after the other, and writes nothing.
--
--   psql -X -q -f demo/simulate.sql      (after demo/network.sql)
--
-- The 400 orders are deterministic (hashtext(), never random()): a ship-to
-- among 20 US cities, one to three lines of the catalogue (popular SKUs more
-- often), one to four units a line.

\set ON_ERROR_STOP on
SET stockroute.now = '2026-11-23 09:00:00+00';
SET TimeZone = 'UTC';
\ir format.sql

CREATE TEMP TABLE demo_city (i int PRIMARY KEY, region text, lat float8, lon float8, postal_code text);
INSERT INTO demo_city VALUES
    (0, 'GA', 33.75, -84.39, '30301'), (1, 'IL', 41.88, -87.63, '60601'), (2, 'TX', 32.78, -96.80, '75201'),
    (3, 'NY', 40.71, -74.01, '10001'), (4, 'CA', 34.05, -118.24, '90012'), (5, 'WA', 47.61, -122.33, '98101'),
    (6, 'FL', 25.76, -80.19, '33101'), (7, 'CO', 39.74, -104.99, '80202'), (8, 'AZ', 33.45, -112.07, '85004'),
    (9, 'MA', 42.36, -71.06, '02108'), (10, 'PA', 39.95, -75.17, '19102'), (11, 'OH', 39.96, -82.99, '43215'),
    (12, 'MN', 44.98, -93.27, '55401'), (13, 'MO', 38.63, -90.20, '63101'), (14, 'TN', 36.16, -86.78, '37203'),
    (15, 'NC', 35.23, -80.84, '28202'), (16, 'OR', 45.52, -122.68, '97204'), (17, 'UT', 40.76, -111.89, '84101'),
    (18, 'MI', 42.33, -83.05, '48226'), (19, 'LA', 29.95, -90.07, '70112');

CREATE TEMP TABLE demo_sku AS
SELECT row_number() OVER (ORDER BY abs(hashtext(sku || '|demo-pop')), sku) - 1 AS k, sku
  FROM stockroute.item WHERE sku <> 'VALVE-9';

-- order n: a city, 1-3 lines (half of them one line), SKUs by u^2 of a uniform u
CREATE TEMP TABLE demo_day AS
SELECT n, jsonb_build_object(
         'order_ref', 'DAY-' || lpad(n::text, 4, '0'),
         'ship_to', jsonb_build_object('lat', c.lat, 'lon', c.lon, 'country', 'US',
                                       'region', c.region, 'postal_code', c.postal_code),
         'customer', jsonb_build_object('id', 'C-' || (abs(hashtext(n || '|cust')) % 500), 'segment', 'tier3'),
         'lines', (SELECT jsonb_agg(jsonb_build_object('line_ref', l::text, 'sku', s.sku,
                                                       'qty', 1 + abs(hashtext(n || '|q' || l)) % 4)
                                    ORDER BY l)
                     FROM generate_series(1, CASE WHEN abs(hashtext(n || '|n')) % 2 = 0 THEN 1
                                                  ELSE 2 + abs(hashtext(n || '|m')) % 2 END) l
                     JOIN demo_sku s
                       ON s.k = floor(power((abs(hashtext(n || '|s' || l)) % 1000) / 1000.0, 2)
                                      * (SELECT count(*) FROM demo_sku))::int)) AS doc
  FROM generate_series(1, 400) n
  JOIN demo_city c ON c.i = abs(hashtext(n || '|city')) % 20;

\echo
\echo '=== 10. A day of 400 orders simulated: stockroute''s default profile against nearest-location routing ==='
\echo '    simulate() routes the batch as allocate() would, in order, each order seeing the stock the earlier'
\echo '    ones took; it writes nothing.  "closest" ships from the nearest node that has the units.'
\echo
SELECT kpi.profile AS routing,
       (s->>'orders')::int AS orders,
       round((s->>'fill_rate')::numeric * 100, 1) || ' %' AS filled,
       pg_temp.money((s->>'cost')::numeric) AS freight,
       pg_temp.money((s->>'cost_per_order')::numeric) AS per_order,
       (s->>'shipments')::int AS shipments,
       round((s->>'split_rate')::numeric * 100, 1) || ' %' AS split,
       round((s->>'days_mean')::numeric, 2) AS days_mean,
       (s->>'days_p95')::numeric AS days_p95
  FROM (VALUES (1, 'default'), (2, 'closest')) AS kpi(i, profile),
       LATERAL stockroute.simulate((SELECT jsonb_agg(doc ORDER BY n) FROM demo_day), kpi.profile) AS s
 ORDER BY kpi.i;

\echo 'Where the units would ship from (units per node):'
SELECT x.node_id,
       max(CASE WHEN profile = 'default' THEN units END) AS "default",
       max(CASE WHEN profile = 'closest' THEN units END) AS closest
  FROM (VALUES ('default'), ('closest')) AS p(profile),
       LATERAL jsonb_to_recordset(stockroute.simulate((SELECT jsonb_agg(doc ORDER BY n) FROM demo_day),
                                                      p.profile)->'nodes') AS x(node_id text, units bigint)
 GROUP BY x.node_id
 ORDER BY max(CASE WHEN profile = 'default' THEN units END) DESC NULLS LAST, x.node_id;
\echo 'Nothing was written: reservations of the day''s orders:'
SELECT count(*) AS reservations FROM stockroute.reservation WHERE order_ref LIKE 'DAY-%';
