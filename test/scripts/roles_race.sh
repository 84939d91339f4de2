#!/usr/bin/env bash
# roles_race: CREATE EXTENSION stockroute run at the same moment in two
# databases of one cluster, with the cluster-wide roles stockroute_admin,
# stockroute_app and stockroute_node missing, succeeds in both: whichever
# creates a role first wins, the other finds it made and grants it its
# privileges all the same (stockroute.create_roles()).  Repeated
# ROLES_RACE_ROUNDS times (default 12); every round ends with the roles
# NOLOGIN and privileged in both databases.
#
# It drops the three roles between rounds, which the other tests' databases
# hold privileges through, so it runs in a throwaway cluster of its own
# (scripts/cluster.sh; the staged extension when STOCKROUTE_STAGE is set).
set -euo pipefail
if [ -z "${ROLES_RACE_OWN_CLUSTER:-}" ]; then
    here=$(cd "$(dirname "$0")" && pwd)
    . "$here/../../scripts/cluster.sh"
    ROLES_RACE_OWN_CLUSTER=1 throwaway_cluster -- bash "$here/roles_race.sh"
    exit $?
fi

rounds=${ROLES_RACE_ROUNDS:-12}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
createdb race_a
createdb race_b

for round in $(seq 1 "$rounds"); do
    # no extension anywhere (nor its schema, which DROP EXTENSION keeps),
    # so nothing holds the roles; then no roles
    for db in race_a race_b; do
        q -d $db -c 'SET client_min_messages = warning' \
            -c 'DROP EXTENSION IF EXISTS stockroute CASCADE' -c 'DROP SCHEMA IF EXISTS stockroute CASCADE'
    done
    q -c 'SET client_min_messages = warning' -c 'DROP ROLE IF EXISTS stockroute_admin, stockroute_app, stockroute_node'

    # both sessions connect, wait for the same instant, then install
    start=$(q -At -c "SELECT clock_timestamp() + interval '300 milliseconds'")
    for db in race_a race_b; do
        psql -X -q -v ON_ERROR_STOP=1 -d $db \
            -c "DO \$\$ BEGIN PERFORM pg_sleep(greatest(0, extract(epoch FROM '$start'::timestamptz - clock_timestamp())::float8)); END \$\$" \
            -c 'SET client_min_messages = warning' \
            -c 'CREATE EXTENSION stockroute' > "$work/$db.out" 2>&1 &
    done
    failed=0
    for job in $(jobs -p); do
        wait "$job" || failed=1
    done
    if [ $failed -ne 0 ]; then
        echo "round $round: a concurrent CREATE EXTENSION failed"
        cat "$work/race_a.out" "$work/race_b.out"
        exit 1
    fi

    # the roles exist once, cannot log in, and both databases granted them
    roles=$(q -At -c "SELECT count(*) FROM pg_catalog.pg_roles
                       WHERE rolname IN ('stockroute_admin', 'stockroute_app', 'stockroute_node')
                         AND NOT rolcanlogin AND NOT rolsuper")
    [ "$roles" = 3 ] || { echo "round $round: $roles of the 3 roles made as NOLOGIN"; exit 1; }
    for db in race_a race_b; do
        granted=$(q -At -d $db -c "SELECT pg_catalog.has_function_privilege('stockroute_app', 'stockroute.allocate(jsonb)', 'EXECUTE')
                                     AND pg_catalog.has_function_privilege('stockroute_node', 'stockroute.ingest(jsonb)', 'EXECUTE')
                                     AND pg_catalog.has_table_privilege('stockroute_admin', 'stockroute.node', 'INSERT')")
        [ "$granted" = t ] || { echo "round $round: database $db did not grant the roles their privileges"; exit 1; }
    done
done
echo "$rounds rounds: both concurrent installs succeeded every time"
