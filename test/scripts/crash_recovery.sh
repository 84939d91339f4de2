#!/usr/bin/env bash
# crash_recovery: kill the postmaster with SIGKILL in the middle of concurrent
# reserve() and allocate() calls, restart it, and prove that every
# reservation a client saw committed is there, that stock.reserved equals the
# active reservations (invariant 2) and that nothing is oversold.
# Needs a throwaway cluster it may kill (make test's pg_virtualenv).
set -euo pipefail
db=stockroute_crash
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cluster=$(pg_lsclusters -h | awk -v p="$PGPORT" '$3 == p {print $1 " " $2}')
[ -n "$cluster" ] || { echo "no cluster on port $PGPORT to crash"; exit 1; }

dropdb --if-exists $db >/dev/null 2>&1
createdb $db
psql -X -q -v ON_ERROR_STOP=1 -d $db <<'SQL'
CREATE EXTENSION stockroute;
INSERT INTO stockroute.node (node_id, lat, lon, country)
SELECT 'N' || i, 30 + i, -90 - i, 'US' FROM generate_series(1, 4) i;
INSERT INTO stockroute.item (sku) SELECT 'S' || i FROM generate_series(1, 5) i;
INSERT INTO stockroute.stock (node_id, sku, on_hand)
SELECT 'N' || n, 'S' || s, 60 FROM generate_series(1, 4) n, generate_series(1, 5) s;
SQL

# four clients: each logs a reservation only after the server acknowledged
# the commit (psql exits 0 only after ReadyForQuery, i.e. after COMMIT)
client() {
    local c=$1 i
    for i in $(seq 1 400); do
        [ -e "$work/stop" ] && break
        local n=$(( (RANDOM % 4) + 1 )) s=$(( (RANDOM % 5) + 1 )) q=$(( (RANDOM % 3) + 1 ))
        if [ $((i % 4)) -eq 0 ]; then
            out=$(psql -X -At -d $db -c "SELECT r->>'reservation_id' FROM jsonb_array_elements(
                stockroute.allocate('{\"order_ref\": \"A-$c-$i\", \"ship_to\": {\"lat\": 33, \"lon\": -92, \"country\": \"US\"},
                  \"lines\": [{\"line_ref\": \"1\", \"sku\": \"S$s\", \"qty\": $q}, {\"line_ref\": \"2\", \"sku\": \"S$(( (s % 5) + 1 ))\", \"qty\": 1}]}')
                -> 'reservations') r" 2>/dev/null) || continue
        else
            out=$(psql -X -At -d $db -c "SELECT stockroute.reserve('R-$c-$i', '1', 'S$s', 'N$n', $q) ->> 'reservation_id'" \
                  2>/dev/null) || continue
        fi
        [ -n "$out" ] && echo "$out" >> "$work/acked.$c"
    done
}
for c in 1 2 3 4; do client $c & done
sleep 3
pid=$(psql -X -At -d $db -c "SELECT pg_catalog.current_setting('data_directory')" | xargs -I{} head -1 {}/postmaster.pid)
kill -9 "$pid"
touch "$work/stop"
echo "killed postmaster $pid"
wait
# the old children notice the postmaster's death and exit; until they have,
# the shared memory is in use and a new postmaster refuses to start
started=0
for _ in $(seq 1 60); do
    if pg_ctlcluster $cluster start >/dev/null 2>&1; then started=1; break; fi
    sleep 0.5
done
[ $started -eq 1 ] || { echo "the cluster did not restart after the crash"; exit 1; }
for _ in $(seq 1 60); do psql -X -At -d $db -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.5; done

cat "$work"/acked.* 2>/dev/null | sort -u > "$work/acked"
acked=$(wc -l < "$work/acked")
[ "$acked" -gt 20 ] || { echo "only $acked acknowledged reservations before the crash: test too short"; exit 1; }
psql -X -At -v ON_ERROR_STOP=1 -d $db -v acked="$work/acked" <<'SQL'
CREATE TEMP TABLE acked (reservation_id uuid);
\set cmd '\\copy acked FROM ' :'acked'
:cmd
DO $$
DECLARE
    missing bigint;
    drift bigint;
    oversold bigint;
BEGIN
    SELECT count(*) INTO missing FROM acked a
     WHERE NOT EXISTS (SELECT 1 FROM stockroute.reservation r WHERE r.reservation_id = a.reservation_id);
    SELECT count(*) INTO drift FROM stockroute.stock s
     WHERE s.reserved <> coalesce((SELECT sum(r.qty) FROM stockroute.reservation r
                                    WHERE r.node_id = s.node_id AND r.sku = s.sku
                                      AND r.status IN ('held', 'committed')), 0);
    SELECT count(*) INTO oversold FROM stockroute.stock s WHERE s.on_hand - s.reserved - s.safety_stock < 0;
    RAISE NOTICE 'acknowledged % reservations; after restart: % missing, % drifting stock rows, % oversold',
        (SELECT count(*) FROM acked), missing, drift, oversold;
    IF missing > 0 OR drift > 0 OR oversold > 0 THEN
        RAISE EXCEPTION 'crash recovery lost or corrupted reservations';
    END IF;
END $$;
SQL
dropdb $db
echo "crash_recovery: $acked acknowledged reservations all survived; no drift, no oversell"
