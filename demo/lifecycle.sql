-- stockroute demo: the reservation lifecycle of SO-1001 (allocated, so held,
-- in demo/orders.sql): commit when payment is captured, fulfill when the
-- nodes ship, with the stock before and after each step.
--
--   psql -X -q -f demo/lifecycle.sql      (after demo/orders.sql)

\set ON_ERROR_STOP on
\pset footer off
SET stockroute.now = '2026-11-23 09:00:00+00';
SET TimeZone = 'UTC';

CREATE TEMP VIEW demo_valve AS
SELECT s.node_id, s.on_hand, s.reserved, s.available,
       coalesce((SELECT string_agg(r.status || ' ' || r.qty, ', ' ORDER BY r.status)
                   FROM stockroute.reservation r
                  WHERE r.order_ref = 'SO-1001' AND r.node_id = s.node_id), '') AS "SO-1001"
  FROM stockroute.stock s
 WHERE s.sku = 'VALVE-9' AND s.node_id IN ('A', 'B', 'C')
 ORDER BY s.node_id;

\echo
\echo '=== 11. The lifecycle of SO-1001: held (allocate) -> committed (commit) -> fulfilled (fulfill) ==='
\echo
\echo 'Held by allocate() in section 7: the units are reserved, still on the shelf, and expire unless committed.'
SELECT * FROM demo_valve;

\echo 'commit(SO-1001): payment captured, the holds no longer expire.'
SELECT r->>'order_ref' AS order_ref, r->>'committed' AS committed
  FROM stockroute.commit('SO-1001') AS r;
SELECT * FROM demo_valve;

\echo 'fulfill(SO-1001): A and B shipped; on_hand and reserved drop together, available does not move.'
SELECT r->>'order_ref' AS order_ref, r->>'fulfilled' AS fulfilled
  FROM stockroute.fulfill('SO-1001') AS r;
SELECT * FROM demo_valve;
\echo 'Fulfilled is final: committing again is refused, with its SQLSTATE, and changes nothing.'
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT pg_temp.try($$SELECT stockroute.commit('SO-1001')$$) AS "commit('SO-1001') again";
