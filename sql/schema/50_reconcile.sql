-- stockroute, the tables and indexes of reconciliation (sql/50_reconcile.sql,
-- docs/sync.md).  A "create 0.1.0" part (sql/manifest): only the install
-- script runs it; an update changes these through its delta.

CREATE TABLE stockroute.reconcile_run (
    run_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz NOT NULL,
    duration        interval GENERATED ALWAYS AS (finished_at - started_at) STORED,
    expired         integer NOT NULL DEFAULT 0,
    drift           integer NOT NULL DEFAULT 0,
    stale           integer NOT NULL DEFAULT 0,
    shortfall       integer NOT NULL DEFAULT 0,
    rerouted        integer NOT NULL DEFAULT 0,
    backordered     integer NOT NULL DEFAULT 0,
    backorders_filled integer NOT NULL DEFAULT 0,
    low_stock       integer NOT NULL DEFAULT 0,
    summary         jsonb NOT NULL
);

CREATE INDEX reconcile_run_started_idx ON stockroute.reconcile_run (started_at);

COMMENT ON TABLE stockroute.reconcile_run IS
    'One row per reconcile() run: when, how long, what it found and did (summary is its reply)';
COMMENT ON COLUMN stockroute.reconcile_run.expired IS 'held reservations past expires_at it expired';
COMMENT ON COLUMN stockroute.reconcile_run.drift IS 'stock rows whose reserved it repaired (invariant 2 was broken)';
COMMENT ON COLUMN stockroute.reconcile_run.stale IS 'nodes it marked stale';
COMMENT ON COLUMN stockroute.reconcile_run.shortfall IS 'stock rows found with on_hand below reserved';
COMMENT ON COLUMN stockroute.reconcile_run.rerouted IS 'held units moved off a short node to other nodes';
COMMENT ON COLUMN stockroute.reconcile_run.backordered IS 'held units moved off a short node to backorder';
COMMENT ON COLUMN stockroute.reconcile_run.backorders_filled IS 'backordered units it reserved now that stock arrived';
COMMENT ON COLUMN stockroute.reconcile_run.low_stock IS 'low-stock alerts it opened';

SELECT pg_catalog.pg_extension_config_dump('stockroute.reconcile_run', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.reconcile_run_run_id_seq', '');

-- reconcile()'s low-stock check reads only rows with a reorder point.  The
-- predicate names reorder_point alone, which ingest and reservations never
-- write, so their updates of on_hand and reserved stay HOT.
CREATE INDEX stock_reorder_idx ON stockroute.stock (node_id, sku) WHERE reorder_point > 0;
