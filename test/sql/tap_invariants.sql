-- tap_invariants: invariants 1-3 under a long pseudo-random mix of reserve,
-- commit, release, fulfill, stock receipts and direct DML: after every
-- step stock.reserved equals the active reservations (no drift), no hold is
-- ever created beyond available (no oversell), and every illegal move is
-- refused with its SQLSTATE.  Runs under pg_regress and pg_prove.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
BEGIN;
SELECT plan(17);

INSERT INTO stockroute.node (node_id) SELECT 'N' || i FROM generate_series(1, 4) i;
INSERT INTO stockroute.item (sku) SELECT 'S' || i FROM generate_series(1, 5) i;
INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock)
SELECT 'N' || n, 'S' || s, (n * 7 + s * 3) % 11 + 2, (n + s) % 2
  FROM generate_series(1, 4) n, generate_series(1, 5) s;

CREATE TEMP TABLE drift_log (step int, drift bigint, oversold bigint);

-- 600 pseudo-random operations (fixed seed); each one either succeeds or is
-- refused, and the invariants are checked after every one
DO $$
DECLARE
    i int;
    op float8;
    o text;
    n text;
    s text;
    q bigint;
BEGIN
    PERFORM setseed(0.4242);
    FOR i IN 1 .. 600 LOOP
        op := random();
        o := 'SO-' || (1 + floor(random() * 60))::int;
        n := 'N' || (1 + floor(random() * 4))::int;
        s := 'S' || (1 + floor(random() * 5))::int;
        q := 1 + floor(random() * 4)::int;
        BEGIN
            IF op < 0.45 THEN
                PERFORM stockroute.reserve(o, s, s, n, q);
            ELSIF op < 0.60 THEN
                PERFORM stockroute.commit(o);
            ELSIF op < 0.72 THEN
                PERFORM stockroute.release(o);
            ELSIF op < 0.82 THEN
                PERFORM stockroute.fulfill(o);
            ELSIF op < 0.90 THEN
                UPDATE stockroute.stock SET on_hand = on_hand + q WHERE node_id = n AND sku = s;
            ELSIF op < 0.95 THEN
                UPDATE stockroute.reservation SET qty = qty + 1
                 WHERE order_ref = o AND status = 'held';
            ELSE
                UPDATE stockroute.reservation SET status = 'expired'
                 WHERE order_ref = o AND status = 'held';
            END IF;
        EXCEPTION WHEN sqlstate 'SR001' OR sqlstate 'SR004' OR sqlstate 'SR006' OR sqlstate 'SR008' THEN
            NULL;   -- refused: nothing changed
        END;
        INSERT INTO drift_log
        SELECT i,
               (SELECT count(*) FROM stockroute.stock st
                 WHERE st.reserved <> coalesce((SELECT sum(r.qty) FROM stockroute.reservation r
                                                 WHERE r.node_id = st.node_id AND r.sku = st.sku
                                                   AND r.status IN ('held', 'committed')), 0)),
               (SELECT count(*) FROM stockroute.stock st
                 WHERE st.on_hand - st.reserved - st.safety_stock < 0);
    END LOOP;
END $$;

SELECT is((SELECT count(*) FROM drift_log), 600::bigint, '600 operations ran');
SELECT is((SELECT max(drift) FROM drift_log), 0::bigint, 'invariant 2: no drift after any step');
SELECT is((SELECT max(oversold) FROM drift_log), 0::bigint, 'invariant 1: never oversold (no shrinkage in the mix)');
SELECT cmp_ok((SELECT count(*) FROM stockroute.reservation WHERE status = 'fulfilled'), '>', 0::bigint,
              'the mix fulfilled some orders');
SELECT cmp_ok((SELECT count(*) FROM stockroute.reservation WHERE status = 'released'), '>', 0::bigint,
              'the mix released some orders');
SELECT cmp_ok((SELECT count(*) FROM stockroute.reservation WHERE status IN ('held', 'committed')), '>', 0::bigint,
              'some reservations are still active');

-- invariant 3: only the arrows
SELECT throws_ok($$UPDATE stockroute.reservation SET status = 'held' WHERE status = 'fulfilled'$$,
                 'SR004', NULL, 'fulfilled -> held refused');
SELECT throws_ok($$UPDATE stockroute.reservation SET status = 'committed' WHERE status = 'released'$$,
                 'SR004', NULL, 'released -> committed refused');
SELECT throws_ok($$UPDATE stockroute.reservation SET status = 'expired' WHERE status = 'committed'$$,
                 'SR004', NULL, 'committed -> expired refused');
SELECT throws_ok($$DELETE FROM stockroute.reservation WHERE status = 'held'$$,
                 'SR004', NULL, 'deleting an active reservation refused');
SELECT throws_ok($$UPDATE stockroute.stock SET reserved = reserved + 1$$,
                 'SR005', NULL, 'stock.reserved cannot be written directly');

-- invariant 1 at the edge: exactly the available units can be held, one more cannot
SELECT lives_ok($$SELECT stockroute.reserve('EDGE', '1', 'S1', 'N1', available)
                    FROM stockroute.stock WHERE node_id = 'N1' AND sku = 'S1' AND available > 0$$,
                'all available units can be held');
SELECT throws_ok($$SELECT stockroute.reserve('EDGE', '2', 'S1', 'N1', 1)$$,
                 'SR001', 'insufficient stock for sku "S1" at node "N1"', 'one more unit is refused');

-- invariant 4: physical truth applies even below reserved, and the next hold is refused
UPDATE stockroute.stock SET on_hand = 0 WHERE node_id = 'N1' AND sku = 'S1';
SELECT is((SELECT available FROM stockroute.stock WHERE node_id = 'N1' AND sku = 'S1'), 0::bigint,
          'available never goes below zero');
SELECT throws_ok($$SELECT stockroute.reserve('EDGE', '3', 'S1', 'N1', 1)$$, 'SR001', NULL,
                 'no hold during a shortfall');
SELECT lives_ok($$SELECT stockroute.release('EDGE')$$, 'a shortfall can be released');
SELECT is((SELECT count(*) FROM stockroute.stock st
            WHERE st.reserved <> coalesce((SELECT sum(r.qty) FROM stockroute.reservation r
                                            WHERE r.node_id = st.node_id AND r.sku = st.sku
                                              AND r.status IN ('held', 'committed')), 0)),
          0::bigint, 'still no drift at the end');

SELECT * FROM finish();
ROLLBACK;
