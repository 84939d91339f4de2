-- reconcile: expiry of lapsed holds, invariant 2 verified and repaired with
-- a drift alert, stale nodes (flagged, out of routing, back on their next
-- event), shortfalls re-routed (held units placed again by the routing
-- core, as plan() places them, the rest to backorder; committed units left
-- with an alert),
-- backorders filled when stock arrives, low-stock alerts without
-- duplicates, the run log and summary, the dashboard views,
-- schedule_jobs()/unschedule_jobs() without pg_cron (SR040), and short lots
-- (held units placed again, the node's other lots included; the lot's alert
-- kept while committed units are short, resolved when not).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql
SET TimeZone = 'UTC';

INSERT INTO stockroute.node (node_id, name, lat, lon, country) VALUES
    ('A', 'Atlanta', 33.75, -84.39, 'US'), ('B', 'Charlotte', 35.23, -80.84, 'US'),
    ('C', 'Chicago', 41.88, -87.63, 'US');
INSERT INTO stockroute.item (sku) VALUES ('VALVE-9'), ('PUMP-1'), ('HOSE-2');
INSERT INTO stockroute.stock (node_id, sku, on_hand, reorder_point) VALUES
    ('A', 'VALVE-9', 10, 0), ('B', 'VALVE-9', 3, 0), ('C', 'VALVE-9', 0, 0),
    ('A', 'PUMP-1', 5, 0), ('A', 'HOSE-2', 20, 5);

CREATE VIEW pg_temp.st AS
SELECT node_id, sku, on_hand, reserved, available FROM stockroute.stock ORDER BY node_id, sku;
CREATE VIEW pg_temp.res AS
SELECT order_ref, line_ref, node_id, sku, qty, status FROM stockroute.reservation
 ORDER BY order_ref, line_ref, node_id, status, qty;
CREATE VIEW pg_temp.alerts AS
SELECT kind, node_id, sku, status, detail - 'run_id' - 'last_event_at' AS detail FROM stockroute.alert
 ORDER BY kind, node_id, sku, raised_at;
CREATE FUNCTION pg_temp.rec() RETURNS jsonb LANGUAGE sql AS $$
    SELECT stockroute.reconcile() - 'run_id' - 'started_at' - 'duration_ms';
$$;

-- a quiet network: nothing to do (HOSE-2 is above its reorder point)
SELECT pg_temp.rec();

-- 1. expiry: a hold past expires_at lapses, its units come back
SELECT stockroute.reserve('SO-1', '1', 'PUMP-1', 'A', 2) ->> 'status' AS held;
SELECT stockroute.reserve('SO-2', '1', 'PUMP-1', 'A', 1) ->> 'status' AS held;
UPDATE stockroute.reservation SET expires_at = now() - interval '1 second' WHERE order_ref = 'SO-1';
SELECT pg_temp.rec();
SELECT * FROM pg_temp.res;
SELECT * FROM pg_temp.st WHERE sku = 'PUMP-1';
SELECT topic, order_ref, payload FROM stockroute.outbox WHERE topic = 'release';
SELECT pg_temp.err($$SELECT stockroute.commit('SO-1')$$);

-- 2. invariant 2: drift (only possible with triggers off) is repaired and reported
SET session_replication_role = replica;
UPDATE stockroute.stock SET reserved = 7 WHERE node_id = 'A' AND sku = 'PUMP-1';
RESET session_replication_role;
SELECT * FROM pg_temp.st WHERE sku = 'PUMP-1';
SELECT pg_temp.rec();
SELECT * FROM pg_temp.st WHERE sku = 'PUMP-1';
SELECT * FROM pg_temp.alerts WHERE kind = 'drift';
-- repair_reserved directly: nothing to repair now; unknown row
SELECT stockroute.repair_reserved('A', 'PUMP-1');
SELECT pg_temp.err($$SELECT stockroute.repair_reserved('A', 'NO-SUCH')$$);
SELECT pg_temp.err($$SELECT stockroute.repair_reserved(NULL, 'PUMP-1')$$);
-- reserved itself stays out of reach
SELECT pg_temp.err($$UPDATE stockroute.stock SET reserved = 0 WHERE node_id = 'A' AND sku = 'PUMP-1'$$);

-- 3. stale nodes: silent longer than stale_after; a node that never sent an event is not stale
UPDATE stockroute.node SET last_event_at = now() - interval '2 days' WHERE node_id = 'C';
UPDATE stockroute.node SET last_event_at = now() - interval '2 hours' WHERE node_id = 'B';
SELECT pg_temp.rec();
SELECT node_id, status, stale, routable, open_alerts FROM stockroute.node_health ORDER BY node_id;
SELECT * FROM pg_temp.alerts WHERE kind = 'stale_node';
-- a second run raises nothing new
SELECT pg_temp.rec() -> 'stale' AS stale;
SELECT count(*) FROM stockroute.alert WHERE kind = 'stale_node';
-- its next event brings it back
SELECT stockroute.ingest('[{"node_id": "C", "idempotency_key": "c-1", "kind": "receipt",
                           "sku": "VALVE-9", "qty": 1, "occurred_at": "2026-01-01T00:00:00Z"}]') -> 'applied' AS applied;
SELECT node_id, stale, routable FROM stockroute.node_health WHERE node_id = 'C';
SELECT * FROM pg_temp.alerts WHERE kind = 'stale_node';

-- 4. shortfall: A promised 8 units of VALVE-9 (allocate, so the order's ship_to is known),
-- then A reports a sale that leaves 2
SELECT stockroute.allocate('{"order_ref": "SO-10", "ship_to": {"lat": 33.75, "lon": -84.39, "country": "US"},
                             "lines": [{"line_ref": "1", "sku": "VALVE-9", "qty": 8}]}') ->> 'status' AS status;
SELECT stockroute.reserve('SO-11', '1', 'VALVE-9', 'A', 2) ->> 'status' AS held;
SELECT stockroute.commit('SO-11') ->> 'committed' AS committed;
SELECT * FROM pg_temp.res WHERE sku = 'VALVE-9';
SELECT stockroute.ingest('[{"node_id": "A", "idempotency_key": "a-1", "kind": "sale",
                           "sku": "VALVE-9", "qty": 8, "occurred_at": "2026-01-01T00:00:00Z"}]') -> 'applied' AS applied;
SELECT * FROM pg_temp.st WHERE sku = 'VALVE-9';
SELECT * FROM pg_temp.alerts WHERE kind = 'shortfall';
-- reconcile moves the held units: 3 to B and C (plan), the rest to backorder; SO-11 is committed and stays
SELECT pg_temp.rec();
SELECT * FROM pg_temp.res WHERE sku = 'VALVE-9';
SELECT * FROM pg_temp.st WHERE sku = 'VALVE-9';
SELECT order_ref, line_ref, sku, qty, status, order_doc ? 'ship_to' AS has_ship_to FROM stockroute.backorder;
SELECT order_ref, kind, input ->> 'reason' AS reason, output ->> 'placed' AS placed,
       output ->> 'backordered' AS backordered, output ->> 'method' AS method
  FROM stockroute.decision WHERE kind = 'reroute' ORDER BY created_at;
SELECT * FROM pg_temp.alerts WHERE kind = 'shortfall';

-- 5. stock arrives at C: the backorder is filled there
SELECT stockroute.ingest('[{"node_id": "C", "idempotency_key": "c-2", "kind": "receipt",
                           "sku": "VALVE-9", "qty": 10, "occurred_at": "2026-01-01T01:00:00Z"}]') -> 'applied' AS applied;
SELECT pg_temp.rec();
SELECT order_ref, line_ref, sku, qty, status FROM stockroute.backorder;
SELECT * FROM pg_temp.res WHERE sku = 'VALVE-9';
SELECT topic, order_ref, payload - 'backorder_id' - 'reservations' AS payload
  FROM stockroute.outbox WHERE topic = 'backorder' ORDER BY created_at;
-- a hold made with reserve() (no order on file) is placed by the routing core as if the
-- order shipped to the node it was held at
SELECT stockroute.reserve('SO-12', '1', 'PUMP-1', 'A', 3) ->> 'status' AS held;
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES ('B', 'PUMP-1', 5);
SELECT stockroute.ingest('[{"node_id": "A", "idempotency_key": "a-2", "kind": "count",
                           "sku": "PUMP-1", "qty": 1, "occurred_at": "2026-01-01T02:00:00Z"}]') -> 'applied' AS applied;
SELECT pg_temp.rec() -> 'rerouted_units' AS rerouted;
SELECT * FROM pg_temp.res WHERE sku = 'PUMP-1';
SELECT output ->> 'method' AS method FROM stockroute.decision WHERE kind = 'reroute' AND order_ref = 'SO-12';

-- 6. low stock: at or below the reorder point, once; resolved when back above
UPDATE stockroute.stock SET on_hand = 5 WHERE node_id = 'A' AND sku = 'HOSE-2';
SELECT pg_temp.rec() -> 'low_stock' AS low_stock;
SELECT pg_temp.rec() -> 'low_stock' AS low_stock;
SELECT * FROM pg_temp.alerts WHERE kind = 'low_stock';
UPDATE stockroute.stock SET on_hand = 50 WHERE node_id = 'A' AND sku = 'HOSE-2';
SELECT pg_temp.rec() -> 'alerts_resolved' AS resolved;
SELECT * FROM pg_temp.alerts WHERE kind = 'low_stock';
-- open alerts never duplicate; each new one went to the outbox once
SELECT kind, node_id, sku, count(*) FROM stockroute.alert WHERE status = 'open' GROUP BY 1, 2, 3 HAVING count(*) > 1;
SELECT payload ->> 'kind' AS kind, count(*) FROM stockroute.outbox WHERE topic = 'alert' GROUP BY 1 ORDER BY 1;

-- the run log
SELECT count(*) AS runs, bool_and(finished_at >= started_at) AS timed, bool_and(summary ? 'run_id') AS summarized
  FROM stockroute.reconcile_run;
SELECT run_id, expired, drift, stale, shortfall, rerouted, backordered, backorders_filled, low_stock
  FROM stockroute.reconcile_run ORDER BY run_id;

-- the dashboards
SELECT node_id, sku, on_hand, reserved, safety_stock, available, reorder_point, below_reorder_point,
       shortfall, routable
  FROM stockroute.inventory_position ORDER BY node_id, sku;
SELECT * FROM stockroute.network_position ORDER BY sku;
SELECT node_id, events_last_hour, lag_p50 IS NOT NULL AS has_lag, seq_missing FROM stockroute.node_health ORDER BY node_id;
SELECT kind, node_id, sku, status, run_id IS NOT NULL AS by_reconcile FROM stockroute.discrepancy
 ORDER BY kind, node_id, sku, raised_at;

-- invariant 2 after all of it
SELECT s.node_id, s.sku, s.reserved, coalesce(sum(r.qty), 0) AS active
  FROM stockroute.stock s
  LEFT JOIN stockroute.reservation r
         ON r.node_id = s.node_id AND r.sku = s.sku AND r.status IN ('held', 'committed')
 GROUP BY s.node_id, s.sku, s.reserved
HAVING s.reserved <> coalesce(sum(r.qty), 0);

-- scheduling needs pg_cron in this database (it is not installed here)
SELECT regexp_replace(pg_temp.err($$SELECT stockroute.schedule_jobs()$$), 'database "[^"]*"', 'database "..."');
SELECT regexp_replace(pg_temp.err($$SELECT stockroute.unschedule_jobs()$$), 'database "[^"]*"', 'database "..."');
SELECT pg_temp.err($$SELECT stockroute.schedule_jobs('')$$);

-- 7. a short lot is handled like a short stock row: its newest held reservations
-- give up the excess, placed again as plan() places the line (the node's other
-- unexpired lots are stock like any other: SO-22's unit stays at A in L2, SO-21's
-- three go to B whole rather than split); committed ones stay and keep the alert
INSERT INTO stockroute.item (sku, tags) VALUES ('RESIN-5', '{lot_tracked}');
SELECT stockroute.ingest('[
  {"node_id": "A", "idempotency_key": "r-1", "kind": "receipt", "sku": "RESIN-5", "lot_code": "L1", "qty": 6, "occurred_at": "2026-01-01T03:00:00Z"},
  {"node_id": "A", "idempotency_key": "r-2", "kind": "receipt", "sku": "RESIN-5", "lot_code": "L2", "qty": 3, "occurred_at": "2026-01-01T03:00:00Z"},
  {"node_id": "A", "idempotency_key": "r-3", "kind": "receipt", "sku": "RESIN-5", "lot_code": "L3", "qty": 2, "occurred_at": "2026-01-01T03:00:00Z"},
  {"node_id": "B", "idempotency_key": "r-4", "kind": "receipt", "sku": "RESIN-5", "lot_code": "L9", "qty": 5, "occurred_at": "2026-01-01T03:00:00Z"}]') -> 'applied' AS applied;
UPDATE stockroute.lot SET expires_on = '2099-01-01' WHERE lot_code = 'L2';
UPDATE stockroute.lot SET expires_on = '2000-01-01' WHERE lot_code = 'L3';
SELECT stockroute.reserve('SO-20', '1', 'RESIN-5', 'A', 2, lot_code => 'L1') ->> 'status' AS held;
SELECT stockroute.commit('SO-20') ->> 'committed' AS committed;
SELECT stockroute.reserve('SO-21', '1', 'RESIN-5', 'A', 3, lot_code => 'L1') ->> 'status' AS held;
SELECT stockroute.reserve('SO-22', '1', 'RESIN-5', 'A', 1, lot_code => 'L1') ->> 'status' AS held;
-- a count finds 1 unit in L1, which promised 6; the stock row (6 of 6) is not short
SELECT stockroute.ingest('[{"node_id": "A", "idempotency_key": "r-5", "kind": "count", "sku": "RESIN-5",
                           "lot_code": "L1", "qty": 1, "occurred_at": "2026-01-01T04:00:00Z"}]') -> 'applied' AS applied;
CREATE VIEW pg_temp.lots AS
SELECT node_id, sku, lot_code, on_hand, reserved FROM stockroute.lot ORDER BY node_id, sku, lot_code;
SELECT * FROM pg_temp.lots;
SELECT * FROM pg_temp.st WHERE sku = 'RESIN-5';
SELECT kind, node_id, sku, lot_code, status, detail FROM stockroute.alert
 WHERE kind = 'shortfall' AND sku = 'RESIN-5';
SELECT pg_temp.rec();
SELECT order_ref, node_id, lot_code, qty, status FROM stockroute.reservation
 WHERE sku = 'RESIN-5' ORDER BY order_ref, status, node_id, lot_code;
SELECT * FROM pg_temp.lots;
SELECT * FROM pg_temp.st WHERE sku = 'RESIN-5';
SELECT order_ref, input ->> 'lot_code' AS lot_code, input ->> 'qty' AS qty, output ->> 'placed' AS placed,
       output ->> 'method' AS method, output ->> 'backordered' AS backordered
  FROM stockroute.decision WHERE kind = 'reroute' AND input ->> 'sku' = 'RESIN-5' ORDER BY created_at, order_ref;
SELECT kind, node_id, sku, lot_code, status, detail - 'run_id' AS detail FROM stockroute.discrepancy
 WHERE lot_code IS NOT NULL ORDER BY raised_at;
-- the committed hold is released: reconcile stands the lot's alert down
SELECT stockroute.release('SO-20') ->> 'units' AS released;
SELECT pg_temp.rec() -> 'alerts_resolved' AS resolved;
SELECT lot_code, status FROM stockroute.alert WHERE kind = 'shortfall' AND sku = 'RESIN-5';
-- invariant 2 for lots after all of it
SELECT l.lot_code, l.reserved, coalesce(sum(r.qty), 0) AS active
  FROM stockroute.lot l
  LEFT JOIN stockroute.reservation r
         ON r.node_id = l.node_id AND r.sku = l.sku AND r.lot_code = l.lot_code AND r.status IN ('held', 'committed')
 GROUP BY l.node_id, l.sku, l.lot_code, l.reserved
HAVING l.reserved <> coalesce(sum(r.qty), 0);
