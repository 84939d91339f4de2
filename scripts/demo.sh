#!/usr/bin/env bash
# `make demo`: a throwaway cluster, the demo network, the seed's orders routed
# and shown with explain(), one allocation and the reservations it made.
#
# Installs missing Debian packages, builds the extension and installs it into
# a staging directory, then in a throwaway cluster (pg_virtualenv, removed on
# exit, loading the staged extension) runs CREATE EXTENSION stockroute,
# demo/network.sql and demo/orders.sql.  Works as root and as a user with
# sudo.  Nothing outside the throwaway cluster is touched apart from the
# package install.
set -euo pipefail
cd "$(dirname "$0")/.."

# inside the throwaway cluster (pg_virtualenv has set PGHOST, PGPORT, PGUSER, ...)
if [ "${1:-}" = "--in-cluster" ]; then
    psql_demo() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
    psql_demo -c 'CREATE EXTENSION stockroute'
    echo "Loading the demo network (demo/network.sql) ..."
    psql_demo -f demo/network.sql
    psql_demo -f demo/orders.sql
    exit 0
fi

scripts/install-deps.sh
echo "Building stockroute ..."
make -s
# staged, as make test does: the throwaway cluster loads it from there
STOCKROUTE_STAGE=$(mktemp -d /tmp/stockroute-stage.XXXXXX)
export STOCKROUTE_STAGE
chmod 755 "$STOCKROUTE_STAGE"
trap 'rm -rf "$STOCKROUTE_STAGE"' EXIT
make -s install DESTDIR="$STOCKROUTE_STAGE" >/dev/null

echo "Starting a throwaway PostgreSQL cluster (pg_virtualenv) ..."
. scripts/cluster.sh
throwaway_cluster -- bash "$(pwd)/scripts/demo.sh" --in-cluster
