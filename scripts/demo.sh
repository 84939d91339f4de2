#!/usr/bin/env bash
# `make demo`: a throwaway cluster, the demo network, the seed's orders routed
# and shown with explain(), one allocation and the reservations it made.
#
# Installs missing Debian packages, builds and installs the extension (through
# sudo when not root), then in a throwaway cluster (pg_virtualenv, removed on
# exit) runs CREATE EXTENSION stockroute, demo/network.sql and demo/orders.sql.
# Works as root and as a user with sudo.  Nothing outside the throwaway
# cluster is touched apart from the package and extension install.
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
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

echo "Building and installing stockroute ..."
make -s
$sudo make -s install >/dev/null

echo "Starting a throwaway PostgreSQL cluster (pg_virtualenv) ..."
pg_virtualenv -t -c "--locale=C.UTF-8" bash "$(pwd)/scripts/demo.sh" --in-cluster
