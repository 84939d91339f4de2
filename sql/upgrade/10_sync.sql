-- Inventory sync and reconciliation (issue 5): ingest() in C, per-lot
-- shortfall alerts, a faster reconcile() that re-routes short lots too.

-- alerts name the lot of a lot shortfall; one open alert per (kind, node,
-- sku, lot)
ALTER TABLE stockroute.alert ADD COLUMN lot_code text;
COMMENT ON COLUMN stockroute.alert.lot_code IS
    'the lot of a lot shortfall (its on_hand below its reserved); NULL for alerts about a stock row or a node';
DROP INDEX stockroute.alert_open_idx;
CREATE UNIQUE INDEX alert_open_idx
    ON stockroute.alert (kind, coalesce(node_id, ''), coalesce(sku, ''), coalesce(lot_code, ''))
    WHERE status = 'open';

CREATE FUNCTION stockroute.raise_alert(kind text, node_id text, sku text, detail jsonb, lot_code text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_kind     ALIAS FOR $1;
    p_node_id  ALIAS FOR $2;
    p_sku      ALIAS FOR $3;
    p_detail   ALIAS FOR $4;
    p_lot_code ALIAS FOR $5;
    new_id     uuid;
BEGIN
    INSERT INTO stockroute.alert AS a (kind, node_id, sku, detail, lot_code)
    VALUES (p_kind, p_node_id, p_sku, coalesce(p_detail, '{}'), p_lot_code)
    ON CONFLICT (kind, coalesce(node_id, ''), coalesce(sku, ''), coalesce(lot_code, ''))
       WHERE status = 'open'
    DO NOTHING
    RETURNING a.alert_id INTO new_id;
    IF new_id IS NULL THEN
        -- already open: keep one row, with the latest detail
        UPDATE stockroute.alert a SET detail = coalesce(p_detail, '{}')
         WHERE a.kind = p_kind AND a.status = 'open'
           AND coalesce(a.node_id, '') = coalesce(p_node_id, '')
           AND coalesce(a.sku, '') = coalesce(p_sku, '')
           AND coalesce(a.lot_code, '') = coalesce(p_lot_code, '')
           AND a.detail IS DISTINCT FROM coalesce(p_detail, '{}');
        RETURN false;
    END IF;
    INSERT INTO stockroute.outbox (topic, node_id, payload)
    VALUES ('alert', p_node_id,
            jsonb_build_object('alert_id', new_id, 'kind', p_kind, 'node_id', p_node_id,
                               'sku', p_sku, 'detail', coalesce(p_detail, '{}'))
            || CASE WHEN p_lot_code IS NOT NULL THEN jsonb_build_object('lot_code', p_lot_code)
                    ELSE '{}' END);
    PERFORM pg_notify('stockroute',
        (jsonb_build_object('topic', 'alert', 'alert_id', new_id, 'kind', p_kind,
                            'node_id', left(p_node_id, 200), 'sku', left(p_sku, 200))
         || CASE WHEN p_lot_code IS NOT NULL THEN jsonb_build_object('lot_code', left(p_lot_code, 200))
                 ELSE '{}' END)::text);
    RETURN true;
END;
$$;

COMMENT ON FUNCTION stockroute.raise_alert(text, text, text, jsonb, text) IS
    'Open an alert unless one of that kind is open for the node, SKU and lot (then refresh its detail); a new alert also goes to outbox and NOTIFY stockroute. Returns true when it opened one';

CREATE OR REPLACE FUNCTION stockroute.raise_alert(kind text, node_id text, sku text, detail jsonb)
RETURNS boolean
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT stockroute.raise_alert($1, $2, $3, $4, NULL);
$$;

COMMENT ON FUNCTION stockroute.raise_alert(text, text, text, jsonb) IS
    'Open an alert unless one of that kind is open for the node and SKU (then refresh its detail); a new alert also goes to outbox and NOTIFY stockroute. Returns true when it opened one';

CREATE FUNCTION stockroute.resolve_alert(kind text, node_id text, sku text, lot_code text)
RETURNS boolean
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH u AS (
        UPDATE stockroute.alert a
           SET status = 'resolved', resolved_at = pg_catalog.now()
         WHERE a.kind = $1 AND a.status = 'open'
           AND coalesce(a.node_id, '') = coalesce($2, '')
           AND coalesce(a.sku, '') = coalesce($3, '')
           AND coalesce(a.lot_code, '') = coalesce($4, '')
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u);
$$;

COMMENT ON FUNCTION stockroute.resolve_alert(text, text, text, text) IS
    'Resolve the open alert of a kind for a node, SKU and lot, if any; returns true when it resolved one';

CREATE OR REPLACE FUNCTION stockroute.resolve_alert(kind text, node_id text, sku text)
RETURNS boolean
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT stockroute.resolve_alert($1, $2, $3, NULL);
$$;

COMMENT ON FUNCTION stockroute.resolve_alert(text, text, text) IS
    'Resolve the open alert of a kind for a node and SKU (not one of its lots), if any; returns true when it resolved one';

-- ingest(): the whole batch in C (src/ingest.c); its PL/pgSQL row type goes
CREATE OR REPLACE FUNCTION stockroute.ingest(events jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ingest_events'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
DROP TYPE stockroute.ingest_item;
COMMENT ON FUNCTION stockroute.ingest(jsonb) IS
    'Apply a batch of location events (receipt, adjust, sale, ship, count): idempotent per (node_id, idempotency_key), order-independent, malformed events rejected and recorded';

-- reconcile(): low stock from a partial index; short lots re-routed
CREATE INDEX stock_reorder_idx ON stockroute.stock (node_id, sku) WHERE reorder_point > 0;

CREATE FUNCTION stockroute.shortfall_reroute(p_node_id text, p_sku text, p_lot_code text,
                                             p_excess bigint, p_on_hand bigint, p_reserved bigint)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    excess      bigint := p_excess;
    h           record;
    l           record;
    take        bigint;
    placed      bigint;
    res         jsonb;
    r           jsonb;
    pl          jsonb;
    u_rerouted  bigint := 0;
    u_backorder bigint := 0;
BEGIN
    FOR h IN
        SELECT r.sku, r.reservation_id, r.order_ref, r.line_ref, r.qty
          FROM stockroute.reservation r
         WHERE r.node_id = p_node_id AND r.sku = p_sku AND r.status = 'held'
           AND (p_lot_code IS NULL OR r.lot_code = p_lot_code)
         ORDER BY r.created_at DESC, r.reservation_id DESC
    LOOP
        EXIT WHEN excess <= 0;
        take := least(h.qty, excess);
        IF take = h.qty THEN
            UPDATE stockroute.reservation r SET status = 'released'
             WHERE r.sku = h.sku AND r.reservation_id = h.reservation_id AND r.status = 'held';
        ELSE
            UPDATE stockroute.reservation r SET qty = r.qty - take
             WHERE r.sku = h.sku AND r.reservation_id = h.reservation_id AND r.status = 'held';
        END IF;
        IF NOT FOUND THEN
            CONTINUE;
        END IF;
        excess := excess - take;

        -- a short lot: the node's other lots first
        placed := 0;
        res := '[]';
        IF p_lot_code IS NOT NULL THEN
            FOR l IN
                SELECT o.lot_code, o.on_hand - o.reserved AS free
                  FROM stockroute.lot o
                 WHERE o.node_id = p_node_id AND o.sku = p_sku AND o.lot_code <> p_lot_code
                   AND o.on_hand - o.reserved > 0
                   AND (o.expires_on IS NULL OR o.expires_on >= current_date)
                 ORDER BY o.expires_on NULLS LAST, o.lot_code
            LOOP
                EXIT WHEN placed >= take;
                BEGIN
                    PERFORM 1 FROM stockroute.lot o
                     WHERE o.node_id = p_node_id AND o.sku = p_sku AND o.lot_code = l.lot_code
                       FOR NO KEY UPDATE NOWAIT;
                    r := stockroute.reserve(h.order_ref, h.line_ref, p_sku, p_node_id,
                                            least(l.free, take - placed), lot_code => l.lot_code);
                    placed := placed + (r->>'qty')::bigint;
                    res := res || jsonb_build_array(r - 'idempotent_replay');
                EXCEPTION
                    WHEN SQLSTATE 'SR001' OR SQLSTATE 'SR009' OR deadlock_detected OR lock_not_available THEN
                        NULL;
                END;
            END LOOP;
        END IF;
        IF placed < take THEN
            pl := stockroute.place_units(h.order_ref, h.line_ref, p_sku, take - placed, p_node_id, NULL, true);
            pl := jsonb_build_object('placed', placed + (pl->>'placed')::bigint,
                                     'reservations', res || (pl->'reservations'),
                                     'method', pl->'method');
        ELSE
            pl := jsonb_build_object('placed', placed, 'reservations', res, 'method', 'lot');
        END IF;
        placed := (pl->>'placed')::bigint;
        u_rerouted := u_rerouted + placed;
        IF take > placed THEN
            u_backorder := u_backorder + take - placed;
            WITH b AS (
                INSERT INTO stockroute.backorder AS b (order_ref, line_ref, sku, qty, order_doc)
                VALUES (h.order_ref, h.line_ref, p_sku, take - placed,
                        coalesce((SELECT dd.input FROM stockroute.decision dd
                                   WHERE dd.order_ref = h.order_ref AND dd.kind = 'allocate'
                                   ORDER BY dd.created_at DESC LIMIT 1),
                                 jsonb_build_object('order_ref', h.order_ref)))
                ON CONFLICT (order_ref, line_ref) WHERE status = 'open'
                DO UPDATE SET qty = b.qty + EXCLUDED.qty, updated_at = now()
                RETURNING b.backorder_id, b.qty)
            INSERT INTO stockroute.outbox (topic, order_ref, node_id, payload)
            SELECT 'backorder', h.order_ref, p_node_id,
                   jsonb_build_object('backorder_id', b.backorder_id, 'order_ref', h.order_ref,
                                      'line_ref', h.line_ref, 'sku', p_sku, 'qty', b.qty,
                                      'reason', 'shortfall')
                   || CASE WHEN p_lot_code IS NOT NULL THEN jsonb_build_object('lot_code', p_lot_code)
                           ELSE '{}' END
              FROM b;
        END IF;
        INSERT INTO stockroute.decision (order_ref, kind, input, output)
        VALUES (h.order_ref, 'reroute',
                jsonb_build_object('reason', 'shortfall', 'node_id', p_node_id, 'sku', p_sku,
                                   'line_ref', h.line_ref, 'qty', take,
                                   'on_hand', p_on_hand, 'reserved', p_reserved)
                || CASE WHEN p_lot_code IS NOT NULL THEN jsonb_build_object('lot_code', p_lot_code)
                        ELSE '{}' END,
                pl || jsonb_build_object('backordered', take - placed));
    END LOOP;
    RETURN jsonb_build_object('rerouted', u_rerouted, 'backordered', u_backorder);
END;
$$;

COMMENT ON FUNCTION stockroute.shortfall_reroute(text, text, text, bigint, bigint, bigint) IS
    'Internal (reconcile): free up to excess held units of a short stock row or lot (newest holds first) and place them again (other lots of the node first for a lot, then other nodes), the rest to backorder; returns {rerouted, backordered}';

-- reconcile() itself: 60_supply.sql redefines it later in this script, so
-- its copy there carries the install's body (one pass for invariant 2 and
-- shortfalls, short lots, set-based low stock)
COMMENT ON FUNCTION stockroute.reconcile() IS
    'Periodic repair: expire lapsed holds, verify and repair invariant 2, flag stale nodes and sync gaps, re-route held units off short stock rows and lots, fill backorders, raise low-stock alerts; records the run in reconcile_run and returns its summary ({"skipped": true} when another run is in progress)';

CREATE OR REPLACE VIEW stockroute.discrepancy AS
SELECT a.alert_id, a.kind, a.node_id, a.sku, a.status, a.detail, a.raised_at, a.resolved_at,
       (a.detail->>'run_id')::bigint AS run_id,
       a.lot_code
  FROM stockroute.alert a
 WHERE a.kind IN ('drift', 'shortfall', 'sync_gap', 'stale_node');

COMMENT ON VIEW stockroute.discrepancy IS
    'What sync and reconciliation found wrong between the record and the locations (drift, shortfall, sync gap, stale node), when, the reconcile run that last saw it (NULL: seen by ingest only), and the lot of a lot shortfall';
