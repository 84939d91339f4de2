-- test/fuzz/fuzz.sql — the generators and property checks behind
-- test/scripts/fuzz_json.sh (and test/fuzz/run_valgrind.sh, which runs the
-- same harness against a server under Valgrind).  Loaded into schema fuzz of
-- a scratch database that has the extension and the fuzz network.

-- A random JSON value of any type, some of them hostile.
CREATE FUNCTION fuzz.junk() RETURNS jsonb LANGUAGE sql AS $$
    SELECT (ARRAY['null', 'true', '0', '-1', '1e308', '-1e308', '1.5', '9223372036854775808',
                  '"NaN"', '"Infinity"', '"-Infinity"', '""', '"A"', '"V"', '"2026-13-45"',
                  '"2026-11-25"', '[]', '{}', '[1,2]', '{"a": {"b": []}}', '"\u00e9\u4e2d"',
                  '"' || repeat('x', 3000) || '"', '123456789012', '-0', '"1"', '0.0000001',
                  '1e400', '-1e-400', '"' || repeat('\u00e9', 200) || '"', '1000000000000000'])
           [1 + floor(random() * 30)::int]::jsonb
$$;

-- Mutate a JSON document: replace, drop or add keys at random depth.
CREATE FUNCTION fuzz.mutate(doc jsonb, depth int DEFAULT 0) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    k text;
    out jsonb := doc;
BEGIN
    IF jsonb_typeof(doc) = 'object' THEN
        FOR k IN SELECT jsonb_object_keys(doc) LOOP
            CASE floor(random() * 6)::int
                WHEN 0 THEN out := out - k;
                WHEN 1 THEN out := jsonb_set(out, ARRAY[k], fuzz.junk());
                WHEN 2 THEN out := jsonb_set(out, ARRAY[k], fuzz.mutate(doc -> k, depth + 1));
                ELSE NULL;
            END CASE;
        END LOOP;
        IF random() < 0.2 THEN
            out := out || jsonb_build_object('x' || floor(random() * 3)::int, fuzz.junk());
        END IF;
    ELSIF jsonb_typeof(doc) = 'array' AND jsonb_array_length(doc) > 0 THEN
        out := '[]';
        FOR i IN 0 .. jsonb_array_length(doc) - 1 LOOP
            IF random() < 0.8 THEN
                out := out || jsonb_build_array(CASE WHEN random() < 0.7
                    THEN fuzz.mutate(doc -> i, depth + 1) ELSE fuzz.junk() END);
            END IF;
        END LOOP;
        IF random() < 0.2 THEN out := out || out; END IF;
    ELSIF random() < 0.5 THEN
        out := fuzz.junk();
    END IF;
    RETURN out;
END;
$$;

-- A random valid order over the fuzz network: 1-6 lines (SKUs may repeat),
-- a destination with coordinates or a country only, any profile and options.
CREATE FUNCTION fuzz.random_order(ref text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'order_ref', ref,
        'ship_to', CASE WHEN random() < 0.8
                        THEN jsonb_build_object('lat', round((25 + random() * 23)::numeric, 3),
                                                'lon', round((-124 + random() * 57)::numeric, 3),
                                                'country', 'US')
                        ELSE '{"country": "US", "region": "GA"}'::jsonb END,
        'lines', (SELECT jsonb_agg(jsonb_build_object(
                            'line_ref', 'L' || n,
                            'sku', (ARRAY['V', 'P', 'W', 'V'])[1 + floor(random() * 4)::int],
                            'qty', 1 + floor(random() * (CASE WHEN random() < 0.8 THEN 12 ELSE 60 END))::int))
                    FROM generate_series(1, 1 + floor(random() * 6)::int) n),
        'profile', (ARRAY['default', 'cheapest', 'fastest', 'closest'])[1 + floor(random() * 4)::int],
        'options', jsonb_strip_nulls(jsonb_build_object(
            'allow_partial', CASE WHEN random() < 0.3 THEN random() < 0.5 END,
            'ship_complete', CASE WHEN random() < 0.2 THEN random() < 0.5 END,
            'max_shipments', CASE WHEN random() < 0.3 THEN floor(random() * 4)::int END,
            'need_by', CASE WHEN random() < 0.3 THEN to_char(date '2026-11-23' + floor(random() * 6)::int, 'YYYY-MM-DD') END)))
$$;

-- What a plan must satisfy whatever the solver chose: every line's shipped
-- and unfilled units add up to its qty; no node ships more of a SKU than its
-- available; the status says whether anything is unfilled; no node ships
-- twice.  NULL when it holds, else what broke.
CREATE FUNCTION fuzz.check_plan(doc jsonb, p jsonb) RETURNS text LANGUAGE sql AS $$
    WITH l AS (
        SELECT x->>'line_ref' AS line_ref, x->>'sku' AS sku, (x->>'qty')::bigint AS qty
          FROM jsonb_array_elements(doc->'lines') x),
    s AS (
        SELECT sh->>'node_id' AS node_id, sl->>'line_ref' AS line_ref, sl->>'sku' AS sku,
               (sl->>'qty')::bigint AS qty
          FROM jsonb_array_elements(p->'shipments') sh, jsonb_array_elements(sh->'lines') sl),
    u AS (
        SELECT x->>'line_ref' AS line_ref, (x->>'qty')::bigint AS qty
          FROM jsonb_array_elements(p->'unfilled') x)
    SELECT coalesce(
        (SELECT 'line ' || l.line_ref || ': shipped + unfilled <> qty' FROM l
          WHERE l.qty <> coalesce((SELECT sum(s.qty) FROM s WHERE s.line_ref = l.line_ref), 0)
                       + coalesce((SELECT sum(u.qty) FROM u WHERE u.line_ref = l.line_ref), 0)
          LIMIT 1),
        (SELECT 'node ' || s.node_id || ' ships more ' || s.sku || ' than available' FROM s
          GROUP BY s.node_id, s.sku
         HAVING sum(s.qty) > (SELECT st.available FROM stockroute.stock st
                               WHERE st.node_id = s.node_id AND st.sku = s.sku)
          LIMIT 1),
        (SELECT 'non-positive shipped qty' FROM s WHERE s.qty <= 0 LIMIT 1),
        (SELECT 'status ' || (p->>'status') || ' with unfilled ' || count(*) FROM u
         HAVING (p->>'status' = 'complete') <> (count(*) = 0)),
        (SELECT 'node ' || (sh->>'node_id') || ' appears twice'
           FROM jsonb_array_elements(p->'shipments') sh GROUP BY sh->>'node_id' HAVING count(*) > 1 LIMIT 1))
$$;

-- Candidate rows of random split_plan groups (fill_candidates below).
CREATE TABLE fuzz.cand (
    g int, line_ref text, qty bigint, node_id text, available bigint,
    unit_cost float8, shipment_cost float8, days float8, max_shipments int);

-- The same for a split_plan result over candidate rows of group g.
CREATE FUNCTION fuzz.check_split(g int, p jsonb) RETURNS text LANGUAGE sql AS $$
    WITH l AS (SELECT DISTINCT line_ref, qty FROM fuzz.cand WHERE cand.g = check_split.g),
    s AS (
        SELECT sh->>'node_id' AS node_id, sl->>'line_ref' AS line_ref, (sl->>'qty')::bigint AS qty
          FROM jsonb_array_elements(p->'shipments') sh, jsonb_array_elements(sh->'lines') sl),
    u AS (
        SELECT x->>'line_ref' AS line_ref, (x->>'qty')::bigint AS qty
          FROM jsonb_array_elements(p->'unfilled') x)
    SELECT coalesce(
        (SELECT 'line ' || l.line_ref || ': shipped + unfilled <> qty' FROM l
          WHERE l.qty <> coalesce((SELECT sum(s.qty) FROM s WHERE s.line_ref = l.line_ref), 0)
                       + coalesce((SELECT sum(u.qty) FROM u WHERE u.line_ref = l.line_ref), 0)
          LIMIT 1),
        (SELECT 'line ' || s.line_ref || ' at ' || s.node_id || ': more than available' FROM s
          WHERE s.qty > coalesce((SELECT c.available FROM fuzz.cand c
                                   WHERE c.g = check_split.g AND c.line_ref = s.line_ref
                                     AND c.node_id = s.node_id), 0)
          LIMIT 1),
        (SELECT 'max_shipments broken' FROM jsonb_array_elements(p->'shipments')
         HAVING (SELECT max(c.max_shipments) FROM fuzz.cand c WHERE c.g = check_split.g) > 0
            AND count(*) > (SELECT max(c.max_shipments) FROM fuzz.cand c WHERE c.g = check_split.g)))
$$;

-- Random candidate groups: 1-4 lines, 1-9 nodes, each (line, node) present
-- with probability 0.7; shipment_cost and days belong to the node; costs
-- with ties; some nodes without stock.
CREATE FUNCTION fuzz.fill_candidates(groups int) RETURNS void LANGUAGE sql AS $$
    INSERT INTO fuzz.cand
    SELECT g.g, 'L' || ln.n, ln.qty, 'N' || nd.n,
           CASE WHEN random() < 0.1 THEN 0 ELSE floor(random() * (ln.qty + 3))::bigint END,
           round((random() * 3)::numeric, 1)::float8, nd.ship, nd.days, g.max_shipments
      FROM (SELECT g, 1 + floor(random() * 4)::int AS nlines, 1 + floor(random() * 9)::int AS nnodes,
                   CASE WHEN random() < 0.3 THEN 1 + floor(random() * 3)::int ELSE 0 END AS max_shipments
              FROM generate_series(1, groups) g) g
     CROSS JOIN LATERAL (SELECT n, 1 + floor(random() * 20)::bigint AS qty
                           FROM generate_series(1, g.nlines) n) ln
     CROSS JOIN LATERAL (SELECT n, round((4 + random() * 8)::numeric, 0)::float8 AS ship,
                                (1 + floor(random() * 6))::float8 AS days
                           FROM generate_series(1, g.nnodes) n) nd
     WHERE random() < 0.7
$$;
