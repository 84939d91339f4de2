-- stockroute demo network: 14 US stock locations, 301 SKUs, ~3,000 stock rows,
-- zone-based parcel lanes, LTL lanes, and the buyer rules of the seed.
--
--   CREATE EXTENSION stockroute;
--   \i demo/network.sql          (or: psql -f demo/network.sql)
--
-- Plain data, fully deterministic: every "random" quantity comes from
-- hashtext() of the SKU and node, never from random(), so every load gives the
-- same network and the same plans.  It loads in one transaction into an empty
-- network (a second load fails on the primary keys and changes nothing).

\set ON_ERROR_STOP on
BEGIN;

-- Nodes ------------------------------------------------------------------------
-- A, B and C are the seed scenario's nodes (VALVE-9: A 8, B 12, C 15).
-- MIA-BND is the bonded warehouse (international orders), HOU-HAZ the only
-- node that may ship hazmat, SLC-3PL the slow 3PL (3 handling days),
-- NYC-STORE a store backroom with a few units of some SKUs, MEM-3PL a 3PL
-- being exited (draining: keeps its reservations, takes no new ones).
-- DEN-PTR, NYC-STORE and MEM-3PL have no lanes: they are costed by the
-- profile's distance model.

INSERT INTO stockroute.node
    (node_id, name, kind, lat, lon, country, region, postal_code,
     handling_days, cutoff, timezone, tags, status)
VALUES
    ('A',         'Atlanta DC',                  'warehouse', 33.749,  -84.388, 'US', 'GA', '30336', 1, '14:00', 'America/New_York',    '{}',               'active'),
    ('B',         'Birmingham DC',               'warehouse', 33.519,  -86.810, 'US', 'AL', '35211', 1, '14:00', 'America/Chicago',     '{}',               'active'),
    ('C',         'Reno DC',                     'warehouse', 39.530, -119.814, 'US', 'NV', '89502', 1, '13:00', 'America/Los_Angeles', '{ltl}',            'active'),
    ('NJ-WH',     'Edison NJ DC',                'warehouse', 40.519,  -74.412, 'US', 'NJ', '08817', 1, '15:00', 'America/New_York',    '{ltl}',            'active'),
    ('CHI-WH',    'Joliet IL DC',                'warehouse', 41.525,  -88.082, 'US', 'IL', '60431', 1, '15:00', 'America/Chicago',     '{ltl,cold_chain}', 'active'),
    ('ONT-WH',    'Ontario CA DC',               'warehouse', 34.063, -117.651, 'US', 'CA', '91761', 1, '14:00', 'America/Los_Angeles', '{ltl}',            'active'),
    ('HOU-HAZ',   'Pasadena TX hazmat warehouse','warehouse', 29.691,  -95.209, 'US', 'TX', '77506', 2, '11:00', 'America/Chicago',     '{hazmat}',         'active'),
    ('MIA-BND',   'Doral FL bonded warehouse',   'warehouse', 25.812,  -80.337, 'US', 'FL', '33166', 2, '12:00', 'America/New_York',    '{bonded}',         'active'),
    ('DAL-3PL',   'Dallas 3PL (DFW)',            '3pl',       32.897,  -97.040, 'US', 'TX', '75261', 1, '12:00', 'America/Chicago',     '{ltl}',            'active'),
    ('SEA-3PL',   'Kent WA 3PL',                 '3pl',       47.381, -122.235, 'US', 'WA', '98032', 1, '13:00', 'America/Los_Angeles', '{}',               'active'),
    ('SLC-3PL',   'Salt Lake City 3PL (slow)',   '3pl',       40.760, -111.891, 'US', 'UT', '84104', 3, '10:00', 'America/Denver',      '{}',               'active'),
    ('MEM-3PL',   'Memphis 3PL (exiting)',       '3pl',       35.149,  -90.049, 'US', 'TN', '38118', 1, '14:00', 'America/Chicago',     '{}',               'draining'),
    ('DEN-PTR',   'Denver drop-ship partner',    'partner',   39.739, -104.990, 'US', 'CO', '80216', 2, '12:00', 'America/Denver',      '{}',               'active'),
    ('NYC-STORE', 'Brooklyn store backroom',     'store',     40.678,  -73.944, 'US', 'NY', '11216', 1, '17:00', 'America/New_York',    '{}',               'active');

-- Items ------------------------------------------------------------------------
-- VALVE-9 (the seed SKU) plus 12 product families x 25 SKUs: VALVE-101 ...
-- Weights vary within each family's range; solvents are hazmat (shipped from
-- HOU-HAZ only), sealants perishable (every third one lot-tracked); fast
-- movers hold reservations for 2 hours, heavy equipment for 2 days, the rest
-- for stockroute.default_hold_ttl.

INSERT INTO stockroute.item (sku, name, weight_kg) VALUES
    ('VALVE-9', 'Ball valve 2in, brass', 2.5);

INSERT INTO stockroute.item (sku, name, weight_kg, tags, allowed_nodes, hold_ttl)
SELECT f.family || '-' || (100 + n),
       f.label || ' model ' || (100 + n),
       round((f.min_kg + (f.max_kg - f.min_kg) * (abs(hashtext(f.family || n || 'kg')) % 1000) / 999.0)::numeric, 2)::float8,
       CASE f.family
            WHEN 'SOLVENT' THEN '{hazmat}'::text[]
            WHEN 'SEALANT' THEN CASE WHEN n % 3 = 0 THEN '{perishable,lot_tracked}'::text[]
                                     ELSE '{perishable}'::text[] END
            ELSE '{}'::text[] END,
       CASE WHEN f.family = 'SOLVENT' THEN '{HOU-HAZ}'::text[] END,
       CASE WHEN f.family IN ('GASKET', 'SEAL', 'FILTER') THEN interval '2 hours'
            WHEN f.family IN ('PUMP', 'MOTOR') THEN interval '2 days' END
  FROM (VALUES
        ('VALVE',   'Valve',            1.0,  4.0),
        ('PUMP',    'Centrifugal pump', 8.0, 25.0),
        ('GASKET',  'Gasket',           0.05, 0.3),
        ('FILTER',  'Filter cartridge', 0.5,  2.0),
        ('HOSE',    'Hydraulic hose',   1.0,  5.0),
        ('BEARING', 'Ball bearing',     0.2,  2.0),
        ('SEAL',    'Shaft seal',       0.05, 0.2),
        ('FITTING', 'Pipe fitting',     0.1,  1.0),
        ('MOTOR',   'Electric motor',  10.0, 40.0),
        ('SOLVENT', 'Solvent drum',     4.0, 20.0),
        ('SEALANT', 'Thread sealant',   0.3,  1.0),
        ('SENSOR',  'Pressure sensor',  0.1,  0.5)
       ) AS f(family, label, min_kg, max_kg),
       generate_series(1, 25) AS n;

-- Stock ------------------------------------------------------------------------
-- The seed: VALVE-9 at A, B and C only.
INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock, reorder_point) VALUES
    ('A', 'VALVE-9',  8, 0, 5),
    ('B', 'VALVE-9', 12, 0, 5),
    ('C', 'VALVE-9', 15, 0, 5);

-- Everything else: about three in four (sku, node) pairs carry a SKU
-- (stores a quarter of the light ones, a few units each); hazmat only at
-- HOU-HAZ.  Some rows are at zero (stocked out) or below their reorder point.
INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock, reorder_point)
SELECT node_id, sku, on_hand,
       CASE WHEN kind = 'store' THEN least(on_hand, 1)
            WHEN kind = 'partner' THEN 0
            ELSE h3 % 6 END,
       CASE WHEN kind = 'store' THEN 2
            ELSE h3 % 6 + 5 + h3 % 25 END
  FROM (SELECT n.node_id, n.kind, i.sku,
               abs(hashtext(i.sku || '|' || n.node_id)) AS h1,
               abs(hashtext(i.sku || '|' || n.node_id || '|oh')) AS h2,
               abs(hashtext(i.sku || '|' || n.node_id || '|ss')) AS h3,
               CASE WHEN abs(hashtext(i.sku || '|' || n.node_id || '|oh')) % 13 = 0 THEN 0
                    WHEN n.kind = 'store'     THEN abs(hashtext(i.sku || '|' || n.node_id || '|oh')) % 6
                    WHEN n.kind = 'partner'   THEN abs(hashtext(i.sku || '|' || n.node_id || '|oh')) % 80
                    WHEN n.kind = '3pl'       THEN abs(hashtext(i.sku || '|' || n.node_id || '|oh')) % 150
                    ELSE abs(hashtext(i.sku || '|' || n.node_id || '|oh')) % 240 END AS on_hand
          FROM stockroute.item i CROSS JOIN stockroute.node n
         WHERE i.sku <> 'VALVE-9') s
 WHERE CASE WHEN sku LIKE 'SOLVENT-%' THEN node_id = 'HOU-HAZ'
            WHEN node_id = 'HOU-HAZ' THEN h1 % 100 < 40
            WHEN kind = 'store' THEN h1 % 100 < 25 AND sku !~ '^(PUMP|MOTOR)-'
            ELSE h1 % 100 < 75 END;

-- Lots of the lot-tracked sealants: two lots per stock row, the older one
-- expiring first.
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
 WHERE 'lot_tracked' = ANY (i.tags);

-- Lanes ------------------------------------------------------------------------
-- Ground parcel rates by zone, like a carrier's rate card: from each node to
-- every state within 1,000 miles (state centroid), cheaper and faster the
-- nearer; beyond that the node's country-wide US lane (4 days from the middle
-- of the country, 5 from the coasts).  Parcel lanes carry up to 70 kg; LTL
-- freight lanes (70 kg and up) at the four big DCs and the Dallas 3PL.
-- 3PL rates are 10% below ours, the bonded warehouse's 10% above; HOU-HAZ's
-- lanes may carry hazmat (at a surcharge).  DEN-PTR, NYC-STORE and MEM-3PL
-- have no lanes at all.

CREATE TEMP TABLE demo_lane_node (node_id text PRIMARY KEY, rate float8, hazmat boolean);
INSERT INTO demo_lane_node VALUES
    ('A', 1.00, false), ('B', 1.00, false), ('C', 1.00, false),
    ('NJ-WH', 1.00, false), ('CHI-WH', 1.00, false), ('ONT-WH', 1.00, false),
    ('HOU-HAZ', 1.25, true), ('MIA-BND', 1.10, false),
    ('DAL-3PL', 0.90, false), ('SEA-3PL', 0.90, false), ('SLC-3PL', 0.90, false);

CREATE TEMP TABLE demo_state (region text PRIMARY KEY, lat float8, lon float8);
INSERT INTO demo_state VALUES
    ('AL', 32.8,  -86.8), ('AZ', 34.2, -111.7), ('AR', 34.9,  -92.4), ('CA', 36.1, -119.7),
    ('CO', 39.0, -105.5), ('CT', 41.6,  -72.7), ('DE', 39.0,  -75.5), ('DC', 38.9,  -77.0),
    ('FL', 28.6,  -82.4), ('GA', 32.7,  -83.4), ('ID', 44.1, -114.7), ('IL', 40.0,  -89.2),
    ('IN', 39.9,  -86.3), ('IA', 42.0,  -93.5), ('KS', 38.5,  -98.4), ('KY', 37.5,  -85.3),
    ('LA', 31.1,  -92.0), ('ME', 45.4,  -69.2), ('MD', 39.0,  -76.8), ('MA', 42.3,  -71.8),
    ('MI', 43.3,  -84.5), ('MN', 46.3,  -94.3), ('MS', 32.7,  -89.7), ('MO', 38.4,  -92.5),
    ('MT', 47.0, -109.6), ('NE', 41.5,  -99.8), ('NV', 39.3, -116.6), ('NH', 43.7,  -71.6),
    ('NJ', 40.2,  -74.7), ('NM', 34.4, -106.1), ('NY', 42.9,  -75.5), ('NC', 35.6,  -79.4),
    ('ND', 47.5, -100.5), ('OH', 40.3,  -82.8), ('OK', 35.6,  -97.5), ('OR', 44.0, -120.6),
    ('PA', 40.9,  -77.8), ('RI', 41.7,  -71.5), ('SC', 33.9,  -80.9), ('SD', 44.4, -100.2),
    ('TN', 35.9,  -86.4), ('TX', 31.5,  -99.3), ('UT', 39.3, -111.7), ('VT', 44.1,  -72.7),
    ('VA', 37.5,  -78.9), ('WA', 47.4, -120.5), ('WV', 38.6,  -80.6), ('WI', 44.6,  -89.9),
    ('WY', 43.0, -107.5);

-- zone lanes to the states within 1,000 miles
INSERT INTO stockroute.lane
    (node_id, country, region, service, mode, base_cost, per_kg, per_unit, transit_days,
     min_weight_kg, max_weight_kg, hazmat_ok)
SELECT node_id, 'US', region, 'ground', 'parcel',
       round((z.base * rate + CASE WHEN hazmat THEN 6 ELSE 0 END)::numeric, 2)::float8,
       round((z.per_kg * rate)::numeric, 3)::float8,
       0.20, z.days, 0, 70, hazmat
  FROM (SELECT ln.node_id, ln.rate, ln.hazmat, st.region,
               3958.8 * 2 * asin(sqrt(sin(radians(st.lat - n.lat) / 2) ^ 2
                   + cos(radians(n.lat)) * cos(radians(st.lat)) * sin(radians(st.lon - n.lon) / 2) ^ 2)) AS miles
          FROM demo_lane_node ln
          JOIN stockroute.node n USING (node_id)
         CROSS JOIN demo_state st) d
 CROSS JOIN LATERAL (SELECT * FROM (VALUES
        (  0.0,  250.0, 1, 5.40, 0.30),
        (250.0,  600.0, 2, 6.60, 0.40),
        (600.0, 1000.0, 3, 7.80, 0.55)) AS z(lo, hi, days, base, per_kg)
        WHERE d.miles >= z.lo AND d.miles < z.hi) z;

-- country-wide parcel lanes (anything not covered above)
INSERT INTO stockroute.lane
    (node_id, country, service, mode, base_cost, per_kg, per_unit, transit_days,
     min_weight_kg, max_weight_kg, hazmat_ok)
SELECT ln.node_id, 'US', 'ground', 'parcel',
       round((9.50 * ln.rate + CASE WHEN ln.hazmat THEN 6 ELSE 0 END)::numeric, 2)::float8,
       round((0.75 * ln.rate)::numeric, 3)::float8, 0.20,
       CASE WHEN n.lon BETWEEN -100 AND -86 THEN 4 ELSE 5 END,
       0, 70, ln.hazmat
  FROM demo_lane_node ln JOIN stockroute.node n USING (node_id);

-- LTL freight, 70 kg and up, country-wide
INSERT INTO stockroute.lane
    (node_id, country, service, mode, base_cost, per_kg, per_unit, transit_days, min_weight_kg)
VALUES
    ('C',       'US', 'ltl-standard', 'ltl', 85.00, 0.12, 0, 5, 70),
    ('NJ-WH',   'US', 'ltl-standard', 'ltl', 85.00, 0.12, 0, 4, 70),
    ('CHI-WH',  'US', 'ltl-standard', 'ltl', 80.00, 0.11, 0, 3, 70),
    ('ONT-WH',  'US', 'ltl-standard', 'ltl', 85.00, 0.12, 0, 5, 70),
    ('DAL-3PL', 'US', 'ltl-standard', 'ltl', 75.00, 0.10, 0, 3, 70);

-- same-day courier around the Atlanta DC (postal prefix 303, up to 25 kg):
-- the most specific lane wins over A's GA zone lane
INSERT INTO stockroute.lane
    (node_id, country, region, postal_prefix, service, mode, base_cost, per_kg, per_unit,
     transit_days, max_weight_kg)
VALUES
    ('A', 'US', 'GA', '303', 'metro-courier', 'courier', 4.00, 0.10, 0.20, 0, 25);

DROP TABLE demo_lane_node, demo_state;

-- Calendars ----------------------------------------------------------------------
-- US federal holidays of 2026 and 2027 (observed dates) for every node: no
-- shipping and no ground transit on them.  The Brooklyn store also ships on
-- Saturdays.  Ship dates and ETAs: docs/routing.md, "Time and ETA".

INSERT INTO stockroute.calendar (calendar, description) VALUES ('US', 'US federal holidays');
INSERT INTO stockroute.holiday (calendar, day, description) VALUES
    ('US', '2026-01-01', 'New Year''s Day'),   ('US', '2026-01-19', 'Martin Luther King Jr. Day'),
    ('US', '2026-02-16', 'Presidents'' Day'),  ('US', '2026-05-25', 'Memorial Day'),
    ('US', '2026-06-19', 'Juneteenth'),        ('US', '2026-07-03', 'Independence Day (observed)'),
    ('US', '2026-09-07', 'Labor Day'),         ('US', '2026-10-12', 'Columbus Day'),
    ('US', '2026-11-11', 'Veterans Day'),      ('US', '2026-11-26', 'Thanksgiving Day'),
    ('US', '2026-12-25', 'Christmas Day'),
    ('US', '2027-01-01', 'New Year''s Day'),   ('US', '2027-01-18', 'Martin Luther King Jr. Day'),
    ('US', '2027-02-15', 'Presidents'' Day'),  ('US', '2027-05-31', 'Memorial Day'),
    ('US', '2027-06-18', 'Juneteenth (observed)'), ('US', '2027-07-05', 'Independence Day (observed)'),
    ('US', '2027-09-06', 'Labor Day'),         ('US', '2027-10-11', 'Columbus Day'),
    ('US', '2027-11-11', 'Veterans Day'),      ('US', '2027-11-25', 'Thanksgiving Day'),
    ('US', '2027-12-24', 'Christmas Day (observed)');
UPDATE stockroute.node SET calendar = 'US';
UPDATE stockroute.node SET ship_weekdays = '{1,2,3,4,5,6}' WHERE node_id = 'NYC-STORE';

-- Buyer rules (the seed's template) -----------------------------------------------
-- Applied by plan(), allocate() and available() (docs/routing.md "Rules");
-- demo/orders.sql section 6 shows each of them at work.

INSERT INTO stockroute.rule (rule_id, description, match, effect, priority) VALUES
    ('tier1-contract', 'tier1 contract customers ship from B, as their contract says',
     '{"segment": "tier1"}', '{"require_nodes": ["B"]}', 10),
    ('tier2-recurring', 'tier2 recurring: cheapest within 4 days, else fastest',
     '{"segment": "tier2"}', '{"profile": "cheapest", "max_days": 4, "else_profile": "fastest"}', 20),
    ('guest', 'guest checkout: closest node unless freight goes over 100, then cheapest',
     '{"segment": "guest"}', '{"profile": "closest", "max_cost": 100, "else_profile": "cheapest"}', 30),
    ('mro-urgent', 'urgent maintenance orders: fastest, from nodes with at least 5 available',
     '{"segment": "mro_urgent"}', '{"profile": "fastest", "min_node_available": 5}', 40),
    ('international', 'outside the US: bonded warehouses only',
     '{"country_not": "US"}', '{"require_node_tags": ["bonded"]}', 50),
    ('cash-on-delivery', 'cash on delivery: local nodes only (150 km)',
     '{"payment": "cod"}', '{"local_km": 150}', 60);

COMMIT;

ANALYZE stockroute.node, stockroute.item, stockroute.stock, stockroute.lot, stockroute.lane;

SELECT (SELECT count(*) FROM stockroute.node)  AS nodes,
       (SELECT count(*) FROM stockroute.item)  AS skus,
       (SELECT count(*) FROM stockroute.stock) AS stock_rows,
       (SELECT count(*) FROM stockroute.lot)   AS lots,
       (SELECT count(*) FROM stockroute.lane)  AS lanes,
       (SELECT count(*) FROM stockroute.rule)  AS rules;
