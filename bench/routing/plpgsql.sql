-- bench/routing/plpgsql.sql — the PL/pgSQL baseline the C solver is measured
-- against: the same problem, the same objective, a plain search.
--
--   bench_routing.eval_set(...)   cost of one set of open nodes: each line
--                                 takes its units from the cheapest runs of
--                                 the open nodes (optimal once the set is
--                                 fixed), unplaced units are backordered
--                                 (allow_partial) or cost 1e9 each (infeasible);
--                                 only nodes that ship pay their fixed cost
--   bench_routing.search(...)     exact enumeration of every node subset up to
--                                 10 nodes; beyond, greedy adds from the empty
--                                 set, then best-improvement drops and swaps
--                                 to a local optimum
--   bench_routing.plpgsql_plan(order)    plan()'s candidate construction in
--                                 SQL (eligibility, the most specific lane by
--                                 weight bracket, cheapest service, the
--                                 distance model, ship date and ETA by the
--                                 calendars), then search()
--   bench_routing.nth_open(...)   the calendar walk: the n-th shipping or
--                                 transit day on or after a date
--   bench_routing.plpgsql_split(candidate[])   split_plan's problem (default
--                                 weights) from candidate rows, then search()
--
-- Not modelled (the benchmark's orders use none of them): need_by / lateness,
-- rules, ship_complete.

\set ON_ERROR_STOP on

CREATE FUNCTION bench_routing.eval_set(
    inset boolean[], fixed float8[], qty bigint[], seg_start int[],
    seg_node int[], seg_cost float8[], seg_cap bigint[],
    partial boolean, pen float8, split float8)
RETURNS float8
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    total float8 := 0;
    ships boolean[] := array_fill(false, ARRAY[array_length(fixed, 1)]);
    nship int := 0;
    rem bigint;
    take bigint;
    l int;
    k int;
    n int;
BEGIN
    FOR l IN 1 .. array_length(qty, 1) LOOP
        rem := qty[l];
        k := seg_start[l];
        WHILE rem > 0 AND k < seg_start[l + 1] LOOP
            n := seg_node[k];
            IF inset[n] THEN
                take := least(rem, seg_cap[k]);
                total := total + take * seg_cost[k];
                rem := rem - take;
                IF NOT ships[n] THEN
                    ships[n] := true;
                    nship := nship + 1;
                    total := total + fixed[n];
                END IF;
            END IF;
            k := k + 1;
        END LOOP;
        IF rem > 0 THEN
            total := total + rem * CASE WHEN partial THEN pen ELSE 1e9 END;
        END IF;
    END LOOP;
    IF nship > 0 THEN
        total := total - split;
    END IF;
    RETURN total;
END $$;

CREATE FUNCTION bench_routing.search(
    fixed float8[], qty bigint[], seg_start int[],
    seg_node int[], seg_cost float8[], seg_cap bigint[],
    partial boolean, pen float8, split float8, kmax int,
    OUT score float8, OUT open_nodes int[], OUT exact boolean)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    nn int := coalesce(array_length(fixed, 1), 0);
    inset boolean[] := array_fill(false, ARRAY[greatest(nn, 1)]);
    best_set boolean[];
    cur float8;
    v float8;
    bv float8;
    bi int;
    bj int;
    nopen int := 0;
    mask int;
    cnt int;
    i int;
    j int;
    tol float8;
BEGIN
    IF kmax <= 0 THEN
        kmax := nn;
    END IF;
    cur := bench_routing.eval_set(inset, fixed, qty, seg_start, seg_node, seg_cost, seg_cap,
                                  partial, pen, split);
    best_set := inset;
    IF nn <= 10 THEN
        -- every subset: the proven optimum
        FOR mask IN 1 .. (1 << nn) - 1 LOOP
            cnt := 0;
            FOR i IN 1 .. nn LOOP
                inset[i] := (mask >> (i - 1)) & 1 = 1;
                IF inset[i] THEN cnt := cnt + 1; END IF;
            END LOOP;
            CONTINUE WHEN cnt > kmax;
            v := bench_routing.eval_set(inset, fixed, qty, seg_start, seg_node, seg_cost, seg_cap,
                                        partial, pen, split);
            IF v < cur THEN
                cur := v;
                best_set := inset;
            END IF;
        END LOOP;
        exact := true;
    ELSE
        -- greedy: open the node that helps most, while one helps
        LOOP
            bv := cur; bi := 0;
            tol := 1e-9 * greatest(abs(cur), 1);
            FOR i IN 1 .. nn LOOP
                CONTINUE WHEN inset[i] OR nopen >= kmax;
                inset[i] := true;
                v := bench_routing.eval_set(inset, fixed, qty, seg_start, seg_node, seg_cost, seg_cap,
                                            partial, pen, split);
                inset[i] := false;
                IF v < bv - tol THEN bv := v; bi := i; END IF;
            END LOOP;
            EXIT WHEN bi = 0;
            inset[bi] := true; nopen := nopen + 1; cur := bv;
        END LOOP;
        -- local search: the best drop, else the best swap, until neither helps
        LOOP
            bv := cur; bi := 0; bj := 0;
            tol := 1e-9 * greatest(abs(cur), 1);
            FOR i IN 1 .. nn LOOP
                CONTINUE WHEN NOT inset[i];
                inset[i] := false;
                v := bench_routing.eval_set(inset, fixed, qty, seg_start, seg_node, seg_cost, seg_cap,
                                            partial, pen, split);
                inset[i] := true;
                IF v < bv - tol THEN bv := v; bi := i; END IF;
            END LOOP;
            IF bi = 0 THEN
                FOR i IN 1 .. nn LOOP
                    CONTINUE WHEN NOT inset[i];
                    inset[i] := false;
                    FOR j IN 1 .. nn LOOP
                        CONTINUE WHEN inset[j] OR j = i;
                        inset[j] := true;
                        v := bench_routing.eval_set(inset, fixed, qty, seg_start, seg_node, seg_cost,
                                                    seg_cap, partial, pen, split);
                        inset[j] := false;
                        IF v < bv - tol THEN bv := v; bi := i; bj := j; END IF;
                    END LOOP;
                    inset[i] := true;
                END LOOP;
            END IF;
            EXIT WHEN bi = 0;
            inset[bi] := false;
            IF bj > 0 THEN inset[bj] := true; ELSE nopen := nopen - 1; END IF;
            cur := bv;
        END LOOP;
        best_set := inset;
        exact := false;
    END IF;
    score := cur;
    SELECT coalesce(array_agg(g ORDER BY g), '{}') INTO open_nodes
      FROM generate_subscripts(best_set, 1) g WHERE best_set[g];
END $$;

-- the n-th open day (0: the first) on or after d: a weekday in weekdays that
-- is not a holiday of cal (docs/routing.md, "Time and ETA")
CREATE FUNCTION bench_routing.nth_open(d date, n int, weekdays int[], cal text)
RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT x FROM (SELECT d + k AS x FROM generate_series(0, 31 + 7 * n) k) s
     WHERE extract(isodow FROM x)::int = ANY (weekdays)
       AND NOT EXISTS (SELECT 1 FROM stockroute.holiday h WHERE h.calendar = cal AND h.day = x)
     ORDER BY x OFFSET n LIMIT 1
$$;

-- plan(order) in PL/pgSQL: plan()'s candidates, then search()
CREATE FUNCTION bench_routing.plpgsql_plan(o jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    p stockroute.profile;
    ship_to jsonb := o->'ship_to';
    fixed float8[]; qty bigint[]; seg_start int[];
    seg_node int[]; seg_cost float8[]; seg_cap bigint[];
    node_ids text[];
    r record;
BEGIN
    SELECT * INTO STRICT p FROM stockroute.profile
     WHERE profile_name = coalesce(o->>'profile', 'default');

    WITH lines AS (
        SELECT e->>'sku' AS sku, sum((e->>'qty')::bigint) AS qty
          FROM jsonb_array_elements(o->'lines') e GROUP BY 1),
    numbered AS (SELECT sku, qty, row_number() OVER (ORDER BY sku)::int AS line FROM lines),
    cand AS (
        SELECT s.node_id, l.line, least(s.available, l.qty) AS avail,
               greatest(s.available - s.reorder_point, 0) AS bfree, i.weight_kg,
               n.handling_days, n.lat, n.lon,
               coalesce(n.cutoff IS NOT NULL
                        AND (now() AT TIME ZONE n.timezone)::time > n.cutoff, false) AS past,
               (now() AT TIME ZONE n.timezone)::date AS local_date, n.ship_weekdays,
               n.calendar AS ncal
          FROM numbered l
          JOIN stockroute.stock s ON s.sku = l.sku
          JOIN stockroute.node n ON n.node_id = s.node_id
          JOIN stockroute.item i ON i.sku = s.sku
         WHERE n.status = 'active' AND s.available > 0
           AND (i.allowed_nodes IS NULL OR s.node_id = ANY (i.allowed_nodes))),
    node AS (
        SELECT node_id, max(handling_days) AS handling_days, bool_or(past) AS past,
               max(local_date) AS local_date, max(ship_weekdays) AS ship_weekdays,
               max(ncal) AS ncal,
               sum(avail) AS units, sum(avail * weight_kg) AS weight,
               2 * 6371.0088 * asin(least(1, sqrt(
                   sin(radians((ship_to->>'lat')::float8 - max(lat)) / 2) ^ 2
                   + cos(radians(max(lat))) * cos(radians((ship_to->>'lat')::float8))
                     * sin(radians((ship_to->>'lon')::float8 - max(lon)) / 2) ^ 2))) AS km
          FROM cand GROUP BY node_id),
    lane AS (
        SELECT DISTINCT ON (nd.node_id) nd.node_id, ln.base_cost, ln.per_kg, ln.per_unit,
               ln.transit_days, ln.transit_weekdays, ln.calendar AS lcal
          FROM node nd
          JOIN stockroute.lane ln ON ln.node_id = nd.node_id
         WHERE (ln.country IS NULL OR ln.country = ship_to->>'country')
           AND (ln.region IS NULL OR ln.region = ship_to->>'region')
           AND (ln.postal_prefix IS NULL OR starts_with(ship_to->>'postal_code', ln.postal_prefix))
           AND nd.weight >= ln.min_weight_kg
           AND (ln.max_weight_kg IS NULL OR nd.weight <= ln.max_weight_kg)
         ORDER BY nd.node_id,
                  CASE WHEN ln.postal_prefix IS NOT NULL THEN 3 WHEN ln.region IS NOT NULL THEN 2
                       WHEN ln.country IS NOT NULL THEN 1 ELSE 0 END DESC,
                  coalesce(length(ln.postal_prefix), 0) DESC,
                  ln.base_cost + ln.per_unit * nd.units + ln.per_kg * nd.weight,
                  ln.transit_days, ln.lane_id),
    costed AS (
        SELECT nd.node_id, (dense_rank() OVER (ORDER BY nd.node_id))::int AS idx,
               p.w_cost * coalesce(la.base_cost, p.dist_fixed)
               -- days: the ETA (ship date, then transit days) minus today
               + p.w_days * greatest(0, bench_routing.nth_open(
                     bench_routing.nth_open(nd.local_date + nd.past::int, nd.handling_days,
                                            nd.ship_weekdays, nd.ncal),
                     coalesce(la.transit_days, ceil(nd.km / 1.609344 / 500))::int,
                     coalesce(la.transit_weekdays, '{1,2,3,4,5}'), coalesce(la.lcal, nd.ncal))
                   - current_date)
               + p.w_distance * nd.km + p.split_penalty AS fixed,
               nd.km, la.per_unit, la.per_kg, la.node_id IS NOT NULL AS has_lane
          FROM node nd LEFT JOIN lane la USING (node_id)),
    runs AS (
        SELECT c.line, k.idx AS node,
               p.w_cost * CASE WHEN k.has_lane THEN k.per_unit + k.per_kg * c.weight_kg
                               ELSE p.dist_per_unit + p.dist_per_unit_mile * k.km / 1.609344 END
               + CASE WHEN pt.part = 1 THEN p.w_balance ELSE 0 END AS cost,
               CASE WHEN pt.part = 0 THEN least(c.bfree, c.avail)
                    ELSE c.avail - least(c.bfree, c.avail) END AS cap
          FROM cand c JOIN costed k USING (node_id) CROSS JOIN (VALUES (0), (1)) AS pt(part)),
    live AS (
        SELECT * FROM runs
         WHERE cap > 0
           AND (NOT p.allow_partial OR p.ship_complete OR cost <= p.backorder_penalty))
    SELECT (SELECT array_agg(node_id ORDER BY idx) FROM costed),
           (SELECT array_agg(fixed ORDER BY idx) FROM costed),
           (SELECT array_agg(qty ORDER BY line) FROM numbered),
           (SELECT array_agg(1 + (SELECT count(*) FROM live WHERE live.line < g)::int ORDER BY g)
              FROM generate_series(1, (SELECT count(*) FROM numbered)::int + 1) g),
           (SELECT array_agg(node ORDER BY line, cost, node) FROM live),
           (SELECT array_agg(cost ORDER BY line, cost, node) FROM live),
           (SELECT array_agg(cap ORDER BY line, cost, node) FROM live)
      INTO node_ids, fixed, qty, seg_start, seg_node, seg_cost, seg_cap;

    IF fixed IS NULL THEN
        RETURN jsonb_build_object('order_ref', o->>'order_ref', 'status', 'unfillable');
    END IF;
    r := bench_routing.search(fixed, qty, seg_start, coalesce(seg_node, '{}'),
                              coalesce(seg_cost, '{}'), coalesce(seg_cap, '{}'),
                              p.allow_partial AND NOT p.ship_complete, p.backorder_penalty,
                              p.split_penalty,
                              CASE WHEN p.ship_complete THEN 1 ELSE p.max_shipments END);
    RETURN jsonb_build_object('order_ref', o->>'order_ref', 'score', r.score, 'exact', r.exact,
                              'nodes', (SELECT jsonb_agg(node_ids[i]) FROM unnest(r.open_nodes) u(i)));
END $$;

-- split_plan in PL/pgSQL (default weights: w_cost 1, w_days 1, no partial)
CREATE FUNCTION bench_routing.plpgsql_split(cands stockroute.candidate[])
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
#variable_conflict use_column
DECLARE
    fixed float8[]; qty bigint[]; seg_start int[];
    seg_node int[]; seg_cost float8[]; seg_cap bigint[];
    node_ids text[]; line_refs text[];
    r record;
BEGIN
    SELECT array_agg(node_id ORDER BY node_id), array_agg(f ORDER BY node_id)
      INTO node_ids, fixed
      FROM (SELECT node_id, max(shipment_cost) + max(days) AS f
              FROM unnest(cands) GROUP BY node_id) n;
    SELECT array_agg(line_ref ORDER BY line_ref), array_agg(q ORDER BY line_ref)
      INTO line_refs, qty
      FROM (SELECT line_ref, max(qty) AS q FROM unnest(cands) GROUP BY line_ref) l;
    WITH runs AS (
        SELECT array_position(line_refs, line_ref) AS line,
               array_position(node_ids, node_id) AS node,
               unit_cost AS cost, least(available, qty) AS cap
          FROM unnest(cands) WHERE available > 0),
    starts AS (
        SELECT array_agg(1 + coalesce((SELECT count(*) FROM runs WHERE runs.line < g), 0)::int ORDER BY g) AS st
          FROM generate_series(1, array_length(qty, 1) + 1) g)
    SELECT (SELECT st FROM starts),
           array_agg(node ORDER BY line, cost, node), array_agg(cost ORDER BY line, cost, node),
           array_agg(cap ORDER BY line, cost, node)
      INTO seg_start, seg_node, seg_cost, seg_cap
      FROM runs;
    r := bench_routing.search(fixed, qty, seg_start, seg_node, seg_cost, seg_cap,
                              false, 1000, 0, 0);
    RETURN jsonb_build_object('score', r.score, 'exact', r.exact,
                              'nodes', (SELECT jsonb_agg(node_ids[i]) FROM unnest(r.open_nodes) u(i)));
END $$;
