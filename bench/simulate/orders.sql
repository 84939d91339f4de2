-- bench/simulate/orders.sql — 10,000 e-commerce orders for the 50-node
-- network of bench/routing/network.sql (load that first).  Deterministic:
-- every choice comes from hashtext(), so every run routes the same orders.
--
-- Destinations: the 46 state centroids of the routing benchmark, each
-- jittered by up to a degree.  Lines: 1 (50%), 2 (25%), 3 (15%) or 4 (10%)
-- distinct SKUs, popular SKUs more often (the index into the catalogue is
-- u^2 of a uniform u, so the first tenth of it takes about a third of the
-- lines); 1-3 units a line, one line in ten 4-10.  Solvents (hazmat, one
-- node) and the seed SKU VALVE-9 are left out, as in the routing benchmark.

\set ON_ERROR_STOP on
BEGIN;
CREATE SCHEMA bench_simulate;

CREATE TEMP TABLE bench_state (region text PRIMARY KEY, lat float8, lon float8, zip text);
INSERT INTO bench_state VALUES
    ('AL', 32.8,  -86.8, '35203'), ('AZ', 34.2, -111.7, '85004'), ('AR', 34.9,  -92.4, '72201'),
    ('CA', 36.1, -119.7, '93721'), ('CO', 39.0, -105.5, '80202'), ('CT', 41.6,  -72.7, '06103'),
    ('DE', 39.0,  -75.5, '19901'), ('FL', 28.6,  -82.4, '32801'), ('GA', 32.7,  -83.4, '30301'),
    ('ID', 44.1, -114.7, '83702'), ('IL', 40.0,  -89.2, '62701'), ('IN', 39.9,  -86.3, '46204'),
    ('IA', 42.0,  -93.5, '50309'), ('KS', 38.5,  -98.4, '67202'), ('KY', 37.5,  -85.3, '40601'),
    ('LA', 31.1,  -92.0, '70801'), ('ME', 45.4,  -69.2, '04330'), ('MD', 39.0,  -76.8, '21401'),
    ('MA', 42.3,  -71.8, '01608'), ('MI', 43.3,  -84.5, '48933'), ('MN', 46.3,  -94.3, '56401'),
    ('MS', 32.7,  -89.7, '39201'), ('MO', 38.4,  -92.5, '65101'), ('MT', 47.0, -109.6, '59601'),
    ('NE', 41.5,  -99.8, '68801'), ('NV', 39.3, -116.6, '89501'), ('NH', 43.7,  -71.6, '03301'),
    ('NJ', 40.2,  -74.7, '08608'), ('NM', 34.4, -106.1, '87501'), ('NY', 42.9,  -75.5, '13501'),
    ('NC', 35.6,  -79.4, '27601'), ('ND', 47.5, -100.5, '58501'), ('OH', 40.3,  -82.8, '43215'),
    ('OK', 35.6,  -97.5, '73102'), ('OR', 44.0, -120.6, '97301'), ('PA', 40.9,  -77.8, '16801'),
    ('SC', 33.9,  -80.9, '29201'), ('SD', 44.4, -100.2, '57501'), ('TN', 35.9,  -86.4, '37201'),
    ('TX', 31.5,  -99.3, '76801'), ('UT', 39.3, -111.7, '84101'), ('VA', 37.5,  -78.9, '23219'),
    ('WA', 47.4, -120.5, '98801'), ('WV', 38.6,  -80.6, '25301'), ('WI', 44.6,  -89.9, '54401'),
    ('WY', 43.0, -107.5, '82601');

CREATE TEMP TABLE bench_sku AS
SELECT row_number() OVER (ORDER BY abs(hashtext(sku || '|pop')), sku) - 1 AS k, sku
  FROM stockroute.item
 WHERE sku <> 'VALVE-9' AND sku NOT LIKE 'SOLVENT-%';

CREATE TABLE bench_simulate.orders (
    id          integer PRIMARY KEY,
    lat         float8 NOT NULL,
    lon         float8 NOT NULL,
    region      text NOT NULL,
    postal_code text NOT NULL,
    doc         jsonb NOT NULL
);
CREATE TABLE bench_simulate.lines (
    order_id    integer NOT NULL,
    line_ref    text NOT NULL,
    sku         text NOT NULL,
    qty         integer NOT NULL,
    PRIMARY KEY (order_id, line_ref)
);

INSERT INTO bench_simulate.lines
SELECT o.id, row_number() OVER (PARTITION BY o.id ORDER BY c.j)::text, c.sku,
       CASE WHEN abs(hashtext('q' || o.id || '|' || c.j)) % 10 = 0
            THEN 4 + abs(hashtext('qq' || o.id || '|' || c.j)) % 7
            ELSE 1 + abs(hashtext('qq' || o.id || '|' || c.j)) % 3 END
  FROM (SELECT g AS id,
               CASE WHEN abs(hashtext('n' || g)) % 100 < 50 THEN 1
                    WHEN abs(hashtext('n' || g)) % 100 < 75 THEN 2
                    WHEN abs(hashtext('n' || g)) % 100 < 90 THEN 3 ELSE 4 END AS nlines
          FROM generate_series(1, 10000) g) o
 CROSS JOIN LATERAL (
       -- up to 6 draws, distinct SKUs, the first nlines of them
       SELECT d.j, d.sku FROM (
           SELECT DISTINCT ON (s.sku) j, s.sku
             FROM generate_series(1, 6) j
             JOIN bench_sku s
               ON s.k = floor((SELECT count(*) FROM bench_sku)
                              * power((abs(hashtext('s' || o.id || '|' || j)) % 100000) / 100000.0, 2))::int
            ORDER BY s.sku, j) d
        ORDER BY d.j
        LIMIT o.nlines) c;

INSERT INTO bench_simulate.orders
SELECT o.id, o.lat, o.lon, o.region, o.zip,
       jsonb_build_object(
           'order_ref', 'SIM-' || o.id,
           'ship_to', jsonb_build_object('lat', o.lat, 'lon', o.lon, 'country', 'US',
                                         'region', o.region, 'postal_code', o.zip),
           'lines', (SELECT jsonb_agg(jsonb_build_object('line_ref', l.line_ref, 'sku', l.sku, 'qty', l.qty)
                                      ORDER BY l.line_ref)
                       FROM bench_simulate.lines l WHERE l.order_id = o.id))
  FROM (SELECT g AS id, st.region, st.zip,
               round((st.lat + (abs(hashtext('dst' || g)) % 1000) / 500.0 - 1.0)::numeric, 3)::float8 AS lat,
               round((st.lon + (abs(hashtext('dsl' || g)) % 1000) / 500.0 - 1.0)::numeric, 3)::float8 AS lon
          FROM generate_series(1, 10000) g
          JOIN bench_state st
            ON st.region = (SELECT array_agg(region ORDER BY region) FROM bench_state)
                           [1 + abs(hashtext('reg' || g)) % 46]) o;

-- location priority for the ranked-locations baseline: the merchant ranks
-- its biggest locations first (total units on hand), as most do
CREATE TABLE bench_simulate.node_rank AS
SELECT n.node_id, n.lat, n.lon,
       row_number() OVER (ORDER BY coalesce(sum(s.on_hand), 0) DESC, n.node_id) AS rank
  FROM stockroute.node n
  LEFT JOIN stockroute.stock s ON s.node_id = n.node_id
 GROUP BY n.node_id, n.lat, n.lon;
ALTER TABLE bench_simulate.node_rank ADD PRIMARY KEY (node_id);
UPDATE stockroute.node n SET priority = 1000 - r.rank FROM bench_simulate.node_rank r WHERE r.node_id = n.node_id;

-- shipments of each method, in one table: (method, order, node, line, units)
CREATE TABLE bench_simulate.ship (
    method      text NOT NULL,
    order_id    integer NOT NULL,
    node_id     text NOT NULL,
    line_ref    text NOT NULL,
    sku         text NOT NULL,
    qty         integer NOT NULL CHECK (qty > 0)
);
CREATE INDEX ON bench_simulate.ship (method, order_id);

DROP TABLE bench_state, bench_sku;
COMMIT;
ANALYZE bench_simulate.orders, bench_simulate.lines, bench_simulate.node_rank;
SELECT (SELECT count(*) FROM bench_simulate.orders) AS orders,
       (SELECT count(*) FROM bench_simulate.lines) AS lines,
       (SELECT sum(qty) FROM bench_simulate.lines) AS units;
