-- security: least privilege.  Proves, from the catalog, that no
-- function of the schema is executable by PUBLIC but an allowlist of ones
-- that only read their arguments, that every function callable from SQL is
-- granted to a stockroute role (or is on the owner-only list), that every
-- SECURITY DEFINER function pins search_path, and the privilege matrix of
-- the three roles; then, acting as each role (SET ROLE): a node role reads
-- and feeds only the nodes stockroute.node_role maps it (or a group of it)
-- to, and ingesting for any other node is refused with 42501 naming the node
-- and nothing applied; the app role plans, allocates and runs the
-- reservation lifecycle but cannot write stock counts, stock.reserved,
-- reservations, events or rules; the admin role edits master data and rules;
-- a schema placed before pg_catalog with planted functions, operators and a
-- table does not hijack plan, allocate, available, the lifecycle, ingest or
-- reconcile; DROP EXTENSION leaves nothing that keeps the roles from being
-- dropped.  The test's own roles are dropped at the end.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql
-- the routing clock: supply dates and promises below are read as of this day
SET stockroute.now = '2026-11-20 12:00:00+00';

-- the roles exist, cannot log in, and CREATE EXTENSION granted them
SELECT rolname, rolcanlogin, rolsuper, rolinherit FROM pg_roles
 WHERE rolname LIKE 'stockroute\_%' ORDER BY 1;
SELECT stockroute.create_roles();   -- idempotent

-- Catalog ------------------------------------------------------------------

-- PUBLIC may execute only this allowlist of functions that read nothing but
-- their arguments (visible_nodes: the caller's own mapping, for the
-- row-level security policies).  A function added to the schema is revoked
-- from PUBLIC by sql/90_security.sql; this lists any that is not.
SELECT p.oid::regprocedure AS public_but_not_allowlisted
  FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
 WHERE p.pronamespace = 'stockroute'::regnamespace AND a.grantee = 0
   AND a.privilege_type = 'EXECUTE'
   AND p.oid NOT IN ('stockroute.split_plan(stockroute.candidate)'::regprocedure,
                     'stockroute.split_plan(stockroute.candidate, jsonb)'::regprocedure,
                     'stockroute.explain(jsonb)'::regprocedure,
                     'stockroute.visible_nodes()'::regprocedure)
 ORDER BY p.oid::regprocedure::text;

-- Every function callable from SQL (no trigger result, no internal
-- argument) is granted to a stockroute role, except what only the owner may
-- run: the setup function, and preempt_take (allocate()'s taking of other
-- orders' holds).  A new function nobody may call fails here until it is
-- granted in create_roles().
SELECT p.oid::regprocedure AS granted_to_no_role
  FROM pg_proc p
 WHERE p.pronamespace = 'stockroute'::regnamespace
   AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
   AND NOT ('internal'::regtype = ANY (p.proargtypes::oid[]))
   AND NOT EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                    WHERE a.privilege_type = 'EXECUTE'
                      AND a.grantee IN (0, 'stockroute_admin'::regrole, 'stockroute_app'::regrole,
                                        'stockroute_node'::regrole))
   AND p.oid NOT IN ('stockroute.create_roles()'::regprocedure,
                     'stockroute.preempt_take(text, integer, text[], text[], bigint[])'::regprocedure)
 ORDER BY p.oid::regprocedure::text;

-- who may execute what
SELECT p.oid::regprocedure AS function,
       string_agg(CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, ' '
                  ORDER BY a.grantee::regrole::text) AS execute
  FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
 WHERE p.pronamespace = 'stockroute'::regnamespace AND a.privilege_type = 'EXECUTE'
   AND a.grantee <> p.proowner
 GROUP BY p.oid ORDER BY p.oid::regprocedure::text;

-- every SECURITY DEFINER function pins search_path (this prints none)
SELECT p.oid::regprocedure AS definer_without_pinned_path
  FROM pg_proc p
 WHERE p.pronamespace = 'stockroute'::regnamespace AND p.prosecdef
   AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false);
SELECT p.oid::regprocedure AS security_definer
  FROM pg_proc p WHERE p.pronamespace = 'stockroute'::regnamespace AND p.prosecdef ORDER BY p.oid::regprocedure::text;
-- functions running under the caller's search_path: C functions that run no SQL, and aggregates
SELECT p.oid::regprocedure AS unpinned, l.lanname
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'stockroute'::regnamespace
   AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
 ORDER BY p.oid::regprocedure::text;

-- table privileges of the roles (r: SELECT, a: INSERT, w: UPDATE, d: DELETE;
-- lower case on a few columns only); PUBLIC has none
SELECT c.relname,
       concat_ws('', CASE WHEN has_table_privilege(r.rolname, c.oid, 'SELECT') THEN 'r' END,
                 CASE WHEN has_table_privilege(r.rolname, c.oid, 'INSERT') THEN 'a'
                      WHEN has_any_column_privilege(r.rolname, c.oid, 'INSERT') THEN 'a(cols)' END,
                 CASE WHEN has_table_privilege(r.rolname, c.oid, 'UPDATE') THEN 'w'
                      WHEN has_any_column_privilege(r.rolname, c.oid, 'UPDATE') THEN 'w(cols)' END,
                 CASE WHEN has_table_privilege(r.rolname, c.oid, 'DELETE') THEN 'd' END,
                 CASE WHEN has_table_privilege(r.rolname, c.oid, 'TRUNCATE') THEN 'D' END) AS priv,
       r.rolname
  FROM pg_class c CROSS JOIN (VALUES ('stockroute_admin'), ('stockroute_app'), ('stockroute_node')) r(rolname)
 WHERE c.relnamespace = 'stockroute'::regnamespace AND c.relkind IN ('r', 'v')
 ORDER BY 1, 3 \crosstabview relname rolname priv
SELECT count(*) AS public_table_grants
  FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.relnamespace = 'stockroute'::regnamespace AND a.grantee = 0;
-- the columns the roles may write in stock and lot: never reserved
SELECT a.attrelid::regclass AS tab, a.attname,
       has_column_privilege('stockroute_admin', a.attrelid, a.attname, 'INSERT') AS admin_insert,
       has_column_privilege('stockroute_admin', a.attrelid, a.attname, 'UPDATE') AS admin_update
  FROM pg_attribute a
 WHERE a.attrelid IN ('stockroute.stock'::regclass, 'stockroute.lot'::regclass) AND a.attnum > 0
   AND NOT a.attisdropped
   AND (has_column_privilege('stockroute_admin', a.attrelid, a.attname, 'INSERT')
        OR has_column_privilege('stockroute_admin', a.attrelid, a.attname, 'UPDATE'))
 ORDER BY a.attrelid::regclass::text, a.attnum;
SELECT count(*) AS reserved_writable
  FROM (VALUES ('stockroute_admin'), ('stockroute_app'), ('stockroute_node')) r(rolname),
       (VALUES ('stockroute.stock'), ('stockroute.lot')) t(tab), (VALUES ('INSERT'), ('UPDATE')) p(priv)
 WHERE has_column_privilege(r.rolname, t.tab::regclass, 'reserved', p.priv);
SELECT tablename, policyname, roles, cmd FROM pg_policies WHERE schemaname = 'stockroute' ORDER BY 1;

-- A network and the test's roles ------------------------------------------

INSERT INTO stockroute.node (node_id, name, lat, lon, country, region) VALUES
    ('A', 'Atlanta', 33.749, -84.388, 'US', 'GA'),
    ('B', 'Birmingham', 33.519, -86.810, 'US', 'AL'),
    ('C', 'Charlotte', 35.227, -80.843, 'US', 'NC');
INSERT INTO stockroute.item (sku, weight_kg, tags) VALUES ('V', 2, '{}'), ('R', 5, '{lot_tracked}'), ('Q', 1, '{}');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES
    ('A', 'V', 10), ('B', 'V', 20), ('C', 'V', 30), ('A', 'R', 5), ('B', 'R', 5);
INSERT INTO stockroute.lot (node_id, sku, lot_code, on_hand) VALUES ('A', 'R', 'LA', 5), ('B', 'R', 'LB', 5);
INSERT INTO stockroute.event (node_id, idempotency_key, kind, sku, qty, occurred_at, status, payload) VALUES
    ('A', 'seed-a', 'receipt', 'V', 10, '2026-11-22 08:00+00', 'applied', '{}'),
    ('B', 'seed-b', 'receipt', 'V', 20, '2026-11-22 08:00+00', 'applied', '{}'),
    (NULL, 'seed-x', NULL, NULL, NULL, NULL, 'rejected', '{}');

SET client_min_messages = warning;
DROP ROLE IF EXISTS security_test_admin, security_test_app, security_test_feed_a,
    security_test_feed_b, security_test_feeders, security_test_feed_none, security_test_nobody;
RESET client_min_messages;
CREATE ROLE security_test_admin IN ROLE stockroute_admin;
CREATE ROLE security_test_app IN ROLE stockroute_app;
CREATE ROLE security_test_feed_a IN ROLE stockroute_node;          -- mapped itself to A
CREATE ROLE security_test_feeders IN ROLE stockroute_node;         -- a group, mapped to B
CREATE ROLE security_test_feed_b IN ROLE security_test_feeders;    -- B through the group
CREATE ROLE security_test_feed_none IN ROLE stockroute_node;       -- a node role mapped to nothing
CREATE ROLE security_test_nobody;                                  -- no stockroute role at all
INSERT INTO stockroute.node_role (grantee, node_id) VALUES
    ('security_test_feed_a', 'A'), ('security_test_feeders', 'B');
SELECT grantee, node_id FROM stockroute.node_role ORDER BY grantee::text, node_id;

CREATE FUNCTION pg_temp.ev(key text, node text, qty int, sku text DEFAULT 'V') RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('node_id', node, 'idempotency_key', key, 'kind', 'receipt',
                              'sku', sku, 'qty', qty, 'occurred_at', '2026-11-22T10:00:00Z')
$$;
CREATE FUNCTION pg_temp.ing(events jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT format('applied %s duplicate %s rejected %s', r->'applied', r->'duplicate', r->'rejected')
      FROM (SELECT stockroute.ingest(events) AS r) x
$$;
CREATE FUNCTION pg_temp.o(ref text, qty int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('order_ref', ref, 'ship_to', '{"lat": 33.75, "lon": -84.39, "country": "US"}'::jsonb,
                              'lines', jsonb_build_array(jsonb_build_object('line_ref', '1', 'sku', 'V', 'qty', qty)))
$$;
CREATE VIEW pg_temp.st AS
SELECT node_id, sku, on_hand, reserved FROM stockroute.stock ORDER BY 1, 2;
GRANT SELECT ON pg_temp.st TO PUBLIC;
CREATE VIEW pg_temp.counts AS
SELECT (SELECT count(*) FROM stockroute.event) AS events,
       (SELECT count(*) FROM stockroute.reservation) AS reservations,
       (SELECT sum(on_hand) FROM stockroute.stock) AS on_hand,
       (SELECT sum(reserved) FROM stockroute.stock) AS reserved,
       (SELECT count(*) FROM stockroute.rule) AS rules;
SELECT * FROM pg_temp.counts;

-- Node roles: their own nodes, nothing else --------------------------------

SET ROLE security_test_feed_a;
SELECT stockroute.visible_nodes();
SELECT node_id, sku, on_hand, reserved, available FROM stockroute.stock ORDER BY node_id, sku;  -- A only
SELECT node_id, sku, lot_code, on_hand FROM stockroute.lot ORDER BY 1, 2, 3;
SELECT node_id, idempotency_key, status FROM stockroute.event ORDER BY 1, 2;
-- ingest for its node
SELECT pg_temp.ing(jsonb_build_array(pg_temp.ev('fa-1', 'A', 3)));
-- for another node, alone or in a batch with its own: refused, naming the node, nothing applied
SELECT pg_temp.err($$SELECT stockroute.ingest(jsonb_build_array(pg_temp.ev('fa-2', 'B', 1)))$$);
SELECT pg_temp.err($$SELECT stockroute.ingest(jsonb_build_array(pg_temp.ev('fa-3', 'A', 1), pg_temp.ev('fa-4', 'C', 1)))$$);
-- a node that does not exist: refused the same way (no probing for node names)
SELECT pg_temp.err($$SELECT stockroute.ingest(jsonb_build_array(pg_temp.ev('fa-5', 'NOPE', 1)))$$);
-- an event without a node_id is malformed, not refused: recorded as rejected
SELECT pg_temp.ing('[{"idempotency_key": "fa-6", "kind": "receipt", "sku": "V", "qty": 1}]');
-- no direct writes, no other functions, no other tables
SELECT pg_temp.err($$UPDATE stockroute.stock SET on_hand = 99 WHERE node_id = 'A'$$);
SELECT pg_temp.err($$INSERT INTO stockroute.event (node_id, idempotency_key, status, payload) VALUES ('A', 'x', 'applied', '{}')$$);
SELECT pg_temp.err($$DELETE FROM stockroute.event$$);
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-N', 1))$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-N', '1', 'V', 'A', 1)$$);
SELECT pg_temp.err($$SELECT stockroute.ingest_staged()$$);
SELECT pg_temp.err($$SELECT count(*) FROM stockroute.reservation$$);
SELECT pg_temp.err($$SELECT count(*) FROM stockroute.node$$);
SELECT pg_temp.err($$SELECT count(*) FROM stockroute.node_role$$);
RESET ROLE;
SELECT * FROM pg_temp.st;
SELECT node_id, idempotency_key, status FROM stockroute.event WHERE idempotency_key LIKE 'fa-%' ORDER BY 2;

-- a member of a mapped group speaks for the group's nodes
SET ROLE security_test_feed_b;
SELECT stockroute.visible_nodes();
SELECT node_id, sku, on_hand FROM stockroute.stock ORDER BY 1, 2;
SELECT node_id, lot_code FROM stockroute.lot ORDER BY 1, 2;
SELECT pg_temp.ing(jsonb_build_array(pg_temp.ev('fb-1', 'B', 2)));
SELECT pg_temp.err($$SELECT stockroute.ingest(jsonb_build_array(pg_temp.ev('fb-2', 'A', 2)))$$);
RESET ROLE;

-- a node role mapped to nothing sees nothing and feeds nothing
SET ROLE security_test_feed_none;
SELECT stockroute.visible_nodes(), (SELECT count(*) FROM stockroute.stock) AS stock_rows,
       (SELECT count(*) FROM stockroute.event) AS event_rows;
SELECT pg_temp.err($$SELECT stockroute.ingest(jsonb_build_array(pg_temp.ev('fn-1', 'A', 1)))$$);
RESET ROLE;

-- a role with no stockroute role cannot even reach the schema
SET ROLE security_test_nobody;
SELECT pg_temp.err($$SELECT stockroute.plan(pg_temp.o('SO-X', 1))$$);
SELECT pg_temp.err($$SELECT stockroute.ingest('[]')$$);
SELECT pg_temp.err($$SELECT count(*) FROM stockroute.stock$$);
RESET ROLE;

-- SET ROLE is what counts: a superuser session that switched to a node role
-- is held to that role's nodes (ingest checks the outer role, not the
-- session user, and not the SECURITY DEFINER owner it runs as)
SET ROLE security_test_feed_a;
SELECT current_user, session_user <> current_user AS switched;
SELECT pg_temp.err($$SELECT stockroute.ingest(jsonb_build_array(pg_temp.ev('fa-7', 'B', 1)))$$);
RESET ROLE;
SELECT * FROM pg_temp.counts;

-- The app role: plans, allocates, runs the lifecycle; writes nothing directly

SET ROLE security_test_app;
SELECT stockroute.visible_nodes() IS NULL AS sees_all_nodes, count(*) AS stock_rows FROM stockroute.stock;
SELECT stockroute.plan(pg_temp.o('SO-1', 12))->>'status' AS plan;
SELECT (stockroute.allocate(pg_temp.o('SO-1', 12))->'reservations') @? '$[*] ? (@.status == "held")' AS allocated;
SELECT stockroute.reserve('SO-2', '1', 'V', 'C', 4)->>'status' AS reserve;
SELECT stockroute.commit('SO-1')->'committed' AS committed;
SELECT stockroute.fulfill('SO-1')->'fulfilled' AS fulfilled;
SELECT stockroute.release('SO-2')->'released' AS released;
SELECT jsonb_array_length(stockroute.order_reservations('SO-1')) AS reservations;
SELECT stockroute.available('V')->'available' AS available;
SELECT count(*) >= 0 AS reads_views FROM stockroute.inventory_position, stockroute.node_health;
SELECT stockroute.split_plan(ROW('1', 2, 'A', 5, 1, 1, 1)::stockroute.candidate)->>'status' AS split_plan;
SELECT jsonb_typeof(stockroute.simulate(jsonb_build_array(pg_temp.o('SIM-1', 2)))) AS simulates;
-- an order for a SKU nobody stocks is backordered (the promise date reads supply as the caller)
SELECT stockroute.allocate(jsonb_build_object('order_ref', 'SO-Q', 'ship_to', '{"country": "US", "lat": 33, "lon": -84}'::jsonb,
         'lines', '[{"line_ref": "1", "sku": "Q", "qty": 2}]'::jsonb))->>'status' AS allocate_q;
SELECT pg_temp.err($$INSERT INTO stockroute.supply (node_id, sku, qty, expected_on, ref) VALUES ('A', 'Q', 5, '2026-12-01', 'PO-X')$$);
SELECT pg_temp.err($$SELECT stockroute.fill_backorders()$$);
SELECT pg_temp.err($$UPDATE stockroute.stock SET on_hand = 1000 WHERE node_id = 'A'$$);
SELECT pg_temp.err($$UPDATE stockroute.stock SET reserved = 0$$);
SELECT pg_temp.err($$INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES ('C', 'R', 5)$$);
SELECT pg_temp.err($$INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty, expires_at) VALUES ('SO-9', '1', 'V', 'A', 1, now() + interval '1 hour')$$);
SELECT pg_temp.err($$UPDATE stockroute.reservation SET status = 'released'$$);
SELECT pg_temp.err($$DELETE FROM stockroute.reservation$$);
SELECT pg_temp.err($$INSERT INTO stockroute.event (node_id, idempotency_key, status, payload) VALUES ('A', 'x', 'applied', '{}')$$);
SELECT pg_temp.err($$UPDATE stockroute.event SET status = 'superseded'$$);
SELECT pg_temp.err($$INSERT INTO stockroute.rule (rule_id, effect) VALUES ('r9', '{"forbid_nodes": ["A"]}')$$);
SELECT pg_temp.err($$UPDATE stockroute.rule SET enabled = false$$);
SELECT pg_temp.err($$UPDATE stockroute.node SET status = 'offline'$$);
SELECT pg_temp.err($$INSERT INTO stockroute.node_role (grantee, node_id) VALUES ('security_test_app', 'C')$$);
SELECT pg_temp.err($$SELECT stockroute.ingest(jsonb_build_array(pg_temp.ev('app-1', 'A', 1)))$$);
SELECT pg_temp.err($$SELECT stockroute.reconcile()$$);
SELECT pg_temp.err($$SELECT stockroute.repair_reserved('A', 'V')$$);
SELECT pg_temp.err($$SELECT stockroute.raise_alert('drift', 'A', 'V', '{}')$$);
SELECT pg_temp.err($$SELECT stockroute.create_roles()$$);
-- outbox consumers mark what they consumed, and nothing else
SELECT pg_temp.err($$UPDATE stockroute.outbox SET consumed_at = now() WHERE order_ref = 'SO-1'$$);
SELECT pg_temp.err($$UPDATE stockroute.outbox SET payload = '{}'$$);
RESET ROLE;
SELECT * FROM pg_temp.st;
SELECT order_ref, node_id, qty, status FROM stockroute.reservation ORDER BY 1, 2;

-- The admin role: master data, rules, profiles, mapping, jobs -----------------

SET ROLE security_test_admin;
INSERT INTO stockroute.node (node_id, name, country) VALUES ('D', 'Dallas', 'US');
INSERT INTO stockroute.item (sku, weight_kg) VALUES ('P', 1);
INSERT INTO stockroute.stock (node_id, sku, on_hand, safety_stock) VALUES ('D', 'P', 7, 1);
UPDATE stockroute.stock SET safety_stock = 2, reorder_point = 3 WHERE node_id = 'D';
INSERT INTO stockroute.lane (node_id, country, base_cost, transit_days) VALUES ('D', 'US', 5, 2);
INSERT INTO stockroute.rule (rule_id, match, effect) VALUES ('r1', '{"segment": "guest"}', '{"forbid_nodes": ["D"]}');
UPDATE stockroute.rule SET priority = 5 WHERE rule_id = 'r1';
INSERT INTO stockroute.profile (profile_name, w_cost, w_days) VALUES ('ops', 1, 2);
UPDATE stockroute.profile SET w_days = 3 WHERE profile_name = 'ops';
SELECT profile_name, version FROM stockroute.profile_history WHERE profile_name = 'ops' ORDER BY 2;
INSERT INTO stockroute.node_role (grantee, node_id) VALUES ('security_test_feed_a', 'D');
SELECT stockroute.visible_nodes() IS NULL AS sees_all_nodes;
-- incoming supply and segment priorities; received_qty follows the receipts
INSERT INTO stockroute.supply (node_id, sku, qty, expected_on, ref) VALUES ('A', 'Q', 5, '2026-12-01', 'PO-1'),
                                                                          ('B', 'Q', 5, '2026-12-02', 'PO-2');
SELECT stockroute.cancel_supply('PO-2')->'cancelled' AS cancelled;
INSERT INTO stockroute.segment_priority (segment, priority) VALUES ('vip', 10);
SELECT pg_temp.err($$UPDATE stockroute.supply SET received_qty = 5 WHERE ref = 'PO-1'$$);
SELECT order_ref, sku, qty, status, promised_on FROM stockroute.backorder ORDER BY 1;
-- ingest for any node, reconcile, alerts
SELECT pg_temp.ing(jsonb_build_array(pg_temp.ev('ad-1', 'C', 1), pg_temp.ev('ad-2', 'D', 1, 'P')));
SELECT (stockroute.reconcile() ? 'run_id') AS reconciled;
SELECT stockroute.raise_alert('drift', 'D', 'P', '{"note": "checked by hand"}') AS raised,
       stockroute.resolve_alert('drift', 'D', 'P') AS resolved;
DELETE FROM stockroute.lane WHERE node_id = 'D';
-- but not the counts, reserved, reservations or events directly, and not the app's functions
SELECT pg_temp.err($$UPDATE stockroute.stock SET on_hand = 1000 WHERE node_id = 'D'$$);
SELECT pg_temp.err($$UPDATE stockroute.stock SET reserved = 5 WHERE node_id = 'D'$$);
SELECT pg_temp.err($$INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty, expires_at) VALUES ('SO-9', '1', 'P', 'D', 1, now() + interval '1 hour')$$);
SELECT pg_temp.err($$DELETE FROM stockroute.event$$);
SELECT pg_temp.err($$SELECT stockroute.allocate(pg_temp.o('SO-9', 1))$$);
SELECT pg_temp.err($$SELECT stockroute.reserve('SO-9', '1', 'P', 'D', 1)$$);
RESET ROLE;
SELECT * FROM pg_temp.st;
SELECT * FROM pg_temp.counts;
-- feed_a now also speaks for D
SET ROLE security_test_feed_a;
SELECT stockroute.visible_nodes();
SELECT pg_temp.ing(jsonb_build_array(pg_temp.ev('fa-8', 'D', 1, 'P')));
-- a receipt naming its purchase order: at commit (as this role) the supply is
-- received and the backorder filled
SELECT pg_temp.ing(jsonb_build_array(pg_temp.ev('fa-po', 'A', 5, 'Q') || '{"supply_ref": "PO-1"}'));
RESET ROLE;
SELECT ref, received_qty, status FROM stockroute.supply ORDER BY ref;
SELECT b.order_ref, b.status, r.node_id, r.qty, r.status AS reservation
  FROM stockroute.backorder b LEFT JOIN stockroute.reservation r ON r.order_ref = b.order_ref ORDER BY 1;

-- invariant 2 held through all of it
SELECT count(*) AS drift FROM stockroute.stock s
 WHERE s.reserved <> (SELECT coalesce(sum(r.qty), 0) FROM stockroute.reservation r
                       WHERE r.node_id = s.node_id AND r.sku = s.sku AND r.status IN ('held', 'committed'));

-- search_path attack ----------------------------------------------------------
-- A schema an attacker can write to, placed before pg_catalog in the
-- victim's search_path, with functions, operators and a table named like
-- the ones stockroute uses.  Each planted function counts its calls in a
-- sequence (not rolled back with an error or a subtransaction) and returns
-- the true value, as a careful attacker would.

CREATE SCHEMA evil;
CREATE SEQUENCE evil.hits;
CREATE FUNCTION evil.hit() RETURNS void LANGUAGE sql AS $$ SELECT pg_catalog.nextval('evil.hits') $$;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql AS
    $$ BEGIN PERFORM evil.hit(); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION evil.lower(text) RETURNS text LANGUAGE plpgsql AS
    $$ BEGIN PERFORM evil.hit(); RETURN pg_catalog.lower($1); END $$;
CREATE FUNCTION evil.jsonb_array_elements(jsonb) RETURNS SETOF jsonb LANGUAGE plpgsql AS
    $$ BEGIN PERFORM evil.hit(); RETURN QUERY SELECT pg_catalog.jsonb_array_elements($1); END $$;
CREATE FUNCTION evil.jsonb_typeof(jsonb) RETURNS text LANGUAGE plpgsql AS
    $$ BEGIN PERFORM evil.hit(); RETURN pg_catalog.jsonb_typeof($1); END $$;
CREATE FUNCTION evil.eq(text, text) RETURNS boolean LANGUAGE plpgsql AS
    $$ BEGIN PERFORM evil.hit(); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.eq);
CREATE FUNCTION evil.get(jsonb, text) RETURNS text LANGUAGE plpgsql AS
    $$ BEGIN PERFORM evil.hit(); RETURN $1 OPERATOR(pg_catalog.->>) $2; END $$;
CREATE OPERATOR evil.->> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = evil.get);
CREATE FUNCTION evil.plus(bigint, bigint) RETURNS bigint LANGUAGE plpgsql AS
    $$ BEGIN PERFORM evil.hit(); RETURN $1 OPERATOR(pg_catalog.+) $2; END $$;
CREATE OPERATOR evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.plus);
CREATE FUNCTION evil.cat(text, text) RETURNS text LANGUAGE plpgsql AS
    $$ BEGIN PERFORM evil.hit(); RETURN $1 OPERATOR(pg_catalog.||) $2; END $$;
CREATE OPERATOR evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.cat);
CREATE TABLE evil.stock (node_id text, sku text, on_hand bigint, reserved bigint, available bigint);
INSERT INTO evil.stock VALUES ('A', 'V', 1000000, 0, 1000000);
GRANT USAGE ON SCHEMA evil TO PUBLIC;
GRANT SELECT ON evil.stock TO PUBLIC;
GRANT USAGE ON SEQUENCE evil.hits TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA evil TO PUBLIC;
-- a shortfall at B, so that reconcile() re-routes it through the routing core
SELECT stockroute.reserve('SO-5', '1', 'V', 'B', 3)->>'status' AS held;
SELECT pg_temp.ing(jsonb_build_array(jsonb_build_object('node_id', 'B', 'idempotency_key', 'cnt-1',
    'kind', 'count', 'sku', 'V', 'qty', 1, 'occurred_at', '2026-11-22T11:00:00Z')));
-- the statements below use none of the planted names themselves: their
-- documents come from this table, errors through format(), results through ->
CREATE TEMP TABLE docs (id int PRIMARY KEY, doc jsonb);
INSERT INTO docs VALUES (1, pg_temp.o('SO-6', 3)), (2, jsonb_build_array(pg_temp.ev('fa-9', 'A', 2))),
                        (3, jsonb_build_array(pg_temp.ev('fa-10', 'B', 1)));
GRANT SELECT ON docs TO PUBLIC;
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN format('%s: %s', SQLSTATE, SQLERRM);
END;
$$;

SET ROLE security_test_app;
SET search_path = evil, pg_catalog, public;
SELECT stockroute.plan(doc) -> 'status' AS plan FROM docs WHERE id = 1;
SELECT stockroute.allocate(doc) -> 'status' AS allocate FROM docs WHERE id = 1;
SELECT stockroute.available('V', '{"country": "US", "lat": 33, "lon": -84}') -> 'available' AS available;
SELECT stockroute.reserve('SO-7', '1', 'V', 'C', 2, idempotency_key => 'k7') -> 'status' AS reserve;
SELECT stockroute.commit('SO-6') -> 'committed' AS committed, stockroute.release('SO-7') -> 'released' AS released;
SELECT stockroute.fulfill('SO-6') -> 'fulfilled' AS fulfilled;
RESET search_path;
RESET ROLE;
SET ROLE security_test_feed_a;
SET search_path = evil, pg_catalog, public;
SELECT stockroute.ingest(doc) -> 'applied' AS applied FROM docs WHERE id = 2;
SELECT pg_temp.try('SELECT stockroute.ingest(doc) FROM docs WHERE id = 3');
RESET search_path;
RESET ROLE;
SET ROLE security_test_admin;
SET search_path = evil, pg_catalog, public;
SELECT r -> 'shortfall' AS shortfall, r -> 'rerouted_units' AS rerouted FROM stockroute.reconcile() r;
INSERT INTO stockroute.profile (profile_name, w_cost) VALUES ('ops2', 1);
RESET search_path;
RESET ROLE;
-- the owner's own direct DML fires the reservation triggers under the same path
SET search_path = evil, pg_catalog, public;
UPDATE stockroute.reservation SET status = 'released'
 WHERE order_ref OPERATOR(pg_catalog.=) 'SO-5' AND status OPERATOR(pg_catalog.=) 'held';
RESET search_path;
-- not one planted object was used
SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS hits FROM evil.hits;
SELECT * FROM pg_temp.st;
SELECT order_ref, node_id, qty, status FROM stockroute.reservation
 WHERE order_ref IN ('SO-5', 'SO-6', 'SO-7') ORDER BY 1, 2, 4;
-- controls: an unpinned lookup finds the planted objects first, and so
-- would plan() without its pinned search_path
SET search_path = evil, pg_catalog, public;
SELECT lower('X') AS planted_lower;
RESET search_path;
SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS hits FROM evil.hits;
BEGIN;
ALTER FUNCTION stockroute.plan(jsonb) RESET search_path;
SET LOCAL search_path = evil, pg_catalog, public;
SELECT stockroute.plan(doc) -> 'status' AS unpinned_plan FROM docs WHERE id = 1;
ROLLBACK;
SELECT last_value > 1 AS unpinned_plan_was_hijacked FROM evil.hits;
SET client_min_messages = warning;
DROP SCHEMA evil CASCADE;
RESET client_min_messages;

-- DROP EXTENSION removes every privilege, policy and initial privilege of its
-- objects; what still names the roles is the schema's USAGE grant (the schema
-- outlives the extension, as it always did).  After DROP SCHEMA (or DROP
-- OWNED BY the roles) in each database, DROP ROLE succeeds.  A new CREATE
-- EXTENSION finds the roles and grants again.
DELETE FROM stockroute.node_role;
DROP VIEW pg_temp.st, pg_temp.counts;
DROP ROLE security_test_admin, security_test_app, security_test_feed_a, security_test_feed_b,
    security_test_feeders, security_test_feed_none, security_test_nobody;
DROP EXTENSION stockroute;
CREATE VIEW pg_temp.role_deps AS
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS object, d.refobjid::regrole AS role, d.deptype
  FROM pg_shdepend d
 WHERE d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND d.refclassid = 'pg_authid'::regclass
   AND d.refobjid IN (SELECT oid FROM pg_roles WHERE rolname LIKE 'stockroute\_%');
SELECT * FROM pg_temp.role_deps ORDER BY object, role::text;
DROP SCHEMA stockroute;
SELECT count(*) AS dependencies_on_roles FROM pg_temp.role_deps;
CREATE EXTENSION stockroute;
SELECT has_function_privilege('stockroute_app', 'stockroute.allocate(jsonb)', 'EXECUTE') AS app_allocates,
       has_function_privilege('stockroute_node', 'stockroute.ingest(jsonb)', 'EXECUTE') AS node_ingests;
