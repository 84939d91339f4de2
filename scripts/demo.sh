#!/usr/bin/env bash
# `make demo`: a throwaway cluster, the demo network, the seed's orders routed
# and shown with explain(), an allocation and its reservations, a day of
# orders simulated against nearest-location routing, the lifecycle of an
# order through fulfilment, a race of shoppers for the last units, and a
# node going silent.
#
# Installs missing Debian packages (quietly: the log's path is printed),
# builds the extension and installs it into a staging directory, then in a
# throwaway cluster (pg_virtualenv, removed on exit, loading the staged
# extension) runs CREATE EXTENSION stockroute and the files of demo/.  Works
# as root and as a user with sudo.  Nothing outside the throwaway cluster is
# touched apart from the package install.
set -euo pipefail
cd "$(dirname "$0")/.."

psql_demo() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# Section 12: shoppers in separate sessions try to reserve one unit each of
# the last units of a SKU at the same moment.  Each session waits at a gate
# (an advisory lock this script's own session holds) so that all of them
# reach reserve() together; exactly the available units are sold, every
# other shopper gets SR001, and stock.reserved never passes on_hand.
race() {
    local sku=SEAL-106 node=NYC-STORE shoppers=8 gate=424242 i pids=() out
    out=$(mktemp -d)
    echo
    echo "=== 12. A race: $shoppers shoppers, one session each, for the last units of $sku at $node ==="
    echo
    psql_demo -c "SELECT node_id, sku, on_hand, reserved, safety_stock, available FROM stockroute.stock
                   WHERE node_id = '$node' AND sku = '$sku'"
    coproc GATE { psql -X -q -At 2>&1; }
    echo "SELECT 'closed' FROM (SELECT pg_advisory_lock($gate)) g;" >&"${GATE[1]}"
    read -r _ <&"${GATE[0]}"
    for i in $(seq 1 $shoppers); do
        psql -X -q -At > "$out/$i" 2>&1 <<SQL &
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS \$\$
BEGIN
    EXECUTE stmt;
    RETURN 'reserved 1 unit';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END \$\$;
SELECT 1 FROM (SELECT pg_advisory_lock_shared($gate)) g \g /dev/null
SELECT pg_advisory_unlock_shared($gate) \g /dev/null
SELECT pg_temp.try(\$\$SELECT stockroute.reserve('WEB-$i', '1', '$sku', '$node', 1)\$\$);
SQL
        pids+=($!)
    done
    # all shoppers at the gate, then open it
    waiting=0
    for i in $(seq 1 600); do
        waiting=$(psql -X -At -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        [ "$waiting" = "$shoppers" ] && break
        sleep 0.1
    done
    echo "$waiting of $shoppers sessions are waiting at the gate; opening it."
    echo "SELECT pg_advisory_unlock($gate);" >&"${GATE[1]}"
    for i in "${pids[@]}"; do wait "$i"; done
    exec {GATE[1]}>&-
    for i in $(seq 1 $shoppers); do
        printf '  shopper %d (order WEB-%d): %s\n' "$i" "$i" "$(cat "$out/$i")"
    done
    rm -rf "$out"
    echo
    psql_demo -c "SELECT node_id, sku, on_hand, reserved, safety_stock, available,
                         (SELECT count(*) FROM stockroute.reservation r
                           WHERE r.node_id = s.node_id AND r.sku = s.sku AND r.status = 'held') AS held_orders
                    FROM stockroute.stock s WHERE node_id = '$node' AND sku = '$sku'"
    echo "Exactly the available units were sold; the others were refused with SR001, however the sessions"
    echo "interleaved (test/specs/race_last_unit.spec proves it for every interleaving)."
}

# inside the throwaway cluster (pg_virtualenv has set PGHOST, PGPORT, PGUSER, ...)
if [ "${1:-}" = "--in-cluster" ]; then
    psql_demo -c 'CREATE EXTENSION stockroute'
    echo "Loading the demo network (demo/network.sql) ..."
    psql_demo -f demo/network.sql
    psql_demo -f demo/orders.sql
    psql_demo -f demo/simulate.sql
    psql_demo -f demo/lifecycle.sql
    race
    psql_demo -f demo/silent_node.sql
    echo
    echo "Done. The cluster is dropped now; to keep playing, load demo/network.sql into your own"
    echo "database (demo/README.md)."
    exit 0
fi

scripts/install-deps.sh demo
echo "Building stockroute ..."
make -s
# staged, as make test does: the throwaway cluster loads it from there
. scripts/cluster.sh
stage_extension

echo "Starting a throwaway PostgreSQL cluster (pg_virtualenv) ..."
throwaway_cluster -- bash "$(pwd)/scripts/demo.sh" --in-cluster
