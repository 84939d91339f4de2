-- bench/memory/setup.sql — the memory benchmark's network and orders: 12
-- nodes, 30 SKUs stocked at two in three nodes, lanes for half the nodes
-- (the others use the distance model), 500 orders of 1-4 lines to varied
-- destinations and 50 orders that fail validation or lookup.  Deterministic.
\set ON_ERROR_STOP on
BEGIN;
CREATE SCHEMA bench_mem;
INSERT INTO stockroute.node (node_id, name, lat, lon, country, region, cutoff, timezone)
SELECT 'N' || i, 'node ' || i, 30 + (i * 7 % 17), -120 + (i * 11 % 45), 'US', 'R' || (i % 5),
       CASE WHEN i % 2 = 0 THEN time '15:00' END, 'America/Chicago'
  FROM generate_series(1, 12) i;
INSERT INTO stockroute.item (sku, weight_kg) SELECT 'S' || i, 0.5 + i % 7 FROM generate_series(1, 30) i;
INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock, reorder_point)
SELECT n.node_id, i.sku, abs(hashtext(n.node_id || i.sku)) % 60, 1, 5
  FROM stockroute.node n, stockroute.item i
 WHERE abs(hashtext(i.sku || n.node_id)) % 3 <> 0;
INSERT INTO stockroute.lane (node_id, country, base_cost, per_kg, transit_days, max_weight_kg)
SELECT node_id, 'US', 6 + length(node_id), 0.3, 1 + length(node_id) % 3, 200
  FROM stockroute.node WHERE substr(node_id, 2)::int % 2 = 0;

CREATE TABLE bench_mem.orders (id int PRIMARY KEY, doc jsonb NOT NULL);
INSERT INTO bench_mem.orders
SELECT o, jsonb_build_object(
           'order_ref', 'M-' || o,
           'ship_to', jsonb_build_object('lat', 28 + o % 19, 'lon', -118 + o % 43, 'country', 'US'),
           'profile', (ARRAY['default', 'cheapest', 'fastest', 'closest'])[1 + o % 4],
           'lines', (SELECT jsonb_agg(jsonb_build_object('line_ref', l::text,
                                                         'sku', 'S' || (1 + (o * 7 + l * 13) % 30),
                                                         'qty', 1 + (o + l) % 25))
                       FROM generate_series(1, 1 + o % 4) l))
  FROM generate_series(1, 500) o;

-- orders refused on the way in: every error path frees what it allocated
CREATE TABLE bench_mem.bad (id int PRIMARY KEY, doc jsonb NOT NULL);
INSERT INTO bench_mem.bad
SELECT b, CASE b % 5
            WHEN 0 THEN doc || '{"lines": [{"line_ref": "1", "sku": "NO-SUCH-SKU", "qty": 1}]}'
            WHEN 1 THEN doc || '{"lines": [{"line_ref": "1", "sku": "S1", "qty": -1}]}'
            WHEN 2 THEN doc || '{"lines": [{"line_ref": "1", "sku": "S1", "qty": 1}, {"line_ref": "1", "sku": "S2", "qty": 1}]}'
            WHEN 3 THEN doc || '{"profile": "no_such_profile"}'
            ELSE doc - 'ship_to' END
  FROM (SELECT id AS b, doc FROM bench_mem.orders WHERE id <= 50) o;

-- a bad order inside an exception block: pgbench 15 aborts a client on error
CREATE FUNCTION bench_mem.try_plan(doc jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stockroute.plan(doc);
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END;
$$;

-- one sample of this backend's memory: RSS from /proc and every memory context
CREATE TABLE bench_mem.sample (
    calls bigint, taken_at timestamptz DEFAULT clock_timestamp(),
    vm_rss_kb bigint, rss_anon_kb bigint, contexts_bytes bigint, contexts int,
    top_bytes bigint, cache_bytes bigint);
CREATE FUNCTION bench_mem.sample(calls bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO bench_mem.sample (calls, vm_rss_kb, rss_anon_kb, contexts_bytes, contexts, top_bytes, cache_bytes)
    SELECT calls,
           (regexp_match(st, 'VmRSS:\s+(\d+)'))[1]::bigint,
           (regexp_match(st, 'RssAnon:\s+(\d+)'))[1]::bigint,
           (SELECT sum(total_bytes) FROM pg_backend_memory_contexts),
           (SELECT count(*) FROM pg_backend_memory_contexts),
           (SELECT sum(total_bytes) FROM pg_backend_memory_contexts WHERE name = 'TopMemoryContext'),
           (SELECT sum(total_bytes) FROM pg_backend_memory_contexts WHERE name = 'CacheMemoryContext')
      FROM pg_read_file('/proc/' || pg_backend_pid() || '/status') st
$$;
COMMIT;
SELECT count(*) AS nodes FROM stockroute.node;
SELECT count(*) AS stock_rows FROM stockroute.stock;
