-- Inventory sync and reconciliation (issue 5): ingest() in C, per-lot
-- shortfall alerts.

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

-- reconcile() now resolves a stock row's shortfall alert only (not a lot's);
-- 60_supply.sql redefines reconcile() later in this script, so its copy
-- there carries the install's body

CREATE OR REPLACE VIEW stockroute.discrepancy AS
SELECT a.alert_id, a.kind, a.node_id, a.sku, a.status, a.detail, a.raised_at, a.resolved_at,
       (a.detail->>'run_id')::bigint AS run_id,
       a.lot_code
  FROM stockroute.alert a
 WHERE a.kind IN ('drift', 'shortfall', 'sync_gap', 'stale_node');

COMMENT ON VIEW stockroute.discrepancy IS
    'What sync and reconciliation found wrong between the record and the locations (drift, shortfall, sync gap, stale node), when, the reconcile run that last saw it (NULL: seen by ingest only), and the lot of a lot shortfall';
