-- hostile: the size and range limits of every JSON entry point,
-- each bad input with its SQLSTATE, and nothing changed.  Proves: an order
-- with more stock rows to weigh than stockroute.max_candidates is refused by
-- plan() and allocate() (54000), and so is a split_plan group with more rows,
-- serially and when parallel workers' partial states are combined;
-- identifiers longer than 256 bytes (bytes, not characters) are refused by
-- plan(), allocate() and reserve() (22001) before anything is written, and
-- an event carrying one is rejected on its own while the rest of its batch
-- is applied; numbers beyond any double (1e400) are range errors, not
-- infinities; a SKU's lines may not add up to more than 10^15 units.  The
-- other limits and malformed fields are pinned where their feature is
-- tested: types, NaN and infinite costs and candidate fields in aggregate.sql
-- and routing.sql, duplicate line_refs (SR021) and max_order_lines (54000) in
-- routing.sql, max_batch_events (54000) and malformed events in ingest.sql.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql

INSERT INTO stockroute.node (node_id, lat, lon, country) VALUES
    ('A', 33.7, -84.4, 'US'), ('B', 33.5, -86.8, 'US'), ('C', 35.2, -80.8, 'US'), ('D', 32.8, -83.6, 'US');
INSERT INTO stockroute.item (sku) VALUES ('V'), ('W');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES
    ('A', 'V', 10), ('B', 'V', 10), ('C', 'V', 10), ('D', 'V', 10), ('A', 'W', 5);
CREATE FUNCTION pg_temp.o(ref text, lines jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('order_ref', ref, 'ship_to', '{"lat": 33.75, "lon": -84.39, "country": "US"}'::jsonb,
                              'lines', lines)
$$;
CREATE FUNCTION pg_temp.l(ref text, sku text, qty numeric) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_array(jsonb_build_object('line_ref', ref, 'sku', sku, 'qty', qty))
$$;
CREATE VIEW pg_temp.changed AS
SELECT (SELECT count(*) FROM stockroute.reservation) AS reservations,
       (SELECT count(*) FROM stockroute.decision) AS decisions,
       (SELECT count(*) FROM stockroute.backorder) AS backorders,
       (SELECT count(*) FROM stockroute.event) AS events,
       (SELECT sum(reserved) FROM stockroute.stock) AS reserved;

-- Candidates per plan --------------------------------------------------------

SHOW stockroute.max_candidates;
SET stockroute.max_candidates = 4;
-- four stock rows of V: at the limit, planned
SELECT stockroute.plan(pg_temp.o('H-1', pg_temp.l('1', 'V', 5)))->>'status' AS at_limit;
-- V and W: five stock rows to weigh
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('H-2', pg_temp.l('1', 'V', 5) || pg_temp.l('2', 'W', 1)))$$);
SELECT pg_temp.err($$SELECT stockroute.allocate(pg_temp.o('H-3', pg_temp.l('1', 'V', 5) || pg_temp.l('2', 'W', 1)))$$);
SELECT * FROM pg_temp.changed;
-- split_plan: a group of five rows
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 5, 'N' || i, 2, 1, 1, 1)::stockroute.candidate)
                       FROM generate_series(1, 5) i$$);
SELECT stockroute.split_plan(ROW('1', 5, 'N' || i, 2, 1, 1, 1)::stockroute.candidate)->>'status' AS four_rows
  FROM generate_series(1, 4) i;
-- the limit is per group
SELECT g, stockroute.split_plan(ROW('1', 5, 'N' || i, 2, 1, 1, 1)::stockroute.candidate)->>'status' AS status
  FROM generate_series(1, 3) g, generate_series(1, 4) i GROUP BY g ORDER BY g;
RESET stockroute.max_candidates;
SELECT pg_temp.err($$SET stockroute.max_candidates = 0$$);

-- parallel: partial states within the limit, their combination over it
CREATE TABLE pg_temp.cand AS
SELECT '1'::text AS line_ref, 500::bigint AS qty, 'N' || i AS node_id, 1::bigint AS available,
       1.0::float8 AS unit_cost, 1.0::float8 AS shipment_cost, 1.0::float8 AS days
  FROM generate_series(1, 6000) i;
ANALYZE pg_temp.cand;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SET stockroute.max_candidates = 5000;
-- (temporary tables are never scanned in parallel: copy to a regular one)
CREATE TABLE hostile_cand AS SELECT * FROM pg_temp.cand;
ANALYZE hostile_cand;
EXPLAIN (COSTS OFF)
SELECT stockroute.split_plan(ROW(line_ref, qty, node_id, available, unit_cost, shipment_cost, days)::stockroute.candidate)
  FROM hostile_cand;
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW(line_ref, qty, node_id, available, unit_cost, shipment_cost, days)::stockroute.candidate)
                       FROM hostile_cand$$);
SET stockroute.max_candidates = 6000;
SELECT stockroute.split_plan(ROW(line_ref, qty, node_id, available, unit_cost, shipment_cost, days)::stockroute.candidate)->>'status' AS at_limit
  FROM hostile_cand;
RESET stockroute.max_candidates;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
DROP TABLE hostile_cand;

-- Identifiers: at most 256 bytes ---------------------------------------------

SELECT stockroute.plan(pg_temp.o(repeat('o', 256), pg_temp.l(repeat('l', 256), 'V', 1)))->>'status' AS at_256_bytes;
SELECT pg_temp.err(format('SELECT stockroute.plan(%L)', pg_temp.o(repeat('o', 257), pg_temp.l('1', 'V', 1))));
SELECT pg_temp.err(format('SELECT stockroute.allocate(%L)', pg_temp.o('H-4', pg_temp.l(repeat('l', 300), 'V', 1))));
SELECT pg_temp.err(format('SELECT stockroute.allocate(%L)', pg_temp.o('H-5', pg_temp.l('1', repeat('s', 1000), 1))));
-- bytes, not characters: 129 two-byte characters are 258 bytes
SELECT pg_temp.err(format('SELECT stockroute.allocate(%L)', pg_temp.o(repeat('é', 129), pg_temp.l('1', 'V', 1))));
SELECT stockroute.plan(pg_temp.o(repeat('é', 128), pg_temp.l('1', 'V', 1)))->>'status' AS at_256_bytes;
SELECT pg_temp.err(format('SELECT stockroute.reserve(%L, %L, %L, %L, 1)', repeat('o', 257), '1', 'V', 'A'));
SELECT pg_temp.err(format('SELECT stockroute.reserve(%L, %L, %L, %L, 1)', 'H-6', repeat('l', 257), 'V', 'A'));
SELECT pg_temp.err(format('SELECT stockroute.reserve(%L, %L, %L, %L, 1)', 'H-6', '1', 'V', repeat('n', 3000)));
SELECT pg_temp.err(format('SELECT stockroute.reserve(%L, %L, %L, %L, 1, idempotency_key => %L)', 'H-6', '1', 'V', 'A', repeat('k', 5000)));
SELECT pg_temp.err(format('SELECT stockroute.reserve(%L, %L, %L, %L, 1, lot_code => %L)', 'H-6', '1', 'V', 'A', repeat('k', 257)));
SELECT * FROM pg_temp.changed;

-- Numbers beyond a double, and too many units ------------------------------------

SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('H-7', '[{"line_ref": "1", "sku": "V", "qty": 1e400}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(jsonb_build_object('order_ref', 'H-8', 'ship_to', '{"lat": 1e400, "lon": 0}'::jsonb,
                                                                'lines', pg_temp.l('1', 'V', 1)))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('H-9', pg_temp.l('1', 'V', 1)) || '{"options": {"max_shipments": 1e400}}')$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 5, 'A', 2, 1, 1, 1)::stockroute.candidate, '{"w_cost": 1e400}')$$);
SELECT pg_temp.err($$SELECT stockroute.split_plan(ROW('1', 5, 'A', 2, 1, 1, 1)::stockroute.candidate, '{"need_by_days": -1e400}')$$);
-- two lines of one SKU whose units add up to more than 10^15
SELECT pg_temp.err($$SELECT stockroute.allocate(pg_temp.o('H-10', pg_temp.l('1', 'V', 600000000000000) || pg_temp.l('2', 'V', 600000000000000)))$$);
SELECT * FROM pg_temp.changed;

-- Events: an oversized field rejects its event, not the batch -----------------
-- (long values made of distinct md5s: a repeated string compresses and would
-- fit an index key after all)

CREATE TEMP TABLE batch AS
SELECT jsonb_build_array(
        jsonb_build_object('node_id', 'A', 'idempotency_key', (SELECT string_agg(md5('k' || i), '') FROM generate_series(1, 200) i), 'kind', 'receipt',
                           'sku', 'V', 'qty', 1, 'occurred_at', '2026-11-22T10:00:00Z'),
        jsonb_build_object('node_id', 'A', 'idempotency_key', 'h-2', 'kind', 'receipt', 'sku', 'V',
                           'qty', 1, 'lot_code', repeat(md5('l'), 10), 'occurred_at', '2026-11-22T10:00:00Z'),
        jsonb_build_object('node_id', 'A', 'idempotency_key', 'h-3', 'kind', 'ship', 'sku', 'V',
                           'qty', 1, 'order_ref', repeat(md5('o'), 10), 'occurred_at', '2026-11-22T10:00:00Z'),
        jsonb_build_object('node_id', (SELECT string_agg(md5('n' || i), '') FROM generate_series(1, 200) i), 'idempotency_key', 'h-4', 'kind', 'receipt',
                           'sku', 'V', 'qty', 1, 'occurred_at', '2026-11-22T10:00:00Z'),
        jsonb_build_object('node_id', 'A', 'idempotency_key', 'h-5', 'kind', 'receipt',
                           'sku', (SELECT string_agg(md5('s' || i), '') FROM generate_series(1, 200) i), 'qty', 1, 'occurred_at', '2026-11-22T10:00:00Z'),
        jsonb_build_object('node_id', 'A', 'idempotency_key', 'h-6', 'kind', 'receipt', 'sku', 'V',
                           'qty', 1e400, 'occurred_at', '2026-11-22T10:00:00Z'),
        jsonb_build_object('node_id', 'A', 'idempotency_key', 'h-7', 'kind', 'receipt', 'sku', 'V',
                           'qty', 2, 'occurred_at', '2026-11-22T10:00:00Z')) AS events;
SELECT x.ord, left(x.res->>'idempotency_key', 12) AS key, x.res->>'status' AS status,
       left(x.res->>'error', 70) AS error
  FROM batch, stockroute.ingest(batch.events) r,
       jsonb_array_elements(r->'results') WITH ORDINALITY x(res, ord)
 ORDER BY x.ord;
-- the rejected events are recorded; an oversized node_id or sku only in the payload
SELECT left(payload->>'idempotency_key', 12) AS key, octet_length(idempotency_key) AS key_bytes,
       node_id, sku, status, octet_length(payload->>'node_id') AS payload_node_bytes,
       octet_length(payload->>'sku') AS payload_sku_bytes
  FROM stockroute.event ORDER BY 1;
SELECT on_hand FROM stockroute.stock WHERE node_id = 'A' AND sku = 'V';
