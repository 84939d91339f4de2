#!/usr/bin/env bash
# dump_restore: pg_dump keeps the user's data in every stockroute table, and a
# restore into a fresh database gives the same rows, the same stock.reserved
# and a working extension:
#  1. plain pg_restore with stockroute.restoring on: stock rows come back
#     with reserved = 0, every reservation in the status it was dumped in,
#     and each active one re-adds itself through the triggers (the day's
#     capacity counts, restored before the reservations, are not counted
#     twice); without stockroute.restoring the restore stops at the first
#     reservation that is not held (a new reservation is born held);
#  2. a dump taken during a shortfall (on_hand below reserved) cannot be
#     replayed that way (each re-added hold would oversell), and is restored
#     as an exact copy with session_replication_role = replica, as docs/
#     operations.md says;
#  3. the node mapping (stockroute.node_role, dumped with role names) and a
#     privilege granted after CREATE EXTENSION come back, and every
#     privilege of the extension's functions and tables equals the source's.
# Runs against the server in PG*.
set -euo pipefail
src=stockroute_dump_src
dst=stockroute_dump_dst
dump=$(mktemp)
feed=stockroute_dump_feed
trap 'rm -f "$dump"; dropdb --if-exists $src; dropdb --if-exists $dst; psql -X -q -c "DROP ROLE $feed"' EXIT
dropdb --if-exists $src >/dev/null; dropdb --if-exists $dst >/dev/null
createdb $src
createdb $dst
psql -X -q -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS $feed" -c "CREATE ROLE $feed" >/dev/null
psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d $src <<'SQL'
CREATE EXTENSION stockroute;
-- (roles are cluster-wide; CREATE EXTENSION made stockroute_node if it was missing)
GRANT stockroute_node TO stockroute_dump_feed;
INSERT INTO stockroute.node (node_id, name, lat, lon, country, tags)
VALUES ('A', 'Atlanta', 33.7, -84.4, 'US', '{hazmat}'), ('B', 'Reno', 39.5, -119.8, 'US', '{}');
UPDATE stockroute.node SET daily_order_limit = 10, daily_unit_limit = 100 WHERE node_id = 'A';
INSERT INTO stockroute.item (sku, weight_kg, tags) VALUES ('V-1', 2, '{}'), ('R-5', 20, '{lot_tracked}');
INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock, reorder_point)
VALUES ('A', 'V-1', 50, 2, 10), ('B', 'V-1', 30, 0, 5), ('A', 'R-5', 10, 0, 0);
INSERT INTO stockroute.lot (node_id, sku, lot_code, on_hand, expires_on, attrs)
VALUES ('A', 'R-5', 'L1', 10, '2027-03-01', '{"cert": "ISO"}');
INSERT INTO stockroute.lane (node_id, country, service, base_cost, per_kg, transit_days)
VALUES ('A', 'US', 'ground', 7.5, 0.4, 3);
INSERT INTO stockroute.rule (rule_id, match, effect, priority)
VALUES ('tier1', '{"segment": "tier1"}', '{"require_nodes": ["B"]}', 10);
INSERT INTO stockroute.profile (profile_name, w_cost, w_days) VALUES ('mine', 1, 2);
UPDATE stockroute.profile SET w_days = 3 WHERE profile_name = 'mine';
SELECT stockroute.reserve('SO-1', '1', 'V-1', 'A', 5, idempotency_key => 'k1');
SELECT stockroute.reserve('SO-2', '1', 'V-1', 'B', 7);
SELECT stockroute.reserve('SO-3', '1', 'R-5', 'A', 4, lot_code => 'L1');
SELECT stockroute.reserve('SO-4', '1', 'V-1', 'A', 1);
SELECT stockroute.commit('SO-2');
SELECT stockroute.commit('SO-4');
SELECT stockroute.fulfill('SO-4');
SELECT stockroute.release('SO-1');
SELECT stockroute.reserve('SO-5', '1', 'V-1', 'A', 3);
SELECT stockroute.reserve('SO-7', '1', 'V-1', 'B', 2);
SELECT stockroute.reject('SO-7', 'B', 'damaged');
INSERT INTO stockroute.node_role (grantee, node_id) VALUES ('stockroute_dump_feed', 'A');
-- a privilege changed after CREATE EXTENSION: pg_dump writes it as GRANT
GRANT EXECUTE ON FUNCTION stockroute.available(text, jsonb, jsonb) TO stockroute_dump_feed;
SQL

# every table, every column except the maintenance timestamps the triggers
# set while rows come back
# the user's data: each table's rows under its pg_extension_config_dump
# condition (shipped profiles are re-created by CREATE EXTENSION, not dumped)
fingerprint() {
    psql -X -At -F ' ' -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
WITH cfg AS (
    SELECT u.reloid, u.cond
      FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(reloid, cond)
     WHERE e.extname = 'stockroute')
SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(t::text, %L ORDER BY t::text), %L)) FROM (SELECT %s FROM stockroute.%I %s) t',
              c.relname, '|', '', string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum),
              c.relname, min(cfg.cond))
  FROM pg_class c
  JOIN cfg ON cfg.reloid = c.oid
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relkind = 'r'
   AND NOT (c.relname IN ('stock', 'lot') AND a.attname = 'updated_at')
 GROUP BY c.relname
 ORDER BY c.relname
\gexec
SQL
}
check_round_trip() {   # label, extra pg_restore environment
    local label=$1; shift
    dropdb --if-exists $dst >/dev/null 2>&1; createdb $dst
    pg_dump -Fc -d $src -f "$dump"
    env "$@" pg_restore -d $dst --exit-on-error "$dump"
    fingerprint $src > "$dump.src"
    fingerprint $dst > "$dump.dst"
    if [ "$(wc -l < "$dump.src")" -lt 14 ]; then
        echo "$label: fingerprint is incomplete"; cat "$dump.src"; exit 1
    fi
    if ! diff -u "$dump.src" "$dump.dst"; then
        echo "$label: restored data differs"; rm -f "$dump.src" "$dump.dst"; exit 1
    fi
    echo "$label: all $(wc -l < "$dump.dst") tables identical after restore"
    # every profile version, shipped ones included, is in the history
    [ "$(psql -X -At -d $dst -c "SELECT count(*) FROM stockroute.profile p
          WHERE NOT EXISTS (SELECT 1 FROM stockroute.profile_history h
                             WHERE h.profile_name = p.profile_name AND h.version = p.version)")" = 0 ] \
        || { echo "$label: profile versions missing from profile_history"; exit 1; }
    # privileges: every function's and table's ACL, and the policies, as in the source
    acls $src > "$dump.src"
    acls $dst > "$dump.dst"
    if ! diff -u "$dump.src" "$dump.dst"; then
        echo "$label: privileges differ after restore"; rm -f "$dump.src" "$dump.dst"; exit 1
    fi
    grep -q 'available(text,jsonb,jsonb).*stockroute_dump_feed=X' "$dump.dst" ||
        { echo "$label: a grant made after CREATE EXTENSION was lost"; exit 1; }
    rm -f "$dump.src" "$dump.dst"
}
acls() {
    psql -X -At -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT p.oid::regprocedure::text || ' ' || coalesce(p.proacl::text, '-') FROM pg_proc p
 WHERE p.pronamespace = 'stockroute'::regnamespace
UNION ALL
SELECT c.relname || ' ' || coalesce(c.relacl::text, '-') || ' rls=' || c.relrowsecurity FROM pg_class c
 WHERE c.relnamespace = 'stockroute'::regnamespace
UNION ALL
SELECT 'policy ' || tablename || ' ' || policyname || ' ' || qual FROM pg_policies WHERE schemaname = 'stockroute'
ORDER BY 1;
SQL
}

# a restore that does not say it is one: committed, fulfilled, released and
# expired reservations are refused like any insert of them
dropdb --if-exists $dst >/dev/null 2>&1; createdb $dst
pg_dump -Fc -d $src -f "$dump"
if pg_restore -d $dst --exit-on-error "$dump" 2> "$dump.err"; then
    echo "a restore without stockroute.restoring took reservations that are not held"; exit 1
fi
grep -q 'cannot be committed\|cannot be fulfilled\|cannot be released' "$dump.err" && grep -q 'stockroute.restoring' "$dump.err" ||
    { echo "a restore without stockroute.restoring failed otherwise:"; cat "$dump.err"; exit 1; }
echo "restore without stockroute.restoring refused: $(grep -o 'a new reservation of order "[^"]*" cannot be [a-z]*' "$dump.err")"
rm -f "$dump.err"

check_round_trip "plain pg_restore" PGOPTIONS='-c stockroute.restoring=on'

# the restored database keeps working and keeps its invariants
psql -X -At -v ON_ERROR_STOP=1 -d $dst <<'SQL'
SELECT stockroute.reserve('SO-6', '1', 'V-1', 'A', 2) ->> 'status';
SELECT stockroute.reserve('SO-1', '1', 'V-1', 'A', 5, idempotency_key => 'k1') ->> 'idempotent_replay';
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM stockroute.stock s
                WHERE s.reserved <> coalesce((SELECT sum(r.qty) FROM stockroute.reservation r
                                               WHERE r.node_id = s.node_id AND r.sku = s.sku
                                                 AND r.status IN ('held', 'committed')), 0)) THEN
        RAISE EXCEPTION 'drift after restore';
    END IF;
    IF (SELECT count(*) FROM stockroute.profile) <> 5 THEN
        RAISE EXCEPTION 'profiles after restore: %', (SELECT count(*) FROM stockroute.profile);
    END IF;
END $$;
SQL
echo "restored database reserves, replays and holds invariant 2"

# a shortfall at dump time: restore as an exact copy with triggers off
psql -X -q -v ON_ERROR_STOP=1 -d $src -c \
    "UPDATE stockroute.stock SET on_hand = 5 WHERE node_id = 'B' AND sku = 'V-1'"
check_round_trip "shortfall, replica-role restore" PGOPTIONS='-c session_replication_role=replica'
