#!/usr/bin/env bash
# fuzz_json: thousands of mutated orders, plans and candidate rows thrown at
# plan(), allocate(), explain() and split_plan(): every one either works or
# fails with a specific SQLSTATE; none is an internal error (XX000) and the
# backend never dies.  Short by default; FUZZ_ITERATIONS=50000 for a long run.
set -euo pipefail
db=stockroute_fuzz
n=${FUZZ_ITERATIONS:-3000}
dropdb --if-exists $db >/dev/null 2>&1
createdb $db
trap 'dropdb --if-exists $db >/dev/null 2>&1' EXIT
psql -X -q -v ON_ERROR_STOP=1 -d $db <<'SQL'
CREATE EXTENSION stockroute;
CREATE SCHEMA fuzz;
INSERT INTO stockroute.node (node_id, lat, lon, country, region, cutoff, timezone) VALUES
    ('A', 33.7, -84.4, 'US', 'GA', '15:00', 'America/New_York'),
    ('B', 33.5, -86.8, 'US', 'AL', NULL, 'America/Chicago'),
    ('C', 34.0, -118.2, 'US', 'CA', '12:00', 'America/Los_Angeles');
INSERT INTO stockroute.item (sku, weight_kg) VALUES ('V', 2.5), ('P', 80);
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES
    ('A', 'V', 8), ('B', 'V', 12), ('C', 'V', 15), ('A', 'P', 3), ('C', 'P', 9);
INSERT INTO stockroute.lane (node_id, country, base_cost, per_kg, transit_days, max_weight_kg)
VALUES ('A', 'US', 7, 0.3, 2, 70), ('B', 'US', 6, 0.4, 3, NULL);

-- a random JSON value of any type, some of them hostile
CREATE FUNCTION fuzz.junk() RETURNS jsonb LANGUAGE sql AS $$
    SELECT (ARRAY['null', 'true', '0', '-1', '1e308', '-1e308', '1.5', '9223372036854775808',
                  '"NaN"', '"Infinity"', '"-Infinity"', '""', '"A"', '"V"', '"2026-13-45"',
                  '"2026-11-25"', '[]', '{}', '[1,2]', '{"a": {"b": []}}', '"\u00e9\u4e2d"',
                  '"' || repeat('x', 3000) || '"', '123456789012', '-0', '"1"', '0.0000001'])
           [1 + floor(random() * 26)::int]::jsonb
$$;

-- mutate a JSON document: replace, drop or add keys at random depth
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
SQL

PGOPTIONS="-c fuzz.n=$n" psql -X -At -v ON_ERROR_STOP=1 -d $db <<'SQL'
SET stockroute.now = '2026-11-23 09:00+00';
CREATE TEMP TABLE outcome (fn text, code text);
DO $$
DECLARE
    base jsonb := '{"order_ref": "F-1",
        "ship_to": {"lat": 33.75, "lon": -84.39, "country": "US", "region": "GA", "postal_code": "30301"},
        "customer": {"id": "C-42", "segment": "tier1", "payment": "card", "tags": []},
        "lines": [{"line_ref": "1", "sku": "V", "qty": 20}, {"line_ref": "2", "sku": "P", "qty": 4}],
        "profile": "default",
        "options": {"allow_partial": true, "max_shipments": 3, "need_by": "2026-11-25"}}';
    doc jsonb;
    p jsonb;
    i int;
    code text;
BEGIN
    PERFORM setseed(0.1234);
    FOR i IN 1 .. current_setting('fuzz.n')::int LOOP
        doc := fuzz.mutate(base);
        BEGIN
            p := stockroute.plan(doc);
            code := 'ok';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE;
            p := NULL;
        END;
        INSERT INTO outcome VALUES ('plan', code);
        BEGIN
            PERFORM stockroute.explain(CASE WHEN p IS NULL OR random() < 0.5
                                            THEN fuzz.mutate(coalesce(p, doc)) ELSE p END);
            code := 'ok';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE;
        END;
        INSERT INTO outcome VALUES ('explain', code);
        IF i % 10 = 0 THEN
            BEGIN
                PERFORM stockroute.allocate(doc || jsonb_build_object('order_ref', 'F-' || i));
                code := 'ok';
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE;
            END;
            INSERT INTO outcome VALUES ('allocate', code);
        END IF;
        IF i % 5 = 0 THEN
            BEGIN
                PERFORM stockroute.split_plan(
                    -- mostly valid fields, so the solver runs on most groups
                    ROW((ARRAY['1', '2', '3', '1', '2', NULL, ''])[1 + floor(random() * 7)::int],
                        (ARRAY[4, 4, 4, 4, 4, 4, 0, -5, 9223372036854775807, NULL])[1 + floor(random() * 10)::int],
                        (ARRAY['A', 'B', 'C', 'D', 'A', 'B', NULL])[1 + floor(random() * 7)::int],
                        (ARRAY[3, 1, 5, 2, 7, 0, -1, 9223372036854775807, NULL])[1 + floor(random() * 9)::int],
                        (ARRAY[1.5, 0.4, 2, 0.1, 3, 'NaN', 'Infinity', -2, 1e300, NULL])[1 + floor(random() * 10)::int]::float8,
                        (ARRAY[8.7, 8.7, 8.7, 8.7, 5, 'NaN', '-Infinity', 0, NULL])[1 + floor(random() * 9)::int]::float8,
                        (ARRAY[2, 2, 3, 1, 4, 'NaN', -1, 1e308, NULL])[1 + floor(random() * 9)::int]::float8
                    )::stockroute.candidate,
                    CASE WHEN random() < 0.5 THEN NULL
                         ELSE fuzz.mutate('{"w_cost": 1, "w_days": 0, "split_penalty": 0, "allow_partial": false, "max_shipments": 2}') END)
                  FROM generate_series(1, 1 + floor(random() * (CASE WHEN random() < 0.7 THEN 4 ELSE 12 END))::int);
                code := 'ok';
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE;
            END;
            INSERT INTO outcome VALUES ('split_plan', code);
        END IF;
    END LOOP;
END $$;
SELECT fn, code, count(*) FROM outcome GROUP BY 1, 2 ORDER BY 1, 2;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM outcome WHERE code LIKE 'XX%' OR code LIKE '58%') THEN
        RAISE EXCEPTION 'internal errors under fuzzing';
    END IF;
    IF EXISTS (SELECT fn FROM outcome GROUP BY fn HAVING count(*) FILTER (WHERE code = 'ok') = 0) THEN
        RAISE EXCEPTION 'some function never got a valid input: the fuzzer would test only its validation';
    END IF;
END $$;
SQL
echo "fuzz_json: $n iterations, no internal error, backend alive"
