#!/usr/bin/env bash
# bench/reserve/run.sh — reservations under concurrency: stockroute.reserve()
# (C triggers enforce the invariants) against the same reservation written as
# plain PL/pgSQL with no triggers (bench_plain.bench_plpgsql_reserve), under
# concurrent pgbench clients, in one run.  Prints a markdown table and exits
# non-zero if any run oversold or left stock.reserved out of step with the
# reservations.
#
#   bench/reserve/run.sh --virtualenv   in a throwaway cluster (pg_virtualenv;
#                                       note: it runs with fsync = off)
#   bench/reserve/run.sh                against the server in PG* (creates and
#                                       drops database stockroute_bench_reserve)
#
# Scenarios, each run once per implementation and client count, from the
# same starting state (bench_reserve.reset):
#   hot      every call reserves 1 unit of one SKU at one of 4 nodes
#            (200,000 units per node: it never runs out);
#   many     1 unit of a random SKU among 10,000 at a random node among 20;
#   sellout  the hot workload with SELLOUT_UNITS per node: the SKU runs out
#            early and the rest of the run is the refusal path (SR001).
# Environment: DURATION (seconds per pgbench run, default 20), CLIENTS
# (default "16 32"), SELLOUT_CLIENTS (default 32), SELLOUT_UNITS (default
# 2000), THREADS (pgbench -j, default 2), KEEP_DB=1 keeps the database.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = "--virtualenv" ]; then
    shift
    . "$here/../virtualenv.sh"
    bench_in_virtualenv "$here/run.sh" "$@"
fi

DURATION=${DURATION:-20}
CLIENTS=${CLIENTS:-16 32}
SELLOUT_CLIENTS=${SELLOUT_CLIENTS:-32}
SELLOUT_UNITS=${SELLOUT_UNITS:-2000}
THREADS=${THREADS:-2}
HOT_UNITS=200000
db=${BENCH_DB:-stockroute_bench_reserve}
work=$(mktemp -d)
cleanup() {
    rm -rf "$work"
    [ -n "${KEEP_DB:-}" ] || dropdb --if-exists "$db" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psqlb() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

dropdb --if-exists "$db" >/dev/null 2>&1 || true
createdb "$db"
echo "setup: nodes, items, 2 x 200,004 stock rows, baseline ..." >&2
psqlb -c 'CREATE EXTENSION stockroute' -f "$here/setup.sql" > "$work/setup.log"

results=$work/results
: > "$results"
failed=0

# run SCENARIO IMPL CLIENTS HOT_UNITS: reset, pgbench, check; one line to $results
run() {
    local scen=$1 impl=$2 clients=$3 hot=$4 script tag out tps stats chk
    script=$here/${scen/sellout/hot}_$impl.sql
    tag=${scen}_${impl}_$clients
    psqlb -c "SELECT bench_reserve.reset($hot)" > /dev/null
    psqlb -c 'VACUUM ANALYZE stockroute.stock, stockroute.reservation, bench_plain.stock, bench_plain.reservation' \
          -c 'CHECKPOINT'
    echo "  $scen / $impl / $clients clients ..." >&2
    out=$work/$tag.out
    (cd "$work" && pgbench -n --protocol=prepared -c "$clients" -j "$THREADS" -T "$DURATION" \
        -f "$script" -l --log-prefix="$tag" "$db" > "$out" 2>&1) ||
        { cat "$out" >&2; echo "pgbench failed: $tag" >&2; exit 1; }
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$out")
    # per-transaction logs (one per thread): column 3 is the latency in µs
    stats=$(cat "$work/$tag".[0-9]* | awk '{print $3}' | sort -n |
        awk '{v[NR] = $1; s += $1}
             END {i = int(NR * 0.95 + 0.5); if (i < 1) i = 1;
                  printf "%.3f %.3f %d", s / NR / 1000, v[i] / 1000, NR}')
    rm -f "$work/$tag".[0-9]*
    chk=$(psqlb -At -F ' ' -c "SELECT * FROM bench_reserve.check('$impl')")
    echo "$scen $impl $clients $tps $stats $chk" >> "$results"
}

for c in $CLIENTS; do
    for impl in stockroute plpgsql; do run hot "$impl" "$c" "$HOT_UNITS"; done
done
for c in $CLIENTS; do
    for impl in stockroute plpgsql; do run many "$impl" "$c" "$HOT_UNITS"; done
done
for c in $SELLOUT_CLIENTS; do
    for impl in stockroute plpgsql; do run sellout "$impl" "$c" "$SELLOUT_UNITS"; done
done

pgv=$(psqlb -Atc 'SHOW server_version')
fs=$(psqlb -Atc "SELECT 'fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit') || ', shared_buffers=' || current_setting('shared_buffers')")
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
echo
echo "Machine: $(nproc) cores ($cpu), PostgreSQL $pgv ($fs);" \
     "pgbench --protocol=prepared -j $THREADS -T $DURATION"
echo
echo "| scenario | implementation | clients | TPS | mean ms | p95 ms | reserved | SR001 | oversell | drift |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
while read -r scen impl clients tps mean p95 n reservations units hot_avail oversell drift; do
    case $impl in stockroute) label='**stockroute.reserve** (C triggers)';;
                  plpgsql) label='PL/pgSQL, no triggers';; esac
    printf '| %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s |\n' \
        "$scen" "$label" "$clients" "$tps" "$mean" "$p95" "$reservations" \
        "$((n - reservations))" "$oversell" "$drift"
    if [ "$oversell" != 0 ] || [ "$drift" != 0 ]; then failed=1; fi
    if [ "$scen" = sellout ] && [ "$hot_avail" != 0 ]; then
        echo "note: $scen/$impl/$clients ended with $hot_avail units of HOT still available (not sold out)" >&2
    fi
done < "$results"
echo
echo "stockroute / PL/pgSQL, TPS:"
awk '{k = $1 " " $3; t[k, $2] = $4}
     $2 == "plpgsql" {printf "- %s, %s clients: %.2f\n", $1, $3, t[k, "stockroute"] / $4}' "$results"
if [ "$failed" != 0 ]; then
    echo "FAILED: oversell or drift (see the table)" >&2
    exit 1
fi
echo "zero oversell, zero drift in every run"
