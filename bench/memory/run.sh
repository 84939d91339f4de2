#!/usr/bin/env bash
# bench/memory/run.sh — memory over many calls: CALLS (default 1,000,000)
# plan() calls in ONE session, and the backend's memory sampled along the way.
#
#   bench/memory/run.sh --virtualenv   in a throwaway cluster (pg_virtualenv)
#   bench/memory/run.sh                against the server in PG* (creates and
#                                      drops database stockroute_bench_memory;
#                                      the server must run on this machine)
#
# pgbench, one client (one connection, so one backend serves every call),
# prepared protocol: nine calls in ten plan() one of 500 orders of 1-4 lines
# over a 12-node network (bench/memory/setup.sql); the tenth plans one of 50
# orders that fail (unknown SKU, bad qty, duplicate line_ref, unknown
# profile, no ship_to) inside an exception block, so the error paths are
# measured too.  The backend samples itself (bench_mem.sample) at call 1,
# after a warm-up of 1,000 calls, and every CALLS/SAMPLES calls: VmRSS and
# RssAnon from /proc, and the total of pg_backend_memory_contexts.
# Prints a markdown table; exits 1 if the memory contexts grew by more than
# 1 MB between the warm-up and the last call.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = "--virtualenv" ]; then
    shift
    . "$here/../virtualenv.sh"
    bench_in_virtualenv "$here/run.sh" "$@"
fi

CALLS=${CALLS:-1000000}
SAMPLES=${SAMPLES:-10}
step=$((CALLS / SAMPLES))
db=stockroute_bench_memory
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists "$db" >/dev/null 2>&1 || true' EXIT
psqlb() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

dropdb --if-exists "$db" >/dev/null 2>&1 || true
createdb "$db"
psqlb -c 'CREATE EXTENSION stockroute' > /dev/null
psqlb -f "$here/setup.sql" > "$work/setup.log"

cat > "$work/plan.pgb" <<PGB
\set n :n + 1
\if :n % 10 = 0
\set b random(1, 50)
SELECT bench_mem.try_plan(doc) FROM bench_mem.bad WHERE id = :b;
\else
\set id random(1, 500)
SELECT stockroute.plan(doc) FROM bench_mem.orders WHERE id = :id;
\endif
\if :n = 1 or :n = 1000 or :n % $step = 0
SELECT bench_mem.sample(:n);
\endif
PGB

echo "$CALLS plan() calls in one session ..." >&2
start=$(date +%s)
pgbench -n -M prepared -c 1 -t "$CALLS" -D n=0 -f "$work/plan.pgb" "$db" > "$work/pgbench.out" 2>&1 ||
    { cat "$work/pgbench.out" >&2; exit 1; }
secs=$(( $(date +%s) - start ))
tps=$(grep -o 'tps = [0-9.]*' "$work/pgbench.out" | head -1 | awk '{print $3}')

echo "| calls | VmRSS (kB) | RssAnon (kB) | memory contexts (bytes) | contexts | TopMemoryContext | CacheMemoryContext |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
psqlb -At -F ' | ' -c "SELECT calls, vm_rss_kb, rss_anon_kb, contexts_bytes, contexts, top_bytes, cache_bytes
                         FROM bench_mem.sample ORDER BY calls" | sed 's/^/| /; s/$/ |/'
echo
echo "$CALLS calls in ${secs} s (${tps} calls/s, one client); error calls: one in ten"
growth=$(psqlb -At -c "SELECT (SELECT contexts_bytes FROM bench_mem.sample ORDER BY calls DESC LIMIT 1)
                              - (SELECT contexts_bytes FROM bench_mem.sample WHERE calls = 1000)")
rss=$(psqlb -At -c "SELECT (SELECT rss_anon_kb FROM bench_mem.sample ORDER BY calls DESC LIMIT 1)
                           - (SELECT rss_anon_kb FROM bench_mem.sample WHERE calls = 1000)")
echo "growth from call 1,000 to the last: memory contexts ${growth} bytes, RssAnon ${rss} kB"
[ "$growth" -le 1048576 ] || { echo "memory contexts grew by more than 1 MB: a leak"; exit 1; }
