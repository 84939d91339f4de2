#!/usr/bin/env bash
# bench/ingest/run.sh — throughput of stockroute.ingest() in batches of 1000
# against the floor (the bare writes of the same rows: bench.run_floor) and a
# per-event PL/pgSQL baseline over the same events, and the time of one
# reconcile() over 1M stock rows and 100k holds.  Prints the load average
# around each part: the machine is shared.
#
#   PGHOST=... PGPORT=... bash bench/ingest/run.sh            # defaults below
#   bash bench/ingest/run.sh --virtualenv                     # in a throwaway cluster
#   EVENTS=100000 BATCH=1000 STOCK_NODES=200 STOCK_SKUS=5000 HOLDS=100000 bash bench/ingest/run.sh
#
# Uses (drops and re-creates) the database $BENCH_DB (default sync_bench).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = "--virtualenv" ]; then
    shift
    . "$here/../virtualenv.sh"
    bench_in_virtualenv "$here/run.sh" "$@"
fi
cd "$here"
DB=${BENCH_DB:-sync_bench}
EVENTS=${EVENTS:-100000}
BATCH=${BATCH:-1000}
STOCK_NODES=${STOCK_NODES:-200}
STOCK_SKUS=${STOCK_SKUS:-5000}
HOLDS=${HOLDS:-100000}
EXPIRED_PCT=${EXPIRED_PCT:-10}

dropdb --if-exists "$DB" >/dev/null
createdb "$DB"
psql() { command psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

load() { echo "   (load average: $(cut -d' ' -f1-3 /proc/loadavg))"; }

psql -v events="$EVENTS" -v batch="$BATCH" -f setup_ingest.sql
echo "== ingest: $EVENTS events in batches of $BATCH (stockroute.ingest) vs per-event PL/pgSQL baseline"
# event is emptied, not analyzed: a VACUUM ANALYZE of the empty table would
# leave the baseline's cached PL/pgSQL plans on sequential scans of it.
for mode in set baseline; do
    psql -c "CALL bench.reset()" -c "VACUUM ANALYZE stockroute.stock, stockroute.node"
    load
    # the figures are notices: on stdout, so that bench/compare.sh shows them
    psql -At -c "CALL bench.run_ingest('$mode')" 2>&1
    if [ "$mode" = set ]; then
        # the bare writes of the same rows, from what ingest() stored
        psql -c "UPDATE stockroute.stock SET on_hand = 1000" -c "VACUUM ANALYZE stockroute.stock"
        psql -At -c "CALL bench.run_floor()" 2>&1
    fi
done
load
psql -At -c "SELECT bench.compare()"

echo "== reconcile: $((STOCK_NODES * STOCK_SKUS)) stock rows, $HOLDS holds ($EXPIRED_PCT% past expiry)"
psql -v nodes="$STOCK_NODES" -v skus="$STOCK_SKUS" -v holds="$HOLDS" -v expired_pct="$EXPIRED_PCT" \
     -f setup_reconcile.sql
load
psql -At -c "SELECT 'reconcile (1st run): ' || (stockroute.reconcile())::text"
psql -At -c "SELECT 'reconcile (2nd run, steady state): ' || (stockroute.reconcile())::text"
load
