-- bench/reserve/setup.sql — data and the PL/pgSQL baseline for bench/reserve/run.sh.
--
-- Run in a fresh database after CREATE EXTENSION stockroute.  Creates:
--   * 20 nodes N1..N20; the hot SKU HOT at N1..N4; 10,000 SKUs S1..S10000
--     at every node (200,004 stock rows), every item with a hold_ttl;
--   * schema bench_plain: its own stock, lot and reservation tables, copies of
--     stockroute's (same columns, defaults, checks, generated column, primary
--     keys, unique constraints, indexes and foreign keys, but no triggers), and
--     bench_plpgsql_reserve(), the same reservation written as plain PL/pgSQL;
--   * schema bench_reserve: the two wrappers pgbench calls, reset() and check().

\set ON_ERROR_STOP on

-- Master data, shared by both implementations -----------------------------------

INSERT INTO stockroute.node (node_id, name, kind, lat, lon, country)
SELECT 'N' || n, 'bench node ' || n, 'warehouse', 30 + n * 0.5, -100 + n * 0.5, 'US'
  FROM generate_series(1, 20) n;

INSERT INTO stockroute.item (sku, name, weight_kg, hold_ttl)
VALUES ('HOT', 'hot SKU', 1.0, '15 minutes');
INSERT INTO stockroute.item (sku, name, weight_kg, hold_ttl)
SELECT 'S' || i, 'SKU ' || i, 0.1 + (i % 50) * 0.1,
       (ARRAY['10 minutes', '30 minutes', '2 hours', '1 day'])[1 + i % 4]::interval
  FROM generate_series(1, 10000) i;

-- The PL/pgSQL baseline's own tables ---------------------------------------------

CREATE SCHEMA bench_plain;

-- LIKE ... INCLUDING ALL copies columns, defaults, the generated column, CHECK
-- constraints, the primary key, unique constraints and every index; not
-- foreign keys and not triggers.  The foreign keys are added by hand: the
-- reservation -> stock key is checked on every insert on both sides.
CREATE TABLE bench_plain.stock (LIKE stockroute.stock INCLUDING ALL);
ALTER TABLE bench_plain.stock
    ADD FOREIGN KEY (node_id) REFERENCES stockroute.node ON UPDATE CASCADE,
    ADD FOREIGN KEY (sku) REFERENCES stockroute.item ON UPDATE CASCADE;

CREATE TABLE bench_plain.lot (LIKE stockroute.lot INCLUDING ALL);
ALTER TABLE bench_plain.lot
    ADD FOREIGN KEY (node_id, sku) REFERENCES bench_plain.stock ON UPDATE CASCADE;

CREATE TABLE bench_plain.reservation (LIKE stockroute.reservation INCLUDING ALL);
ALTER TABLE bench_plain.reservation
    ADD FOREIGN KEY (node_id, sku) REFERENCES bench_plain.stock ON UPDATE CASCADE,
    ADD FOREIGN KEY (node_id, sku, lot_code) REFERENCES bench_plain.lot ON UPDATE CASCADE;

-- The same reservation as stockroute.reserve() without lots: replay by
-- idempotency key, the same validation, then the guarded UPDATE of the stock
-- row (the check and the increment in one statement, so the row lock makes it
-- atomic) and the INSERT.  Nothing stops another writer from changing
-- bench_plain.stock.reserved or a reservation's status behind its back: that
-- is what stockroute's triggers add.
CREATE FUNCTION bench_plain.bench_plpgsql_reserve(
    p_order_ref text, p_line_ref text, p_sku text, p_node_id text, p_qty bigint,
    p_ttl interval DEFAULT NULL, p_idempotency_key text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_hold_ttl  interval;
    v_status    text;
    v_reply     jsonb;
    v_old       bench_plain.reservation;
BEGIN
    IF p_qty IS NULL OR p_qty <= 0 THEN
        RAISE EXCEPTION 'qty must be positive, got %', p_qty USING ERRCODE = 'invalid_parameter_value';
    END IF;

    IF p_idempotency_key IS NOT NULL THEN
        SELECT * INTO v_old FROM bench_plain.reservation r
         WHERE r.sku = p_sku AND r.idempotency_key = p_idempotency_key;
        IF FOUND THEN
            IF (v_old.order_ref, v_old.line_ref, v_old.node_id, v_old.qty)
               IS DISTINCT FROM (p_order_ref, p_line_ref, p_node_id, p_qty) THEN
                RAISE EXCEPTION 'idempotency_key "%" was already used with different arguments',
                    p_idempotency_key USING ERRCODE = 'SR007';
            END IF;
            RETURN to_jsonb(v_old) || '{"idempotent_replay": true}';
        END IF;
    END IF;

    SELECT i.hold_ttl, n.status INTO v_hold_ttl, v_status
      FROM stockroute.item i LEFT JOIN stockroute.node n ON n.node_id = p_node_id
     WHERE i.sku = p_sku;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sku "%" does not exist', p_sku USING ERRCODE = 'SR003';
    ELSIF v_status IS NULL THEN
        RAISE EXCEPTION 'node_id "%" does not exist', p_node_id USING ERRCODE = 'SR002';
    ELSIF v_status <> 'active' THEN
        RAISE EXCEPTION 'node "%" is % and takes no new reservations', p_node_id, v_status
            USING ERRCODE = 'SR009';
    END IF;

    UPDATE bench_plain.stock s
       SET reserved = s.reserved + p_qty, updated_at = now()
     WHERE s.node_id = p_node_id AND s.sku = p_sku
       AND s.on_hand - s.reserved - s.safety_stock >= p_qty;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'insufficient stock for sku "%" at node "%"', p_sku, p_node_id
            USING ERRCODE = 'SR001';
    END IF;

    INSERT INTO bench_plain.reservation AS r
           (order_ref, line_ref, sku, node_id, qty, expires_at, idempotency_key)
    VALUES (p_order_ref, p_line_ref, p_sku, p_node_id, p_qty,
            now() + coalesce(p_ttl, v_hold_ttl, interval '900 seconds'), p_idempotency_key)
    ON CONFLICT (sku, idempotency_key) DO NOTHING
    RETURNING to_jsonb(r) || '{"idempotent_replay": false}' INTO v_reply;
    IF v_reply IS NULL THEN
        -- a concurrent call with the same key won; undo our increment
        RAISE EXCEPTION 'concurrent reserve() with idempotency_key "%"', p_idempotency_key
            USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN v_reply;
END;
$$;

COMMENT ON FUNCTION bench_plain.bench_plpgsql_reserve(text, text, text, text, bigint, interval, text) IS
    'Benchmark baseline: stockroute.reserve() as plain PL/pgSQL over bench_plain tables, no triggers';

-- What pgbench calls ---------------------------------------------------------------

CREATE SCHEMA bench_reserve;

-- pgbench 15 aborts a client on any error, so both wrappers turn SR001
-- (insufficient stock) into false, in the same way: one EXCEPTION block,
-- hence one subtransaction per call, on each side.
CREATE FUNCTION bench_reserve.try_stockroute(p_order_ref text, p_sku text, p_node_id text,
                                             p_qty bigint, p_key text)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM stockroute.reserve(p_order_ref, '1', p_sku, p_node_id, p_qty, NULL, p_key);
    RETURN true;
EXCEPTION WHEN SQLSTATE 'SR001' THEN
    RETURN false;
END;
$$;

CREATE FUNCTION bench_reserve.try_plpgsql(p_order_ref text, p_sku text, p_node_id text,
                                          p_qty bigint, p_key text)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM bench_plain.bench_plpgsql_reserve(p_order_ref, '1', p_sku, p_node_id, p_qty, NULL, p_key);
    RETURN true;
EXCEPTION WHEN SQLSTATE 'SR001' THEN
    RETURN false;
END;
$$;

-- Stock as every run starts: HOT at N1..N4 with p_hot units each; S1..S10000
-- at N1..N20 with 500..999 units.  Safety stock 0..4 everywhere, so the
-- availability check has to subtract it.
CREATE FUNCTION bench_reserve.stock_rows(p_hot bigint)
RETURNS TABLE (node_id text, sku text, on_hand bigint, safety_stock bigint)
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'N' || n, 'HOT', p_hot, 10::bigint FROM generate_series(1, 4) n
    UNION ALL
    SELECT 'N' || n, 'S' || i, 500 + (i * 7 + n * 13) % 500, (i + n) % 5
      FROM generate_series(1, 10000) i, generate_series(1, 20) n;
$$;

INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock)
SELECT * FROM bench_reserve.stock_rows(200000);
INSERT INTO bench_plain.stock (node_id, sku, on_hand, safety_stock)
SELECT * FROM bench_reserve.stock_rows(200000);

-- Back to the starting state between runs: no reservations, nothing
-- reserved, the hot SKU at p_hot units per node.  stockroute refuses both
-- (TRUNCATE of active reservations, writes to stock.reserved) by trigger, so
-- the reset runs with session_replication_role = replica, where ordinary
-- triggers do not fire.  A benchmark harness's shortcut, never an operation.
CREATE FUNCTION bench_reserve.reset(p_hot bigint)
RETURNS void LANGUAGE plpgsql VOLATILE
SET session_replication_role = replica AS $$
BEGIN
    TRUNCATE stockroute.reservation, bench_plain.reservation;
    UPDATE stockroute.stock s SET reserved = 0, on_hand = r.on_hand
      FROM bench_reserve.stock_rows(p_hot) r
     WHERE s.node_id = r.node_id AND s.sku = r.sku
       AND (s.reserved <> 0 OR s.on_hand <> r.on_hand);
    UPDATE bench_plain.stock s SET reserved = 0, on_hand = r.on_hand
      FROM bench_reserve.stock_rows(p_hot) r
     WHERE s.node_id = r.node_id AND s.sku = r.sku
       AND (s.reserved <> 0 OR s.on_hand <> r.on_hand);
END;
$$;

-- After a run: reservations made, units reserved, units of HOT still available,
-- oversold stock rows (available would be negative) and drifted stock rows
-- (reserved differs from the sum of active reservations), for one side.
CREATE FUNCTION bench_reserve.check(p_impl text,
    OUT reservations bigint, OUT units bigint, OUT hot_available bigint,
    OUT oversell bigint, OUT drift bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s text := CASE p_impl WHEN 'stockroute' THEN 'stockroute'
                          WHEN 'plpgsql' THEN 'bench_plain' END;
BEGIN
    IF s IS NULL THEN
        RAISE EXCEPTION 'unknown implementation "%"', p_impl;
    END IF;
    EXECUTE format($q$
        SELECT (SELECT count(*) FROM %1$I.reservation),
               (SELECT coalesce(sum(qty), 0) FROM %1$I.reservation
                 WHERE status IN ('held', 'committed')),
               (SELECT coalesce(sum(greatest(on_hand - reserved - safety_stock, 0)), 0)
                  FROM %1$I.stock WHERE sku = 'HOT'),
               (SELECT count(*) FROM %1$I.stock
                 WHERE on_hand - reserved - safety_stock < 0),
               (SELECT count(*)
                  FROM %1$I.stock st
                  FULL JOIN (SELECT node_id, sku, sum(qty) AS active
                               FROM %1$I.reservation
                              WHERE status IN ('held', 'committed')
                              GROUP BY node_id, sku) a USING (node_id, sku)
                 WHERE coalesce(st.reserved, 0) <> coalesce(a.active, 0))
        $q$, s)
    INTO reservations, units, hot_available, oversell, drift;
END;
$$;
