#!/usr/bin/env bash
# monitoring_queries: every query of monitoring/queries.yaml runs against a
# real stockroute database holding data that makes each metric non-trivial
# (fed, gapped, lagging, silent and stale nodes; held, committed, expired and
# overdue holds; allocations, one of them re-planned after losing a real
# race; a re-routing, a rejection, backorders, daily capacity used, a
# shortfall, drift, low stock, reconcile runs), as the read-only exporter
# role docs/operations.md describes.  Proves, per query: it succeeds, returns
# exactly the columns the YAML declares (labels and gauges, in that order)
# and at least one row, and every gauge has a non-zero value somewhere.
# Then the exporter itself (prometheus-postgres-exporter) loads the file,
# scrapes the database as that role without a query error, and serves every
# declared metric.  Runs against the server in PG*.
set -euo pipefail
cd "$(dirname "$0")/../.."
yaml=monitoring/queries.yaml
db=stockroute_monitoring
role=exporter_monitor_test
work=$(mktemp -d)
exporter_pid=
cleanup() {
    if [ -n "$exporter_pid" ]; then
        kill "$exporter_pid" 2>/dev/null || true
        wait "$exporter_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
    dropdb --if-exists --force $db >/dev/null 2>&1 || true
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1 || true
}
trap cleanup EXIT
q() { psql -X -q -v ON_ERROR_STOP=1 -d $db "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

dropdb --if-exists --force $db >/dev/null 2>&1 || true
psql -X -q -d postgres -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1 || true
createdb $db

# --- the data ---------------------------------------------------------------
q -o /dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION stockroute;
INSERT INTO stockroute.node (node_id, name, kind, lat, lon, country, daily_order_limit, daily_unit_limit,
                             status) VALUES
    ('A', 'Atlanta', 'warehouse', 33.75, -84.39, 'US', 20, NULL, 'active'),
    ('B', 'Charlotte', 'warehouse', 35.23, -80.84, 'US', NULL, 500, 'active'),
    ('C', 'Chicago', '3pl', 41.88, -87.63, 'US', NULL, NULL, 'active'),
    ('P', 'Denver partner', 'partner', 39.74, -104.99, 'US', NULL, NULL, 'active'),
    ('M', 'Memphis', '3pl', 35.15, -90.05, 'US', NULL, NULL, 'draining');
INSERT INTO stockroute.item (sku, weight_kg) VALUES ('VALVE-9', 2.5), ('PUMP-1', 10), ('HOSE-2', 1), ('RACE-1', 1);
INSERT INTO stockroute.stock (node_id, sku, on_hand, reorder_point) VALUES
    ('A', 'VALVE-9', 10, 0), ('B', 'VALVE-9', 30, 0), ('C', 'VALVE-9', 5, 0),
    ('A', 'PUMP-1', 5, 0), ('B', 'PUMP-1', 4, 0), ('A', 'HOSE-2', 3, 5),
    ('A', 'RACE-1', 5, 0), ('B', 'RACE-1', 5, 0);

-- feeds: A sends seq 1, 2, 5 (a gap of 2) about 90 s late; C and B send one each
SELECT stockroute.ingest(jsonb_build_array(
    jsonb_build_object('node_id', 'A', 'idempotency_key', 'a-1', 'seq', 1, 'kind', 'receipt',
                       'sku', 'HOSE-2', 'qty', 1, 'occurred_at', now() - interval '95 seconds'),
    jsonb_build_object('node_id', 'A', 'idempotency_key', 'a-2', 'seq', 2, 'kind', 'adjust',
                       'sku', 'HOSE-2', 'qty', -1, 'occurred_at', now() - interval '90 seconds'),
    jsonb_build_object('node_id', 'A', 'idempotency_key', 'a-5', 'seq', 5, 'kind', 'receipt',
                       'sku', 'HOSE-2', 'qty', 1, 'occurred_at', now() - interval '85 seconds'),
    jsonb_build_object('node_id', 'B', 'idempotency_key', 'b-1', 'seq', 1, 'kind', 'receipt',
                       'sku', 'VALVE-9', 'qty', 1, 'occurred_at', now() - interval '30 seconds'),
    jsonb_build_object('node_id', 'C', 'idempotency_key', 'c-1', 'seq', 1, 'kind', 'receipt',
                       'sku', 'VALVE-9', 'qty', 1, 'occurred_at', now() - interval '3 hours')));

-- orders: allocations (A has a daily order limit), one partly backordered
SELECT stockroute.allocate(jsonb_build_object('order_ref', 'SO-' || i,
    'ship_to', '{"lat": 33.75, "lon": -84.39, "country": "US"}'::jsonb,
    'lines', jsonb_build_array(jsonb_build_object('line_ref', '1', 'sku', 'VALVE-9', 'qty', 2))))
  FROM generate_series(1, 3) i;
SELECT stockroute.allocate('{"order_ref": "SO-BACK", "ship_to": {"lat": 33.75, "lon": -84.39, "country": "US"},
                             "lines": [{"line_ref": "1", "sku": "PUMP-1", "qty": 12}],
                             "options": {"allow_partial": true}}');
-- a node refuses its part of an order: re-routed
SELECT stockroute.reject('SO-3', 'A', 'damaged on the shelf');
-- payment captured for SO-1
SELECT stockroute.commit('SO-1');
-- a hold that lapses (reconcile expires it below)
SELECT stockroute.reserve('SO-LAPSE', '1', 'VALVE-9', 'B', 1);
UPDATE stockroute.reservation SET expires_at = now() - interval '1 second' WHERE order_ref = 'SO-LAPSE';
SQL

# a real race: SO-RACE plans A's 5 units of RACE-1 while another session
# holds them uncommitted; when that session commits, allocate() loses the
# race at A and re-plans (attempts 2) onto B
wait_for() {   # SQL returning true; bounded
    local i
    for i in $(seq 1 600); do
        [ "$(psql -X -At -d $db -c "$1")" = t ] && return 0
        sleep 0.1
    done
    fail "timed out waiting for: $1"
}
coproc HOLDER { psql -X -q -At -d $db 2>&1; }
echo "SELECT 'locked' FROM (SELECT pg_advisory_lock(770011)) l;" >&"${HOLDER[1]}"
read -r line <&"${HOLDER[0]}"
[ "$line" = locked ] || fail "advisory lock: $line"
psql -X -q -v ON_ERROR_STOP=1 -d $db > "$work/taker.out" 2>&1 <<'SQL' &
BEGIN;
SELECT stockroute.reserve('SO-TAKER', '1', 'RACE-1', 'A', 5);
SELECT pg_advisory_lock_shared(770011);
COMMIT;
SQL
taker=$!
wait_for "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
psql -X -At -v ON_ERROR_STOP=1 -d $db > "$work/race.out" 2>&1 -c \
    "SELECT stockroute.allocate('{\"order_ref\": \"SO-RACE\", \"ship_to\": {\"lat\": 33.75, \"lon\": -84.39, \"country\": \"US\"},
                                 \"lines\": [{\"line_ref\": \"1\", \"sku\": \"RACE-1\", \"qty\": 5}]}')->>'attempts'" &
racer=$!
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%SO-RACE%'"
echo "SELECT pg_advisory_unlock(770011);" >&"${HOLDER[1]}"
wait $taker || { cat "$work/taker.out"; fail "the taking session failed"; }
wait $racer || { cat "$work/race.out"; fail "the racing allocate failed"; }
exec {HOLDER[1]}>&-
[ "$(cat "$work/race.out")" = 2 ] || fail "the racing allocate made $(cat "$work/race.out") attempts, not 2"

q -o /dev/null <<'SQL'
SET client_min_messages = warning;
-- shortfalls: A's VALVE-9 counted at 1 under the held units of SO-2 (reconcile
-- re-routes them to B); A's RACE-1 counted at 0 under SO-TAKER's held units
-- (no stock left anywhere: backordered); B's PUMP-1 committed to SO-BACK,
-- then counted at 1 (committed units stay short)
SELECT stockroute.commit('SO-BACK');
SELECT stockroute.ingest(jsonb_build_array(
    jsonb_build_object('node_id', 'A', 'idempotency_key', 'a-6', 'seq', 6, 'kind', 'count',
                       'sku', 'VALVE-9', 'qty', 1, 'occurred_at', now()),
    jsonb_build_object('node_id', 'A', 'idempotency_key', 'a-7', 'seq', 7, 'kind', 'count',
                       'sku', 'RACE-1', 'qty', 0, 'occurred_at', now()),
    jsonb_build_object('node_id', 'B', 'idempotency_key', 'b-2', 'seq', 2, 'kind', 'count',
                       'sku', 'PUMP-1', 'qty', 1, 'occurred_at', now())));
-- drift (triggers bypassed), repaired by reconcile with an alert
SET session_replication_role = replica;
UPDATE stockroute.stock SET reserved = reserved + 2 WHERE node_id = 'C' AND sku = 'VALVE-9';
RESET session_replication_role;
-- C has been silent for 2 hours, past its stale_after of 1 hour
UPDATE stockroute.node SET stale_after = interval '1 hour', last_event_at = now() - interval '2 hours'
 WHERE node_id = 'C';
SELECT stockroute.reconcile();
-- after the run: drift again, and a hold past its expiry not yet expired
SET session_replication_role = replica;
UPDATE stockroute.stock SET reserved = reserved + 3 WHERE node_id = 'B' AND sku = 'VALVE-9';
RESET session_replication_role;
SELECT stockroute.reserve('SO-LATE', '1', 'VALVE-9', 'B', 1);
UPDATE stockroute.reservation SET expires_at = now() - interval '1 second' WHERE order_ref = 'SO-LATE';
SQL

# --- the exporter's role, as docs/operations.md says -------------------------
q -o /dev/null <<SQL
CREATE ROLE $role LOGIN PASSWORD 'monitor' IN ROLE pg_monitor;
GRANT USAGE ON SCHEMA stockroute TO $role;
GRANT SELECT ON ALL TABLES IN SCHEMA stockroute TO $role;
GRANT EXECUTE ON FUNCTION stockroute.visible_nodes(), stockroute.routing_now() TO $role;
SQL

# --- the queries file: name, SQL and declared columns of each query -----------
# The file's shape: a top-level "name:" per query, its SQL in a "query: |"
# block, then "metrics:" with one "- column:" and its "usage:" each.
awk -v dir="$work" '
    /^[a-z_]+:$/        { name = substr($0, 1, length($0) - 1); print name > (dir "/names"); inq = 0; next }
    /^  query: \|$/      { inq = 1; next }
    /^  [a-z_]+:/        { inq = 0 }
    inq                  { print > (dir "/" name ".sql"); next }
    /^    - [a-z_0-9]+:$/ { col = $2; sub(/:$/, "", col); next }
    /^        usage:/     { u = $2; gsub(/"/, "", u); print col, u > (dir "/" name ".cols") }
' "$yaml"
[ -s "$work/names" ] || fail "no queries found in $yaml"

queries=0
metrics=()
while read -r name; do
    [ -s "$work/$name.sql" ] || fail "$name: no query"
    [ -s "$work/$name.cols" ] || fail "$name: no metrics"
    declared=$(awk '{print $1}' "$work/$name.cols" | paste -sd'|')
    if ! PGPASSWORD=monitor psql -X -A -F'|' -P footer=off -v ON_ERROR_STOP=1 -h "$PGHOST" -U $role -d $db \
            -f "$work/$name.sql" > "$work/$name.out" 2>&1; then
        cat "$work/$name.out"; fail "$name: the query failed as $role"
    fi
    got=$(head -1 "$work/$name.out")
    [ "$got" = "$declared" ] || fail "$name: returned columns $got, the YAML declares $declared"
    rows=$(($(wc -l < "$work/$name.out") - 1))
    [ "$rows" -ge 1 ] || fail "$name: no rows"
    i=0
    while read -r col usage; do
        i=$((i + 1))
        case $usage in
            LABEL) ;;
            GAUGE|COUNTER)
                metrics+=("${name}_$col")
                nonzero=$(tail -n +2 "$work/$name.out" | cut -d'|' -f$i | awk '$1 != "" && $1 + 0 != 0' | wc -l)
                [ "$nonzero" -ge 1 ] || fail "$name.$col: zero or NULL in every row: the test data does not exercise it"
                ;;
            *) fail "$name.$col: usage $usage" ;;
        esac
    done < "$work/$name.cols"
    echo "ok $name: $rows row(s), columns $declared"
    queries=$((queries + 1))
done < "$work/names"

# --- the exporter itself ------------------------------------------------------
port=19187
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
# a clean environment: the exporter's driver refuses some PG* variables
# pg_virtualenv sets (PGSYSCONFDIR); the DSN says all it needs
env -i PATH="$PATH" \
    DATA_SOURCE_NAME="host=$PGHOST port=$PGPORT dbname=$db user=$role password=monitor sslmode=disable" \
    prometheus-postgres-exporter --extend.query-path="$yaml" --web.listen-address="127.0.0.1:$port" \
    --disable-settings-metrics > "$work/exporter.log" 2>&1 &
exporter_pid=$!
for i in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/metrics" > "$work/metrics" 2>/dev/null && break
    kill -0 $exporter_pid 2>/dev/null || { cat "$work/exporter.log"; fail "the exporter exited"; }
    sleep 0.1
done
[ -s "$work/metrics" ] || { cat "$work/exporter.log"; fail "no answer from the exporter"; }
grep -q '^pg_exporter_last_scrape_error 0$' "$work/metrics" ||
    { grep '^pg_exporter' "$work/metrics"; cat "$work/exporter.log"; fail "the exporter's scrape failed"; }
grep -q '^pg_exporter_user_queries_load_error{.*} 0$' "$work/metrics" ||
    { grep 'user_queries_load_error' "$work/metrics"; cat "$work/exporter.log"; fail "the exporter could not load $yaml"; }
if grep -qi 'level=error' "$work/exporter.log"; then
    cat "$work/exporter.log"; fail "the exporter logged an error"
fi
for m in "${metrics[@]}"; do
    grep -qE "^$m(\{| )" "$work/metrics" || fail "the exporter does not serve $m"
done
grep -qE '^stockroute_node_silent_past_stale_after\{.*node_id="C".*\} 1$' "$work/metrics" ||
    fail "node C is not reported silent: $(grep '^stockroute_node_silent_past_stale_after' "$work/metrics")"
grep -qE '^stockroute_decisions_replans_per_minute\{.*\} 0\.2$' "$work/metrics" ||
    fail "one re-plan in 5 minutes is not 0.2 a minute: $(grep '^stockroute_decisions_replans' "$work/metrics")"
echo "ok exporter: ${#metrics[@]} metrics served from $queries queries"
