#!/usr/bin/env bash
# bench/operations/run.sh — what daily node capacity costs.  The
# reservation triggers count every reservation (node_load_entry); a node with
# a limit also has a counter row every reservation there locks.  Measured
# with pgbench for reserve() (1 unit) and allocate() (2-line orders, plan
# included), each in three modes from the same empty start:
#   off      the counting triggers disabled: as before capacity existed;
#   free     counting on, no node has a limit;
#   limited  every node has limits no run reaches: each reservation also
#            updates its node's counter row, so a node's reservations
#            serialize on it (10 nodes, 1,000 SKUs).
# The modes take turns, ROUNDS times, so that load from other jobs on the
# machine falls on all of them alike; the table gives each run's median.
# Then, less disturbed by other jobs' scheduling noise: reserve() and its
# commit timed inside the server (bench_ops.call_time), and the trigger's own
# time per statement as EXPLAIN ANALYZE reports it (bench_ops.trigger_time).
# Prints markdown tables; exits non-zero if a counter differs from its
# entries or stock.reserved from the reservations.
#
#   bench/operations/run.sh --virtualenv   in a throwaway cluster (pg_virtualenv)
#   bench/operations/run.sh                against the server in PG* (creates and
#                                          drops database stockroute_bench_ops)
# Environment: DURATION (seconds per pgbench run, default 5), ROUNDS
# (default 3), CLIENTS (default "1 8"), THREADS (pgbench -j, default 2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = "--virtualenv" ]; then
    shift
    . "$here/../virtualenv.sh"
    bench_in_virtualenv "$here/run.sh" "$@"
fi

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-1 8}
THREADS=${THREADS:-2}
db=stockroute_bench_ops
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists "$db" >/dev/null 2>&1 || true' EXIT
psqlb() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

dropdb --if-exists "$db" >/dev/null 2>&1 || true
createdb "$db"
echo "setup: 10 nodes, 1,000 SKUs ..." >&2
psqlb -c 'CREATE EXTENSION stockroute' -f "$here/setup.sql" > /dev/null

results=$work/results
: > "$results"
failed=0
for op in reserve allocate; do
    for c in $CLIENTS; do
        for round in $(seq "$ROUNDS"); do
        for mode in off free limited; do
            tag=${op}_${mode}_${c}_$round
            psqlb -c "SELECT bench_ops.mode('$mode')" -c 'SELECT bench_ops.reset()' > /dev/null
            psqlb -c 'VACUUM ANALYZE' -c 'CHECKPOINT'
            echo "  $op / $mode / $c clients, round $round ..." >&2
            (cd "$work" && pgbench -n --protocol=prepared -c "$c" -j "$THREADS" -T "$DURATION" \
                -f "$here/$op.sql" -l --log-prefix="$tag" "$db" > "$work/$tag.out" 2>&1) ||
                { cat "$work/$tag.out" >&2; echo "pgbench failed: $tag" >&2; exit 1; }
            tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$work/$tag.out")
            stats=$(cat "$work/$tag".[0-9]* | awk '{print $3}' | sort -n |
                awk '{v[NR] = $1; s += $1}
                     END {i = int(NR * 0.95 + 0.5); if (i < 1) i = 1;
                          printf "%.3f %.3f", s / NR / 1000, v[i] / 1000}')
            rm -f "$work/$tag".[0-9]*
            chk=$(psqlb -At -F ' ' -c 'SELECT * FROM bench_ops.check()')
            echo "$op $mode $c $tps $stats $chk" >> "$results"
        done
        done
    done
done

# reserve() and its commit timed inside the server, the modes taking turns
for round in $(seq "$ROUNDS"); do
    for mode in off free limited; do
        psqlb -c "SELECT bench_ops.mode('$mode')" -c 'SELECT bench_ops.reset()' > /dev/null
        echo "  reserve() in the server / $mode, round $round ..." >&2
        echo "$mode $(psqlb -At -c 'CALL bench_ops.call_time(2000)')" >> "$work/inner"
    done
done

# the trigger's own time, per statement
for mode in free limited; do
    for lines in 1 2; do
        psqlb -c "SELECT bench_ops.mode('$mode')" -c 'SELECT bench_ops.reset()' > /dev/null
        echo "  trigger time / $mode / $lines line(s) ..." >&2
        echo "$mode $lines $(psqlb -At -F ' ' -c "SELECT * FROM bench_ops.trigger_time(500, $lines)")" >> "$work/trigger"
    done
done

pgv=$(psqlb -Atc 'SHOW server_version')
fs=$(psqlb -Atc "SELECT 'fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit')")
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
echo
echo "Machine: $(nproc) cores ($cpu), PostgreSQL $pgv ($fs);" \
     "pgbench --protocol=prepared -j $THREADS -T $DURATION, median of $ROUNDS interleaved runs;" \
     "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| call | capacity counting | clients | TPS | mean ms | p95 ms | counter mismatches | drift |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
while read -r op mode c; do
    # the run with the median TPS
    read -r tps mean p95 < <(awk -v o="$op" -v m="$mode" -v c="$c" '$1 == o && $2 == m && $3 == c {print $4, $5, $6}' "$results" |
        sort -n | awk '{r[NR] = $0} END {print r[int((NR + 1) / 2)]}')
    case $mode in off) label='off (triggers disabled)';;
                  free) label='on, no limits';;
                  limited) label='on, every node limited';; esac
    bad=$(awk -v o="$op" -v m="$mode" -v c="$c" '$1 == o && $2 == m && $3 == c {s += $8; d += $9} END {print s + 0, d + 0}' "$results")
    printf '| %s | %s | %s | %.0f | %s | %s | %s | %s |\n' "$op" "$label" "$c" "$tps" "$mean" "$p95" $bad
    echo "$op $mode $c $tps" >> "$work/medians"
    if [ "$bad" != "0 0" ]; then failed=1; fi
done < <(awk '{print $1, $2, $3}' "$results" | awk '!seen[$0]++')
echo
echo "reserve() and its COMMIT timed inside the server (median of 2,000 calls; the median of $ROUNDS interleaved runs):"
echo
echo "| capacity counting | µs per call |"
echo "| --- | ---: |"
for mode in off free limited; do
    case $mode in off) label='off (triggers disabled)';; free) label='on, no limits';;
                  limited) label='on, every node limited';; esac
    echo "| $label | $(awk -v m="$mode" '$1 == m {print $2}' "$work/inner" | sort -n |
                       awk '{r[NR] = $1} END {print r[int((NR + 1) / 2)]}') |"
done
echo
echo "The counting trigger's own time per INSERT statement (EXPLAIN ANALYZE, 500 statements, new orders):"
echo
echo "| capacity counting | reservations per statement | median µs | p95 µs |"
echo "| --- | ---: | ---: | ---: |"
while read -r mode lines med p95; do
    case $mode in free) label='on, no limits';; limited) label='on, every node limited';; esac
    echo "| $label | $lines | $med | $p95 |"
done < "$work/trigger"
echo
echo "Median TPS against off:"
awk '{k = $1 " " $3; t[k, $2] = $4}
     $2 == "limited" {printf "- %s, %s clients: no limits %.2f, limited %.2f\n", $1, $3,
                      t[k, "free"] / t[k, "off"], $4 / t[k, "off"]}' "$work/medians"
if [ "$failed" != 0 ]; then
    echo "FAILED: a counter or stock.reserved out of step (see the table)" >&2
    exit 1
fi
echo "counters equal their entries and stock.reserved its reservations in every run"
