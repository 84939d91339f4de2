-- lapsed_holds: a held reservation past expires_at blocks nothing on the
-- write path, before reconcile() comes by.  Proves: reserve() that finds its
-- stock row short expires the row's lapsed holds as reconcile() does (status
-- expired, closed_at set, one outbox release message per order with reason
-- "expired", the units and the daily capacity given back) and then
-- succeeds; a row with enough free units expires nothing; holds not lapsed,
-- committed ones and those of other stock rows are never touched; when the
-- lapsed holds are not enough the call fails with SR001 and expires nothing;
-- the same through the reservation trigger for a direct INSERT, a qty
-- increase and a lot; a hold written by the statement being checked is left
-- to its own trigger; afterwards reconcile() expires what is left, in the
-- same form; expire_lapsed_holds(), which both call, touches only the stock
-- rows it is given and refuses arrays of different lengths (22023); and
-- invariant 2 and the capacity counters hold.  On the read
-- side, plan(), available() and simulate() count a lapsed hold's units as
-- free, and allocate() takes them through the trigger.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql
SET TimeZone = 'UTC';

INSERT INTO stockroute.node (node_id, name, daily_unit_limit) VALUES ('A', 'Atlanta', 1000), ('B', 'Birmingham', NULL);
INSERT INTO stockroute.item (sku, tags) VALUES ('V', '{}'), ('P', '{}'), ('L', '{lot_tracked}');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES ('A', 'V', 10), ('B', 'V', 10), ('A', 'P', 5), ('A', 'L', 10);
INSERT INTO stockroute.lot (node_id, sku, lot_code, on_hand) VALUES ('A', 'L', 'L1', 5), ('A', 'L', 'L2', 5);

CREATE VIEW pg_temp.st AS
SELECT node_id, sku, on_hand, reserved, available FROM stockroute.stock ORDER BY node_id, sku;
CREATE VIEW pg_temp.res AS
SELECT order_ref, line_ref, node_id, sku, lot_code, qty, status,
       expires_at <= now() AS lapsed, closed_at IS NOT NULL AS closed
  FROM stockroute.reservation ORDER BY order_ref, line_ref;
CREATE VIEW pg_temp.released AS
SELECT order_ref, payload FROM stockroute.outbox WHERE topic = 'release' ORDER BY order_ref, payload::text;
-- a hold past its expiry (the clock moved on; reconcile() has not run)
CREATE FUNCTION pg_temp.lapse(ref text) RETURNS void LANGUAGE sql AS $$
    UPDATE stockroute.reservation SET expires_at = now() - interval '1 minute' WHERE order_ref = ref;
$$;

-- 1. SO-1 holds all 10 V at A and another line (P) there; SO-9 holds 2 V at
-- B.  Both lapse.
SELECT stockroute.reserve('SO-1', '1', 'V', 'A', 10)->>'status' AS v, stockroute.reserve('SO-1', '2', 'P', 'A', 1)->>'status' AS p;
SELECT stockroute.reserve('SO-9', '1', 'V', 'B', 2)->>'status' AS status;
SELECT pg_temp.lapse('SO-1'), pg_temp.lapse('SO-9');
SELECT * FROM pg_temp.st WHERE node_id = 'A' AND sku = 'V';
-- the next reserve() at A expires SO-1's V hold and gets its units; SO-1's
-- P hold (another stock row) and SO-9 (another node) stay as they are
SELECT r->>'status' AS status, r->>'qty' AS qty FROM stockroute.reserve('SO-2', '1', 'V', 'A', 3) r;
SELECT * FROM pg_temp.res;
SELECT * FROM pg_temp.st;
SELECT * FROM pg_temp.released;
-- its units and its daily capacity went back: SO-1 counts at A with its P line only
SELECT order_ref, qty FROM stockroute.node_load_entry WHERE node_id = 'A' ORDER BY order_ref, qty;
SELECT node_id, orders, units FROM stockroute.node_load;

-- 2. only a short row expires anything: SO-4 (5 units) lapses, and SO-5
-- takes the 2 units still free without touching it; SO-6 needs one more,
-- so SO-4 expires
SELECT stockroute.reserve('SO-4', '1', 'V', 'A', 5)->>'status' AS status;
SELECT pg_temp.lapse('SO-4');
SELECT stockroute.reserve('SO-5', '1', 'V', 'A', 2)->>'status' AS status;
SELECT order_ref, status, lapsed FROM pg_temp.res WHERE order_ref = 'SO-4';
SELECT stockroute.reserve('SO-6', '1', 'V', 'A', 1)->>'status' AS status;
SELECT order_ref, status, closed FROM pg_temp.res WHERE order_ref = 'SO-4';
SELECT * FROM pg_temp.st WHERE node_id = 'A' AND sku = 'V';

-- 3. not enough: SO-2 is committed (a committed hold never lapses, even past
-- its expires_at), SO-7 (2 units) lapses; 4 units would be free without
-- SO-7, SO-8 asks 5: refused, and SO-7 is still held, no message written
SELECT stockroute.commit('SO-2')->'committed' AS committed;
SELECT pg_temp.lapse('SO-2');
SELECT stockroute.reserve('SO-7', '1', 'V', 'A', 2)->>'status' AS status;
SELECT pg_temp.lapse('SO-7');
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-8', '1', 'V', 'A', 5)$$);
SELECT order_ref, status, lapsed FROM pg_temp.res WHERE order_ref IN ('SO-2', 'SO-7', 'SO-8');
SELECT count(*) AS release_messages FROM pg_temp.released;
SELECT * FROM pg_temp.st WHERE node_id = 'A' AND sku = 'V';

-- 4. whatever the path: a direct INSERT is checked by the trigger, which
-- expires SO-7 ...
INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty) VALUES ('SO-10', '1', 'V', 'A', 4);
SELECT order_ref, status, closed FROM pg_temp.res WHERE order_ref IN ('SO-7', 'SO-10');
-- ... and so is an increase: SO-5 (2 units) lapses, SO-10 grows by 2
SELECT pg_temp.lapse('SO-5');
UPDATE stockroute.reservation SET qty = 6 WHERE order_ref = 'SO-10';
SELECT order_ref, qty, status FROM pg_temp.res WHERE order_ref IN ('SO-5', 'SO-10');
SELECT * FROM pg_temp.st WHERE node_id = 'A' AND sku = 'V';

-- 5. lots: SO-11 holds all of lot L1 and lapses.  The stock row has room
-- (L2), the lot has not: the lot check expires SO-11 and SO-12 gets L1
SELECT stockroute.reserve('SO-11', '1', 'L', 'A', 5, lot_code => 'L1')->>'status' AS status;
SELECT pg_temp.lapse('SO-11');
SELECT stockroute.reserve('SO-12', '1', 'L', 'A', 3, lot_code => 'L1')->>'status' AS status;
SELECT order_ref, lot_code, qty, status FROM pg_temp.res WHERE sku = 'L';
SELECT lot_code, on_hand, reserved FROM stockroute.lot ORDER BY lot_code;

-- 6. one statement's own rows are counted as it wrote them: P at A has 5,
-- SO-1's lapsed line holds 1.  SO-13 inserts a lapsed hold of 2 and a hold
-- of 3 in one statement: the second expires SO-1's line, not its sibling
INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty, expires_at)
VALUES ('SO-13', '1', 'P', 'A', 2, now() - interval '1 minute'), ('SO-13', '2', 'P', 'A', 3, now() + interval '1 hour');
SELECT order_ref, line_ref, qty, status, lapsed FROM pg_temp.res WHERE sku = 'P';
SELECT * FROM pg_temp.st WHERE node_id = 'A' AND sku = 'P';

-- 7. reconcile() expires the lapsed holds left (SO-9 at B, SO-13's first
-- line), with the same message; nothing drifted
SELECT r->'expired' AS expired, r->'drift' AS drift FROM stockroute.reconcile() r;
SELECT * FROM pg_temp.released;

-- 8. the read side: a lapsed hold stops counting at its expiry for plan(),
-- available() and simulate() too, swept or not.  Q at R: 6 on hand, 4 held
-- by SO-20, which lapses; SO-21 wants 6
INSERT INTO stockroute.node (node_id, name, lat, lon) VALUES ('R', 'Raleigh', 35.78, -78.64);
INSERT INTO stockroute.item (sku) VALUES ('Q');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES ('R', 'Q', 6);
SELECT stockroute.reserve('SO-20', '1', 'Q', 'R', 4)->>'status' AS status;
CREATE FUNCTION pg_temp.so21() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"order_ref": "SO-21", "ship_to": {"lat": 35.8, "lon": -78.6},
             "lines": [{"line_ref": "1", "sku": "Q", "qty": 6}], "options": {"allow_partial": true}}'::jsonb
$$;
SELECT n->>'reserved' AS reserved, n->>'available' AS available
  FROM jsonb_array_elements(stockroute.available('Q')->'nodes') n;
SELECT p->>'status' AS plan_status FROM stockroute.plan(pg_temp.so21()) p;
SELECT pg_temp.lapse('SO-20');
SELECT n->>'reserved' AS reserved, n->>'available' AS available
  FROM jsonb_array_elements(stockroute.available('Q')->'nodes') n;
SELECT p->>'status' AS plan_status, p->'shipments'->0->'lines'->0->>'qty' AS qty
  FROM stockroute.plan(pg_temp.so21()) p;
SELECT s->>'units_filled' AS simulated_units FROM stockroute.simulate(jsonb_build_array(pg_temp.so21())) s;
-- allocate() takes them: the trigger expires SO-20 on the way
SELECT a->>'status' AS status, a->>'attempts' AS attempts FROM stockroute.allocate(pg_temp.so21()) a;
SELECT order_ref, qty, status FROM pg_temp.res WHERE sku = 'Q';

-- 9. the read side on lots: lot M1 (5 at R) is all held by SO-22, which
-- lapses; the lot looks empty in its row, yet plan() ships SO-23 from it
INSERT INTO stockroute.item (sku, tags) VALUES ('M', '{lot_tracked}');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES ('R', 'M', 5);
INSERT INTO stockroute.lot (node_id, sku, lot_code, on_hand) VALUES ('R', 'M', 'M1', 5);
SELECT stockroute.reserve('SO-22', '1', 'M', 'R', 5, lot_code => 'M1')->>'status' AS status;
CREATE FUNCTION pg_temp.so23() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"order_ref": "SO-23", "ship_to": {"lat": 35.8, "lon": -78.6},
             "lines": [{"line_ref": "1", "sku": "M", "qty": 5}]}'::jsonb
$$;
SELECT p->>'status' AS plan_status FROM stockroute.plan(pg_temp.so23()) p;
SELECT pg_temp.lapse('SO-22');
SELECT lot_code, on_hand, reserved FROM stockroute.lot WHERE sku = 'M';
SELECT p->>'status' AS plan_status, p->'shipments'->0->'lines'->0 AS line
  FROM stockroute.plan(pg_temp.so23()) p;
SELECT s->>'units_filled' AS simulated_units FROM stockroute.simulate(jsonb_build_array(pg_temp.so23())) s;
SELECT a->>'status' AS status FROM stockroute.allocate(pg_temp.so23()) a;
SELECT order_ref, lot_code, qty, status FROM pg_temp.res WHERE sku = 'M' ORDER BY order_ref;

-- expire_lapsed_holds(), the one expiry the trigger and reconcile() call:
-- only the given stock rows' lapsed holds, one release message per order;
-- arrays of different lengths fail with 22023 and change nothing
SELECT stockroute.reserve('SO-30', '1', 'V', 'B', 1)->>'status' AS b,
       stockroute.reserve('SO-31', '1', 'P', 'A', 1)->>'status' AS a;
SELECT pg_temp.lapse('SO-30'), pg_temp.lapse('SO-31');
SELECT pg_temp.err($$SELECT * FROM stockroute.expire_lapsed_holds(ARRAY['B', 'A'], ARRAY['V'])$$);
SELECT order_ref, status FROM stockroute.reservation WHERE order_ref IN ('SO-30', 'SO-31') ORDER BY order_ref;
SELECT * FROM stockroute.expire_lapsed_holds(ARRAY['B'], ARRAY['V']);
SELECT order_ref, status FROM stockroute.reservation WHERE order_ref IN ('SO-30', 'SO-31') ORDER BY order_ref;
SELECT payload FROM stockroute.outbox WHERE order_ref = 'SO-30';
SELECT * FROM stockroute.expire_lapsed_holds(NULL, NULL);
-- reconcile() expires the rest through the same function
SELECT stockroute.reconcile()->>'expired' AS reconcile_expired;
SELECT order_ref, status FROM stockroute.reservation WHERE order_ref IN ('SO-30', 'SO-31') ORDER BY order_ref;
SELECT payload FROM stockroute.outbox WHERE order_ref = 'SO-31';

-- invariant 2 and the capacity counters
SELECT count(*) AS reserved_mismatches
  FROM stockroute.stock s
 WHERE s.reserved <> coalesce((SELECT sum(r.qty) FROM stockroute.reservation r
                                WHERE r.node_id = s.node_id AND r.sku = s.sku
                                  AND r.status IN ('held', 'committed')), 0);
SELECT count(*) AS lot_mismatches
  FROM stockroute.lot l
 WHERE l.reserved <> coalesce((SELECT sum(r.qty) FROM stockroute.reservation r
                                WHERE r.node_id = l.node_id AND r.sku = l.sku AND r.lot_code = l.lot_code
                                  AND r.status IN ('held', 'committed')), 0);
SELECT count(*) AS entry_mismatches
  FROM stockroute.reservation r
 WHERE (r.status IN ('held', 'committed', 'fulfilled'))
       <> EXISTS (SELECT 1 FROM stockroute.node_load_entry e WHERE e.sku = r.sku AND e.reservation_id = r.reservation_id);
SELECT l.node_id, l.orders, l.units,
       (l.orders, l.units) = (SELECT count(DISTINCT e.order_ref)::integer, coalesce(sum(e.qty), 0)::bigint
                                FROM stockroute.node_load_entry e WHERE e.node_id = l.node_id AND e.day = l.day) AS matches
  FROM stockroute.node_load l;
