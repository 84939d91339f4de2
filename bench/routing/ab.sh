#!/usr/bin/env bash
# bench/routing/ab.sh OLD.so NEW.so — plan() against the bare read of its rows
# (bare_read.sql) for two builds of the library, round by round in turn, so
# that the load of a shared machine falls on both alike.  Prints each round and
# the median plan() / bare-read ratio per build.
#
#   make && cp stockroute.so /tmp/new.so; (build the old tree) cp stockroute.so /tmp/old.so
#   bench/routing/ab.sh /tmp/old.so /tmp/new.so
#
# Runs against the server in PG*, in database stockroute_bench_ab with the
# extension as installed (both builds must run on its schema).  It copies each
# build over $(pg_config --pkglibdir)/stockroute.so in turn — for a private
# install only — and leaves NEW there.  ROUNDS (default 8) rounds of T seconds
# (default 6) per pgbench run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
old=$1 new=$2
ROUNDS=${ROUNDS:-8}
T=${T:-6}
lib=$(pg_config --pkglibdir)/stockroute.so
db=stockroute_bench_ab
work=$(mktemp -d)
# a new file renamed into place: backends still running keep the old one mapped
put() { cp "$1" "$lib.ab" && mv "$lib.ab" "$lib"; }
trap 'rm -rf "$work"; put "$new"; dropdb --if-exists "$db" >/dev/null 2>&1 || true' EXIT

dropdb --if-exists "$db" >/dev/null 2>&1 || true
createdb "$db"
put "$new"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION stockroute' -f "$here/network.sql" > /dev/null
cp "$here/bare_read.sql" "$work/bare.sql"
printf '%s\n' '\set id random(1, 200)' \
    'SELECT stockroute.plan(doc) FROM bench_routing.orders WHERE id = :id;' > "$work/plan.sql"

# mean latency in ms of one pgbench run (new connections: the copied library is loaded)
run() {
    pgbench -n -M prepared -c 1 -T "$T" -f "$work/$1.sql" "$db" 2>&1 |
        awk '/latency average/ {print $4}'
}

echo "| round | build | bare read ms | plan() ms | plan() / bare |"
echo "| ---: | --- | ---: | ---: | ---: |"
for r in $(seq 1 "$ROUNDS"); do
    for b in old new; do
        if [ $b = old ]; then put "$old"; else put "$new"; fi
        bare=$(run bare)
        plan=$(run plan)
        ratio=$(awk -v p="$plan" -v b="$bare" 'BEGIN {printf "%.2f", p / b}')
        echo "| $r | $b | $bare | $plan | $ratio |"
        echo "$b $ratio" >> "$work/ratios"
    done
done
echo
for b in old new; do
    awk -v b=$b '$1 == b {print $2}' "$work/ratios" | sort -n |
        awk -v b=$b '{v[NR] = $1} END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
                                        printf "%s: median plan() / bare read %.2fx over %d rounds\n", b, m, NR}'
done
