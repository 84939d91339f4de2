-- bench/simulate/baselines.sql — the two rule-based routers stockroute is
-- compared with, and one cost evaluator for all three, in PL/pgSQL over the
-- same stock and orders.
--
-- Baselines, after Shopify's order routing (help.shopify.com, "Order
-- routing"): its default strategy is "Minimize split fulfillments" then
-- "Ship from closest location"; merchants often replace the tiebreaker with
-- "Ranked locations".  So, per order, in order id sequence, against the
-- routable available stock as it is minus what the earlier orders of the
-- same run took:
--   1. if some location can ship every line in full, the best such location
--      by the rule ships it all (one package);
--   2. else, fewest packages, greedily: the location that can ship the most
--      of what is left (units), ties by the rule, ships what it can; repeat
--      until the order is filled or no location has any of it; the rest is
--      unfilled.
-- The rule is distance (haversine, node to ship_to) for 'nearest' and the
-- merchant's ranking (bench_simulate.node_rank: biggest locations first)
-- for 'priority'.  Eligible locations are those plan() may use: active,
-- not stale, SKU allowed, available > 0, and costable (all bench nodes have
-- coordinates).
--
-- The evaluator costs every shipment of every method with plan()'s cost
-- model: the most specific lane to the destination whose weight bracket
-- holds the shipment's weight (cheapest, then fastest, among equals), else
-- the distance model of the default profile; days = the ETA minus the
-- clock's date, the ETA by the calendars as plan() computes it (the first
-- shipping day from the node's local date, the day after past its cutoff,
-- then handling days, then transit days on the carrier's weekdays, outside
-- the holidays; docs/routing.md, "Time and ETA").  (plan() picks the bracket
-- by the weight the node could ship, the evaluator by what it does ship, so
-- stockroute's own figures are reported too.)

\set ON_ERROR_STOP on

CREATE FUNCTION bench_simulate.km(lat1 float8, lon1 float8, lat2 float8, lon2 float8)
RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
    SELECT 2 * 6371.0088 * asin(least(1, sqrt(sin(radians(lat2 - lat1) / 2) ^ 2
           + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ^ 2)))
$$;

-- the n-th open day (0: the first) on or after d: a weekday in weekdays that
-- is not a holiday of cal
CREATE FUNCTION bench_simulate.nth_open(d date, n int, weekdays int[], cal text)
RETURNS date LANGUAGE sql STABLE AS $$
    SELECT x FROM (SELECT d + k AS x FROM generate_series(0, 31 + 7 * n) k) s
     WHERE extract(isodow FROM x)::int = ANY (weekdays)
       AND NOT EXISTS (SELECT 1 FROM stockroute.holiday h WHERE h.calendar = cal AND h.day = x)
     ORDER BY x OFFSET n LIMIT 1
$$;

CREATE FUNCTION bench_simulate.baseline(method text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    o       record;
    skus    text[];
    refs    text[];
    rem     integer[];
    n       integer;
    best    text;
    got     integer;
    i       integer;
    orders  integer := 0;
BEGIN
    DELETE FROM bench_simulate.ship s WHERE s.method = baseline.method;
    DROP TABLE IF EXISTS pg_temp.avail;
    CREATE TEMP TABLE avail AS
    SELECT s.sku, s.node_id, s.available AS qty
      FROM stockroute.stock s
      JOIN stockroute.node nd ON nd.node_id = s.node_id
      JOIN stockroute.item it ON it.sku = s.sku
     WHERE nd.status = 'active' AND NOT nd.stale AND nd.lat IS NOT NULL AND s.available > 0
       AND (it.allowed_nodes IS NULL OR s.node_id = ANY (it.allowed_nodes));
    ALTER TABLE avail ADD PRIMARY KEY (sku, node_id);
    ANALYZE avail;

    FOR o IN SELECT b.id, b.lat, b.lon FROM bench_simulate.orders b ORDER BY b.id LOOP
        SELECT array_agg(l.sku ORDER BY l.line_ref), array_agg(l.line_ref ORDER BY l.line_ref),
               array_agg(l.qty ORDER BY l.line_ref)
          INTO skus, refs, rem
          FROM bench_simulate.lines l WHERE l.order_id = o.id;
        n := array_length(skus, 1);
        orders := orders + 1;

        -- 1. one location with everything, the best by the rule
        SELECT a.node_id INTO best
          FROM avail a
          JOIN unnest(skus, rem) AS w(sku, q) ON a.sku = w.sku AND a.qty >= w.q
          JOIN bench_simulate.node_rank r ON r.node_id = a.node_id
         GROUP BY a.node_id, r.rank, r.lat, r.lon
        HAVING count(*) = n
         ORDER BY CASE WHEN method = 'nearest' THEN bench_simulate.km(r.lat, r.lon, o.lat, o.lon)
                       ELSE r.rank END, a.node_id
         LIMIT 1;
        IF best IS NOT NULL THEN
            INSERT INTO bench_simulate.ship SELECT method, o.id, best, w.ref, w.sku, w.q
              FROM unnest(refs, skus, rem) AS w(ref, sku, q);
            UPDATE avail a SET qty = a.qty - w.q
              FROM unnest(skus, rem) AS w(sku, q)
             WHERE a.sku = w.sku AND a.node_id = best;
            CONTINUE;
        END IF;

        -- 2. fewest packages, greedily
        LOOP
            SELECT a.node_id INTO best
              FROM avail a
              JOIN unnest(skus, rem) AS w(sku, q) ON a.sku = w.sku AND w.q > 0 AND a.qty > 0
              JOIN bench_simulate.node_rank r ON r.node_id = a.node_id
             GROUP BY a.node_id, r.rank, r.lat, r.lon
             ORDER BY sum(least(a.qty, w.q)) DESC,
                      CASE WHEN method = 'nearest' THEN bench_simulate.km(r.lat, r.lon, o.lat, o.lon)
                           ELSE r.rank END, a.node_id
             LIMIT 1;
            EXIT WHEN best IS NULL;
            FOR i IN 1 .. n LOOP
                CONTINUE WHEN rem[i] = 0;
                SELECT least(a.qty, rem[i]) INTO got FROM avail a WHERE a.sku = skus[i] AND a.node_id = best;
                CONTINUE WHEN got IS NULL OR got <= 0;
                INSERT INTO bench_simulate.ship VALUES (method, o.id, best, refs[i], skus[i], got);
                UPDATE avail a SET qty = a.qty - got WHERE a.sku = skus[i] AND a.node_id = best;
                rem[i] := rem[i] - got;
            END LOOP;
        END LOOP;
    END LOOP;
    RETURN orders;
END;
$$;

-- stockroute's plans from simulate(..., plans => true) as shipments
CREATE FUNCTION bench_simulate.load_plans(method text, plans jsonb) RETURNS integer
LANGUAGE sql AS $$
    DELETE FROM bench_simulate.ship s WHERE s.method = load_plans.method;
    INSERT INTO bench_simulate.ship
    SELECT method, substr(p->>'order_ref', 5)::integer, sh->>'node_id', l->>'line_ref', l->>'sku',
           (l->>'qty')::integer
      FROM jsonb_array_elements(plans) p, jsonb_array_elements(p->'shipments') sh,
           jsonb_array_elements(sh->'lines') l;
    SELECT count(DISTINCT order_id)::integer FROM bench_simulate.ship s WHERE s.method = load_plans.method;
$$;

-- every shipment of a method, costed by plan()'s model
CREATE FUNCTION bench_simulate.costed(method text, clock timestamptz)
RETURNS TABLE (order_id integer, node_id text, units bigint, cost float8, days float8)
LANGUAGE sql STABLE AS $$
    WITH sh AS (
        SELECT s.order_id, s.node_id, sum(s.qty)::bigint AS units, sum(s.qty * i.weight_kg) AS weight
          FROM bench_simulate.ship s JOIN stockroute.item i ON i.sku = s.sku
         WHERE s.method = costed.method
         GROUP BY 1, 2),
    p AS (SELECT dist_fixed, dist_per_unit, dist_per_unit_mile FROM stockroute.profile WHERE profile_name = 'default')
    SELECT sh.order_id, sh.node_id, sh.units,
           coalesce(ln.base_cost + ln.per_unit * sh.units + ln.per_kg * sh.weight,
                    p.dist_fixed + sh.units * (p.dist_per_unit + p.dist_per_unit_mile * d.miles)),
           greatest(0, bench_simulate.nth_open(
               bench_simulate.nth_open((clock AT TIME ZONE nd.timezone)::date
                                       + (nd.cutoff IS NOT NULL
                                          AND (clock AT TIME ZONE nd.timezone)::time > nd.cutoff)::int,
                                       nd.handling_days, nd.ship_weekdays, nd.calendar),
               coalesce(ln.transit_days, ceil(d.miles / 500))::int,
               coalesce(ln.transit_weekdays, '{1,2,3,4,5}'), coalesce(ln.calendar, nd.calendar))
             - clock::date)::float8
      FROM sh
      JOIN bench_simulate.orders o ON o.id = sh.order_id
      JOIN stockroute.node nd ON nd.node_id = sh.node_id
     CROSS JOIN p
     CROSS JOIN LATERAL (SELECT bench_simulate.km(nd.lat, nd.lon, o.lat, o.lon) / 1.609344 AS miles) d
      LEFT JOIN LATERAL (
            SELECT l.base_cost, l.per_unit, l.per_kg, l.transit_days, l.transit_weekdays, l.calendar
              FROM stockroute.lane l
             WHERE l.node_id = sh.node_id
               AND (l.country IS NULL OR l.country = 'US')
               AND (l.region IS NULL OR l.region = o.region)
               AND (l.postal_prefix IS NULL OR starts_with(o.postal_code, l.postal_prefix))
               AND sh.weight >= l.min_weight_kg AND (l.max_weight_kg IS NULL OR sh.weight <= l.max_weight_kg)
             ORDER BY CASE WHEN l.postal_prefix IS NOT NULL THEN 3 WHEN l.region IS NOT NULL THEN 2
                           WHEN l.country IS NOT NULL THEN 1 ELSE 0 END DESC,
                      coalesce(length(l.postal_prefix), 0) DESC,
                      l.base_cost + l.per_unit * sh.units + l.per_kg * sh.weight, l.transit_days, l.lane_id
             LIMIT 1) ln ON true
$$;

-- the KPIs of a method, as simulate() defines them; with max_order_kg, over
-- the orders whose whole weight fits that (a parcel lane's 70 kg: any
-- method may ship them from one node by parcel)
CREATE FUNCTION bench_simulate.kpis(method text, clock timestamptz, max_order_kg float8 DEFAULT NULL)
RETURNS TABLE (orders bigint, units_requested bigint, units_filled bigint, fill_rate numeric,
               cost numeric, cost_per_order numeric, cost_per_unit numeric,
               shipments bigint, shipments_per_order numeric, split_rate numeric,
               days_mean numeric, days_p95 float8)
LANGUAGE sql STABLE AS $$
    WITH o AS (
        SELECT l.order_id, sum(l.qty) AS units
          FROM bench_simulate.lines l JOIN stockroute.item i ON i.sku = l.sku
         GROUP BY 1
        HAVING max_order_kg IS NULL OR sum(l.qty * i.weight_kg) <= max_order_kg),
    c AS (SELECT * FROM bench_simulate.costed(method, clock) c WHERE c.order_id IN (SELECT order_id FROM o)),
    per AS (SELECT c.order_id, count(*) AS ships, sum(c.units) AS units, sum(c.cost) AS cost, max(c.days) AS days
              FROM c GROUP BY 1)
    SELECT (SELECT count(*) FROM o),
           (SELECT sum(units) FROM o)::bigint,
           sum(per.units)::bigint,
           round(sum(per.units) / (SELECT sum(units) FROM o), 4),
           round(sum(per.cost)::numeric, 2),
           round((sum(per.cost) / count(*))::numeric, 3),
           round((sum(per.cost) / sum(per.units))::numeric, 4),
           sum(per.ships)::bigint,
           round(sum(per.ships)::numeric / count(*), 4),
           round(count(*) FILTER (WHERE per.ships > 1)::numeric / count(*), 4),
           round(avg(per.days)::numeric, 3),
           percentile_disc(0.95) WITHIN GROUP (ORDER BY per.days)
      FROM per
$$;
