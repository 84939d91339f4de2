-- bench/operations: 10 nodes around Atlanta, 1,000 SKUs stocked everywhere
-- (a billion units each: nothing runs out), and helpers to switch the
-- capacity counting off, on without limits, or on with limits that never
-- bind, and to reset between runs.
INSERT INTO stockroute.node (node_id, lat, lon, timezone)
SELECT 'N' || i, 33.0 + i * 0.2, -84.4, 'America/New_York' FROM generate_series(1, 10) i;
INSERT INTO stockroute.item (sku) SELECT 'S' || i FROM generate_series(1, 1000) i;
INSERT INTO stockroute.stock (node_id, sku, on_hand)
SELECT n.node_id, i.sku, 1000000000 FROM stockroute.node n, stockroute.item i;

CREATE SCHEMA bench_ops;

-- mode: 'off' (the counting triggers disabled: routing as before capacity
-- existed), 'free' (counting, no limits: one node_load_entry per
-- reservation), 'limited' (counting with limits no run reaches: the entry
-- plus the node's counter row, locked by every reservation there)
CREATE FUNCTION bench_ops.mode(m text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF m = 'off' THEN
        ALTER TABLE stockroute.reservation DISABLE TRIGGER reservation_load_insert;
        ALTER TABLE stockroute.reservation DISABLE TRIGGER reservation_load_update;
    ELSE
        ALTER TABLE stockroute.reservation ENABLE TRIGGER reservation_load_insert;
        ALTER TABLE stockroute.reservation ENABLE TRIGGER reservation_load_update;
    END IF;
    UPDATE stockroute.node
       SET daily_order_limit = CASE WHEN m = 'limited' THEN 1000000000 END,
           daily_unit_limit = CASE WHEN m = 'limited' THEN 1000000000 END;
END;
$$;

-- back to no reservations (as an exact-copy restore would: triggers off)
CREATE FUNCTION bench_ops.reset() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    SET LOCAL session_replication_role = replica;
    TRUNCATE stockroute.reservation, stockroute.node_load, stockroute.node_load_entry,
             stockroute.decision, stockroute.outbox, stockroute.backorder;
    UPDATE stockroute.stock SET reserved = 0 WHERE reserved <> 0;
END;
$$;

-- reservations made, counters that differ from their entries, drift of invariant 2
CREATE FUNCTION bench_ops.check(OUT reservations bigint, OUT counter_mismatch bigint, OUT drift bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM stockroute.reservation),
           (SELECT count(*) FROM stockroute.node_load l
             WHERE (l.orders, l.units) <> (SELECT count(DISTINCT e.order_ref)::integer, coalesce(sum(e.qty), 0)
                                             FROM stockroute.node_load_entry e
                                            WHERE e.node_id = l.node_id AND e.day = l.day)),
           (SELECT count(*) FROM stockroute.stock s
             WHERE s.reserved <> coalesce((SELECT sum(r.qty) FROM stockroute.reservation r
                                            WHERE r.node_id = s.node_id AND r.sku = s.sku
                                              AND r.status IN ('held', 'committed')), 0))
$$;

-- The counting trigger's own time per statement, as EXPLAIN ANALYZE reports
-- it, over n one-row inserts of new orders at random nodes (2 lines for
-- lines = 2): median and p95 in microseconds.  Scheduling noise from other
-- jobs hits this far less than it hits TPS.
CREATE FUNCTION bench_ops.trigger_time(n integer, lines integer DEFAULT 1,
                                       OUT median_us numeric, OUT p95_us numeric)
LANGUAGE plpgsql AS $$
DECLARE
    j   jsonb;
    t   float8[] := '{}';
    i   integer;
    nd  integer;
BEGIN
    FOR i IN 1..n LOOP
        nd := 1 + (random() * 9)::integer;
        EXECUTE format($q$EXPLAIN (ANALYZE, FORMAT JSON)
            INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty)
            SELECT %L, g::text, 'S' || (1 + (random() * 999)::integer), %L, 1
              FROM generate_series(1, %s) g$q$, 't' || i || '-' || random(), 'N' || nd, lines)
            INTO j;
        t := t || (SELECT (x->>'Time')::float8 FROM jsonb_array_elements(j->0->'Triggers') x
                    WHERE x->>'Trigger Name' = 'reservation_load_insert');
    END LOOP;
    SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY v) * 1000)::numeric, 1),
           round((percentile_cont(0.95) WITHIN GROUP (ORDER BY v) * 1000)::numeric, 1)
      INTO median_us, p95_us FROM unnest(t) v;
END;
$$;

-- reserve() of a new order at a random node and its COMMIT, timed inside the
-- server, n times in the current mode: the median in microseconds (out of
-- reach of the client and of most scheduling noise)
CREATE PROCEDURE bench_ops.call_time(n integer, INOUT median_us numeric DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    t0  timestamptz;
    t   float8[] := '{}';
    i   integer;
BEGIN
    FOR i IN 1..n LOOP
        t0 := clock_timestamp();
        PERFORM stockroute.reserve('c' || i || '-' || random(), '1', 'S' || (1 + (random() * 999)::integer),
                                   'N' || (1 + (random() * 9)::integer), 1);
        COMMIT;
        t := t || extract(epoch FROM clock_timestamp() - t0)::float8;
    END LOOP;
    SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY v) * 1e6)::numeric, 1)
      INTO median_us FROM unnest(t) v;
END;
$$;
