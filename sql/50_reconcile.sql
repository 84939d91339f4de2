-- stockroute, reconciliation: reconcile() (its run log is in
-- sql/schema/50_reconcile.sql), pg_cron scheduling and the dashboard views.
-- See docs/sync.md.
--
-- A "replace" part (sql/manifest): it runs in the install script and again
-- in every update, so each statement creates or replaces.

-- Shortfalls ------------------------------------------------------------------

-- Move the held reservations of a short stock row (lot_code NULL) or lot
-- off it, newest first, until `excess` units are freed: released, or
-- reduced when only part is needed.  Each freed part is placed again under
-- the same order line by the routing core, as plan() would place it on the
-- stock as it is (the order's own options, rules and lot requirements; the
-- node's other lots are stock like any other); what cannot be placed goes
-- to backorder.  Committed reservations are never moved.  Every move is a
-- decision of kind 'reroute'.  The caller holds the stock row's lock (and
-- the lot's), so every other row is taken with NOWAIT: waiting for a row
-- held by a transaction that waits for ours would be a lock cycle with live
-- traffic.  A plan whose rows are locked elsewhere is not reserved; its units
-- go to backorder, which the same run's fill_backorders() (also NOWAIT) or
-- the next places.  C: src/replace.c.
CREATE OR REPLACE FUNCTION stockroute.shortfall_reroute(node_id text, sku text, lot_code text,
                                                        excess bigint, on_hand bigint, reserved bigint)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'stockroute_shortfall_reroute'
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION stockroute.shortfall_reroute(text, text, text, bigint, bigint, bigint) IS
    'Internal (reconcile): free up to excess held units of a short stock row or lot (newest holds first) and place them again as plan() would (the order''s own options and lot requirements), the rest to backorder; returns {rerouted, backordered}';

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
    lapsed_n    text[];
    lapsed_s    text[];
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
    SELECT array_agg(x.node_id ORDER BY x.node_id, x.sku), array_agg(x.sku ORDER BY x.node_id, x.sku)
      INTO lapsed_n, lapsed_s
      FROM (SELECT DISTINCT r.node_id, r.sku FROM stockroute.reservation r
             WHERE r.status = 'held' AND r.expires_at <= now()) x;
    PERFORM 1
       FROM unnest(lapsed_n, lapsed_s) AS k(node_id, sku)
      CROSS JOIN LATERAL (SELECT 1 FROM stockroute.stock s
                           WHERE s.node_id = k.node_id AND s.sku = k.sku
                             FOR NO KEY UPDATE OF s) l;
    SELECT e.expired, e.units INTO n_expired, u_expired
      FROM stockroute.expire_lapsed_holds(lapsed_n, lapsed_s) e;

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
        IF cron_db IS NOT NULL AND cron_db <> current_database() THEN
            RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
                USING ERRCODE = 'SR040',
                      DETAIL = format('pg_cron runs in database "%s" (cron.database_name).', cron_db),
                      HINT = format('In database "%s" run: SELECT cron.schedule_in_database(''stockroute-reconcile'', %L, ''SELECT stockroute.reconcile()'', %L);',
                                    cron_db, p_schedule, current_database());
        END IF;
        -- pg_cron not loaded at all (cron.database_name unset), or meant for here
        RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
            USING ERRCODE = 'SR040',
                  HINT = 'Add pg_cron to shared_preload_libraries, restart the server, then CREATE EXTENSION pg_cron in the database named by cron.database_name.';
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
