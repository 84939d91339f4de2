-- supply: future supply (purchase orders, transfers in transit) in
-- available()'s promise — dates and cumulative units net of the open
-- backorders served before a new order of the customer's priority, safety
-- stock and shortfalls refilled first, overdue supply counted as today,
-- supply at draining nodes and cancelled supply not counted; backorder
-- promise dates set when the backorder is created and moved when supply
-- changes (outbox, reason promise); receipts through ingest() naming
-- "supply_ref" (partial, complete, duplicate, superseded by a count, unknown
-- ref, other node) mark supply received and fill the SKU's backorders at
-- commit, highest priority first; cancel_supply(); supply_guard; every
-- error with its SQLSTATE, and nothing changed by it.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql
SET TimeZone = 'UTC';
-- the routing clock: Sunday 22 Nov 2026; supply dates are as of this day
SET stockroute.now = '2026-11-22 10:00-05';

-- A Atlanta, B Birmingham, C Los Angeles (no stock row yet), D Denver (draining)
INSERT INTO stockroute.node (node_id, name, lat, lon, country, status) VALUES
    ('A', 'Atlanta', 33.75, -84.39, 'US', 'active'), ('B', 'Birmingham', 33.52, -86.81, 'US', 'active'),
    ('C', 'Los Angeles', 34.05, -118.24, 'US', 'active'), ('D', 'Denver', 39.74, -104.99, 'US', 'draining');
INSERT INTO stockroute.item (sku) VALUES ('VALVE-9'), ('PUMP-1');
-- A: 6 on hand, 1 safety (5 available); B: nothing on hand, 2 safety (2 short of it)
INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock) VALUES
    ('A', 'VALVE-9', 6, 1), ('B', 'VALVE-9', 0, 2), ('A', 'PUMP-1', 1, 0);

CREATE VIEW pg_temp.sup AS
SELECT ref, node_id, sku, kind, from_node_id AS from_node, qty, received_qty AS received, expected_on, status,
       received_at IS NOT NULL AS has_received_at
  FROM stockroute.supply ORDER BY ref, node_id, sku;
CREATE VIEW pg_temp.bo AS
SELECT order_ref, line_ref, sku, qty, priority, promised_on, status
  FROM stockroute.backorder ORDER BY order_ref, line_ref, status;
CREATE VIEW pg_temp.res AS
SELECT order_ref, node_id, sku, qty, status FROM stockroute.reservation
 ORDER BY order_ref, node_id, status, qty;
CREATE FUNCTION pg_temp.promise(customer jsonb DEFAULT NULL) RETURNS TABLE (priority int, backordered bigint,
                                                                         incoming bigint, promise jsonb)
LANGUAGE sql AS $$
    SELECT (a->>'priority')::int, (a->>'backordered')::bigint, (a->>'incoming')::bigint, a->'promise'
      FROM stockroute.available('VALVE-9', NULL, customer) a
$$;
CREATE FUNCTION pg_temp.o(ref text, qty int, extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('order_ref', ref, 'ship_to', '{"lat": 33.75, "lon": -84.39, "country": "US"}'::jsonb,
                              'lines', jsonb_build_array(jsonb_build_object('line_ref', '1', 'sku', 'VALVE-9',
                                                                            'qty', qty))) || extra
$$;
CREATE FUNCTION pg_temp.receipt(key text, node text, qty int, ref text, at text DEFAULT '2026-01-01T00:00:00Z')
RETURNS jsonb LANGUAGE sql AS $$
    SELECT stockroute.ingest(jsonb_build_array(jsonb_build_object(
               'node_id', node, 'idempotency_key', key, 'kind', 'receipt', 'sku', 'VALVE-9',
               'qty', qty, 'occurred_at', at, 'supply_ref', ref))) - 'results'
$$;

-- 1. no supply: the promise is the stock as it is (A's 5)
SELECT * FROM pg_temp.promise();

-- 2. supply: a PO to A on the 25th, a transfer from C to B on the 23rd, a PO
-- to draining D (not counted), an overdue PO to C (counts as today)
INSERT INTO stockroute.supply (node_id, sku, qty, expected_on, ref, kind, from_node_id) VALUES
    ('A', 'VALVE-9', 10, '2026-11-25', 'PO-1', 'po', NULL),
    ('B', 'VALVE-9', 4, '2026-11-23', 'TR-1', 'transfer', 'C'),
    ('D', 'VALVE-9', 100, '2026-11-24', 'PO-2', 'po', NULL),
    ('C', 'VALVE-9', 3, '2026-11-20', 'PO-OLD', 'po', NULL);
SELECT * FROM pg_temp.sup;
-- today A 5 + C 3 (overdue) = 8; the 23rd B's 4 first refill its 2 of safety stock: 10; the 25th 20
SELECT * FROM pg_temp.promise();
SELECT jsonb_pretty(stockroute.available('VALVE-9') -> 'supply');
-- with a destination: the same nodes can reach it, so the same promise
SELECT a->'promise' = (SELECT promise FROM pg_temp.promise()) AS same
  FROM stockroute.available('VALVE-9', '{"lat": 33.75, "lon": -84.39}') a;

-- 3. backorders get their promise date when created: SO-1 wants 10, A ships
-- 5, 5 wait; by the 23rd C's 3 and B's 2 cover them
SELECT stockroute.allocate(pg_temp.o('SO-1', 10)) ->> 'status' AS status;
SELECT * FROM pg_temp.bo;
-- a tier1 order (segment priority 10) is served before SO-1: its 4 units are
-- promised for the 23rd too; SO-1's date stands until supply changes
INSERT INTO stockroute.segment_priority (segment, priority, description) VALUES ('tier1', 10, 'contract');
SELECT stockroute.allocate(pg_temp.o('SO-2', 4, '{"customer": {"segment": "tier1"}}')) ->> 'status' AS status;
SELECT * FROM pg_temp.bo;
-- what a new order can be promised: after all 9 backordered units, or, for a
-- tier1 customer, only after the 4 of its priority
SELECT * FROM pg_temp.promise();
SELECT * FROM pg_temp.promise('{"segment": "tier1"}');
SELECT * FROM pg_temp.promise('{"segment": "tier1", "priority": -1}');

-- 4. supply changes move the dates: PO-1 slips to the 27th; SO-1 (after
-- SO-2's 4) now needs it; the change goes to the outbox
UPDATE stockroute.supply SET expected_on = '2026-11-27' WHERE ref = 'PO-1';
SELECT * FROM pg_temp.bo;
SELECT order_ref, payload - 'backorder_id' AS payload FROM stockroute.outbox
 WHERE topic = 'backorder' ORDER BY created_at;
-- repromise() finds nothing more to move
SELECT stockroute.repromise();

-- 5. a receipt naming its supply: TR-1 arrives at B.  The backorders are
-- filled when the transaction commits, not before
BEGIN;
SELECT pg_temp.receipt('b-1', 'B', 4, 'TR-1');
SELECT ref, received, status FROM pg_temp.sup WHERE ref = 'TR-1';
SELECT * FROM pg_temp.bo;
COMMIT;
-- B's 4 refill its 2 of safety stock and give 2: SO-2 (priority 10) gets them
SELECT * FROM pg_temp.res;
SELECT * FROM pg_temp.bo;
SELECT * FROM pg_temp.sup WHERE ref = 'TR-1';

-- 6. part of PO-1 arrives early (6 of 10): still open; SO-2's last 2, then
-- SO-1's first 4 are filled at A, highest priority first
SELECT pg_temp.receipt('a-1', 'A', 6, 'PO-1');
SELECT ref, received, status FROM pg_temp.sup WHERE ref = 'PO-1';
SELECT * FROM pg_temp.res;
SELECT * FROM pg_temp.bo;
-- the same event again is a duplicate: nothing is counted twice
SELECT pg_temp.receipt('a-1', 'A', 6, 'PO-1');
SELECT ref, received, status FROM pg_temp.sup WHERE ref = 'PO-1';
-- a receipt naming an unknown ref, or PO-1 at another node, moves stock only
SELECT pg_temp.receipt('b-2', 'B', 1, 'PO-404');
SELECT pg_temp.receipt('b-3', 'B', 1, 'PO-1');
SELECT ref, received, status FROM pg_temp.sup;
-- the rest of PO-1 arrives before a count that covers it: the receipt is
-- superseded for on_hand, but the supply was received all the same
SELECT stockroute.ingest('[
  {"node_id": "A", "idempotency_key": "a-2", "kind": "receipt", "sku": "VALVE-9", "qty": 4,
   "occurred_at": "2026-01-02T00:00:00Z", "supply_ref": "PO-1"},
  {"node_id": "A", "idempotency_key": "a-3", "kind": "count", "sku": "VALVE-9", "qty": 20,
   "occurred_at": "2026-01-03T00:00:00Z"}]') - 'results';
SELECT idempotency_key, status FROM stockroute.event WHERE idempotency_key IN ('a-2', 'a-3') ORDER BY 1;
SELECT * FROM pg_temp.sup WHERE ref = 'PO-1';
SELECT * FROM pg_temp.bo;
SELECT node_id, on_hand, reserved, safety_stock, available FROM stockroute.stock WHERE sku = 'VALVE-9' ORDER BY 1;

-- 7. cancel_supply: the overdue PO to C will not come
SELECT * FROM pg_temp.promise();
SELECT stockroute.cancel_supply('PO-OLD');
SELECT * FROM pg_temp.promise();
-- a PO closed short by hand (status received, received_qty as it is) leaves the promises
UPDATE stockroute.supply SET status = 'received' WHERE ref = 'PO-2';
SELECT * FROM pg_temp.sup;

-- 8. errors: each changes nothing
SELECT pg_temp.err($$SELECT stockroute.cancel_supply('PO-OLD')$$);
SELECT pg_temp.err($$SELECT stockroute.cancel_supply('PO-1', 'A')$$);
SELECT pg_temp.err($$SELECT stockroute.cancel_supply('PO-404')$$);
SELECT pg_temp.err($$SELECT stockroute.cancel_supply('PO-1', 'B', 'VALVE-9')$$);
SELECT pg_temp.err($$SELECT stockroute.cancel_supply(NULL)$$);
SELECT pg_temp.err($$UPDATE stockroute.supply SET qty = 50 WHERE ref = 'PO-1'$$);
SELECT pg_temp.err($$UPDATE stockroute.supply SET status = 'open' WHERE ref = 'PO-OLD'$$);
SELECT pg_temp.err($$UPDATE stockroute.supply SET expected_on = '2026-12-01' WHERE ref = 'PO-2'$$);
SELECT pg_temp.err($$UPDATE stockroute.supply SET sku = 'PUMP-1' WHERE ref = 'TR-1'$$);
SELECT pg_temp.err($$INSERT INTO stockroute.supply (node_id, sku, qty, expected_on, ref) VALUES ('A', 'VALVE-9', 0, '2026-12-01', 'PO-9')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.supply (node_id, sku, qty, expected_on, ref) VALUES ('X', 'VALVE-9', 1, '2026-12-01', 'PO-9')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.supply (node_id, sku, qty, expected_on, ref) VALUES ('A', 'NOPE-0', 1, '2026-12-01', 'PO-9')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.supply (node_id, sku, qty, expected_on, ref) VALUES ('A', 'VALVE-9', 1, '2026-12-01', 'PO-1')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.supply (node_id, sku, qty, expected_on, ref) VALUES ('A', 'VALVE-9', 1, '2026-12-01', '')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.supply (node_id, sku, qty, expected_on, ref, kind) VALUES ('A', 'VALVE-9', 1, '2026-12-01', 'PO-9', 'gift')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.supply (node_id, sku, qty, expected_on, ref, from_node_id) VALUES ('A', 'VALVE-9', 1, '2026-12-01', 'PO-9', 'B')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.supply (node_id, sku, qty, expected_on, ref, kind, from_node_id) VALUES ('A', 'VALVE-9', 1, '2026-12-01', 'TR-9', 'transfer', 'A')$$);
SELECT pg_temp.err($$SELECT stockroute.available('VALVE-9', NULL, '{"priority": "high"}')$$);
SELECT pg_temp.err($$SELECT stockroute.available('VALVE-9', NULL, '{"priority": 1.5}')$$);
SELECT pg_temp.err($$SELECT stockroute.available('VALVE-9', NULL, '{"priority": 3000000000}')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.segment_priority (segment, priority) VALUES ('', 1)$$);
SELECT * FROM pg_temp.sup;
SELECT count(*) AS segments FROM stockroute.segment_priority;

-- invariant 2 after all of it
SELECT s.node_id, s.sku, s.reserved, coalesce(sum(r.qty), 0) AS active
  FROM stockroute.stock s
  LEFT JOIN stockroute.reservation r
         ON r.node_id = s.node_id AND r.sku = s.sku AND r.status IN ('held', 'committed')
 GROUP BY s.node_id, s.sku, s.reserved
HAVING s.reserved <> coalesce(sum(r.qty), 0);
