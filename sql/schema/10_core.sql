-- stockroute, the core tables: locations, items, stock, lots, lanes,
-- profiles, rules, reservations, events, decisions, backorders, alerts,
-- outbox, as the current version has them.  A "create 0.1.0" part
-- (sql/manifest): only the install script runs it; an update reaches these
-- tables through its delta (sql/upgrade/), which alters what the release
-- before has into what is here.

-- Locations -----------------------------------------------------------------

CREATE TABLE stockroute.node (
    node_id         text PRIMARY KEY CHECK (node_id <> ''),
    name            text NOT NULL DEFAULT '',
    kind            text NOT NULL DEFAULT 'warehouse'
                    CHECK (kind ~ '^[a-z0-9_]+$'),
    lat             float8 CHECK (lat BETWEEN -90 AND 90),
    lon             float8 CHECK (lon BETWEEN -180 AND 180),
    country         text CHECK (country ~ '^[A-Z]{2}$'),
    region          text,
    postal_code     text,
    status          text NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'offline', 'draining')),
    handling_days   integer NOT NULL DEFAULT 1 CHECK (handling_days BETWEEN 0 AND 365),
    cutoff          time,
    timezone        text NOT NULL DEFAULT 'UTC'
                    -- an unknown zone raises "time zone ... not recognized"
                    CHECK (('2000-01-01 00:00+00'::timestamptz AT TIME ZONE timezone) IS NOT NULL),
    tags            text[] NOT NULL DEFAULT '{}',
    priority        integer NOT NULL DEFAULT 0,
    stale_after     interval NOT NULL DEFAULT '1 day' CHECK (stale_after > '0'::interval),
    last_event_at   timestamptz,
    -- inventory sync (sql/40_sync.sql, docs/sync.md)
    last_occurred_at timestamptz,
    stale           boolean NOT NULL DEFAULT false,
    seq_min         bigint,
    seq_max         bigint,
    seq_count       bigint NOT NULL DEFAULT 0 CHECK (seq_count >= 0),
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- shipping days (docs/routing.md, "Time and ETA")
    ship_weekdays   integer[] NOT NULL DEFAULT '{1,2,3,4,5}'
                    CHECK (pg_catalog.cardinality(ship_weekdays) > 0
                           AND pg_catalog.array_ndims(ship_weekdays) = 1
                           AND ship_weekdays <@ '{1,2,3,4,5,6,7}'::integer[]),
    calendar        text REFERENCES stockroute.calendar ON UPDATE CASCADE,
    -- daily capacity (sql/60_operations.sql, docs/routing.md#capacity)
    daily_order_limit integer CHECK (daily_order_limit >= 0),
    daily_unit_limit  bigint CHECK (daily_unit_limit >= 0),
    CHECK ((lat IS NULL) = (lon IS NULL))
);

COMMENT ON TABLE stockroute.node IS
    'A stock location (warehouse, 3PL, store backroom, partner) that can ship orders';
COMMENT ON COLUMN stockroute.node.status IS
    'active: routable; draining: keeps its reservations, takes no new ones; offline: takes nothing';
COMMENT ON COLUMN stockroute.node.handling_days IS
    'pick-pack-ship days before a shipment leaves the node';
COMMENT ON COLUMN stockroute.node.cutoff IS
    'local time (in timezone) after which an order ships the next shipping day';
COMMENT ON COLUMN stockroute.node.timezone IS
    'IANA time zone of the node: its cutoff, its local date and its holidays are in this zone';
COMMENT ON COLUMN stockroute.node.ship_weekdays IS
    'ISO weekdays (1 Monday .. 7 Sunday) on which the node ships; default Monday to Friday';
COMMENT ON COLUMN stockroute.node.calendar IS
    'holiday calendar of the node: no shipping on its days; NULL: no holidays';
COMMENT ON COLUMN stockroute.node.tags IS
    'capabilities such as hazmat, bonded, ltl, cold_chain';
COMMENT ON COLUMN stockroute.node.stale_after IS
    'the node is stale when no event arrived for this long';
COMMENT ON COLUMN stockroute.node.last_event_at IS
    'time of the last inventory event received from the node (maintained by ingest)';
COMMENT ON COLUMN stockroute.node.last_occurred_at IS
    'latest occurred_at of the events the node sent (maintained by ingest)';
COMMENT ON COLUMN stockroute.node.stale IS
    'no event for longer than stale_after (set by reconcile, cleared by the next event); routing must skip stale nodes';
COMMENT ON COLUMN stockroute.node.seq_min IS 'lowest event seq received from the node';
COMMENT ON COLUMN stockroute.node.seq_max IS 'highest event seq received from the node';
COMMENT ON COLUMN stockroute.node.seq_count IS
    'events with a seq received from the node; fewer than seq_max - seq_min + 1 is a sync gap';
COMMENT ON COLUMN stockroute.node.daily_order_limit IS
    'most orders the node may be given a shipment of per local day (its timezone, by the real clock); NULL: no limit';
COMMENT ON COLUMN stockroute.node.daily_unit_limit IS
    'most units the node may be given to ship per local day (its timezone, by the real clock); NULL: no limit';

-- Items ---------------------------------------------------------------------

CREATE TABLE stockroute.item (
    sku             text PRIMARY KEY CHECK (sku <> ''),
    name            text NOT NULL DEFAULT '',
    weight_kg       float8 NOT NULL DEFAULT 0
                    CHECK (weight_kg >= 0 AND weight_kg < 'Infinity'::float8),
    tags            text[] NOT NULL DEFAULT '{}',
    allowed_nodes   text[],
    hold_ttl        interval CHECK (hold_ttl > '0'::interval),
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- products (docs/routing.md, "Products"); places are 'CC' or 'CC-REGION'
    min_shelf_days  integer CHECK (min_shelf_days BETWEEN 0 AND 36500),
    ship_to_allowed text[]
                    CHECK (pg_catalog.cardinality(ship_to_allowed) = 0 OR
                           pg_catalog.array_to_string(ship_to_allowed, '|', '*')
                           ~ '^[A-Z]{2}(-[^|*]+)?(\|[A-Z]{2}(-[^|*]+)?)*$'),
    ship_to_denied  text[]
                    CHECK (pg_catalog.cardinality(ship_to_denied) = 0 OR
                           pg_catalog.array_to_string(ship_to_denied, '|', '*')
                           ~ '^[A-Z]{2}(-[^|*]+)?(\|[A-Z]{2}(-[^|*]+)?)*$'),
    ship_from_countries text[]
                    CHECK (pg_catalog.cardinality(ship_from_countries) = 0 OR
                           pg_catalog.array_to_string(ship_from_countries, '|', '*')
                           ~ '^[A-Z]{2}(\|[A-Z]{2})*$')
);

COMMENT ON TABLE stockroute.item IS 'A stock-keeping unit';
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
COMMENT ON COLUMN stockroute.item.allowed_nodes IS 'nodes allowed to ship this SKU; NULL means all';
COMMENT ON COLUMN stockroute.item.hold_ttl IS
    'lifetime of a held reservation of this SKU; NULL means stockroute.default_hold_ttl';

-- Stock ---------------------------------------------------------------------

CREATE TABLE stockroute.stock (
    node_id         text NOT NULL REFERENCES stockroute.node ON UPDATE CASCADE,
    sku             text NOT NULL REFERENCES stockroute.item ON UPDATE CASCADE,
    on_hand         bigint NOT NULL DEFAULT 0,
    reserved        bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    safety_stock    bigint NOT NULL DEFAULT 0 CHECK (safety_stock >= 0),
    reorder_point   bigint NOT NULL DEFAULT 0 CHECK (reorder_point >= 0),
    available       bigint GENERATED ALWAYS AS
                    (GREATEST(on_hand - reserved - safety_stock, 0)) STORED,
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    counted_at      timestamptz,
    count_key       text,
    PRIMARY KEY (node_id, sku)
);

-- routing reads every node holding one SKU
CREATE INDEX stock_sku_idx ON stockroute.stock (sku);

COMMENT ON TABLE stockroute.stock IS 'Units of a SKU at a node';
COMMENT ON COLUMN stockroute.stock.on_hand IS
    'physical units at the node; may go below reserved (a shortfall) because physical truth is never rejected';
COMMENT ON COLUMN stockroute.stock.reserved IS
    'units held or committed by active reservations; maintained by triggers, never written directly';
COMMENT ON COLUMN stockroute.stock.safety_stock IS 'units never promised to orders';
COMMENT ON COLUMN stockroute.stock.reorder_point IS 'low-stock threshold for alerts and inventory balancing';
COMMENT ON COLUMN stockroute.stock.available IS
    'units that can be promised: on_hand - reserved - safety_stock, never below zero';
COMMENT ON COLUMN stockroute.stock.counted_at IS
    'occurred_at of the count event in force; deltas that occurred at or before it are superseded (maintained by ingest)';
COMMENT ON COLUMN stockroute.stock.count_key IS
    'idempotency_key of the count event in force (breaks ties between counts at the same time)';

CREATE TABLE stockroute.lot (
    node_id         text NOT NULL,
    sku             text NOT NULL,
    lot_code        text NOT NULL CHECK (lot_code <> ''),
    on_hand         bigint NOT NULL DEFAULT 0,
    reserved        bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    expires_on      date,
    attrs           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attrs) = 'object'),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    counted_at      timestamptz,
    count_key       text,
    PRIMARY KEY (node_id, sku, lot_code),
    FOREIGN KEY (node_id, sku) REFERENCES stockroute.stock ON UPDATE CASCADE
);

CREATE INDEX lot_sku_expiry_idx ON stockroute.lot (sku, expires_on);

COMMENT ON TABLE stockroute.lot IS 'Lots of lot-tracked SKUs at a node, with expiry and attributes';
COMMENT ON COLUMN stockroute.lot.reserved IS
    'units of the lot held or committed by active reservations; maintained by triggers';
COMMENT ON COLUMN stockroute.lot.attrs IS 'certifications, batch and other lot attributes';
COMMENT ON COLUMN stockroute.lot.counted_at IS 'occurred_at of the lot count event in force (maintained by ingest)';
COMMENT ON COLUMN stockroute.lot.count_key IS 'idempotency_key of the lot count event in force';

-- Shipping lanes and routing policy ------------------------------------------

CREATE TABLE stockroute.lane (
    lane_id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    node_id         text NOT NULL REFERENCES stockroute.node ON UPDATE CASCADE ON DELETE CASCADE,
    country         text CHECK (country ~ '^[A-Z]{2}$'),
    region          text,
    postal_prefix   text,
    service         text NOT NULL DEFAULT 'ground' CHECK (service <> ''),
    mode            text NOT NULL DEFAULT 'parcel'
                    CHECK (mode IN ('parcel', 'ltl', 'ftl', 'air', 'courier', 'ocean')),
    base_cost       float8 NOT NULL DEFAULT 0 CHECK (base_cost >= 0 AND base_cost < 'Infinity'),
    per_kg          float8 NOT NULL DEFAULT 0 CHECK (per_kg >= 0 AND per_kg < 'Infinity'),
    per_unit        float8 NOT NULL DEFAULT 0 CHECK (per_unit >= 0 AND per_unit < 'Infinity'),
    transit_days    integer NOT NULL CHECK (transit_days BETWEEN 0 AND 365),
    min_weight_kg   float8 NOT NULL DEFAULT 0 CHECK (min_weight_kg >= 0),
    max_weight_kg   float8 CHECK (max_weight_kg > min_weight_kg),
    hazmat_ok       boolean NOT NULL DEFAULT false,
    -- transit days (docs/routing.md, "Time and ETA")
    transit_weekdays integer[] NOT NULL DEFAULT '{1,2,3,4,5}'
                    CHECK (pg_catalog.cardinality(transit_weekdays) > 0
                           AND pg_catalog.array_ndims(transit_weekdays) = 1
                           AND transit_weekdays <@ '{1,2,3,4,5,6,7}'::integer[]),
    calendar        text REFERENCES stockroute.calendar ON UPDATE CASCADE,
    CHECK (region IS NULL OR country IS NOT NULL),
    CHECK (postal_prefix IS NULL OR country IS NOT NULL),
    -- products (docs/routing.md, "Products")
    hazmat_separate boolean NOT NULL DEFAULT false,
    CONSTRAINT lane_hazmat_separate_check CHECK (hazmat_ok OR NOT hazmat_separate)
);

CREATE INDEX lane_node_idx ON stockroute.lane (node_id, country);

COMMENT ON TABLE stockroute.lane IS
    'Shipping rate from a node to a destination (country, region or postal prefix; NULL matches any)';
COMMENT ON COLUMN stockroute.lane.mode IS
    'parcel, ltl, ftl, air, courier or ocean; with min_weight_kg and max_weight_kg it picks the lane by shipment weight';
COMMENT ON COLUMN stockroute.lane.hazmat_ok IS 'the lane may carry hazmat SKUs (a lane of mode air never does)';
COMMENT ON COLUMN stockroute.lane.hazmat_separate IS
    'hazmat lines on this lane travel in a shipment of their own: a node shipping hazmat and other lines makes two shipments';
COMMENT ON COLUMN stockroute.lane.transit_days IS
    'days in transit, counted in transit_weekdays outside the holidays of calendar';
COMMENT ON COLUMN stockroute.lane.transit_weekdays IS
    'ISO weekdays (1 Monday .. 7 Sunday) on which the carrier moves and delivers; default Monday to Friday (ground parcel)';
COMMENT ON COLUMN stockroute.lane.calendar IS
    'holiday calendar of the carrier on this lane: no transit or delivery on its days; NULL: the node''s calendar';

CREATE TABLE stockroute.profile_history (
    profile_name    text NOT NULL,
    version         integer NOT NULL,
    definition      jsonb NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (profile_name, version)
);

COMMENT ON TABLE stockroute.profile_history IS
    'Every version of every profile, so past decisions can be explained and replayed';

CREATE TABLE stockroute.profile (
    profile_name        text PRIMARY KEY CHECK (profile_name ~ '^[a-z0-9_]+$'),
    version             integer NOT NULL DEFAULT 1 CHECK (version > 0),
    description         text NOT NULL DEFAULT '',
    builtin             boolean NOT NULL DEFAULT false,
    w_cost              float8 NOT NULL DEFAULT 1 CHECK (w_cost >= 0 AND w_cost < 'Infinity'),
    w_days              float8 NOT NULL DEFAULT 1 CHECK (w_days >= 0 AND w_days < 'Infinity'),
    w_late              float8 NOT NULL DEFAULT 0 CHECK (w_late >= 0 AND w_late < 'Infinity'),
    w_distance          float8 NOT NULL DEFAULT 0 CHECK (w_distance >= 0 AND w_distance < 'Infinity'),
    w_balance           float8 NOT NULL DEFAULT 0 CHECK (w_balance >= 0 AND w_balance < 'Infinity'),
    split_penalty       float8 NOT NULL DEFAULT 0 CHECK (split_penalty >= 0 AND split_penalty < 'Infinity'),
    backorder_penalty   float8 NOT NULL DEFAULT 1000
                        CHECK (backorder_penalty >= 0 AND backorder_penalty < 'Infinity'),
    max_shipments       integer NOT NULL DEFAULT 0 CHECK (max_shipments >= 0),
    allow_partial       boolean NOT NULL DEFAULT true,
    ship_complete       boolean NOT NULL DEFAULT false,
    late_policy         text NOT NULL DEFAULT 'penalize' CHECK (late_policy IN ('penalize', 'exclude')),
    -- distance cost model used where no lane matches (Jasin & Sinha 2015)
    dist_fixed          float8 NOT NULL DEFAULT 8.759 CHECK (dist_fixed >= 0 AND dist_fixed < 'Infinity'),
    dist_per_unit       float8 NOT NULL DEFAULT 0.423 CHECK (dist_per_unit >= 0 AND dist_per_unit < 'Infinity'),
    dist_per_unit_mile  float8 NOT NULL DEFAULT 0.000541
                        CHECK (dist_per_unit_mile >= 0 AND dist_per_unit_mile < 'Infinity'),
    updated_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- operations (sql/60_operations.sql, docs/routing.md#capacity, #pickup)
    w_capacity          float8 NOT NULL DEFAULT 0 CHECK (w_capacity >= 0 AND w_capacity < 'Infinity'),
    allow_pickup_transfer boolean NOT NULL DEFAULT false,
    -- the trigger records each version before the row is written; the key
    -- also makes pg_restore load the history first
    FOREIGN KEY (profile_name, version) REFERENCES stockroute.profile_history
);

COMMENT ON TABLE stockroute.profile IS
    'Named routing policy; every change bumps version and is kept in profile_history';
COMMENT ON COLUMN stockroute.profile.builtin IS
    'shipped with the extension (default, cheapest, fastest, closest); read-only';
COMMENT ON COLUMN stockroute.profile.max_shipments IS '0 means no limit';
COMMENT ON COLUMN stockroute.profile.backorder_penalty IS 'score per unit left unfilled';
COMMENT ON COLUMN stockroute.profile.late_policy IS
    'penalize: lateness against need_by costs w_late per day; exclude: late nodes are not used';
COMMENT ON COLUMN stockroute.profile.w_capacity IS
    'score per shipment from a node with a daily limit, times the share of that limit already used today (0..1)';
COMMENT ON COLUMN stockroute.profile.allow_pickup_transfer IS
    'pickup orders: units the pickup node lacks may come by transfer from other nodes (false: they stay unfilled)';

CREATE TABLE stockroute.rule (
    rule_id         text PRIMARY KEY CHECK (rule_id <> ''),
    description     text NOT NULL DEFAULT '',
    match           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(match) = 'object'),
    effect          jsonb NOT NULL CHECK (jsonb_typeof(effect) = 'object'),
    priority        integer NOT NULL DEFAULT 100,
    enabled         boolean NOT NULL DEFAULT true,
    valid_from      timestamptz,
    valid_until     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CHECK (valid_until > valid_from)
);

CREATE INDEX rule_priority_idx ON stockroute.rule (priority, rule_id) WHERE enabled;

COMMENT ON TABLE stockroute.rule IS
    'Buyer- and product-aware routing rules as data: when match holds, effect applies (lower priority first)';
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

-- Reservations ----------------------------------------------------------------

CREATE TABLE stockroute.reservation (
    reservation_id  uuid NOT NULL DEFAULT gen_random_uuid(),
    order_ref       text NOT NULL CHECK (order_ref <> ''),
    line_ref        text NOT NULL CHECK (line_ref <> ''),
    sku             text NOT NULL,
    node_id         text NOT NULL,
    lot_code        text,
    qty             bigint NOT NULL CHECK (qty > 0),
    status          text NOT NULL DEFAULT 'held'
                    CHECK (status IN ('held', 'committed', 'fulfilled', 'released', 'expired')),
    expires_at      timestamptz,
    idempotency_key text CHECK (idempotency_key <> ''),
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    committed_at    timestamptz,
    closed_at       timestamptz,
    CHECK (status <> 'held' OR expires_at IS NOT NULL),
    -- keyed by sku first so stock, lot and reservation can be co-located by sku
    PRIMARY KEY (sku, reservation_id),
    UNIQUE (sku, idempotency_key),
    FOREIGN KEY (node_id, sku) REFERENCES stockroute.stock ON UPDATE CASCADE,
    FOREIGN KEY (node_id, sku, lot_code) REFERENCES stockroute.lot ON UPDATE CASCADE
);

CREATE INDEX reservation_order_idx ON stockroute.reservation (order_ref);
CREATE INDEX reservation_held_expiry_idx ON stockroute.reservation (expires_at)
    WHERE status = 'held';
CREATE INDEX reservation_active_idx ON stockroute.reservation (node_id, sku)
    WHERE status IN ('held', 'committed');

COMMENT ON TABLE stockroute.reservation IS
    'Units promised to an order line at a node: held -> committed -> fulfilled; held/committed -> released; held -> expired';
COMMENT ON COLUMN stockroute.reservation.expires_at IS 'a held reservation lapses at this time';
COMMENT ON COLUMN stockroute.reservation.idempotency_key IS
    'caller key; a retried reserve() with the same (sku, key) returns the first result';

-- Events, decisions, follow-up work --------------------------------------------

CREATE TABLE stockroute.event (
    event_id        uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    node_id         text,
    idempotency_key text,
    seq             bigint,
    kind            text,
    sku             text,
    lot_code        text,
    qty             bigint,
    order_ref       text,
    occurred_at     timestamptz,
    received_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    status          text NOT NULL CHECK (status IN ('applied', 'duplicate', 'superseded', 'rejected')),
    error           text,
    payload         jsonb NOT NULL,
    -- inventory sync (sql/40_sync.sql, docs/sync.md)
    delta           bigint,
    latency         interval GENERATED ALWAYS AS (received_at - occurred_at) STORED
);

CREATE UNIQUE INDEX event_idempotency_idx ON stockroute.event (node_id, idempotency_key)
    WHERE status <> 'rejected' AND status <> 'duplicate';
CREATE INDEX event_stock_idx ON stockroute.event (sku, node_id, occurred_at);

COMMENT ON TABLE stockroute.event IS 'Every inventory event received from a node, with its outcome';
COMMENT ON COLUMN stockroute.event.delta IS
    'signed on_hand change of a receipt, adjust, sale or ship (NULL for a count)';
COMMENT ON COLUMN stockroute.event.latency IS 'received_at - occurred_at: how late the event arrived';

CREATE TABLE stockroute.decision (
    decision_id     uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    order_ref       text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('plan', 'allocate', 'reroute', 'reject', 'simulate')),
    profile_name    text,
    profile_version integer,
    input           jsonb NOT NULL,
    output          jsonb NOT NULL,
    solver          jsonb,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE INDEX decision_order_idx ON stockroute.decision (order_ref, created_at);
-- the recent decisions: monitoring's rates (monitoring/queries.yaml), replay()'s window
CREATE INDEX decision_created_idx ON stockroute.decision (created_at);

COMMENT ON TABLE stockroute.decision IS
    'Audit log of routing decisions: input, plan, profile version and solver statistics';

CREATE TABLE stockroute.backorder (
    backorder_id    uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    order_ref       text NOT NULL,
    line_ref        text NOT NULL,
    sku             text NOT NULL REFERENCES stockroute.item ON UPDATE CASCADE,
    qty             bigint NOT NULL CHECK (qty > 0),
    priority        integer NOT NULL DEFAULT 0,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'allocated', 'cancelled')),
    order_doc       jsonb NOT NULL,
    promised_on     date,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE UNIQUE INDEX backorder_open_line_idx ON stockroute.backorder (order_ref, line_ref)
    WHERE status = 'open';
CREATE INDEX backorder_sku_idx ON stockroute.backorder (sku, priority DESC, created_at)
    WHERE status = 'open';

COMMENT ON TABLE stockroute.backorder IS 'Order lines waiting for stock, served by priority then age';
COMMENT ON COLUMN stockroute.backorder.priority IS
    'higher is served first when stock arrives (then older first); 0 on insert means "from the order": its "priority" key, else its customer segment''s segment_priority, else 0';
COMMENT ON COLUMN stockroute.backorder.promised_on IS
    'date the units are expected to be available to ship, from stock and open supply taken by the open backorders in service order; NULL when no known supply covers them (maintained)';
COMMENT ON COLUMN stockroute.backorder.order_doc IS
    'the order as allocated, used to place the units when stock arrives';

CREATE TABLE stockroute.alert (
    alert_id        uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    kind            text NOT NULL
                    CHECK (kind IN ('low_stock', 'stale_node', 'shortfall', 'sync_gap', 'drift')),
    node_id         text,
    sku             text,
    detail          jsonb NOT NULL DEFAULT '{}',
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    raised_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    resolved_at     timestamptz,
    -- the lot a shortfall names (sql/40_sync.sql)
    lot_code        text
);

-- an open alert is not raised twice (a lot's shortfall is its own alert)
CREATE UNIQUE INDEX alert_open_idx
    ON stockroute.alert (kind, coalesce(node_id, ''), coalesce(sku, ''), coalesce(lot_code, ''))
    WHERE status = 'open';

COMMENT ON TABLE stockroute.alert IS 'Operational alerts: low stock, stale node, shortfall, sync gap, drift';
COMMENT ON COLUMN stockroute.alert.lot_code IS
    'the lot of a lot shortfall (its on_hand below its reserved); NULL for alerts about a stock row or a node';

CREATE TABLE stockroute.outbox (
    outbox_id       uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    topic           text NOT NULL CHECK (topic IN ('shipment', 'alert', 'backorder', 'release')),
    order_ref       text,
    node_id         text,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    consumed_at     timestamptz
);

CREATE INDEX outbox_pending_idx ON stockroute.outbox (created_at) WHERE consumed_at IS NULL;

COMMENT ON TABLE stockroute.outbox IS
    'Fulfilment instructions and alerts for downstream consumers; each insert also sends NOTIFY stockroute';

-- pg_dump keeps the user's data of every table (the extension creates them empty)
SELECT pg_catalog.pg_extension_config_dump('stockroute.node', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.item', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.stock', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.lot', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.lane', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.lane_lane_id_seq', '');
-- shipped profiles are created by CREATE EXTENSION itself and are read-only
SELECT pg_catalog.pg_extension_config_dump('stockroute.profile', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('stockroute.profile_history',
    $$WHERE NOT coalesce((definition->>'builtin')::boolean, false)$$);
SELECT pg_catalog.pg_extension_config_dump('stockroute.rule', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.reservation', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.event', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.decision', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.backorder', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.alert', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.outbox', '');
