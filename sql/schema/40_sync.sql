-- stockroute, the tables and indexes of inventory sync (sql/40_sync.sql,
-- docs/sync.md).  A "create 0.1.0" part (sql/manifest): only the install
-- script runs it; an update changes these through its delta.

-- ingest, seen here as DAL-3PL's webhook would see it; the recent-latency
-- index serves node_health
CREATE INDEX event_node_received_idx ON stockroute.event (node_id, received_at);

-- Flat files ---------------------------------------------------------------------

CREATE TABLE stockroute.event_staging (
    staged_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id         text,
    idempotency_key text,
    seq             text,
    kind            text,
    sku             text,
    qty             text,
    lot_code        text,
    occurred_at     text,
    order_ref       text,
    file_name       text DEFAULT nullif(pg_catalog.current_setting('stockroute.staging_file', true), ''),
    line_no         bigint,
    staged_at       timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE INDEX event_staging_file_idx ON stockroute.event_staging (file_name, staged_id);

-- staged rows not yet ingested survive a dump and restore
SELECT pg_catalog.pg_extension_config_dump('stockroute.event_staging', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.event_staging_staged_id_seq', '');

COMMENT ON TABLE stockroute.event_staging IS
    'Events from flat files, as text, waiting for ingest_staged(): \copy stockroute.event_staging (node_id, idempotency_key, seq, kind, sku, qty, lot_code, occurred_at, order_ref) FROM ''x.csv'' CSV HEADER';
COMMENT ON COLUMN stockroute.event_staging.file_name IS
    'source file; defaults to the setting stockroute.staging_file';
COMMENT ON COLUMN stockroute.event_staging.line_no IS
    'line in the file; NULL means the row''s position among the file''s staged rows plus one (a header line)';
