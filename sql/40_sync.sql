-- stockroute install script, part 4: inventory sync — ingest() of location
-- events, the flat-file staging path, alerts.  See docs/sync.md.
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

-- Internal: one parsed event of a batch.
CREATE TYPE stockroute.ingest_item AS (
    ord             integer,
    node_id         text,
    idempotency_key text,
    seq             bigint,
    kind            text,
    sku             text,
    lot_code        text,
    qty             bigint,
    delta           bigint,
    order_ref       text,
    occurred_at     timestamptz,
    status          text,
    error           text,
    payload         jsonb,
    event_id        uuid);

COMMENT ON TYPE stockroute.ingest_item IS 'Internal: one parsed event of an ingest() batch';

CREATE FUNCTION stockroute.ingest_parse_time(text)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'ingest_parse_time'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION stockroute.ingest_parse_time(text) IS
    'The timestamptz a string denotes, or NULL where timestamptz input would fail; relative words (now, today, yesterday, epoch, infinity) and strings not starting with a digit give NULL too';

CREATE FUNCTION stockroute.repair_reserved(node_id text, sku text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'reservation_repair_reserved'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION stockroute.repair_reserved(text, text) IS
    'Set stock.reserved (and lot.reserved) of one stock row to the sum of its active reservations; used by reconcile() when invariant 2 is broken';

-- ingest, seen here as DAL-3PL's webhook would see it; the recent-latency
-- index serves node_health
CREATE INDEX event_node_received_idx ON stockroute.event (node_id, received_at);

-- Alerts ----------------------------------------------------------------------

CREATE FUNCTION stockroute.raise_alert(kind text, node_id text, sku text, detail jsonb)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_kind    ALIAS FOR $1;
    p_node_id ALIAS FOR $2;
    p_sku     ALIAS FOR $3;
    p_detail  ALIAS FOR $4;
    new_id    uuid;
BEGIN
    INSERT INTO stockroute.alert AS a (kind, node_id, sku, detail)
    VALUES (p_kind, p_node_id, p_sku, coalesce(p_detail, '{}'))
    ON CONFLICT (kind, coalesce(node_id, ''), coalesce(sku, '')) WHERE status = 'open'
    DO NOTHING
    RETURNING a.alert_id INTO new_id;
    IF new_id IS NULL THEN
        -- already open: keep one row, with the latest detail
        UPDATE stockroute.alert a SET detail = coalesce(p_detail, '{}')
         WHERE a.kind = p_kind AND a.status = 'open'
           AND coalesce(a.node_id, '') = coalesce(p_node_id, '')
           AND coalesce(a.sku, '') = coalesce(p_sku, '')
           AND a.detail IS DISTINCT FROM coalesce(p_detail, '{}');
        RETURN false;
    END IF;
    INSERT INTO stockroute.outbox (topic, node_id, payload)
    VALUES ('alert', p_node_id,
            jsonb_build_object('alert_id', new_id, 'kind', p_kind, 'node_id', p_node_id,
                               'sku', p_sku, 'detail', coalesce(p_detail, '{}')));
    PERFORM pg_notify('stockroute',
        jsonb_build_object('topic', 'alert', 'alert_id', new_id, 'kind', p_kind,
                           'node_id', left(p_node_id, 200), 'sku', left(p_sku, 200))::text);
    RETURN true;
END;
$$;

COMMENT ON FUNCTION stockroute.raise_alert(text, text, text, jsonb) IS
    'Open an alert unless one of that kind is open for the node and SKU (then refresh its detail); a new alert also goes to outbox and NOTIFY stockroute. Returns true when it opened one';

CREATE FUNCTION stockroute.resolve_alert(kind text, node_id text, sku text)
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
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u);
$$;

COMMENT ON FUNCTION stockroute.resolve_alert(text, text, text) IS
    'Resolve the open alert of a kind for a node and SKU, if any; returns true when it resolved one';

-- ingest -----------------------------------------------------------------------

CREATE FUNCTION stockroute.ingest(events jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    now_ts     timestamptz := clock_timestamp();
    -- calling into the library defines its GUCs if this session has not yet
    loaded     boolean := stockroute.ingest_parse_time('2000-01-01 00:00+00') IS NOT NULL;
    skew       interval := current_setting('stockroute.max_event_skew')::interval;
    max_n      integer := current_setting('stockroute.max_batch_events')::integer;
    items      stockroute.ingest_item[];
    claimed    uuid[];
    n_locked   bigint;
    bad        record;
    n_claimed  integer;
    has_lot    boolean;
    has_ship   boolean;
    takes      jsonb;
    g          record;
    reply      jsonb;
BEGIN
    -- batch-level errors: nothing is recorded or changed
    IF events IS NULL THEN
        RAISE EXCEPTION 'events must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF jsonb_typeof(events) <> 'array' THEN
        RAISE EXCEPTION 'events must be a jsonb array, got %', jsonb_typeof(events)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_array_length(events) > max_n THEN
        RAISE EXCEPTION 'events has % elements, more than stockroute.max_batch_events (%)',
                        jsonb_array_length(events), max_n
            USING ERRCODE = 'program_limit_exceeded',
                  HINT = 'Split the batch, or raise stockroute.max_batch_events.';
    END IF;
    SELECT x.ord - 1 AS idx, jsonb_typeof(x.e) AS t INTO bad
      FROM jsonb_array_elements(events) WITH ORDINALITY x(e, ord)
     WHERE jsonb_typeof(x.e) <> 'object'
     ORDER BY x.ord LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'events[%] must be an object, got %', bad.idx, bad.t
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- 1. parse and validate every event; the first failing check is its error
    SELECT array_agg(ROW(v.ord, v.node_id, v.idempotency_key, v.seq, v.kind, v.sku, v.lot_code,
                         v.qty,
                         CASE v.kind WHEN 'receipt' THEN v.qty WHEN 'adjust' THEN v.qty
                                     WHEN 'count' THEN NULL ELSE -v.qty END,
                         v.order_ref, v.occurred_at,
                         v.status, v.error, v.e, gen_random_uuid())::stockroute.ingest_item ORDER BY v.ord),
           count(*) FILTER (WHERE v.status = 'applied'),
           coalesce(bool_or(v.lot_code IS NOT NULL AND v.status = 'applied'), false),
           coalesce(bool_or(v.kind = 'ship' AND v.status = 'applied'), false)
      INTO items, n_claimed, has_lot, has_ship
      FROM (SELECT q.*,
                   CASE WHEN q.error IS NOT NULL THEN 'rejected'
                        WHEN q.rank > 1 THEN 'duplicate'
                        -- claimed by an earlier batch (the partial unique index answers)
                        WHEN EXISTS (SELECT 1 FROM stockroute.event e
                                      WHERE e.node_id = q.node_id AND e.idempotency_key = q.idempotency_key
                                        AND e.status <> 'rejected' AND e.status <> 'duplicate')
                          THEN 'duplicate'
                        ELSE 'applied' END AS status
      FROM (SELECT p.*,
                   row_number() OVER (PARTITION BY p.node_id, p.idempotency_key, p.error IS NULL
                                      ORDER BY p.ord) AS rank
              FROM (SELECT x.ord, x.e, f.node_id, f.idempotency_key, f.seq, f.kind, f.sku,
                           f.lot_code, f.qty, f.order_ref, f.occurred_at,
                CASE
                  WHEN f.missing_node THEN 'node_id is required'
                  WHEN f.node_id IS NULL THEN format('node_id must be a string, got %s', x.e->'node_id')
                  WHEN n.node_id IS NULL THEN format('node_id %s does not exist', x.e->'node_id')
                  WHEN coalesce(jsonb_typeof(x.e->'idempotency_key'), 'null') = 'null'
                    THEN 'idempotency_key is required'
                  WHEN f.idempotency_key IS NULL OR f.idempotency_key = ''
                    THEN format('idempotency_key must be a non-empty string, got %s', x.e->'idempotency_key')
                  WHEN coalesce(jsonb_typeof(x.e->'seq'), 'null') <> 'null' AND f.seq IS NULL
                    THEN format('seq must be a non-negative integer, got %s', x.e->'seq')
                  WHEN coalesce(jsonb_typeof(x.e->'kind'), 'null') = 'null' THEN 'kind is required'
                  WHEN f.kind IS NULL OR f.kind NOT IN ('receipt', 'adjust', 'sale', 'ship', 'count')
                    THEN format('kind %s is not one of receipt, adjust, sale, ship, count', x.e->'kind')
                  WHEN coalesce(jsonb_typeof(x.e->'sku'), 'null') = 'null' THEN 'sku is required'
                  WHEN f.sku IS NULL THEN format('sku must be a string, got %s', x.e->'sku')
                  WHEN i.sku IS NULL THEN format('sku %s does not exist', x.e->'sku')
                  WHEN coalesce(jsonb_typeof(x.e->'qty'), 'null') = 'null' THEN 'qty is required'
                  WHEN f.qty IS NULL
                    THEN format('qty must be an integer between -10^15 and 10^15, got %s', x.e->'qty')
                  WHEN f.kind IN ('receipt', 'sale', 'ship') AND f.qty <= 0
                    THEN format('qty must be positive for a %s, got %s', f.kind, f.qty)
                  WHEN f.kind = 'adjust' AND f.qty = 0 THEN 'qty must not be zero for an adjust'
                  WHEN f.kind = 'count' AND f.qty < 0
                    THEN format('qty must not be negative for a count, got %s', f.qty)
                  WHEN coalesce(jsonb_typeof(x.e->'lot_code'), 'null') <> 'null'
                       AND (f.lot_code IS NULL OR f.lot_code = '')
                    THEN format('lot_code must be a non-empty string, got %s', x.e->'lot_code')
                  WHEN coalesce(jsonb_typeof(x.e->'occurred_at'), 'null') = 'null' THEN 'occurred_at is required'
                  WHEN f.occurred_at IS NULL
                    THEN format('occurred_at must be a timestamp with time zone, got %s', x.e->'occurred_at')
                  WHEN f.occurred_at > now_ts + skew
                    THEN format('occurred_at %s is more than stockroute.max_event_skew (%s) in the future',
                                x.e->'occurred_at', current_setting('stockroute.max_event_skew'))
                  WHEN f.kind = 'ship' AND coalesce(jsonb_typeof(x.e->'order_ref'), 'null') = 'null'
                    THEN 'order_ref is required for a ship'
                  WHEN coalesce(jsonb_typeof(x.e->'order_ref'), 'null') <> 'null'
                       AND (f.order_ref IS NULL OR f.order_ref = '')
                    THEN format('order_ref must be a non-empty string, got %s', x.e->'order_ref')
                END AS error
              FROM jsonb_array_elements(events) WITH ORDINALITY x(e, ord)
             CROSS JOIN LATERAL (
                SELECT coalesce(jsonb_typeof(x.e->'node_id'), 'null') = 'null' AS missing_node,
                       CASE WHEN jsonb_typeof(x.e->'node_id') = 'string' THEN x.e->>'node_id' END AS node_id,
                       CASE WHEN jsonb_typeof(x.e->'idempotency_key') = 'string'
                            THEN x.e->>'idempotency_key' END AS idempotency_key,
                       CASE WHEN jsonb_typeof(x.e->'seq') = 'number'
                             AND (x.e->'seq')::numeric = trunc((x.e->'seq')::numeric)
                             AND (x.e->'seq')::numeric BETWEEN 0 AND 9223372036854775807
                            THEN (x.e->'seq')::numeric::bigint END AS seq,
                       CASE WHEN jsonb_typeof(x.e->'kind') = 'string' THEN x.e->>'kind' END AS kind,
                       CASE WHEN jsonb_typeof(x.e->'sku') = 'string' THEN x.e->>'sku' END AS sku,
                       CASE WHEN jsonb_typeof(x.e->'lot_code') = 'string' AND x.e->>'lot_code' <> ''
                            THEN x.e->>'lot_code' END AS lot_code,
                       CASE WHEN jsonb_typeof(x.e->'qty') = 'number'
                             AND (x.e->'qty')::numeric = trunc((x.e->'qty')::numeric)
                             AND abs((x.e->'qty')::numeric) <= 1e15
                            THEN (x.e->'qty')::numeric::bigint END AS qty,
                       CASE WHEN jsonb_typeof(x.e->'order_ref') = 'string' AND x.e->>'order_ref' <> ''
                            THEN x.e->>'order_ref' END AS order_ref,
                       CASE WHEN jsonb_typeof(x.e->'occurred_at') = 'string'
                            THEN stockroute.ingest_parse_time(x.e->>'occurred_at') END AS occurred_at
                 OFFSET 0       -- compute each field once, not at every reference
             ) f
              LEFT JOIN stockroute.node n ON n.node_id = f.node_id
              LEFT JOIN stockroute.item i ON i.sku = f.sku
             OFFSET 0) p
             OFFSET 0) q
             OFFSET 0) v;

    IF items IS NULL THEN
        RETURN jsonb_build_object('applied', 0, 'duplicate', 0, 'superseded', 0, 'rejected', 0,
                                  'results', '[]'::jsonb);
    END IF;

    -- 2. record every event.  A valid event claims its (node_id,
    -- idempotency_key) in the partial unique index; when a concurrent batch
    -- claimed it first (ON CONFLICT waits for that one to commit), this one
    -- is a duplicate after all.
    --
    -- Every join below pairs the batch with a table through an index, never
    -- the batch with itself: the planner cannot know the batch's size and a
    -- nested loop of the batch over itself would cost n².
    WITH ins AS (
        INSERT INTO stockroute.event AS ev
               (event_id, node_id, idempotency_key, seq, kind, sku, lot_code, qty, delta, order_ref,
                occurred_at, received_at, status, error, payload)
        SELECT i.event_id, i.node_id, i.idempotency_key, i.seq, i.kind, i.sku, i.lot_code, i.qty,
               i.delta, i.order_ref, i.occurred_at, now_ts, i.status, i.error, i.payload
          FROM unnest(items) i
         ORDER BY i.ord
        ON CONFLICT (node_id, idempotency_key) WHERE status <> 'rejected' AND status <> 'duplicate'
        DO NOTHING
        RETURNING ev.event_id, ev.status)
    SELECT coalesce(array_agg(ins.event_id) FILTER (WHERE ins.status = 'applied'), '{}')
      INTO claimed FROM ins;

    IF cardinality(claimed) < n_claimed THEN
        SELECT array_agg(ROW(i.ord, i.node_id, i.idempotency_key, i.seq, i.kind, i.sku, i.lot_code,
                             i.qty, i.delta, i.order_ref, i.occurred_at,
                             CASE WHEN i.status = 'applied' AND NOT (i.event_id = ANY (claimed))
                                  THEN 'duplicate' ELSE i.status END,
                             i.error, i.payload, i.event_id)::stockroute.ingest_item ORDER BY i.ord)
          INTO items
          FROM unnest(items) i;
        INSERT INTO stockroute.event
               (event_id, node_id, idempotency_key, seq, kind, sku, lot_code, qty, delta, order_ref,
                occurred_at, received_at, status, error, payload)
        SELECT i.event_id, i.node_id, i.idempotency_key, i.seq, i.kind, i.sku, i.lot_code, i.qty,
               i.delta, i.order_ref, i.occurred_at, now_ts, 'duplicate', NULL, i.payload
          FROM unnest(items) i
         WHERE i.status = 'duplicate' AND NOT (i.event_id = ANY (claimed))
           AND NOT EXISTS (SELECT 1 FROM stockroute.event e WHERE e.event_id = i.event_id);
        SELECT count(*) FILTER (WHERE i.status = 'applied'),
               coalesce(bool_or(i.lot_code IS NOT NULL AND i.status = 'applied'), false),
               coalesce(bool_or(i.kind = 'ship' AND i.status = 'applied'), false)
          INTO n_claimed, has_lot, has_ship
          FROM unnest(items) i;
    END IF;
    -- from here on, status 'applied' in items means "claimed": applied or superseded

    IF n_claimed > 0 THEN
        -- 3. lock the stock rows in canonical (node_id, sku) order.  A
        -- missing row (or lot) comes into being with its first event, of
        -- any kind: rejecting a sale of a lot whose receipt is still on its
        -- way would make the outcome depend on arrival order.
        SELECT count(*) INTO n_locked
          FROM (SELECT 1 FROM stockroute.stock s
                 WHERE (s.node_id, s.sku) IN (SELECT i.node_id, i.sku FROM unnest(items) i
                                               WHERE i.status = 'applied')
                 ORDER BY s.node_id, s.sku
                   FOR NO KEY UPDATE OF s) x;
        IF n_locked < (SELECT count(DISTINCT (i.node_id, i.sku)) FROM unnest(items) i
                        WHERE i.status = 'applied') THEN
            INSERT INTO stockroute.stock (node_id, sku)
            SELECT DISTINCT i.node_id, i.sku FROM unnest(items) i
             WHERE i.status = 'applied'
               AND NOT EXISTS (SELECT 1 FROM stockroute.stock s WHERE s.node_id = i.node_id AND s.sku = i.sku)
            ON CONFLICT DO NOTHING;
            PERFORM 1 FROM stockroute.stock s
             WHERE (s.node_id, s.sku) IN (SELECT i.node_id, i.sku FROM unnest(items) i WHERE i.status = 'applied')
             ORDER BY s.node_id, s.sku
               FOR NO KEY UPDATE OF s;
        END IF;

        IF has_lot THEN
            INSERT INTO stockroute.lot (node_id, sku, lot_code)
            SELECT DISTINCT i.node_id, i.sku, i.lot_code FROM unnest(items) i
             WHERE i.status = 'applied' AND i.lot_code IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM stockroute.lot l
                                WHERE l.node_id = i.node_id AND l.sku = i.sku AND l.lot_code = i.lot_code)
            ON CONFLICT DO NOTHING;
            PERFORM 1 FROM stockroute.lot l
             WHERE (l.node_id, l.sku, l.lot_code) IN
                   (SELECT i.node_id, i.sku, i.lot_code FROM unnest(items) i
                     WHERE i.status = 'applied' AND i.lot_code IS NOT NULL)
             ORDER BY l.node_id, l.sku, l.lot_code
               FOR NO KEY UPDATE OF l;

            -- 4. lot events: the lot's on_hand under its own count; the stock
            -- row moves by the lot's net change
            WITH k AS (
                SELECT a.*,
                       coalesce(a.w_at IS NOT NULL
                                AND (a.old_at IS NULL OR (a.w_at, a.w_key) > (a.old_at, a.old_key)),
                                false) AS wins
                  FROM (SELECT i.node_id, i.sku, i.lot_code,
                               min(l.on_hand) AS old_on_hand, min(l.counted_at) AS old_at,
                               min(l.count_key) AS old_key,
                               (array_agg(i.occurred_at ORDER BY i.occurred_at DESC, i.idempotency_key DESC)
                                  FILTER (WHERE i.kind = 'count'))[1] AS w_at,
                               (array_agg(i.idempotency_key ORDER BY i.occurred_at DESC, i.idempotency_key DESC)
                                  FILTER (WHERE i.kind = 'count'))[1] AS w_key,
                               (array_agg(i.qty ORDER BY i.occurred_at DESC, i.idempotency_key DESC)
                                  FILTER (WHERE i.kind = 'count'))[1] AS w_qty,
                               sum(i.delta) FILTER (WHERE l.counted_at IS NULL
                                                       OR i.occurred_at > l.counted_at) AS after_old
                          FROM unnest(items) i
                          JOIN stockroute.lot l
                            ON l.node_id = i.node_id AND l.sku = i.sku AND l.lot_code = i.lot_code
                         WHERE i.status = 'applied' AND i.lot_code IS NOT NULL
                         GROUP BY 1, 2, 3) a),
            upd AS (
                UPDATE stockroute.lot l
                   SET on_hand = CASE WHEN k.wins
                                      THEN k.w_qty + coalesce((SELECT sum(e.delta) FROM stockroute.event e
                                                                WHERE e.sku = k.sku AND e.node_id = k.node_id
                                                                  AND e.occurred_at > k.w_at
                                                                  AND e.lot_code = k.lot_code
                                                                  AND e.status = 'applied'), 0)
                                      ELSE l.on_hand + coalesce(k.after_old, 0) END,
                       counted_at = CASE WHEN k.wins THEN k.w_at ELSE l.counted_at END,
                       count_key = CASE WHEN k.wins THEN k.w_key ELSE l.count_key END
                  FROM k
                 WHERE l.node_id = k.node_id AND l.sku = k.sku AND l.lot_code = k.lot_code
                   AND (k.wins OR k.after_old IS NOT NULL)
                RETURNING l.node_id, l.sku, l.lot_code, l.on_hand - k.old_on_hand AS diff, k.wins,
                          k.old_at, l.counted_at AS new_at, l.count_key AS new_key),
            sup AS (
                -- a new count in force supersedes the applied events it covers
                UPDATE stockroute.event e SET status = 'superseded'
                  FROM upd
                 WHERE upd.wins AND e.sku = upd.sku AND e.node_id = upd.node_id
                   AND e.lot_code = upd.lot_code AND e.status = 'applied'
                   AND e.occurred_at >= coalesce(upd.old_at, '-infinity') AND e.occurred_at <= upd.new_at
                   AND NOT (e.kind = 'count' AND e.occurred_at = upd.new_at
                            AND e.idempotency_key = upd.new_key))
            UPDATE stockroute.stock s
               SET on_hand = s.on_hand + net.diff
              FROM (SELECT upd.node_id, upd.sku, sum(upd.diff) AS diff FROM upd GROUP BY 1, 2) net
             WHERE s.node_id = net.node_id AND s.sku = net.sku AND net.diff <> 0;

            -- batch events the final count covers
            UPDATE stockroute.event e SET status = 'superseded'
              FROM unnest(items) i
              JOIN stockroute.lot l ON l.node_id = i.node_id AND l.sku = i.sku AND l.lot_code = i.lot_code
             WHERE i.status = 'applied' AND i.lot_code IS NOT NULL AND l.counted_at IS NOT NULL
               AND e.event_id = i.event_id AND e.status = 'applied'
               AND ((i.kind <> 'count' AND i.occurred_at <= l.counted_at)
                    OR (i.kind = 'count'
                        AND (i.occurred_at, i.idempotency_key) IS DISTINCT FROM (l.counted_at, l.count_key)));
        END IF;

        -- 5. stock-level events (no lot_code), the same rules per (node_id, sku)
        WITH k AS (
            SELECT a.*,
                   coalesce(a.w_at IS NOT NULL
                            AND (a.old_at IS NULL OR (a.w_at, a.w_key) > (a.old_at, a.old_key)),
                            false) AS wins
              FROM (SELECT i.node_id, i.sku,
                           min(s.counted_at) AS old_at, min(s.count_key) AS old_key,
                           (array_agg(i.occurred_at ORDER BY i.occurred_at DESC, i.idempotency_key DESC)
                              FILTER (WHERE i.kind = 'count'))[1] AS w_at,
                           (array_agg(i.idempotency_key ORDER BY i.occurred_at DESC, i.idempotency_key DESC)
                              FILTER (WHERE i.kind = 'count'))[1] AS w_key,
                           (array_agg(i.qty ORDER BY i.occurred_at DESC, i.idempotency_key DESC)
                              FILTER (WHERE i.kind = 'count'))[1] AS w_qty,
                           sum(i.delta) FILTER (WHERE s.counted_at IS NULL
                                                   OR i.occurred_at > s.counted_at) AS after_old
                      FROM unnest(items) i
                      JOIN stockroute.stock s ON s.node_id = i.node_id AND s.sku = i.sku
                     WHERE i.status = 'applied' AND i.lot_code IS NULL
                     GROUP BY 1, 2) a),
        upd AS (
            UPDATE stockroute.stock s
               SET on_hand = CASE WHEN k.wins
                                  THEN k.w_qty + coalesce((SELECT sum(e.delta) FROM stockroute.event e
                                                            WHERE e.sku = k.sku AND e.node_id = k.node_id
                                                              AND e.occurred_at > k.w_at
                                                              AND e.lot_code IS NULL
                                                              AND e.status = 'applied'), 0)
                                  ELSE s.on_hand + coalesce(k.after_old, 0) END,
                   counted_at = CASE WHEN k.wins THEN k.w_at ELSE s.counted_at END,
                   count_key = CASE WHEN k.wins THEN k.w_key ELSE s.count_key END
              FROM k
             WHERE s.node_id = k.node_id AND s.sku = k.sku
               AND (k.wins OR k.after_old IS NOT NULL)
            RETURNING s.node_id, s.sku, k.wins, k.old_at, s.counted_at AS new_at, s.count_key AS new_key)
        UPDATE stockroute.event e SET status = 'superseded'
          FROM upd
         WHERE upd.wins AND e.sku = upd.sku AND e.node_id = upd.node_id
           AND e.lot_code IS NULL AND e.status = 'applied'
           AND e.occurred_at >= coalesce(upd.old_at, '-infinity') AND e.occurred_at <= upd.new_at
           AND NOT (e.kind = 'count' AND e.occurred_at = upd.new_at AND e.idempotency_key = upd.new_key);

        UPDATE stockroute.event e SET status = 'superseded'
          FROM unnest(items) i
          JOIN stockroute.stock s ON s.node_id = i.node_id AND s.sku = i.sku
         WHERE i.status = 'applied' AND i.lot_code IS NULL AND s.counted_at IS NOT NULL
           AND e.event_id = i.event_id AND e.status = 'applied'
           AND ((i.kind <> 'count' AND i.occurred_at <= s.counted_at)
                OR (i.kind = 'count'
                    AND (i.occurred_at, i.idempotency_key) IS DISTINCT FROM (s.counted_at, s.count_key)));

        -- 6. a ship consumes the order's active reservations of that SKU at
        -- that node, once per ship event (its claim makes it once), in any
        -- arrival order: committed before held, oldest first.  Its on_hand
        -- effect is its delta above, nothing else.
        IF has_ship THEN
            WITH sh AS (
                SELECT i.order_ref, i.node_id, i.sku, sum(i.qty) AS shipped
                  FROM unnest(items) i
                 WHERE i.status = 'applied' AND i.kind = 'ship'
                 GROUP BY 1, 2, 3),
            r AS (
                SELECT r.sku, r.reservation_id, r.node_id, r.lot_code, r.qty, r.status,
                       sh.shipped - (sum(r.qty) OVER (PARTITION BY r.order_ref, r.node_id, r.sku
                                                      ORDER BY r.status = 'committed' DESC, r.created_at,
                                                               r.reservation_id) - r.qty) AS left_before
                  FROM sh
                  JOIN stockroute.reservation r
                    ON r.order_ref = sh.order_ref AND r.node_id = sh.node_id AND r.sku = sh.sku
                   AND r.status IN ('held', 'committed'))
            SELECT jsonb_agg(jsonb_build_object('sku', r.sku, 'reservation_id', r.reservation_id,
                                                'node_id', r.node_id, 'lot_code', r.lot_code,
                                                'qty', r.qty, 'status', r.status,
                                                'take', least(r.qty, r.left_before)))
              INTO takes
              FROM r WHERE r.left_before > 0;

            IF takes IS NOT NULL THEN
                -- wholly shipped: held -> committed -> fulfilled.  The trigger
                -- takes the units off reserved and on_hand together; the ship's
                -- delta already took them off on_hand, so they go back.
                UPDATE stockroute.reservation r SET status = 'committed'
                  FROM jsonb_to_recordset(takes) t(sku text, reservation_id uuid, qty bigint, take bigint)
                 WHERE r.sku = t.sku AND r.reservation_id = t.reservation_id
                   AND t.take = t.qty AND r.status = 'held' AND r.qty = t.qty;
                WITH f AS (
                    UPDATE stockroute.reservation r SET status = 'fulfilled'
                      FROM jsonb_to_recordset(takes) t(sku text, reservation_id uuid, qty bigint, take bigint)
                     WHERE r.sku = t.sku AND r.reservation_id = t.reservation_id
                       AND t.take = t.qty AND r.status = 'committed' AND r.qty = t.qty
                    RETURNING r.node_id, r.sku, r.lot_code, r.qty),
                lb AS (
                    UPDATE stockroute.lot l SET on_hand = l.on_hand + x.qty
                      FROM (SELECT f.node_id, f.sku, f.lot_code, sum(f.qty) AS qty
                              FROM f WHERE f.lot_code IS NOT NULL GROUP BY 1, 2, 3) x
                     WHERE l.node_id = x.node_id AND l.sku = x.sku AND l.lot_code = x.lot_code
                    RETURNING 1)
                UPDATE stockroute.stock s SET on_hand = s.on_hand + x.qty
                  FROM (SELECT f.node_id, f.sku, sum(f.qty) AS qty FROM f GROUP BY 1, 2) x
                 WHERE s.node_id = x.node_id AND s.sku = x.sku;
                -- partly shipped: the rest stays reserved
                UPDATE stockroute.reservation r SET qty = r.qty - t.take
                  FROM jsonb_to_recordset(takes) t(sku text, reservation_id uuid, qty bigint, take bigint)
                 WHERE r.sku = t.sku AND r.reservation_id = t.reservation_id
                   AND t.take < t.qty AND r.status IN ('held', 'committed') AND r.qty = t.qty;
            END IF;
        END IF;

        -- 7. invariant 4: physical truth was applied; say so when it left a
        -- node short of what it promised, and stand down when it no longer is
        PERFORM stockroute.raise_alert('shortfall', s.node_id, s.sku,
                    jsonb_build_object('on_hand', s.on_hand, 'reserved', s.reserved,
                                       'short', s.reserved - s.on_hand, 'source', 'ingest'))
           FROM stockroute.stock s
          WHERE (s.node_id, s.sku) IN (SELECT i.node_id, i.sku FROM unnest(items) i WHERE i.status = 'applied')
            AND s.on_hand < s.reserved
          ORDER BY s.node_id, s.sku;
        IF EXISTS (SELECT 1 FROM stockroute.alert a WHERE a.kind = 'shortfall' AND a.status = 'open') THEN
            UPDATE stockroute.alert a SET status = 'resolved', resolved_at = now()
              FROM stockroute.stock s
             WHERE a.kind = 'shortfall' AND a.status = 'open'
               AND a.node_id = s.node_id AND a.sku = s.sku AND s.on_hand >= s.reserved
               AND (s.node_id, s.sku) IN (SELECT i.node_id, i.sku FROM unnest(items) i
                                           WHERE i.status = 'applied');
        END IF;
    END IF;

    -- 8. the nodes heard from: last event, sequence coverage, not stale
    FOR g IN
        WITH agg AS (
            SELECT i.node_id,
                   min(i.seq) FILTER (WHERE i.status = 'applied') AS smin,
                   max(i.seq) FILTER (WHERE i.status = 'applied') AS smax,
                   count(i.seq) FILTER (WHERE i.status = 'applied') AS scount,
                   max(i.occurred_at) FILTER (WHERE i.status = 'applied') AS last_occ
              FROM unnest(items) i
             WHERE i.node_id IS NOT NULL
             GROUP BY i.node_id),
        locked AS (
            SELECT n.node_id, n.stale AS was_stale FROM stockroute.node n
             WHERE n.node_id IN (SELECT agg.node_id FROM agg)
             ORDER BY n.node_id
               FOR NO KEY UPDATE OF n),
        u AS (
            UPDATE stockroute.node n
               SET last_event_at = greatest(n.last_event_at, now_ts),
                   last_occurred_at = greatest(n.last_occurred_at, agg.last_occ),
                   seq_min = least(n.seq_min, agg.smin),
                   seq_max = greatest(n.seq_max, agg.smax),
                   seq_count = n.seq_count + agg.scount,
                   stale = false
              FROM agg
             WHERE n.node_id = agg.node_id AND n.node_id IN (SELECT locked.node_id FROM locked)
            RETURNING n.node_id, n.seq_min, n.seq_max, n.seq_count, agg.scount)
        SELECT u.*, u.seq_max - u.seq_min + 1 - u.seq_count AS missing, locked.was_stale
          FROM u JOIN locked ON locked.node_id = u.node_id ORDER BY u.node_id
    LOOP
        IF g.missing > 0 THEN
            PERFORM stockroute.raise_alert('sync_gap', g.node_id, NULL,
                        jsonb_build_object('seq_min', g.seq_min, 'seq_max', g.seq_max,
                                           'received', g.seq_count, 'missing', g.missing));
        ELSIF g.scount > 0 THEN
            PERFORM stockroute.resolve_alert('sync_gap', g.node_id, NULL);
        END IF;
        IF g.was_stale THEN
            PERFORM stockroute.resolve_alert('stale_node', g.node_id, NULL);
        END IF;
    END LOOP;

    -- 9. the reply, in input order, with each event's final outcome
    SELECT jsonb_build_object(
               'applied', count(*) FILTER (WHERE o.status = 'applied'),
               'duplicate', count(*) FILTER (WHERE o.status = 'duplicate'),
               'superseded', count(*) FILTER (WHERE o.status = 'superseded'),
               'rejected', count(*) FILTER (WHERE o.status = 'rejected'),
               'results', jsonb_agg(jsonb_build_object('idempotency_key', o.idempotency_key,
                                                       'status', o.status, 'error', o.error)
                                    ORDER BY o.ord))
      INTO reply
      FROM (SELECT i.ord, i.idempotency_key, i.error,
                   CASE WHEN i.status = 'applied' THEN e.status ELSE i.status END AS status
              FROM unnest(items) i
              LEFT JOIN stockroute.event e ON e.event_id = i.event_id AND i.status = 'applied') o;
    RETURN reply;
END;
$$;

COMMENT ON FUNCTION stockroute.ingest(jsonb) IS
    'Apply a batch of location events (receipt, adjust, sale, ship, count): idempotent per (node_id, idempotency_key), order-independent, malformed events rejected and recorded';

-- Flat files ---------------------------------------------------------------------

CREATE TABLE stockroute.event_staging (
    staged_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id         text,
    idempotency_key text,
    seq             text,
    kind            text,
    sku             text,
    qty             text,
    lot_code        text,
    occurred_at     text,
    order_ref       text,
    file_name       text DEFAULT nullif(pg_catalog.current_setting('stockroute.staging_file', true), ''),
    line_no         bigint,
    staged_at       timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE INDEX event_staging_file_idx ON stockroute.event_staging (file_name, staged_id);

-- staged rows not yet ingested survive a dump and restore
SELECT pg_catalog.pg_extension_config_dump('stockroute.event_staging', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.event_staging_staged_id_seq', '');

COMMENT ON TABLE stockroute.event_staging IS
    'Events from flat files, as text, waiting for ingest_staged(): \copy stockroute.event_staging (node_id, idempotency_key, seq, kind, sku, qty, lot_code, occurred_at, order_ref) FROM ''x.csv'' CSV HEADER';
COMMENT ON COLUMN stockroute.event_staging.file_name IS
    'source file; defaults to the setting stockroute.staging_file';
COMMENT ON COLUMN stockroute.event_staging.line_no IS
    'line in the file; NULL means the row''s position among the file''s staged rows plus one (a header line)';

CREATE FUNCTION stockroute.ingest_staged(file_name text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
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
