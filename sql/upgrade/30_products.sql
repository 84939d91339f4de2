-- Products (docs/routing.md, "Products"): region locks and shelf life on
-- item, lanes that carry hazmat apart.  Existing items get no locks and no
-- shelf-life requirement; existing lanes do not separate hazmat.

ALTER TABLE stockroute.item
    ADD COLUMN min_shelf_days integer CHECK (min_shelf_days BETWEEN 0 AND 36500),
    ADD COLUMN ship_to_allowed text[]
        CHECK (pg_catalog.cardinality(ship_to_allowed) = 0 OR
               pg_catalog.array_to_string(ship_to_allowed, '|', '*')
               ~ '^[A-Z]{2}(-[^|*]+)?(\|[A-Z]{2}(-[^|*]+)?)*$'),
    ADD COLUMN ship_to_denied text[]
        CHECK (pg_catalog.cardinality(ship_to_denied) = 0 OR
               pg_catalog.array_to_string(ship_to_denied, '|', '*')
               ~ '^[A-Z]{2}(-[^|*]+)?(\|[A-Z]{2}(-[^|*]+)?)*$'),
    ADD COLUMN ship_from_countries text[]
        CHECK (pg_catalog.cardinality(ship_from_countries) = 0 OR
               pg_catalog.array_to_string(ship_from_countries, '|', '*')
               ~ '^[A-Z]{2}(\|[A-Z]{2})*$');

COMMENT ON COLUMN stockroute.item.tags IS
    'product attributes such as hazmat (ships only from hazmat nodes, on lanes that carry hazmat), lot_tracked (filled from lots, first expiry first), perishable';
COMMENT ON COLUMN stockroute.item.min_shelf_days IS
    'lot-tracked SKUs: the least shelf life (days from the routing clock''s date to lot.expires_on) a lot must have left to fill a line; NULL: none';
COMMENT ON COLUMN stockroute.item.ship_to_allowed IS
    'destinations the SKU may ship to (export control, regional licensing): ''US'' a country, ''US-CA'' one region of it; NULL: anywhere; empty: nowhere';
COMMENT ON COLUMN stockroute.item.ship_to_denied IS
    'destinations the SKU may never ship to (embargo, regional bans), ''CU'' or ''US-CA''; wins over ship_to_allowed';
COMMENT ON COLUMN stockroute.item.ship_from_countries IS
    'countries (node.country) of the nodes that may ship the SKU (licence, country of stock); NULL: any node';

ALTER TABLE stockroute.lane
    ADD COLUMN hazmat_separate boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT lane_hazmat_separate_check CHECK (hazmat_ok OR NOT hazmat_separate);

COMMENT ON COLUMN stockroute.lane.mode IS
    'parcel, ltl, ftl, air, courier or ocean; with min_weight_kg and max_weight_kg it picks the lane by shipment weight';
COMMENT ON COLUMN stockroute.lane.hazmat_ok IS 'the lane may carry hazmat SKUs (a lane of mode air never does)';
COMMENT ON COLUMN stockroute.lane.hazmat_separate IS
    'hazmat lines on this lane travel in a shipment of their own: a node shipping hazmat and other lines makes two shipments';
