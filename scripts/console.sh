#!/usr/bin/env bash
# `make console`: the ops console over a throwaway demo cluster, with a live feed.
#
# Installs missing Debian packages, builds the extension and stages it (as
# make demo does), then in a throwaway cluster (pg_virtualenv, pg_cron
# preloaded, removed on exit) loads the demo network (demo/network.sql),
# allocates the demo's orders (demo/orders.sql, at its routing clock: SO-1001
# ships A 8 + B 12), schedules reconcile() every minute with pg_cron, gives
# every node a webhook secret sealed under a throwaway key, and starts
#   - the console, at http://127.0.0.1:8080 (CONSOLE_PORT overrides), logged
#     in as console_ops (stockroute_admin + stockroute_app);
#   - the demo feed: signed location events through POST /api/events (some
#     late, duplicated, out of order; DEN-PTR goes silent after 30 s and is
#     stale a minute later) and a trickle of orders, as console_shop
#     (stockroute_app).
# Ctrl-C stops the feed, the console and the cluster.  docs/console.md runs the
# console against your own database instead.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}

# inside the throwaway cluster (pg_virtualenv has set PGHOST, PGPORT, PGUSER, ...)
if [ "${1:-}" = "--in-cluster" ]; then
    port=${CONSOLE_PORT:-8080}
    work=$(mktemp -d /tmp/stockroute-console.XXXXXX)
    pids=""
    stop() {
        trap - EXIT INT TERM
        for p in $pids; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$work"
    }
    trap stop EXIT
    trap 'echo; echo "Stopping the feed, the console and the cluster ..."; exit 0' INT TERM
    q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

    q -c 'CREATE EXTENSION stockroute' -c 'CREATE EXTENSION pg_cron'
    echo "Loading the demo network (demo/network.sql) ..."
    q -f demo/network.sql >/dev/null
    echo "Allocating the demo's orders (demo/orders.sql) ..."
    "$PYTHON" -m console demo-orders | sed 's/^/  /'
    ops_pw=$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')
    shop_pw=$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')
    q -v ops_pw="$ops_pw" -v shop_pw="$shop_pw" <<'SQL'
CREATE ROLE console_ops LOGIN PASSWORD :'ops_pw' IN ROLE stockroute_admin, stockroute_app;
CREATE ROLE console_shop LOGIN PASSWORD :'shop_pw' IN ROLE stockroute_app;
-- a purchase order that promises SO-1004's backordered VALVE-101
INSERT INTO stockroute.supply (node_id, sku, qty, expected_on, ref)
VALUES ('A', 'VALVE-101', 40, current_date + 9, 'PO-4711');
-- the node that goes silent: stale a minute after its last event
UPDATE stockroute.node SET stale_after = '1 minute' WHERE node_id = 'DEN-PTR';
SELECT stockroute.schedule_jobs('* * * * *') \g /dev/null
SQL
    url() { echo "postgresql://$1:$2@$PGHOST:$PGPORT/$PGDATABASE"; }
    "$PYTHON" -m console key generate "$work/key" >/dev/null
    CONSOLE_KEY_FILE="$work/key" CONSOLE_DATABASE_URL=$(url console_ops "$ops_pw") \
        "$PYTHON" -m console secret set --all > "$work/secrets" 2>/dev/null

    CONSOLE_PORT=$port CONSOLE_KEY_FILE="$work/key" CONSOLE_DATABASE_URL=$(url console_ops "$ops_pw") \
        CONSOLE_OPERATOR="${USER:-$(id -un)}" "$PYTHON" -m console serve > "$work/console.log" 2>&1 &
    server=$!
    pids="$pids $server"
    for _ in $(seq 1 50); do
        grep -qs '^console: serving' "$work/console.log" && break
        kill -0 "$server" 2>/dev/null || break
        sleep 0.2
    done
    if ! grep -qs '^console: serving' "$work/console.log"; then
        echo "The console did not start (is port $port free? CONSOLE_PORT picks another):"
        cat "$work/console.log"
        exit 1
    fi
    CONSOLE_DATABASE_URL=$(url console_shop "$shop_pw") "$PYTHON" -m console feed \
        --url "http://127.0.0.1:$port" --secrets "$work/secrets" \
        --silent-node DEN-PTR --silent-after 30 > "$work/feed.log" 2>&1 &
    pids="$pids $!"
    cat <<EOF

  The stockroute console: http://127.0.0.1:$port/

  Logged in as console_ops (stockroute_admin + stockroute_app). The feed sends location events
  through the webhook and allocates an order every few seconds; DEN-PTR goes silent after 30 s
  and reconcile() (pg_cron, every minute) flags it stale a minute later. Try /orders/SO-1001.
  Logs: $work/console.log, $work/feed.log
  psql: psql "$(url console_ops "$ops_pw")"

  Ctrl-C stops the feed, the console and the cluster.
EOF
    while kill -0 "$server" 2>/dev/null; do
        wait "$server" || true
    done
    echo "The console stopped:"
    tail -20 "$work/console.log"
    exit 1
fi

scripts/install-deps.sh console
echo "Building stockroute ..."
make -s
# staged, as make test does: the throwaway cluster loads it from there
. scripts/cluster.sh
stage_extension

echo "Starting a throwaway PostgreSQL cluster (pg_virtualenv) ..."
# pg_cron runs its jobs in background workers: its default, a libpq connection
# to localhost, would need the throwaway cluster's password
throwaway_cluster \
    -o shared_preload_libraries=pg_cron \
    -o cron.database_name=postgres \
    -o cron.use_background_workers=on \
    -o max_worker_processes=16 \
    -- bash "$(pwd)/scripts/console.sh" --in-cluster
