#!/usr/bin/env bash
# fuzz_json: the JSON-to-solver path under hostile and random input.
#  1. thousands of mutated orders, plans and candidate rows — from an inline
#     order and the seeds in test/fuzz/corpus/ — thrown at plan(),
#     allocate(), explain() and split_plan(): every one either works or fails
#     with a specific SQLSTATE; none is an internal error (XX000);
#  2. random valid orders over the fuzz network: every plan ships what it
#     says and no more than a node has (shipped + unfilled = qty per line,
#     shipped <= available, status agrees), and after the allocations
#     stock.reserved equals the active reservations;
#  3. random split_plan groups, aggregated serially and in parallel workers
#     (combine, serialise, deserialise): the same plans, each satisfying the
#     same properties.
# The backend never dies.  Short by default (FUZZ_ITERATIONS=3000 mutations,
# a tenth as many random orders and groups); FUZZ_ITERATIONS=50000 for a
# long run; FUZZ_SEED picks another random sequence.  Runs against the
# server in PG* (test/fuzz/run_valgrind.sh runs it against one under Valgrind).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fuzz=$here/../fuzz
db=stockroute_fuzz
n=${FUZZ_ITERATIONS:-3000}
seed=${FUZZ_SEED:-0.1234}
dropdb --if-exists $db >/dev/null 2>&1
createdb $db
trap 'dropdb --if-exists $db >/dev/null 2>&1' EXIT
psql -X -q -v ON_ERROR_STOP=1 -d $db <<'SQL'
CREATE EXTENSION stockroute;
CREATE SCHEMA fuzz;
INSERT INTO stockroute.node (node_id, lat, lon, country, region, cutoff, timezone) VALUES
    ('A', 33.7, -84.4, 'US', 'GA', '15:00', 'America/New_York'),
    ('B', 33.5, -86.8, 'US', 'AL', NULL, 'America/Chicago'),
    ('C', 34.0, -118.2, 'US', 'CA', '12:00', 'America/Los_Angeles'),
    ('D', 41.9, -87.6, 'US', 'IL', NULL, 'America/Chicago'),
    ('E', 40.7, -74.0, 'US', 'NY', '17:00', 'America/New_York');
INSERT INTO stockroute.item (sku, weight_kg) VALUES ('V', 2.5), ('P', 80), ('W', 0.2);
INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock) VALUES
    ('A', 'V', 8, 0), ('B', 'V', 12, 1), ('C', 'V', 15, 0), ('A', 'P', 3, 0), ('C', 'P', 9, 2),
    ('D', 'V', 30, 0), ('D', 'W', 100, 5), ('E', 'W', 40, 0), ('E', 'P', 6, 0);
INSERT INTO stockroute.lane (node_id, country, base_cost, per_kg, transit_days, max_weight_kg)
VALUES ('A', 'US', 7, 0.3, 2, 70), ('B', 'US', 6, 0.4, 3, NULL), ('E', 'US', 9, 0.2, 1, 500);
CREATE TABLE fuzz.seed (kind text, name text, doc jsonb);
CREATE TABLE fuzz.outcome (fn text, code text);
CREATE TABLE fuzz.violation (what text, input jsonb, output jsonb);
SQL
psql -X -q -v ON_ERROR_STOP=1 -d $db -f "$fuzz/fuzz.sql"
for f in "$fuzz"/corpus/*/*.json; do
    kind=$(basename "$(dirname "$f")")
    echo "INSERT INTO fuzz.seed VALUES (:'kind', :'name', :'doc')" |
        psql -X -q -v ON_ERROR_STOP=1 -d $db -v kind="$kind" -v name="$(basename "$f" .json)" -v doc="$(cat "$f")"
done

# 1. mutations
PGOPTIONS="-c fuzz.n=$n -c fuzz.seed=$seed" psql -X -q -v ON_ERROR_STOP=1 -d $db <<'SQL'
SET stockroute.now = '2026-11-23 09:00+00';
DO $$
DECLARE
    orders jsonb[] := ARRAY(SELECT doc FROM fuzz.seed WHERE kind = 'orders' ORDER BY name);
    plans jsonb[] := ARRAY(SELECT doc FROM fuzz.seed WHERE kind = 'plans' ORDER BY name);
    groups jsonb[] := ARRAY(SELECT doc FROM fuzz.seed WHERE kind = 'candidates' ORDER BY name);
    doc jsonb;
    grp jsonb;
    p jsonb;
    i int;
    code text;
BEGIN
    PERFORM setseed(current_setting('fuzz.seed')::float8);
    FOR i IN 1 .. current_setting('fuzz.n')::int LOOP
        doc := fuzz.mutate(orders[1 + floor(random() * cardinality(orders))::int]);
        BEGIN
            p := stockroute.plan(doc);
            code := 'ok';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE;
            p := NULL;
        END;
        INSERT INTO fuzz.outcome VALUES ('plan', code);
        BEGIN
            PERFORM stockroute.explain(CASE WHEN p IS NOT NULL AND random() < 0.5 THEN p
                                            WHEN random() < 0.5 THEN fuzz.mutate(coalesce(p, doc))
                                            ELSE fuzz.mutate(plans[1 + floor(random() * cardinality(plans))::int]) END);
            code := 'ok';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE;
        END;
        INSERT INTO fuzz.outcome VALUES ('explain', code);
        IF i % 10 = 0 THEN
            BEGIN
                PERFORM stockroute.allocate(doc || jsonb_build_object('order_ref', 'F-' || i));
                code := 'ok';
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE;
            END;
            INSERT INTO fuzz.outcome VALUES ('allocate', code);
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
            INSERT INTO fuzz.outcome VALUES ('split_plan', code);
            -- a corpus group with mutated rows and profile
            grp := groups[1 + floor(random() * cardinality(groups))::int];
            BEGIN
                PERFORM stockroute.split_plan(
                    ROW(r->>0, (r->>1)::bigint, r->>2, (r->>3)::bigint, (r->>4)::float8,
                        (r->>5)::float8, (r->>6)::float8)::stockroute.candidate,
                    CASE WHEN random() < 0.5 THEN grp->'profile' ELSE fuzz.mutate(grp->'profile') END)
                  FROM jsonb_array_elements(CASE WHEN random() < 0.5 THEN grp->'rows'
                                                 ELSE fuzz.mutate(grp->'rows') END) r;
                code := 'ok';
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE;
            END;
            INSERT INTO fuzz.outcome VALUES ('split_plan corpus', code);
        END IF;
    END LOOP;
END $$;
SQL

# 2. random valid orders: properties of every plan, invariant 2 after allocating
PGOPTIONS="-c fuzz.n=$((n / 10)) -c fuzz.seed=$seed" psql -X -q -v ON_ERROR_STOP=1 -d $db <<'SQL'
SET stockroute.now = '2026-11-23 09:00+00';
DO $$
DECLARE
    doc jsonb;
    p jsonb;
    bad text;
    code text;
BEGIN
    PERFORM setseed(current_setting('fuzz.seed')::float8);
    FOR i IN 1 .. current_setting('fuzz.n')::int LOOP
        doc := fuzz.random_order('R-' || i);
        BEGIN
            IF i % 3 = 0 THEN
                p := stockroute.allocate(doc);
                -- what was reserved is what the plan ships
                IF (SELECT coalesce(sum((x->>'qty')::bigint), 0) FROM jsonb_array_elements(p->'reservations') x)
                   <> (SELECT coalesce(sum((sl->>'qty')::bigint), 0)
                         FROM jsonb_array_elements(p->'shipments') sh, jsonb_array_elements(sh->'lines') sl) THEN
                    INSERT INTO fuzz.violation VALUES ('reservations differ from shipments', doc, p);
                END IF;
                INSERT INTO fuzz.outcome VALUES ('random allocate', 'ok');
            ELSE
                p := stockroute.plan(doc);
                bad := fuzz.check_plan(doc, p);
                IF bad IS NOT NULL THEN
                    INSERT INTO fuzz.violation VALUES (bad, doc, p);
                END IF;
                INSERT INTO fuzz.outcome VALUES ('random plan', 'ok');
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE;
            INSERT INTO fuzz.outcome VALUES (CASE WHEN i % 3 = 0 THEN 'random allocate' ELSE 'random plan' END, code);
            -- a valid order may only fail for lack of candidates' budget, never otherwise
            INSERT INTO fuzz.violation VALUES ('valid order failed: ' || code || ' ' || SQLERRM, doc, NULL);
        END;
        -- now and then release an allocation, so stock keeps moving both ways
        IF i % 7 = 0 AND EXISTS (SELECT 1 FROM stockroute.reservation WHERE order_ref = 'R-' || (i - 4)) THEN
            PERFORM stockroute.release('R-' || (i - 4));
        END IF;
    END LOOP;
    INSERT INTO fuzz.violation
    SELECT 'invariant 2 broken at ' || s.node_id || '/' || s.sku, NULL, NULL
      FROM stockroute.stock s
     WHERE s.reserved <> (SELECT coalesce(sum(r.qty), 0) FROM stockroute.reservation r
                           WHERE r.node_id = s.node_id AND r.sku = s.sku AND r.status IN ('held', 'committed'));
END $$;
SQL

# 3. random split_plan groups, serial and parallel
PGOPTIONS="-c fuzz.n=$((n / 10)) -c fuzz.seed=$seed" psql -X -q -v ON_ERROR_STOP=1 -d $db <<'SQL'
SELECT setseed(current_setting('fuzz.seed')::float8);
SELECT fuzz.fill_candidates(current_setting('fuzz.n')::int);
ANALYZE fuzz.cand;
CREATE TABLE fuzz.serial AS
SELECT g, stockroute.split_plan(ROW(line_ref, qty, node_id, available, unit_cost, shipment_cost, days)::stockroute.candidate,
                                jsonb_build_object('max_shipments', max_shipments, 'split_penalty', 2)) AS r
  FROM fuzz.cand GROUP BY g;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET cpu_operator_cost = 1;   -- transition calls are dear: run them in the workers (partial aggregation)
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
CREATE TABLE fuzz.parallel AS
SELECT g, stockroute.split_plan(ROW(line_ref, qty, node_id, available, unit_cost, shipment_cost, days)::stockroute.candidate,
                                jsonb_build_object('max_shipments', max_shipments, 'split_penalty', 2)) AS r
  FROM fuzz.cand GROUP BY g;
RESET ALL;
INSERT INTO fuzz.outcome SELECT 'split_plan random', 'ok' FROM fuzz.serial;
INSERT INTO fuzz.violation
SELECT 'split_plan group ' || s.g || ': parallel plan differs from serial', s.r, p.r
  FROM fuzz.serial s JOIN fuzz.parallel p USING (g)
 WHERE s.r - 'explain' <> p.r - 'explain';
INSERT INTO fuzz.violation
SELECT 'split_plan group ' || s.g || ': ' || fuzz.check_split(s.g, s.r), s.r, NULL
  FROM fuzz.serial s WHERE fuzz.check_split(s.g, s.r) IS NOT NULL;
INSERT INTO fuzz.violation
SELECT 'split_plan: ' || (SELECT count(*) FROM fuzz.parallel) || ' parallel plans for '
       || (SELECT count(*) FROM fuzz.serial) || ' groups', NULL, NULL
 WHERE (SELECT count(*) FROM fuzz.parallel) <> (SELECT count(*) FROM fuzz.serial);
SQL

# a parallel plan was really used for 3 (else the combine path went untested)
psql -X -At -v ON_ERROR_STOP=1 -d $db > /tmp/fuzz_plan.$$ <<'SQL'
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET cpu_operator_cost = 1;   -- transition calls are dear: run them in the workers (partial aggregation)
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT g, stockroute.split_plan(ROW(line_ref, qty, node_id, available, unit_cost, shipment_cost, days)::stockroute.candidate)
  FROM fuzz.cand GROUP BY g;
SQL
grep -q 'Partial HashAggregate' /tmp/fuzz_plan.$$ || { echo "fuzz_json: no parallel plan for split_plan"; cat /tmp/fuzz_plan.$$; rm -f /tmp/fuzz_plan.$$; exit 1; }
rm -f /tmp/fuzz_plan.$$

psql -X -At -v ON_ERROR_STOP=1 -d $db <<'SQL'
SELECT fn, code, count(*) FROM fuzz.outcome GROUP BY 1, 2 ORDER BY 1, 2;
SELECT 'VIOLATION: ' || what || coalesce(' input ' || left(input::text, 400), '')
       || coalesce(' output ' || left(output::text, 400), '')
  FROM fuzz.violation LIMIT 20;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM fuzz.outcome WHERE code LIKE 'XX%' OR code LIKE '58%') THEN
        RAISE EXCEPTION 'internal errors under fuzzing';
    END IF;
    IF EXISTS (SELECT fn FROM fuzz.outcome GROUP BY fn HAVING count(*) FILTER (WHERE code = 'ok') = 0) THEN
        RAISE EXCEPTION 'some function never got a valid input: the fuzzer would test only its validation';
    END IF;
    IF EXISTS (SELECT 1 FROM fuzz.violation) THEN
        RAISE EXCEPTION '% property violations', (SELECT count(*) FROM fuzz.violation);
    END IF;
END $$;
SQL
echo "fuzz_json: $n mutations, $((n / 10)) random orders and split_plan groups (seed $seed): no internal error, no property broken, backend alive"
