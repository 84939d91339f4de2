-- stockroute, inventory sync: ingest() of location events, the flat-file
-- staging path (its table is in sql/schema/40_sync.sql), alerts.  See
-- docs/sync.md.
--
-- A "replace" part (sql/manifest): it runs in the install script and again
-- in every update, so each statement creates or replaces.
--
-- Ordering model (invariant 5).  Per (node_id, sku) — and per (node_id, sku,
-- lot_code) for events that name a lot — the count in force is the count
-- with the greatest (occurred_at, idempotency_key); stock.counted_at and
-- count_key record it.  A delta (receipt +q, adjust ±q, sale −q, ship −q)
-- is applied when it occurred after counted_at, else it is superseded; a
-- newer count sets on_hand to its qty plus the applied deltas that occurred
-- after it and supersedes the rest.  So on_hand is always
--     qty of the count in force + Σ deltas that occurred after it
-- (or, never counted, the starting on_hand + Σ deltas): a function of the
-- set of events, whatever order and however often they arrive.

CREATE OR REPLACE FUNCTION stockroute.ingest_parse_time(text)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'stockroute_ingest_parse_time'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION stockroute.ingest_parse_time(text) IS
    'The timestamptz a string denotes, or NULL where timestamptz input would fail; relative words (now, today, yesterday, epoch, infinity) and strings not starting with a digit give NULL too';

CREATE OR REPLACE FUNCTION stockroute.repair_reserved(node_id text, sku text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'stockroute_repair_reserved'
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION stockroute.repair_reserved(text, text) IS
    'Set stock.reserved (and lot.reserved) of one stock row to the sum of its active reservations; used by reconcile() when invariant 2 is broken';

-- Alerts ----------------------------------------------------------------------

-- An alert is open at most once per (kind, node_id, sku, lot_code): the
-- unique partial index alert_open_idx.  A lot's shortfall is its own alert,
-- beside the stock row's.
CREATE OR REPLACE FUNCTION stockroute.raise_alert(kind text, node_id text, sku text, detail jsonb, lot_code text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN stockroute.raise_alert($1, $2, $3, $4, NULL);
END;
$$;

COMMENT ON FUNCTION stockroute.raise_alert(text, text, text, jsonb) IS
    'Open an alert unless one of that kind is open for the node and SKU (then refresh its detail); a new alert also goes to outbox and NOTIFY stockroute. Returns true when it opened one';

CREATE OR REPLACE FUNCTION stockroute.resolve_alert(kind text, node_id text, sku text, lot_code text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE stockroute.alert a
       SET status = 'resolved', resolved_at = pg_catalog.now()
     WHERE a.kind = $1 AND a.status = 'open'
       AND coalesce(a.node_id, '') = coalesce($2, '')
       AND coalesce(a.sku, '') = coalesce($3, '')
       AND coalesce(a.lot_code, '') = coalesce($4, '');
    RETURN FOUND;
END;
$$;

COMMENT ON FUNCTION stockroute.resolve_alert(text, text, text, text) IS
    'Resolve the open alert of a kind for a node, SKU and lot, if any; returns true when it resolved one';

CREATE OR REPLACE FUNCTION stockroute.resolve_alert(kind text, node_id text, sku text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN stockroute.resolve_alert($1, $2, $3, NULL);
END;
$$;

COMMENT ON FUNCTION stockroute.resolve_alert(text, text, text) IS
    'Resolve the open alert of a kind for a node and SKU (not one of its lots), if any; returns true when it resolved one';

-- ingest -----------------------------------------------------------------------

-- The whole batch in C (src/ingest.c): parsed once, validated per event,
-- grouped per stock row and lot, applied in a fixed handful of statements
-- over array parameters.  It runs as the owner, which bypasses row-level
-- security, so it checks the caller's node mapping itself first
-- (require_node_access, sql/85_access.sql).
CREATE OR REPLACE FUNCTION stockroute.ingest(events jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'stockroute_ingest'
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION stockroute.ingest(jsonb) IS
    'Apply a batch of location events (receipt, adjust, sale, ship, count): idempotent per (node_id, idempotency_key), order-independent, malformed events rejected and recorded';

CREATE OR REPLACE FUNCTION stockroute.ingest_staged(file_name text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p_file_name ALIAS FOR $1;
    loaded  boolean := stockroute.ingest_parse_time('2000-01-01 00:00+00') IS NOT NULL;
    chunk   integer := current_setting('stockroute.max_batch_events')::integer;
    docs    jsonb[];
    srcs    jsonb[];
    total   integer;
    lo      integer := 1;
    r       jsonb;
    reply   jsonb := '{"applied": 0, "duplicate": 0, "superseded": 0, "rejected": 0}';
    results jsonb := '[]';
BEGIN
    -- take the rows (a concurrent call for the same rows waits, then finds
    -- them gone), in the order they were staged
    WITH d AS (
        DELETE FROM stockroute.event_staging s
         WHERE p_file_name IS NULL OR s.file_name = p_file_name
        RETURNING s.*),
    n AS (
        SELECT d.*, coalesce(d.line_no, row_number() OVER (PARTITION BY d.file_name ORDER BY d.staged_id) + 1) AS line
          FROM d)
    SELECT array_agg(jsonb_strip_nulls(jsonb_build_object(
               'node_id', nullif(n.node_id, ''),
               'idempotency_key', nullif(n.idempotency_key, ''),
               -- a number where the text is one; otherwise the text, which ingest() rejects
               'seq', CASE WHEN n.seq ~ '^\s*[0-9]{1,18}\s*$' THEN to_jsonb(n.seq::numeric)
                           ELSE to_jsonb(nullif(btrim(n.seq), '')) END,
               'kind', nullif(btrim(n.kind), ''),
               'sku', nullif(n.sku, ''),
               'qty', CASE WHEN n.qty ~ '^\s*[+-]?[0-9]{1,18}\s*$' THEN to_jsonb(n.qty::numeric)
                           ELSE to_jsonb(nullif(btrim(n.qty), '')) END,
               'lot_code', nullif(n.lot_code, ''),
               'occurred_at', nullif(btrim(n.occurred_at), ''),
               'order_ref', nullif(n.order_ref, '')))
             ORDER BY n.staged_id),
           array_agg(jsonb_build_object('file_name', n.file_name, 'line_no', n.line) ORDER BY n.staged_id)
      INTO docs, srcs
      FROM n;

    total := coalesce(array_length(docs, 1), 0);
    WHILE lo <= total LOOP
        r := stockroute.ingest(to_jsonb(docs[lo:lo + chunk - 1]));
        reply := jsonb_build_object(
            'applied', (reply->>'applied')::bigint + (r->>'applied')::bigint,
            'duplicate', (reply->>'duplicate')::bigint + (r->>'duplicate')::bigint,
            'superseded', (reply->>'superseded')::bigint + (r->>'superseded')::bigint,
            'rejected', (reply->>'rejected')::bigint + (r->>'rejected')::bigint);
        SELECT results || coalesce(jsonb_agg(x.res || srcs[lo + x.ord - 1] ORDER BY x.ord), '[]')
          INTO results
          FROM jsonb_array_elements(r->'results') WITH ORDINALITY x(res, ord);
        lo := lo + chunk;
    END LOOP;
    RETURN reply || jsonb_build_object('staged', total, 'results', results);
END;
$$;

COMMENT ON FUNCTION stockroute.ingest_staged(text) IS
    'Ingest the rows staged in event_staging (one file, or all when NULL) with the semantics of ingest(), then remove them; bad text values become rejected events';
