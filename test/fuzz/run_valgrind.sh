#!/usr/bin/env bash
# run_valgrind: the server path under Valgrind memcheck.  Starts a PostgreSQL
# server of its own with every process (postmaster, backends, parallel
# workers) under memcheck, then runs against it
#   1. test/scripts/fuzz_json.sh: mutated and random orders, plans and
#      candidate groups through plan(), allocate(), explain() and split_plan(),
#      serial and parallel (FUZZ_ITERATIONS, default 300 here);
#   2. the regression tests of the JSON entry points and the aggregate
#      (REGRESS, default "routing aggregate hostile"), outputs checked as usual;
# stops it, and reports every memcheck error: invalid reads and writes,
# conditional jumps on uninitialised memory, bad frees.  Errors matched by
# test/fuzz/valgrind.supp (PostgreSQL's own known false positives, each
# explained there) are counted, not reported.  Exits 1 on any other error,
# or if the fuzzer, a regression test or a server process failed.
#
# Usage, with the module built and installed in the server of pg_config on PATH
# (the script starts a server of its own from that installation):
#   make install && bash test/fuzz/run_valgrind.sh
# Takes about five minutes on two cores.  VALGRIND_OPTS adds options (e.g.
# --track-origins=yes); KEEP=1 keeps the work directory with the logs.
#
# Debian's PostgreSQL is not built with USE_VALGRIND, so memory that palloc
# hands out from inside a block is not marked undefined or inaccessible chunk
# by chunk: memcheck sees overruns past malloc'd memory (every palloc chunk
# over 8 kB is its own malloc block, smaller ones share a block) and reads of
# memory never written; an overrun that stays inside a block is not seen.
# The solver alone is checked more closely under ASan by its own harness
# (make -C test/core asan).  (Preloading the ASan runtime into Debian's
# postgres 15 instead hangs it at startup, in bindtextdomain(), before any
# stockroute code runs.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
iterations=${FUZZ_ITERATIONS:-300}
bin=$(pg_config --bindir)
regress=${REGRESS:-routing aggregate hostile}

work=$(mktemp -d /tmp/stockroute-valgrind.XXXXXX)
chmod 755 "$work"
mkdir "$work/log"
as_postgres() {   # the server refuses to run as root
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres: "$work" "$work/log"
port=$(( 40000 + RANDOM % 20000 ))
cleanup() {
    as_postgres "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

as_postgres "$bin/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
cat >> "$work/data/postgresql.conf" <<CONF
port = $port
unix_socket_directories = '$work'
listen_addresses = ''
fsync = off
shared_buffers = 32MB
max_connections = 20
autovacuum = off
jit = off
max_worker_processes = 8
max_parallel_workers_per_gather = 2
CONF

command -v valgrind >/dev/null || { echo "run_valgrind: valgrind not found"; exit 1; }
echo "run_valgrind: starting a server under memcheck in $work (port $port) ..."
as_postgres valgrind --tool=memcheck --trace-children=yes --leak-check=no \
    --num-callers=40 --error-limit=no --gen-suppressions=all \
    --suppressions="$here/valgrind.supp" \
    --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END \
    --log-file="$work/log/%p.log" ${VALGRIND_OPTS:-} \
    "$bin/postgres" -D "$work/data" > "$work/server.log" 2>&1 &
export PGHOST=$work PGPORT=$port PGUSER=postgres PGDATABASE=postgres
for _ in $(seq 1 180); do
    pg_isready -q && break
    sleep 1
done
pg_isready -q || { echo "run_valgrind: the server did not start"; tail -20 "$work/server.log"; exit 1; }

rc=0
echo "run_valgrind: fuzz_json.sh, $iterations iterations ..."
FUZZ_ITERATIONS=$iterations bash "$top/test/scripts/fuzz_json.sh" > "$work/fuzz.out" 2>&1 || rc=1
tail -1 "$work/fuzz.out"
[ $rc -eq 0 ] || { echo "run_valgrind: fuzz_json.sh failed:"; tail -40 "$work/fuzz.out"; }

echo "run_valgrind: pg_regress $regress ..."
make -s -C "$top" installcheck REGRESS="$regress" ISOLATION= > "$work/regress.out" 2>&1 || rc=1
grep -E '^(test| All| [0-9]+ of)' "$work/regress.out" || true
[ $rc -eq 0 ] || { [ -f "$top/regression.diffs" ] && head -60 "$top/regression.diffs"; }

echo "run_valgrind: stopping the server ..."
as_postgres "$bin/pg_ctl" -D "$work/data" -m fast -w -t 300 stop >/dev/null
for _ in $(seq 1 60); do   # backends under valgrind may still be writing their logs
    pgrep -f "$work/data" >/dev/null || break
    sleep 1
done
grep -q 'terminated by signal' "$work/server.log" &&
    { echo "run_valgrind: a server process died:"; grep 'terminated by signal' "$work/server.log"; rc=1; }

processes=$(ls "$work/log" | wc -l)
errors=$(cat "$work/log"/*.log | grep -c '^==[0-9]*== VALGRINDERROR-BEGIN' || true)
suppressed=$(cat "$work/log"/*.log | sed -n 's/.*ERROR SUMMARY: .*(suppressed: \([0-9]*\) from.*/\1/p' |
             awk '{n += $1} END {print n + 0}')
ours=0
if [ "$errors" -gt 0 ]; then
    echo "run_valgrind: memcheck errors (stack and suggested suppression):"
    for f in "$work/log"/*.log; do
        grep -q VALGRINDERROR-BEGIN "$f" || continue
        echo "--- $(basename "$f")"
        sed -n '/VALGRINDERROR-BEGIN/,/VALGRINDERROR-END/p' "$f"
    done | head -400
    ours=$(cat "$work/log"/*.log | sed -n '/VALGRINDERROR-BEGIN/,/VALGRINDERROR-END/p' |
           awk '/VALGRINDERROR-BEGIN/ {hit = 0}
                /stockroute\.so|\((access|aggregate|allocate|explain|ingest|plan|reservation|solver|stockroute)\.c:[0-9]+\)/ {hit = 1}
                /VALGRINDERROR-END/ {n += hit} END {print n + 0}')
    rc=1
fi
echo "run_valgrind: $processes processes ran under memcheck; $errors error(s), $ours in stockroute's code;" \
     "$suppressed suppressed (test/fuzz/valgrind.supp)"
exit $rc
