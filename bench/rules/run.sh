#!/usr/bin/env bash
# bench/rules/run.sh — plan() with and without 50 rules, a markdown table.
#
#   bench/rules/run.sh --virtualenv   in a throwaway cluster (pg_virtualenv)
#   bench/rules/run.sh                against the server in PG* (creates and
#                                     drops database stockroute_bench_rules)
#
# plan() on the 200 ten-line orders of bench/routing (50-node network), each
# with a customer (bench/rules/rules.sql), and on the same orders cut to one
# line, with 50 rules in force versus none, in the same run: ROUNDS (default
# 3) rounds, each timing the four (size x rules) in turn with pgbench
# (DURATION seconds each, default 10), so drift of a shared machine falls on
# all of them.  Also counts how many rules the orders match and how many
# plans the rules change.  Goal: 50 rules cost at most 1.5x no rules.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = "--virtualenv" ]; then
    shift
    . "$here/../virtualenv.sh"
    bench_in_virtualenv "$here/run.sh" "$@"
fi

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
db=stockroute_bench_rules
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists "$db" >/dev/null 2>&1 || true' EXIT
psqlb() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

dropdb --if-exists "$db" >/dev/null 2>&1 || true
createdb "$db"
{
    psqlb -c 'CREATE EXTENSION stockroute'
    (cd "$here/../routing" && psqlb -f network.sql)
    psqlb -f "$here/rules.sql"
} > "$work/setup.log"
nrules=$(psqlb -Atc 'SELECT count(*) FROM bench_rules.rule_set WHERE enabled AND valid_from IS NULL AND valid_until IS NULL')
if [ "$nrules" != 50 ]; then
    echo "expected 50 active rules in bench_rules.rule_set, got $nrules" >&2
    exit 1
fi

rules_none() { psqlb -c 'DELETE FROM stockroute.rule' -c 'VACUUM ANALYZE stockroute.rule'; }
rules_fifty() {
    psqlb -c 'DELETE FROM stockroute.rule' \
          -c 'INSERT INTO stockroute.rule SELECT * FROM bench_rules.rule_set' \
          -c 'VACUUM ANALYZE stockroute.rule'
}

# what the 50 rules do to these orders, against plans without them
rules_none
psqlb -c 'CREATE TABLE bench_rules.plain AS SELECT id, stockroute.plan(doc) AS p FROM bench_rules.orders'
rules_fifty
psqlb -At -F '|' > "$work/effect.out" <<'SQL'
WITH r AS (SELECT o.id, stockroute.plan(o.doc) AS p FROM bench_rules.orders o)
SELECT count(*),
       round(avg(jsonb_array_length(r.p->'rules')), 2),
       count(*) FILTER (WHERE jsonb_array_length(r.p->'rules') = 1),
       max(jsonb_array_length(r.p->'rules')),
       count(*) FILTER (WHERE r.p->'profile' ? 'rule'),
       count(*) FILTER (WHERE r.p->'profile' ? 'fallback_from'),
       count(*) FILTER (WHERE (r.p->'shipments') <> (b.p->'shipments')),
       count(*) FILTER (WHERE r.p->>'status' = 'unfillable')
  FROM r JOIN bench_rules.plain b USING (id);
SQL
IFS='|' read -r norders avgrules onlyone maxrules switched fellback changed unfillable < "$work/effect.out"

# pgbench one run over table $2; appends per-call latencies (us) to $work/<mode>.lat
bench() {
    local mode=$1 table=$2 round=$3
    printf '%s\n' '\set id random(1, 200)' \
        "SELECT stockroute.plan(doc) FROM bench_rules.$table WHERE id = :id;" > "$work/$mode.sql"
    (cd "$work" && pgbench -n -M prepared -c 1 -T "$DURATION" -f "$mode.sql" \
        -l --log-prefix="$mode-$round" "$db" > "$work/$mode-$round.out" 2>&1) ||
        { cat "$work/$mode-$round.out" >&2; exit 1; }
    cat "$work/$mode-$round".[0-9]* | awk '{print $3}' >> "$work/$mode.lat"
}
stats() {  # mean_ms p95_ms calls/s calls
    sort -n "$work/$1.lat" |
        awk -v T="$((DURATION * ROUNDS))" '{v[NR]=$1; s+=$1}
             END {i=int(NR*0.95+0.5); if (i<1) i=1;
                  printf "%.3f %.3f %.1f %d\n", s/NR/1000, v[i]/1000, NR/T, NR}'
}

for round in $(seq 1 "$ROUNDS"); do
    echo "round $round: no rules ..." >&2
    rules_none
    bench none orders "$round"
    bench none1 orders1 "$round"
    echo "round $round: 50 rules ..." >&2
    rules_fifty
    bench fifty orders "$round"
    bench fifty1 orders1 "$round"
done
none=$(stats none)
fifty=$(stats fifty)
none1=$(stats none1)
fifty1=$(stats fifty1)

field() { echo "$1" | awk -v f="$2" '{print $f}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
row() { printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" "$5"; }

pgv=$(psqlb -Atc 'SHOW server_version')
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), PostgreSQL $pgv;" \
     "pgbench -M prepared, 1 client, $ROUNDS rounds x ${DURATION} s per mode, modes alternating"
echo
echo "| plan() of one order, 50-node network | mean ms | p95 ms | calls/s | calls |"
echo "| --- | ---: | ---: | ---: | ---: |"
row "10 lines, no rules" $none
row "10 lines, **50 rules in force**" $fifty
row "1 line, no rules" $none1
row "1 line, **50 rules in force**" $fifty1
echo
echo "50 rules / no rules: **$(ratio "$(field "$fifty" 1)" "$(field "$none" 1)")x** mean," \
     "$(ratio "$(field "$fifty" 2)" "$(field "$none" 2)")x p95 on 10-line orders;" \
     "**$(ratio "$(field "$fifty1" 1)" "$(field "$none1" 1)")x** mean," \
     "$(ratio "$(field "$fifty1" 2)" "$(field "$none1" 2)")x p95 on 1-line orders (goal <= 1.5x)."
echo "What the rules do to the $norders orders: $avgrules rules match an order on average (at most $maxrules;" \
     "exactly one, the rule on every US order, for $onlyone); a rule picks the profile of $switched," \
     "$fellback of them after an else_profile fallback; $changed plans ship differently than without rules;" \
     "$unfillable are unfillable under them."
