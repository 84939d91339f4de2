-- tap_ingest_property: invariant 5 as a property.  A random set of events
-- (fixed seed; receipts, sales, adjusts, ships against a reservation, and
-- counts, with ties in occurred_at) is fed in 6 random orders, in random
-- batch sizes, with random duplicates; every order gives the same on_hand
-- and reserved, equal to the model: the latest count (by occurred_at, then
-- idempotency_key) plus the deltas that occurred after it, or, never
-- counted, the starting on_hand plus every delta; reserved = the order's
-- hold minus the units shipped against it.  Runs under pg_regress and
-- pg_prove.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
BEGIN;
SELECT plan(22);

INSERT INTO stockroute.node (node_id) VALUES ('P');
INSERT INTO stockroute.item (sku) SELECT 'T' || s FROM generate_series(1, 4) s;

-- the event set: 4 SKUs x 40 events; T4 never counted
SELECT setseed(0.1717);
CREATE TEMP TABLE tap_ev AS
SELECT i, sku, kind, key, at, qty,
       CASE kind WHEN 'receipt' THEN qty WHEN 'adjust' THEN qty WHEN 'count' THEN NULL ELSE -qty END AS delta
  FROM (SELECT i, 'T' || (1 + i % 4) AS sku,
               CASE WHEN i % 4 = 3 AND r >= 0.85 THEN 'sale'      -- T4: no counts
                    WHEN r < 0.25 THEN 'receipt' WHEN r < 0.5 THEN 'sale' WHEN r < 0.65 THEN 'adjust'
                    WHEN r < 0.85 THEN 'ship' ELSE 'count' END AS kind,
               'k' || lpad(i::text, 3, '0') AS key,
               -- minutes only, so that counts and deltas tie now and then
               timestamptz '2026-01-01 08:00+00' + make_interval(mins => floor(random() * 90)::int) AS at,
               r2 AS raw
          FROM (SELECT i, random() AS r, random() AS r2 FROM generate_series(0, 159) i) g) h
 CROSS JOIN LATERAL (SELECT CASE WHEN h.kind = 'count' THEN floor(raw * 50)::bigint
                                 WHEN h.kind = 'adjust' THEN (floor(raw * 11) - 5)::bigint
                                 ELSE 1 + floor(raw * 6)::bigint END AS qty) q
 WHERE NOT (h.kind = 'adjust' AND q.qty = 0);

CREATE TEMP TABLE tap_doc AS
SELECT i, jsonb_build_object('node_id', 'P', 'idempotency_key', key, 'kind', kind, 'sku', sku,
                             'qty', qty, 'occurred_at', at,
                             'order_ref', CASE WHEN kind = 'ship' THEN 'SO-' || sku END) AS e
  FROM tap_ev;

-- the model
CREATE TEMP TABLE tap_model AS
SELECT s.sku,
       CASE WHEN c.at IS NULL THEN 100 + coalesce((SELECT sum(delta) FROM tap_ev e WHERE e.sku = s.sku), 0)
            ELSE c.qty + coalesce((SELECT sum(delta) FROM tap_ev e WHERE e.sku = s.sku AND e.at > c.at), 0)
       END AS on_hand,
       greatest(10 - coalesce((SELECT sum(qty) FROM tap_ev e WHERE e.sku = s.sku AND e.kind = 'ship'), 0), 0)
           AS reserved
  FROM (SELECT 'T' || s AS sku FROM generate_series(1, 4) s) s
  LEFT JOIN LATERAL (SELECT at, qty FROM tap_ev e WHERE e.sku = s.sku AND e.kind = 'count'
                      ORDER BY at DESC, key DESC LIMIT 1) c ON true;

CREATE TEMP TABLE tap_result (trial int, sku text, on_hand bigint, reserved bigint, counted_at timestamptz);

-- one trial: fresh state, a hold of 10 per SKU, the events in a random order
-- with ~25% sent twice, cut into batches of 1 to 40
CREATE FUNCTION pg_temp.trial(t int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    batch jsonb;
BEGIN
    -- fresh state: no reservations, the starting stock, nothing received
    UPDATE stockroute.reservation SET status = 'released' WHERE status IN ('held', 'committed');
    DELETE FROM stockroute.reservation;
    DELETE FROM stockroute.event;
    DELETE FROM stockroute.stock;
    UPDATE stockroute.node SET seq_min = NULL, seq_max = NULL, seq_count = 0;
    INSERT INTO stockroute.stock (node_id, sku, on_hand) SELECT 'P', 'T' || s, 100 FROM generate_series(1, 4) s;
    PERFORM stockroute.reserve('SO-T' || s, '1', 'T' || s, 'P', 10) FROM generate_series(1, 4) s;
    IF t % 2 = 0 THEN
        PERFORM stockroute.commit('SO-T' || s) FROM generate_series(1, 4) s;
    END IF;
    FOR batch IN
        WITH stream AS (
            SELECT e, random() AS pos FROM tap_doc
            UNION ALL
            SELECT e, random() FROM tap_doc WHERE random() < 0.25),
        ordered AS (
            SELECT e, row_number() OVER (ORDER BY pos) AS n FROM stream),
        cut AS (
            SELECT e, n, sum(CASE WHEN random() < 0.08 THEN 1 ELSE 0 END) OVER (ORDER BY n) AS b FROM ordered)
        SELECT jsonb_agg(e ORDER BY n) FROM cut GROUP BY b ORDER BY b
    LOOP
        PERFORM stockroute.ingest(batch);
    END LOOP;
    INSERT INTO tap_result SELECT t, sku, on_hand, reserved, counted_at FROM stockroute.stock;
END;
$$;

SELECT ok((SELECT count(*) FROM tap_ev a JOIN tap_ev b ON a.sku = b.sku AND a.at = b.at AND a.i < b.i
             WHERE 'count' IN (a.kind, b.kind)) > 0
          AND (SELECT count(DISTINCT sku) FROM tap_ev WHERE kind = 'count') = 3
          AND (SELECT count(*) FROM tap_ev WHERE kind = 'ship') > 0,
          'the set has counts tied with other events at the same time, ships, and an uncounted SKU');

SELECT setseed(0.5151);
SELECT pg_temp.trial(t) FROM generate_series(1, 6) t;

SELECT is((SELECT count(*) FROM tap_result r JOIN tap_model m USING (sku)
            WHERE r.trial = t AND r.on_hand = m.on_hand), 4::bigint,
          format('order %s: on_hand of every SKU equals the model', t))
  FROM generate_series(1, 6) t;
SELECT is((SELECT count(*) FROM tap_result r JOIN tap_model m USING (sku)
            WHERE r.trial = t AND r.reserved = m.reserved), 4::bigint,
          format('order %s: reserved is the hold less the units shipped against it', t))
  FROM generate_series(1, 6) t;
SELECT is((SELECT count(DISTINCT (r.on_hand, r.reserved, r.counted_at)) FROM tap_result r WHERE r.sku = s),
          1::bigint, format('%s: the same on_hand, reserved and count in force in every order', s))
  FROM (VALUES ('T1'), ('T2'), ('T3'), ('T4')) v(s);

-- the last trial's record: statuses follow the count in force
SELECT is((SELECT count(*) FROM stockroute.event e JOIN stockroute.stock s USING (node_id, sku)
            WHERE e.status IN ('applied', 'superseded') AND e.kind <> 'count'
              AND (e.status = 'applied') <> (s.counted_at IS NULL OR e.occurred_at > s.counted_at)),
          0::bigint, 'a delta is applied exactly when it occurred after the count in force');
SELECT is((SELECT count(*) FROM stockroute.event WHERE kind = 'count' AND status = 'applied'),
          3::bigint, 'one count in force per counted SKU');
SELECT is((SELECT count(*) FROM stockroute.event WHERE status IN ('applied', 'superseded')),
          (SELECT count(*) FROM tap_ev), 'every event claimed once, the copies recorded as duplicates');
-- the whole set once more: all duplicates, nothing moves
SELECT is((stockroute.ingest((SELECT jsonb_agg(e ORDER BY i) FROM tap_doc)) ->> 'duplicate')::bigint,
          (SELECT count(*) FROM tap_ev), 'a replay of the whole set is all duplicates');
SELECT is((SELECT count(*) FROM tap_result r JOIN stockroute.stock s USING (sku)
            WHERE r.trial = 6 AND r.on_hand = s.on_hand AND r.reserved = s.reserved), 4::bigint,
          'and changes nothing');

SELECT * FROM finish();
ROLLBACK;
