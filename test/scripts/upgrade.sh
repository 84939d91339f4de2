#!/usr/bin/env bash
# upgrade: ALTER EXTENSION stockroute UPDATE from the first released version
# (0.1.0, frozen in sql/stockroute--0.1.0.sql) to the current one
#  1. keeps the data a 0.1.0 installation holds (master data, profiles and
#     their history, rules, active reservations with stock.reserved equal to
#     their sum) and leaves a working extension (plan, allocate, reserve);
#  2. gives exactly the schema of a fresh install of the current version:
#     every table column, constraint, index, function (with its body, flags
#     and privileges), trigger, view, type, policy, comment, extension member
#     and pg_dump configuration, compared catalog by catalog.
# Runs against the server in PG*.
set -euo pipefail
old=stockroute_upgrade_old
new=stockroute_upgrade_new
first=0.1.0
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists $old >/dev/null 2>&1; dropdb --if-exists $new >/dev/null 2>&1' EXIT
dropdb --if-exists $old >/dev/null 2>&1; dropdb --if-exists $new >/dev/null 2>&1
createdb $old
createdb $new
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

current=$(q -At -d $new -c "SELECT default_version FROM pg_catalog.pg_available_extensions WHERE name = 'stockroute'")
if [ "$current" = "$first" ]; then
    echo "current version is the first release ($first): nothing to update"
    exit 0
fi

# 1. a 0.1.0 installation with data in it
q -o /dev/null -d $old <<SQL
CREATE EXTENSION stockroute VERSION '$first';
INSERT INTO stockroute.node (node_id, name, lat, lon, country, region, tags)
VALUES ('A', 'Atlanta', 33.7, -84.4, 'US', 'GA', '{hazmat}'),
       ('B', 'Reno', 39.5, -119.8, 'US', 'NV', '{bonded}');
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
SELECT stockroute.commit('SO-2');
SELECT stockroute.allocate('{"order_ref": "SO-9", "ship_to": {"lat": 34, "lon": -84, "country": "US"},
                             "lines": [{"line_ref": "1", "sku": "V-1", "qty": 3}]}');
SQL

snapshot() {   # the rows the update must keep
    q -At -d $old <<'SQL'
SELECT 'node', node_id, name, tags::text FROM stockroute.node ORDER BY node_id;
SELECT 'stock', node_id, sku, on_hand, reserved, safety_stock FROM stockroute.stock ORDER BY 2, 3;
SELECT 'lot', node_id, sku, lot_code, on_hand, reserved FROM stockroute.lot ORDER BY 2, 3, 4;
SELECT 'reservation', order_ref, line_ref, sku, node_id, coalesce(lot_code, '-'), qty, status
  FROM stockroute.reservation ORDER BY 2, 3, 5;
SELECT 'profile', profile_name, version, w_days FROM stockroute.profile ORDER BY 2;
SELECT 'history', profile_name, version FROM stockroute.profile_history ORDER BY 2, 3;
SELECT 'rule', rule_id, effect::text FROM stockroute.rule ORDER BY 2;
SELECT 'decision', order_ref, kind FROM stockroute.decision ORDER BY 2;
SQL
}
snapshot > "$work/before"

q -d $old -c "ALTER EXTENSION stockroute UPDATE"
got=$(q -At -d $old -c "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'stockroute'")
if [ "$got" != "$current" ]; then
    echo "FAIL: after ALTER EXTENSION UPDATE the version is $got, want $current"
    exit 1
fi
snapshot > "$work/after"
if ! diff -u "$work/before" "$work/after"; then
    echo "FAIL: the update changed the data above"
    exit 1
fi

# invariant 2 still holds and the updated extension works
q -At -d $old > "$work/works" <<'SQL'
SELECT count(*) FROM stockroute.stock s
 WHERE s.reserved <> (SELECT coalesce(sum(r.qty), 0) FROM stockroute.reservation r
                       WHERE r.node_id = s.node_id AND r.sku = s.sku
                         AND r.status IN ('held', 'committed'));
SELECT stockroute.allocate('{"order_ref": "SO-10", "ship_to": {"lat": 34, "lon": -84, "country": "US"},
                             "lines": [{"line_ref": "1", "sku": "V-1", "qty": 2}]}')->>'status';
SELECT stockroute.release('SO-1')::text <> '';
SELECT reserved FROM stockroute.stock WHERE node_id = 'A' AND sku = 'V-1';
SQL
want=$'0\ncomplete\nt'
if [ "$(head -3 "$work/works")" != "$want" ]; then
    echo "FAIL: the updated extension does not work as expected:"; cat "$work/works"
    exit 1
fi

# 2. the updated schema equals a fresh install
q -d $new -c "CREATE EXTENSION stockroute" >/dev/null
fingerprint() {
    q -At -d "$1" <<'SQL'
WITH ext AS (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'stockroute'),
     ns AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'stockroute')
SELECT line FROM (
  -- relations, their kind and options
  SELECT format('rel %s kind=%s rls=%s force=%s opts=%s acl=%s', c.relname, c.relkind,
                c.relrowsecurity, c.relforcerowsecurity, c.reloptions, c.relacl) AS line
    FROM pg_catalog.pg_class c WHERE c.relnamespace = (SELECT oid FROM ns)
  UNION ALL   -- columns (by name: an added column may sit elsewhere in attnum order)
  SELECT format('col %s.%s %s notnull=%s default=%s generated=%s identity=%s acl=%s comment=%s',
                c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attgenerated, a.attidentity, a.attacl,
                pg_catalog.col_description(c.oid, a.attnum))
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
   WHERE c.relnamespace = (SELECT oid FROM ns)
  UNION ALL   -- constraints
  SELECT format('con %s %s %s', c.relname, k.conname, pg_catalog.pg_get_constraintdef(k.oid))
    FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
   WHERE k.connamespace = (SELECT oid FROM ns)
  UNION ALL   -- indexes
  SELECT format('idx %s', pg_catalog.pg_get_indexdef(i.indexrelid))
    FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
   WHERE c.relnamespace = (SELECT oid FROM ns)
  UNION ALL   -- functions, aggregates, procedures: definition, flags, privileges
  SELECT format('fn %s(%s) kind=%s acl=%s def=%s', p.proname,
                pg_catalog.pg_get_function_identity_arguments(p.oid), p.prokind, p.proacl,
                CASE WHEN p.prokind = 'a' THEN
                     (SELECT format('%s/%s/%s/%s/%s/%s', a.aggtransfn, a.aggfinalfn, a.aggcombinefn,
                                    a.aggserialfn, a.aggdeserialfn, a.aggfinalmodify)
                        FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid = p.oid)
                     ELSE pg_catalog.pg_get_functiondef(p.oid) END)
    FROM pg_catalog.pg_proc p WHERE p.pronamespace = (SELECT oid FROM ns)
  UNION ALL
  SELECT format('fncomment %s(%s) %s', p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid),
                pg_catalog.obj_description(p.oid, 'pg_proc'))
    FROM pg_catalog.pg_proc p WHERE p.pronamespace = (SELECT oid FROM ns)
  UNION ALL   -- triggers, with their firing mode
  SELECT format('trg %s enabled=%s', pg_catalog.pg_get_triggerdef(t.oid), t.tgenabled)
    FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
   WHERE c.relnamespace = (SELECT oid FROM ns) AND NOT t.tgisinternal
  UNION ALL   -- views
  SELECT format('view %s %s', c.relname, pg_catalog.pg_get_viewdef(c.oid))
    FROM pg_catalog.pg_class c WHERE c.relnamespace = (SELECT oid FROM ns) AND c.relkind IN ('v', 'm')
  UNION ALL   -- types
  SELECT format('type %s %s', t.typname, t.typtype)
    FROM pg_catalog.pg_type t WHERE t.typnamespace = (SELECT oid FROM ns) AND t.typtype <> 'b'
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
  UNION ALL   -- row-level security policies
  SELECT format('policy %s.%s %s %s %s %s', p.tablename, p.policyname, p.cmd, p.roles,
                p.qual, p.with_check)
    FROM pg_catalog.pg_policies p WHERE p.schemaname = 'stockroute'
  UNION ALL   -- comments on relations and types
  SELECT format('comment %s %s', c.relname, pg_catalog.obj_description(c.oid, 'pg_class'))
    FROM pg_catalog.pg_class c WHERE c.relnamespace = (SELECT oid FROM ns)
  UNION ALL
  SELECT format('typecomment %s %s', t.typname, pg_catalog.obj_description(t.oid, 'pg_type'))
    FROM pg_catalog.pg_type t WHERE t.typnamespace = (SELECT oid FROM ns)
  UNION ALL   -- schema privileges
  SELECT format('schema acl=%s comment=%s', n.nspacl, pg_catalog.obj_description(n.oid, 'pg_namespace'))
    FROM pg_catalog.pg_namespace n WHERE n.oid = (SELECT oid FROM ns)
  UNION ALL   -- what belongs to the extension
  SELECT format('member %s', pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid))
    FROM pg_catalog.pg_depend d WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
     AND d.refobjid = (SELECT oid FROM ext) AND d.deptype = 'e'
  UNION ALL   -- what pg_dump keeps
  SELECT format('dump %s %s', cfg.relid::pg_catalog.regclass, cond.c)
    FROM pg_catalog.pg_extension e,
         LATERAL unnest(e.extconfig, e.extcondition) AS cfg(relid, c0),
         LATERAL (SELECT cfg.c0 AS c) cond
   WHERE e.extname = 'stockroute'
  UNION ALL   -- the shipped profiles
  SELECT format('builtin %s', pg_catalog.to_jsonb(p) - 'updated_at')
    FROM stockroute.profile p WHERE p.builtin
) f ORDER BY line;
SQL
}
fingerprint $old > "$work/updated"
fingerprint $new > "$work/fresh"
if ! diff -u "$work/fresh" "$work/updated" > "$work/diff"; then
    echo "FAIL: ALTER EXTENSION UPDATE from $first does not give the schema of a fresh $current install"
    echo "(lines with - are in a fresh install only, + in the updated one only):"
    grep -E '^[-+][^-+]' "$work/diff" | head -60
    exit 1
fi
echo "ok: $first -> $current keeps the data and equals a fresh install ($(wc -l < "$work/fresh") catalog lines compared)"
