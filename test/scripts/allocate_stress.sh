#!/usr/bin/env bash
# allocate_stress: 8 clients allocate overlapping multi-line orders (2 to 5
# SKUs each, random SKUs and quantities) until the stock runs out, once with
# the default optimistic attempts and once with none (every allocation plans
# under the locks of its SKUs), and prove: no allocate() call fails (no
# SR023, no deadlock, no error at all), every plan's units are exactly the
# units its reservations hold, nothing is oversold (reserved never above
# on_hand - safety_stock), stock.reserved equals the active reservations
# (invariant 2), and the stock did run out (orders ended partial or
# unfillable).  Runs against the server in PG* (make test's throwaway
# cluster).
set -euo pipefail
db=stockroute_stress
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists $db >/dev/null 2>&1 || true' EXIT
psqlq() { psql -X -q -At -v ON_ERROR_STOP=1 -d $db "$@"; }

setup() {   # a fresh database: 6 nodes, 12 SKUs, a few units of each at each node
    dropdb --if-exists $db >/dev/null 2>&1 || true
    createdb $db
    psqlq <<'SQL'
CREATE EXTENSION stockroute;
CREATE SEQUENCE stress_order;
INSERT INTO stockroute.node (node_id, lat, lon, country)
SELECT 'N' || i, 30 + i, -80 - 2 * i, 'US' FROM generate_series(1, 6) i;
INSERT INTO stockroute.item (sku) SELECT 'K' || i FROM generate_series(1, 12) i;
INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock)
SELECT 'N' || n, 'K' || s, 6 + (n * s) % 7, (n + s) % 2 FROM generate_series(1, 6) n, generate_series(1, 12) s;
-- allocate() with a random order of 2 to 5 distinct SKUs, 1 to 4 units each
CREATE FUNCTION stress_alloc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT stockroute.allocate(jsonb_build_object(
             'order_ref', 'ST-' || nextval('stress_order'),
             'ship_to', jsonb_build_object('lat', 30 + random() * 6, 'lon', -82 - random() * 12, 'country', 'US'),
             'options', jsonb_build_object('allow_partial', random() < 0.7),
             'lines', (SELECT jsonb_agg(jsonb_build_object('line_ref', k::text, 'sku', s,
                                                           'qty', 1 + floor(random() * 4)::int))
                         FROM (SELECT row_number() OVER () AS k, s
                                 FROM (SELECT 'K' || g AS s FROM generate_series(1, 12) g
                                        ORDER BY random() LIMIT 2 + floor(random() * 4)::int) x) y)))
$$;
SQL
}
echo 'SELECT stress_alloc();' > "$work/alloc.sql"

run() {   # label retries
    setup
    if ! PGOPTIONS="-c stockroute.allocate_retries=$2" \
         pgbench -n -c 8 -j 2 -t 60 -f "$work/alloc.sql" $db > "$work/pgbench.$1" 2>&1; then
        cat "$work/pgbench.$1"
        echo "FAIL ($1): pgbench reported errors"
        exit 1
    fi
    if grep -qiE 'error|aborted' "$work/pgbench.$1"; then
        cat "$work/pgbench.$1"
        echo "FAIL ($1): an allocate() call failed"
        exit 1
    fi
    psqlq <<'SQL' > "$work/check.$1"
SELECT 'allocations ' || count(*) FROM stockroute.decision WHERE kind = 'allocate';
-- every plan's units are its reservations' units
SELECT 'plan_vs_holds ' || count(*) FROM stockroute.decision d
 WHERE d.kind = 'allocate'
   AND (SELECT coalesce(sum((l->>'qty')::bigint), 0)
          FROM jsonb_array_elements(d.output->'shipments') s, jsonb_array_elements(s->'lines') l)
       <> (SELECT coalesce(sum(r.qty), 0) FROM stockroute.reservation r
            WHERE r.order_ref = d.order_ref AND r.status = 'held');
SELECT 'oversold ' || count(*) FROM stockroute.stock WHERE reserved > on_hand - safety_stock;
SELECT 'drift ' || count(*) FROM stockroute.stock s
 WHERE s.reserved <> (SELECT coalesce(sum(r.qty), 0) FROM stockroute.reservation r
                       WHERE r.node_id = s.node_id AND r.sku = s.sku AND r.status IN ('held', 'committed'));
SELECT 'replanned ' || count(*) FROM stockroute.decision
 WHERE kind = 'allocate' AND (output->>'attempts')::int > 1;
SELECT 'short_orders ' || (count(*) > 0) FROM stockroute.decision
 WHERE kind = 'allocate' AND output->>'status' <> 'complete';
SQL
    cat "$work/check.$1" | sed "s/^/$1: /"
    grep -qx 'allocations 480' "$work/check.$1" || { echo "FAIL ($1): not every call was recorded"; exit 1; }
    grep -qx 'plan_vs_holds 0' "$work/check.$1" || { echo "FAIL ($1): a plan differs from its holds"; exit 1; }
    grep -qx 'oversold 0' "$work/check.$1" || { echo "FAIL ($1): oversold"; exit 1; }
    grep -qx 'drift 0' "$work/check.$1" || { echo "FAIL ($1): reserved drifted"; exit 1; }
    grep -qx 'short_orders true' "$work/check.$1" || { echo "FAIL ($1): the stock never ran out"; exit 1; }
}

run optimistic 3
run locked 0
echo "ok: 2 x 480 allocations by 8 clients, no error, no oversell, no drift"
