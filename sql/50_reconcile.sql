-- stockroute, reconciliation: reconcile() (its run log is in
-- sql/schema/50_reconcile.sql), pg_cron scheduling and the dashboard views.
-- See docs/sync.md.
--
-- A "replace" part (sql/manifest): it runs in the install script and again
-- in every update, so each statement creates or replaces.

-- Placing units ---------------------------------------------------------------

-- Hold up to qty units of an order line on other nodes, chosen by plan()
-- from the order as allocated (its decision), or, without a ship_to, the
-- routable nodes with the most available first (never one a routing rule
-- excluded for the order: the plan lists them).  Each hold is its own
-- subtransaction: a hold lost to a concurrent order is skipped, not fatal.
-- With p_nowait a node whose stock row another transaction holds is skipped
-- at once instead of waited for (fill_backorders, sql/70_supply.sql: it may
-- run while its caller holds stock rows out of canonical order).
CREATE OR REPLACE FUNCTION stockroute.place_units(p_order_ref text, p_line_ref text, p_sku text, p_qty bigint,
                                       p_exclude_node text, p_order_doc jsonb,
                                       p_nowait boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    doc     jsonb := p_order_doc;
    p       jsonb;
    c       record;
    placed  bigint := 0;
    res     jsonb := '[]';
    r       jsonb;
BEGIN
    IF doc IS NULL THEN
        SELECT d.input INTO doc FROM stockroute.decision d
         WHERE d.order_ref = p_order_ref AND d.kind = 'allocate'
         ORDER BY d.created_at DESC LIMIT 1;
    END IF;

    -- a pickup order needs no ship_to: plan() routes it to its pickup node
    IF jsonb_typeof(doc->'ship_to') = 'object' OR doc->>'fulfillment' = 'pickup' THEN
        BEGIN
            p := stockroute.plan((doc - 'lines' - 'order_ref' - 'options')
                 || jsonb_build_object('order_ref', p_order_ref,
                                       'lines', jsonb_build_array(jsonb_build_object(
                                           'line_ref', p_line_ref, 'sku', p_sku, 'qty', p_qty)),
                                       'options', coalesce(doc->'options', '{}') - 'ship_complete'
                                                  || '{"allow_partial": true}'));
        EXCEPTION WHEN OTHERS THEN
            p := NULL;          -- the stored order no longer plans: place greedily below
        END;
    END IF;

    FOR c IN
        SELECT sh->>'node_id' AS node_id, (l->>'qty')::bigint AS qty, 0 AS pri
          FROM jsonb_array_elements(CASE WHEN p IS NOT NULL THEN p->'shipments' ELSE '[]' END) sh,
               jsonb_array_elements(sh->'lines') l
         WHERE sh->>'node_id' IS DISTINCT FROM p_exclude_node
           AND NOT EXISTS (SELECT 1 FROM stockroute.node n WHERE n.node_id = sh->>'node_id' AND n.stale)
        UNION ALL
        -- greedy: without a plan, or for what the plan left unfilled
        SELECT s.node_id, s.available, 1
          FROM stockroute.stock s
          JOIN stockroute.node n ON n.node_id = s.node_id
          JOIN stockroute.item i ON i.sku = s.sku
         WHERE s.sku = p_sku AND s.available > 0
           AND n.status = 'active' AND NOT n.stale
           AND s.node_id IS DISTINCT FROM p_exclude_node
           AND (i.allowed_nodes IS NULL OR s.node_id = ANY (i.allowed_nodes))
           -- a node a routing rule excluded for this order (the plan's rules[].excluded) stays out
           AND NOT coalesce(p->'rules', '[]') @> jsonb_build_array(jsonb_build_object('excluded', jsonb_build_array(s.node_id)))
           -- not a node that rejected the order (plan() skips those too), and
           -- never for a pickup order: only plan() knows its pickup node and transfers
           AND NOT EXISTS (SELECT 1 FROM stockroute.order_exclusion x
                            WHERE x.order_ref = p_order_ref AND x.node_id = s.node_id
                              AND x.expires_at > stockroute.routing_now())
           AND doc->>'fulfillment' IS DISTINCT FROM 'pickup'
        ORDER BY 3, 2 DESC, 1
    LOOP
        EXIT WHEN placed >= p_qty;
        BEGIN
            IF p_nowait THEN
                PERFORM 1 FROM stockroute.stock s WHERE s.node_id = c.node_id AND s.sku = p_sku
                    FOR NO KEY UPDATE NOWAIT;
            END IF;
            r := stockroute.reserve(p_order_ref, p_line_ref, p_sku, c.node_id,
                                    least(c.qty, p_qty - placed));
            placed := placed + (r->>'qty')::bigint;
            res := res || jsonb_build_array(r - 'idempotent_replay');
        EXCEPTION
            -- taken meanwhile, node closed or at its daily capacity, a lock
            -- cycle with a concurrent order: this candidate is out, try the next
            WHEN SQLSTATE 'SR001' OR SQLSTATE 'SR009' OR SQLSTATE 'SR060'
                 OR deadlock_detected OR lock_not_available THEN
                NULL;
        END;
    END LOOP;
    RETURN jsonb_build_object('placed', placed, 'reservations', res,
                              'method', CASE WHEN p IS NOT NULL THEN 'plan' ELSE 'greedy' END);
END;
$$;

COMMENT ON FUNCTION stockroute.place_units(text, text, text, bigint, text, jsonb, boolean) IS
    'Internal: hold up to qty units of an order line on routable nodes other than exclude_node (plan() with the order''s ship_to, else most available first; with nowait, nodes whose stock row is locked elsewhere are skipped); returns {placed, reservations, method}';

-- Shortfalls ------------------------------------------------------------------

-- Move the held reservations of a short stock row (lot_code NULL) or lot
-- off it, newest first, until `excess` units are freed: released, or
-- reduced when only part is needed.  Each freed part is placed again under
-- the same order line: a lot's first on other unexpired lots of the SKU at
-- the same node (soonest expiry first), then, like a stock row's, by
-- place_units() on other nodes; what cannot be placed goes to backorder.
-- Committed reservations are never moved.  Every move is a decision of
-- kind 'reroute'.  The caller holds the stock row's lock (and the lot's),
-- so every other row is taken with NOWAIT: waiting for a row held by a
-- transaction that waits for ours would be a lock cycle with live traffic.
-- A node (or lot) locked elsewhere is skipped; its units go to backorder,
-- which the same run's fill_backorders() (also NOWAIT) or the next places.
CREATE OR REPLACE FUNCTION stockroute.shortfall_reroute(p_node_id text, p_sku text, p_lot_code text,
                                             p_excess bigint, p_on_hand bigint, p_reserved bigint)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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

-- reconcile -------------------------------------------------------------------

CREATE OR REPLACE FUNCTION stockroute.reconcile()
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t0          timestamptz := clock_timestamp();
    n_expired   integer := 0;
    u_expired   bigint := 0;
    n_drift     integer := 0;
    n_stale     integer := 0;
    n_fresh     integer := 0;
    n_short     integer := 0;
    n_lot_short integer := 0;
    u_rerouted  bigint := 0;
    u_backorder bigint := 0;
    n_bo_filled integer := 0;
    u_bo_filled bigint := 0;
    n_low       integer := 0;
    n_gap       integer := 0;
    n_resolved  integer := 0;
    drift_n     text[];
    drift_s     text[];
    short_n     text[];
    short_s     text[];
    d           record;
    lt          record;
    s_on_hand   bigint;
    s_reserved  bigint;
    pl          jsonb;
    rep         jsonb;
    reply       jsonb;
    run         bigint;
BEGIN
    -- one run at a time; a second caller returns at once
    IF NOT pg_try_advisory_xact_lock(hashtext('stockroute.reconcile'), 0) THEN
        RETURN '{"skipped": true}';
    END IF;
    INSERT INTO stockroute.reconcile_run (started_at, finished_at, summary)
    VALUES (t0, t0, '{}') RETURNING run_id INTO run;

    -- 1. holds past their expiry lapse (the triggers release the units);
    -- their stock rows are locked first, in (node_id, sku) order, one index
    -- probe per row (however large stock is)
    PERFORM 1
       FROM (SELECT DISTINCT r.node_id, r.sku FROM stockroute.reservation r
              WHERE r.status = 'held' AND r.expires_at < now()
              ORDER BY 1, 2) x
      CROSS JOIN LATERAL (SELECT 1 FROM stockroute.stock s
                           WHERE s.node_id = x.node_id AND s.sku = x.sku
                             FOR NO KEY UPDATE OF s) l;
    WITH x AS (
        UPDATE stockroute.reservation r SET status = 'expired'
         WHERE r.status = 'held' AND r.expires_at < now()
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
    SELECT count(*), coalesce(sum(x.qty), 0) INTO n_expired, u_expired FROM x;

    -- 2. invariant 2: reserved = the active reservations, else repair and
    -- say so.  One pass over stock: a row can break it only with reserved
    -- <> 0 or with active reservations, so the scan keeps only those (and
    -- rows with negative on_hand, short with nothing reserved) and meets
    -- the reservations' sums in a full join.  The same pass finds the rows
    -- short of what they promised, for step 4.
    SELECT array_agg(x.node_id ORDER BY x.node_id, x.sku) FILTER (WHERE x.drift),
           array_agg(x.sku ORDER BY x.node_id, x.sku) FILTER (WHERE x.drift),
           array_agg(x.node_id ORDER BY x.node_id, x.sku) FILTER (WHERE x.drift OR x.short),
           array_agg(x.sku ORDER BY x.node_id, x.sku) FILTER (WHERE x.drift OR x.short)
      INTO drift_n, drift_s, short_n, short_s
      FROM (SELECT coalesce(s.node_id, a.node_id) AS node_id, coalesce(s.sku, a.sku) AS sku,
                   coalesce(s.reserved, 0) <> coalesce(a.active, 0) AS drift,
                   coalesce(s.on_hand < s.reserved, false) AS short
              FROM (SELECT s.node_id, s.sku, s.reserved, s.on_hand FROM stockroute.stock s
                     WHERE s.reserved <> 0 OR s.on_hand < 0) s
              FULL JOIN (SELECT r.node_id, r.sku, sum(r.qty) AS active
                           FROM stockroute.reservation r WHERE r.status IN ('held', 'committed')
                          GROUP BY 1, 2) a
                ON a.node_id = s.node_id AND a.sku = s.sku) x
     WHERE x.drift OR x.short;
    FOR d IN
        SELECT u.node_id, u.sku FROM unnest(drift_n, drift_s) AS u(node_id, sku)
        UNION
        SELECT l.node_id, l.sku
          FROM stockroute.lot l
          LEFT JOIN (SELECT r.node_id, r.sku, r.lot_code, sum(r.qty) AS active
                       FROM stockroute.reservation r
                      WHERE r.status IN ('held', 'committed') AND r.lot_code IS NOT NULL
                      GROUP BY 1, 2, 3) a
                 ON a.node_id = l.node_id AND a.sku = l.sku AND a.lot_code = l.lot_code
         WHERE l.reserved <> coalesce(a.active, 0)
        ORDER BY 1, 2
    LOOP
        rep := stockroute.repair_reserved(d.node_id, d.sku);
        IF (rep->>'repaired')::boolean THEN
            n_drift := n_drift + 1;
            PERFORM stockroute.raise_alert('drift', d.node_id, d.sku, rep - 'repaired' - 'node_id' - 'sku'
                                           || jsonb_build_object('run_id', run));
        END IF;
    END LOOP;

    -- 3. nodes silent for longer than stale_after are stale (routing skips
    -- them) until their next event; a node that never sent one is not
    FOR d IN
        UPDATE stockroute.node n SET stale = true
         WHERE NOT n.stale AND n.last_event_at < now() - n.stale_after
        RETURNING n.node_id, n.last_event_at, n.stale_after
    LOOP
        n_stale := n_stale + 1;
        PERFORM stockroute.raise_alert('stale_node', d.node_id, NULL,
                    jsonb_build_object('last_event_at', d.last_event_at, 'stale_after', d.stale_after,
                                       'run_id', run));
    END LOOP;
    FOR d IN
        UPDATE stockroute.node n SET stale = false
         WHERE n.stale AND (n.last_event_at IS NULL OR n.last_event_at >= now() - n.stale_after)
        RETURNING n.node_id
    LOOP
        n_fresh := n_fresh + 1;
        PERFORM stockroute.resolve_alert('stale_node', d.node_id, NULL);
    END LOOP;
    WITH u AS (
        UPDATE stockroute.alert a SET status = 'resolved', resolved_at = now()
          FROM stockroute.node n
         WHERE a.kind = 'stale_node' AND a.status = 'open' AND a.node_id = n.node_id AND NOT n.stale
        RETURNING 1)
    SELECT n_resolved + count(*) INTO n_resolved FROM u;

    -- sequence gaps ingest() saw are alerts already; this catches any left unraised
    FOR d IN
        SELECT n.node_id, n.seq_min, n.seq_max, n.seq_count,
               n.seq_max - n.seq_min + 1 - n.seq_count AS missing
          FROM stockroute.node n
         WHERE n.seq_max - n.seq_min + 1 - n.seq_count > 0
           AND NOT EXISTS (SELECT 1 FROM stockroute.alert a
                            WHERE a.kind = 'sync_gap' AND a.status = 'open' AND a.node_id = n.node_id)
         ORDER BY n.node_id
    LOOP
        n_gap := n_gap + 1;
        PERFORM stockroute.raise_alert('sync_gap', d.node_id, NULL,
                    jsonb_build_object('seq_min', d.seq_min, 'seq_max', d.seq_max,
                                       'received', d.seq_count, 'missing', d.missing, 'run_id', run));
    END LOOP;

    -- 4. invariant 4's other half: physical truth left a stock row (or a
    -- lot) short of what it promised.  The newest held reservations there
    -- give up the excess and their units are placed elsewhere, else
    -- backordered (shortfall_reroute).  Committed (paid) ones stay: the
    -- alert asks a person.  The stock rows are locked in (node_id, sku)
    -- order, each one's short lots (in lot_code order) before the row
    -- itself.
    FOR d IN
        SELECT s.node_id, s.sku
          FROM stockroute.stock s
         WHERE (s.node_id, s.sku) IN (SELECT u.node_id, u.sku FROM unnest(short_n, short_s) AS u(node_id, sku)
                                      UNION
                                      SELECT l.node_id, l.sku FROM stockroute.lot l
                                       WHERE l.on_hand < l.reserved)
         ORDER BY s.node_id, s.sku
           FOR NO KEY UPDATE OF s
    LOOP
        FOR lt IN
            SELECT l.lot_code, l.on_hand, l.reserved
              FROM stockroute.lot l
             WHERE l.node_id = d.node_id AND l.sku = d.sku AND l.on_hand < l.reserved
             ORDER BY l.lot_code
               FOR NO KEY UPDATE OF l
        LOOP
            n_lot_short := n_lot_short + 1;
            rep := stockroute.shortfall_reroute(d.node_id, d.sku, lt.lot_code,
                                                lt.reserved - greatest(lt.on_hand, 0), lt.on_hand, lt.reserved);
            u_rerouted := u_rerouted + (rep->>'rerouted')::bigint;
            u_backorder := u_backorder + (rep->>'backordered')::bigint;
            SELECT l.on_hand, l.reserved INTO lt.on_hand, lt.reserved
              FROM stockroute.lot l
             WHERE l.node_id = d.node_id AND l.sku = d.sku AND l.lot_code = lt.lot_code;
            IF lt.on_hand < lt.reserved THEN
                PERFORM stockroute.raise_alert('shortfall', d.node_id, d.sku,
                            jsonb_build_object('on_hand', lt.on_hand, 'reserved', lt.reserved,
                                               'short', lt.reserved - lt.on_hand, 'source', 'reconcile',
                                               'run_id', run, 'lot_code', lt.lot_code),
                            lt.lot_code);
            END IF;
        END LOOP;

        SELECT s.on_hand, s.reserved INTO s_on_hand, s_reserved
          FROM stockroute.stock s WHERE s.node_id = d.node_id AND s.sku = d.sku;
        CONTINUE WHEN s_on_hand >= s_reserved;
        n_short := n_short + 1;
        rep := stockroute.shortfall_reroute(d.node_id, d.sku, NULL,
                                            s_reserved - greatest(s_on_hand, 0), s_on_hand, s_reserved);
        u_rerouted := u_rerouted + (rep->>'rerouted')::bigint;
        u_backorder := u_backorder + (rep->>'backordered')::bigint;
        SELECT s.on_hand, s.reserved INTO s_on_hand, s_reserved
          FROM stockroute.stock s WHERE s.node_id = d.node_id AND s.sku = d.sku;
        IF s_on_hand < s_reserved THEN
            PERFORM stockroute.raise_alert('shortfall', d.node_id, d.sku,
                        jsonb_build_object('on_hand', s_on_hand, 'reserved', s_reserved,
                                           'short', s_reserved - s_on_hand, 'source', 'reconcile',
                                           'run_id', run));
        END IF;
    END LOOP;
    -- stand down where the stock row or lot is no longer short
    WITH u AS (
        UPDATE stockroute.alert a SET status = 'resolved', resolved_at = now()
          FROM stockroute.stock s
         WHERE a.kind = 'shortfall' AND a.status = 'open' AND a.lot_code IS NULL
           AND s.node_id = a.node_id AND s.sku = a.sku AND s.on_hand >= s.reserved
        RETURNING 1),
    lu AS (
        UPDATE stockroute.alert a SET status = 'resolved', resolved_at = now()
          FROM stockroute.lot l
         WHERE a.kind = 'shortfall' AND a.status = 'open' AND a.lot_code IS NOT NULL
           AND l.node_id = a.node_id AND l.sku = a.sku AND l.lot_code = a.lot_code
           AND l.on_hand >= l.reserved
        RETURNING 1)
    SELECT n_resolved + (SELECT count(*) FROM u) + (SELECT count(*) FROM lu) INTO n_resolved;

    -- 5. open backorders, by priority then age, where routable stock now
    -- exists (fill_backorders, sql/70_supply.sql; it also moves the promise
    -- dates of what stays open)
    pl := stockroute.fill_backorders(NULL, 1000);
    n_bo_filled := (pl ->> 'filled')::integer;
    u_bo_filled := (pl ->> 'units')::bigint;

    -- 6. low stock: available at or below the reorder point.  Set-based:
    -- the rows come from the partial index on reorder_point > 0, the open
    -- alert of each is found by the unique index alert_open_idx (ON
    -- CONFLICT), and only new ones go to the outbox and NOTIFY.
    WITH low AS (
        SELECT s.node_id, s.sku,
               jsonb_build_object('available', s.available, 'reorder_point', s.reorder_point,
                                  'on_hand', s.on_hand, 'run_id', run) AS detail
          FROM stockroute.stock s
         WHERE s.reorder_point > 0 AND s.available <= s.reorder_point
         ORDER BY s.node_id, s.sku),
    ins AS (
        INSERT INTO stockroute.alert AS a (kind, node_id, sku, detail)
        SELECT 'low_stock', low.node_id, low.sku, low.detail FROM low
        ON CONFLICT (kind, coalesce(node_id, ''), coalesce(sku, ''), coalesce(lot_code, ''))
           WHERE status = 'open'
        DO NOTHING
        RETURNING a.alert_id, a.node_id, a.sku, a.detail),
    ob AS (
        INSERT INTO stockroute.outbox (topic, node_id, payload)
        SELECT 'alert', ins.node_id,
               jsonb_build_object('alert_id', ins.alert_id, 'kind', 'low_stock', 'node_id', ins.node_id,
                                  'sku', ins.sku, 'detail', ins.detail)
          FROM ins
        RETURNING 1)
    SELECT count(*) INTO n_low
      FROM (SELECT pg_notify('stockroute',
                             jsonb_build_object('topic', 'alert', 'alert_id', ins.alert_id, 'kind', 'low_stock',
                                                'node_id', left(ins.node_id, 200),
                                                'sku', left(ins.sku, 200))::text)
              FROM ins) n;
    WITH u AS (
        UPDATE stockroute.alert a SET status = 'resolved', resolved_at = now()
          FROM stockroute.stock s
         WHERE a.kind = 'low_stock' AND a.status = 'open'
           AND s.node_id = a.node_id AND s.sku = a.sku
           AND (s.reorder_point = 0 OR s.available > s.reorder_point)
        RETURNING 1)
    SELECT n_resolved + count(*) INTO n_resolved FROM u;

    reply := jsonb_build_object(
        'started_at', t0,
        'expired', n_expired, 'expired_units', u_expired,
        'drift', n_drift,
        'stale', n_stale, 'stale_cleared', n_fresh,
        'sync_gaps', n_gap,
        'shortfall', n_short, 'lot_shortfall', n_lot_short,
        'rerouted_units', u_rerouted, 'backordered_units', u_backorder,
        'backorders_filled', n_bo_filled, 'backorder_units_placed', u_bo_filled,
        'low_stock', n_low,
        'alerts_resolved', n_resolved);
    UPDATE stockroute.reconcile_run r
       SET finished_at = clock_timestamp(), expired = n_expired, drift = n_drift, stale = n_stale,
           shortfall = n_short, rerouted = u_rerouted, backordered = u_backorder,
           backorders_filled = u_bo_filled, low_stock = n_low,
           summary = reply || jsonb_build_object('run_id', run,
                         'duration_ms', round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 3))
     WHERE r.run_id = run
    RETURNING r.summary INTO reply;
    RETURN reply;
END;
$$;

COMMENT ON FUNCTION stockroute.reconcile() IS
    'Periodic repair: expire lapsed holds, verify and repair invariant 2, flag stale nodes and sync gaps, re-route held units off short stock rows and lots, fill backorders, raise low-stock alerts; records the run in reconcile_run and returns its summary ({"skipped": true} when another run is in progress)';

-- Scheduling with pg_cron -----------------------------------------------------

CREATE OR REPLACE FUNCTION stockroute.schedule_jobs(schedule text DEFAULT '* * * * *')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p_schedule ALIAS FOR $1;
    cron_db text := current_setting('cron.database_name', true);
    jobid   bigint;
BEGIN
    IF p_schedule IS NULL OR btrim(p_schedule) = '' THEN
        RAISE EXCEPTION 'schedule must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
            USING ERRCODE = 'SR040',
                  DETAIL = CASE WHEN cron_db IS NOT NULL AND cron_db <> current_database()
                                THEN format('pg_cron runs in database "%s" (cron.database_name).', cron_db) END,
                  HINT = CASE WHEN cron_db IS NOT NULL AND cron_db <> current_database()
                              THEN format('In database "%s" run: SELECT cron.schedule_in_database(''stockroute-reconcile'', %L, ''SELECT stockroute.reconcile()'', %L);',
                                          cron_db, p_schedule, current_database())
                              ELSE 'Add pg_cron to shared_preload_libraries, restart the server, then CREATE EXTENSION pg_cron in the database named by cron.database_name.' END;
    END IF;
    -- the job runs as the caller; cron.schedule replaces a job of the same name
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO jobid
      USING 'stockroute-reconcile', p_schedule, 'SELECT stockroute.reconcile()';
    RETURN jobid;
END;
$$;

COMMENT ON FUNCTION stockroute.schedule_jobs(text) IS
    'Register reconcile() with pg_cron as job "stockroute-reconcile" (default every minute); returns the cron job id. Raises SR040 when pg_cron is not installed here';

CREATE OR REPLACE FUNCTION stockroute.unschedule_jobs()
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer := 0;
    j bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
            USING ERRCODE = 'SR040',
                  HINT = 'Nothing can be scheduled without pg_cron; there is nothing to unschedule.';
    END IF;
    FOR j IN EXECUTE 'SELECT jobid FROM cron.job WHERE jobname = $1' USING 'stockroute-reconcile' LOOP
        EXECUTE 'SELECT cron.unschedule($1)' USING j;
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$$;

COMMENT ON FUNCTION stockroute.unschedule_jobs() IS
    'Remove the pg_cron jobs schedule_jobs() registered; returns how many. Raises SR040 when pg_cron is not installed here';

-- Dashboards --------------------------------------------------------------------

-- node_health is in sql/60_operations.sql: it reads the capacity and
-- rejection tables created there

CREATE OR REPLACE VIEW stockroute.inventory_position AS
SELECT s.node_id, s.sku, s.on_hand, s.reserved, s.safety_stock, s.available, s.reorder_point,
       s.reorder_point > 0 AND s.available <= s.reorder_point AS below_reorder_point,
       greatest(s.reserved - s.on_hand, 0) AS shortfall,
       n.status = 'active' AND NOT n.stale AS routable,
       s.counted_at, s.updated_at
  FROM stockroute.stock s
  JOIN stockroute.node n ON n.node_id = s.node_id;

COMMENT ON VIEW stockroute.inventory_position IS
    'Per SKU and node: on hand, reserved, safety stock, available, reorder point, shortfall, whether routing may use it';

CREATE OR REPLACE VIEW stockroute.network_position AS
SELECT s.sku,
       count(*) AS nodes,
       sum(s.on_hand) AS on_hand,
       sum(s.reserved) AS reserved,
       sum(s.safety_stock) AS safety_stock,
       sum(s.available) AS available,
       coalesce(sum(s.available) FILTER (WHERE n.status = 'active' AND NOT n.stale), 0) AS routable_available,
       count(*) FILTER (WHERE s.on_hand < s.reserved) AS nodes_short,
       count(*) FILTER (WHERE s.reorder_point > 0 AND s.available <= s.reorder_point) AS nodes_low,
       coalesce((SELECT sum(b.qty) FROM stockroute.backorder b
                  WHERE b.sku = s.sku AND b.status = 'open'), 0) AS backordered
  FROM stockroute.stock s
  JOIN stockroute.node n ON n.node_id = s.node_id
 GROUP BY s.sku;

COMMENT ON VIEW stockroute.network_position IS
    'Per SKU over all nodes: on hand, reserved, available (all nodes and routable ones), nodes short or low, units backordered';

CREATE OR REPLACE VIEW stockroute.discrepancy AS
SELECT a.alert_id, a.kind, a.node_id, a.sku, a.status, a.detail, a.raised_at, a.resolved_at,
       (a.detail->>'run_id')::bigint AS run_id,
       a.lot_code
  FROM stockroute.alert a
 WHERE a.kind IN ('drift', 'shortfall', 'sync_gap', 'stale_node');

COMMENT ON VIEW stockroute.discrepancy IS
    'What sync and reconciliation found wrong between the record and the locations (drift, shortfall, sync gap, stale node), when, the reconcile run that last saw it (NULL: seen by ingest only), and the lot of a lot shortfall';
