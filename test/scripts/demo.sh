#!/usr/bin/env bash
# demo: what `make demo` shows runs to the end without an error in a database
# of its own (the network, the orders, the simulation, the lifecycle, the
# race, the silent node), every line of its output is under 120 characters,
# and its claims hold: amounts show two decimals and the currency, a node
# not chosen says by how much it lost, the race
# sells exactly the available units and refuses the rest with SR001, the
# silent node is flagged and its alert resolved by its next event.  Runs
# against the server in PG*.
set -euo pipefail
cd "$(dirname "$0")/../.."
db=stockroute_demo
out=$(mktemp)
trap 'rm -f "$out"; dropdb --if-exists $db >/dev/null 2>&1 || true' EXIT
fail() { echo "FAIL: $*"; exit 1; }
dropdb --if-exists $db >/dev/null 2>&1 || true
createdb $db
PGDATABASE=$db bash scripts/demo.sh --in-cluster > "$out" 2>&1 || { cat "$out"; fail "the demo failed"; }
long=$(awk 'length >= 120' "$out")
[ -z "$long" ] || { echo "$long"; fail "demo output lines of 120 characters or more"; }
grep -qE '^Plan for order SO-1001: complete, score [0-9.]+, cost 24\.40 USD' "$out" ||
    fail "SO-1001's cost is not shown as 24.40 USD"
grep -qE '^    C: not chosen: \+[0-9]+\.[0-9]{2} USD, [0-9]+ days? later$' "$out" ||
    fail "SO-1001's node C does not say by how much it lost"
[ "$(grep -c 'SR001: insufficient stock for sku "SEAL-106" at node "NYC-STORE"' "$out")" = 4 ] ||
    fail "not exactly 4 of 8 shoppers were refused"
[ "$(grep -c ': reserved 1 unit$' "$out")" = 4 ] || fail "not exactly 4 of 8 shoppers got a unit"
grep -qE '^ NYC-STORE \| SEAL-106 \| +5 \| +4 \| +1 \| +0 \| +4$' "$out" || fail "the race's stock row is wrong"
grep -qE '^ stale_node \| DAL-3PL \| resolved$' "$out" || fail "the silent node's alert was not resolved"
grep -qE '^ DAL-3PL \| stale$' "$out" || fail "routing did not skip the stale node"
echo "ok demo: $(wc -l < "$out") lines, the longest $(awk '{ if (length > m) m = length } END { print m }' "$out")"
