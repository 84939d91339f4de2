-- lots: lot-tracked SKUs (item tag lot_tracked) in plan() and allocate().
-- Proves: lines fill from lots first-expiry-first-out (lots without expiry
-- last); lots with less shelf life left (expires_on - the routing clock's
-- date) than the line, the customer or the item asks for are skipped, and
-- expired lots always; a line's lot_attrs must be contained in lot.attrs; a
-- node's usable units are its eligible lots' free units, never more than the
-- stock row's available; two lines of one SKU with different requirements
-- share the lots without counting a unit twice; the plan lists each line's
-- lots; nodes without an eligible lot are excluded with the reason, and
-- available() counts only the eligible lots' units for the customer; bad
-- requirements are refused (22023, SR036); allocate() reserves per lot,
-- lot.reserved and stock.reserved stay equal to the active reservations,
-- and release() returns the units.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql

SET stockroute.explain_timing = off;
-- the routing clock: 22 Nov 2026; shelf life counts from this date
SET stockroute.now = '2026-11-22 10:00-05';
CREATE FUNCTION pg_temp.ex(p jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(stockroute.explain(p), '\d+ evaluated, \d+ pruned', 'N evaluated, N pruned')
$$;
-- an order to Atlanta with the given lines and extra keys
CREATE FUNCTION pg_temp.o(ref text, lines jsonb, extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('order_ref', ref, 'ship_to', '{"lat": 33.75, "lon": -84.39, "country": "US"}'::jsonb,
                              'lines', lines) || extra
$$;
-- the lots a plan takes: node, line, lot, qty, expiry
CREATE FUNCTION pg_temp.lots(p jsonb)
RETURNS TABLE (node text, line text, lot text, qty int, expires_on text) LANGUAGE sql AS $$
    SELECT s->>'node_id', l->>'line_ref', t->>'lot_code', (t->>'qty')::int, t->>'expires_on'
      FROM jsonb_array_elements(p->'shipments') s,
           jsonb_array_elements(s->'lines') l,
           jsonb_array_elements(l->'lots') t
$$;
-- invariant 2 for lots too: reserved equals the active reservations, per stock row and per lot
CREATE FUNCTION pg_temp.drift() RETURNS TABLE (stock_rows_off bigint, lots_off bigint) LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM stockroute.stock s
             WHERE s.reserved <> (SELECT coalesce(sum(r.qty), 0) FROM stockroute.reservation r
                                   WHERE r.node_id = s.node_id AND r.sku = s.sku
                                     AND r.status IN ('held', 'committed'))),
           (SELECT count(*) FROM stockroute.lot l
             WHERE l.reserved <> (SELECT coalesce(sum(r.qty), 0) FROM stockroute.reservation r
                                   WHERE r.node_id = l.node_id AND r.sku = l.sku AND r.lot_code = l.lot_code
                                     AND r.status IN ('held', 'committed')))
$$;

-- A Atlanta and B Birmingham.  MILK-1 is lot-tracked; YOGURT-1 too, and its
-- item asks for 60 days of shelf life; BOLT-1 is not lot-tracked
INSERT INTO stockroute.node (node_id, name, lat, lon, country, region) VALUES
    ('A', 'Atlanta',    33.749, -84.388, 'US', 'GA'),
    ('B', 'Birmingham', 33.519, -86.810, 'US', 'AL');
INSERT INTO stockroute.item (sku, weight_kg, tags, min_shelf_days) VALUES
    ('MILK-1',   1, '{lot_tracked,perishable}', NULL),
    ('YOGURT-1', 1, '{lot_tracked}', 60),
    ('BOLT-1',   1, '{}', NULL);
INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock) VALUES
    ('A', 'MILK-1', 40, 0), ('B', 'MILK-1', 20, 0),
    ('A', 'YOGURT-1', 20, 0), ('A', 'BOLT-1', 10, 0);
INSERT INTO stockroute.lot (node_id, sku, lot_code, on_hand, expires_on, attrs) VALUES
    ('A', 'MILK-1', 'L0',  5, '2026-11-01', '{}'),                          -- expired
    ('A', 'MILK-1', 'L1',  5, '2026-12-01', '{}'),                          -- 9 days left
    ('A', 'MILK-1', 'L2', 10, '2027-01-31', '{"cert": "kosher"}'),          -- 70 days
    ('A', 'MILK-1', 'L3', 10, '2027-06-30', '{"cert": "halal", "batch": 7}'), -- 220 days
    ('A', 'MILK-1', 'L4', 10, NULL,         '{}'),                          -- no expiry
    ('B', 'MILK-1', 'M1', 20, '2026-11-25', '{}'),                          -- 3 days
    ('A', 'YOGURT-1', 'Y1', 10, '2026-12-31', '{}'),                        -- 39 days
    ('A', 'YOGURT-1', 'Y2', 10, '2027-03-01', '{}');                        -- 99 days

-- 1. FEFO: 12 units from A take L1 (5), then L2 (7); the expired L0 is skipped
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "MILK-1", "qty": 12}]')));
SELECT * FROM pg_temp.lots(stockroute.plan(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "MILK-1", "qty": 12}]')));
-- the plan's line, as it reads
SELECT jsonb_pretty(stockroute.plan(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "MILK-1", "qty": 12}]'))->'shipments'->0->'lines');
-- A's reason records the expired lot it skipped
SELECT c->>'node_id' AS node, c->>'reason' AS reason
  FROM jsonb_array_elements(stockroute.plan(pg_temp.o('SO-1', '[{"line_ref": "1", "sku": "MILK-1", "qty": 12}]'))->'explain'->'candidates') c;
-- all 35 free units of A: the lot without expiry comes last
SELECT * FROM pg_temp.lots(stockroute.plan(pg_temp.o('SO-2', '[{"line_ref": "1", "sku": "MILK-1", "qty": 35}]',
        '{"options": {"max_shipments": 1}}')));

-- 2. shelf life: the line asks for 30 days: L1 (9 days) and B's M1 (3) are
-- skipped; B has nothing left to offer
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-3', '[{"line_ref": "1", "sku": "MILK-1", "qty": 12, "min_shelf_days": 30}]')));
-- the customer asks for 100 days: only L3 and the lot without expiry
SELECT * FROM pg_temp.lots(stockroute.plan(pg_temp.o('SO-4', '[{"line_ref": "1", "sku": "MILK-1", "qty": 12}]',
        '{"customer": {"id": "C-7", "min_shelf_days": 100}}')));
-- the strictest of line, customer and item applies: YOGURT-1's item asks for
-- 60 days, so Y1 (39 days) is skipped even for a line asking for 10
SELECT * FROM pg_temp.lots(stockroute.plan(pg_temp.o('SO-5', '[{"line_ref": "1", "sku": "YOGURT-1", "qty": 5, "min_shelf_days": 10}]')));
SELECT p->>'status' AS status, p->'unfilled' AS unfilled
  FROM stockroute.plan(pg_temp.o('SO-6', '[{"line_ref": "1", "sku": "YOGURT-1", "qty": 15}]')) p;
-- exactly the required days is enough: L2 has 70 days left
SELECT * FROM pg_temp.lots(stockroute.plan(pg_temp.o('SO-7', '[{"line_ref": "1", "sku": "MILK-1", "qty": 3, "min_shelf_days": 70}]')));
SELECT * FROM pg_temp.lots(stockroute.plan(pg_temp.o('SO-7', '[{"line_ref": "1", "sku": "MILK-1", "qty": 3, "min_shelf_days": 71}]')));

-- 3. lot attributes: halal only from L3; kosher and halal from no lot at all
SELECT * FROM pg_temp.lots(stockroute.plan(pg_temp.o('SO-8', '[{"line_ref": "1", "sku": "MILK-1", "qty": 4, "lot_attrs": {"cert": "halal"}}]')));
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-9', '[{"line_ref": "1", "sku": "MILK-1", "qty": 4, "lot_attrs": {"cert": "halal", "batch": 8}}]')));
-- an empty lot_attrs asks for nothing
SELECT * FROM pg_temp.lots(stockroute.plan(pg_temp.o('SO-10', '[{"line_ref": "1", "sku": "MILK-1", "qty": 2, "lot_attrs": {}}]')));

-- 4. two lines of one SKU, different requirements: the halal line takes L3
-- first (the strictest chooses first), the other FEFO from the rest; 10
-- halal units exist, so 2 of line 1 are unfilled and no unit is given twice
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-11',
        '[{"line_ref": "1", "sku": "MILK-1", "qty": 12, "lot_attrs": {"cert": "halal"}},
          {"line_ref": "2", "sku": "MILK-1", "qty": 12}]')));
-- two lines with the same requirement are one demand, filled in line order
SELECT * FROM pg_temp.lots(stockroute.plan(pg_temp.o('SO-12',
        '[{"line_ref": "a", "sku": "MILK-1", "qty": 3}, {"line_ref": "b", "sku": "MILK-1", "qty": 4}]')));

-- 4b. available() promises what plan() could ship.  A counts 35 of its 40
-- units (the expired L0 is out); a customer asking for 100 days gets L3 and
-- L4 at A only, and B, whose one lot has 3 days left, is not routable, with
-- the reason; BOLT-1 (no lots) is its stock row's available as before
SELECT a.who, n->>'node_id' AS node, n->>'routable' AS routable,
       (n->>'available')::int AS available, n->>'excluded' AS excluded
  FROM (VALUES ('anyone', stockroute.available('MILK-1')),
               ('C-7 (100 days)', stockroute.available('MILK-1', NULL, '{"id": "C-7", "min_shelf_days": 100}')),
               ('anyone, BOLT-1', stockroute.available('BOLT-1'))) a(who, v),
       jsonb_array_elements(a.v->'nodes') n;
SELECT (stockroute.available('MILK-1')->>'available')::int AS network_anyone,
       (stockroute.available('MILK-1', NULL, '{"id": "C-7", "min_shelf_days": 100}')->>'available')::int AS network_c7;

-- 5. the stock row caps the lots: safety stock 30 leaves A 10 available of
-- the 30 free units of its lots with 30 days left (B has none): 10 ship, 2 wait
UPDATE stockroute.stock SET safety_stock = 30 WHERE node_id = 'A' AND sku = 'MILK-1';
SELECT pg_temp.ex(stockroute.plan(pg_temp.o('SO-13', '[{"line_ref": "1", "sku": "MILK-1", "qty": 12, "min_shelf_days": 30}]')));
UPDATE stockroute.stock SET safety_stock = 0 WHERE node_id = 'A' AND sku = 'MILK-1';

-- 6. bad requirements, one per line
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-14', '[{"line_ref": "1", "sku": "BOLT-1", "qty": 1, "lot_attrs": {"cert": "halal"}}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-14', '[{"line_ref": "1", "sku": "BOLT-1", "qty": 1, "min_shelf_days": 5}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-14', '[{"line_ref": "1", "sku": "MILK-1", "qty": 1, "min_shelf_days": -1}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-14', '[{"line_ref": "1", "sku": "MILK-1", "qty": 1, "min_shelf_days": 2.5}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-14', '[{"line_ref": "1", "sku": "MILK-1", "qty": 1, "min_shelf_days": "30"}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-14', '[{"line_ref": "1", "sku": "MILK-1", "qty": 1, "lot_attrs": ["halal"]}]'))$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-14', '[{"line_ref": "1", "sku": "MILK-1", "qty": 1}]',
        '{"customer": {"min_shelf_days": 40000}}'))$$);
-- a customer shelf life is no error for a SKU without lots: it has no expiry
SELECT stockroute.plan(pg_temp.o('SO-15', '[{"line_ref": "1", "sku": "BOLT-1", "qty": 1}]',
        '{"customer": {"min_shelf_days": 30}}'))->>'status' AS status;

-- 7. allocate() reserves per lot
SELECT r->>'node_id' AS node, r->>'line_ref' AS line, r->>'lot_code' AS lot, r->>'qty' AS qty,
       r->>'idempotency_key' AS key
  FROM jsonb_array_elements(stockroute.allocate(pg_temp.o('SO-16',
        '[{"line_ref": "1", "sku": "MILK-1", "qty": 12}, {"line_ref": "2", "sku": "MILK-1", "qty": 3, "lot_attrs": {"cert": "halal"}}]'))->'reservations') r;
SELECT node_id, sku, lot_code, on_hand, reserved FROM stockroute.lot ORDER BY node_id, sku, lot_code;
SELECT node_id, sku, on_hand, reserved, available FROM stockroute.stock ORDER BY node_id, sku;
SELECT * FROM pg_temp.drift();
-- the next order sees the lots as they now are: L1 is gone, L2 has 3 left
SELECT * FROM pg_temp.lots(stockroute.plan(pg_temp.o('SO-17', '[{"line_ref": "1", "sku": "MILK-1", "qty": 5}]')));
SELECT r->>'lot_code' AS lot, r->>'qty' AS qty
  FROM jsonb_array_elements(stockroute.allocate(pg_temp.o('SO-17', '[{"line_ref": "1", "sku": "MILK-1", "qty": 5}]'))->'reservations') r;
SELECT * FROM pg_temp.drift();
-- allocate() is idempotent per order_ref: the same reservations, nothing more
SELECT jsonb_array_length(stockroute.allocate(pg_temp.o('SO-17', '[{"line_ref": "1", "sku": "MILK-1", "qty": 5}]'))->'reservations') AS reservations,
       (SELECT sum(reserved) FROM stockroute.lot) AS lot_reserved;
-- commit and release keep both in step; release returns the units
SELECT stockroute.commit('SO-16')->>'committed' AS committed;
SELECT stockroute.release('SO-16')->>'released' AS released;
SELECT stockroute.release('SO-17')->>'released' AS released;
SELECT node_id, lot_code, on_hand, reserved FROM stockroute.lot ORDER BY node_id, sku, lot_code;
SELECT node_id, sku, reserved, available FROM stockroute.stock ORDER BY node_id, sku;
SELECT * FROM pg_temp.drift();
