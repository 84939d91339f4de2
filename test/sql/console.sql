-- console: the database side of the ops console (sql/80_console.sql).
-- Proves: set_node_status() changes a node's status and records from, to,
-- why, who and when in node_status_change, the next plan() skips a node set
-- offline, and setting the same status again records nothing;
-- acknowledge_alert() marks an open alert seen once (a second call keeps the
-- first acknowledgement) and refuses unknown and resolved alerts;
-- record_intervention() appends an audit row in the calling role's name;
-- set_node_secret() stores and replaces a node's sealed secret; every "who"
-- column is the role in effect (SET ROLE) and no role may write it;
-- stockroute_app may record interventions but not change a node's status,
-- acknowledge alerts or set secrets, and a node role may do none of it;
-- every bad argument fails with its SQLSTATE and changes nothing.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
DROP ROLE IF EXISTS console_test_admin, console_test_app, console_test_feed;
RESET client_min_messages;
\i test/sql/include/errors.sql
SET stockroute.explain_timing = off;
SET stockroute.now = '2026-11-23 09:00:00+00';

INSERT INTO stockroute.node (node_id, name, lat, lon, country, region) VALUES
    ('A', 'Atlanta', 33.749, -84.388, 'US', 'GA'),
    ('B', 'Birmingham', 33.519, -86.810, 'US', 'AL');
INSERT INTO stockroute.item (sku, weight_kg) VALUES ('V', 2);
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES ('A', 'V', 10), ('B', 'V', 10);

CREATE ROLE console_test_admin IN ROLE stockroute_admin;
CREATE ROLE console_test_app IN ROLE stockroute_app;
CREATE ROLE console_test_feed IN ROLE stockroute_node;
INSERT INTO stockroute.node_role (grantee, node_id) VALUES ('console_test_feed', 'A');

CREATE FUNCTION pg_temp.o(ref text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('order_ref', ref, 'ship_to', '{"lat": 33.75, "lon": -84.39, "country": "US"}'::jsonb,
                              'lines', '[{"line_ref": "1", "sku": "V", "qty": 5}]'::jsonb)
$$;
-- where a plan ships from, and what it says of node A
CREATE FUNCTION pg_temp.routes(ref text) RETURNS TABLE (ships_from text, a_eligible boolean, a_reason text)
LANGUAGE sql AS $$
    SELECT (SELECT string_agg(s->>'node_id', ' ' ORDER BY s->>'node_id') FROM jsonb_array_elements(p->'shipments') s),
           (c->>'eligible')::boolean, c->>'reason'
      FROM stockroute.plan(pg_temp.o(ref)) p
      LEFT JOIN LATERAL jsonb_array_elements(p->'explain'->'candidates') c ON c->>'node_id' = 'A'
$$;
CREATE VIEW pg_temp.counts AS
SELECT (SELECT string_agg(node_id || '=' || status, ' ' ORDER BY node_id) FROM stockroute.node) AS nodes,
       (SELECT count(*) FROM stockroute.node_status_change) AS status_changes,
       (SELECT count(*) FROM stockroute.alert_ack) AS acks,
       (SELECT count(*) FROM stockroute.intervention) AS interventions,
       (SELECT count(*) FROM stockroute.node_secret) AS secrets;
GRANT SELECT ON pg_temp.counts TO PUBLIC;

-- Node status ----------------------------------------------------------------------

SELECT now() AS t0 \gset
SELECT * FROM pg_temp.routes('SO-1');   -- A, the nearer node, ships
SET ROLE console_test_admin;
SELECT stockroute.set_node_status('A', 'offline', 'dock flooded') - 'change_id' - 'changed_at' AS set_offline;
RESET ROLE;
SELECT * FROM pg_temp.routes('SO-2');   -- the next plan skips A
SET ROLE console_test_admin;
-- the same status again: nothing changes, nothing is recorded
SELECT stockroute.set_node_status('A', 'offline', 'still flooded') AS again;
SELECT stockroute.set_node_status('A', 'active', 'dock dry again') ->> 'previous_status' AS was;
RESET ROLE;
SELECT * FROM pg_temp.routes('SO-3');
SELECT node_id, old_status, new_status, reason, changed_by, changed_at >= :'t0' AS stamped
  FROM stockroute.node_status_change ORDER BY changed_at, new_status DESC;

SELECT * FROM pg_temp.counts;
SET ROLE console_test_admin;
SELECT pg_temp.err($$SELECT stockroute.set_node_status(NULL, 'offline', 'x')$$);
SELECT pg_temp.err($$SELECT stockroute.set_node_status('A', NULL, 'x')$$);
SELECT pg_temp.err($$SELECT stockroute.set_node_status('A', 'offline', NULL)$$);
SELECT pg_temp.err($$SELECT stockroute.set_node_status('A', 'closed', 'x')$$);
SELECT pg_temp.err($$SELECT stockroute.set_node_status('A', 'Offline', 'x')$$);
SELECT pg_temp.err($$SELECT stockroute.set_node_status('A', 'offline', '  ')$$);
SELECT pg_temp.err($$SELECT stockroute.set_node_status('A', 'offline', repeat('x', 1001))$$);
SELECT pg_temp.err($$SELECT stockroute.set_node_status('NOPE', 'offline', 'x')$$);
-- the history is written by the function only in the caller's name
SELECT pg_temp.err($$INSERT INTO stockroute.node_status_change (node_id, old_status, new_status, reason, changed_by)
                     VALUES ('A', 'active', 'offline', 'x', 'someone_else')$$);
SELECT pg_temp.err($$UPDATE stockroute.node_status_change SET reason = 'rewritten'$$);
SELECT pg_temp.err($$DELETE FROM stockroute.node_status_change$$);
RESET ROLE;
SELECT * FROM pg_temp.counts;

-- Alerts ---------------------------------------------------------------------------

SELECT stockroute.raise_alert('stale_node', 'B', NULL, '{"stale_after": "1 day"}') AS raised;
SELECT stockroute.raise_alert('low_stock', 'A', 'V', '{}') AS raised;
CREATE TEMP TABLE ids AS SELECT kind, alert_id FROM stockroute.alert;
GRANT SELECT ON ids TO PUBLIC;
SET ROLE console_test_admin;
SELECT stockroute.acknowledge_alert((SELECT alert_id FROM ids WHERE kind = 'stale_node'), ' calling the site ')
       - 'alert_id' - 'acknowledged_at' AS ack;
-- again: the first acknowledgement stands
SELECT stockroute.acknowledge_alert((SELECT alert_id FROM ids WHERE kind = 'stale_node'), 'second')
       - 'alert_id' - 'acknowledged_at' AS ack_again;
-- without a note
SELECT stockroute.acknowledge_alert((SELECT alert_id FROM ids WHERE kind = 'low_stock')) ->> 'note' AS no_note;
RESET ROLE;
SELECT i.kind, k.note, k.acknowledged_by, a.status AS alert_status
  FROM stockroute.alert_ack k JOIN ids i USING (alert_id) JOIN stockroute.alert a USING (alert_id) ORDER BY 1;

SELECT stockroute.resolve_alert('low_stock', 'A', 'V') AS resolved;
SELECT stockroute.raise_alert('sync_gap', 'A', NULL, '{}') AS raised;
INSERT INTO ids SELECT kind, alert_id FROM stockroute.alert WHERE kind = 'sync_gap';
SELECT * FROM pg_temp.counts;
SET ROLE console_test_admin;
SELECT pg_temp.err($$SELECT stockroute.acknowledge_alert(NULL)$$);
SELECT regexp_replace(pg_temp.err($$SELECT stockroute.acknowledge_alert(gen_random_uuid())$$),
                      '[0-9a-f-]{36}', '<uuid>') AS unknown_alert;
SELECT regexp_replace(pg_temp.err(format('SELECT stockroute.acknowledge_alert(%L)',
                                         (SELECT alert_id FROM ids WHERE kind = 'low_stock'))),
                      '[0-9a-f-]{36}', '<uuid>') AS resolved_alert;
SELECT pg_temp.err(format('SELECT stockroute.acknowledge_alert(%L, repeat(''n'', 1001))',
                          (SELECT alert_id FROM ids WHERE kind = 'sync_gap')));
SELECT pg_temp.err($$SELECT stockroute.acknowledge_alert('not-a-uuid')$$);
SELECT pg_temp.err(format($$INSERT INTO stockroute.alert_ack (alert_id, acknowledged_by) VALUES (%L, 'someone_else')$$,
                          (SELECT alert_id FROM ids WHERE kind = 'sync_gap')));
SELECT pg_temp.err($$UPDATE stockroute.alert_ack SET note = 'rewritten'$$);
RESET ROLE;
SELECT * FROM pg_temp.counts;

-- Interventions --------------------------------------------------------------------

SET ROLE console_test_admin;
SELECT stockroute.record_intervention('set_node_status', '{"node_id": "A", "status": "offline", "reason": "dock flooded"}',
                                      true, '{"changed": true}', actor => 'ops on 127.0.0.1') IS NOT NULL AS recorded;
RESET ROLE;
SET ROLE console_test_app;
SELECT stockroute.record_intervention('reconcile', '{}', false, sqlstate => '42501',
                                      error => 'read-only login', actor => 'viewer') IS NOT NULL AS recorded;
RESET ROLE;
SELECT action, args, ok, result, sqlstate, error, actor, db_role, recorded_at >= :'t0' AS stamped
  FROM stockroute.intervention ORDER BY recorded_at;

SELECT * FROM pg_temp.counts;
SET ROLE console_test_app;
SELECT pg_temp.err($$SELECT stockroute.record_intervention(NULL, '{}', true)$$);
SELECT pg_temp.err($$SELECT stockroute.record_intervention('commit', NULL, true)$$);
SELECT pg_temp.err($$SELECT stockroute.record_intervention('commit', '{}', NULL)$$);
SELECT pg_temp.err($$SELECT stockroute.record_intervention('Commit now', '{}', true)$$);
SELECT pg_temp.err($$SELECT stockroute.record_intervention(repeat('a', 65), '{}', true)$$);
SELECT pg_temp.err($$SELECT stockroute.record_intervention('commit', '["SO-1"]', true)$$);
SELECT pg_temp.err($$SELECT stockroute.record_intervention('commit', '{}', false, sqlstate => 'sr001', error => 'x')$$);
SELECT pg_temp.err($$SELECT stockroute.record_intervention('commit', '{}', true, error => 'x')$$);
SELECT pg_temp.err($$SELECT stockroute.record_intervention('commit', '{}', false)$$);
SELECT pg_temp.err($$SELECT stockroute.record_intervention('commit', '{}', false, error => repeat('e', 4001))$$);
SELECT pg_temp.err($$SELECT stockroute.record_intervention('commit', '{}', true, actor => repeat('a', 257))$$);
-- the log is append-only, and written in the caller's name only
SELECT pg_temp.err($$INSERT INTO stockroute.intervention (action, ok, db_role) VALUES ('commit', true, 'someone_else')$$);
SELECT pg_temp.err($$UPDATE stockroute.intervention SET ok = true$$);
SELECT pg_temp.err($$DELETE FROM stockroute.intervention$$);
RESET ROLE;
SELECT * FROM pg_temp.counts;

-- Node secrets ---------------------------------------------------------------------

SET ROLE console_test_admin;
SELECT stockroute.set_node_secret('A', ('\x01' || repeat('ab', 40))::bytea, '0123456789abcdef') - 'set_at' AS first;
SELECT stockroute.set_node_secret('A', ('\x01' || repeat('cd', 40))::bytea, 'fedcba9876543210') - 'set_at' AS replaced;
RESET ROLE;
SELECT node_id, octet_length(sealed) AS bytes, key_id, set_by FROM stockroute.node_secret;

SELECT * FROM pg_temp.counts;
SET ROLE console_test_admin;
SELECT pg_temp.err($$SELECT stockroute.set_node_secret(NULL, '\x00', '0123456789abcdef')$$);
SELECT pg_temp.err($$SELECT stockroute.set_node_secret('A', NULL, '0123456789abcdef')$$);
SELECT pg_temp.err($$SELECT stockroute.set_node_secret('A', '\x01', NULL)$$);
SELECT pg_temp.err($$SELECT stockroute.set_node_secret('A', '\x0102', '0123456789abcdef')$$);
SELECT pg_temp.err($$SELECT stockroute.set_node_secret('A', decode(repeat('00', 1025), 'hex'), '0123456789abcdef')$$);
SELECT pg_temp.err($$SELECT stockroute.set_node_secret('A', decode(repeat('00', 40), 'hex'), '0123456789ABCDEF')$$);
SELECT pg_temp.err($$SELECT stockroute.set_node_secret('A', decode(repeat('00', 40), 'hex'), 'key-1')$$);
SELECT pg_temp.err($$SELECT stockroute.set_node_secret('NOPE', decode(repeat('00', 40), 'hex'), '0123456789abcdef')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.node_secret (node_id, sealed, key_id, set_by)
                     VALUES ('B', decode(repeat('00', 40), 'hex'), '0123456789abcdef', 'someone_else')$$);
SELECT pg_temp.err($$UPDATE stockroute.node_secret SET key_id = '0000000000000000'$$);
RESET ROLE;
SELECT * FROM pg_temp.counts;

-- What the other roles may not do --------------------------------------------------

SET ROLE console_test_app;
SELECT pg_temp.err($$SELECT stockroute.set_node_status('A', 'offline', 'x')$$);
SELECT pg_temp.err(format('SELECT stockroute.acknowledge_alert(%L)', (SELECT alert_id FROM ids WHERE kind = 'sync_gap')));
SELECT pg_temp.err($$SELECT stockroute.set_node_secret('A', decode(repeat('00', 40), 'hex'), '0123456789abcdef')$$);
SELECT pg_temp.err($$UPDATE stockroute.node SET status = 'offline'$$);
SELECT count(*) AS sealed_secrets_readable FROM stockroute.node_secret;
RESET ROLE;
SET ROLE console_test_feed;
SELECT pg_temp.err($$SELECT stockroute.record_intervention('reconcile', '{}', true)$$);
SELECT pg_temp.err($$SELECT count(*) FROM stockroute.intervention$$);
SELECT pg_temp.err($$SELECT count(*) FROM stockroute.node_secret$$);
RESET ROLE;
SELECT * FROM pg_temp.counts;

DROP VIEW pg_temp.counts;
DROP TABLE ids;
DELETE FROM stockroute.node_role;
DROP ROLE console_test_admin, console_test_app, console_test_feed;
