-- reservation: reserve/commit/release/fulfill, every legal and illegal status
-- move, TTLs, idempotency keys, lots, and every bad input with its SQLSTATE;
-- after each block of errors, proof that nothing changed; at the end,
-- invariant 2 (stock.reserved = sum of active reservations).  Direct writes
-- meet the same rules: a reservation is born held (a row inserted fulfilled,
-- committed, released or expired is refused, SR004), a NULL status is an
-- error and not a crash, identity columns stay, qty stays positive, new units
-- need an active node (SR009); only a superuser restoring a dump
-- (stockroute.restoring) brings rows back in their dumped status.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql

INSERT INTO stockroute.node (node_id, name, status) VALUES
    ('A', 'Atlanta', 'active'), ('B', 'Birmingham', 'active'),
    ('D', 'Denver', 'draining'), ('O', 'Omaha', 'offline');
INSERT INTO stockroute.item (sku, weight_kg, hold_ttl) VALUES
    ('VALVE-9', 2.5, NULL), ('PUMP-1', 12, '2 hours'), ('RESIN-5', 20, NULL);
INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock) VALUES
    ('A', 'VALVE-9', 8, 0), ('B', 'VALVE-9', 12, 2), ('A', 'PUMP-1', 3, 0),
    ('D', 'VALVE-9', 5, 0), ('O', 'VALVE-9', 5, 0), ('A', 'RESIN-5', 10, 0);
INSERT INTO stockroute.lot (node_id, sku, lot_code, on_hand, expires_on) VALUES
    ('A', 'RESIN-5', 'L1', 4, '2027-01-31'), ('A', 'RESIN-5', 'L2', 6, '2027-06-30');

-- reserved given on INSERT is ignored: a new stock row has no reservations
INSERT INTO stockroute.stock (node_id, sku, on_hand, reserved) VALUES ('B', 'PUMP-1', 4, 99);
SELECT node_id, sku, on_hand, reserved, available FROM stockroute.stock ORDER BY node_id, sku;

-- a hold: the reply is the reservation row
SELECT r->>'order_ref' AS order_ref, r->>'line_ref' AS line_ref, r->>'sku' AS sku,
       r->>'node_id' AS node_id, r->>'qty' AS qty, r->>'status' AS status,
       r->'idempotent_replay' AS replay,
       (r->>'expires_at')::timestamptz - now() AS ttl
  FROM stockroute.reserve('SO-1', '1', 'VALVE-9', 'A', 5, idempotency_key => 'so1-1-a') AS r;
SELECT node_id, on_hand, reserved, available FROM stockroute.stock WHERE sku = 'VALVE-9' ORDER BY node_id;

-- the same call again, same key: the first result, nothing changed
SELECT r->>'qty' AS qty, r->'idempotent_replay' AS replay
  FROM stockroute.reserve('SO-1', '1', 'VALVE-9', 'A', 5, idempotency_key => 'so1-1-a') AS r;
-- the reply carries every column of the reservation row, rendered as to_jsonb() renders it
SELECT (r - 'idempotent_replay') = to_jsonb(x) AS reply_is_the_row, r->'idempotent_replay' AS replay
  FROM stockroute.reserve('SO-1', '1', 'VALVE-9', 'A', 5, idempotency_key => 'so1-1-a') AS r
  JOIN stockroute.reservation x ON x.sku = r->>'sku' AND x.reservation_id = (r->>'reservation_id')::uuid;
SELECT count(*) AS reservations, sum(qty) AS units FROM stockroute.reservation;
SELECT reserved FROM stockroute.stock WHERE node_id = 'A' AND sku = 'VALVE-9';

-- TTL: the call's ttl, else the SKU's hold_ttl, else stockroute.default_hold_ttl
SELECT (r->>'expires_at')::timestamptz - now() AS ttl
  FROM stockroute.reserve('SO-1', '2', 'VALVE-9', 'B', 3, ttl => '45 minutes') AS r;
SELECT (r->>'expires_at')::timestamptz - now() AS ttl, r AS reply
  FROM stockroute.reserve('SO-1', '3', 'PUMP-1', 'A', 1) AS r \gset
SELECT :'ttl' AS ttl;
-- a new hold's reply is its row too, rendered as to_jsonb() renders it
SELECT (:'reply'::jsonb - 'idempotent_replay') = to_jsonb(x) AS reply_is_the_row,
       :'reply'::jsonb->'idempotent_replay' AS replay
  FROM stockroute.reservation x
 WHERE x.sku = 'PUMP-1' AND x.reservation_id = (:'reply'::jsonb->>'reservation_id')::uuid;
SET stockroute.default_hold_ttl = '5min';
SELECT (r->>'expires_at')::timestamptz - now() AS ttl
  FROM stockroute.reserve('SO-2', '1', 'VALVE-9', 'B', 2) AS r;
RESET stockroute.default_hold_ttl;
SHOW stockroute.default_hold_ttl;

-- bad input: one per line, SQLSTATE and message naming the field
SELECT pg_temp.err($$SELECT stockroute.reserve(NULL, '1', 'VALVE-9', 'A', 1)$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', NULL, 'VALVE-9', 'A', 1)$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', NULL, 'A', 1)$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'VALVE-9', NULL, 1)$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'VALVE-9', 'A', NULL)$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('', '1', 'VALVE-9', 'A', 1)$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'VALVE-9', 'A', 0)$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'VALVE-9', 'A', -3)$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'VALVE-9', 'A', 1, ttl => '0 seconds')$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'VALVE-9', 'A', 1, ttl => '-1 hour')$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'VALVE-9', 'A', 1, idempotency_key => '')$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'NO-SUCH-SKU', 'A', 1)$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'VALVE-9', 'NOWHERE', 1)$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'VALVE-9', 'D', 1)$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'VALVE-9', 'O', 1)$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'PUMP-1', 'B', 5)$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'RESIN-5', 'B', 1)$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'VALVE-9', 'A', 4)$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'VALVE-9', 'B', 6)$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-1', '9', 'VALVE-9', 'A', 5, idempotency_key => 'so1-1-a')$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-1', '1', 'VALVE-9', 'A', 4, idempotency_key => 'so1-1-a')$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'RESIN-5', 'A', 1, lot_code => 'L9')$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'RESIN-5', 'A', 5, lot_code => 'L1')$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'VALVE-9', 'A', 9223372036854775807)$$);
-- ... and nothing changed
SELECT node_id, sku, on_hand, reserved, available FROM stockroute.stock ORDER BY node_id, sku;
SELECT count(*) AS reservations FROM stockroute.reservation WHERE order_ref = 'SO-9';

-- lots: a lot reservation holds both the lot and its stock row
SELECT r->>'lot_code' AS lot_code, r->>'qty' AS qty
  FROM stockroute.reserve('SO-3', '1', 'RESIN-5', 'A', 4, lot_code => 'L1') AS r;
SELECT lot_code, on_hand, reserved FROM stockroute.lot ORDER BY lot_code;
SELECT on_hand, reserved, available FROM stockroute.stock WHERE node_id = 'A' AND sku = 'RESIN-5';
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-3', '2', 'RESIN-5', 'A', 1, lot_code => 'L1')$$);

-- commit: held -> committed, stock unchanged
SELECT c->'committed' AS committed, jsonb_array_length(c->'reservations') AS reservations
  FROM stockroute.commit('SO-1') AS c;
SELECT line_ref, node_id, qty, status, committed_at IS NOT NULL AS has_committed_at
  FROM stockroute.reservation WHERE order_ref = 'SO-1' ORDER BY line_ref;
SELECT node_id, sku, on_hand, reserved FROM stockroute.stock ORDER BY node_id, sku;
-- committing again is harmless
SELECT c->'committed' AS committed FROM stockroute.commit('SO-1') AS c;

-- fulfill: committed -> fulfilled consumes reserved and on_hand together
SELECT stockroute.fulfill('SO-1', line_ref => '1');
SELECT node_id, sku, on_hand, reserved, available FROM stockroute.stock
 WHERE sku = 'VALVE-9' AND node_id = 'A';
SELECT stockroute.fulfill('SO-1');
SELECT stockroute.fulfill('SO-1');
SELECT line_ref, status, closed_at IS NOT NULL AS closed FROM stockroute.reservation
 WHERE order_ref = 'SO-1' ORDER BY line_ref;

-- release: held and committed become released, units available again
SELECT stockroute.commit('SO-3') ->> 'committed' AS committed;
SELECT stockroute.release('SO-3');
SELECT lot_code, on_hand, reserved FROM stockroute.lot ORDER BY lot_code;
SELECT stockroute.release('SO-2');
SELECT stockroute.release('SO-2');
SELECT node_id, sku, on_hand, reserved, available FROM stockroute.stock ORDER BY node_id, sku;

-- lifecycle errors
SELECT pg_temp.err($$SELECT stockroute.commit(NULL)$$);
SELECT pg_temp.err($$SELECT stockroute.commit('SO-404')$$);
SELECT pg_temp.err($$SELECT stockroute.commit('SO-2')$$);
SELECT pg_temp.err($$SELECT stockroute.release(NULL)$$);
SELECT pg_temp.err($$SELECT stockroute.release('SO-404')$$);
SELECT pg_temp.err($$SELECT stockroute.release('SO-1', '404')$$);
SELECT pg_temp.err($$SELECT stockroute.fulfill(NULL)$$);
SELECT pg_temp.err($$SELECT stockroute.fulfill('SO-404')$$);
SELECT pg_temp.err($$SELECT stockroute.fulfill('SO-1', node_id => 'B', line_ref => '3')$$);
SELECT stockroute.reserve('SO-4', '1', 'VALVE-9', 'B', 2) ->> 'status' AS status;
SELECT pg_temp.err($$SELECT stockroute.fulfill('SO-4')$$);

-- a hold past its expiry cannot be committed (reconcile() will expire it)
INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty, expires_at)
VALUES ('SO-5', '1', 'VALVE-9', 'B', 1, now() - interval '1 second');
SELECT pg_temp.err($$SELECT stockroute.commit('SO-5')$$);
SELECT status FROM stockroute.reservation WHERE order_ref = 'SO-5';

-- status moves only along the arrows, whatever the path
SELECT pg_temp.err($$UPDATE stockroute.reservation SET status = 'held' WHERE order_ref = 'SO-1'$$);
SELECT pg_temp.err($$UPDATE stockroute.reservation SET status = 'committed' WHERE order_ref = 'SO-2'$$);
SELECT pg_temp.err($$UPDATE stockroute.reservation SET status = 'expired' WHERE order_ref = 'SO-1' AND line_ref = '1'$$);
SELECT pg_temp.err($$UPDATE stockroute.reservation SET status = 'fulfilled' WHERE order_ref = 'SO-4'$$);
SELECT pg_temp.err($$UPDATE stockroute.reservation SET status = 'shipped' WHERE order_ref = 'SO-4'$$);
SELECT pg_temp.err($$UPDATE stockroute.reservation SET node_id = 'A' WHERE order_ref = 'SO-4'$$);
SELECT pg_temp.err($$UPDATE stockroute.reservation SET sku = 'PUMP-1' WHERE order_ref = 'SO-4'$$);
SELECT pg_temp.err($$UPDATE stockroute.reservation SET qty = 50 WHERE order_ref = 'SO-4'$$);
SELECT pg_temp.err($$UPDATE stockroute.reservation SET qty = 1 WHERE order_ref = 'SO-1' AND line_ref = '1'$$);
SELECT pg_temp.err($$DELETE FROM stockroute.reservation WHERE order_ref = 'SO-4'$$);
SELECT pg_temp.err($$UPDATE stockroute.stock SET reserved = 0$$);
SELECT pg_temp.err($$UPDATE stockroute.lot SET reserved = 1$$);
SELECT pg_temp.err($$TRUNCATE stockroute.reservation$$);
SELECT pg_temp.err($$INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty) VALUES ('SO-6', '1', 'VALVE-9', 'B', 100)$$);
SELECT pg_temp.err($$INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty) VALUES ('SO-6', '1', 'VALVE-9', 'NOWHERE', 1)$$);
-- a reservation is born held: inserted in any other status it would record a
-- promise or a shipment that never went through the checks (50 units
-- "fulfilled" at a node holding 12 moved nothing)
SELECT pg_temp.err($$INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty, status) VALUES ('SO-P', '1', 'VALVE-9', 'B', 50, 'fulfilled')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty, status) VALUES ('SO-P', '1', 'VALVE-9', 'B', 1, 'committed')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty, status) VALUES ('SO-P', '1', 'VALVE-9', 'B', 1, 'released')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty, status, expires_at) VALUES ('SO-P', '1', 'VALVE-9', 'B', 1, 'expired', now())$$);
SELECT pg_temp.err($$INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty, status) VALUES ('SO-P', '1', 'VALVE-9', 'B', 1, NULL)$$);
SELECT pg_temp.err($$UPDATE stockroute.reservation SET status = NULL WHERE order_ref = 'SO-4'$$);
SELECT pg_temp.err($$INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty) VALUES ('SO-P', '1', 'VALVE-9', 'B', 0)$$);
SELECT pg_temp.err($$INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty) VALUES ('SO-P', '1', 'VALVE-9', 'B', -5)$$);
SELECT pg_temp.err($$UPDATE stockroute.reservation SET qty = 0 WHERE order_ref = 'SO-4'$$);
SELECT pg_temp.err($$UPDATE stockroute.reservation SET order_ref = 'SO-X' WHERE order_ref = 'SO-4'$$);
SELECT pg_temp.err($$UPDATE stockroute.reservation SET line_ref = '9' WHERE order_ref = 'SO-4'$$);
SELECT pg_temp.err($$UPDATE stockroute.reservation SET lot_code = 'L2' WHERE order_ref = 'SO-3'$$);
SELECT pg_temp.err($$UPDATE stockroute.reservation SET idempotency_key = 'other' WHERE order_ref = 'SO-1' AND line_ref = '1'$$);
-- new units only at an active node, whatever the path
SELECT pg_temp.err($$INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty) VALUES ('SO-P', '1', 'VALVE-9', 'D', 1)$$);
SELECT pg_temp.err($$INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty) VALUES ('SO-P', '1', 'VALVE-9', 'O', 1)$$);
UPDATE stockroute.node SET status = 'draining' WHERE node_id = 'B';
SELECT pg_temp.err($$UPDATE stockroute.reservation SET qty = 3 WHERE order_ref = 'SO-4'$$);
UPDATE stockroute.node SET status = 'active' WHERE node_id = 'B';
-- ... and nothing changed
SELECT order_ref, line_ref, node_id, qty, status FROM stockroute.reservation ORDER BY order_ref, line_ref;
SELECT node_id, sku, on_hand, reserved, available FROM stockroute.stock ORDER BY node_id, sku;

-- legal direct writes go through the same triggers
UPDATE stockroute.reservation SET qty = 4 WHERE order_ref = 'SO-4';
UPDATE stockroute.reservation SET status = 'expired' WHERE order_ref = 'SO-5';
SELECT node_id, sku, reserved, available FROM stockroute.stock WHERE node_id = 'B' AND sku = 'VALVE-9';
DELETE FROM stockroute.reservation WHERE order_ref = 'SO-5';
-- direct INSERT of a held row without expires_at gets the default hold; a
-- new hold has not been committed or closed, whatever the row says
INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty, committed_at, closed_at)
VALUES ('SO-7', '1', 'PUMP-1', 'B', 1, now(), now());
SELECT expires_at - created_at AS ttl, committed_at, closed_at FROM stockroute.reservation WHERE order_ref = 'SO-7';

-- physical truth is never rejected: on_hand may fall under reserved
UPDATE stockroute.stock SET on_hand = 1 WHERE node_id = 'B' AND sku = 'VALVE-9';
SELECT node_id, sku, on_hand, reserved, available FROM stockroute.stock WHERE node_id = 'B' AND sku = 'VALVE-9';
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-8', '1', 'VALVE-9', 'B', 1)$$);
SELECT stockroute.release('SO-4') ->> 'units' AS released_units;

-- a restore of a dump brings reservations back in the status they were dumped
-- in: stockroute.restoring, which only a superuser may set.  A fulfilled row
-- moves nothing; an active one re-adds itself to reserved, still checked
SET ROLE stockroute_app;
SELECT pg_temp.err($$SET stockroute.restoring = on$$);
RESET ROLE;
SET stockroute.restoring = on;
INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty, status, committed_at, closed_at)
VALUES ('SO-R', '1', 'VALVE-9', 'A', 2, 'fulfilled', now(), now()),
       ('SO-R', '2', 'PUMP-1', 'A', 1, 'committed', now(), NULL);
SELECT pg_temp.err($$INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty, status) VALUES ('SO-R', '3', 'VALVE-9', 'A', 100, 'committed')$$);
RESET stockroute.restoring;
SELECT line_ref, status, qty FROM stockroute.reservation WHERE order_ref = 'SO-R' ORDER BY line_ref;
SELECT node_id, sku, on_hand, reserved FROM stockroute.stock WHERE node_id = 'A' ORDER BY sku;

-- shipped profiles are read-only; user profiles are versioned
SELECT profile_name, version FROM stockroute.profile ORDER BY profile_name;
SELECT pg_temp.err($$UPDATE stockroute.profile SET w_days = 2 WHERE profile_name = 'default'$$);
SELECT pg_temp.err($$DELETE FROM stockroute.profile WHERE profile_name = 'fastest'$$);
INSERT INTO stockroute.profile (profile_name, w_cost, w_days) VALUES ('mine', 1, 3);
UPDATE stockroute.profile SET w_days = 4 WHERE profile_name = 'mine';
SELECT profile_name, version, w_days FROM stockroute.profile WHERE profile_name = 'mine';
SELECT profile_name, version, definition->>'w_days' AS w_days
  FROM stockroute.profile_history WHERE profile_name = 'mine' ORDER BY version;

-- invariant 2: reserved = sum of active reservations, for every stock and lot row
SELECT s.node_id, s.sku, s.reserved,
       coalesce((SELECT sum(r.qty) FROM stockroute.reservation r
                  WHERE r.node_id = s.node_id AND r.sku = s.sku
                    AND r.status IN ('held', 'committed')), 0) AS active
  FROM stockroute.stock s ORDER BY s.node_id, s.sku;
SELECT count(*) AS lot_drift FROM stockroute.lot l
 WHERE l.reserved <> coalesce((SELECT sum(r.qty) FROM stockroute.reservation r
                                WHERE r.node_id = l.node_id AND r.sku = l.sku AND r.lot_code = l.lot_code
                                  AND r.status IN ('held', 'committed')), 0);
