-- stockroute demo: the seed's orders routed over demo/network.sql and shown
-- with explain(), one allocation and the reservations it made.
--
--   psql -X -q -f demo/orders.sql      (after CREATE EXTENSION stockroute and demo/network.sql)
--
-- plan() reserves nothing; only section 7 changes data (it allocates SO-1001).

\set ON_ERROR_STOP on
\pset null '-'
\pset footer off

-- a fixed routing clock (Monday 23 Nov 2026, 04:00 in Atlanta, before every
-- node's cutoff) and time zone, so that days and ETAs are the same every run
SET stockroute.now = '2026-11-23 09:00:00+00';
SET TimeZone = 'UTC';
-- pg_temp.wrap() keeps long lines under 120 characters, pg_temp.money() shows amounts as explain() does
\ir format.sql

-- the orders, as integrations send them (the contract in DESIGN.md)
\set so1001 '{"order_ref": "SO-1001", "ship_to": {"lat": 33.75, "lon": -84.39, "country": "US", "region": "GA", "postal_code": "30301"}, "customer": {"id": "C-42", "segment": "tier3", "payment": "card", "tags": []}, "lines": [{"line_ref": "1", "sku": "VALVE-9", "qty": 20}], "profile": "default", "options": {"allow_partial": true, "max_shipments": 3, "need_by": "2026-11-25", "explain_deltas": true}}'
\set so1002 '{"order_ref": "SO-1002", "ship_to": {"lat": 41.88, "lon": -87.63, "country": "US", "region": "IL", "postal_code": "60601"}, "customer": {"id": "C-77", "segment": "tier3"}, "lines": [{"line_ref": "1", "sku": "BEARING-105", "qty": 40}], "options": {"explain_deltas": true}}'
\set so1003 '{"order_ref": "SO-1003", "ship_to": {"lat": 32.78, "lon": -96.80, "country": "US", "region": "TX", "postal_code": "75201"}, "customer": {"id": "C-19", "segment": "tier3"}, "lines": [{"line_ref": "1", "sku": "FILTER-124", "qty": 24}, {"line_ref": "2", "sku": "FITTING-109", "qty": 30}, {"line_ref": "3", "sku": "SOLVENT-103", "qty": 2}, {"line_ref": "4", "sku": "BEARING-105", "qty": 10}]}'
\set so1004 '{"order_ref": "SO-1004", "ship_to": {"lat": 36.16, "lon": -86.78, "country": "US", "region": "TN", "postal_code": "37203"}, "customer": {"id": "C-05", "segment": "tier3"}, "lines": [{"line_ref": "1", "sku": "VALVE-101", "qty": 150}], "options": {"max_shipments": 3}}'
\set so1005 '{"order_ref": "SO-1005", "ship_to": {"lat": 40.68, "lon": -73.94, "country": "US", "region": "NY", "postal_code": "11216"}, "customer": {"id": "G-1", "segment": "guest"}, "lines": [{"line_ref": "1", "sku": "SEAL-106", "qty": 2}]}'
\set atlanta '{"lat": 33.75, "lon": -84.39, "country": "US", "region": "GA", "postal_code": "30301"}'

\echo
\echo '=== The demo network (demo/network.sql) ==='
\echo
SELECT n.node_id, n.name, n.kind, n.status, n.handling_days AS hdays, to_char(n.cutoff, 'HH24:MI') AS cutoff,
       array_to_string(n.tags, ',') AS tags,
       (SELECT count(*) FROM stockroute.stock s WHERE s.node_id = n.node_id AND s.on_hand > 0) AS skus,
       (SELECT sum(on_hand) FROM stockroute.stock s WHERE s.node_id = n.node_id) AS units
  FROM stockroute.node n
 ORDER BY n.kind DESC, n.node_id;

\pset format unaligned
\pset tuples_only on

\echo
\echo '=== 1. The seed order SO-1001: 20 x VALVE-9 to Atlanta ==='
\echo '    VALVE-9 is at A (Atlanta) 8, B (Birmingham) 12, C (Reno) 15: A 8 + B 12 beats C 15 + anything.'
\echo
SELECT pg_temp.wrap(:'so1001');
\echo
SELECT pg_temp.wrap(stockroute.explain(stockroute.plan(:'so1001')));

\echo
\echo '=== 2. SO-1002: 40 x BEARING-105 to Chicago -- one node ships it whole, no split ==='
\echo '    Eleven nodes hold it; the Joliet DC, a day of transit away, has 113.'
\echo
SELECT pg_temp.wrap(stockroute.explain(stockroute.plan(:'so1002')));

\echo
\echo '=== 3. SO-1003: four lines to Dallas, one of them hazmat ==='
\echo '    The Dallas 3PL ships three lines in one box; the solvent may only leave'
\echo '    the hazmat warehouse (item.allowed_nodes), so that line ships separately.'
\echo
SELECT pg_temp.wrap(stockroute.explain(stockroute.plan(:'so1003')));

\echo
\echo '=== 4. SO-1004: 150 x VALVE-101 to Nashville, at most 3 shipments -- a partial fill ==='
\echo '    130 are routable (Memphis is draining); with 3 shipments A, B and C give 125, 25 are'
\echo '    backordered.  B has no lane for 87 kg (its parcel lanes stop at 70 kg, no LTL):'
\echo '    it is costed by the distance model, so its shipment names no service.'
\echo
SELECT pg_temp.wrap(stockroute.explain(stockroute.plan(:'so1004')));

\pset format aligned
\pset tuples_only off

\echo
\echo '=== 5. SO-1005: 2 x SEAL-106 to Brooklyn under each shipped profile ==='
\echo '    The Edison DC is cheapest and as fast; "closest" picks the Brooklyn store backroom.'
\echo '    (SO-1005 is a guest checkout, which the guest rule routes by "closest" whatever the'
\echo '    order asks -- section 6 -- so this comparison plans it for a tier3 customer.)'
\echo
SELECT prof AS profile, p->>'status' AS status,
       (SELECT string_agg(s->>'node_id' || coalesce(' by ' || (s->>'service'), ' (distance model)'), ' + ')
          FROM jsonb_array_elements(p->'shipments') s) AS ships_from,
       pg_temp.money((p->>'cost')::numeric) AS freight,
       (SELECT max((s->>'days')::int) FROM jsonb_array_elements(p->'shipments') s) AS days,
       (SELECT max(s->>'eta') FROM jsonb_array_elements(p->'shipments') s) AS eta
  FROM unnest(ARRAY['default', 'cheapest', 'fastest', 'closest']) WITH ORDINALITY AS x(prof, i),
       LATERAL stockroute.plan(jsonb_set(:'so1005'::jsonb, '{customer,segment}', '"tier3"')
                               || jsonb_build_object('profile', prof)) AS p
 ORDER BY i;

\echo
\echo '=== 6. Buyer rules (stockroute.rule, the six rows of the seed template) ==='
\echo '    The same kind of orders from other buyers: tier1 ships from its contract node B only'
\echo '    (12 there, 8 backordered); a guest gets "closest" unless the freight passes 100, then'
\echo '    "cheapest"; tier2 gets "cheapest" within 4 days; mro_urgent gets "fastest" from nodes'
\echo '    with 5 or more available; outside the US only the bonded warehouse ships; cash on'
\echo '    delivery only from within 150 km.'
\echo
SELECT p->>'order_ref' AS order_ref,
       coalesce(o->'customer'->>'segment', '') || coalesce(' ' || (o->'customer'->>'payment'), '') AS buyer,
       o->'ship_to'->>'country' || '-' || coalesce(o->'ship_to'->>'region', '') AS ship_to,
       (SELECT string_agg(r->>'rule_id', ', ') FROM jsonb_array_elements(p->'rules') r) AS rules,
       p->'profile'->>'name' || coalesce(' (from ' || (p->'profile'->>'fallback_from') || ')', '') AS profile,
       (SELECT string_agg(s->>'node_id' || ' ' || (SELECT sum((l->>'qty')::int) FROM jsonb_array_elements(s->'lines') l),
                          ' + ' ORDER BY s->>'node_id')
          FROM jsonb_array_elements(p->'shipments') s) AS ships_from,
       p->>'status' AS status,
       pg_temp.money((p->>'cost')::numeric) AS freight
  FROM (VALUES
        (1, jsonb_set(:'so1001'::jsonb, '{customer}', '{"id": "C-11", "segment": "tier1"}') - 'options'
            || '{"order_ref": "SO-1007"}'),
        (2, :'so1005'::jsonb),
        (3, '{"order_ref": "SO-1008", "ship_to": {"lat": 40.68, "lon": -73.94, "country": "US", "region": "NY", "postal_code": "11216"}, "customer": {"id": "G-2", "segment": "guest"}, "lines": [{"line_ref": "1", "sku": "MOTOR-110", "qty": 6}]}'),
        (4, '{"order_ref": "SO-1009", "ship_to": {"lat": 47.61, "lon": -122.33, "country": "US", "region": "WA", "postal_code": "98101"}, "customer": {"id": "C-12", "segment": "tier2"}, "lines": [{"line_ref": "1", "sku": "VALVE-9", "qty": 10}]}'),
        (5, '{"order_ref": "SO-1010", "ship_to": {"lat": 41.88, "lon": -87.63, "country": "US", "region": "IL", "postal_code": "60601"}, "customer": {"id": "C-15", "segment": "mro_urgent"}, "lines": [{"line_ref": "1", "sku": "SEAL-106", "qty": 2}]}'),
        (6, '{"order_ref": "SO-1011", "ship_to": {"lat": 43.65, "lon": -79.38, "country": "CA", "region": "ON"}, "customer": {"id": "C-13", "segment": "tier3"}, "lines": [{"line_ref": "1", "sku": "BEARING-105", "qty": 5}]}'),
        (7, '{"order_ref": "SO-1012", "ship_to": {"lat": 33.75, "lon": -84.39, "country": "US", "region": "GA", "postal_code": "30301"}, "customer": {"id": "C-14", "segment": "tier3", "payment": "cod"}, "lines": [{"line_ref": "1", "sku": "VALVE-9", "qty": 5}]}')
       ) AS x(i, o),
       LATERAL stockroute.plan(o) AS p
 ORDER BY i;

\pset format unaligned
\pset tuples_only on
\echo
\echo 'The tier1 order explained: the contract rule names every node it excluded.'
\echo
SELECT pg_temp.wrap(stockroute.explain(stockroute.plan(jsonb_set(:'so1001'::jsonb, '{customer}', '{"id": "C-11", "segment": "tier1"}')
                                          - 'options' || '{"order_ref": "SO-1007"}')));
\echo
\echo 'The guest order of six motors: under "closest" the Edison DC ships them by LTL for 109.19,'
\echo 'over the guest cap of 100, so the order is planned again under "cheapest".'
\echo
SELECT pg_temp.wrap(stockroute.explain(stockroute.plan('{"order_ref": "SO-1008", "ship_to": {"lat": 40.68, "lon": -73.94, "country": "US", "region": "NY", "postal_code": "11216"}, "customer": {"id": "G-2", "segment": "guest"}, "lines": [{"line_ref": "1", "sku": "MOTOR-110", "qty": 6}]}')));
\pset format aligned
\pset tuples_only off

\echo
\echo '=== 7. allocate(SO-1001): plan and reserve atomically ==='
\echo
\echo 'VALVE-9 stock before:'
SELECT node_id, on_hand, reserved, safety_stock, available
  FROM stockroute.stock WHERE sku = 'VALVE-9' ORDER BY node_id;

\pset format unaligned
\pset tuples_only on
SELECT pg_temp.wrap(stockroute.explain(stockroute.allocate(:'so1001')));
\pset format aligned
\pset tuples_only off

\echo
\echo 'The reservations it made (held until the hold expires, or commit/release):'
SELECT node_id, line_ref, sku, qty, status, idempotency_key,
       date_trunc('second', expires_at - created_at) AS held_for
  FROM stockroute.reservation
 WHERE order_ref = 'SO-1001'
 ORDER BY node_id, sku, line_ref;

\echo 'VALVE-9 stock after (reserved is maintained by the reservation triggers):'
SELECT node_id, on_hand, reserved, safety_stock, available
  FROM stockroute.stock WHERE sku = 'VALVE-9' ORDER BY node_id;

\echo 'What downstream systems get (stockroute.outbox, also sent with NOTIFY stockroute):'
SELECT topic, node_id, payload->>'service' AS service, payload->'lines' AS lines, payload->>'eta' AS eta
  FROM stockroute.outbox WHERE order_ref = 'SO-1001' ORDER BY node_id;

\echo 'The audit trail (stockroute.decision):'
SELECT kind, profile_name, profile_version, output->>'status' AS status,
       solver->>'method' AS solver, jsonb_array_length(output->'reservations') AS reservations
  FROM stockroute.decision WHERE order_ref = 'SO-1001';

\echo 'allocate() is idempotent per order_ref: a retry returns the same reservations, reserves nothing more:'
SELECT r->>'node_id' AS node_id, r->>'qty' AS qty,
       r->>'reservation_id' = (SELECT reservation_id::text FROM stockroute.reservation x
                                WHERE x.order_ref = 'SO-1001' AND x.node_id = r->>'node_id') AS same_reservation
  FROM jsonb_array_elements(stockroute.allocate(:'so1001')->'reservations') r;

\echo
\echo '=== 8. available(VALVE-9, Atlanta) after the allocation ==='
\echo
SELECT a->>'sku' AS sku, (a->>'on_hand')::bigint AS on_hand, (a->>'reserved')::bigint AS reserved,
       (a->>'available')::bigint AS available_to_promise
  FROM stockroute.available('VALVE-9', :'atlanta') AS a;
SELECT n->>'node_id' AS node_id, n->>'name' AS name, n->>'status' AS status,
       (n->>'routable')::boolean AS routable, (n->>'on_hand')::bigint AS on_hand,
       (n->>'reserved')::bigint AS reserved, (n->>'available')::bigint AS available,
       (n->>'days')::int AS days, n->>'eta' AS eta
  FROM jsonb_array_elements(stockroute.available('VALVE-9', :'atlanta')->'nodes') AS n;

\pset format unaligned
\pset tuples_only on
\echo
\echo '=== 9. The same 20 x VALVE-9 for another Atlanta customer, now that SO-1001 holds A and B ==='
\echo
SELECT pg_temp.wrap(stockroute.explain(stockroute.plan(jsonb_set(:'so1001'::jsonb, '{order_ref}', '"SO-1006"'))));
\echo
