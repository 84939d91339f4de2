-- ingest: every event kind, idempotency (duplicates in the database and in
-- one batch), supersede rules of counts (order independence, ties), ship
-- consumption of reservations (full, partial, before and after a count),
-- lots (a lot below its reservations is a shortfall naming the lot), every
-- malformed event rejected with its error text (one per line),
-- batch-level errors with SQLSTATE (nothing changed), shortfall and
-- sync_gap alerts without duplicates, node bookkeeping, and the flat-file
-- path (COPY into event_staging, ingest_staged).  Times are fixed
-- (occurred_at in the past); "now" only appears as an interval.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql
SET TimeZone = 'UTC';

INSERT INTO stockroute.node (node_id, name) VALUES ('A', 'Atlanta'), ('B', 'Birmingham');
INSERT INTO stockroute.item (sku) VALUES ('VALVE-9'), ('PUMP-1'), ('RESIN-5');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES ('A', 'VALVE-9', 10), ('B', 'VALVE-9', 4);

CREATE FUNCTION pg_temp.ev(key text, kind text, qty bigint, at text, sku text DEFAULT 'VALVE-9',
                           node text DEFAULT 'A', seq bigint DEFAULT NULL, lot text DEFAULT NULL,
                           order_ref text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object('node_id', node, 'idempotency_key', key, 'seq', seq,
           'kind', kind, 'sku', sku, 'qty', qty, 'lot_code', lot,
           'occurred_at', '2026-01-01 ' || at || '+00', 'order_ref', order_ref));
$$;
-- ingest() as rows: a first row with the counts, then one per event
CREATE FUNCTION pg_temp.ing(events jsonb)
RETURNS TABLE (n bigint, idempotency_key text, status text, error text) LANGUAGE sql AS $$
    WITH r AS (SELECT stockroute.ingest(events) AS r)
    SELECT 0, NULL, format('applied %s, duplicate %s, superseded %s, rejected %s', r->'applied',
                           r->'duplicate', r->'superseded', r->'rejected'), NULL FROM r
    UNION ALL
    SELECT x.ord, x.res->>'idempotency_key', x.res->>'status', x.res->>'error'
      FROM r, jsonb_array_elements(r->'results') WITH ORDINALITY x(res, ord)
     ORDER BY 1;
$$;
CREATE VIEW pg_temp.st AS
SELECT node_id, sku, on_hand, reserved, available, counted_at::time AS counted_at, count_key
  FROM stockroute.stock ORDER BY node_id, sku;
CREATE VIEW pg_temp.evs AS
SELECT node_id, idempotency_key AS key, kind, sku, lot_code AS lot, qty, delta,
       occurred_at::time AS at, status
  FROM stockroute.event ORDER BY received_at, occurred_at, idempotency_key, status;

-- every delta kind: receipt +, adjust ±, sale -, ship - (no reservation: just the delta)
SELECT * FROM pg_temp.ing(jsonb_build_array(
    pg_temp.ev('a1', 'receipt', 5, '10:00'),
    pg_temp.ev('a2', 'adjust', -2, '10:05'),
    pg_temp.ev('a3', 'adjust', 1, '10:06'),
    pg_temp.ev('a4', 'sale', 3, '10:10'),
    pg_temp.ev('a5', 'ship', 1, '10:15', order_ref => 'SO-X')));
SELECT * FROM pg_temp.st;

-- the same batch again: all duplicates, nothing changes
SELECT * FROM pg_temp.ing(jsonb_build_array(
    pg_temp.ev('a1', 'receipt', 5, '10:00'), pg_temp.ev('a4', 'sale', 3, '10:10')));
-- a key repeated inside one batch: the first is applied, the rest duplicates
SELECT * FROM pg_temp.ing(jsonb_build_array(
    pg_temp.ev('a6', 'receipt', 2, '10:20'), pg_temp.ev('a6', 'receipt', 2, '10:20'),
    pg_temp.ev('a6', 'receipt', 7, '10:21')));
-- the key is per node: the same key at B is another event
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('a6', 'receipt', 1, '10:20', node => 'B')));
SELECT * FROM pg_temp.st;
SELECT status, count(*) FROM stockroute.event GROUP BY status ORDER BY status;

-- a count supersedes the deltas that occurred at or before it; later ones apply on top
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('c1', 'count', 20, '10:12')));
SELECT * FROM pg_temp.st WHERE node_id = 'A';
SELECT key, kind, delta, at, status FROM pg_temp.evs WHERE node_id = 'A' AND status <> 'duplicate';
-- a late delta older than the count: superseded; a newer one: applied
SELECT * FROM pg_temp.ing(jsonb_build_array(
    pg_temp.ev('a7', 'receipt', 100, '09:00'), pg_temp.ev('a8', 'sale', 4, '10:30')));
-- an older count: superseded; a count at the same time: the greater key wins
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('c0', 'count', 99, '10:11')));
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('c0b', 'count', 50, '10:12')));
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('c2', 'count', 30, '10:12')));
-- on_hand = count c2 (30) + the deltas after 10:12 (a5 ship -1, a6 +2, a8 -4) = 27
SELECT * FROM pg_temp.st WHERE node_id = 'A';
SELECT key, kind, delta, at, status FROM pg_temp.evs WHERE node_id = 'A' AND status <> 'duplicate';
-- a newer count and a delta just after it in one batch
SELECT * FROM pg_temp.ing(jsonb_build_array(
    pg_temp.ev('a9', 'receipt', 3, '11:01'), pg_temp.ev('c3', 'count', 7, '11:00'),
    pg_temp.ev('c4', 'count', 8, '10:59')));
SELECT * FROM pg_temp.st WHERE node_id = 'A';
-- exactly one count per stock row is in force (applied)
SELECT node_id, sku, count(*) FROM stockroute.event
 WHERE kind = 'count' AND status = 'applied' GROUP BY 1, 2 ORDER BY 1, 2;

-- order independence: the same events in another order at a fresh node give the same on_hand
INSERT INTO stockroute.node (node_id) VALUES ('C');
SELECT stockroute.ingest(jsonb_agg(e ORDER BY random()))->'applied' IS NOT NULL AS done
  FROM (SELECT jsonb_set(payload, '{node_id}', '"C"') AS e FROM stockroute.event
         WHERE node_id = 'A' AND status IN ('applied', 'superseded')) x;
SELECT a.on_hand AS a_on_hand, c.on_hand AS c_on_hand, a.counted_at = c.counted_at AS same_count
  FROM stockroute.stock a, stockroute.stock c
 WHERE a.node_id = 'A' AND c.node_id = 'C' AND a.sku = 'VALVE-9' AND c.sku = 'VALVE-9';

-- stock rows come into being with their first event (node and SKU known)
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('p1', 'receipt', 6, '09:00', sku => 'PUMP-1', node => 'B')));
SELECT * FROM pg_temp.st WHERE sku = 'PUMP-1';

-- ship consumes the order's reservations at that node: partial, then the rest
SELECT stockroute.reserve('SO-1', '1', 'PUMP-1', 'B', 4) ->> 'status' AS held;
SELECT * FROM pg_temp.st WHERE sku = 'PUMP-1';
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('s1', 'ship', 1, '12:00', sku => 'PUMP-1', node => 'B', order_ref => 'SO-1')));
SELECT order_ref, qty, status FROM stockroute.reservation WHERE order_ref = 'SO-1';
SELECT * FROM pg_temp.st WHERE sku = 'PUMP-1';
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('s2', 'ship', 3, '12:05', sku => 'PUMP-1', node => 'B', order_ref => 'SO-1')));
SELECT order_ref, qty, status FROM stockroute.reservation WHERE order_ref = 'SO-1';
SELECT * FROM pg_temp.st WHERE sku = 'PUMP-1';
-- resent: a duplicate, nothing consumed twice
SELECT stockroute.ingest(jsonb_build_array(pg_temp.ev('s2', 'ship', 3, '12:05', sku => 'PUMP-1', node => 'B', order_ref => 'SO-1')))->'duplicate' AS dup;
SELECT * FROM pg_temp.st WHERE sku = 'PUMP-1';

-- a ship that occurred before a count still consumes the reservation once;
-- its on_hand effect is superseded by the count
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('p2', 'receipt', 10, '12:10', sku => 'PUMP-1', node => 'B')));
SELECT stockroute.reserve('SO-2', '1', 'PUMP-1', 'B', 5) ->> 'status' AS held;
SELECT stockroute.commit('SO-2') ->> 'committed' AS committed;
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('p3', 'count', 9, '13:00', sku => 'PUMP-1', node => 'B')));
SELECT * FROM pg_temp.st WHERE sku = 'PUMP-1';
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('s3', 'ship', 7, '12:30', sku => 'PUMP-1', node => 'B', order_ref => 'SO-2')));
SELECT order_ref, qty, status FROM stockroute.reservation WHERE order_ref = 'SO-2';
SELECT * FROM pg_temp.st WHERE sku = 'PUMP-1';
SELECT key, kind, delta, status FROM pg_temp.evs WHERE key IN ('s3', 'p3');

-- invariant 4: a sale below what is reserved is applied and raises one shortfall alert
SELECT stockroute.reserve('SO-3', '1', 'VALVE-9', 'B', 4) ->> 'status' AS held;
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('b1', 'sale', 3, '14:00', node => 'B')));
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('b2', 'sale', 1, '14:01', node => 'B')));
SELECT * FROM pg_temp.st WHERE node_id = 'B' AND sku = 'VALVE-9';
SELECT kind, node_id, sku, status, detail FROM stockroute.alert WHERE kind = 'shortfall';
SELECT topic, node_id, payload->>'kind' AS kind, payload->'detail' AS detail FROM stockroute.outbox ORDER BY created_at;
-- stock back: the alert resolves
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('b3', 'receipt', 5, '14:02', node => 'B')));
SELECT kind, node_id, sku, status, resolved_at IS NOT NULL AS resolved FROM stockroute.alert WHERE kind = 'shortfall';

-- lots: the first event of a lot creates it; lot events move the lot and the stock row
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES ('A', 'RESIN-5', 0);
SELECT * FROM pg_temp.ing(jsonb_build_array(
    pg_temp.ev('l1', 'receipt', 10, '08:00', sku => 'RESIN-5', lot => 'L1'),
    pg_temp.ev('l2', 'receipt', 5, '08:00', sku => 'RESIN-5', lot => 'L2'),
    pg_temp.ev('l3', 'sale', 2, '08:30', sku => 'RESIN-5', lot => 'L1')));
SELECT node_id, sku, lot_code, on_hand, reserved, counted_at::time FROM stockroute.lot ORDER BY lot_code;
SELECT * FROM pg_temp.st WHERE sku = 'RESIN-5';
-- a lot count supersedes that lot's earlier events only
SELECT * FROM pg_temp.ing(jsonb_build_array(
    pg_temp.ev('l4', 'count', 4, '08:15', sku => 'RESIN-5', lot => 'L1'),
    pg_temp.ev('l5', 'adjust', -1, '08:10', sku => 'RESIN-5', lot => 'L2')));
SELECT node_id, sku, lot_code, on_hand, reserved, counted_at::time FROM stockroute.lot ORDER BY lot_code;
SELECT * FROM pg_temp.st WHERE sku = 'RESIN-5';
SELECT key, lot, delta, status FROM pg_temp.evs WHERE sku = 'RESIN-5';
-- a ship of a lot consumes a lot reservation
SELECT stockroute.reserve('SO-4', '1', 'RESIN-5', 'A', 3, lot_code => 'L2') ->> 'status' AS held;
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('l6', 'ship', 3, '09:00', sku => 'RESIN-5', lot => 'L2', order_ref => 'SO-4')));
SELECT order_ref, qty, status FROM stockroute.reservation WHERE order_ref = 'SO-4';
SELECT node_id, sku, lot_code, on_hand, reserved FROM stockroute.lot ORDER BY lot_code;
SELECT * FROM pg_temp.st WHERE sku = 'RESIN-5';
-- a lot below what it promised is a shortfall of its own, naming the lot, even
-- when the stock row as a whole still covers its holds; it resolves when the
-- lot is back
SELECT stockroute.reserve('SO-5', '1', 'RESIN-5', 'A', 2, lot_code => 'L1') ->> 'status' AS held;
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('l7', 'sale', 1, '09:10', sku => 'RESIN-5', lot => 'L1')));
SELECT node_id, sku, lot_code, on_hand, reserved FROM stockroute.lot ORDER BY lot_code;
SELECT * FROM pg_temp.st WHERE sku = 'RESIN-5';
SELECT kind, node_id, sku, lot_code, status, detail FROM stockroute.alert
 WHERE kind = 'shortfall' AND sku = 'RESIN-5';
SELECT topic, node_id, payload->>'lot_code' AS lot_code, payload->'detail'->>'short' AS short
  FROM stockroute.outbox WHERE payload->>'sku' = 'RESIN-5';
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('l8', 'sale', 1, '09:20', sku => 'RESIN-5', lot => 'L1')));
SELECT lot_code, status, detail->>'short' AS short FROM stockroute.alert
 WHERE kind = 'shortfall' AND sku = 'RESIN-5' ORDER BY lot_code NULLS FIRST;
SELECT * FROM pg_temp.ing(jsonb_build_array(pg_temp.ev('l9', 'receipt', 5, '09:30', sku => 'RESIN-5', lot => 'L1')));
SELECT lot_code, status, resolved_at IS NOT NULL AS resolved FROM stockroute.alert
 WHERE kind = 'shortfall' AND sku = 'RESIN-5' ORDER BY lot_code NULLS FIRST;
SELECT stockroute.release('SO-5') ->> 'units' AS released;

-- rejected events: one per line, with the error; the valid event of the batch still applies
SELECT * FROM pg_temp.ing((SELECT jsonb_agg(e::jsonb ORDER BY ord) FROM unnest(ARRAY[
    '{"idempotency_key": "r1", "kind": "receipt", "sku": "VALVE-9", "qty": 1, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": 7, "idempotency_key": "r2", "kind": "receipt", "sku": "VALVE-9", "qty": 1, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "NOWHERE", "idempotency_key": "r3", "kind": "receipt", "sku": "VALVE-9", "qty": 1, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "kind": "receipt", "sku": "VALVE-9", "qty": 1, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "", "kind": "receipt", "sku": "VALVE-9", "qty": 1, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": 42, "kind": "receipt", "sku": "VALVE-9", "qty": 1, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r7", "seq": -1, "kind": "receipt", "sku": "VALVE-9", "qty": 1, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r8", "seq": 1.5, "kind": "receipt", "sku": "VALVE-9", "qty": 1, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r9", "sku": "VALVE-9", "qty": 1, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r10", "kind": "theft", "sku": "VALVE-9", "qty": 1, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r11", "kind": "receipt", "qty": 1, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r12", "kind": "receipt", "sku": "NO-SUCH", "qty": 1, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r13", "kind": "receipt", "sku": "VALVE-9", "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r14", "kind": "receipt", "sku": "VALVE-9", "qty": "5", "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r15", "kind": "receipt", "sku": "VALVE-9", "qty": 2.5, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r16", "kind": "receipt", "sku": "VALVE-9", "qty": 0, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r17", "kind": "sale", "sku": "VALVE-9", "qty": -2, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r18", "kind": "adjust", "sku": "VALVE-9", "qty": 0, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r19", "kind": "count", "sku": "VALVE-9", "qty": -1, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r20", "kind": "receipt", "sku": "VALVE-9", "qty": 1e16, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r21", "kind": "sale", "sku": "VALVE-9", "qty": 1, "lot_code": 5, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r22", "kind": "sale", "sku": "VALVE-9", "qty": 1, "lot_code": "", "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r23", "kind": "receipt", "sku": "VALVE-9", "qty": 1}',
    '{"node_id": "A", "idempotency_key": "r24", "kind": "receipt", "sku": "VALVE-9", "qty": 1, "occurred_at": "2026-02-30T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r25", "kind": "receipt", "sku": "VALVE-9", "qty": 1, "occurred_at": "yesterday"}',
    '{"node_id": "A", "idempotency_key": "r26", "kind": "receipt", "sku": "VALVE-9", "qty": 1, "occurred_at": 1767225600}',
    '{"node_id": "A", "idempotency_key": "r27", "kind": "receipt", "sku": "VALVE-9", "qty": 1, "occurred_at": "2999-01-01T00:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r28", "kind": "ship", "sku": "VALVE-9", "qty": 1, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "r29", "kind": "receipt", "sku": "VALVE-9", "qty": 1, "order_ref": 5, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"node_id": "A", "idempotency_key": "ok-1", "kind": "receipt", "sku": "VALVE-9", "qty": 1, "occurred_at": "2026-01-01T23:00:00Z"}'
    ]) WITH ORDINALITY u(e, ord)));
-- rejected events are recorded with their error and payload, and changed nothing else
SELECT count(*) AS rejected, count(*) FILTER (WHERE error IS NOT NULL AND payload IS NOT NULL) AS with_error
  FROM stockroute.event WHERE status = 'rejected';
-- the skew is a GUC
SET stockroute.max_event_skew = '1h';
SELECT stockroute.ingest(jsonb_build_array(jsonb_build_object('node_id', 'A', 'idempotency_key', 'skew1',
    'kind', 'receipt', 'sku', 'VALVE-9', 'qty', 1, 'occurred_at', now() + interval '2 hours')))->'results'->0->>'error'
    ~ '^occurred_at "[^"]*" is more than stockroute.max_event_skew \(1h\) in the future$' AS rejected_as_future;
RESET stockroute.max_event_skew;

-- batch-level errors: SQLSTATE, message naming the field, nothing recorded
SELECT count(*) AS events_before FROM stockroute.event \gset
SELECT pg_temp.err($$SELECT stockroute.ingest(NULL)$$);
SELECT pg_temp.err($$SELECT stockroute.ingest('{"node_id": "A"}')$$);
SELECT pg_temp.err($$SELECT stockroute.ingest('"x"')$$);
SELECT pg_temp.err($$SELECT stockroute.ingest('[{"node_id": "A"}, 7]')$$);
SELECT pg_temp.err($$SELECT stockroute.ingest('[[]]')$$);
SET stockroute.max_batch_events = 2;
SELECT pg_temp.err($$SELECT stockroute.ingest('[{}, {}, {}]')$$);
RESET stockroute.max_batch_events;
-- physical truth beyond bigint is refused whole (on_hand set by hand near the top)
UPDATE stockroute.stock SET on_hand = 9223372036854775000 WHERE node_id = 'B' AND sku = 'PUMP-1';
SELECT pg_temp.err($$SELECT stockroute.ingest('[{"node_id": "B", "idempotency_key": "big", "kind": "receipt", "sku": "PUMP-1", "qty": 1000, "occurred_at": "2026-01-01T23:30:00Z"}]')$$);
UPDATE stockroute.stock SET on_hand = 9 WHERE node_id = 'B' AND sku = 'PUMP-1';
SELECT count(*) - :events_before AS events_added FROM stockroute.event;
-- an empty batch is fine
SELECT stockroute.ingest('[]');

-- sequence gaps: 1, 2, 4 is a gap; 3 arriving late closes it
SELECT stockroute.ingest(jsonb_build_array(
    pg_temp.ev('q1', 'receipt', 1, '15:00', node => 'C', seq => 1),
    pg_temp.ev('q2', 'receipt', 1, '15:01', node => 'C', seq => 2),
    pg_temp.ev('q4', 'receipt', 1, '15:03', node => 'C', seq => 4)))->'applied' AS applied;
SELECT kind, node_id, status, detail FROM stockroute.alert WHERE kind = 'sync_gap';
SELECT stockroute.ingest(jsonb_build_array(pg_temp.ev('q5', 'receipt', 1, '15:04', node => 'C', seq => 5)))->'applied' AS applied;
SELECT kind, node_id, status, detail FROM stockroute.alert WHERE kind = 'sync_gap';
SELECT stockroute.ingest(jsonb_build_array(pg_temp.ev('q3', 'receipt', 1, '15:02', node => 'C', seq => 3)))->'applied' AS applied;
SELECT kind, node_id, status, detail FROM stockroute.alert WHERE kind = 'sync_gap';
SELECT node_id, seq_min, seq_max, seq_count FROM stockroute.node WHERE node_id = 'C';
-- open alerts never duplicate
SELECT kind, node_id, sku, count(*) FROM stockroute.alert WHERE status = 'open' GROUP BY 1, 2, 3 HAVING count(*) > 1;

-- node bookkeeping: last event (receive time), last occurred_at, latency per event
SELECT node_id, last_event_at > now() - interval '1 minute' AS recent, last_occurred_at
  FROM stockroute.node ORDER BY node_id;
SELECT idempotency_key, latency > interval '300 days' AS late FROM stockroute.event WHERE idempotency_key = 'q3';

-- flat files: COPY into the staging table, then one call
SET stockroute.staging_file = 'dal-2026-01-02.csv';
COPY stockroute.event_staging (node_id, idempotency_key, seq, kind, sku, qty, lot_code, occurred_at, order_ref) FROM STDIN (FORMAT csv, HEADER true);
node_id,idempotency_key,seq,kind,sku,qty,lot_code,occurred_at,order_ref
B,f-1,,receipt,VALVE-9,4,,2026-01-02 08:00:00+00,
B,f-2,,sale,VALVE-9, 2 ,,2026-01-02T09:00:00Z,
B,f-3,,sale,VALVE-9,two,,2026-01-02 09:30:00+00,
B,f-4,x,receipt,VALVE-9,1,,2026-01-02 09:30:00+00,
B,f-5,,receipt,VALVE-9,1,,not a time,
B,f-1,,receipt,VALVE-9,4,,2026-01-02 08:00:00+00,
,f-7,,receipt,VALVE-9,1,,2026-01-02 08:00:00+00,
\.
RESET stockroute.staging_file;
SELECT file_name, count(*) FROM stockroute.event_staging GROUP BY file_name;
SELECT * FROM pg_temp.st WHERE node_id = 'B' AND sku = 'VALVE-9';
SELECT r - 'results' AS counts, x.res->>'line_no' AS line, x.res->>'file_name' AS file,
       x.res->>'idempotency_key' AS key, x.res->>'status' AS status, x.res->>'error' AS error
  FROM stockroute.ingest_staged('dal-2026-01-02.csv') r, jsonb_array_elements(r->'results') x(res);
SELECT * FROM pg_temp.st WHERE node_id = 'B' AND sku = 'VALVE-9';
SELECT count(*) AS staged_left FROM stockroute.event_staging;
SELECT stockroute.ingest_staged();

-- invariant 2 still holds everywhere
SELECT s.node_id, s.sku, s.reserved, coalesce(sum(r.qty), 0) AS active
  FROM stockroute.stock s
  LEFT JOIN stockroute.reservation r
         ON r.node_id = s.node_id AND r.sku = s.sku AND r.status IN ('held', 'committed')
 GROUP BY s.node_id, s.sku, s.reserved
HAVING s.reserved <> coalesce(sum(r.qty), 0);
