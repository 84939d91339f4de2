-- stockroute, reservations: the invariant triggers (C, src/reservation.c)
-- and the lifecycle reserve, commit, release, fulfill.
--
-- A "replace" part (sql/manifest): it runs in the install script and again
-- in every update, so each statement creates or replaces.

CREATE OR REPLACE FUNCTION stockroute.reservation_guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'reservation_guard' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;
CREATE OR REPLACE FUNCTION stockroute.reservation_apply() RETURNS trigger
    AS 'MODULE_PATHNAME', 'reservation_apply' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;
CREATE OR REPLACE FUNCTION stockroute.stock_guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'stock_guard' LANGUAGE C;

COMMENT ON FUNCTION stockroute.reservation_guard() IS
    'Trigger: a new reservation is held (other statuses only while stockroute.restoring), legal status moves only, identity columns frozen, default expiry and timestamps';
COMMENT ON FUNCTION stockroute.reservation_apply() IS
    'Trigger: moves active reservation quantity into stock.reserved and lot.reserved, refusing any increase at a node that is not active or that available stock does not cover once the stock row''s lapsed holds are expired';
COMMENT ON FUNCTION stockroute.stock_guard() IS
    'Trigger: stock.reserved and lot.reserved are written only by reservation triggers';

CREATE OR REPLACE TRIGGER reservation_guard
    BEFORE INSERT OR UPDATE OR DELETE ON stockroute.reservation
    FOR EACH ROW EXECUTE FUNCTION stockroute.reservation_guard();
CREATE OR REPLACE TRIGGER reservation_apply
    AFTER INSERT OR UPDATE ON stockroute.reservation
    FOR EACH ROW EXECUTE FUNCTION stockroute.reservation_apply();
CREATE OR REPLACE TRIGGER stock_guard
    BEFORE INSERT OR UPDATE ON stockroute.stock
    FOR EACH ROW EXECUTE FUNCTION stockroute.stock_guard();
CREATE OR REPLACE TRIGGER lot_guard
    BEFORE INSERT OR UPDATE ON stockroute.lot
    FOR EACH ROW EXECUTE FUNCTION stockroute.stock_guard();

-- TRUNCATE skips row triggers; refuse it while it would strand stock.reserved
CREATE OR REPLACE FUNCTION stockroute.reservation_truncate_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM stockroute.reservation WHERE status IN ('held', 'committed')) THEN
        RAISE EXCEPTION 'cannot truncate stockroute.reservation while reservations are active'
            USING ERRCODE = 'SR004',
                  HINT = 'Release them first (stockroute.release), then truncate.';
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION stockroute.reservation_truncate_guard() IS
    'Trigger: refuses TRUNCATE of reservation while active reservations hold stock';

CREATE OR REPLACE TRIGGER reservation_truncate_guard
    BEFORE TRUNCATE ON stockroute.reservation
    FOR EACH STATEMENT EXECUTE FUNCTION stockroute.reservation_truncate_guard();

-- Lifecycle ---------------------------------------------------------------------

CREATE OR REPLACE FUNCTION stockroute.reserve(
    order_ref text,
    line_ref text,
    sku text,
    node_id text,
    qty bigint,
    ttl interval DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    lot_code text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'stockroute_reserve'
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION stockroute.reserve(text, text, text, text, bigint, interval, text, text) IS
    'Hold qty units of sku at node_id for an order line, atomically; idempotent per (sku, idempotency_key)';

-- Lock the stock rows an order's active reservations touch, one by its key
-- (node_id, sku) at a time in the canonical order every multi-row writer
-- uses, so that releasing or fulfilling never deadlocks against a concurrent
-- allocation.
CREATE OR REPLACE FUNCTION stockroute.lock_order_stock(p_order_ref text, p_line_ref text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k record;
BEGIN
    FOR k IN SELECT DISTINCT r.node_id, r.sku
               FROM stockroute.reservation r
              WHERE r.order_ref = p_order_ref
                AND (p_line_ref IS NULL OR r.line_ref = p_line_ref)
                AND r.status IN ('held', 'committed')
              ORDER BY r.node_id, r.sku
    LOOP
        PERFORM 1 FROM stockroute.stock s
         WHERE s.node_id = k.node_id AND s.sku = k.sku
           FOR NO KEY UPDATE;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION stockroute.lock_order_stock(text, text) IS
    'Internal: locks the stock rows under an order''s active reservations in (node_id, sku) order';

-- Expire the lapsed holds of some stock rows: held reservations of the
-- (node_id, sku) pairs whose expires_at has passed by the real clock (now()).
-- Their status becomes expired (the triggers give back the units and the
-- daily capacity) and each order gets one outbox message, topic release with
-- reason "expired".  The one place both reconcile() (step 1) and the
-- reservation trigger (a hold that needs the units) expire holds; the caller
-- holds the stock rows' locks.  except_xmin/except_cmin leave alone the rows
-- the statement being checked wrote.
CREATE OR REPLACE FUNCTION stockroute.expire_lapsed_holds(node_ids text[], skus text[],
                                                         except_xmin xid DEFAULT NULL,
                                                         except_cmin cid DEFAULT NULL)
RETURNS TABLE (expired bigint, units bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF cardinality(node_ids) IS DISTINCT FROM cardinality(skus) THEN
        RAISE EXCEPTION 'node_ids and skus must have the same length, got % and %',
                        cardinality(node_ids), cardinality(skus)
            USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    WITH x AS (
        UPDATE stockroute.reservation r SET status = 'expired'
          FROM unnest(node_ids, skus) AS k(node_id, sku)
         WHERE r.node_id = k.node_id AND r.sku = k.sku
           AND r.status = 'held' AND r.expires_at <= now()
           AND (except_xmin IS NULL OR NOT (r.xmin = except_xmin AND r.cmin = except_cmin))
        RETURNING r.order_ref, r.line_ref, r.sku, r.node_id, r.qty),
    o AS (
        INSERT INTO stockroute.outbox (topic, order_ref, payload)
        SELECT 'release', x.order_ref,
               jsonb_build_object('order_ref', x.order_ref, 'reason', 'expired',
                                  'lines', jsonb_agg(jsonb_build_object('line_ref', x.line_ref, 'sku', x.sku,
                                                                        'node_id', x.node_id, 'qty', x.qty)
                                                     ORDER BY x.line_ref, x.node_id))
          FROM x GROUP BY x.order_ref
        RETURNING 1)
    SELECT count(*), coalesce(sum(x.qty), 0)::bigint FROM x;
END;
$$;

COMMENT ON FUNCTION stockroute.expire_lapsed_holds(text[], text[], xid, cid) IS
    'Internal: expires the held reservations past expires_at at the given (node_id, sku) stock rows, with one release message (reason expired) per order; returns how many and their units';

CREATE OR REPLACE FUNCTION stockroute.order_reservations(p_order_ref text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.line_ref, r.node_id, r.created_at), '[]')
              FROM stockroute.reservation r
             WHERE r.order_ref = p_order_ref);
END;
$$;

COMMENT ON FUNCTION stockroute.order_reservations(text) IS
    'All reservations of an order as a jsonb array, in line and node order';

CREATE OR REPLACE FUNCTION stockroute.commit(order_ref text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p_order_ref ALIAS FOR $1;
    n_committed bigint;
    n_expired   bigint;
    n_total     bigint;
BEGIN
    IF p_order_ref IS NULL THEN
        RAISE EXCEPTION 'order_ref must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;

    -- a hold past its expiry is lapsed even before reconcile() marks it
    SELECT count(*) FILTER (WHERE r.status = 'held' AND r.expires_at <= now()),
           count(*)
      INTO n_expired, n_total
      FROM stockroute.reservation r
     WHERE r.order_ref = p_order_ref;

    IF n_total = 0 THEN
        RAISE EXCEPTION 'order_ref "%" has no reservations', p_order_ref
            USING ERRCODE = 'SR006';
    END IF;
    IF n_expired > 0 THEN
        RAISE EXCEPTION 'order_ref "%" has % expired hold(s)', p_order_ref, n_expired
            USING ERRCODE = 'SR008',
                  HINT = 'Reserve the lines again; expired holds are released by reconcile().';
    END IF;

    WITH c AS (
        UPDATE stockroute.reservation r
           SET status = 'committed'
         WHERE r.order_ref = p_order_ref AND r.status = 'held'
        RETURNING 1)
    SELECT count(*) INTO n_committed FROM c;

    IF n_committed = 0 AND NOT EXISTS (
            SELECT 1 FROM stockroute.reservation r
             WHERE r.order_ref = p_order_ref AND r.status = 'committed') THEN
        RAISE EXCEPTION 'order_ref "%" has no held reservations to commit', p_order_ref
            USING ERRCODE = 'SR004',
                  DETAIL = 'Its reservations are all released, expired or fulfilled.';
    END IF;

    RETURN jsonb_build_object(
        'order_ref', p_order_ref,
        'committed', n_committed,
        'reservations', stockroute.order_reservations(p_order_ref));
END;
$$;

COMMENT ON FUNCTION stockroute.commit(text) IS
    'Commit every held reservation of an order (payment captured); idempotent';

CREATE OR REPLACE FUNCTION stockroute.release(order_ref text, line_ref text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p_order_ref ALIAS FOR $1;
    p_line_ref  ALIAS FOR $2;
    n_released  bigint;
    n_units     bigint;
BEGIN
    IF p_order_ref IS NULL THEN
        RAISE EXCEPTION 'order_ref must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM stockroute.reservation r
                    WHERE r.order_ref = p_order_ref
                      AND (p_line_ref IS NULL OR r.line_ref = p_line_ref)) THEN
        IF p_line_ref IS NULL THEN
            RAISE EXCEPTION 'order_ref "%" has no reservations', p_order_ref USING ERRCODE = 'SR006';
        END IF;
        RAISE EXCEPTION 'line_ref "%" of order "%" has no reservations', p_line_ref, p_order_ref
            USING ERRCODE = 'SR006';
    END IF;

    PERFORM stockroute.lock_order_stock(p_order_ref, p_line_ref);

    WITH u AS (
        UPDATE stockroute.reservation r
           SET status = 'released'
         WHERE r.order_ref = p_order_ref
           AND (p_line_ref IS NULL OR r.line_ref = p_line_ref)
           AND r.status IN ('held', 'committed')
        RETURNING r.qty)
    SELECT count(*), coalesce(sum(qty), 0) INTO n_released, n_units FROM u;

    RETURN jsonb_build_object('order_ref', p_order_ref, 'line_ref', p_line_ref,
                              'released', n_released, 'units', n_units);
END;
$$;

COMMENT ON FUNCTION stockroute.release(text, text) IS
    'Release the active reservations of an order (or one line): the units become available again; idempotent';

CREATE OR REPLACE FUNCTION stockroute.fulfill(order_ref text, line_ref text DEFAULT NULL, node_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p_order_ref ALIAS FOR $1;
    p_line_ref  ALIAS FOR $2;
    p_node_id   ALIAS FOR $3;
    held_line   text;
    n_done      bigint;
    n_units     bigint;
BEGIN
    IF p_order_ref IS NULL THEN
        RAISE EXCEPTION 'order_ref must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM stockroute.reservation r
                    WHERE r.order_ref = p_order_ref
                      AND (p_line_ref IS NULL OR r.line_ref = p_line_ref)
                      AND (p_node_id IS NULL OR r.node_id = p_node_id)) THEN
        RAISE EXCEPTION 'order_ref "%" has no reservations%', p_order_ref,
            CASE WHEN p_line_ref IS NULL AND p_node_id IS NULL THEN ''
                 ELSE format(' for line_ref %s, node_id %s',
                             coalesce(quote_literal(p_line_ref), 'any'),
                             coalesce(quote_literal(p_node_id), 'any')) END
            USING ERRCODE = 'SR006';
    END IF;

    SELECT r.line_ref INTO held_line
      FROM stockroute.reservation r
     WHERE r.order_ref = p_order_ref
       AND (p_line_ref IS NULL OR r.line_ref = p_line_ref)
       AND (p_node_id IS NULL OR r.node_id = p_node_id)
       AND r.status = 'held'
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'line_ref "%" of order "%" is held, not committed', held_line, p_order_ref
            USING ERRCODE = 'SR004',
                  HINT = 'Call stockroute.commit() before fulfilling.';
    END IF;

    PERFORM stockroute.lock_order_stock(p_order_ref, p_line_ref);

    WITH u AS (
        UPDATE stockroute.reservation r
           SET status = 'fulfilled'
         WHERE r.order_ref = p_order_ref
           AND (p_line_ref IS NULL OR r.line_ref = p_line_ref)
           AND (p_node_id IS NULL OR r.node_id = p_node_id)
           AND r.status = 'committed'
        RETURNING r.qty)
    SELECT count(*), coalesce(sum(qty), 0) INTO n_done, n_units FROM u;

    RETURN jsonb_build_object('order_ref', p_order_ref, 'line_ref', p_line_ref, 'node_id', p_node_id,
                              'fulfilled', n_done, 'units', n_units);
END;
$$;

COMMENT ON FUNCTION stockroute.fulfill(text, text, text) IS
    'Mark committed reservations shipped: consumes reserved and on_hand together; idempotent';
