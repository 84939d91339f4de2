-- bench/routing/network.sql — the routing benchmark's 50-node network and its
-- orders.  Loads demo/network.sql (14 nodes, 301 SKUs, zone lanes) and adds
-- 36 more stock locations across the US with stock and zone lanes built the
-- same way (the demo's US holiday calendar for all), then 200 ten-line orders to varied destinations (bench_routing.
-- orders).  Deterministic: every quantity comes from hashtext(), so every run
-- routes the same orders over the same network.

\set ON_ERROR_STOP on
\ir ../../demo/network.sql

BEGIN;
CREATE SCHEMA bench_routing;

-- 36 more nodes: regional DCs and 3PLs in metro areas not covered by the demo
INSERT INTO stockroute.node
    (node_id, name, kind, lat, lon, country, region, postal_code,
     handling_days, cutoff, timezone, tags, status)
SELECT c.id, c.city || ' ' || CASE WHEN i % 3 = 0 THEN '3PL' ELSE 'DC' END,
       CASE WHEN i % 3 = 0 THEN '3pl' ELSE 'warehouse' END,
       c.lat, c.lon, 'US', c.region, c.zip, 1 + (i % 5 = 0)::int,
       CASE WHEN i % 2 = 0 THEN time '14:00' ELSE time '16:00' END,
       c.tz, '{}', 'active'
  FROM (SELECT v.*, row_number() OVER () AS i FROM (VALUES
    ('PHX', 'Phoenix',        'AZ', '85043', 33.45, -112.07, 'America/Phoenix'),
    ('LAS', 'Las Vegas',      'NV', '89118', 36.17, -115.14, 'America/Los_Angeles'),
    ('SAC', 'Sacramento',     'CA', '95828', 38.58, -121.49, 'America/Los_Angeles'),
    ('OAK', 'Oakland',        'CA', '94621', 37.80, -122.27, 'America/Los_Angeles'),
    ('SAN', 'San Diego',      'CA', '92154', 32.72, -117.16, 'America/Los_Angeles'),
    ('PDX', 'Portland',       'OR', '97218', 45.52, -122.68, 'America/Los_Angeles'),
    ('BOI', 'Boise',          'ID', '83716', 43.62, -116.20, 'America/Boise'),
    ('ABQ', 'Albuquerque',    'NM', '87105', 35.08, -106.65, 'America/Denver'),
    ('ELP', 'El Paso',        'TX', '79927', 31.76, -106.49, 'America/Denver'),
    ('SAT', 'San Antonio',    'TX', '78219', 29.42,  -98.49, 'America/Chicago'),
    ('AUS', 'Austin',         'TX', '78744', 30.27,  -97.74, 'America/Chicago'),
    ('OKC', 'Oklahoma City',  'OK', '73129', 35.47,  -97.52, 'America/Chicago'),
    ('MCI', 'Kansas City',    'MO', '64161', 39.10,  -94.58, 'America/Chicago'),
    ('OMA', 'Omaha',          'NE', '68117', 41.26,  -95.93, 'America/Chicago'),
    ('MSP', 'Minneapolis',    'MN', '55121', 44.98,  -93.27, 'America/Chicago'),
    ('STL', 'St. Louis',      'MO', '63134', 38.63,  -90.20, 'America/Chicago'),
    ('MKE', 'Milwaukee',      'WI', '53207', 43.04,  -87.91, 'America/Chicago'),
    ('IND', 'Indianapolis',   'IN', '46241', 39.77,  -86.16, 'America/Indiana/Indianapolis'),
    ('CMH', 'Columbus',       'OH', '43217', 39.96,  -83.00, 'America/New_York'),
    ('CLE', 'Cleveland',      'OH', '44135', 41.50,  -81.69, 'America/New_York'),
    ('DTW', 'Detroit',        'MI', '48174', 42.33,  -83.05, 'America/Detroit'),
    ('PIT', 'Pittsburgh',     'PA', '15231', 40.44,  -79.99, 'America/New_York'),
    ('PHL', 'Philadelphia',   'PA', '19153', 39.95,  -75.17, 'America/New_York'),
    ('BWI', 'Baltimore',      'MD', '21240', 39.29,  -76.61, 'America/New_York'),
    ('RIC', 'Richmond',       'VA', '23231', 37.54,  -77.44, 'America/New_York'),
    ('CLT', 'Charlotte',      'NC', '28214', 35.23,  -80.84, 'America/New_York'),
    ('RDU', 'Raleigh',        'NC', '27610', 35.78,  -78.64, 'America/New_York'),
    ('JAX', 'Jacksonville',   'FL', '32218', 30.33,  -81.66, 'America/New_York'),
    ('TPA', 'Tampa',          'FL', '33619', 27.95,  -82.46, 'America/New_York'),
    ('BNA', 'Nashville',      'TN', '37207', 36.16,  -86.78, 'America/Chicago'),
    ('SDF', 'Louisville',     'KY', '40209', 38.25,  -85.76, 'America/Kentucky/Louisville'),
    ('MSY', 'New Orleans',    'LA', '70123', 29.95,  -90.07, 'America/Chicago'),
    ('BOS', 'Boston',         'MA', '02128', 42.36,  -71.06, 'America/New_York'),
    ('ALB', 'Albany',         'NY', '12205', 42.65,  -73.75, 'America/New_York'),
    ('BDL', 'Hartford',       'CT', '06096', 41.76,  -72.68, 'America/New_York'),
    ('SLC2', 'Ogden',         'UT', '84401', 41.22, -111.97, 'America/Denver')
  ) AS v(id, city, region, zip, lat, lon, tz)) c;

-- the demo's US holiday calendar for them too
UPDATE stockroute.node SET calendar = 'US' WHERE calendar IS NULL;

-- stock: three in four (sku, node) pairs, like the demo's warehouses; no hazmat
INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock, reorder_point)
SELECT n.node_id, i.sku,
       CASE WHEN abs(hashtext(i.sku || '|' || n.node_id || '|oh')) % 13 = 0 THEN 0
            ELSE abs(hashtext(i.sku || '|' || n.node_id || '|oh')) % 200 END,
       abs(hashtext(i.sku || '|' || n.node_id || '|ss')) % 6,
       abs(hashtext(i.sku || '|' || n.node_id || '|ss')) % 6 + 5
  FROM stockroute.item i
 CROSS JOIN stockroute.node n
 WHERE n.node_id IN (SELECT node_id FROM stockroute.node WHERE postal_code IS NOT NULL
                        AND node_id !~ '-' AND length(node_id) > 1)
   AND i.sku <> 'VALVE-9' AND i.sku NOT LIKE 'SOLVENT-%'
   AND abs(hashtext(i.sku || '|' || n.node_id)) % 100 < 75;

-- lots of the lot-tracked sealants at these nodes, as the demo has them at its
-- own: plan() fills lot-tracked lines from lots only (docs/routing.md, Lots)
INSERT INTO stockroute.lot (node_id, sku, lot_code, on_hand, expires_on, attrs)
SELECT s.node_id, s.sku,
       'L' || to_char(date '2026-01-01' + (abs(hashtext(s.sku || s.node_id)) % 200), 'YYMMDD') || lot.suffix,
       CASE lot.suffix WHEN 'A' THEN s.on_hand / 2 ELSE s.on_hand - s.on_hand / 2 END,
       date '2027-03-01' + (abs(hashtext(s.sku || s.node_id)) % 120) + lot.extra_days,
       jsonb_build_object('batch', abs(hashtext(s.sku || s.node_id || lot.suffix)) % 100000,
                          'cert', 'NSF-61')
  FROM stockroute.stock s
  JOIN stockroute.item i USING (sku)
 CROSS JOIN (VALUES ('A', 0), ('B', 90)) AS lot(suffix, extra_days)
 WHERE 'lot_tracked' = ANY (i.tags)
   AND NOT EXISTS (SELECT 1 FROM stockroute.lot l WHERE l.node_id = s.node_id AND l.sku = s.sku);

-- zone lanes to the states within 1,000 miles and a country-wide lane, as in the demo
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

INSERT INTO stockroute.lane
    (node_id, country, region, service, mode, base_cost, per_kg, per_unit, transit_days,
     min_weight_kg, max_weight_kg)
SELECT node_id, 'US', region, 'ground', 'parcel',
       round((z.base * rate)::numeric, 2)::float8, round((z.per_kg * rate)::numeric, 3)::float8,
       0.20, z.days, 0, 70
  FROM (SELECT n.node_id, st.region,
               CASE WHEN n.kind = '3pl' THEN 0.9 ELSE 1.0 END AS rate,
               3958.8 * 2 * asin(sqrt(sin(radians(st.lat - n.lat) / 2) ^ 2
                   + cos(radians(n.lat)) * cos(radians(st.lat)) * sin(radians(st.lon - n.lon) / 2) ^ 2)) AS miles
          FROM stockroute.node n CROSS JOIN bench_state st
         WHERE n.node_id NOT IN (SELECT DISTINCT node_id FROM stockroute.lane)
           AND n.node_id !~ '-' AND length(n.node_id) > 1) d
 CROSS JOIN LATERAL (SELECT * FROM (VALUES
        (  0.0,  250.0, 1, 5.40, 0.30),
        (250.0,  600.0, 2, 6.60, 0.40),
        (600.0, 1000.0, 3, 7.80, 0.55)) AS z(lo, hi, days, base, per_kg)
        WHERE d.miles >= z.lo AND d.miles < z.hi) z;

INSERT INTO stockroute.lane
    (node_id, country, service, mode, base_cost, per_kg, per_unit, transit_days,
     min_weight_kg, max_weight_kg)
SELECT n.node_id, 'US', 'ground', 'parcel',
       CASE WHEN n.kind = '3pl' THEN 8.55 ELSE 9.50 END,
       CASE WHEN n.kind = '3pl' THEN 0.675 ELSE 0.75 END, 0.20,
       CASE WHEN n.lon BETWEEN -100 AND -86 THEN 4 ELSE 5 END, 0, 70
  FROM stockroute.node n
 WHERE n.node_id NOT IN (SELECT DISTINCT node_id FROM stockroute.lane WHERE region IS NULL)
   AND n.node_id !~ '-' AND length(n.node_id) > 1;

-- LTL freight (70 kg and up) from every new node, country-wide
INSERT INTO stockroute.lane
    (node_id, country, service, mode, base_cost, per_kg, per_unit, transit_days, min_weight_kg)
SELECT n.node_id, 'US', 'ltl-standard', 'ltl',
       CASE WHEN n.kind = '3pl' THEN 72.00 ELSE 80.00 END, 0.11, 0,
       CASE WHEN n.lon BETWEEN -100 AND -86 THEN 3 ELSE 4 END, 70
  FROM stockroute.node n
 WHERE n.node_id !~ '-' AND length(n.node_id) > 1;

-- 200 orders of 10 distinct SKUs to destinations around the state centroids
CREATE TABLE bench_routing.orders (
    id          integer PRIMARY KEY,
    doc         jsonb NOT NULL,
    skus        text[] NOT NULL,        -- the order's SKUs, for the bare read
    country     text NOT NULL,
    region      text NOT NULL,
    postal_code text NOT NULL
);

INSERT INTO bench_routing.orders
SELECT o.id,
       jsonb_build_object(
           'order_ref', 'BENCH-' || o.id,
           'ship_to', jsonb_build_object('lat', st.lat + dlat, 'lon', st.lon + dlon,
                                         'country', 'US', 'region', st.region,
                                         'postal_code', st.zip),
           'lines', l.lines),
       l.skus, 'US', st.region, st.zip
  FROM (SELECT g AS id,
               (abs(hashtext('dst' || g)) % 1000) / 500.0 - 1.0 AS dlat,
               (abs(hashtext('dsl' || g)) % 1000) / 500.0 - 1.0 AS dlon,
               (SELECT array_agg(region ORDER BY region) FROM bench_state) AS regions
          FROM generate_series(1, 200) g) o
  JOIN bench_state st ON st.region = o.regions[1 + abs(hashtext('reg' || o.id)) % array_length(o.regions, 1)]
 CROSS JOIN LATERAL (
       SELECT jsonb_agg(jsonb_build_object('line_ref', k::text, 'sku', sku,
                        'qty', CASE WHEN h % 10 = 0 THEN 40 + h % 60 ELSE 1 + h % 20 END)
                        ORDER BY k) AS lines,
              array_agg(sku ORDER BY k) AS skus
         FROM (SELECT sku, row_number() OVER (ORDER BY abs(hashtext(sku || '|' || o.id))) AS k,
                      abs(hashtext(sku || '|q|' || o.id)) AS h
                 FROM stockroute.item
                WHERE sku <> 'VALVE-9' AND sku NOT LIKE 'SOLVENT-%'
                ORDER BY abs(hashtext(sku || '|' || o.id))
                LIMIT 10) s) l;

DROP TABLE bench_state;
COMMIT;
ANALYZE;
SELECT (SELECT count(*) FROM stockroute.node) AS nodes,
       (SELECT count(*) FROM stockroute.stock) AS stock_rows,
       (SELECT count(*) FROM stockroute.lane) AS lanes,
       (SELECT count(*) FROM bench_routing.orders) AS orders;
