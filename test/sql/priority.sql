-- priority: an order's priority (its "priority" key, else its customer
-- segment's segment_priority, else 0) goes on its backorders, and
-- reconcile() serves backorders highest priority first, then oldest.  With
-- stockroute.priority_preemption off (the default) a short high-priority
-- order is backordered and every hold stays.  On, allocate() takes the units
-- it needs from unexpired holds of lower-priority orders — lowest priority
-- first, newest first within a priority, only what it needs (a hold may be
-- cut, not released), only on nodes it can ship from — and never from
-- committed holds, holds of equal or higher priority or holds on draining
-- nodes (a lapsed hold is no hold: any order takes its units as free ones and
-- expires it); the orders that lose units are backordered with their
-- original order document, priority and age, and the plan ("preempted"), the
-- outbox (release and backorder, reason preempted) and the decision log say
-- so.  Invariant 2 holds throughout.  A bad "priority" is refused by plan()
-- and allocate() with 22023, and nothing changes; so are preempt_take()'s
-- arrays of different lengths.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql
SET TimeZone = 'UTC';
SET stockroute.now = '2026-11-22 10:00-05';

INSERT INTO stockroute.node (node_id, name, lat, lon, country) VALUES
    ('A', 'Atlanta', 33.75, -84.39, 'US'), ('B', 'Birmingham', 33.52, -86.81, 'US'),
    ('D', 'Denver', 39.74, -104.99, 'US');
INSERT INTO stockroute.item (sku) VALUES ('V'), ('X');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES
    ('A', 'V', 6), ('B', 'V', 2), ('D', 'V', 5), ('A', 'X', 0);
INSERT INTO stockroute.segment_priority (segment, priority, description) VALUES
    ('guest', -5, 'anonymous checkout'), ('tier1', 10, 'contract customers');

CREATE FUNCTION pg_temp.o(ref text, sku text, qty int, extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('order_ref', ref, 'ship_to', '{"lat": 33.75, "lon": -84.39, "country": "US"}'::jsonb,
                              'lines', jsonb_build_array(jsonb_build_object('line_ref', '1', 'sku', sku, 'qty', qty)))
           || extra
$$;
CREATE FUNCTION pg_temp.alloc(ref text, sku text, qty int, extra jsonb DEFAULT '{}')
RETURNS TABLE (status text, ships text, unfilled bigint, preempted text) LANGUAGE sql AS $$
    SELECT a->>'status',
           (SELECT string_agg((s->>'node_id') || ':' || (s->'lines'->0->>'qty'), ' ' ORDER BY s->>'node_id')
              FROM jsonb_array_elements(a->'shipments') s),
           (SELECT coalesce(sum((u->>'qty')::bigint), 0) FROM jsonb_array_elements(a->'unfilled') u),
           (SELECT string_agg(format('%s/%s@%s x%s (p%s)', p->>'order_ref', p->>'line_ref', p->>'node_id',
                                     p->>'qty', p->>'priority'), ', ' ORDER BY p->>'order_ref')
              FROM jsonb_array_elements(a->'preempted') p)
      FROM stockroute.allocate(pg_temp.o(ref, sku, qty, extra)) a
$$;
CREATE VIEW pg_temp.res AS
SELECT order_ref, node_id, sku, qty, status, stockroute.hold_priority(order_ref) AS priority
  FROM stockroute.reservation WHERE sku = 'V' ORDER BY order_ref, node_id, status;
CREATE VIEW pg_temp.bo AS
SELECT order_ref, sku, qty, priority, status, order_doc->'customer' AS customer
  FROM stockroute.backorder ORDER BY priority DESC, created_at, backorder_id;
CREATE VIEW pg_temp.stock_v AS
SELECT node_id, on_hand, reserved, available FROM stockroute.stock WHERE sku = 'V' ORDER BY node_id;

-- 1. an order's priority: its key, else its segment's, else 0
SELECT stockroute.order_priority('{"priority": 7}') AS key,
       stockroute.order_priority('{"customer": {"segment": "tier1"}}') AS segment,
       stockroute.order_priority('{"priority": -2, "customer": {"segment": "tier1"}}') AS key_wins,
       stockroute.order_priority('{"customer": {"segment": "nobody"}}') AS unknown_segment,
       stockroute.order_priority('{}') AS none,
       stockroute.hold_priority('NO-ORDER') AS no_decision;

-- 2. backorders carry it; reconcile() serves the highest priority first, then
-- the oldest.  X1 (0), X2 (5), X3 (0) each wait for 2 units of X
SELECT status, unfilled FROM pg_temp.alloc('X1', 'X', 2);
SELECT status, unfilled FROM pg_temp.alloc('X2', 'X', 2, '{"priority": 5}');
SELECT status, unfilled FROM pg_temp.alloc('X3', 'X', 2);
-- 3 units arrive (no supply named: reconcile places them)
UPDATE stockroute.stock SET on_hand = 3 WHERE node_id = 'A' AND sku = 'X';
SELECT stockroute.reconcile() -> 'backorder_units_placed' AS placed;
SELECT order_ref, qty, priority, status FROM stockroute.backorder WHERE sku = 'X' ORDER BY order_ref, status;

-- 3. holds on V: at A L0 (no segment, 1), L1 (guest, 3), L4 (no segment,
-- 1, newest), LX (guest, 1, lapsed); at B L2 (committed); at D LD (guest,
-- then D drains)
SELECT status, ships FROM pg_temp.alloc('L0', 'V', 1);
SELECT status, ships FROM pg_temp.alloc('L1', 'V', 3, '{"customer": {"segment": "guest"}}');
SELECT status, ships FROM pg_temp.alloc('L4', 'V', 1);
SELECT status, ships FROM pg_temp.alloc('LX', 'V', 1, '{"customer": {"segment": "guest"}}');
UPDATE stockroute.reservation SET expires_at = now() - interval '1 minute' WHERE order_ref = 'LX';
SELECT status, ships FROM pg_temp.alloc('L2', 'V', 2);
SELECT stockroute.commit('L2') ->> 'committed' AS committed;
SELECT stockroute.reserve('LD', '1', 'V', 'D', 2) ->> 'status' AS held;
INSERT INTO stockroute.decision (order_ref, kind, input, output)
VALUES ('LD', 'allocate', '{"order_ref": "LD", "customer": {"segment": "guest"}}', '{}');
UPDATE stockroute.node SET status = 'draining' WHERE node_id = 'D';
SELECT * FROM pg_temp.res;
SELECT * FROM pg_temp.stock_v;

-- 4. preemption off (the default): a tier1 order takes what is free, LX's
-- unit included (a lapsed hold blocks nothing; LX is expired on the way),
-- and waits for the rest
SHOW stockroute.priority_preemption;
SELECT * FROM pg_temp.alloc('H1', 'V', 2, '{"customer": {"segment": "tier1"}}');
SELECT * FROM pg_temp.res;

-- 5. preemption on
SET stockroute.priority_preemption = on;
-- H2 (tier1) needs 2: the lowest priority goes first, and only what is
-- needed: L1 (guest) keeps 1 of its 3
SELECT * FROM pg_temp.alloc('H2', 'V', 2, '{"customer": {"segment": "tier1"}}');
SELECT * FROM pg_temp.res;
-- H3 (tier1) needs 2: L1's last unit, then the newest of priority 0 (L4), not L0
SELECT * FROM pg_temp.alloc('H3', 'V', 2, '{"customer": {"segment": "tier1"}}');
SELECT * FROM pg_temp.res;
-- M1 (priority 0) finds nothing below it: not L0 (equal), not LX (expired),
-- not LD (draining D cannot ship), not H2/H3 (higher)
SELECT * FROM pg_temp.alloc('M1', 'V', 1, '{"priority": 0}');
-- H4 (tier1) after L0 is committed: committed units are never taken
SELECT stockroute.commit('L0') ->> 'committed' AS committed;
SELECT * FROM pg_temp.alloc('H4', 'V', 1, '{"customer": {"segment": "tier1"}}');
SELECT * FROM pg_temp.res;
SELECT * FROM pg_temp.stock_v;

-- the losers are backordered with their own order, priority and age: L4
-- before M1 (its order is older), L1 (guest) last
SELECT * FROM pg_temp.bo WHERE sku = 'V';
SELECT order_ref, order_doc = (SELECT d.input FROM stockroute.decision d
                                WHERE d.order_ref = b.order_ref AND d.kind = 'allocate') AS original_doc,
       created_at = (SELECT min(d.created_at) FROM stockroute.decision d WHERE d.order_ref = b.order_ref) AS order_age
  FROM stockroute.backorder b WHERE b.order_ref IN ('L1', 'L4') ORDER BY 1;
-- the outbox tells them, and the decision log records each piece
SELECT topic, order_ref, node_id, payload - 'backorder_id' AS payload FROM stockroute.outbox
 WHERE payload->>'reason' = 'preempted' ORDER BY created_at, topic;
SELECT order_ref, input->>'by_order_ref' AS by, input->>'qty' AS qty, output->>'backordered' AS backordered
  FROM stockroute.decision WHERE kind = 'reroute' AND input->>'reason' = 'preempted' ORDER BY created_at, order_ref;
-- a second allocate() of H2 returns its first result, preempted pieces and all
SELECT preempted FROM pg_temp.alloc('H2', 'V', 2, '{"customer": {"segment": "tier1"}}');

-- invariant 2 after all of it
SELECT s.node_id, s.sku, s.reserved, coalesce(sum(r.qty), 0) AS active
  FROM stockroute.stock s
  LEFT JOIN stockroute.reservation r
         ON r.node_id = s.node_id AND r.sku = s.sku AND r.status IN ('held', 'committed')
 GROUP BY s.node_id, s.sku, s.reserved
HAVING s.reserved <> coalesce(sum(r.qty), 0);

-- 6. a bad priority is refused before anything is planned or written
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('E1', 'V', 1, '{"priority": "high"}'))$$);
SELECT pg_temp.err($$SELECT stockroute.allocate(pg_temp.o('E1', 'V', 1, '{"priority": 1.5}'))$$);
SELECT pg_temp.err($$SELECT stockroute.allocate(pg_temp.o('E1', 'V', 1, '{"priority": 2147483648}'))$$);
SELECT pg_temp.err($$SELECT stockroute.allocate(pg_temp.o('E1', 'V', 1, '{"priority": [1]}'))$$);
SELECT pg_temp.err($$SELECT stockroute.allocate(pg_temp.o('E1', 'V', 1, '{"priority": true}'))$$);
SELECT count(*) AS decisions FROM stockroute.decision WHERE order_ref = 'E1';
-- null is no priority
SELECT status FROM pg_temp.alloc('E2', 'V', 1, '{"priority": null}');

-- preempt_take(), allocate()'s taking of holds: arrays of different lengths
-- fail with 22023 and take nothing
SELECT count(*) AS held_before FROM stockroute.reservation WHERE status = 'held' \gset
SELECT pg_temp.err($$SELECT stockroute.preempt_take('E3', 10, ARRAY['A'], ARRAY['V', 'V'], ARRAY[1]::bigint[])$$);
SELECT pg_temp.err($$SELECT stockroute.preempt_take('E3', 10, ARRAY['A'], ARRAY['V'], ARRAY[]::bigint[])$$);
SELECT count(*) = :held_before AS nothing_taken FROM stockroute.reservation WHERE status = 'held';
