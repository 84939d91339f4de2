-- paths: every path that places units decides the way plan() does.
-- Proves, for the order's own options and lot requirements:
--   1. an all-or-nothing order ("allow_partial": false) that allocate()
--      left unfillable is not partly filled by reconcile()'s backorder
--      filling; it is filled whole once the stock is there;
--   2. the same for "ship_complete": true (one node, or nothing);
--   3. a backordered line asking for "min_shelf_days" is not filled from a
--      lot with less shelf life, and is filled from a lot with enough: the
--      hold names the lot and lot.reserved moves;
--   4. a backordered line asking for "lot_attrs" is not filled from a lot
--      without them;
--   5. a line asking for halal lots that its node rejects is re-routed to
--      another node's halal lot, never to a lot without the attribute;
--   6. a halal lot found short has its held units moved to halal stock
--      elsewhere, never to the node's lot without the attribute;
-- and in each case the units placed are the units plan() places for the
-- same lines on the same stock (the decision records that plan).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;

SET stockroute.explain_timing = off;
-- the routing clock: 23 Nov 2026; shelf life counts from this date
SET stockroute.now = '2026-11-23 09:00+00';

-- an order to Atlanta
CREATE FUNCTION pg_temp.o(ref text, lines jsonb, extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('order_ref', ref,
                              'ship_to', '{"lat": 33.75, "lon": -84.39, "country": "US"}'::jsonb,
                              'lines', lines) || extra
$$;
-- an event of a node's feed
CREATE FUNCTION pg_temp.ev(key text, node text, kind text, sku text, qty int, lot text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_array(jsonb_build_object('node_id', node, 'idempotency_key', key, 'kind', kind,
                                                'sku', sku, 'qty', qty, 'lot_code', lot,
                                                'occurred_at', '2026-11-23T08:00:00Z'))
$$;
-- an order's active holds
CREATE FUNCTION pg_temp.holds(ref text)
RETURNS TABLE (node_id text, line_ref text, lot_code text, qty bigint) LANGUAGE sql AS $$
    SELECT r.node_id, r.line_ref, r.lot_code, r.qty FROM stockroute.reservation r
     WHERE r.order_ref = ref AND r.status IN ('held', 'committed')
     ORDER BY r.node_id, r.line_ref, r.lot_code
$$;
-- what a plan ships: node, line, lot, qty (a line without lots: lot NULL)
CREATE FUNCTION pg_temp.ships(p jsonb)
RETURNS TABLE (node_id text, line_ref text, lot_code text, qty bigint) LANGUAGE sql AS $$
    SELECT s->>'node_id', l->>'line_ref', t->>'lot_code', coalesce(t->>'qty', l->>'qty')::bigint
      FROM jsonb_array_elements(p->'shipments') s,
           jsonb_array_elements(s->'lines') l
      LEFT JOIN LATERAL jsonb_array_elements(l->'lots') t ON true
     ORDER BY 1, 2, 3
$$;
-- the backorder lines of an order
CREATE FUNCTION pg_temp.bo(ref text)
RETURNS TABLE (line_ref text, qty bigint, status text) LANGUAGE sql AS $$
    SELECT b.line_ref, b.qty, b.status FROM stockroute.backorder b
     WHERE b.order_ref = ref ORDER BY b.line_ref, b.status
$$;
-- the order's still open backorder lines as plan() would be asked for them
CREATE FUNCTION pg_temp.open_order(ref text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT d.input || jsonb_build_object('lines',
             (SELECT jsonb_agg(l || jsonb_build_object('qty', b.qty) ORDER BY b.line_ref)
                FROM jsonb_array_elements(d.input->'lines') l
                JOIN stockroute.backorder b ON b.order_ref = ref AND b.line_ref = l->>'line_ref'
                                           AND b.status = 'open'))
      FROM stockroute.decision d WHERE d.order_ref = ref AND d.kind = 'allocate'
$$;

-- A Atlanta, B Birmingham, C Charlotte.  BOLT plain; MILK lot-tracked
INSERT INTO stockroute.node (node_id, name, lat, lon, country) VALUES
    ('A', 'Atlanta', 33.749, -84.388, 'US'),
    ('B', 'Birmingham', 33.519, -86.810, 'US'),
    ('C', 'Charlotte', 35.227, -80.843, 'US');
INSERT INTO stockroute.item (sku, weight_kg, tags) VALUES
    ('BOLT', 1, '{}'), ('MILK', 1, '{lot_tracked}');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES
    ('A', 'BOLT', 5), ('B', 'BOLT', 5), ('C', 'BOLT', 0),
    ('A', 'MILK', 0), ('B', 'MILK', 0), ('C', 'MILK', 0);

-- 1. all or nothing: 10 wanted, 5 at A and 5 at B, at most one shipment
SELECT a->>'status' AS status, a->'unfilled' AS unfilled
  FROM stockroute.allocate(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "BOLT", "qty": 10}]',
                                     '{"options": {"allow_partial": false, "max_shipments": 1}}')) a;
SELECT * FROM pg_temp.bo('SO-1');
-- reconcile fills nothing: plan() of the open line places nothing either
SELECT p->>'status' AS plan_status FROM stockroute.plan(pg_temp.open_order('SO-1')) p;
SELECT r->'backorders_filled' AS filled FROM stockroute.reconcile() r;
SELECT * FROM pg_temp.holds('SO-1');
SELECT * FROM pg_temp.bo('SO-1');
-- B receives 5: one node can ship the 10 whole; plan() and the fill agree
SELECT stockroute.ingest(pg_temp.ev('b-1', 'B', 'receipt', 'BOLT', 5)) -> 'applied' AS applied;
SELECT * FROM pg_temp.ships(stockroute.plan(pg_temp.open_order('SO-1')));
SELECT r->'backorders_filled' AS filled, r->'backorder_units_placed' AS units FROM stockroute.reconcile() r;
SELECT * FROM pg_temp.holds('SO-1');
SELECT * FROM pg_temp.bo('SO-1');
SELECT output->>'method' AS method, output->'plan'->>'status' AS plan_status
  FROM stockroute.decision WHERE order_ref = 'SO-1' AND kind = 'reroute';

-- 2. ship complete: 8 wanted; A has 5, B's 10 are SO-1's, C has none: nothing
-- now (A 5 + C 3 later would be two shipments); C receives 8
SELECT a->>'status' AS status
  FROM stockroute.allocate(pg_temp.o('SO-2', '[{"line_ref": "1", "sku": "BOLT", "qty": 8}]',
                                     '{"options": {"ship_complete": true}}')) a;
SELECT r->'backorders_filled' AS filled FROM stockroute.reconcile() r;
SELECT * FROM pg_temp.holds('SO-2');
SELECT stockroute.ingest(pg_temp.ev('c-1', 'C', 'receipt', 'BOLT', 8)) -> 'applied' AS applied;
SELECT * FROM pg_temp.ships(stockroute.plan(pg_temp.open_order('SO-2')));
SELECT r->'backorder_units_placed' AS units FROM stockroute.reconcile() r;
SELECT * FROM pg_temp.holds('SO-2');

-- 3. shelf life: 6 MILK with 20 days left wanted; A's lot L5 has 5 days left
SELECT stockroute.ingest(pg_temp.ev('a-l5', 'A', 'receipt', 'MILK', 10, 'L5')) -> 'applied' AS applied;
UPDATE stockroute.lot SET expires_on = '2026-11-28' WHERE lot_code = 'L5';
SELECT a->>'status' AS status
  FROM stockroute.allocate(pg_temp.o('SO-3', '[{"line_ref": "1", "sku": "MILK", "qty": 6, "min_shelf_days": 20}]')) a;
SELECT r->'backorders_filled' AS filled FROM stockroute.reconcile() r;
SELECT * FROM pg_temp.holds('SO-3');
-- a lot with 40 days arrives at A: the line is filled from it, by lot
SELECT stockroute.ingest(pg_temp.ev('a-l40', 'A', 'receipt', 'MILK', 10, 'L40')) -> 'applied' AS applied;
UPDATE stockroute.lot SET expires_on = '2027-01-02' WHERE lot_code = 'L40';
SELECT * FROM pg_temp.ships(stockroute.plan(pg_temp.open_order('SO-3')));
SELECT r->'backorder_units_placed' AS units FROM stockroute.reconcile() r;
SELECT * FROM pg_temp.holds('SO-3');
SELECT lot_code, on_hand, reserved FROM stockroute.lot WHERE sku = 'MILK' ORDER BY node_id, lot_code;

-- 4. lot attributes: 4 halal MILK wanted; B's lot has no certificate
SELECT stockroute.ingest(pg_temp.ev('b-lp', 'B', 'receipt', 'MILK', 10, 'LP')) -> 'applied' AS applied;
SELECT a->>'status' AS status
  FROM stockroute.allocate(pg_temp.o('SO-4', '[{"line_ref": "1", "sku": "MILK", "qty": 4, "lot_attrs": {"cert": "halal"}}]')) a;
SELECT r->'backorders_filled' AS filled FROM stockroute.reconcile() r;
SELECT * FROM pg_temp.holds('SO-4');
-- a halal lot arrives at C
SELECT stockroute.ingest(pg_temp.ev('c-lh', 'C', 'receipt', 'MILK', 10, 'LH')) -> 'applied' AS applied;
UPDATE stockroute.lot SET attrs = '{"cert": "halal"}' WHERE lot_code = 'LH';
SELECT * FROM pg_temp.ships(stockroute.plan(pg_temp.open_order('SO-4')));
SELECT r->'backorder_units_placed' AS units FROM stockroute.reconcile() r;
SELECT * FROM pg_temp.holds('SO-4');

-- 5. rejection: 3 halal MILK held at C (halal lot LH); A gets a halal lot
-- too, B has only its plain lot.  C rejects: A's halal lot takes them, not B
SELECT stockroute.ingest(pg_temp.ev('a-lh2', 'A', 'receipt', 'MILK', 5, 'LH2')) -> 'applied' AS applied;
UPDATE stockroute.lot SET attrs = '{"cert": "halal"}' WHERE lot_code = 'LH2';
SELECT * FROM pg_temp.ships(stockroute.allocate(pg_temp.o('SO-5',
    '[{"line_ref": "1", "sku": "MILK", "qty": 3, "lot_attrs": {"cert": "halal"}}]',
    '{"ship_to": {"lat": 35.2, "lon": -80.8, "country": "US"}}')));
SELECT * FROM pg_temp.ships(stockroute.reject('SO-5', 'C', 'damaged'));
SELECT * FROM pg_temp.holds('SO-5');

-- 6. a short halal lot: A's LH2 counts 1 of the 5 it holds halal units for
-- (SO-5's 3, then SO-6's 2); the newest holds give up 4: SO-6's 2 move to C's
-- halal lot, SO-5's 2 are backordered (C rejected SO-5), never to A's lots
-- without the certificate
SELECT * FROM pg_temp.ships(stockroute.allocate(pg_temp.o('SO-6',
    '[{"line_ref": "1", "sku": "MILK", "qty": 2, "lot_attrs": {"cert": "halal"}}]')));
SELECT lot_code, on_hand, reserved FROM stockroute.lot WHERE node_id = 'A' AND sku = 'MILK' ORDER BY lot_code;
SELECT stockroute.ingest(pg_temp.ev('a-cnt', 'A', 'count', 'MILK', 1, 'LH2')) -> 'applied' AS applied;
SELECT r->'lot_shortfall' AS short_lots, r->'rerouted_units' AS rerouted, r->'backordered_units' AS backordered
  FROM stockroute.reconcile() r;
SELECT * FROM pg_temp.holds('SO-5');
SELECT * FROM pg_temp.holds('SO-6');
-- each move recorded with the plan it placed by
SELECT order_ref, input->>'lot_code' AS lot_code, output->>'placed' AS placed, output->>'method' AS method,
       (SELECT string_agg(s->>'node_id', ',') FROM jsonb_array_elements(output->'plan'->'shipments') s) AS plan_nodes
  FROM stockroute.decision WHERE kind = 'reroute' AND input->>'reason' = 'shortfall' ORDER BY created_at, order_ref;

-- invariant 2, stock rows and lots, after all of it
SELECT count(*) AS stock_rows_off FROM stockroute.stock s
 WHERE s.reserved <> (SELECT coalesce(sum(r.qty), 0) FROM stockroute.reservation r
                       WHERE r.node_id = s.node_id AND r.sku = s.sku AND r.status IN ('held', 'committed'));
SELECT count(*) AS lots_off FROM stockroute.lot l
 WHERE l.reserved <> (SELECT coalesce(sum(r.qty), 0) FROM stockroute.reservation r
                       WHERE r.node_id = l.node_id AND r.sku = l.sku AND r.lot_code = l.lot_code
                         AND r.status IN ('held', 'committed'));
