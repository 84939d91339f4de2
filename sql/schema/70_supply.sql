-- stockroute, the tables of future supply and order priority
-- (sql/70_supply.sql; docs/routing.md, "Supply and promise dates",
-- "Priority and preemption").  A "create 0.2.0" part (sql/manifest): created
-- by the install script and by the update from 0.1.0.

-- Tables ----------------------------------------------------------------------

CREATE TABLE stockroute.supply (
    supply_id       uuid NOT NULL DEFAULT gen_random_uuid(),
    node_id         text NOT NULL REFERENCES stockroute.node ON UPDATE CASCADE,
    sku             text NOT NULL REFERENCES stockroute.item ON UPDATE CASCADE,
    qty             bigint NOT NULL CHECK (qty > 0),
    received_qty    bigint NOT NULL DEFAULT 0 CHECK (received_qty >= 0),
    expected_on     date NOT NULL,
    ref             text NOT NULL CHECK (ref <> ''),
    kind            text NOT NULL DEFAULT 'po' CHECK (kind IN ('po', 'transfer')),
    from_node_id    text REFERENCES stockroute.node ON UPDATE CASCADE,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'received', 'cancelled')),
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    received_at     timestamptz,
    -- keyed by sku first, like stock and reservation (co-location by sku)
    PRIMARY KEY (sku, supply_id),
    UNIQUE (sku, node_id, ref),
    CHECK (kind = 'transfer' OR from_node_id IS NULL),
    CHECK (from_node_id IS DISTINCT FROM node_id)
);

CREATE INDEX supply_open_idx ON stockroute.supply (sku, expected_on) WHERE status = 'open';
CREATE INDEX supply_ref_idx ON stockroute.supply (ref);

COMMENT ON TABLE stockroute.supply IS
    'Incoming stock: purchase orders and transfers in transit, by node, SKU and expected date; counted in available()''s promise and in backorder promise dates';
COMMENT ON COLUMN stockroute.supply.qty IS 'units expected';
COMMENT ON COLUMN stockroute.supply.received_qty IS
    'units received so far: the sum of the claimed receipt events whose supply_ref names this row (maintained from event)';
COMMENT ON COLUMN stockroute.supply.expected_on IS
    'date the units are expected to be available at node_id; a date in the past counts as today (overdue)';
COMMENT ON COLUMN stockroute.supply.ref IS
    'purchase order or transfer reference; receipt events name it as "supply_ref"; unique per (sku, node_id)';
COMMENT ON COLUMN stockroute.supply.kind IS 'po (purchase order) or transfer (from from_node_id)';
COMMENT ON COLUMN stockroute.supply.from_node_id IS 'source node of a transfer';
COMMENT ON COLUMN stockroute.supply.status IS
    'open: expected; received: received_qty reached qty (or closed by hand); cancelled: will not come';
COMMENT ON COLUMN stockroute.supply.received_at IS 'when the row became received';

CREATE TABLE stockroute.segment_priority (
    segment         text PRIMARY KEY CHECK (segment <> ''),
    priority        integer NOT NULL,
    description     text NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE stockroute.segment_priority IS
    'Priority of the orders of a customer segment (customer.segment), for orders without a "priority" key: higher is served first';

-- receipts name their supply in the event payload
CREATE INDEX event_supply_ref_idx ON stockroute.event (sku, node_id, (payload ->> 'supply_ref'))
    WHERE kind = 'receipt' AND payload ? 'supply_ref';

SELECT pg_catalog.pg_extension_config_dump('stockroute.supply', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.segment_priority', '');
