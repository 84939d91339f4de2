-- paths_property: on random networks and orders, every path that places
-- units places exactly what plan() places for the same lines on the same
-- stock, or nothing where plan() places nothing.
--
-- Each round builds a network of its own (3 to 5 nodes, some draining, some
-- tagged hazmat, some with a daily order or unit limit; a plain SKU, a
-- hazmat SKU and a lot-tracked SKU whose lots have random shelf life and
-- certificates; a rule for the round's customer segment that forbids a node
-- or asks for a minimum node stock) and a random order (1 to 3 lines, lot
-- requirements, all-or-nothing or ship-complete options, a shipment limit),
-- then compares with plan():
--   simulate   the plan simulate() makes of the order;
--   allocate   the plan allocate() returns and the holds it made;
--   fill       after a receipt, the holds fill_backorders() makes for the
--              order's open backorder lines, against plan() of those lines;
--   reject     the holds reject() makes for the released lines, against
--              plan() of those lines on the stock with the node's holds
--              released and the node excluded (computed, then rolled back);
--   shortfall  the holds reconcile() makes for the units a short stock row
--              frees, against plan() of those units on the stock with the
--              hold reduced (computed, then rolled back).
-- The routing clock is the real one (capacity is counted on the real local
-- day by writing paths), so only agreement is printed, never a date.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;

-- what a plan ships, in one canonical form: [node, line, lot, qty] sorted
CREATE FUNCTION pg_temp.canon_plan(p jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT coalesce(jsonb_agg(x ORDER BY x::text), '[]')
      FROM (SELECT jsonb_build_array(s->>'node_id', l->>'line_ref', t->>'lot_code',
                                     coalesce(t->>'qty', l->>'qty')::bigint) AS x
              FROM jsonb_array_elements(p->'shipments') s,
                   jsonb_array_elements(s->'lines') l
              LEFT JOIN LATERAL jsonb_array_elements(l->'lots') t ON true) y
$$;
-- what an order's holds keyed ...<suffix> hold, in the same form
CREATE FUNCTION pg_temp.canon_holds(ref text, suffix text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT coalesce(jsonb_agg(x ORDER BY x::text), '[]')
      FROM (SELECT jsonb_build_array(r.node_id, r.line_ref, r.lot_code, sum(r.qty)) AS x
              FROM stockroute.reservation r
             WHERE r.order_ref = ref AND r.status IN ('held', 'committed')
               AND r.idempotency_key LIKE ref || ':%' || suffix
             GROUP BY r.node_id, r.line_ref, r.lot_code) y
$$;
-- an order's allocate document with only some lines (in its order), at the given quantities
CREATE FUNCTION pg_temp.sub_order(ref text, lines jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT d.input || jsonb_build_object('lines',
             (SELECT jsonb_agg(l.value || jsonb_build_object('qty', (q.value)::bigint) ORDER BY l.ordinality)
                FROM jsonb_array_elements(d.input->'lines') WITH ORDINALITY l
                JOIN jsonb_each_text(lines) q ON q.key = l.value->>'line_ref'))
      FROM stockroute.decision d WHERE d.order_ref = ref AND d.kind = 'allocate'
$$;

CREATE TEMP TABLE outcome (round int, path text, agreed boolean, detail text);

CREATE FUNCTION pg_temp.round(i int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    seg     text := 'seg' || i;
    nodes   text[] := ARRAY[]::text[];
    nn      int;
    skus    text[] := ARRAY['P' || i, 'H' || i, 'L' || i];
    n       text;
    s       text;
    k       int;
    lines   jsonb := '[]';
    o       jsonb;
    ref     text := 'SO-' || i;
    p       jsonb;
    a       jsonb;
    sim     jsonb;
    open_l  jsonb;
    expect  jsonb;
    got     jsonb;
    r       record;
BEGIN
    PERFORM setseed(i / 100.0);	-- each round its own, whatever the others drew
    nn := 3 + floor(random() * 3)::int;
    -- the network
    FOR k IN 1 .. nn LOOP
        n := 'N' || i || '-' || k;
        nodes := nodes || n;
        INSERT INTO stockroute.node (node_id, lat, lon, country, status, tags, daily_order_limit, daily_unit_limit)
        VALUES (n, 30 + random() * 10, -90 + random() * 12, 'US',
                CASE WHEN random() < 0.1 THEN 'draining' ELSE 'active' END,
                CASE WHEN random() < 0.4 THEN ARRAY['hazmat'] ELSE ARRAY[]::text[] END,
                CASE WHEN random() < 0.2 THEN 1 + floor(random() * 2)::int END,
                CASE WHEN random() < 0.15 THEN 3 + floor(random() * 6)::int END);
    END LOOP;
    INSERT INTO stockroute.item (sku, weight_kg, tags) VALUES
        (skus[1], 1 + floor(random() * 5), '{}'),
        (skus[2], 1 + floor(random() * 5), '{hazmat}'),
        (skus[3], 1, '{lot_tracked}');
    FOREACH n IN ARRAY nodes LOOP
        FOREACH s IN ARRAY skus LOOP
            INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock)
            VALUES (n, s, floor(random() * 9), CASE WHEN random() < 0.2 THEN 1 ELSE 0 END);
        END LOOP;
        FOR k IN 1 .. 1 + floor(random() * 2)::int LOOP
            INSERT INTO stockroute.lot (node_id, sku, lot_code, on_hand, expires_on, attrs)
            VALUES (n, skus[3], 'LOT-' || k, 1 + floor(random() * 6),
                    current_date + (floor(random() * 60) - 5)::int,
                    CASE WHEN random() < 0.4 THEN '{"cert": "halal"}'
                         WHEN random() < 0.5 THEN '{"cert": "kosher"}' ELSE '{}' END::jsonb);
        END LOOP;
        -- the stock row of the lot-tracked SKU holds its lots' units
        UPDATE stockroute.stock st SET on_hand = (SELECT sum(l.on_hand) FROM stockroute.lot l
                                                   WHERE l.node_id = n AND l.sku = skus[3])
         WHERE st.node_id = n AND st.sku = skus[3];
    END LOOP;
    IF random() < 0.3 THEN
        INSERT INTO stockroute.rule (rule_id, match, effect)
        VALUES ('r' || i, jsonb_build_object('segment', seg),
                jsonb_build_object('forbid_nodes', jsonb_build_array(nodes[1 + floor(random() * nn)::int])));
    ELSIF random() < 0.3 THEN
        INSERT INTO stockroute.rule (rule_id, match, effect)
        VALUES ('r' || i, jsonb_build_object('segment', seg, 'sku', skus[1]), '{"min_node_available": 2}');
    END IF;

    -- the order
    FOR k IN 1 .. 1 + floor(random() * 3)::int LOOP
        s := skus[1 + floor(random() * 3)::int];
        lines := lines || jsonb_build_array(jsonb_build_object('line_ref', k::text, 'sku', s,
                                                               'qty', 1 + floor(random() * 8)::int)
            || CASE WHEN s = skus[3] AND random() < 0.5
                    THEN jsonb_build_object('min_shelf_days', floor(random() * 30)::int) ELSE '{}' END
            || CASE WHEN s = skus[3] AND random() < 0.3
                    THEN '{"lot_attrs": {"cert": "halal"}}'::jsonb ELSE '{}' END);
    END LOOP;
    o := jsonb_build_object('order_ref', ref,
                            'ship_to', jsonb_build_object('lat', 30 + random() * 10, 'lon', -90 + random() * 12,
                                                          'country', 'US'),
                            'customer', jsonb_build_object('id', 'C' || i, 'segment', seg),
                            'lines', lines,
                            'options', jsonb_build_object('allow_partial', random() < 0.6,
                                                          'ship_complete', random() < 0.2,
                                                          'max_shipments', floor(random() * 3)::int));

    -- simulate and allocate against plan()
    p := stockroute.plan(o);
    sim := stockroute.simulate(jsonb_build_array(o), NULL, true) -> 'plans' -> 0;
    INSERT INTO outcome VALUES (i, 'simulate', pg_temp.canon_plan(sim) = pg_temp.canon_plan(p),
                                pg_temp.canon_plan(sim)::text || ' / ' || pg_temp.canon_plan(p)::text);
    a := stockroute.allocate(o);
    INSERT INTO outcome VALUES (i, 'allocate',
                                pg_temp.canon_plan(a) = pg_temp.canon_plan(p)
                                AND pg_temp.canon_holds(ref, '') = pg_temp.canon_plan(p),
                                pg_temp.canon_plan(a)::text || ' / ' || pg_temp.canon_plan(p)::text);

    -- a receipt, then the open backorder lines filled against plan()
    SELECT jsonb_object_agg(b.line_ref, b.qty) INTO open_l
      FROM stockroute.backorder b WHERE b.order_ref = ref AND b.status = 'open';
    IF open_l IS NOT NULL THEN
        FOREACH s IN ARRAY skus LOOP
            n := nodes[1 + floor(random() * nn)::int];
            IF s = skus[3] THEN
                INSERT INTO stockroute.lot (node_id, sku, lot_code, on_hand, expires_on, attrs)
                VALUES (n, s, 'NEW-' || i, 6, current_date + 40, '{"cert": "halal"}')
                ON CONFLICT DO NOTHING;
            END IF;
            UPDATE stockroute.stock st SET on_hand = on_hand + 6 WHERE st.node_id = n AND st.sku = s;
        END LOOP;
        expect := pg_temp.canon_plan(stockroute.plan(pg_temp.sub_order(ref, open_l)));
        PERFORM stockroute.fill_backorders(skus);
        got := pg_temp.canon_holds(ref, ':fill:%');
        INSERT INTO outcome VALUES (i, 'fill', got = expect, got::text || ' / ' || expect::text);
    END IF;

    -- a rejection: the node with the order's first hold
    SELECT r2.node_id INTO n FROM stockroute.reservation r2
     WHERE r2.order_ref = ref AND r2.status = 'held' ORDER BY r2.node_id LIMIT 1;
    IF n IS NOT NULL THEN
        SELECT jsonb_object_agg(x.line_ref, x.qty) INTO open_l
          FROM (SELECT r2.line_ref, sum(r2.qty) AS qty FROM stockroute.reservation r2
                 WHERE r2.order_ref = ref AND r2.node_id = n AND r2.status = 'held'
                 GROUP BY r2.line_ref) x;
        BEGIN
            UPDATE stockroute.reservation r2 SET status = 'released'
             WHERE r2.order_ref = ref AND r2.node_id = n AND r2.status = 'held';
            INSERT INTO stockroute.order_exclusion (order_ref, node_id, reason, expires_at)
            VALUES (ref, n, 'test', stockroute.routing_now() + interval '1 day');
            expect := pg_temp.canon_plan(stockroute.plan(pg_temp.sub_order(ref, open_l)));
            RAISE EXCEPTION USING ERRCODE = 'P0004';	-- roll back, keep expect
        EXCEPTION WHEN assert_failure THEN
            NULL;
        END;
        PERFORM stockroute.reject(ref, n, 'test');
        got := pg_temp.canon_holds(ref, ':reject:%');
        INSERT INTO outcome VALUES (i, 'reject', got = expect, got::text || ' / ' || expect::text);
    END IF;

    -- a shortfall at a stock row of a plain SKU where the order has one hold
    SELECT r2.node_id, r2.sku, r2.line_ref, r2.qty, r2.reservation_id INTO r
      FROM stockroute.reservation r2
     WHERE r2.order_ref = ref AND r2.status = 'held' AND r2.sku <> skus[3]
       AND NOT EXISTS (SELECT 1 FROM stockroute.reservation x
                        WHERE x.node_id = r2.node_id AND x.sku = r2.sku
                          AND x.status IN ('held', 'committed') AND x.reservation_id <> r2.reservation_id)
     ORDER BY r2.node_id, r2.sku LIMIT 1;
    IF FOUND THEN
        k := 1 + floor(random() * r.qty)::int;	-- the units the row turns out short
        BEGIN
            UPDATE stockroute.reservation r2
               SET status = CASE WHEN k >= r2.qty THEN 'released' ELSE r2.status END,
                   qty = CASE WHEN k >= r2.qty THEN r2.qty ELSE r2.qty - k END
             WHERE r2.sku = r.sku AND r2.reservation_id = r.reservation_id;
            UPDATE stockroute.stock st SET on_hand = st.reserved
             WHERE st.node_id = r.node_id AND st.sku = r.sku;
            expect := pg_temp.canon_plan(stockroute.plan(
                          pg_temp.sub_order(ref, jsonb_build_object(r.line_ref, k))));
            RAISE EXCEPTION USING ERRCODE = 'P0004';
        EXCEPTION WHEN assert_failure THEN
            NULL;
        END;
        UPDATE stockroute.stock st SET on_hand = st.reserved - k
         WHERE st.node_id = r.node_id AND st.sku = r.sku;
        PERFORM stockroute.reconcile();
        got := pg_temp.canon_holds(ref, ':reroute:%');
        INSERT INTO outcome VALUES (i, 'shortfall', got = expect, got::text || ' / ' || expect::text);
    END IF;
END;
$$;

SELECT count(pg_temp.round(i)) AS rounds FROM generate_series(1, 60) i;

-- every path agreed with plan() every time it ran, and each ran often enough
SELECT path, bool_and(agreed) AS always_agreed, count(*) >= 8 AS exercised
  FROM outcome GROUP BY path ORDER BY path;
SELECT round, path, detail FROM outcome WHERE NOT agreed ORDER BY round, path;

-- invariant 2 after all of it, stock rows and lots
SELECT count(*) AS stock_rows_off FROM stockroute.stock s
 WHERE s.reserved <> (SELECT coalesce(sum(r.qty), 0) FROM stockroute.reservation r
                       WHERE r.node_id = s.node_id AND r.sku = s.sku AND r.status IN ('held', 'committed'));
SELECT count(*) AS lots_off FROM stockroute.lot l
 WHERE l.reserved <> (SELECT coalesce(sum(r.qty), 0) FROM stockroute.reservation r
                       WHERE r.node_id = l.node_id AND r.sku = l.sku AND r.lot_code = l.lot_code
                         AND r.status IN ('held', 'committed'));
