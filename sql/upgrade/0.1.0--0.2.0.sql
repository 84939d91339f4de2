-- stockroute 0.1.0 -> 0.2.0: the changes to what 0.1.0 created that no
-- other part makes.  A "delta 0.2.0" part (sql/manifest): only the update
-- from 0.1.0 runs it, after the calendars (sql/schema/05_calendar.sql) and
-- before the other parts, which then create the tables, functions,
-- triggers and views of 0.2.0 or replace those of 0.1.0 (see sql/README.md).
-- test/scripts/upgrade.sh proves that the update gives a fresh install's
-- catalog.

-- Inventory sync and reconciliation ---------------------------------------------

-- alerts name the lot of a lot shortfall; one open alert per (kind, node,
-- sku, lot)
ALTER TABLE stockroute.alert ADD COLUMN lot_code text;
COMMENT ON COLUMN stockroute.alert.lot_code IS
    'the lot of a lot shortfall (its on_hand below its reserved); NULL for alerts about a stock row or a node';
DROP INDEX stockroute.alert_open_idx;
CREATE UNIQUE INDEX alert_open_idx
    ON stockroute.alert (kind, coalesce(node_id, ''), coalesce(sku, ''), coalesce(lot_code, ''))
    WHERE status = 'open';

-- ingest() is C now (sql/40_sync.sql replaces it): its PL/pgSQL row type goes
DROP TYPE stockroute.ingest_item;

-- reconcile()'s low-stock check reads a partial index
CREATE INDEX stock_reorder_idx ON stockroute.stock (node_id, sku) WHERE reorder_point > 0;

-- the decision log is read by time: monitoring's rates (monitoring/queries.yaml),
-- replay()'s window
CREATE INDEX decision_created_idx ON stockroute.decision (created_at);

-- Time and ETA --------------------------------------------------------------------
-- Existing nodes and lanes get Monday to Friday and no calendar, so their
-- ETAs now skip weekends.

ALTER TABLE stockroute.node
    ADD COLUMN ship_weekdays integer[] NOT NULL DEFAULT '{1,2,3,4,5}'
        CHECK (pg_catalog.cardinality(ship_weekdays) > 0
               AND pg_catalog.array_ndims(ship_weekdays) = 1
               AND ship_weekdays <@ '{1,2,3,4,5,6,7}'::integer[]),
    ADD COLUMN calendar text REFERENCES stockroute.calendar ON UPDATE CASCADE;

COMMENT ON COLUMN stockroute.node.timezone IS
    'IANA time zone of the node: its cutoff, its local date and its holidays are in this zone';
COMMENT ON COLUMN stockroute.node.ship_weekdays IS
    'ISO weekdays (1 Monday .. 7 Sunday) on which the node ships; default Monday to Friday';
COMMENT ON COLUMN stockroute.node.calendar IS
    'holiday calendar of the node: no shipping on its days; NULL: no holidays';

ALTER TABLE stockroute.lane
    ADD COLUMN transit_weekdays integer[] NOT NULL DEFAULT '{1,2,3,4,5}'
        CHECK (pg_catalog.cardinality(transit_weekdays) > 0
               AND pg_catalog.array_ndims(transit_weekdays) = 1
               AND transit_weekdays <@ '{1,2,3,4,5,6,7}'::integer[]),
    ADD COLUMN calendar text REFERENCES stockroute.calendar ON UPDATE CASCADE;

COMMENT ON COLUMN stockroute.lane.transit_days IS
    'days in transit, counted in transit_weekdays outside the holidays of calendar';
COMMENT ON COLUMN stockroute.lane.transit_weekdays IS
    'ISO weekdays (1 Monday .. 7 Sunday) on which the carrier moves and delivers; default Monday to Friday (ground parcel)';
COMMENT ON COLUMN stockroute.lane.calendar IS
    'holiday calendar of the carrier on this lane: no transit or delivery on its days; NULL: the node''s calendar';

-- Products --------------------------------------------------------------------------
-- Existing items get no locks and no shelf-life requirement; existing lanes
-- do not separate hazmat.

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

-- Routing rules -------------------------------------------------------------------
-- Rules already stored are not re-checked here; touching one validates it
-- (UPDATE stockroute.rule SET rule_id = rule_id checks them all), and routing
-- skips and reports a rule it cannot read.

COMMENT ON COLUMN stockroute.rule.match IS
    'when the rule applies: segment, customer_id, customer_tag, payment, country, country_not (the order), sku, sku_tag (its lines); each a string or an array of strings (any of them); every key present must hold; {} matches every order';
COMMENT ON COLUMN stockroute.rule.effect IS
    'what it does: require_nodes, forbid_nodes, prefer_nodes with bonus, require_node_tags, profile, min_node_available, max_cost / max_days (with else_profile: the fallback profile), local_km';
COMMENT ON COLUMN stockroute.rule.priority IS
    'rules apply in (priority, rule_id) order; the first rule setting a profile or fallback wins, exclusions accumulate';
COMMENT ON COLUMN stockroute.rule.enabled IS 'only enabled rules apply';
COMMENT ON COLUMN stockroute.rule.valid_from IS
    'the rule applies from this time on (routing clock stockroute.now); NULL: always has';
COMMENT ON COLUMN stockroute.rule.valid_until IS
    'the rule applies until just before this time; NULL: no end';
COMMENT ON COLUMN stockroute.rule.updated_at IS 'set by the rule_validate trigger on every update';

-- Operations: capacity, rejection, pickup --------------------------------------------

ALTER TABLE stockroute.node
    ADD COLUMN daily_order_limit integer CHECK (daily_order_limit >= 0),
    ADD COLUMN daily_unit_limit  bigint CHECK (daily_unit_limit >= 0);
COMMENT ON COLUMN stockroute.node.daily_order_limit IS
    'most orders the node may be given a shipment of per local day (its timezone, by the real clock); NULL: no limit';
COMMENT ON COLUMN stockroute.node.daily_unit_limit IS
    'most units the node may be given to ship per local day (its timezone, by the real clock); NULL: no limit';

ALTER TABLE stockroute.profile
    ADD COLUMN w_capacity          float8 NOT NULL DEFAULT 0 CHECK (w_capacity >= 0 AND w_capacity < 'Infinity'),
    ADD COLUMN allow_pickup_transfer boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN stockroute.profile.w_capacity IS
    'score per shipment from a node with a daily limit, times the share of that limit already used today (0..1)';
COMMENT ON COLUMN stockroute.profile.allow_pickup_transfer IS
    'pickup orders: units the pickup node lacks may come by transfer from other nodes (false: they stay unfilled)';

-- Supply and priority -----------------------------------------------------------------

-- place_units goes: backorders and shortfalls are placed by the routing core
-- (fill_backorders and shortfall_reroute, src/replace.c)
DROP FUNCTION stockroute.place_units(text, text, text, bigint, text, jsonb);

COMMENT ON COLUMN stockroute.backorder.priority IS
    'higher is served first when stock arrives (then older first); 0 on insert means "from the order": its "priority" key, else its customer segment''s segment_priority, else 0';
COMMENT ON COLUMN stockroute.backorder.promised_on IS
    'date the units are expected to be available to ship, from stock and open supply taken by the open backorders in service order; NULL when no known supply covers them (maintained)';
COMMENT ON COLUMN stockroute.backorder.order_doc IS
    'the order as allocated, used to place the units when stock arrives';
