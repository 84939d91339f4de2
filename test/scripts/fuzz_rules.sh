#!/usr/bin/env bash
# fuzz_rules: mutated routing rules.  Each mutant of the buyer template (and
# a few more rules) is (1) written through the rule_validate trigger, which
# either takes it or refuses it with SR024-SR028, never another error; and
# (2) stored around the trigger (session_replication_role = replica, as a
# restore or a 0.1.0 database could hold it) and then routed: plan() and
# available() of orders its match may concern must never fail because of it,
# and whatever the trigger took, routing applies (never "skipped").  Short by
# default; FUZZ_ITERATIONS=20000 for a long run.
set -euo pipefail
db=stockroute_fuzz_rules
n=${FUZZ_ITERATIONS:-1500}
dropdb --if-exists $db >/dev/null 2>&1
createdb $db
trap 'dropdb --if-exists $db >/dev/null 2>&1' EXIT
psql -X -q -v ON_ERROR_STOP=1 -d $db <<'SQL'
CREATE EXTENSION stockroute;
CREATE SCHEMA fuzz;
INSERT INTO stockroute.node (node_id, lat, lon, country, region, timezone, tags) VALUES
    ('A', 33.7, -84.4, 'US', 'GA', 'America/New_York', '{}'),
    ('B', 33.5, -86.8, 'US', 'AL', 'America/Chicago', '{hazmat}'),
    ('C', 34.0, -118.2, 'US', 'CA', 'America/Los_Angeles', '{bonded}'),
    ('N', NULL, NULL, 'US', 'TX', 'UTC', '{bonded,hazmat}');
INSERT INTO stockroute.item (sku, weight_kg, tags) VALUES ('V', 2.5, '{}'), ('P', 80, '{hazmat}');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES
    ('A', 'V', 8), ('B', 'V', 12), ('C', 'V', 15), ('N', 'V', 5), ('A', 'P', 3), ('C', 'P', 9);
INSERT INTO stockroute.lane (node_id, country, base_cost, transit_days) VALUES ('N', 'US', 20, 2);
INSERT INTO stockroute.profile (profile_name, w_cost, w_days) VALUES ('gone', 1, 1);

-- a random JSON value, many of them almost right
CREATE FUNCTION fuzz.junk() RETURNS jsonb LANGUAGE sql AS $$
    SELECT (ARRAY['null', 'true', '0', '-1', '1e16', '2.5', '150', '"A"', '"B"', '"Q"', '""', '"US"',
                  '"us"', '"tier1"', '"cheapest"', '"nope"', '"gone"', '"hazmat"', '[]', '{}', '["A", "C"]',
                  '["B", 7]', '["A", ""]', '{"a": 1}', '"V"', '"P"', '["bonded"]', '4', '0.5', '100'])
           [1 + floor(random() * 30)::int]::jsonb
$$;
CREATE FUNCTION fuzz.key() RETURNS text LANGUAGE sql AS $$
    SELECT (ARRAY['segment', 'customer_id', 'customer_tag', 'payment', 'country', 'country_not', 'sku',
                  'sku_tag', 'require_nodes', 'forbid_nodes', 'prefer_nodes', 'bonus',
                  'require_node_tags', 'profile', 'min_node_available', 'max_cost', 'max_days',
                  'else_profile', 'local_km', 'surcharge'])[1 + floor(random() * 20)::int]
$$;
-- replace, drop or add keys of an object, or replace it altogether
CREATE FUNCTION fuzz.mutate(doc jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    k text;
    out jsonb := doc;
BEGIN
    IF random() < 0.05 THEN
        RETURN fuzz.junk();
    END IF;
    FOR k IN SELECT jsonb_object_keys(doc) LOOP
        CASE floor(random() * 5)::int
            WHEN 0 THEN out := out - k;
            WHEN 1 THEN out := jsonb_set(out, ARRAY[k], fuzz.junk());
            ELSE NULL;
        END CASE;
    END LOOP;
    IF random() < 0.4 THEN
        out := out || jsonb_build_object(fuzz.key(), fuzz.junk());
    END IF;
    RETURN out;
END;
$$;
CREATE TABLE fuzz.base (match jsonb, effect jsonb);
INSERT INTO fuzz.base VALUES
    ('{"segment": "tier1"}', '{"require_nodes": ["B"]}'),
    ('{"segment": "tier2"}', '{"profile": "cheapest", "max_days": 4, "else_profile": "fastest"}'),
    ('{"segment": "guest"}', '{"profile": "closest", "max_cost": 100, "else_profile": "cheapest"}'),
    ('{"segment": "mro_urgent"}', '{"profile": "fastest", "min_node_available": 5}'),
    ('{"country_not": "US"}', '{"require_node_tags": ["bonded"]}'),
    ('{"payment": "cod"}', '{"local_km": 150}'),
    ('{"customer_id": ["C-1", "C-2"]}', '{"prefer_nodes": ["C"], "bonus": 5}'),
    ('{"sku_tag": "hazmat"}', '{"require_node_tags": "hazmat", "max_cost": 3}'),
    ('{"sku": ["V", "P"], "customer_tag": "vip"}', '{"forbid_nodes": "A", "max_days": 2}'),
    ('{}', '{"profile": "gone", "max_days": 1, "else_profile": "gone"}');
SQL

PGOPTIONS="-c fuzz.n=$n" psql -X -At -v ON_ERROR_STOP=1 -d $db <<'SQL'
SET stockroute.now = '2026-11-23 09:00+00';
CREATE TEMP TABLE outcome (step text, code text);
DO $$
DECLARE
    m jsonb;
    e jsonb;
    p jsonb;
    customer jsonb;
    ship_to jsonb;
    taken boolean;
    i int;
    code text;
BEGIN
    PERFORM setseed(0.4321);
    FOR i IN 1 .. current_setting('fuzz.n')::int LOOP
        SELECT fuzz.mutate(b.match), fuzz.mutate(b.effect) INTO m, e
          FROM fuzz.base b OFFSET floor(random() * 10)::int LIMIT 1;
        -- 1. through the trigger
        BEGIN
            INSERT INTO stockroute.rule (rule_id, match, effect) VALUES ('f', m, e);
            code := 'ok';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE;
        END;
        taken := code = 'ok';
        INSERT INTO outcome VALUES ('write', code);
        -- 2. around it, as a restore would store it, then routed
        IF NOT taken THEN
            BEGIN
                SET LOCAL session_replication_role = replica;
                INSERT INTO stockroute.rule (rule_id, match, effect) VALUES ('f', m, e);
                SET LOCAL session_replication_role = origin;
            EXCEPTION WHEN OTHERS THEN   -- the table's own CHECKs still apply
                SET LOCAL session_replication_role = origin;
                CONTINUE;
            END;
        END IF;
        -- an order its match may well concern
        customer := jsonb_build_object(
            'id', (ARRAY['C-1', 'C-2', 'C-9'])[1 + floor(random() * 3)::int],
            'segment', (ARRAY['tier1', 'tier2', 'guest', 'mro_urgent', 'tier3'])[1 + floor(random() * 5)::int],
            'payment', (ARRAY['cod', 'card'])[1 + floor(random() * 2)::int],
            'tags', (ARRAY['[]', '["vip"]'])[1 + floor(random() * 2)::int]::jsonb);
        ship_to := (ARRAY['{"lat": 33.75, "lon": -84.39, "country": "US"}',
                          '{"lat": 43.65, "lon": -79.38, "country": "CA"}',
                          '{"country": "US"}'])[1 + floor(random() * 3)::int]::jsonb;
        BEGIN
            p := stockroute.plan(jsonb_build_object('order_ref', 'F-' || i, 'ship_to', ship_to,
                    'customer', customer, 'lines', '[{"line_ref": "1", "sku": "V", "qty": 6}, {"line_ref": "2", "sku": "P", "qty": 2}]'::jsonb));
            code := CASE WHEN taken AND p::text LIKE '%"skipped"%' THEN 'skipped a valid rule' ELSE 'ok' END;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE;
        END;
        INSERT INTO outcome VALUES ('plan', code);
        BEGIN
            PERFORM stockroute.explain(p);
            PERFORM stockroute.available('V', ship_to, customer);
            code := 'ok';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE;
        END;
        INSERT INTO outcome VALUES ('available+explain', code);
        DELETE FROM stockroute.rule WHERE rule_id = 'f';
    END LOOP;
END $$;
SELECT step, code, count(*) FROM outcome GROUP BY 1, 2 ORDER BY 1, 2;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM outcome WHERE step = 'write' AND code <> 'ok' AND code NOT BETWEEN 'SR024' AND 'SR028') THEN
        RAISE EXCEPTION 'the rule trigger refused a rule with another SQLSTATE than SR024-SR028';
    END IF;
    IF EXISTS (SELECT 1 FROM outcome WHERE step <> 'write' AND code <> 'ok') THEN
        RAISE EXCEPTION 'routing failed on a rule, or skipped one the trigger had taken';
    END IF;
    IF (SELECT count(*) FILTER (WHERE code = 'ok') FROM outcome WHERE step = 'write') = 0
       OR (SELECT count(*) FILTER (WHERE code <> 'ok') FROM outcome WHERE step = 'write') = 0 THEN
        RAISE EXCEPTION 'the fuzzer produced only valid or only invalid rules';
    END IF;
END $$;
SQL
echo "fuzz_rules: $n mutated rules, every refusal SR024-SR028, routing never failed on one"
