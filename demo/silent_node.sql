-- stockroute demo: a node's feed goes silent.  The Dallas 3PL gets a short
-- stale_after, sends one event, then nothing; reconcile() flags it stale,
-- raises a stale_node alert (also in the outbox, for consumers, and in the
-- exporter's metrics, which page through monitoring/alerts.yml), and routing
-- skips it until its next event.
--
--   psql -X -q -f demo/silent_node.sql      (after demo/network.sql)

\set ON_ERROR_STOP on
\pset footer off
SET stockroute.now = '2026-11-23 09:00:00+00';
SET TimeZone = 'UTC';

CREATE TEMP VIEW demo_dal AS
SELECT h.node_id, h.status, h.stale, h.routable, date_trunc('second', h.silent_for) AS silent_for,
       h.stale_after,
       (SELECT count(*) FROM stockroute.alert a
         WHERE a.node_id = h.node_id AND a.kind = 'stale_node' AND a.status = 'open') AS stale_alerts
  FROM stockroute.node_health h WHERE h.node_id = 'DAL-3PL';

\echo
\echo '=== 13. A node goes silent: DAL-3PL, stale after 2 seconds without an event ==='
\echo
UPDATE stockroute.node SET stale_after = interval '2 seconds' WHERE node_id = 'DAL-3PL';
SELECT r->>'applied' AS applied
  FROM stockroute.ingest(jsonb_build_array(jsonb_build_object(
           'node_id', 'DAL-3PL', 'idempotency_key', 'dal-demo-1', 'seq', 1, 'kind', 'receipt',
           'sku', 'FILTER-124', 'qty', 6, 'occurred_at', now()))) AS r;
SELECT * FROM demo_dal;

\echo '... 3 seconds without an event from DAL-3PL ...'
SELECT pg_sleep(3) \g /dev/null

\echo 'reconcile() (pg_cron runs it every minute; here by hand):'
SELECT r->>'stale' AS stale_nodes, r->>'low_stock' AS low_stock_alerts
  FROM stockroute.reconcile() AS r;
SELECT * FROM demo_dal;

\echo 'The alert, and its message to consumers (stockroute.outbox, also sent with NOTIFY stockroute):'
SELECT kind, node_id, status, detail->>'stale_after' AS stale_after FROM stockroute.alert
 WHERE kind = 'stale_node';
SELECT topic, payload->>'kind' AS kind, payload->>'node_id' AS node_id FROM stockroute.outbox
 WHERE topic = 'alert' AND payload->>'kind' = 'stale_node';
\echo 'With monitoring/ wired up, the exporter now serves'
\echo '  stockroute_node_silent_past_stale_after{node_id="DAL-3PL"} 1'
\echo 'and Prometheus pages (alert StockrouteNodeSilent) if it stays so for 5 minutes.'

\echo 'Routing skips the stale node: SO-1003 (Dallas) again, the nodes not chosen:'
SELECT c->>'node_id' AS node_id, c->>'reason' AS reason
  FROM jsonb_array_elements(stockroute.plan('{"order_ref": "SO-1003", "ship_to": {"lat": 32.78, "lon": -96.80,
        "country": "US", "region": "TX", "postal_code": "75201"}, "customer": {"id": "C-19", "segment": "tier3"},
        "lines": [{"line_ref": "1", "sku": "FILTER-124", "qty": 24}]}')->'explain'->'candidates') c
 WHERE c->>'node_id' = 'DAL-3PL';

\echo 'Its next event brings it back, and resolves the alert:'
SELECT r->>'applied' AS applied
  FROM stockroute.ingest(jsonb_build_array(jsonb_build_object(
           'node_id', 'DAL-3PL', 'idempotency_key', 'dal-demo-2', 'seq', 2, 'kind', 'adjust',
           'sku', 'FILTER-124', 'qty', -1, 'occurred_at', now()))) AS r;
SELECT * FROM demo_dal;
SELECT kind, node_id, status FROM stockroute.alert WHERE kind = 'stale_node';
