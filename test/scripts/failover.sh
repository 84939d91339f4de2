#!/usr/bin/env bash
# failover: stockroute under synchronous streaming replication with automatic
# failover (pg_auto_failover) loses no acknowledged allocation and never
# reserves an order twice.
#
# Builds a pg_auto_failover monitor, a primary and a synchronous hot standby
# on this machine, loads a small network and proves that
#  1. plan(), explain(), available(), simulate() and replay() run on the
#     standby and give the primary's answers; allocate(), reserve(), ingest()
#     and reconcile() are refused there (25006);
#  2. with concurrent allocate() clients running, SIGKILL of the primary's
#     processes (pg_autoctl keeper and postmaster) while allocations are
#     committed on it but not yet acknowledged, the standby is promoted, and
#     every allocation a client got an answer for is on the new primary with
#     the reservations the client was told;
#  3. the clients reconnect through the multi-host URI (target_session_attrs
#     = read-write) and retry each unanswered order with the same order_ref
#     and document: every order then has exactly one allocate() decision and
#     its reservations equal its plan, whether the order had reached the
#     standby before the crash or not; sending every order once more returns
#     the first answer unchanged;
#  4. invariant 2 holds and no stock row is oversold on the new primary;
#  5. the old primary, restarted, rejoins as a standby holding exactly the new
#     primary's reservations, synchronous replication is back on, and the
#     read-only functions there give the new primary's answers.
#
# pg_autoctl refuses to run as root: when run as root the nodes run as the
# postgres user (any other user runs them as itself).  Everything lives in one
# temporary directory (data, configuration, sockets, logs) and every process
# the script started is stopped on any exit.  The nodes take three free ports
# of STOCKROUTE_HA_PORTS (default 5460-5599, the range scripts/cluster.sh
# uses, searched from its top).  The extension is loaded from
# STOCKROUTE_STAGE when set (a `make install DESTDIR=` directory), else from
# the system installation.
set -euo pipefail

pg_config_bin=${PG_CONFIG:-pg_config}
# nothing of the caller's libpq settings (make test's throwaway cluster)
for v in $(compgen -e); do
    case $v in PG[A-Z]*) unset "$v" ;; esac
done

say() { echo "failover: $*"; }

command -v pg_autoctl >/dev/null ||
    { say "pg_autoctl not found: install postgresql-15-auto-failover (scripts/install-deps.sh)"; exit 1; }
bindir=$("$pg_config_bin" --bindir)
pkglibdir=$("$pg_config_bin" --pkglibdir)
stage=${STOCKROUTE_STAGE:-}

if [ "$(id -u)" -eq 0 ]; then
    node_user=postgres
    id -u postgres >/dev/null 2>&1 || { say "running as root needs a postgres user to run the nodes"; exit 1; }
else
    node_user=$(id -un)
fi

if [ -n "$stage" ] && ! [ -r "$stage$pkglibdir/stockroute.so" ]; then
    say "STOCKROUTE_STAGE=$stage has no $pkglibdir/stockroute.so"; exit 1
fi

# --- cleanup ----------------------------------------------------------------
alive() {   # a process that is neither gone nor a zombie
    local s
    s=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $s != Z* ]]
}
release_ports() {
    local p
    for p in "${ports[@]}"; do rm -f "/tmp/stockroute-ha-port.$p"; done
}
declare -A keeper=()   # node name -> pid of its `pg_autoctl run` (its own session)
client_pids=()
walreceiver=""
cleanup() {
    local rc=$? name pid p deadline
    set +e
    touch "$work/stop"
    [ -n "$walreceiver" ] && kill -CONT "$walreceiver" 2>/dev/null
    for pid in "${client_pids[@]}"; do
        kill $(ps -o pid= --ppid "$pid") "$pid" 2>/dev/null
    done
    # a keeper stops its postgres on SIGTERM; whatever is left gets SIGKILL
    for name in "${!keeper[@]}"; do
        kill -TERM "${keeper[$name]}" 2>/dev/null
    done
    deadline=$((SECONDS + 15))
    for name in "${!keeper[@]}"; do
        while alive "${keeper[$name]}" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
        kill -KILL -- "-${keeper[$name]}" 2>/dev/null
    done
    # any process still working in the directory (a backend of a killed
    # postmaster, a postmaster whose keeper died) is ours: stop it
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        p=""
        for pid in /proc/[0-9]*; do
            case $(readlink "$pid/cwd" 2>/dev/null) in
                "$work"/*) p="$p ${pid#/proc/}" ;;
            esac
        done
        [ -z "$p" ] && break
        kill -KILL $p 2>/dev/null
        sleep 0.3
    done
    wait 2>/dev/null
    rm -rf "$work"
    release_ports
    exit $rc
}
ports=()
work=$(mktemp -d /tmp/stockroute-ha.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT TERM
chmod 755 "$work"
mkdir -p "$work/config" "$work/share" "$work/run" "$work/sock" "$work/data" "$work/clients"
chmod 700 "$work/run"
[ "$node_user" = "$(id -un)" ] || chown -R "$node_user" "$work"

# pg_autoctl keeps its configuration and state under the XDG directories and
# puts the nodes' sockets in PG_REGRESS_SOCK_DIR: all of it inside $work
node_env=(env -i HOME="$work" USER="$node_user" LOGNAME="$node_user" PATH="$bindir:/usr/bin:/bin"
          LC_ALL=C.UTF-8 XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/share"
          XDG_RUNTIME_DIR="$work/run" PG_REGRESS_SOCK_DIR="$work/sock" PGHOST="$work/sock")
as_node=("${node_env[@]}")
[ "$node_user" = "$(id -un)" ] ||
    as_node=(setpriv --reuid="$node_user" --regid="$node_user" --init-groups "${node_env[@]}")

# --- ports ------------------------------------------------------------------
range=${STOCKROUTE_HA_PORTS:-5460-5599}
lo=${range%-*}
hi=${range#*-}
port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null &&
        [ ! -e "/var/run/postgresql/.s.PGSQL.$1" ] && [ ! -e "/tmp/.s.PGSQL.$1" ]
}
# A node binds its port seconds after the port was found free, so concurrent
# runs of this script claim their ports with a file naming the claiming
# process; a claim whose process is gone is taken over.
claim() {
    local f=/tmp/stockroute-ha-port.$1 owner
    if ! (set -o noclobber; echo $$ > "$f") 2>/dev/null; then
        owner=$(cat "$f" 2>/dev/null) || return 1
        [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null && return 1
        rm -f "$f" && (set -o noclobber; echo $$ > "$f") 2>/dev/null || return 1
    fi
}
for ((p = hi; p >= lo && ${#ports[@]} < 3; p--)); do
    if port_free $p && claim $p; then ports+=($p); fi
done
[ ${#ports[@]} -eq 3 ] || { say "fewer than 3 free ports in $range"; exit 1; }
pm=${ports[0]}
p1=${ports[1]}
p2=${ports[2]}
uri="postgresql://127.0.0.1:$p1,127.0.0.1:$p2/postgres?user=postgres&target_session_attrs=read-write&connect_timeout=3"
monitor_uri="postgres://autoctl_node@127.0.0.1:$pm/pg_auto_failover?sslmode=disable"

# --- helpers ----------------------------------------------------------------
q() {   # q PORT PSQL-ARGS...: psql on a node's postgres database, as postgres over TCP
    local port=$1
    shift
    timeout 30 "$bindir/psql" -X -At -v ON_ERROR_STOP=1 -d "host=127.0.0.1 port=$port user=postgres dbname=postgres connect_timeout=3" "$@"
}
monitor() {   # monitor PSQL-ARGS...: psql on the monitor
    timeout 30 "$bindir/psql" -X -At -v ON_ERROR_STOP=1 -d "host=127.0.0.1 port=$pm user=autoctl_node dbname=pg_auto_failover connect_timeout=3" "$@"
}
states() {   # "n1:primary/primary n2:secondary/secondary": reported/assigned state of each node
    monitor -c "SELECT string_agg(nodename || ':' || reportedstate || '/' || goalstate, ' ' ORDER BY nodeid)
                  FROM pgautofailover.node" 2>/dev/null || true
}
fail() {
    say "FAILED: $*"
    say "node states: $(states)"
    local f
    for f in "$work"/*.log "$work"/clients/*.err; do
        [ -s "$f" ] || continue
        echo "--- last lines of ${f#$work/}"
        case $f in *.err) tail -n 4 "$f" ;; *) tail -n 25 "$f" ;; esac
    done
    exit 1
}
wait_until() {   # wait_until SECONDS WHAT COMMAND...: poll until COMMAND succeeds
    local limit=$1 what=$2 deadline=$((SECONDS + $1))
    shift 2
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || fail "timed out after ${limit}s waiting for $what"
        sleep 0.3
    done
}
state_is() { [[ " $(states) " == *" $1 "* ]]; }
both() { state_is "$1" && state_is "$2"; }

start_node() {   # start_node NAME: `pg_autoctl run` in a session of its own
    local name=$1
    "${as_node[@]}" setsid pg_autoctl run --pgdata "$work/data/$name" >> "$work/$name.log" 2>&1 < /dev/null &
    keeper[$name]=$!
    disown $!   # killed on purpose: no job report
}
configure() {   # configure NAME SETTINGS: settings after pg_autoctl's own
    local conf="$work/data/$1/postgresql.conf"
    grep -q '^# stockroute failover test' "$conf" && return
    { echo '# stockroute failover test'; echo "$2"; } >> "$conf"
}
node_settings="shared_buffers = '64MB'
effective_cache_size = '512MB'
maintenance_work_mem = '64MB'"
if [ -n "$stage" ]; then
    node_settings="$node_settings
extension_destdir = '$stage'
dynamic_library_path = '$stage$pkglibdir:\$libdir'"
fi

# --- the formation ----------------------------------------------------------
t0=$SECONDS
say "ports: monitor $pm, n1 $p1, n2 $p2; data in $work"
"${as_node[@]}" pg_autoctl create monitor --pgdata "$work/data/monitor" --pgport $pm --hostname 127.0.0.1 \
    --auth trust --no-ssl --pgctl "$bindir/pg_ctl" > "$work/monitor.log" 2>&1 ||
    fail "pg_autoctl create monitor"
"${as_node[@]}" pg_autoctl config set --pgdata "$work/data/monitor" postgresql.listen_addresses 127.0.0.1 \
    >> "$work/monitor.log" 2>&1 || fail "pg_autoctl config set (monitor)"
# failure detection in seconds rather than the default half minute
configure monitor "shared_buffers = '32MB'
pgautofailover.health_check_period = '1s'
pgautofailover.health_check_timeout = '2s'
pgautofailover.health_check_max_retries = 1
pgautofailover.health_check_retry_delay = '500ms'
pgautofailover.node_considered_unhealthy_timeout = '3s'
pgautofailover.primary_demote_timeout = '3s'
pgautofailover.startup_grace_period = '1s'"
start_node monitor
wait_until 30 "the monitor" monitor -c 'SELECT 1'

create_node() {   # create_node NAME PORT
    "${as_node[@]}" pg_autoctl create postgres --pgdata "$work/data/$1" --pgport $2 --listen 127.0.0.1 \
        --hostname 127.0.0.1 --name $1 --auth trust --no-ssl --pgctl "$bindir/pg_ctl" \
        --monitor "$monitor_uri" >> "$work/$1.log" 2>&1 || fail "pg_autoctl create postgres $1"
    configure $1 "$node_settings"
    start_node $1
}
create_node n1 $p1
wait_until 30 "n1 to run as a single node" state_is n1:single/single
create_node n2 $p2   # a base backup of n1
wait_until 60 "n1 primary and n2 its synchronous standby" both n1:primary/primary n2:secondary/secondary
say "formation up in $((SECONDS - t0))s: $(states); synchronous_standby_names = $(q $p1 -c 'SHOW synchronous_standby_names')"

# --- a small network ----------------------------------------------------------
q $p1 -q <<'SQL' || fail "loading the network on n1"
CREATE EXTENSION stockroute;
INSERT INTO stockroute.node (node_id, lat, lon, country)
SELECT 'N' || i, 30 + 2 * i, -80 - 3 * i, 'US' FROM generate_series(1, 4) i;
INSERT INTO stockroute.item (sku) SELECT 'S' || i FROM generate_series(1, 5) i;
-- S5 is scarce (once it runs out, orders for it are partial), S1 keeps a safety stock
INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock)
SELECT 'N' || n, 'S' || s, CASE WHEN s = 5 THEN 6 ELSE 150 END, CASE WHEN s = 1 THEN 10 ELSE 0 END
  FROM generate_series(1, 4) n, generate_series(1, 5) s;
SQL
caught_up() {   # caught_up STANDBY_PORT PRIMARY_PORT: the standby replayed all the primary wrote
    local lsn
    lsn=$(q $2 -c 'SELECT pg_current_wal_lsn()') &&
        [ "$(q $1 -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ]
}

# The read-only functions, one document per node, compared as text (jsonb
# prints keys in one order) without the timings; replay() re-routes the
# allocate() decisions recorded so far (none before the failover).
reads() {   # reads PORT
    q $1 -q <<'SQL'
SET stockroute.now = '2026-11-20 15:00:00+00';
SET stockroute.explain_timing = off;
SET TimeZone = 'UTC';
WITH p AS (
  SELECT stockroute.plan('{"order_ref": "Q-1", "ship_to": {"lat": 33.7, "lon": -84.4, "country": "US"},
                           "lines": [{"line_ref": "1", "sku": "S1", "qty": 5},
                                     {"line_ref": "2", "sku": "S5", "qty": 4}]}') AS plan)
SELECT pg_catalog.jsonb_build_object(
  'plan', plan #- '{explain,solver,micros}',
  'explain', stockroute.explain(plan),
  'available', stockroute.available('S5', '{"lat": 33.7, "lon": -84.4, "country": "US"}'),
  'simulate', stockroute.simulate('[
      {"order_ref": "Q-2", "ship_to": {"lat": 40.7, "lon": -74.0, "country": "US"},
       "lines": [{"line_ref": "1", "sku": "S2", "qty": 7}]},
      {"order_ref": "Q-3", "ship_to": {"lat": 41.9, "lon": -87.6, "country": "US"},
       "lines": [{"line_ref": "1", "sku": "S5", "qty": 30}]}]') - 'micros',
  'replay', stockroute.replay('2000-01-01', '2100-01-01') - 'micros' #- '{recorded,micros}' #- '{replayed,micros}')
  FROM p;
SQL
}
same_reads() {   # same_reads STANDBY PRIMARY WHEN
    local on_standby on_primary
    [ "$(q $1 -c 'SELECT pg_is_in_recovery()')" = t ] || fail "port $1 is not a standby ($3)"
    on_standby=$(reads $1) || fail "plan/explain/available/simulate/replay on the standby ($3)"
    on_primary=$(reads $2) || fail "plan/explain/available/simulate/replay on the primary ($3)"
    [ "$on_standby" = "$on_primary" ] ||
        fail "the standby answers differently from the primary ($3):
standby: $on_standby
primary: $on_primary"
    [[ $on_standby == *'"shipments": ['* && $on_standby == *'"sku": "S5"'* &&
       $on_standby == *'"orders": 2'* && $on_standby == *'"decisions": '* ]] ||
        fail "unexpected reads ($3): $on_standby"
}
wait_until 30 "n2 to replay the network" caught_up $p2 $p1
same_reads $p2 $p1 "before the failover"
# the writers are refused there as in any read-only transaction
q $p2 -q <<'SQL' || fail "a writer on the standby was not refused with 25006"
DO $$
DECLARE
    call text;
    state text;
BEGIN
    FOREACH call IN ARRAY ARRAY[
        $c$SELECT stockroute.allocate('{"order_ref": "W-1", "ship_to": {"lat": 33.7, "lon": -84.4, "country": "US"},
                                      "lines": [{"line_ref": "1", "sku": "S1", "qty": 1}]}')$c$,
        $c$SELECT stockroute.reserve('W-2', '1', 'S1', 'N1', 1)$c$,
        $c$SELECT stockroute.ingest('[{"node_id": "N1", "idempotency_key": "w-3", "kind": "receipt",
                                      "sku": "S1", "qty": 1, "occurred_at": "2026-11-20T10:00:00Z"}]')$c$,
        $c$SELECT stockroute.reconcile()$c$]
    LOOP
        BEGIN
            EXECUTE call;
            state := 'no error';
        EXCEPTION WHEN OTHERS THEN
            state := SQLSTATE || ' ' || SQLERRM;
        END;
        IF state NOT LIKE '25006 %' THEN
            RAISE EXCEPTION 'on a standby, % gave %', call, state;
        END IF;
    END LOOP;
END $$;
SQL
say "standby n2 answers plan, explain, available, simulate and replay as the primary does; allocate, reserve, ingest and reconcile are refused there (25006)"

# --- concurrent allocate() clients ------------------------------------------
# Each client sends orders one after the other through the multi-host URI.
# An order counts as answered only when psql exits 0 after printing the
# allocation; any failure (lost connection, no writable node yet) is retried
# with the same order_ref and document until answered or 60 s have passed.
# clients/answers.C: order_ref, port that answered, attempts, order, answer.
client() {
    local c=$1 i=0 ref doc out attempts deadline s
    local -a lat=(33.7 35.2 40.7 41.9 29.8) lon=(-84.4 -80.8 -74.0 -87.6 -95.4)
    while [ ! -e "$work/stop" ]; do
        i=$((i + 1))
        ref="HA-$c-$i"
        s=$((RANDOM % 5 + 1))
        doc="{\"order_ref\": \"$ref\", \"ship_to\": {\"lat\": ${lat[RANDOM % 5]}, \"lon\": ${lon[RANDOM % 5]}, \"country\": \"US\"}, \"lines\": [{\"line_ref\": \"1\", \"sku\": \"S$s\", \"qty\": $((RANDOM % 3 + 1))}, {\"line_ref\": \"2\", \"sku\": \"S$((s % 5 + 1))\", \"qty\": 1}]}"
        attempts=0
        deadline=$((SECONDS + 60))
        while :; do
            attempts=$((attempts + 1))
            if out=$(timeout 20 "$bindir/psql" -X -At -F $'\t' -v ON_ERROR_STOP=1 -d "$uri" -v doc="$doc" \
                         2>> "$work/clients/$c.err" <<< "SELECT pg_catalog.inet_server_port(), stockroute.allocate(:'doc')") &&
                    [ -n "$out" ]; then
                printf '%s\t%s\t%s\t%s\t%s\n' "$ref" "${out%%$'\t'*}" "$attempts" "$doc" "${out#*$'\t'}" \
                    >> "$work/clients/answers.$c"
                break
            fi
            if [ $SECONDS -ge $deadline ]; then
                echo "$ref" >> "$work/clients/unanswered"
                return
            fi
            sleep 0.3
        done
    done
}
answered_by() {   # answered_by PORT MIN: at least MIN orders answered by the node on PORT
    [ "$(cat "$work"/clients/answers.* 2>/dev/null | awk -F'\t' -v p=$1 '$2 == p' | wc -l)" -ge $2 ]
}
for c in 1 2 3 4; do
    client $c &
    client_pids+=($!)
done
wait_until 60 "40 allocations answered by n1" answered_by $p1 40

# --- the crash --------------------------------------------------------------
# Hold the standby's WAL receiver so that the allocations now committing on n1
# wait for its acknowledgement (synchronous_commit = on): when n1 dies they
# are committed there and unanswered, which is the case synchronous
# replication exists for.  The receiver resumes after the kill and may still
# write what n1 had sent it: such orders survive, the others are lost, and the
# clients' retries must come out right either way.
state_is n1:primary/primary && [ -n "$(q $p1 -c 'SHOW synchronous_standby_names')" ] ||
    fail "n1 was not a synchronous primary before the kill"
walreceiver=$(q $p2 -c 'SELECT pid FROM pg_stat_wal_receiver') && [ -n "$walreceiver" ] ||
    fail "no WAL receiver on n2"
kill -STOP "$walreceiver"
syncrep_waiters() {   # syncrep_waiters N: at least N commits on n1 wait for the standby
    [ "$(q $p1 -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'")" -ge $1 ]
}
allocating() {   # allocating N: at least N allocate() calls in progress on n1
    [ "$(q $p1 -c "SELECT count(*) FROM pg_stat_activity
                    WHERE state = 'active' AND query LIKE '%stockroute.allocate%' AND pid <> pg_backend_pid()")" -ge $1 ]
}
wait_until 30 "an allocation on n1 to wait for the standby" syncrep_waiters 1
# give every client a moment to have its allocation under way too (the others
# wait for the committed ones' row locks, held until the standby answers)
for _ in 1 2 3 4 5 6 7 8 9 10; do allocating 4 && break; sleep 0.2; done
waiting=$(q $p1 -c "SELECT count(*) FILTER (WHERE wait_event = 'SyncRep'),
                           count(*) FILTER (WHERE wait_event IS DISTINCT FROM 'SyncRep')
                      FROM pg_stat_activity
                     WHERE state = 'active' AND query LIKE '%stockroute.allocate%' AND pid <> pg_backend_pid()")
postmaster=$(head -1 "$work/data/n1/postmaster.pid")
kill_epoch=$(date +%s.%N)
kill -KILL -- "-${keeper[n1]}" "$postmaster"
kill -CONT "$walreceiver"
walreceiver=""
t_kill=$SECONDS
say "killed n1 (keeper session ${keeper[n1]}, postmaster $postmaster) with ${waiting%%|*} allocation(s) committed there and waiting for the standby, ${waiting#*|} more under way"
unset 'keeper[n1]'

promoted() { state_is n2:wait_primary/wait_primary || state_is n2:primary/primary; }
wait_until 60 "n2 to be promoted" promoted
say "n2 promoted $((SECONDS - t_kill))s after the kill: $(states)"
wait_until 60 "20 allocations answered by n2" answered_by $p2 20
touch "$work/stop"
for pid in "${client_pids[@]}"; do wait "$pid" || true; done
client_pids=()
[ ! -s "$work/clients/unanswered" ] ||
    fail "orders never answered within 60 s: $(tr '\n' ' ' < "$work/clients/unanswered")"
cat "$work"/clients/answers.* > "$work/answers"

# --- what the new primary holds -----------------------------------------------
verify() {   # verify PORT: the checks of points 2-4 on the node now primary
    q $1 -q -v answers="$work/answers" -v old_port=$p1 -v kill_epoch="$kill_epoch" <<'SQL'
CREATE TEMP TABLE answer (order_ref text PRIMARY KEY, port int, attempts int, doc jsonb, result jsonb);
-- CSV with a quote character that never occurs: tabs split, backslashes stay
\set cmd '\\copy answer FROM ' :'answers' ' WITH (FORMAT csv, DELIMITER E''\\t'', QUOTE E''\\x01'')'
:cmd
SET failover.old_port = :'old_port';
SET failover.kill_epoch = :'kill_epoch';
DO $$
DECLARE
    old_port int := current_setting('failover.old_port')::int;
    kill_epoch numeric := current_setting('failover.kill_epoch')::numeric;
    answers bigint;
    statuses text;
    by_old bigint;
    retried bigint;
    survived bigint;
    missing bigint;
    extra bigint;
    unplanned bigint;
    replays bigint;
    decisions bigint;
    drift bigint;
    oversold bigint;
BEGIN
    SELECT count(*), count(*) FILTER (WHERE port = old_port), count(*) FILTER (WHERE attempts > 1)
      INTO answers, by_old, retried FROM answer;
    SELECT string_agg(n || ' ' || status, ', ' ORDER BY status) INTO statuses
      FROM (SELECT result ->> 'status' AS status, count(*) AS n FROM answer GROUP BY 1) s;
    -- every reservation a client was told of is here, as it was told
    SELECT count(*) INTO missing
      FROM answer a, jsonb_array_elements(a.result -> 'reservations') t
     WHERE NOT EXISTS (
           SELECT 1 FROM stockroute.reservation r
            WHERE r.reservation_id = (t ->> 'reservation_id')::uuid AND r.order_ref = a.order_ref
              AND r.line_ref = t ->> 'line_ref' AND r.sku = t ->> 'sku' AND r.node_id = t ->> 'node_id'
              AND r.qty = (t ->> 'qty')::bigint AND r.status = 'held');
    -- nothing else is reserved (no order allocated twice, no order nobody was told of)
    SELECT count(*) INTO extra
      FROM stockroute.reservation r
     WHERE NOT EXISTS (
           SELECT 1 FROM answer a, jsonb_array_elements(a.result -> 'reservations') t
            WHERE a.order_ref = r.order_ref AND (t ->> 'reservation_id')::uuid = r.reservation_id);
    -- each answer reserves its plan: per line, node and SKU, the units shipped
    SELECT count(*) INTO unplanned FROM answer a
     WHERE (SELECT coalesce(jsonb_agg(x ORDER BY x), '[]') FROM (
              SELECT jsonb_build_array(l ->> 'line_ref', s ->> 'node_id', l ->> 'sku', sum((l ->> 'qty')::bigint)) x
                FROM jsonb_array_elements(a.result -> 'shipments') s, jsonb_array_elements(s -> 'lines') l
               GROUP BY l ->> 'line_ref', s ->> 'node_id', l ->> 'sku') p)
        <> (SELECT coalesce(jsonb_agg(x ORDER BY x), '[]') FROM (
              SELECT jsonb_build_array(t ->> 'line_ref', t ->> 'node_id', t ->> 'sku', sum((t ->> 'qty')::bigint)) x
                FROM jsonb_array_elements(a.result -> 'reservations') t
               GROUP BY t ->> 'line_ref', t ->> 'node_id', t ->> 'sku') r);
    -- retried orders whose first allocation had reached the standby before the crash
    SELECT count(*) INTO survived FROM answer a JOIN stockroute.decision d
        ON d.order_ref = a.order_ref AND d.kind = 'allocate'
     WHERE a.attempts > 1 AND extract(epoch FROM d.created_at) < kill_epoch;
    -- every order sent once more returns the first answer
    SELECT count(*) INTO replays FROM answer a WHERE stockroute.allocate(a.doc) <> a.result;
    -- and then there is still exactly one allocate() decision per order, and none for others
    SELECT count(*) INTO decisions
      FROM (SELECT order_ref FROM answer UNION SELECT order_ref FROM stockroute.decision) o
     WHERE (SELECT count(*) FROM stockroute.decision d WHERE d.order_ref = o.order_ref AND d.kind = 'allocate')
           <> CASE WHEN EXISTS (SELECT 1 FROM answer a WHERE a.order_ref = o.order_ref) THEN 1 ELSE 0 END;
    -- invariant 2, and no stock row promised beyond what it may give
    SELECT count(*) INTO drift FROM stockroute.stock s
     WHERE s.reserved <> coalesce((SELECT sum(r.qty) FROM stockroute.reservation r
                                    WHERE r.node_id = s.node_id AND r.sku = s.sku
                                      AND r.status IN ('held', 'committed')), 0);
    SELECT count(*) INTO oversold FROM stockroute.stock s WHERE s.on_hand - s.reserved - s.safety_stock < 0;
    RAISE NOTICE 'orders: % answered (%), % by the old primary; % retried after the crash (% had reached the standby, the retry returned that allocation; % were allocated by the retry)',
        answers, statuses, by_old, retried, survived, retried - survived;
    RAISE NOTICE 'on the new primary: % told reservations missing, % reservations nobody was told of, % answers that differ from their plan, % answers that differ when the order is sent again, % orders without exactly one decision, % drifting stock rows, % oversold',
        missing, extra, unplanned, replays, decisions, drift, oversold;
    IF by_old = 0 OR retried = 0 THEN
        RAISE EXCEPTION 'the crash did not fall between answered and unanswered allocations';
    END IF;
    IF missing > 0 OR extra > 0 OR unplanned > 0 OR replays > 0 OR decisions > 0 OR drift > 0 OR oversold > 0 THEN
        RAISE EXCEPTION 'allocations were lost, duplicated or broke an invariant across the failover';
    END IF;
END $$;
SQL
}
verify $p2 2>&1 | sed 's/^\(psql:[^ ]* \)\{0,1\}NOTICE: */failover: /' || fail "verification on the new primary"

# --- the old primary rejoins ------------------------------------------------
t_rejoin=$SECONDS
start_node n1
wait_until 90 "n1 to rejoin as a standby" both n1:secondary/secondary n2:primary/primary
say "n1 rejoined as a standby in $((SECONDS - t_rejoin))s: $(states)"
[ -n "$(q $p2 -c 'SHOW synchronous_standby_names')" ] &&
    [ "$(q $p2 -c "SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')")" -ge 1 ] ||
    fail "synchronous replication is not back on n2 after n1 rejoined"
wait_until 30 "n1 to replay n2's WAL" caught_up $p1 $p2
checksum="SELECT md5(coalesce(string_agg(reservation_id::text || order_ref || line_ref || sku || node_id || qty || status,
                 ',' ORDER BY reservation_id), '')) FROM stockroute.reservation"
[ "$(q $p1 -c "$checksum")" = "$(q $p2 -c "$checksum")" ] ||
    fail "the rejoined standby n1 holds other reservations than the new primary n2"
same_reads $p1 $p2 "after the failover"
say "n1 holds the new primary's reservations and answers plan, explain, available, simulate and replay as it does"
say "passed in $((SECONDS - t0))s"
