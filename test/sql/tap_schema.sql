-- tap_schema: the data model of DESIGN.md is there with its keys, foreign
-- keys and triggers; every table and function carries a COMMENT; every table
-- is registered with pg_extension_config_dump.  Runs under pg_regress and pg_prove.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
BEGIN;
SELECT plan(40);

SELECT has_schema('stockroute');
SELECT has_table('stockroute', t, 'table stockroute.' || t)
  FROM unnest(ARRAY['node', 'item', 'stock', 'lot', 'lane', 'profile', 'profile_history', 'rule',
                    'reservation', 'event', 'decision', 'backorder', 'alert', 'outbox']) AS t;

SELECT col_is_pk('stockroute', 'node', 'node_id', 'node keyed by node_id');
SELECT col_is_pk('stockroute', 'item', 'sku', 'item keyed by sku');
SELECT col_is_pk('stockroute', 'stock', ARRAY['node_id', 'sku'], 'stock keyed by (node_id, sku)');
SELECT col_is_pk('stockroute', 'lot', ARRAY['node_id', 'sku', 'lot_code'], 'lot keyed by (node_id, sku, lot_code)');
SELECT col_is_pk('stockroute', 'reservation', ARRAY['sku', 'reservation_id'],
                 'reservation keyed by sku first (co-location by sku)');
SELECT fk_ok('stockroute', 'stock', 'node_id', 'stockroute', 'node', 'node_id');
SELECT fk_ok('stockroute', 'stock', 'sku', 'stockroute', 'item', 'sku');
SELECT fk_ok('stockroute', 'reservation', ARRAY['node_id', 'sku'], 'stockroute', 'stock', ARRAY['node_id', 'sku']);
SELECT fk_ok('stockroute', 'lot', ARRAY['node_id', 'sku'], 'stockroute', 'stock', ARRAY['node_id', 'sku']);
SELECT col_is_unique('stockroute', 'reservation', ARRAY['sku', 'idempotency_key'],
                     'an idempotency key is used once per sku');

SELECT has_trigger('stockroute', 'reservation', 'reservation_guard', 'reservation_guard trigger');
SELECT has_trigger('stockroute', 'reservation', 'reservation_apply', 'reservation_apply trigger');
SELECT has_trigger('stockroute', 'stock', 'stock_guard', 'stock_guard trigger');
SELECT has_trigger('stockroute', 'lot', 'lot_guard', 'lot_guard trigger');
SELECT is((SELECT p.prolang FROM pg_proc p WHERE p.oid = 'stockroute.reservation_apply()'::regprocedure),
          (SELECT oid FROM pg_language WHERE lanname = 'c'), 'the invariant triggers are C functions');

SELECT has_function('stockroute', 'reserve', ARRAY['text', 'text', 'text', 'text', 'bigint', 'interval', 'text', 'text']);
SELECT has_function('stockroute', 'commit', ARRAY['text']);
SELECT has_function('stockroute', 'release', ARRAY['text', 'text']);
SELECT has_function('stockroute', 'fulfill', ARRAY['text', 'text', 'text']);

SELECT is((SELECT a.attgenerated FROM pg_attribute a
            WHERE a.attrelid = 'stockroute.stock'::regclass AND a.attname = 'available'),
          's'::"char", 'stock.available is a stored generated column');

SELECT is_empty($$
    SELECT c.relname FROM pg_class c
     WHERE c.relnamespace = 'stockroute'::regnamespace AND c.relkind IN ('r', 'v')
       AND obj_description(c.oid, 'pg_class') IS NULL$$,
    'every table and view has a COMMENT');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'stockroute'::regnamespace
       AND obj_description(p.oid, 'pg_proc') IS NULL$$,
    'every function has a COMMENT');
SELECT is_empty($$
    SELECT c.relname FROM pg_class c
     WHERE c.relnamespace = 'stockroute'::regnamespace AND c.relkind = 'r'
       AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'stockroute')::oid[])$$,
    'every table is registered with pg_extension_config_dump');
SELECT results_eq($$SELECT profile_name FROM stockroute.profile WHERE builtin ORDER BY 1$$,
                  ARRAY['cheapest', 'closest', 'default', 'fastest'],
                  'the shipped profiles');

-- distribution rules (docs/design.md): no SQL-language function with
-- parameters, whose plan a distributed engine must push down; plpgsql or C
SELECT is_empty($$SELECT p.oid::regprocedure::text
                    FROM pg_proc p
                   WHERE p.pronamespace = 'stockroute'::regnamespace
                     AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'sql')
                     AND p.pronargs > 0$$,
                'no SQL-language function with parameters');

SELECT * FROM finish();
ROLLBACK;
