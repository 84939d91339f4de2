-- stockroute, future supply and promise dates, order priority and
-- preemption, simulation and replay; the tables are in
-- sql/schema/70_supply.sql.  See docs/routing.md ("Supply and promise
-- dates", "Priority and preemption", "Simulation and replay") and
-- docs/sync.md ("Receipts against supply").  C lives in src/supply.c,
-- src/priority.c and src/simulate.c.
--
-- Lock discipline (docs/design.md "Lock order"): nothing here waits for a
-- row lock while it holds stock rows out of (node_id, sku) order.  Promise
-- dates are written with SKIP LOCKED; the prompt fill after a receipt locks
-- backorders with SKIP LOCKED and stock rows with NOWAIT; preemption locks
-- every stock row of the order's SKUs in canonical order first, then takes
-- victim holds with SKIP LOCKED.
--
-- Backorders are placed (reservations, decisions, outbox) and re-promised
-- by SECURITY DEFINER functions: fill_backorders, repromise and the
-- triggers on supply, which do both for an administrator's supply changes;
-- supply_received fires at commit, as whichever role is current then (a
-- node feed whose receipt named its purchase order).
--
-- A "replace" part (sql/manifest): it runs in the install script and again
-- in every update, so each statement creates or replaces.

-- Priority ----------------------------------------------------------------------

CREATE OR REPLACE FUNCTION stockroute.order_priority("order" jsonb)
RETURNS integer
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    -- the first that gives one: the order's own key, its segment's, 0
    RETURN (SELECT coalesce(
            CASE WHEN jsonb_typeof($1 -> 'priority') = 'number' THEN
                CASE WHEN ($1 ->> 'priority')::numeric = trunc(($1 ->> 'priority')::numeric)
                          AND ($1 ->> 'priority')::numeric BETWEEN -2147483648 AND 2147483647
                     THEN ($1 ->> 'priority')::numeric::integer END
            END,
            (SELECT sp.priority FROM stockroute.segment_priority sp
              WHERE jsonb_typeof($1 -> 'customer' -> 'segment') = 'string'
                AND sp.segment = $1 -> 'customer' ->> 'segment'),
            0));
END;
$$;

COMMENT ON FUNCTION stockroute.order_priority(jsonb) IS
    'Priority of an order document: its "priority" key (an integer), else the segment_priority of customer.segment, else 0';

CREATE OR REPLACE FUNCTION stockroute.hold_priority(order_ref text)
RETURNS integer
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN (SELECT coalesce((SELECT stockroute.order_priority(d.input)
                           FROM stockroute.decision d
                          WHERE d.order_ref = $1 AND d.kind = 'allocate'
                          ORDER BY d.created_at, d.decision_id
                          LIMIT 1), 0));
END;
$$;

COMMENT ON FUNCTION stockroute.hold_priority(text) IS
    'Priority of the order behind a reservation: order_priority of its allocate() decision, 0 for holds made with reserve() alone';

-- Supply and promise dates ----------------------------------------------------

-- The routing clock's date (stockroute.now, else the transaction's start), in
-- the session's TimeZone, as plan() computes eta.
CREATE OR REPLACE FUNCTION stockroute.supply_today()
RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (coalesce(nullif(current_setting('stockroute.now', true), '')::timestamptz, now()))::date;
END;
$$;

COMMENT ON FUNCTION stockroute.supply_today() IS
    'Internal: the routing clock''s date (stockroute.now, else the transaction start) in the session time zone; supply dates and promises are as of this day';

-- The nodes whose stock and supply can be promised: routable (active, not
-- stale, SKU allowed), or as available() judged them (its "nodes" array,
-- which also knows whether a node can reach ship_to).
CREATE OR REPLACE FUNCTION stockroute.supply_nodes(sku text, nodes jsonb DEFAULT NULL)
RETURNS TABLE (node_id text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT n.node_id
      FROM stockroute.node n
      JOIN stockroute.item i ON i.sku = $1
      LEFT JOIN (SELECT x ->> 'node_id' AS node_id, bool_or((x ->> 'routable')::boolean) AS routable
                   FROM jsonb_array_elements(CASE WHEN jsonb_typeof($2) = 'array' THEN $2 ELSE '[]' END) x
                  GROUP BY 1) j ON j.node_id = n.node_id
     WHERE coalesce(j.routable,
                    n.status = 'active' AND NOT n.stale
                    AND (i.allowed_nodes IS NULL OR n.node_id = ANY (i.allowed_nodes)));
END;
$$;

COMMENT ON FUNCTION stockroute.supply_nodes(text, jsonb) IS
    'Internal: nodes whose stock and supply of a SKU count for promises: routable ones (active, not stale, SKU allowed), or as available()''s nodes array says';

-- Units of a SKU available to ship by each date: today (the stock as it is)
-- and every date open supply arrives.  Per node, the units by date d are
-- max(0, on_hand - reserved - safety_stock + supply arrived by d), so a
-- receipt first refills safety stock and shortfalls, as it will on the shelf.
CREATE OR REPLACE FUNCTION stockroute.supply_curve(sku text, nodes jsonb DEFAULT NULL, taken jsonb DEFAULT NULL)
RETURNS TABLE (on_date date, arriving bigint, units bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH today AS (SELECT stockroute.supply_today() AS d),
    counted AS (SELECT c.node_id FROM stockroute.supply_nodes($1, $2) c),
    sup AS (
        SELECT s.node_id, greatest(s.expected_on, (SELECT d FROM today)) AS d,
               sum(s.qty - s.received_qty) AS q
          FROM stockroute.supply s
         WHERE s.sku = $1 AND s.status = 'open' AND s.qty > s.received_qty
           AND s.node_id IN (SELECT node_id FROM counted)
         GROUP BY 1, 2),
    base AS (
        SELECT c.node_id,
               coalesce(st.on_hand - st.reserved - st.safety_stock, 0)
               - coalesce(($3 ->> c.node_id)::bigint, 0) AS free
          FROM counted c
          LEFT JOIN stockroute.stock st ON st.node_id = c.node_id AND st.sku = $1
         WHERE st.node_id IS NOT NULL OR c.node_id IN (SELECT node_id FROM sup)),
    dates AS (SELECT d FROM today UNION SELECT d FROM sup)
    SELECT dt.d,
           coalesce((SELECT sum(sup.q) FROM sup WHERE sup.d = dt.d), 0)::bigint,
           coalesce((SELECT sum(greatest(0, b.free + coalesce((SELECT sum(sup.q) FROM sup
                                                                WHERE sup.node_id = b.node_id
                                                                  AND sup.d <= dt.d), 0)))
                       FROM base b), 0)::bigint
      FROM dates dt
     ORDER BY dt.d;
END;
$$;

COMMENT ON FUNCTION stockroute.supply_curve(text, jsonb, jsonb) IS
    'Units of a SKU available to ship by each date: today and each date open supply arrives at a routable node (cumulative, before any backorder takes them); taken ({node_id: units}) counts units about to be reserved';

-- Promise date of a backorder line: the first date the curve covers it and
-- every open backorder served before it (higher priority, then older, then
-- lower backorder_id: the order repromise and fill_backorders use).
CREATE OR REPLACE FUNCTION stockroute.promise_date(sku text, priority integer, qty bigint, created_at timestamptz,
                                        backorder_id uuid, taken jsonb DEFAULT NULL)
RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN (SELECT min(c.on_date)
          FROM stockroute.supply_curve($1, NULL, $6) c
         WHERE c.units >= $3 + coalesce((SELECT sum(b.qty) FROM stockroute.backorder b
                                          WHERE b.sku = $1 AND b.status = 'open' AND b.backorder_id <> $5
                                            AND (b.priority > $2
                                                 OR (b.priority = $2 AND (b.created_at, b.backorder_id) < ($4, $5)))), 0));
END;
$$;

COMMENT ON FUNCTION stockroute.promise_date(text, integer, bigint, timestamptz, uuid, jsonb) IS
    'Date qty units of a SKU can be promised to a backorder line of that priority, age and id, after the open backorders served before it; NULL when known supply does not cover them';

-- available()'s keys for future supply (called from C, src/supply.c)
CREATE OR REPLACE FUNCTION stockroute.supply_promise(available jsonb, customer jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    -- the customer's priority as an order's (available() has checked it is an integer)
    RETURN (WITH pr AS (
            SELECT stockroute.order_priority(jsonb_build_object('priority', $2 -> 'priority',
                                                                'customer', $2)) AS p),
        today AS (SELECT stockroute.supply_today() AS d),
        counted AS (SELECT c.node_id FROM stockroute.supply_nodes($1 ->> 'sku', $1 -> 'nodes') c),
        c AS (SELECT * FROM stockroute.supply_curve($1 ->> 'sku', $1 -> 'nodes')),
        ahead AS (SELECT coalesce(sum(b.qty), 0)::bigint AS q
                    FROM stockroute.backorder b
                   WHERE b.sku = $1 ->> 'sku' AND b.status = 'open' AND b.priority >= (SELECT p FROM pr))
        SELECT jsonb_build_object(
            'priority', (SELECT p FROM pr),
            'backordered', (SELECT q FROM ahead),
            'incoming', (SELECT coalesce(sum(s.qty - s.received_qty), 0)
                           FROM stockroute.supply s
                          WHERE s.sku = $1 ->> 'sku' AND s.status = 'open' AND s.qty > s.received_qty
                            AND s.node_id IN (SELECT node_id FROM counted)),
            'promise', (SELECT jsonb_agg(jsonb_build_object('date', c.on_date, 'arriving', c.arriving,
                                                            'units', greatest(c.units - ahead.q, 0))
                                         ORDER BY c.on_date)
                          FROM c, ahead),
            'supply', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                  'ref', s.ref, 'kind', s.kind, 'node_id', s.node_id,
                                  'qty', s.qty - s.received_qty, 'expected_on', s.expected_on,
                                  'overdue', s.expected_on < (SELECT d FROM today),
                                  'routable', s.node_id IN (SELECT node_id FROM counted))
                                  ORDER BY s.expected_on, s.node_id, s.ref), '[]')
                         FROM stockroute.supply s
                        WHERE s.sku = $1 ->> 'sku' AND s.status = 'open' AND s.qty > s.received_qty)));
END;
$$;

COMMENT ON FUNCTION stockroute.supply_promise(jsonb, jsonb) IS
    'Internal: the future-supply keys of available() (priority, backordered, incoming, promise, supply) for its document and customer';

-- Recompute the promise dates of the open backorders of some SKUs (all SKUs
-- with open backorders when NULL), in service order (priority, then age).
-- Rows another transaction has locked are skipped: they are being changed
-- and get their date the next time.  A changed date goes to the outbox.
CREATE OR REPLACE FUNCTION stockroute.repromise(skus text[] DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p_skus ALIAS FOR $1;
    s      text;
    k      integer;
    n      integer := 0;
BEGIN
    FOR s IN
        SELECT DISTINCT b.sku FROM stockroute.backorder b
         WHERE b.status = 'open' AND (p_skus IS NULL OR b.sku = ANY (p_skus))
         ORDER BY 1
    LOOP
        WITH c AS (SELECT cv.on_date, cv.units FROM stockroute.supply_curve(s) cv),
        o AS (SELECT b.backorder_id, b.promised_on,
                     sum(b.qty) OVER (ORDER BY b.priority DESC, b.created_at, b.backorder_id) AS cum
                FROM stockroute.backorder b
               WHERE b.sku = s AND b.status = 'open'),
        p AS (SELECT o.backorder_id, o.promised_on AS old,
                     (SELECT min(c.on_date) FROM c WHERE c.units >= o.cum) AS new
                FROM o),
        l AS (SELECT x.backorder_id, p.old, p.new
                FROM stockroute.backorder x
                JOIN p ON p.backorder_id = x.backorder_id
               WHERE p.old IS DISTINCT FROM p.new AND x.status = 'open'
               ORDER BY x.backorder_id
                 FOR UPDATE OF x SKIP LOCKED),
        u AS (UPDATE stockroute.backorder x SET promised_on = l.new, updated_at = now()
                FROM l
               WHERE x.backorder_id = l.backorder_id
              RETURNING x.backorder_id, x.order_ref, x.line_ref, x.sku, x.qty, x.priority, l.old, l.new),
        ob AS (INSERT INTO stockroute.outbox (topic, order_ref, payload)
               SELECT 'backorder', u.order_ref,
                      jsonb_build_object('backorder_id', u.backorder_id, 'order_ref', u.order_ref,
                                         'line_ref', u.line_ref, 'sku', u.sku, 'qty', u.qty,
                                         'priority', u.priority, 'promised_on', u.new,
                                         'previous_promised_on', u.old, 'reason', 'promise')
                 FROM u
               RETURNING 1)
        SELECT count(*) INTO k FROM u;
        n := n + k;
    END LOOP;
    RETURN n;
END;
$$;

COMMENT ON FUNCTION stockroute.repromise(text[]) IS
    'Recompute promised_on of the open backorders of the SKUs (all when NULL) from stock and open supply in service order; a changed date goes to the outbox (topic backorder, reason promise); rows locked elsewhere are skipped. Returns the rows changed';

-- A new backorder takes its priority from its order and gets a promise date.
-- Only what is missing is filled in: priority 0 (the default) and a NULL
-- promised_on, so a row written with its own values keeps them.
CREATE OR REPLACE FUNCTION stockroute.backorder_defaults()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.priority = 0 THEN
        NEW.priority := stockroute.order_priority(NEW.order_doc);
    END IF;
    IF NEW.promised_on IS NULL AND NEW.status = 'open' THEN
        NEW.promised_on := stockroute.promise_date(NEW.sku, NEW.priority, NEW.qty, NEW.created_at,
                                                   NEW.backorder_id);
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION stockroute.backorder_defaults() IS
    'Trigger: a new backorder with priority 0 takes its order''s priority (order_priority); one without promised_on gets promise_date';

CREATE OR REPLACE TRIGGER backorder_defaults BEFORE INSERT ON stockroute.backorder
    FOR EACH ROW EXECUTE FUNCTION stockroute.backorder_defaults();

-- supply rows: identity fixed, closed rows stay closed, status follows receipts
CREATE OR REPLACE FUNCTION stockroute.supply_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.supply_id <> OLD.supply_id OR NEW.sku <> OLD.sku THEN
        RAISE EXCEPTION 'supply_id and sku of supply "%" cannot change', OLD.ref
            USING ERRCODE = 'SR011',
                  HINT = 'Cancel the row and insert a new one.';
    END IF;
    IF OLD.status <> 'open'
       AND (NEW.status <> OLD.status OR NEW.qty <> OLD.qty OR NEW.expected_on <> OLD.expected_on
            OR NEW.node_id <> OLD.node_id OR NEW.ref <> OLD.ref OR NEW.kind <> OLD.kind
            OR NEW.from_node_id IS DISTINCT FROM OLD.from_node_id) THEN
        RAISE EXCEPTION 'supply "%" of sku "%" at node "%" is %, not open', OLD.ref, OLD.sku, OLD.node_id, OLD.status
            USING ERRCODE = 'SR065',
                  DETAIL = 'Received and cancelled supply only records further receipts (received_qty).';
    END IF;
    IF NEW.status = 'open' AND NEW.received_qty >= NEW.qty THEN
        NEW.status := 'received';
    END IF;
    IF NEW.status = 'received' AND OLD.status <> 'received' THEN
        NEW.received_at := now();
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION stockroute.supply_guard() IS
    'Trigger: supply_id and sku never change (SR011); a received or cancelled row only records further receipts (SR065); an open row whose received_qty reaches qty becomes received';

CREATE OR REPLACE TRIGGER supply_guard BEFORE UPDATE ON stockroute.supply
    FOR EACH ROW EXECUTE FUNCTION stockroute.supply_guard();

-- Supply changed: move the promise dates.  Receipts (received_qty rising)
-- are left to supply_received, which fills backorders first, at commit.
CREATE OR REPLACE FUNCTION stockroute.supply_changed()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    skus text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.sku) INTO skus FROM new_supply n;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT o.sku) INTO skus FROM old_supply o;
    ELSE
        SELECT array_agg(DISTINCT n.sku) INTO skus
          FROM new_supply n JOIN old_supply o ON o.supply_id = n.supply_id AND o.sku = n.sku
         WHERE n.received_qty = o.received_qty
           AND (n.qty, n.expected_on, n.node_id, n.status) IS DISTINCT FROM (o.qty, o.expected_on, o.node_id, o.status);
    END IF;
    IF skus IS NOT NULL THEN
        PERFORM stockroute.repromise(skus);
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION stockroute.supply_changed() IS
    'Trigger: new, changed, cancelled or deleted supply moves the promise dates of the SKU''s open backorders (repromise)';

CREATE OR REPLACE TRIGGER supply_inserted AFTER INSERT ON stockroute.supply
    REFERENCING NEW TABLE AS new_supply
    FOR EACH STATEMENT EXECUTE FUNCTION stockroute.supply_changed();
CREATE OR REPLACE TRIGGER supply_updated AFTER UPDATE ON stockroute.supply
    REFERENCING OLD TABLE AS old_supply NEW TABLE AS new_supply
    FOR EACH STATEMENT EXECUTE FUNCTION stockroute.supply_changed();
CREATE OR REPLACE TRIGGER supply_deleted AFTER DELETE ON stockroute.supply
    REFERENCING OLD TABLE AS old_supply
    FOR EACH STATEMENT EXECUTE FUNCTION stockroute.supply_changed();

-- Receipts against supply ------------------------------------------------------

-- ingest() records every event in stockroute.event; a claimed receipt
-- (applied, or superseded by a count: the units arrived all the same) whose
-- payload names "supply_ref" counts against the supply row of that node,
-- SKU and ref.  received_qty is recomputed from the events, not incremented,
-- so a replayed or restored event never counts twice.
CREATE OR REPLACE FUNCTION stockroute.event_supply_receipt()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    WITH r AS (
        SELECT DISTINCT e.node_id, e.sku, e.payload ->> 'supply_ref' AS ref
          FROM new_events e
         WHERE e.kind = 'receipt' AND e.status IN ('applied', 'superseded')
           AND jsonb_typeof(e.payload -> 'supply_ref') = 'string'),
    t AS (
        SELECT s.sku, s.supply_id,
               (SELECT coalesce(sum(e.qty), 0) FROM stockroute.event e
                 WHERE e.sku = s.sku AND e.node_id = s.node_id AND e.kind = 'receipt'
                   AND e.payload ? 'supply_ref' AND e.payload ->> 'supply_ref' = s.ref
                   AND e.status IN ('applied', 'superseded')) AS received
          FROM stockroute.supply s
          JOIN r ON r.sku = s.sku AND r.node_id = s.node_id AND r.ref = s.ref)
    UPDATE stockroute.supply s SET received_qty = t.received
      FROM t
     WHERE s.sku = t.sku AND s.supply_id = t.supply_id AND s.received_qty <> t.received;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION stockroute.event_supply_receipt() IS
    'Trigger: claimed receipt events with a "supply_ref" set received_qty of the supply row of that node, SKU and ref (recomputed from event, so never counted twice)';

CREATE OR REPLACE TRIGGER event_supply_receipt AFTER INSERT ON stockroute.event
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION stockroute.event_supply_receipt();

-- Fill the open backorders of some SKUs (all when NULL) from routable stock,
-- highest priority first, then oldest: each order's open lines together,
-- placed by the routing core as plan() would place them on the stock as it
-- is (the order's own options, rules and lot requirements: an all-or-nothing
-- order is filled whole or not at all).  It never waits: a backorder another
-- transaction is working on is skipped (SKIP LOCKED), and so is a plan whose
-- stock rows are locked elsewhere (NOWAIT), so it can run while the caller
-- holds stock rows out of canonical order.  What it skips stays open for the
-- next call.  C: src/replace.c.
CREATE OR REPLACE FUNCTION stockroute.fill_backorders(skus text[] DEFAULT NULL, max_backorders integer DEFAULT 1000)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'stockroute_fill_backorders'
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION stockroute.fill_backorders(text[], integer) IS
    'Place the open backorders of the SKUs (all when NULL), highest priority then oldest first, at most max_backorders, each order''s lines as plan() would place them; never waits for a lock (busy backorders and rows are left for the next call); then repromise. Returns {filled, units}';

-- At commit of a transaction that received supply, its SKU's backorders are
-- filled: the receipt's stock is in by then, whatever order the receiving
-- statements ran in.  A failure here must not lose the receipt: it is
-- reported and left to reconcile().
CREATE OR REPLACE FUNCTION stockroute.supply_received()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    BEGIN
        PERFORM stockroute.fill_backorders(ARRAY[NEW.sku]);
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'stockroute: filling the backorders of sku "%" after a receipt failed: %', NEW.sku, SQLERRM
            USING DETAIL = 'reconcile() fills them on its next run.';
    END;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION stockroute.supply_received() IS
    'Trigger (deferred to commit): supply received (received_qty rose) fills the open backorders of its SKU at once (fill_backorders); a failure is a WARNING, never a lost receipt';

CREATE OR REPLACE FUNCTION stockroute.cancel_supply(ref text, node_id text DEFAULT NULL, sku text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_ref     ALIAS FOR $1;
    p_node_id ALIAS FOR $2;
    p_sku     ALIAS FOR $3;
    closed    record;
    reply     jsonb;
BEGIN
    IF p_ref IS NULL THEN
        RAISE EXCEPTION 'ref must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    WITH c AS (
        UPDATE stockroute.supply s SET status = 'cancelled'
         WHERE s.ref = p_ref AND s.status = 'open'
           AND (p_node_id IS NULL OR s.node_id = p_node_id)
           AND (p_sku IS NULL OR s.sku = p_sku)
        RETURNING s.*)
    SELECT jsonb_build_object(
               'ref', p_ref, 'cancelled', count(*),
               'units', coalesce(sum(c.qty - least(c.received_qty, c.qty)), 0),
               'supply', coalesce(jsonb_agg(jsonb_build_object('node_id', c.node_id, 'sku', c.sku,
                                                               'qty', c.qty, 'received_qty', c.received_qty,
                                                               'expected_on', c.expected_on)
                                            ORDER BY c.sku, c.node_id), '[]'))
      INTO reply
      FROM c;
    IF (reply ->> 'cancelled')::integer = 0 THEN
        SELECT s.status, s.sku, s.node_id INTO closed
          FROM stockroute.supply s
         WHERE s.ref = p_ref AND (p_node_id IS NULL OR s.node_id = p_node_id)
           AND (p_sku IS NULL OR s.sku = p_sku)
         ORDER BY s.sku, s.node_id
         LIMIT 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no supply with ref "%"%', p_ref,
                CASE WHEN p_node_id IS NULL AND p_sku IS NULL THEN ''
                     ELSE format(' for node_id %s, sku %s', coalesce(quote_literal(p_node_id), 'any'),
                                 coalesce(quote_literal(p_sku), 'any')) END
                USING ERRCODE = 'SR066';
        END IF;
        RAISE EXCEPTION 'supply "%" of sku "%" at node "%" is %, not open', p_ref, closed.sku, closed.node_id, closed.status
            USING ERRCODE = 'SR065';
    END IF;
    RETURN reply;
END;
$$;

COMMENT ON FUNCTION stockroute.cancel_supply(text, text, text) IS
    'Cancel the open supply rows with this ref (optionally one node or SKU): their units leave the promises (SR066 no such supply, SR065 none of it is open). Returns {ref, cancelled, units, supply}';

-- Preemption (called from C, src/priority.c) -----------------------------------

-- Per (node, sku) where the order could take units held by lower-priority
-- orders: available as it would be with those holds released.
CREATE OR REPLACE FUNCTION stockroute.preempt_base(order_ref text, skus text[], priority integer)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'node_id', s.node_id, 'sku', s.sku,
                   'available', greatest(s.on_hand - s.reserved - s.safety_stock + v.qty, 0),
                   'preemptible', v.qty) ORDER BY s.node_id, s.sku), '[]')
          FROM (SELECT r.node_id, r.sku, sum(r.qty) AS qty
                  FROM stockroute.reservation r
                  JOIN stockroute.node n ON n.node_id = r.node_id
                  JOIN stockroute.item i ON i.sku = r.sku
                 WHERE r.sku = ANY ($2) AND r.status = 'held' AND r.expires_at > now()
                   AND r.order_ref <> $1
                   AND n.status = 'active' AND NOT n.stale
                   AND (i.allowed_nodes IS NULL OR r.node_id = ANY (i.allowed_nodes))
                   AND stockroute.hold_priority(r.order_ref) < $3
                 GROUP BY 1, 2) v
          JOIN stockroute.stock s ON s.node_id = v.node_id AND s.sku = v.sku);
END;
$$;

COMMENT ON FUNCTION stockroute.preempt_base(text, text[], integer) IS
    'Internal: per node and SKU with unexpired holds of lower-priority orders, available as if those holds were released (preemption plans against it)';

-- Take what a plan made against preempt_base needs beyond real stock from
-- the lowest-priority, newest holds at each node; the orders that lose units
-- are backordered with their original order document and told through the
-- outbox.  The plan comes as its shipment lines (node_ids[i] ships qtys[i]
-- units of skus[i]).  The caller holds every stock row of the SKUs.  Returns
-- the pieces taken.
CREATE OR REPLACE FUNCTION stockroute.preempt_take(order_ref text, priority integer,
                                                   node_ids text[], skus text[], qtys bigint[])
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_order_ref ALIAS FOR $1;
    p_priority  ALIAS FOR $2;
    p_nodes     ALIAS FOR $3;
    p_skus      ALIAS FOR $4;
    p_qtys      ALIAS FOR $5;
    t           record;
    v           record;
    h           record;
    need        bigint;
    take        bigint;
    doc         jsonb;
    bo          record;
    taken       jsonb := '[]';
BEGIN
    IF cardinality(p_nodes) IS DISTINCT FROM cardinality(p_skus)
       OR cardinality(p_nodes) IS DISTINCT FROM cardinality(p_qtys) THEN
        RAISE EXCEPTION 'node_ids, skus and qtys must have the same length, got %, % and %',
                        cardinality(p_nodes), cardinality(p_skus), cardinality(p_qtys)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR t IN
        SELECT n.node_id, n.sku, n.qty - s.available AS short
          FROM (SELECT u.node_id, u.sku, sum(u.qty) AS qty
                  FROM unnest(p_nodes, p_skus, p_qtys) AS u(node_id, sku, qty)
                 GROUP BY 1, 2) n
          JOIN stockroute.stock s ON s.node_id = n.node_id AND s.sku = n.sku
         WHERE n.qty > s.available
         ORDER BY n.node_id, n.sku
    LOOP
        need := t.short;
        FOR v IN
            SELECT r.sku, r.reservation_id, r.order_ref, r.line_ref, r.created_at, p.pri
              FROM stockroute.reservation r
             CROSS JOIN LATERAL (SELECT stockroute.hold_priority(r.order_ref) AS pri) p
             WHERE r.node_id = t.node_id AND r.sku = t.sku AND r.status = 'held'
               AND r.expires_at > now() AND r.order_ref <> p_order_ref AND p.pri < p_priority
             ORDER BY p.pri, r.created_at DESC, r.reservation_id DESC
        LOOP
            EXIT WHEN need <= 0;
            -- a hold another transaction is changing is not ours to take
            SELECT r.qty INTO h FROM stockroute.reservation r
             WHERE r.sku = v.sku AND r.reservation_id = v.reservation_id
               AND r.status = 'held' AND r.expires_at > now()
               FOR UPDATE SKIP LOCKED;
            CONTINUE WHEN NOT FOUND;
            -- nor one whose open backorder another transaction is filling
            IF EXISTS (SELECT 1 FROM stockroute.backorder b
                        WHERE b.order_ref = v.order_ref AND b.line_ref = v.line_ref AND b.status = 'open') THEN
                PERFORM 1 FROM stockroute.backorder b
                  WHERE b.order_ref = v.order_ref AND b.line_ref = v.line_ref AND b.status = 'open'
                    FOR UPDATE SKIP LOCKED;
                CONTINUE WHEN NOT FOUND;
            END IF;

            take := least(h.qty, need);
            IF take = h.qty THEN
                UPDATE stockroute.reservation r SET status = 'released'
                 WHERE r.sku = v.sku AND r.reservation_id = v.reservation_id;
            ELSE
                UPDATE stockroute.reservation r SET qty = r.qty - take
                 WHERE r.sku = v.sku AND r.reservation_id = v.reservation_id;
            END IF;
            need := need - take;

            SELECT d.input INTO doc FROM stockroute.decision d
             WHERE d.order_ref = v.order_ref AND d.kind = 'allocate'
             ORDER BY d.created_at, d.decision_id LIMIT 1;
            -- the backorder keeps the order's age: it was placed when its hold was
            INSERT INTO stockroute.backorder AS b (order_ref, line_ref, sku, qty, priority, order_doc, created_at)
            VALUES (v.order_ref, v.line_ref, v.sku, take, v.pri,
                    coalesce(doc, jsonb_build_object('order_ref', v.order_ref)), v.created_at)
            ON CONFLICT (order_ref, line_ref) WHERE status = 'open'
            DO UPDATE SET qty = b.qty + EXCLUDED.qty, updated_at = now()
            RETURNING b.backorder_id INTO bo;

            INSERT INTO stockroute.outbox (topic, order_ref, node_id, payload)
            VALUES ('release', v.order_ref, t.node_id,
                    jsonb_build_object('order_ref', v.order_ref, 'reason', 'preempted',
                                       'by_order_ref', p_order_ref, 'by_priority', p_priority,
                                       'lines', jsonb_build_array(jsonb_build_object(
                                           'line_ref', v.line_ref, 'sku', v.sku, 'node_id', t.node_id,
                                           'qty', take))));
            INSERT INTO stockroute.decision (order_ref, kind, input, output)
            VALUES (v.order_ref, 'reroute',
                    jsonb_build_object('reason', 'preempted', 'by_order_ref', p_order_ref,
                                       'by_priority', p_priority, 'priority', v.pri,
                                       'node_id', t.node_id, 'sku', v.sku, 'line_ref', v.line_ref,
                                       'qty', take),
                    jsonb_build_object('placed', 0, 'backordered', take, 'backorder_id', bo.backorder_id));
            PERFORM pg_notify('stockroute',
                jsonb_build_object('topic', 'release', 'order_ref', left(v.order_ref, 200),
                                   'reason', 'preempted', 'by_order_ref', left(p_order_ref, 200))::text);
            taken := taken || jsonb_build_array(jsonb_build_object(
                         'order_ref', v.order_ref, 'line_ref', v.line_ref, 'sku', v.sku,
                         'node_id', t.node_id, 'qty', take, 'priority', v.pri,
                         'backorder_id', bo.backorder_id));
        END LOOP;
    END LOOP;

    -- the backorders' promise dates as they will be once this order holds
    -- its plan (reserved right after this returns), then tell the outbox
    FOR bo IN
        WITH u AS (
            SELECT x.sku, jsonb_object_agg(x.node_id, x.qty) AS taken
              FROM (SELECT y.sku, y.node_id, sum(y.qty) AS qty
                      FROM unnest(p_nodes, p_skus, p_qtys) AS y(node_id, sku, qty)
                     GROUP BY 1, 2) x
             GROUP BY 1)
        UPDATE stockroute.backorder b
           SET promised_on = stockroute.promise_date(b.sku, b.priority, b.qty, b.created_at, b.backorder_id,
                                                     (SELECT u.taken FROM u WHERE u.sku = b.sku))
         WHERE b.backorder_id IN (SELECT DISTINCT (x ->> 'backorder_id')::uuid FROM jsonb_array_elements(taken) x)
        RETURNING b.backorder_id, b.order_ref, b.line_ref, b.sku, b.qty, b.priority, b.promised_on
    LOOP
        INSERT INTO stockroute.outbox (topic, order_ref, payload)
        VALUES ('backorder', bo.order_ref,
                jsonb_build_object('backorder_id', bo.backorder_id, 'order_ref', bo.order_ref,
                                   'line_ref', bo.line_ref, 'sku', bo.sku, 'qty', bo.qty,
                                   'priority', bo.priority, 'promised_on', bo.promised_on,
                                   'reason', 'preempted', 'by_order_ref', p_order_ref));
    END LOOP;
    RETURN taken;
END;
$$;

COMMENT ON FUNCTION stockroute.preempt_take(text, integer, text[], text[], bigint[]) IS
    'Internal: release the units a plan needs beyond available from the lowest-priority, newest unexpired holds of lower-priority orders (SKIP LOCKED), backorder those orders with their original order document, tell the outbox; returns the pieces taken';

-- Simulation and replay (C, src/simulate.c) -------------------------------------

CREATE OR REPLACE FUNCTION stockroute.simulate(orders jsonb, profile text DEFAULT NULL, plans boolean DEFAULT false)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'stockroute_simulate'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION stockroute.simulate(jsonb, text, boolean) IS
    'Route a batch of orders in sequence as allocate() would (each sees the stock the earlier ones took and the orders and units they gave each node with a daily limit) without writing anything; returns KPIs (cost, fill, shipments, split rate, days, node load) and, with plans, the plans';

CREATE OR REPLACE FUNCTION stockroute.replay("from" timestamptz, "to" timestamptz, profile text DEFAULT NULL,
                                  plans boolean DEFAULT false)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'stockroute_replay'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION stockroute.replay(timestamptz, timestamptz, text, boolean) IS
    'Re-route the allocate() decisions recorded in [from, to) under a profile (each its own when NULL) against the stock as it is now, writing nothing; returns the recorded and replayed KPIs side by side';
