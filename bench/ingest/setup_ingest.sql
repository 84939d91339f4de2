-- Ingest benchmark data: 20 nodes x 2000 SKUs, :events events (fixed seed)
-- over them — receipts, sales, adjusts, ships, counts — arriving up to an
-- hour out of order, 2% sent twice, cut into batches of :batch.
SET client_min_messages = warning;
CREATE EXTENSION stockroute;
CREATE SCHEMA bench;

INSERT INTO stockroute.node (node_id, stale_after) SELECT 'N' || n, '30 days' FROM generate_series(1, 20) n;
INSERT INTO stockroute.item (sku) SELECT 'S' || s FROM generate_series(1, 2000) s;
INSERT INTO stockroute.stock (node_id, sku, on_hand)
SELECT 'N' || n, 'S' || s, 1000 FROM generate_series(1, 20) n, generate_series(1, 2000) s;

SELECT setseed(0.42);
CREATE TABLE bench.ev AS
SELECT e AS id, 'N' || (1 + (e % 20)) AS node_id, 'S' || (1 + floor(random() * 2000)::int) AS sku,
       CASE WHEN r < 0.30 THEN 'receipt' WHEN r < 0.70 THEN 'sale' WHEN r < 0.85 THEN 'adjust'
            WHEN r < 0.95 THEN 'ship' ELSE 'count' END AS kind,
       1 + floor(random() * 20)::int AS q,
       timestamptz '2026-01-01 00:00+00' + make_interval(secs => e * 0.5 - random() * 3600) AS occurred_at,
       e / 20 AS seq
  FROM (SELECT e, random() AS r FROM generate_series(1, :events) e) g;

CREATE TABLE bench.batches AS
WITH stream AS (
    SELECT id AS pos, id FROM bench.ev
    UNION ALL                   -- 2% resent somewhat later
    SELECT id + 500 + (id % 700), id FROM bench.ev WHERE id % 50 = 7),
numbered AS (
    SELECT row_number() OVER (ORDER BY pos, id) - 1 AS n, id FROM stream)
SELECT n / :batch AS b,
       jsonb_agg(jsonb_build_object(
           'node_id', ev.node_id, 'idempotency_key', 'k' || ev.id, 'seq', ev.seq,
           'kind', ev.kind, 'sku', ev.sku,
           'qty', CASE ev.kind WHEN 'adjust' THEN CASE WHEN ev.id % 2 = 0 THEN ev.q ELSE -ev.q END
                               WHEN 'count' THEN 1000 ELSE ev.q END,
           'occurred_at', ev.occurred_at,
           'order_ref', CASE WHEN ev.kind = 'ship' THEN 'SO-' || ev.id END) ORDER BY numbered.n) AS events
  FROM numbered JOIN bench.ev ON ev.id = numbered.id
 GROUP BY 1;

CREATE TABLE bench.timing (mode text, events bigint, batches int, seconds float8);
CREATE TABLE bench.final (mode text, node_id text, sku text, on_hand bigint, PRIMARY KEY (mode, node_id, sku));

-- The baseline: the same semantics, one event at a time, as a straightforward
-- PL/pgSQL implementation would do it.
CREATE FUNCTION bench.ingest_per_event(events jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    e jsonb;
    k text; n text; s text; kind text; q bigint; d bigint; t timestamptz;
    st record;
    applied int := 0; dup int := 0; sup int := 0;
BEGIN
    FOR e IN SELECT x FROM jsonb_array_elements(events) x LOOP
        n := e->>'node_id'; k := e->>'idempotency_key'; s := e->>'sku'; kind := e->>'kind';
        q := (e->>'qty')::bigint; t := (e->>'occurred_at')::timestamptz;
        d := CASE kind WHEN 'receipt' THEN q WHEN 'adjust' THEN q WHEN 'count' THEN NULL ELSE -q END;
        PERFORM 1 FROM stockroute.node WHERE node_id = n;
        PERFORM 1 FROM stockroute.item WHERE sku = s;
        IF EXISTS (SELECT 1 FROM stockroute.event WHERE node_id = n AND idempotency_key = k
                      AND status IN ('applied', 'superseded')) THEN
            INSERT INTO stockroute.event (node_id, idempotency_key, seq, kind, sku, qty, delta, occurred_at, status, payload)
            VALUES (n, k, (e->>'seq')::bigint, kind, s, q, d, t, 'duplicate', e);
            dup := dup + 1;
            CONTINUE;
        END IF;
        SELECT * INTO st FROM stockroute.stock WHERE node_id = n AND sku = s FOR NO KEY UPDATE;
        IF kind = 'count' THEN
            IF st.counted_at IS NULL OR (t, k) > (st.counted_at, st.count_key) THEN
                UPDATE stockroute.event SET status = 'superseded'
                 WHERE sku = s AND node_id = n AND lot_code IS NULL AND status = 'applied'
                   AND occurred_at >= coalesce(st.counted_at, '-infinity') AND occurred_at <= t;
                UPDATE stockroute.stock
                   SET on_hand = q + coalesce((SELECT sum(delta) FROM stockroute.event
                                                WHERE sku = s AND node_id = n AND lot_code IS NULL
                                                  AND status = 'applied' AND occurred_at > t), 0),
                       counted_at = t, count_key = k
                 WHERE node_id = n AND sku = s;
                INSERT INTO stockroute.event (node_id, idempotency_key, seq, kind, sku, qty, delta, occurred_at, status, payload)
                VALUES (n, k, (e->>'seq')::bigint, kind, s, q, d, t, 'applied', e);
                applied := applied + 1;
            ELSE
                INSERT INTO stockroute.event (node_id, idempotency_key, seq, kind, sku, qty, delta, occurred_at, status, payload)
                VALUES (n, k, (e->>'seq')::bigint, kind, s, q, d, t, 'superseded', e);
                sup := sup + 1;
            END IF;
        ELSIF st.counted_at IS NOT NULL AND t <= st.counted_at THEN
            INSERT INTO stockroute.event (node_id, idempotency_key, seq, kind, sku, qty, delta, occurred_at, status, payload)
            VALUES (n, k, (e->>'seq')::bigint, kind, s, q, d, t, 'superseded', e);
            sup := sup + 1;
        ELSE
            UPDATE stockroute.stock SET on_hand = on_hand + d WHERE node_id = n AND sku = s;
            INSERT INTO stockroute.event (node_id, idempotency_key, seq, kind, sku, qty, delta, occurred_at, status, payload)
            VALUES (n, k, (e->>'seq')::bigint, kind, s, q, d, t, 'applied', e);
            applied := applied + 1;
        END IF;
        IF kind = 'ship' THEN
            PERFORM 1 FROM stockroute.reservation
             WHERE order_ref = e->>'order_ref' AND node_id = n AND sku = s AND status IN ('held', 'committed');
        END IF;
        UPDATE stockroute.node
           SET last_event_at = clock_timestamp(), seq_min = least(seq_min, (e->>'seq')::bigint),
               seq_max = greatest(seq_max, (e->>'seq')::bigint), seq_count = seq_count + 1
         WHERE node_id = n;
    END LOOP;
    RETURN jsonb_build_object('applied', applied, 'duplicate', dup, 'superseded', sup);
END;
$$;

CREATE PROCEDURE bench.reset() LANGUAGE sql AS $$
    TRUNCATE stockroute.event, stockroute.alert, stockroute.outbox CASCADE;
    UPDATE stockroute.stock SET on_hand = 1000, counted_at = NULL, count_key = NULL;
    UPDATE stockroute.node SET seq_min = NULL, seq_max = NULL, seq_count = 0, last_event_at = NULL,
                               last_occurred_at = NULL;
$$;

-- run.sh calls bench.reset() and VACUUM ANALYZE before each mode, so both
-- start from the same clean tables
CREATE PROCEDURE bench.run_ingest(mode text) LANGUAGE plpgsql AS $$
DECLARE
    b record;
    t0 timestamptz;
    total float8 := 0;
    n bigint := 0;
    nb int := 0;
    analyzed bigint := 0;
BEGIN
    FOR b IN SELECT * FROM bench.batches ORDER BY b LOOP
        t0 := clock_timestamp();
        IF mode = 'set' THEN
            PERFORM stockroute.ingest(b.events);
        ELSE
            PERFORM bench.ingest_per_event(b.events);
        END IF;
        COMMIT;
        total := total + extract(epoch FROM clock_timestamp() - t0);
        n := n + jsonb_array_length(b.events);
        nb := nb + 1;
        -- Untimed: what autovacuum does for a live system at its default
        -- thresholds (50 rows + 10% of the table).  Inside one CALL the
        -- table's counters never reach autovacuum, so without this the
        -- baseline's cached plans would stay those made for an empty table.
        IF n - analyzed >= 50 + analyzed / 10 THEN
            ANALYZE stockroute.event;
            analyzed := n;
            COMMIT;
        END IF;
    END LOOP;
    INSERT INTO bench.timing VALUES (mode, n, nb, total);
    INSERT INTO bench.final SELECT mode, node_id, sku, on_hand FROM stockroute.stock;
    RAISE NOTICE '%', format('%-9s %s events, %s batches: %s s, %s events/s',
                             CASE mode WHEN 'set' THEN 'ingest()' ELSE mode END, n, nb,
                             round(total::numeric, 2), round((n / total)::numeric));
END;
$$;

-- The floor: the bare writes ingest() cannot avoid, over the same batches.
-- Each batch's event rows exactly as ingest() stored them are inserted into
-- a copy of stockroute.event (same columns, indexes and generated column, no
-- trigger), and each stock row the batch moved gets one UPDATE of on_hand.
-- No parsing, no duplicate or order checks, no locks taken first: what is
-- left when all the logic costs nothing.  Run after 'set', from its rows.
CREATE PROCEDURE bench.run_floor() LANGUAGE plpgsql AS $$
DECLARE
    bn int;
    nb int;
    t0 timestamptz;
    total float8 := 0;
    n bigint;
BEGIN
    SET LOCAL client_min_messages = warning;
    DROP TABLE IF EXISTS bench.written, bench.floor_event;
    CREATE TABLE bench.written AS
    SELECT dense_rank() OVER (ORDER BY received_at)::int AS b, e.* FROM stockroute.event e;
    CREATE INDEX ON bench.written (b);
    CREATE TABLE bench.floor_event (LIKE stockroute.event INCLUDING ALL);
    ANALYZE bench.written;
    SELECT max(w.b), count(*) INTO nb, n FROM bench.written w;
    COMMIT;
    -- each moved stock row found through its primary key, as ingest() does
    PERFORM set_config('enable_hashjoin', 'off', false), set_config('enable_mergejoin', 'off', false);
    FOR bn IN 1 .. nb LOOP
        t0 := clock_timestamp();
        INSERT INTO bench.floor_event
              (event_id, node_id, idempotency_key, seq, kind, sku, lot_code, qty, delta,
               order_ref, occurred_at, received_at, status, error, payload)
        SELECT event_id, node_id, idempotency_key, seq, kind, sku, lot_code, qty, delta,
               order_ref, occurred_at, received_at, status, error, payload
          FROM bench.written w WHERE w.b = bn;
        UPDATE stockroute.stock s SET on_hand = s.on_hand + d.delta
          FROM (SELECT w.node_id, w.sku, sum(coalesce(w.delta, 0)) AS delta
                  FROM bench.written w
                 WHERE w.b = bn AND w.status = 'applied'
                 GROUP BY 1, 2) d
         WHERE s.node_id = d.node_id AND s.sku = d.sku;
        COMMIT;
        total := total + extract(epoch FROM clock_timestamp() - t0);
    END LOOP;
    INSERT INTO bench.timing VALUES ('floor', n, nb, total);
    RAISE NOTICE '%', format('%-9s %s events, %s batches: %s s, %s events/s',
                             'floor', n, nb, round(total::numeric, 2), round((n / total)::numeric));
END;
$$;

CREATE FUNCTION bench.compare() RETURNS text LANGUAGE sql AS $$
    SELECT format('stockroute.ingest() is %sx the baseline and %sx the floor; final on_hand identical: %s',
                  round((b.seconds / s.seconds)::numeric, 1),
                  round((s.seconds / f.seconds)::numeric, 2),
                  NOT EXISTS (SELECT 1 FROM bench.final x JOIN bench.final y
                                 ON y.mode = 'baseline' AND x.mode = 'set'
                                AND x.node_id = y.node_id AND x.sku = y.sku
                               WHERE x.on_hand <> y.on_hand))
      FROM bench.timing s, bench.timing b, bench.timing f
     WHERE s.mode = 'set' AND b.mode = 'baseline' AND f.mode = 'floor';
$$;
