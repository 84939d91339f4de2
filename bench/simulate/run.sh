#!/usr/bin/env bash
# bench/simulate/run.sh — simulate() against rule-based routing, markdown.
#
#   bench/simulate/run.sh --virtualenv   in a throwaway cluster (pg_virtualenv)
#   bench/simulate/run.sh                against the server in PG* (creates and
#                                        drops database stockroute_bench_simulate)
#
# 10,000 orders (bench/simulate/orders.sql) over the 50-node network of the
# routing benchmark, routed three ways over the same stock, in the same
# sequence, in one run:
#   - stockroute.simulate() with the `default` profile (and `cheapest`);
#   - the nearest location with stock, after minimizing packages
#     (Shopify's default routing), in PL/pgSQL (bench/simulate/baselines.sql);
#   - the merchant's ranked locations, after minimizing packages.
# Every method's shipments are costed by one evaluator with plan()'s cost
# model, so the costs compare like with like; simulate()'s own KPIs are
# shown too.  The routing clock is fixed (Tuesday 24 Nov 2026, 09:00
# Eastern), so cutoffs and days do not depend on when it runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = "--virtualenv" ]; then
    shift
    . "$here/../virtualenv.sh"
    bench_in_virtualenv "$here/run.sh" "$@"
fi

CLOCK=${CLOCK:-2026-11-24 09:00-05}
db=stockroute_bench_simulate
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists "$db" >/dev/null 2>&1 || true' EXIT
psqlb() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

dropdb --if-exists "$db" >/dev/null 2>&1 || true
createdb "$db"
{
    psqlb -c 'CREATE EXTENSION stockroute'
    (cd "$here/../routing" && psqlb -f network.sql)
    psqlb -f "$here/orders.sql"
    psqlb -f "$here/baselines.sql"
} > "$work/setup.log"
echo "setup: $(grep -A2 ' orders ' "$work/setup.log" | tail -1 | tr -s ' ')" >&2

# one method: wall time in ms, then its shipments land in bench_simulate.ship
psqlb -At > "$work/run.out" <<SQL
SET stockroute.now = '$CLOCK';
SET stockroute.explain_timing = off;
CREATE TEMP TABLE batch AS SELECT jsonb_agg(doc ORDER BY id) AS orders FROM bench_simulate.orders;
-- warm the backend (kept plans, catalog caches) on a small batch first
SELECT stockroute.simulate((SELECT jsonb_agg(doc ORDER BY id) FROM bench_simulate.orders WHERE id <= 100)) IS NOT NULL;
\\o /dev/null
SELECT clock_timestamp() AS t0 \\gset
CREATE TEMP TABLE sim_default AS SELECT stockroute.simulate(orders, 'default', true) AS r FROM batch;
SELECT clock_timestamp() AS t1 \\gset
CREATE TEMP TABLE sim_cheapest AS SELECT stockroute.simulate(orders, 'cheapest', true) AS r FROM batch;
SELECT clock_timestamp() AS t2 \\gset
SELECT bench_simulate.baseline('nearest');
SELECT clock_timestamp() AS t3 \\gset
SELECT bench_simulate.baseline('priority');
SELECT clock_timestamp() AS t4 \\gset
SELECT bench_simulate.load_plans('default', r->'plans') FROM sim_default;
SELECT bench_simulate.load_plans('cheapest', r->'plans') FROM sim_cheapest;
\\o
SELECT 'time', round(extract(epoch FROM (:'t1'::timestamptz - :'t0'::timestamptz)) * 1000),
               round(extract(epoch FROM (:'t2'::timestamptz - :'t1'::timestamptz)) * 1000),
               round(extract(epoch FROM (:'t3'::timestamptz - :'t2'::timestamptz)) * 1000),
               round(extract(epoch FROM (:'t4'::timestamptz - :'t3'::timestamptz)) * 1000);
SELECT 'own', r->>'micros', r->>'cost', r->>'units_filled', r->>'shipments_per_order', r->>'split_rate',
       r->>'days_mean', r->>'days_p95'
  FROM sim_default;
SELECT 'kpi', m, k.*
  FROM unnest(ARRAY['default', 'cheapest', 'nearest', 'priority']) m,
       bench_simulate.kpis(m, '$CLOCK') k;
SELECT 'parcel', m, k.*
  FROM unnest(ARRAY['default', 'cheapest', 'nearest', 'priority']) m,
       bench_simulate.kpis(m, '$CLOCK', 70) k;
WITH w AS (SELECT l.order_id, sum(l.qty * i.weight_kg) AS kg
             FROM bench_simulate.lines l JOIN stockroute.item i ON i.sku = l.sku GROUP BY 1),
c AS (SELECT m, c.order_id, count(*) AS ships, sum(c.cost) AS cost
        FROM unnest(ARRAY['default', 'nearest', 'priority']) m,
             bench_simulate.costed(m, '$CLOCK') c GROUP BY 1, 2)
SELECT 'weight', CASE WHEN w.kg <= 10 THEN '0-10 kg' WHEN w.kg <= 30 THEN '10-30 kg'
                      WHEN w.kg <= 70 THEN '30-70 kg' ELSE 'over 70 kg' END AS b,
       count(DISTINCT w.order_id),
       round(avg(c.cost) FILTER (WHERE m = 'default')::numeric, 2),
       round(avg(c.cost) FILTER (WHERE m = 'nearest')::numeric, 2),
       round(avg(c.cost) FILTER (WHERE m = 'priority')::numeric, 2),
       round(avg((c.ships > 1)::int) FILTER (WHERE m = 'default'), 3),
       round(avg((c.ships > 1)::int) FILTER (WHERE m = 'nearest'), 3)
  FROM w JOIN c ON c.order_id = w.order_id
 GROUP BY 2 ORDER BY min(w.kg);
SELECT 'nodes', m, count(DISTINCT node_id), max(units)
  FROM (SELECT method AS m, node_id, sum(qty) AS units FROM bench_simulate.ship GROUP BY 1, 2) x
 GROUP BY m;
SQL

IFS='|' read -r _ t_def t_chp t_near t_prio < <(grep '^time|' "$work/run.out")
IFS='|' read -r _ own_us own_cost own_filled own_spo own_split own_dmean own_dp95 < <(grep '^own|' "$work/run.out")
set_=kpi
kpi() { grep "^${set_}|$1|" "$work/run.out"; }
field() { echo "$1" | awk -F'|' -v f="$2" '{print $f}'; }
# kpi row fields: 3 orders 4 requested 5 filled 6 fill_rate 7 cost 8 cost/order 9 cost/unit
#                 10 shipments 11 shipments/order 12 split_rate 13 days_mean 14 days_p95
row() {  # label method time_ms
    local k; k=$(kpi "$2")
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" \
        "$(awk -v t="$3" 'BEGIN {printf "%.1f", t / 1000}')" \
        "$(field "$k" 5)" "$(field "$k" 6)" "$(field "$k" 7)" "$(field "$k" 8)" "$(field "$k" 9)" \
        "$(field "$k" 11)" "$(field "$k" 12)" "$(field "$k" 13) / $(field "$k" 14)"
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f%%", (a - b) / b * 100}'; }

pgv=$(psqlb -Atc 'SHOW server_version')
kd=$(kpi default); kn=$(kpi nearest); kp=$(kpi priority)
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), PostgreSQL $pgv; routing clock $CLOCK"
echo "Orders: $(field "$kd" 3) ($(field "$kd" 4) units) over $(psqlb -Atc 'SELECT count(*) FROM stockroute.node') nodes; each method starts from the same stock and sees what its own earlier orders took."
echo
echo "| method | time s | units filled | fill rate | cost | cost / order | cost / unit | shipments / order | split rate | days mean / p95 |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
row "**stockroute \`default\`** (simulate)" default "$t_def"
row "stockroute \`cheapest\` (simulate)" cheapest "$t_chp"
row "nearest location with stock (PL/pgSQL)" nearest "$t_near"
row "ranked locations (PL/pgSQL)" priority "$t_prio"
echo
echo "stockroute \`default\` against nearest: cost $(pct "$(field "$kd" 7)" "$(field "$kn" 7)"), cost/unit $(pct "$(field "$kd" 9)" "$(field "$kn" 9)"), split rate $(field "$kd" 12) vs $(field "$kn" 12), mean days $(field "$kd" 13) vs $(field "$kn" 13)."
echo "stockroute \`default\` against ranked locations: cost $(pct "$(field "$kd" 7)" "$(field "$kp" 7)"), cost/unit $(pct "$(field "$kd" 9)" "$(field "$kp" 9)"), split rate $(field "$kd" 12) vs $(field "$kp" 12), mean days $(field "$kd" 13) vs $(field "$kp" 13)."
echo "simulate()'s own figures for \`default\` (its cost model: lanes by the weight each shipment has, as the evaluator's): cost $own_cost, units $own_filled, shipments/order $own_spo, split rate $own_split, days $own_dmean / $own_dp95; solver+planning $(awk -v u="$own_us" 'BEGIN {printf "%.1f", u / 1e6}') s, $(awk -v u="$own_us" -v n="$(field "$kd" 3)" 'BEGIN {printf "%.2f", u / n / 1000}') ms per order."
echo
echo "Node load (nodes used, most units at one node):"
grep '^nodes|' "$work/run.out" | awk -F'|' '{printf "  %s: %s nodes, max %s units\n", $2, $3, $4}'

# the same, over the orders that weigh at most 70 kg (the parcel lanes' limit)
set_=parcel
kd=$(kpi default); kn=$(kpi nearest); kp=$(kpi priority)
echo
echo "Orders of at most 70 kg ($(field "$kd" 3) of them, $(field "$kd" 4) units): any method can ship each from one node by parcel."
echo
echo "| method | time s | units filled | fill rate | cost | cost / order | cost / unit | shipments / order | split rate | days mean / p95 |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
row "**stockroute \`default\`**" default "$t_def"
row "stockroute \`cheapest\`" cheapest "$t_chp"
row "nearest location with stock" nearest "$t_near"
row "ranked locations" priority "$t_prio"
echo
echo "stockroute \`default\` against nearest: cost $(pct "$(field "$kd" 7)" "$(field "$kn" 7)"), split rate $(field "$kd" 12) vs $(field "$kn" 12), mean days $(field "$kd" 13) vs $(field "$kn" 13); against ranked locations: cost $(pct "$(field "$kd" 7)" "$(field "$kp" 7)"), split rate $(field "$kd" 12) vs $(field "$kp" 12), mean days $(field "$kd" 13) vs $(field "$kp" 13)."
echo "(Times are for all 10,000 orders.)"
echo
echo "Cost per order by order weight (the network's parcel lanes carry up to 70 kg; heavier shipments from one node take its LTL lane):"
echo
echo "| order weight | orders | stockroute \`default\` | nearest | ranked | split rate \`default\` | split rate nearest |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
grep '^weight|' "$work/run.out" | awk -F'|' '{printf "| %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $7, $8}'
