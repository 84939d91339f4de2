-- stockroute, the tables of operations: daily node capacity and a node's
-- rejection of its part of an order (sql/60_operations.sql, docs/routing.md:
-- Capacity, Rejection).  A "create 0.2.0" part (sql/manifest): created by
-- the install script and by the update from 0.1.0.

-- Capacity ----------------------------------------------------------------------
--
-- A node's load of a day is what it was given to ship that day: the orders
-- with at least one held, committed or fulfilled reservation counted there
-- that day, and their units.  The day is the node's local day (its
-- timezone) when the reservation was made, by the real clock (the
-- transaction's start), never the routing clock, which any session may
-- set.  Every active reservation is one node_load_entry (all nodes, so a
-- limit set in the middle of a day starts from what the node already has); a
-- node with a limit also has one node_load row per day, the counter
-- allocate() locks and plan() reads.  Releasing or expiring a reservation
-- before shipment gives its units (and, with the order's last one there,
-- the order) back; fulfilment keeps them: the node shipped them that day.

CREATE TABLE stockroute.node_load (
    node_id         text NOT NULL REFERENCES stockroute.node ON UPDATE CASCADE ON DELETE CASCADE,
    day             date NOT NULL,
    orders          integer NOT NULL DEFAULT 0 CHECK (orders >= 0),
    units           bigint NOT NULL DEFAULT 0 CHECK (units >= 0),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (node_id, day)
);

COMMENT ON TABLE stockroute.node_load IS
    'Per node with a daily limit and local day: orders and units it was given; maintained by the reservation triggers, locked by every allocation there';
COMMENT ON COLUMN stockroute.node_load.day IS 'the node''s local day (its timezone), by the real clock';
COMMENT ON COLUMN stockroute.node_load.orders IS
    'orders with a held, committed or fulfilled reservation counted at the node that day';
COMMENT ON COLUMN stockroute.node_load.units IS 'units of those reservations';

CREATE TABLE stockroute.node_load_entry (
    sku             text NOT NULL,
    reservation_id  uuid NOT NULL,
    node_id         text NOT NULL,
    day             date NOT NULL,
    order_ref       text NOT NULL,
    qty             bigint NOT NULL CHECK (qty > 0),
    -- keyed like reservation, so both can be co-located by sku
    PRIMARY KEY (sku, reservation_id)
);

CREATE INDEX node_load_entry_day_idx ON stockroute.node_load_entry (node_id, day, order_ref);

COMMENT ON TABLE stockroute.node_load_entry IS
    'One row per held, committed or fulfilled reservation: the node and local day its units count against; maintained by the reservation triggers';
COMMENT ON COLUMN stockroute.node_load_entry.day IS
    'the node''s local day, by the real clock (the transaction''s start), when the reservation was made';

-- Rejection -----------------------------------------------------------------------

CREATE TABLE stockroute.order_exclusion (
    exclusion_id    uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    order_ref       text NOT NULL CHECK (order_ref <> ''),
    node_id         text NOT NULL REFERENCES stockroute.node ON UPDATE CASCADE ON DELETE CASCADE,
    reason          text NOT NULL CHECK (reason <> ''),
    expires_at      timestamptz NOT NULL,
    decision_id     uuid,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);

-- routing reads an order's exclusions; node_health counts a node's rejections
CREATE INDEX order_exclusion_order_idx ON stockroute.order_exclusion (order_ref, expires_at);
CREATE INDEX order_exclusion_node_idx ON stockroute.order_exclusion (node_id, created_at);

COMMENT ON TABLE stockroute.order_exclusion IS
    'A node''s rejection of its part of an order: routing does not use the node for that order until expires_at (at the routing clock)';
COMMENT ON COLUMN stockroute.order_exclusion.reason IS 'why the node refused, as it said';
COMMENT ON COLUMN stockroute.order_exclusion.expires_at IS
    'routing clock time after which the node may be used for the order again';
COMMENT ON COLUMN stockroute.order_exclusion.decision_id IS 'the reject decision that recorded it';

-- pg_dump keeps them: an exact-copy restore (session_replication_role =
-- replica) brings the day's counts back as they were, a plain one restores
-- the entries before the reservations (by name), which then count nothing twice
SELECT pg_catalog.pg_extension_config_dump('stockroute.node_load', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.node_load_entry', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.order_exclusion', '');
