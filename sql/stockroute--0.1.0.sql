-- stockroute install script, part 1: the data model.
-- The versioned script sql/stockroute--<version>.sql is built from the parts
-- listed in the Makefile (SQL_PARTS); edit the parts, never the built file.

\echo Use "CREATE EXTENSION stockroute" to load this file. \quit

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
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE stockroute.item IS 'A stock-keeping unit';
COMMENT ON COLUMN stockroute.item.tags IS 'product attributes such as hazmat, perishable, lot_tracked';
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
    CHECK (region IS NULL OR country IS NOT NULL),
    CHECK (postal_prefix IS NULL OR country IS NOT NULL)
);

CREATE INDEX lane_node_idx ON stockroute.lane (node_id, country);

COMMENT ON TABLE stockroute.lane IS
    'Shipping rate from a node to a destination (country, region or postal prefix; NULL matches any)';
COMMENT ON COLUMN stockroute.lane.mode IS 'parcel, ltl, ftl, air, courier or ocean';
COMMENT ON COLUMN stockroute.lane.hazmat_ok IS 'the lane may carry hazmat SKUs';

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

CREATE FUNCTION stockroute.profile_versioning() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_def      jsonb;
    last_version integer;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.builtin THEN
        RAISE EXCEPTION 'profile "%" is shipped with stockroute and cannot be changed', OLD.profile_name
            USING ERRCODE = 'SR012',
                  HINT = 'Create a profile of your own, e.g. INSERT ... SELECT from this one under a new name.';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.profile_name <> OLD.profile_name THEN
            RAISE EXCEPTION 'profile_name of profile "%" cannot change', OLD.profile_name
                USING ERRCODE = 'SR011';
        END IF;
        NEW.version := OLD.version + 1;
    ELSE
        -- a restore brings its history first: the same version with the
        -- same definition is already there.  Otherwise a name that existed
        -- before continues its version sequence.
        SELECT max(h.version) INTO last_version
          FROM stockroute.profile_history h WHERE h.profile_name = NEW.profile_name;
        IF last_version IS NOT NULL THEN
            SELECT h.definition INTO old_def
              FROM stockroute.profile_history h
             WHERE h.profile_name = NEW.profile_name AND h.version = NEW.version;
            IF old_def = pg_catalog.to_jsonb(NEW) - 'updated_at' THEN
                RETURN NEW;
            END IF;
            NEW.version := last_version + 1;
        END IF;
    END IF;
    NEW.updated_at := pg_catalog.now();
    INSERT INTO stockroute.profile_history (profile_name, version, definition)
    VALUES (NEW.profile_name, NEW.version, pg_catalog.to_jsonb(NEW) - 'updated_at');
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION stockroute.profile_versioning() IS
    'Trigger: bumps profile.version on update and records each version in profile_history';

CREATE TRIGGER profile_versioning BEFORE INSERT OR UPDATE OR DELETE ON stockroute.profile
    FOR EACH ROW EXECUTE FUNCTION stockroute.profile_versioning();
-- also under session_replication_role = replica (the exact-copy restore), so
-- the shipped profiles CREATE EXTENSION inserts there get their history too
ALTER TABLE stockroute.profile ENABLE ALWAYS TRIGGER profile_versioning;

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

CREATE TABLE stockroute.alert (
    alert_id        uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    kind            text NOT NULL
                    CHECK (kind IN ('low_stock', 'stale_node', 'shortfall', 'sync_gap', 'drift')),
    node_id         text,
    sku             text,
    detail          jsonb NOT NULL DEFAULT '{}',
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    raised_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    resolved_at     timestamptz
);

-- an open alert is not raised twice
CREATE UNIQUE INDEX alert_open_idx ON stockroute.alert (kind, coalesce(node_id, ''), coalesce(sku, ''))
    WHERE status = 'open';

COMMENT ON TABLE stockroute.alert IS 'Operational alerts: low stock, stale node, shortfall, sync gap, drift';

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

INSERT INTO stockroute.profile (profile_name, builtin, description, w_cost, w_days, w_distance, split_penalty)
VALUES
    ('default',  true, 'balanced: freight cost plus one unit of score per shipment-day', 1, 1, 0, 0),
    ('cheapest', true, 'lowest freight cost; delivery days only break ties', 1, 0.01, 0, 0),
    ('fastest',  true, 'fewest delivery days; cost is secondary', 0.05, 100, 0, 0),
    ('closest',  true, 'shortest distance from node to destination', 0.01, 0, 1, 0);
-- stockroute install script, part 2: reservation invariants and lifecycle.

CREATE FUNCTION stockroute.reservation_guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'reservation_guard' LANGUAGE C;
CREATE FUNCTION stockroute.reservation_apply() RETURNS trigger
    AS 'MODULE_PATHNAME', 'reservation_apply' LANGUAGE C;
CREATE FUNCTION stockroute.stock_guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'stock_guard' LANGUAGE C;

COMMENT ON FUNCTION stockroute.reservation_guard() IS
    'Trigger: legal reservation status moves only, identity columns frozen, default expiry and timestamps';
COMMENT ON FUNCTION stockroute.reservation_apply() IS
    'Trigger: moves active reservation quantity into stock.reserved and lot.reserved, refusing any increase available stock does not cover';
COMMENT ON FUNCTION stockroute.stock_guard() IS
    'Trigger: stock.reserved and lot.reserved are written only by reservation triggers';

CREATE TRIGGER reservation_guard
    BEFORE INSERT OR UPDATE OR DELETE ON stockroute.reservation
    FOR EACH ROW EXECUTE FUNCTION stockroute.reservation_guard();
CREATE TRIGGER reservation_apply
    AFTER INSERT OR UPDATE ON stockroute.reservation
    FOR EACH ROW EXECUTE FUNCTION stockroute.reservation_apply();
CREATE TRIGGER stock_guard
    BEFORE INSERT OR UPDATE ON stockroute.stock
    FOR EACH ROW EXECUTE FUNCTION stockroute.stock_guard();
CREATE TRIGGER lot_guard
    BEFORE INSERT OR UPDATE ON stockroute.lot
    FOR EACH ROW EXECUTE FUNCTION stockroute.stock_guard();

-- TRUNCATE skips row triggers; refuse it while it would strand stock.reserved
CREATE FUNCTION stockroute.reservation_truncate_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM stockroute.reservation WHERE status IN ('held', 'committed')) THEN
        RAISE EXCEPTION 'cannot truncate stockroute.reservation while reservations are active'
            USING ERRCODE = 'SR004',
                  HINT = 'Release them first (stockroute.release), then truncate.';
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION stockroute.reservation_truncate_guard() IS
    'Trigger: refuses TRUNCATE of reservation while active reservations hold stock';

CREATE TRIGGER reservation_truncate_guard
    BEFORE TRUNCATE ON stockroute.reservation
    FOR EACH STATEMENT EXECUTE FUNCTION stockroute.reservation_truncate_guard();

-- Lifecycle ---------------------------------------------------------------------

CREATE FUNCTION stockroute.reserve(
    order_ref text,
    line_ref text,
    sku text,
    node_id text,
    qty bigint,
    ttl interval DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    lot_code text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'reservation_reserve'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION stockroute.reserve(text, text, text, text, bigint, interval, text, text) IS
    'Hold qty units of sku at node_id for an order line, atomically; idempotent per (sku, idempotency_key)';

-- Lock the stock rows an order's active reservations touch, in the canonical
-- (node_id, sku) order every multi-row writer uses, so that releasing or
-- fulfilling never deadlocks against a concurrent allocation.
CREATE FUNCTION stockroute.lock_order_stock(p_order_ref text, p_line_ref text DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 1
      FROM stockroute.stock s
     WHERE (s.node_id, s.sku) IN (
            SELECT r.node_id, r.sku
              FROM stockroute.reservation r
             WHERE r.order_ref = p_order_ref
               AND (p_line_ref IS NULL OR r.line_ref = p_line_ref)
               AND r.status IN ('held', 'committed'))
     ORDER BY s.node_id, s.sku
       FOR NO KEY UPDATE OF s;
$$;

COMMENT ON FUNCTION stockroute.lock_order_stock(text, text) IS
    'Internal: locks the stock rows under an order''s active reservations in (node_id, sku) order';

CREATE FUNCTION stockroute.order_reservations(p_order_ref text)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.line_ref, r.node_id, r.created_at), '[]')
      FROM stockroute.reservation r
     WHERE r.order_ref = p_order_ref;
$$;

COMMENT ON FUNCTION stockroute.order_reservations(text) IS
    'All reservations of an order as a jsonb array, in line and node order';

CREATE FUNCTION stockroute.commit(order_ref text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p_order_ref ALIAS FOR $1;
    n_committed bigint;
    n_expired   bigint;
    n_total     bigint;
BEGIN
    IF p_order_ref IS NULL THEN
        RAISE EXCEPTION 'order_ref must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;

    -- a hold past its expiry is lapsed even before reconcile() marks it
    SELECT count(*) FILTER (WHERE r.status = 'held' AND r.expires_at <= now()),
           count(*)
      INTO n_expired, n_total
      FROM stockroute.reservation r
     WHERE r.order_ref = p_order_ref;

    IF n_total = 0 THEN
        RAISE EXCEPTION 'order_ref "%" has no reservations', p_order_ref
            USING ERRCODE = 'SR006';
    END IF;
    IF n_expired > 0 THEN
        RAISE EXCEPTION 'order_ref "%" has % expired hold(s)', p_order_ref, n_expired
            USING ERRCODE = 'SR008',
                  HINT = 'Reserve the lines again; expired holds are released by reconcile().';
    END IF;

    WITH c AS (
        UPDATE stockroute.reservation r
           SET status = 'committed'
         WHERE r.order_ref = p_order_ref AND r.status = 'held'
        RETURNING 1)
    SELECT count(*) INTO n_committed FROM c;

    IF n_committed = 0 AND NOT EXISTS (
            SELECT 1 FROM stockroute.reservation r
             WHERE r.order_ref = p_order_ref AND r.status = 'committed') THEN
        RAISE EXCEPTION 'order_ref "%" has no held reservations to commit', p_order_ref
            USING ERRCODE = 'SR004',
                  DETAIL = 'Its reservations are all released, expired or fulfilled.';
    END IF;

    RETURN jsonb_build_object(
        'order_ref', p_order_ref,
        'committed', n_committed,
        'reservations', stockroute.order_reservations(p_order_ref));
END;
$$;

COMMENT ON FUNCTION stockroute.commit(text) IS
    'Commit every held reservation of an order (payment captured); idempotent';

CREATE FUNCTION stockroute.release(order_ref text, line_ref text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p_order_ref ALIAS FOR $1;
    p_line_ref  ALIAS FOR $2;
    n_released  bigint;
    n_units     bigint;
BEGIN
    IF p_order_ref IS NULL THEN
        RAISE EXCEPTION 'order_ref must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM stockroute.reservation r
                    WHERE r.order_ref = p_order_ref
                      AND (p_line_ref IS NULL OR r.line_ref = p_line_ref)) THEN
        IF p_line_ref IS NULL THEN
            RAISE EXCEPTION 'order_ref "%" has no reservations', p_order_ref USING ERRCODE = 'SR006';
        END IF;
        RAISE EXCEPTION 'line_ref "%" of order "%" has no reservations', p_line_ref, p_order_ref
            USING ERRCODE = 'SR006';
    END IF;

    PERFORM stockroute.lock_order_stock(p_order_ref, p_line_ref);

    WITH u AS (
        UPDATE stockroute.reservation r
           SET status = 'released'
         WHERE r.order_ref = p_order_ref
           AND (p_line_ref IS NULL OR r.line_ref = p_line_ref)
           AND r.status IN ('held', 'committed')
        RETURNING r.qty)
    SELECT count(*), coalesce(sum(qty), 0) INTO n_released, n_units FROM u;

    RETURN jsonb_build_object('order_ref', p_order_ref, 'line_ref', p_line_ref,
                              'released', n_released, 'units', n_units);
END;
$$;

COMMENT ON FUNCTION stockroute.release(text, text) IS
    'Release the active reservations of an order (or one line): the units become available again; idempotent';

CREATE FUNCTION stockroute.fulfill(order_ref text, line_ref text DEFAULT NULL, node_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p_order_ref ALIAS FOR $1;
    p_line_ref  ALIAS FOR $2;
    p_node_id   ALIAS FOR $3;
    held_line   text;
    n_done      bigint;
    n_units     bigint;
BEGIN
    IF p_order_ref IS NULL THEN
        RAISE EXCEPTION 'order_ref must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM stockroute.reservation r
                    WHERE r.order_ref = p_order_ref
                      AND (p_line_ref IS NULL OR r.line_ref = p_line_ref)
                      AND (p_node_id IS NULL OR r.node_id = p_node_id)) THEN
        RAISE EXCEPTION 'order_ref "%" has no reservations%', p_order_ref,
            CASE WHEN p_line_ref IS NULL AND p_node_id IS NULL THEN ''
                 ELSE format(' for line_ref %s, node_id %s',
                             coalesce(quote_literal(p_line_ref), 'any'),
                             coalesce(quote_literal(p_node_id), 'any')) END
            USING ERRCODE = 'SR006';
    END IF;

    SELECT r.line_ref INTO held_line
      FROM stockroute.reservation r
     WHERE r.order_ref = p_order_ref
       AND (p_line_ref IS NULL OR r.line_ref = p_line_ref)
       AND (p_node_id IS NULL OR r.node_id = p_node_id)
       AND r.status = 'held'
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'line_ref "%" of order "%" is held, not committed', held_line, p_order_ref
            USING ERRCODE = 'SR004',
                  HINT = 'Call stockroute.commit() before fulfilling.';
    END IF;

    PERFORM stockroute.lock_order_stock(p_order_ref, p_line_ref);

    WITH u AS (
        UPDATE stockroute.reservation r
           SET status = 'fulfilled'
         WHERE r.order_ref = p_order_ref
           AND (p_line_ref IS NULL OR r.line_ref = p_line_ref)
           AND (p_node_id IS NULL OR r.node_id = p_node_id)
           AND r.status = 'committed'
        RETURNING r.qty)
    SELECT count(*), coalesce(sum(qty), 0) INTO n_done, n_units FROM u;

    RETURN jsonb_build_object('order_ref', p_order_ref, 'line_ref', p_line_ref, 'node_id', p_node_id,
                              'fulfilled', n_done, 'units', n_units);
END;
$$;

COMMENT ON FUNCTION stockroute.fulfill(text, text, text) IS
    'Mark committed reservations shipped: consumes reserved and on_hand together; idempotent';
-- stockroute install script, part 3: routing — the candidate type, the
-- split_plan aggregate, plan(), allocate(), available() and explain().
-- (Named 30_routing.sql, not routing.sql: a part may not share a test's name.)

-- Candidates and the split_plan aggregate -------------------------------------

CREATE TYPE stockroute.candidate AS (
    line_ref text, qty bigint,          -- the order line and the units it needs
    node_id text, available bigint,     -- a node and the units of that line it can give
    unit_cost float8,                   -- variable cost per unit from this node for this line
    shipment_cost float8,               -- fixed cost of one shipment from this node
    days float8);                       -- delivery days from this node

COMMENT ON TYPE stockroute.candidate IS
    'Input row of split_plan: a node that can give some units of an order line, with its costs and delivery days';

CREATE FUNCTION stockroute.split_plan_transition(internal, stockroute.candidate)
RETURNS internal
AS 'MODULE_PATHNAME', 'aggregate_transition'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION stockroute.split_plan_transition(internal, stockroute.candidate, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'aggregate_transition'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION stockroute.split_plan_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'aggregate_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION stockroute.split_plan_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'aggregate_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION stockroute.split_plan_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'aggregate_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- VOLATILE only because the plan reports the solver's time (explain.solver.micros)
CREATE FUNCTION stockroute.split_plan_final(internal)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'aggregate_final'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION stockroute.split_plan_transition(internal, stockroute.candidate) IS
    'Internal: split_plan transition function (collects candidate rows)';
COMMENT ON FUNCTION stockroute.split_plan_transition(internal, stockroute.candidate, jsonb) IS
    'Internal: split_plan transition function (collects candidate rows and the profile)';
COMMENT ON FUNCTION stockroute.split_plan_combine(internal, internal) IS
    'Internal: split_plan combine function (merges partial states of parallel workers)';
COMMENT ON FUNCTION stockroute.split_plan_serialize(internal) IS
    'Internal: split_plan state to bytea, for parallel aggregation';
COMMENT ON FUNCTION stockroute.split_plan_deserialize(bytea, internal) IS
    'Internal: split_plan state from bytea, for parallel aggregation';
COMMENT ON FUNCTION stockroute.split_plan_final(internal) IS
    'Internal: split_plan final function (solves and returns the plan)';

CREATE AGGREGATE stockroute.split_plan(stockroute.candidate) (
    SFUNC = stockroute.split_plan_transition,
    STYPE = internal,
    FINALFUNC = stockroute.split_plan_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = stockroute.split_plan_combine,
    SERIALFUNC = stockroute.split_plan_serialize,
    DESERIALFUNC = stockroute.split_plan_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE stockroute.split_plan(stockroute.candidate, jsonb) (
    SFUNC = stockroute.split_plan_transition,
    STYPE = internal,
    FINALFUNC = stockroute.split_plan_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = stockroute.split_plan_combine,
    SERIALFUNC = stockroute.split_plan_serialize,
    DESERIALFUNC = stockroute.split_plan_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE stockroute.split_plan(stockroute.candidate) IS
    'Split-shipment plan over candidate rows (which nodes ship how many units of each line), with the default weights';
COMMENT ON AGGREGATE stockroute.split_plan(stockroute.candidate, jsonb) IS
    'Split-shipment plan over candidate rows, scored by the given profile (w_cost, w_days, split_penalty, allow_partial, ...)';

-- Order functions -------------------------------------------------------------

CREATE FUNCTION stockroute.plan("order" jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'routing_plan'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION stockroute.plan(jsonb) IS
    'Decide which nodes ship which units of an order; reserves and writes nothing (runs on a hot standby)';

CREATE FUNCTION stockroute.allocate("order" jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'routing_allocate'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION stockroute.allocate(jsonb) IS
    'Plan an order and reserve its shipments atomically, re-planning when a concurrent order takes the stock; idempotent per order_ref';

CREATE FUNCTION stockroute.available(sku text, ship_to jsonb DEFAULT NULL, customer jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'routing_available'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION stockroute.available(text, jsonb, jsonb) IS
    'Available-to-promise of a SKU per node and network-wide, with delivery days and ETA to ship_to';

CREATE FUNCTION stockroute.explain(plan jsonb)
RETURNS text
AS 'MODULE_PATHNAME', 'routing_explain'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION stockroute.explain(jsonb) IS
    'A plan (from plan, allocate or split_plan) as readable text: shipments, unfilled lines, nodes not chosen and why, solver';
-- stockroute install script, part 4: inventory sync — ingest() of location
-- events, the flat-file staging path, alerts.  See docs/sync.md.
--
-- Ordering model (invariant 5).  Per (node_id, sku) — and per (node_id, sku,
-- lot_code) for events that name a lot — the count in force is the count
-- with the greatest (occurred_at, idempotency_key); stock.counted_at and
-- count_key record it.  A delta (receipt +q, adjust ±q, sale −q, ship −q)
-- is applied when it occurred after counted_at, else it is superseded; a
-- newer count sets on_hand to its qty plus the applied deltas that occurred
-- after it and supersedes the rest.  So on_hand is always
--     qty of the count in force + Σ deltas that occurred after it
-- (or, never counted, the starting on_hand + Σ deltas): a function of the
-- set of events, whatever order and however often they arrive.

-- Internal: one parsed event of a batch.
CREATE TYPE stockroute.ingest_item AS (
    ord             integer,
    node_id         text,
    idempotency_key text,
    seq             bigint,
    kind            text,
    sku             text,
    lot_code        text,
    qty             bigint,
    delta           bigint,
    order_ref       text,
    occurred_at     timestamptz,
    status          text,
    error           text,
    payload         jsonb,
    event_id        uuid);

COMMENT ON TYPE stockroute.ingest_item IS 'Internal: one parsed event of an ingest() batch';

CREATE FUNCTION stockroute.ingest_parse_time(text)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'ingest_parse_time'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION stockroute.ingest_parse_time(text) IS
    'The timestamptz a string denotes, or NULL where timestamptz input would fail; relative words (now, today, yesterday, epoch, infinity) and strings not starting with a digit give NULL too';

CREATE FUNCTION stockroute.repair_reserved(node_id text, sku text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'reservation_repair_reserved'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION stockroute.repair_reserved(text, text) IS
    'Set stock.reserved (and lot.reserved) of one stock row to the sum of its active reservations; used by reconcile() when invariant 2 is broken';

-- ingest, seen here as DAL-3PL's webhook would see it; the recent-latency
-- index serves node_health
CREATE INDEX event_node_received_idx ON stockroute.event (node_id, received_at);

-- Alerts ----------------------------------------------------------------------

CREATE FUNCTION stockroute.raise_alert(kind text, node_id text, sku text, detail jsonb)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_kind    ALIAS FOR $1;
    p_node_id ALIAS FOR $2;
    p_sku     ALIAS FOR $3;
    p_detail  ALIAS FOR $4;
    new_id    uuid;
BEGIN
    INSERT INTO stockroute.alert AS a (kind, node_id, sku, detail)
    VALUES (p_kind, p_node_id, p_sku, coalesce(p_detail, '{}'))
    ON CONFLICT (kind, coalesce(node_id, ''), coalesce(sku, '')) WHERE status = 'open'
    DO NOTHING
    RETURNING a.alert_id INTO new_id;
    IF new_id IS NULL THEN
        -- already open: keep one row, with the latest detail
        UPDATE stockroute.alert a SET detail = coalesce(p_detail, '{}')
         WHERE a.kind = p_kind AND a.status = 'open'
           AND coalesce(a.node_id, '') = coalesce(p_node_id, '')
           AND coalesce(a.sku, '') = coalesce(p_sku, '')
           AND a.detail IS DISTINCT FROM coalesce(p_detail, '{}');
        RETURN false;
    END IF;
    INSERT INTO stockroute.outbox (topic, node_id, payload)
    VALUES ('alert', p_node_id,
            jsonb_build_object('alert_id', new_id, 'kind', p_kind, 'node_id', p_node_id,
                               'sku', p_sku, 'detail', coalesce(p_detail, '{}')));
    PERFORM pg_notify('stockroute',
        jsonb_build_object('topic', 'alert', 'alert_id', new_id, 'kind', p_kind,
                           'node_id', left(p_node_id, 200), 'sku', left(p_sku, 200))::text);
    RETURN true;
END;
$$;

COMMENT ON FUNCTION stockroute.raise_alert(text, text, text, jsonb) IS
    'Open an alert unless one of that kind is open for the node and SKU (then refresh its detail); a new alert also goes to outbox and NOTIFY stockroute. Returns true when it opened one';

CREATE FUNCTION stockroute.resolve_alert(kind text, node_id text, sku text)
RETURNS boolean
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH u AS (
        UPDATE stockroute.alert a
           SET status = 'resolved', resolved_at = pg_catalog.now()
         WHERE a.kind = $1 AND a.status = 'open'
           AND coalesce(a.node_id, '') = coalesce($2, '')
           AND coalesce(a.sku, '') = coalesce($3, '')
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u);
$$;

COMMENT ON FUNCTION stockroute.resolve_alert(text, text, text) IS
    'Resolve the open alert of a kind for a node and SKU, if any; returns true when it resolved one';

-- ingest -----------------------------------------------------------------------

CREATE FUNCTION stockroute.ingest(events jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    now_ts     timestamptz := clock_timestamp();
    -- calling into the library defines its GUCs if this session has not yet
    loaded     boolean := stockroute.ingest_parse_time('2000-01-01 00:00+00') IS NOT NULL;
    skew       interval := current_setting('stockroute.max_event_skew')::interval;
    max_n      integer := current_setting('stockroute.max_batch_events')::integer;
    items      stockroute.ingest_item[];
    claimed    uuid[];
    n_locked   bigint;
    bad        record;
    n_claimed  integer;
    has_lot    boolean;
    has_ship   boolean;
    takes      jsonb;
    g          record;
    reply      jsonb;
BEGIN
    -- batch-level errors: nothing is recorded or changed
    IF events IS NULL THEN
        RAISE EXCEPTION 'events must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF jsonb_typeof(events) <> 'array' THEN
        RAISE EXCEPTION 'events must be a jsonb array, got %', jsonb_typeof(events)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_array_length(events) > max_n THEN
        RAISE EXCEPTION 'events has % elements, more than stockroute.max_batch_events (%)',
                        jsonb_array_length(events), max_n
            USING ERRCODE = 'program_limit_exceeded',
                  HINT = 'Split the batch, or raise stockroute.max_batch_events.';
    END IF;
    SELECT x.ord - 1 AS idx, jsonb_typeof(x.e) AS t INTO bad
      FROM jsonb_array_elements(events) WITH ORDINALITY x(e, ord)
     WHERE jsonb_typeof(x.e) <> 'object'
     ORDER BY x.ord LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'events[%] must be an object, got %', bad.idx, bad.t
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- 1. parse and validate every event; the first failing check is its error
    SELECT array_agg(ROW(v.ord, v.node_id, v.idempotency_key, v.seq, v.kind, v.sku, v.lot_code,
                         v.qty,
                         CASE v.kind WHEN 'receipt' THEN v.qty WHEN 'adjust' THEN v.qty
                                     WHEN 'count' THEN NULL ELSE -v.qty END,
                         v.order_ref, v.occurred_at,
                         v.status, v.error, v.e, gen_random_uuid())::stockroute.ingest_item ORDER BY v.ord),
           count(*) FILTER (WHERE v.status = 'applied'),
           coalesce(bool_or(v.lot_code IS NOT NULL AND v.status = 'applied'), false),
           coalesce(bool_or(v.kind = 'ship' AND v.status = 'applied'), false)
      INTO items, n_claimed, has_lot, has_ship
      FROM (SELECT q.*,
                   CASE WHEN q.error IS NOT NULL THEN 'rejected'
                        WHEN q.rank > 1 THEN 'duplicate'
                        -- claimed by an earlier batch (the partial unique index answers)
                        WHEN EXISTS (SELECT 1 FROM stockroute.event e
                                      WHERE e.node_id = q.node_id AND e.idempotency_key = q.idempotency_key
                                        AND e.status <> 'rejected' AND e.status <> 'duplicate')
                          THEN 'duplicate'
                        ELSE 'applied' END AS status
      FROM (SELECT p.*,
                   row_number() OVER (PARTITION BY p.node_id, p.idempotency_key, p.error IS NULL
                                      ORDER BY p.ord) AS rank
              FROM (SELECT x.ord, x.e, f.node_id, f.idempotency_key, f.seq, f.kind, f.sku,
                           f.lot_code, f.qty, f.order_ref, f.occurred_at,
                CASE
                  WHEN f.missing_node THEN 'node_id is required'
                  WHEN f.node_id IS NULL THEN format('node_id must be a string, got %s', x.e->'node_id')
                  WHEN n.node_id IS NULL THEN format('node_id %s does not exist', x.e->'node_id')
                  WHEN coalesce(jsonb_typeof(x.e->'idempotency_key'), 'null') = 'null'
                    THEN 'idempotency_key is required'
                  WHEN f.idempotency_key IS NULL OR f.idempotency_key = ''
                    THEN format('idempotency_key must be a non-empty string, got %s', x.e->'idempotency_key')
                  WHEN coalesce(jsonb_typeof(x.e->'seq'), 'null') <> 'null' AND f.seq IS NULL
                    THEN format('seq must be a non-negative integer, got %s', x.e->'seq')
                  WHEN coalesce(jsonb_typeof(x.e->'kind'), 'null') = 'null' THEN 'kind is required'
                  WHEN f.kind IS NULL OR f.kind NOT IN ('receipt', 'adjust', 'sale', 'ship', 'count')
                    THEN format('kind %s is not one of receipt, adjust, sale, ship, count', x.e->'kind')
                  WHEN coalesce(jsonb_typeof(x.e->'sku'), 'null') = 'null' THEN 'sku is required'
                  WHEN f.sku IS NULL THEN format('sku must be a string, got %s', x.e->'sku')
                  WHEN i.sku IS NULL THEN format('sku %s does not exist', x.e->'sku')
                  WHEN coalesce(jsonb_typeof(x.e->'qty'), 'null') = 'null' THEN 'qty is required'
                  WHEN f.qty IS NULL
                    THEN format('qty must be an integer between -10^15 and 10^15, got %s', x.e->'qty')
                  WHEN f.kind IN ('receipt', 'sale', 'ship') AND f.qty <= 0
                    THEN format('qty must be positive for a %s, got %s', f.kind, f.qty)
                  WHEN f.kind = 'adjust' AND f.qty = 0 THEN 'qty must not be zero for an adjust'
                  WHEN f.kind = 'count' AND f.qty < 0
                    THEN format('qty must not be negative for a count, got %s', f.qty)
                  WHEN coalesce(jsonb_typeof(x.e->'lot_code'), 'null') <> 'null'
                       AND (f.lot_code IS NULL OR f.lot_code = '')
                    THEN format('lot_code must be a non-empty string, got %s', x.e->'lot_code')
                  WHEN coalesce(jsonb_typeof(x.e->'occurred_at'), 'null') = 'null' THEN 'occurred_at is required'
                  WHEN f.occurred_at IS NULL
                    THEN format('occurred_at must be a timestamp with time zone, got %s', x.e->'occurred_at')
                  WHEN f.occurred_at > now_ts + skew
                    THEN format('occurred_at %s is more than stockroute.max_event_skew (%s) in the future',
                                x.e->'occurred_at', current_setting('stockroute.max_event_skew'))
                  WHEN f.kind = 'ship' AND coalesce(jsonb_typeof(x.e->'order_ref'), 'null') = 'null'
                    THEN 'order_ref is required for a ship'
                  WHEN coalesce(jsonb_typeof(x.e->'order_ref'), 'null') <> 'null'
                       AND (f.order_ref IS NULL OR f.order_ref = '')
                    THEN format('order_ref must be a non-empty string, got %s', x.e->'order_ref')
                END AS error
              FROM jsonb_array_elements(events) WITH ORDINALITY x(e, ord)
             CROSS JOIN LATERAL (
                SELECT coalesce(jsonb_typeof(x.e->'node_id'), 'null') = 'null' AS missing_node,
                       CASE WHEN jsonb_typeof(x.e->'node_id') = 'string' THEN x.e->>'node_id' END AS node_id,
                       CASE WHEN jsonb_typeof(x.e->'idempotency_key') = 'string'
                            THEN x.e->>'idempotency_key' END AS idempotency_key,
                       CASE WHEN jsonb_typeof(x.e->'seq') = 'number'
                             AND (x.e->'seq')::numeric = trunc((x.e->'seq')::numeric)
                             AND (x.e->'seq')::numeric BETWEEN 0 AND 9223372036854775807
                            THEN (x.e->'seq')::numeric::bigint END AS seq,
                       CASE WHEN jsonb_typeof(x.e->'kind') = 'string' THEN x.e->>'kind' END AS kind,
                       CASE WHEN jsonb_typeof(x.e->'sku') = 'string' THEN x.e->>'sku' END AS sku,
                       CASE WHEN jsonb_typeof(x.e->'lot_code') = 'string' AND x.e->>'lot_code' <> ''
                            THEN x.e->>'lot_code' END AS lot_code,
                       CASE WHEN jsonb_typeof(x.e->'qty') = 'number'
                             AND (x.e->'qty')::numeric = trunc((x.e->'qty')::numeric)
                             AND abs((x.e->'qty')::numeric) <= 1e15
                            THEN (x.e->'qty')::numeric::bigint END AS qty,
                       CASE WHEN jsonb_typeof(x.e->'order_ref') = 'string' AND x.e->>'order_ref' <> ''
                            THEN x.e->>'order_ref' END AS order_ref,
                       CASE WHEN jsonb_typeof(x.e->'occurred_at') = 'string'
                            THEN stockroute.ingest_parse_time(x.e->>'occurred_at') END AS occurred_at
                 OFFSET 0       -- compute each field once, not at every reference
             ) f
              LEFT JOIN stockroute.node n ON n.node_id = f.node_id
              LEFT JOIN stockroute.item i ON i.sku = f.sku
             OFFSET 0) p
             OFFSET 0) q
             OFFSET 0) v;

    IF items IS NULL THEN
        RETURN jsonb_build_object('applied', 0, 'duplicate', 0, 'superseded', 0, 'rejected', 0,
                                  'results', '[]'::jsonb);
    END IF;

    -- 2. record every event.  A valid event claims its (node_id,
    -- idempotency_key) in the partial unique index; when a concurrent batch
    -- claimed it first (ON CONFLICT waits for that one to commit), this one
    -- is a duplicate after all.
    --
    -- Every join below pairs the batch with a table through an index, never
    -- the batch with itself: the planner cannot know the batch's size and a
    -- nested loop of the batch over itself would cost n².
    WITH ins AS (
        INSERT INTO stockroute.event AS ev
               (event_id, node_id, idempotency_key, seq, kind, sku, lot_code, qty, delta, order_ref,
                occurred_at, received_at, status, error, payload)
        SELECT i.event_id, i.node_id, i.idempotency_key, i.seq, i.kind, i.sku, i.lot_code, i.qty,
               i.delta, i.order_ref, i.occurred_at, now_ts, i.status, i.error, i.payload
          FROM unnest(items) i
         ORDER BY i.ord
        ON CONFLICT (node_id, idempotency_key) WHERE status <> 'rejected' AND status <> 'duplicate'
        DO NOTHING
        RETURNING ev.event_id, ev.status)
    SELECT coalesce(array_agg(ins.event_id) FILTER (WHERE ins.status = 'applied'), '{}')
      INTO claimed FROM ins;

    IF cardinality(claimed) < n_claimed THEN
        SELECT array_agg(ROW(i.ord, i.node_id, i.idempotency_key, i.seq, i.kind, i.sku, i.lot_code,
                             i.qty, i.delta, i.order_ref, i.occurred_at,
                             CASE WHEN i.status = 'applied' AND NOT (i.event_id = ANY (claimed))
                                  THEN 'duplicate' ELSE i.status END,
                             i.error, i.payload, i.event_id)::stockroute.ingest_item ORDER BY i.ord)
          INTO items
          FROM unnest(items) i;
        INSERT INTO stockroute.event
               (event_id, node_id, idempotency_key, seq, kind, sku, lot_code, qty, delta, order_ref,
                occurred_at, received_at, status, error, payload)
        SELECT i.event_id, i.node_id, i.idempotency_key, i.seq, i.kind, i.sku, i.lot_code, i.qty,
               i.delta, i.order_ref, i.occurred_at, now_ts, 'duplicate', NULL, i.payload
          FROM unnest(items) i
         WHERE i.status = 'duplicate' AND NOT (i.event_id = ANY (claimed))
           AND NOT EXISTS (SELECT 1 FROM stockroute.event e WHERE e.event_id = i.event_id);
        SELECT count(*) FILTER (WHERE i.status = 'applied'),
               coalesce(bool_or(i.lot_code IS NOT NULL AND i.status = 'applied'), false),
               coalesce(bool_or(i.kind = 'ship' AND i.status = 'applied'), false)
          INTO n_claimed, has_lot, has_ship
          FROM unnest(items) i;
    END IF;
    -- from here on, status 'applied' in items means "claimed": applied or superseded

    IF n_claimed > 0 THEN
        -- 3. lock the stock rows in canonical (node_id, sku) order.  A
        -- missing row (or lot) comes into being with its first event, of
        -- any kind: rejecting a sale of a lot whose receipt is still on its
        -- way would make the outcome depend on arrival order.
        SELECT count(*) INTO n_locked
          FROM (SELECT 1 FROM stockroute.stock s
                 WHERE (s.node_id, s.sku) IN (SELECT i.node_id, i.sku FROM unnest(items) i
                                               WHERE i.status = 'applied')
                 ORDER BY s.node_id, s.sku
                   FOR NO KEY UPDATE OF s) x;
        IF n_locked < (SELECT count(DISTINCT (i.node_id, i.sku)) FROM unnest(items) i
                        WHERE i.status = 'applied') THEN
            INSERT INTO stockroute.stock (node_id, sku)
            SELECT DISTINCT i.node_id, i.sku FROM unnest(items) i
             WHERE i.status = 'applied'
               AND NOT EXISTS (SELECT 1 FROM stockroute.stock s WHERE s.node_id = i.node_id AND s.sku = i.sku)
            ON CONFLICT DO NOTHING;
            PERFORM 1 FROM stockroute.stock s
             WHERE (s.node_id, s.sku) IN (SELECT i.node_id, i.sku FROM unnest(items) i WHERE i.status = 'applied')
             ORDER BY s.node_id, s.sku
               FOR NO KEY UPDATE OF s;
        END IF;

        IF has_lot THEN
            INSERT INTO stockroute.lot (node_id, sku, lot_code)
            SELECT DISTINCT i.node_id, i.sku, i.lot_code FROM unnest(items) i
             WHERE i.status = 'applied' AND i.lot_code IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM stockroute.lot l
                                WHERE l.node_id = i.node_id AND l.sku = i.sku AND l.lot_code = i.lot_code)
            ON CONFLICT DO NOTHING;
            PERFORM 1 FROM stockroute.lot l
             WHERE (l.node_id, l.sku, l.lot_code) IN
                   (SELECT i.node_id, i.sku, i.lot_code FROM unnest(items) i
                     WHERE i.status = 'applied' AND i.lot_code IS NOT NULL)
             ORDER BY l.node_id, l.sku, l.lot_code
               FOR NO KEY UPDATE OF l;

            -- 4. lot events: the lot's on_hand under its own count; the stock
            -- row moves by the lot's net change
            WITH k AS (
                SELECT a.*,
                       coalesce(a.w_at IS NOT NULL
                                AND (a.old_at IS NULL OR (a.w_at, a.w_key) > (a.old_at, a.old_key)),
                                false) AS wins
                  FROM (SELECT i.node_id, i.sku, i.lot_code,
                               min(l.on_hand) AS old_on_hand, min(l.counted_at) AS old_at,
                               min(l.count_key) AS old_key,
                               (array_agg(i.occurred_at ORDER BY i.occurred_at DESC, i.idempotency_key DESC)
                                  FILTER (WHERE i.kind = 'count'))[1] AS w_at,
                               (array_agg(i.idempotency_key ORDER BY i.occurred_at DESC, i.idempotency_key DESC)
                                  FILTER (WHERE i.kind = 'count'))[1] AS w_key,
                               (array_agg(i.qty ORDER BY i.occurred_at DESC, i.idempotency_key DESC)
                                  FILTER (WHERE i.kind = 'count'))[1] AS w_qty,
                               sum(i.delta) FILTER (WHERE l.counted_at IS NULL
                                                       OR i.occurred_at > l.counted_at) AS after_old
                          FROM unnest(items) i
                          JOIN stockroute.lot l
                            ON l.node_id = i.node_id AND l.sku = i.sku AND l.lot_code = i.lot_code
                         WHERE i.status = 'applied' AND i.lot_code IS NOT NULL
                         GROUP BY 1, 2, 3) a),
            upd AS (
                UPDATE stockroute.lot l
                   SET on_hand = CASE WHEN k.wins
                                      THEN k.w_qty + coalesce((SELECT sum(e.delta) FROM stockroute.event e
                                                                WHERE e.sku = k.sku AND e.node_id = k.node_id
                                                                  AND e.occurred_at > k.w_at
                                                                  AND e.lot_code = k.lot_code
                                                                  AND e.status = 'applied'), 0)
                                      ELSE l.on_hand + coalesce(k.after_old, 0) END,
                       counted_at = CASE WHEN k.wins THEN k.w_at ELSE l.counted_at END,
                       count_key = CASE WHEN k.wins THEN k.w_key ELSE l.count_key END
                  FROM k
                 WHERE l.node_id = k.node_id AND l.sku = k.sku AND l.lot_code = k.lot_code
                   AND (k.wins OR k.after_old IS NOT NULL)
                RETURNING l.node_id, l.sku, l.lot_code, l.on_hand - k.old_on_hand AS diff, k.wins,
                          k.old_at, l.counted_at AS new_at, l.count_key AS new_key),
            sup AS (
                -- a new count in force supersedes the applied events it covers
                UPDATE stockroute.event e SET status = 'superseded'
                  FROM upd
                 WHERE upd.wins AND e.sku = upd.sku AND e.node_id = upd.node_id
                   AND e.lot_code = upd.lot_code AND e.status = 'applied'
                   AND e.occurred_at >= coalesce(upd.old_at, '-infinity') AND e.occurred_at <= upd.new_at
                   AND NOT (e.kind = 'count' AND e.occurred_at = upd.new_at
                            AND e.idempotency_key = upd.new_key))
            UPDATE stockroute.stock s
               SET on_hand = s.on_hand + net.diff
              FROM (SELECT upd.node_id, upd.sku, sum(upd.diff) AS diff FROM upd GROUP BY 1, 2) net
             WHERE s.node_id = net.node_id AND s.sku = net.sku AND net.diff <> 0;

            -- batch events the final count covers
            UPDATE stockroute.event e SET status = 'superseded'
              FROM unnest(items) i
              JOIN stockroute.lot l ON l.node_id = i.node_id AND l.sku = i.sku AND l.lot_code = i.lot_code
             WHERE i.status = 'applied' AND i.lot_code IS NOT NULL AND l.counted_at IS NOT NULL
               AND e.event_id = i.event_id AND e.status = 'applied'
               AND ((i.kind <> 'count' AND i.occurred_at <= l.counted_at)
                    OR (i.kind = 'count'
                        AND (i.occurred_at, i.idempotency_key) IS DISTINCT FROM (l.counted_at, l.count_key)));
        END IF;

        -- 5. stock-level events (no lot_code), the same rules per (node_id, sku)
        WITH k AS (
            SELECT a.*,
                   coalesce(a.w_at IS NOT NULL
                            AND (a.old_at IS NULL OR (a.w_at, a.w_key) > (a.old_at, a.old_key)),
                            false) AS wins
              FROM (SELECT i.node_id, i.sku,
                           min(s.counted_at) AS old_at, min(s.count_key) AS old_key,
                           (array_agg(i.occurred_at ORDER BY i.occurred_at DESC, i.idempotency_key DESC)
                              FILTER (WHERE i.kind = 'count'))[1] AS w_at,
                           (array_agg(i.idempotency_key ORDER BY i.occurred_at DESC, i.idempotency_key DESC)
                              FILTER (WHERE i.kind = 'count'))[1] AS w_key,
                           (array_agg(i.qty ORDER BY i.occurred_at DESC, i.idempotency_key DESC)
                              FILTER (WHERE i.kind = 'count'))[1] AS w_qty,
                           sum(i.delta) FILTER (WHERE s.counted_at IS NULL
                                                   OR i.occurred_at > s.counted_at) AS after_old
                      FROM unnest(items) i
                      JOIN stockroute.stock s ON s.node_id = i.node_id AND s.sku = i.sku
                     WHERE i.status = 'applied' AND i.lot_code IS NULL
                     GROUP BY 1, 2) a),
        upd AS (
            UPDATE stockroute.stock s
               SET on_hand = CASE WHEN k.wins
                                  THEN k.w_qty + coalesce((SELECT sum(e.delta) FROM stockroute.event e
                                                            WHERE e.sku = k.sku AND e.node_id = k.node_id
                                                              AND e.occurred_at > k.w_at
                                                              AND e.lot_code IS NULL
                                                              AND e.status = 'applied'), 0)
                                  ELSE s.on_hand + coalesce(k.after_old, 0) END,
                   counted_at = CASE WHEN k.wins THEN k.w_at ELSE s.counted_at END,
                   count_key = CASE WHEN k.wins THEN k.w_key ELSE s.count_key END
              FROM k
             WHERE s.node_id = k.node_id AND s.sku = k.sku
               AND (k.wins OR k.after_old IS NOT NULL)
            RETURNING s.node_id, s.sku, k.wins, k.old_at, s.counted_at AS new_at, s.count_key AS new_key)
        UPDATE stockroute.event e SET status = 'superseded'
          FROM upd
         WHERE upd.wins AND e.sku = upd.sku AND e.node_id = upd.node_id
           AND e.lot_code IS NULL AND e.status = 'applied'
           AND e.occurred_at >= coalesce(upd.old_at, '-infinity') AND e.occurred_at <= upd.new_at
           AND NOT (e.kind = 'count' AND e.occurred_at = upd.new_at AND e.idempotency_key = upd.new_key);

        UPDATE stockroute.event e SET status = 'superseded'
          FROM unnest(items) i
          JOIN stockroute.stock s ON s.node_id = i.node_id AND s.sku = i.sku
         WHERE i.status = 'applied' AND i.lot_code IS NULL AND s.counted_at IS NOT NULL
           AND e.event_id = i.event_id AND e.status = 'applied'
           AND ((i.kind <> 'count' AND i.occurred_at <= s.counted_at)
                OR (i.kind = 'count'
                    AND (i.occurred_at, i.idempotency_key) IS DISTINCT FROM (s.counted_at, s.count_key)));

        -- 6. a ship consumes the order's active reservations of that SKU at
        -- that node, once per ship event (its claim makes it once), in any
        -- arrival order: committed before held, oldest first.  Its on_hand
        -- effect is its delta above, nothing else.
        IF has_ship THEN
            WITH sh AS (
                SELECT i.order_ref, i.node_id, i.sku, sum(i.qty) AS shipped
                  FROM unnest(items) i
                 WHERE i.status = 'applied' AND i.kind = 'ship'
                 GROUP BY 1, 2, 3),
            r AS (
                SELECT r.sku, r.reservation_id, r.node_id, r.lot_code, r.qty, r.status,
                       sh.shipped - (sum(r.qty) OVER (PARTITION BY r.order_ref, r.node_id, r.sku
                                                      ORDER BY r.status = 'committed' DESC, r.created_at,
                                                               r.reservation_id) - r.qty) AS left_before
                  FROM sh
                  JOIN stockroute.reservation r
                    ON r.order_ref = sh.order_ref AND r.node_id = sh.node_id AND r.sku = sh.sku
                   AND r.status IN ('held', 'committed'))
            SELECT jsonb_agg(jsonb_build_object('sku', r.sku, 'reservation_id', r.reservation_id,
                                                'node_id', r.node_id, 'lot_code', r.lot_code,
                                                'qty', r.qty, 'status', r.status,
                                                'take', least(r.qty, r.left_before)))
              INTO takes
              FROM r WHERE r.left_before > 0;

            IF takes IS NOT NULL THEN
                -- wholly shipped: held -> committed -> fulfilled.  The trigger
                -- takes the units off reserved and on_hand together; the ship's
                -- delta already took them off on_hand, so they go back.
                UPDATE stockroute.reservation r SET status = 'committed'
                  FROM jsonb_to_recordset(takes) t(sku text, reservation_id uuid, qty bigint, take bigint)
                 WHERE r.sku = t.sku AND r.reservation_id = t.reservation_id
                   AND t.take = t.qty AND r.status = 'held' AND r.qty = t.qty;
                WITH f AS (
                    UPDATE stockroute.reservation r SET status = 'fulfilled'
                      FROM jsonb_to_recordset(takes) t(sku text, reservation_id uuid, qty bigint, take bigint)
                     WHERE r.sku = t.sku AND r.reservation_id = t.reservation_id
                       AND t.take = t.qty AND r.status = 'committed' AND r.qty = t.qty
                    RETURNING r.node_id, r.sku, r.lot_code, r.qty),
                lb AS (
                    UPDATE stockroute.lot l SET on_hand = l.on_hand + x.qty
                      FROM (SELECT f.node_id, f.sku, f.lot_code, sum(f.qty) AS qty
                              FROM f WHERE f.lot_code IS NOT NULL GROUP BY 1, 2, 3) x
                     WHERE l.node_id = x.node_id AND l.sku = x.sku AND l.lot_code = x.lot_code
                    RETURNING 1)
                UPDATE stockroute.stock s SET on_hand = s.on_hand + x.qty
                  FROM (SELECT f.node_id, f.sku, sum(f.qty) AS qty FROM f GROUP BY 1, 2) x
                 WHERE s.node_id = x.node_id AND s.sku = x.sku;
                -- partly shipped: the rest stays reserved
                UPDATE stockroute.reservation r SET qty = r.qty - t.take
                  FROM jsonb_to_recordset(takes) t(sku text, reservation_id uuid, qty bigint, take bigint)
                 WHERE r.sku = t.sku AND r.reservation_id = t.reservation_id
                   AND t.take < t.qty AND r.status IN ('held', 'committed') AND r.qty = t.qty;
            END IF;
        END IF;

        -- 7. invariant 4: physical truth was applied; say so when it left a
        -- node short of what it promised, and stand down when it no longer is
        PERFORM stockroute.raise_alert('shortfall', s.node_id, s.sku,
                    jsonb_build_object('on_hand', s.on_hand, 'reserved', s.reserved,
                                       'short', s.reserved - s.on_hand, 'source', 'ingest'))
           FROM stockroute.stock s
          WHERE (s.node_id, s.sku) IN (SELECT i.node_id, i.sku FROM unnest(items) i WHERE i.status = 'applied')
            AND s.on_hand < s.reserved
          ORDER BY s.node_id, s.sku;
        IF EXISTS (SELECT 1 FROM stockroute.alert a WHERE a.kind = 'shortfall' AND a.status = 'open') THEN
            UPDATE stockroute.alert a SET status = 'resolved', resolved_at = now()
              FROM stockroute.stock s
             WHERE a.kind = 'shortfall' AND a.status = 'open'
               AND a.node_id = s.node_id AND a.sku = s.sku AND s.on_hand >= s.reserved
               AND (s.node_id, s.sku) IN (SELECT i.node_id, i.sku FROM unnest(items) i
                                           WHERE i.status = 'applied');
        END IF;
    END IF;

    -- 8. the nodes heard from: last event, sequence coverage, not stale
    FOR g IN
        WITH agg AS (
            SELECT i.node_id,
                   min(i.seq) FILTER (WHERE i.status = 'applied') AS smin,
                   max(i.seq) FILTER (WHERE i.status = 'applied') AS smax,
                   count(i.seq) FILTER (WHERE i.status = 'applied') AS scount,
                   max(i.occurred_at) FILTER (WHERE i.status = 'applied') AS last_occ
              FROM unnest(items) i
             WHERE i.node_id IS NOT NULL
             GROUP BY i.node_id),
        locked AS (
            SELECT n.node_id, n.stale AS was_stale FROM stockroute.node n
             WHERE n.node_id IN (SELECT agg.node_id FROM agg)
             ORDER BY n.node_id
               FOR NO KEY UPDATE OF n),
        u AS (
            UPDATE stockroute.node n
               SET last_event_at = greatest(n.last_event_at, now_ts),
                   last_occurred_at = greatest(n.last_occurred_at, agg.last_occ),
                   seq_min = least(n.seq_min, agg.smin),
                   seq_max = greatest(n.seq_max, agg.smax),
                   seq_count = n.seq_count + agg.scount,
                   stale = false
              FROM agg
             WHERE n.node_id = agg.node_id AND n.node_id IN (SELECT locked.node_id FROM locked)
            RETURNING n.node_id, n.seq_min, n.seq_max, n.seq_count, agg.scount)
        SELECT u.*, u.seq_max - u.seq_min + 1 - u.seq_count AS missing, locked.was_stale
          FROM u JOIN locked ON locked.node_id = u.node_id ORDER BY u.node_id
    LOOP
        IF g.missing > 0 THEN
            PERFORM stockroute.raise_alert('sync_gap', g.node_id, NULL,
                        jsonb_build_object('seq_min', g.seq_min, 'seq_max', g.seq_max,
                                           'received', g.seq_count, 'missing', g.missing));
        ELSIF g.scount > 0 THEN
            PERFORM stockroute.resolve_alert('sync_gap', g.node_id, NULL);
        END IF;
        IF g.was_stale THEN
            PERFORM stockroute.resolve_alert('stale_node', g.node_id, NULL);
        END IF;
    END LOOP;

    -- 9. the reply, in input order, with each event's final outcome
    SELECT jsonb_build_object(
               'applied', count(*) FILTER (WHERE o.status = 'applied'),
               'duplicate', count(*) FILTER (WHERE o.status = 'duplicate'),
               'superseded', count(*) FILTER (WHERE o.status = 'superseded'),
               'rejected', count(*) FILTER (WHERE o.status = 'rejected'),
               'results', jsonb_agg(jsonb_build_object('idempotency_key', o.idempotency_key,
                                                       'status', o.status, 'error', o.error)
                                    ORDER BY o.ord))
      INTO reply
      FROM (SELECT i.ord, i.idempotency_key, i.error,
                   CASE WHEN i.status = 'applied' THEN e.status ELSE i.status END AS status
              FROM unnest(items) i
              LEFT JOIN stockroute.event e ON e.event_id = i.event_id AND i.status = 'applied') o;
    RETURN reply;
END;
$$;

COMMENT ON FUNCTION stockroute.ingest(jsonb) IS
    'Apply a batch of location events (receipt, adjust, sale, ship, count): idempotent per (node_id, idempotency_key), order-independent, malformed events rejected and recorded';

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

CREATE FUNCTION stockroute.ingest_staged(file_name text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p_file_name ALIAS FOR $1;
    loaded  boolean := stockroute.ingest_parse_time('2000-01-01 00:00+00') IS NOT NULL;
    chunk   integer := current_setting('stockroute.max_batch_events')::integer;
    docs    jsonb[];
    srcs    jsonb[];
    total   integer;
    lo      integer := 1;
    r       jsonb;
    reply   jsonb := '{"applied": 0, "duplicate": 0, "superseded": 0, "rejected": 0}';
    results jsonb := '[]';
BEGIN
    -- take the rows (a concurrent call for the same rows waits, then finds
    -- them gone), in the order they were staged
    WITH d AS (
        DELETE FROM stockroute.event_staging s
         WHERE p_file_name IS NULL OR s.file_name = p_file_name
        RETURNING s.*),
    n AS (
        SELECT d.*, coalesce(d.line_no, row_number() OVER (PARTITION BY d.file_name ORDER BY d.staged_id) + 1) AS line
          FROM d)
    SELECT array_agg(jsonb_strip_nulls(jsonb_build_object(
               'node_id', nullif(n.node_id, ''),
               'idempotency_key', nullif(n.idempotency_key, ''),
               -- a number where the text is one; otherwise the text, which ingest() rejects
               'seq', CASE WHEN n.seq ~ '^\s*[0-9]{1,18}\s*$' THEN to_jsonb(n.seq::numeric)
                           ELSE to_jsonb(nullif(btrim(n.seq), '')) END,
               'kind', nullif(btrim(n.kind), ''),
               'sku', nullif(n.sku, ''),
               'qty', CASE WHEN n.qty ~ '^\s*[+-]?[0-9]{1,18}\s*$' THEN to_jsonb(n.qty::numeric)
                           ELSE to_jsonb(nullif(btrim(n.qty), '')) END,
               'lot_code', nullif(n.lot_code, ''),
               'occurred_at', nullif(btrim(n.occurred_at), ''),
               'order_ref', nullif(n.order_ref, '')))
             ORDER BY n.staged_id),
           array_agg(jsonb_build_object('file_name', n.file_name, 'line_no', n.line) ORDER BY n.staged_id)
      INTO docs, srcs
      FROM n;

    total := coalesce(array_length(docs, 1), 0);
    WHILE lo <= total LOOP
        r := stockroute.ingest(to_jsonb(docs[lo:lo + chunk - 1]));
        reply := jsonb_build_object(
            'applied', (reply->>'applied')::bigint + (r->>'applied')::bigint,
            'duplicate', (reply->>'duplicate')::bigint + (r->>'duplicate')::bigint,
            'superseded', (reply->>'superseded')::bigint + (r->>'superseded')::bigint,
            'rejected', (reply->>'rejected')::bigint + (r->>'rejected')::bigint);
        SELECT results || coalesce(jsonb_agg(x.res || srcs[lo + x.ord - 1] ORDER BY x.ord), '[]')
          INTO results
          FROM jsonb_array_elements(r->'results') WITH ORDINALITY x(res, ord);
        lo := lo + chunk;
    END LOOP;
    RETURN reply || jsonb_build_object('staged', total, 'results', results);
END;
$$;

COMMENT ON FUNCTION stockroute.ingest_staged(text) IS
    'Ingest the rows staged in event_staging (one file, or all when NULL) with the semantics of ingest(), then remove them; bad text values become rejected events';
-- stockroute install script, part 5: reconciliation — reconcile(), its run
-- log, pg_cron scheduling and the dashboard views.  See docs/sync.md.

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

-- Placing units ---------------------------------------------------------------

-- Hold up to qty units of an order line on other nodes, chosen by plan()
-- from the order as allocated (its decision), or, without a ship_to, the
-- routable nodes with the most available first.  Each hold is its own
-- subtransaction: a hold lost to a concurrent order is skipped, not fatal.
CREATE FUNCTION stockroute.place_units(p_order_ref text, p_line_ref text, p_sku text, p_qty bigint,
                                       p_exclude_node text, p_order_doc jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    doc     jsonb := p_order_doc;
    p       jsonb;
    c       record;
    placed  bigint := 0;
    res     jsonb := '[]';
    r       jsonb;
BEGIN
    IF doc IS NULL THEN
        SELECT d.input INTO doc FROM stockroute.decision d
         WHERE d.order_ref = p_order_ref AND d.kind = 'allocate'
         ORDER BY d.created_at DESC LIMIT 1;
    END IF;

    IF jsonb_typeof(doc->'ship_to') = 'object' THEN
        BEGIN
            p := stockroute.plan((doc - 'lines' - 'order_ref' - 'options')
                 || jsonb_build_object('order_ref', p_order_ref,
                                       'lines', jsonb_build_array(jsonb_build_object(
                                           'line_ref', p_line_ref, 'sku', p_sku, 'qty', p_qty)),
                                       'options', coalesce(doc->'options', '{}') - 'ship_complete'
                                                  || '{"allow_partial": true}'));
        EXCEPTION WHEN OTHERS THEN
            p := NULL;          -- the stored order no longer plans: place greedily below
        END;
    END IF;

    FOR c IN
        SELECT sh->>'node_id' AS node_id, (l->>'qty')::bigint AS qty, 0 AS pri
          FROM jsonb_array_elements(CASE WHEN p IS NOT NULL THEN p->'shipments' ELSE '[]' END) sh,
               jsonb_array_elements(sh->'lines') l
         WHERE sh->>'node_id' IS DISTINCT FROM p_exclude_node
           AND NOT EXISTS (SELECT 1 FROM stockroute.node n WHERE n.node_id = sh->>'node_id' AND n.stale)
        UNION ALL
        -- greedy: without a plan, or for what the plan left unfilled
        SELECT s.node_id, s.available, 1
          FROM stockroute.stock s
          JOIN stockroute.node n ON n.node_id = s.node_id
          JOIN stockroute.item i ON i.sku = s.sku
         WHERE s.sku = p_sku AND s.available > 0
           AND n.status = 'active' AND NOT n.stale
           AND s.node_id IS DISTINCT FROM p_exclude_node
           AND (i.allowed_nodes IS NULL OR s.node_id = ANY (i.allowed_nodes))
        ORDER BY 3, 2 DESC, 1
    LOOP
        EXIT WHEN placed >= p_qty;
        BEGIN
            r := stockroute.reserve(p_order_ref, p_line_ref, p_sku, c.node_id,
                                    least(c.qty, p_qty - placed));
            placed := placed + (r->>'qty')::bigint;
            res := res || jsonb_build_array(r - 'idempotent_replay');
        EXCEPTION
            -- taken meanwhile, node closed, a lock cycle with a concurrent
            -- order: this candidate is out, try the next
            WHEN SQLSTATE 'SR001' OR SQLSTATE 'SR009' OR deadlock_detected OR lock_not_available THEN
                NULL;
        END;
    END LOOP;
    RETURN jsonb_build_object('placed', placed, 'reservations', res,
                              'method', CASE WHEN p IS NOT NULL THEN 'plan' ELSE 'greedy' END);
END;
$$;

COMMENT ON FUNCTION stockroute.place_units(text, text, text, bigint, text, jsonb) IS
    'Internal: hold up to qty units of an order line on routable nodes other than exclude_node (plan() with the order''s ship_to, else most available first); returns {placed, reservations, method}';

-- reconcile -------------------------------------------------------------------

CREATE FUNCTION stockroute.reconcile()
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t0          timestamptz := clock_timestamp();
    n_expired   integer := 0;
    u_expired   bigint := 0;
    n_drift     integer := 0;
    n_stale     integer := 0;
    n_fresh     integer := 0;
    n_short     integer := 0;
    u_rerouted  bigint := 0;
    u_backorder bigint := 0;
    n_bo_filled integer := 0;
    u_bo_filled bigint := 0;
    n_low       integer := 0;
    n_gap       integer := 0;
    n_resolved  integer := 0;
    d           record;
    h           record;
    excess      bigint;
    take        bigint;
    pl          jsonb;
    rep         jsonb;
    reply       jsonb;
    run         bigint;
BEGIN
    -- one run at a time; a second caller returns at once
    IF NOT pg_try_advisory_xact_lock(hashtext('stockroute.reconcile'), 0) THEN
        RETURN '{"skipped": true}';
    END IF;
    INSERT INTO stockroute.reconcile_run (started_at, finished_at, summary)
    VALUES (t0, t0, '{}') RETURNING run_id INTO run;

    -- 1. holds past their expiry lapse (the triggers release the units);
    -- their stock rows are locked first, in (node_id, sku) order
    PERFORM 1 FROM stockroute.stock s
     WHERE (s.node_id, s.sku) IN (SELECT r.node_id, r.sku FROM stockroute.reservation r
                                   WHERE r.status = 'held' AND r.expires_at < now())
     ORDER BY s.node_id, s.sku
       FOR NO KEY UPDATE OF s;
    WITH x AS (
        UPDATE stockroute.reservation r SET status = 'expired'
         WHERE r.status = 'held' AND r.expires_at < now()
        RETURNING r.order_ref, r.line_ref, r.sku, r.node_id, r.qty),
    o AS (
        INSERT INTO stockroute.outbox (topic, order_ref, payload)
        SELECT 'release', x.order_ref,
               jsonb_build_object('order_ref', x.order_ref, 'reason', 'expired',
                                  'lines', jsonb_agg(jsonb_build_object('line_ref', x.line_ref, 'sku', x.sku,
                                                                        'node_id', x.node_id, 'qty', x.qty)
                                                     ORDER BY x.line_ref, x.node_id))
          FROM x GROUP BY x.order_ref
        RETURNING 1)
    SELECT count(*), coalesce(sum(x.qty), 0) INTO n_expired, u_expired FROM x;

    -- 2. invariant 2: reserved = the active reservations, else repair and say so
    FOR d IN
        SELECT s.node_id, s.sku
          FROM stockroute.stock s
          LEFT JOIN (SELECT r.node_id, r.sku, sum(r.qty) AS active
                       FROM stockroute.reservation r WHERE r.status IN ('held', 'committed')
                      GROUP BY 1, 2) a ON a.node_id = s.node_id AND a.sku = s.sku
         WHERE s.reserved <> coalesce(a.active, 0)
        UNION
        SELECT l.node_id, l.sku
          FROM stockroute.lot l
          LEFT JOIN (SELECT r.node_id, r.sku, r.lot_code, sum(r.qty) AS active
                       FROM stockroute.reservation r
                      WHERE r.status IN ('held', 'committed') AND r.lot_code IS NOT NULL
                      GROUP BY 1, 2, 3) a
                 ON a.node_id = l.node_id AND a.sku = l.sku AND a.lot_code = l.lot_code
         WHERE l.reserved <> coalesce(a.active, 0)
        ORDER BY 1, 2
    LOOP
        rep := stockroute.repair_reserved(d.node_id, d.sku);
        IF (rep->>'repaired')::boolean THEN
            n_drift := n_drift + 1;
            PERFORM stockroute.raise_alert('drift', d.node_id, d.sku, rep - 'repaired' - 'node_id' - 'sku'
                                           || jsonb_build_object('run_id', run));
        END IF;
    END LOOP;

    -- 3. nodes silent for longer than stale_after are stale (routing skips
    -- them) until their next event; a node that never sent one is not
    FOR d IN
        UPDATE stockroute.node n SET stale = true
         WHERE NOT n.stale AND n.last_event_at < now() - n.stale_after
        RETURNING n.node_id, n.last_event_at, n.stale_after
    LOOP
        n_stale := n_stale + 1;
        PERFORM stockroute.raise_alert('stale_node', d.node_id, NULL,
                    jsonb_build_object('last_event_at', d.last_event_at, 'stale_after', d.stale_after,
                                       'run_id', run));
    END LOOP;
    FOR d IN
        UPDATE stockroute.node n SET stale = false
         WHERE n.stale AND (n.last_event_at IS NULL OR n.last_event_at >= now() - n.stale_after)
        RETURNING n.node_id
    LOOP
        n_fresh := n_fresh + 1;
        PERFORM stockroute.resolve_alert('stale_node', d.node_id, NULL);
    END LOOP;
    WITH u AS (
        UPDATE stockroute.alert a SET status = 'resolved', resolved_at = now()
          FROM stockroute.node n
         WHERE a.kind = 'stale_node' AND a.status = 'open' AND a.node_id = n.node_id AND NOT n.stale
        RETURNING 1)
    SELECT n_resolved + count(*) INTO n_resolved FROM u;

    -- sequence gaps ingest() saw are alerts already; this catches any left unraised
    FOR d IN
        SELECT n.node_id, n.seq_min, n.seq_max, n.seq_count,
               n.seq_max - n.seq_min + 1 - n.seq_count AS missing
          FROM stockroute.node n
         WHERE n.seq_max - n.seq_min + 1 - n.seq_count > 0
           AND NOT EXISTS (SELECT 1 FROM stockroute.alert a
                            WHERE a.kind = 'sync_gap' AND a.status = 'open' AND a.node_id = n.node_id)
         ORDER BY n.node_id
    LOOP
        n_gap := n_gap + 1;
        PERFORM stockroute.raise_alert('sync_gap', d.node_id, NULL,
                    jsonb_build_object('seq_min', d.seq_min, 'seq_max', d.seq_max,
                                       'received', d.seq_count, 'missing', d.missing, 'run_id', run));
    END LOOP;

    -- 4. shortfalls (invariant 4): physical stock below what is promised.
    -- Held reservations there, newest first, give up the excess: it is
    -- placed on other nodes, or backordered.  Committed (paid) ones stay:
    -- the alert asks a person.
    FOR d IN
        SELECT s.node_id, s.sku, s.on_hand, s.reserved
          FROM stockroute.stock s
         WHERE s.on_hand < s.reserved
         ORDER BY s.node_id, s.sku
           FOR NO KEY UPDATE OF s
    LOOP
        n_short := n_short + 1;
        excess := d.reserved - greatest(d.on_hand, 0);
        FOR h IN
            SELECT r.sku, r.reservation_id, r.order_ref, r.line_ref, r.qty
              FROM stockroute.reservation r
             WHERE r.node_id = d.node_id AND r.sku = d.sku AND r.status = 'held'
             ORDER BY r.created_at DESC, r.reservation_id DESC
        LOOP
            EXIT WHEN excess <= 0;
            take := least(h.qty, excess);
            IF take = h.qty THEN
                UPDATE stockroute.reservation r SET status = 'released'
                 WHERE r.sku = h.sku AND r.reservation_id = h.reservation_id AND r.status = 'held';
            ELSE
                UPDATE stockroute.reservation r SET qty = r.qty - take
                 WHERE r.sku = h.sku AND r.reservation_id = h.reservation_id AND r.status = 'held';
            END IF;
            IF NOT FOUND THEN
                CONTINUE;
            END IF;
            excess := excess - take;
            pl := stockroute.place_units(h.order_ref, h.line_ref, h.sku, take, d.node_id, NULL);
            u_rerouted := u_rerouted + (pl->>'placed')::bigint;
            IF take > (pl->>'placed')::bigint THEN
                u_backorder := u_backorder + take - (pl->>'placed')::bigint;
                WITH b AS (
                    INSERT INTO stockroute.backorder AS b (order_ref, line_ref, sku, qty, order_doc)
                    VALUES (h.order_ref, h.line_ref, h.sku, take - (pl->>'placed')::bigint,
                            coalesce((SELECT dd.input FROM stockroute.decision dd
                                       WHERE dd.order_ref = h.order_ref AND dd.kind = 'allocate'
                                       ORDER BY dd.created_at DESC LIMIT 1),
                                     jsonb_build_object('order_ref', h.order_ref)))
                    ON CONFLICT (order_ref, line_ref) WHERE status = 'open'
                    DO UPDATE SET qty = b.qty + EXCLUDED.qty, updated_at = now()
                    RETURNING b.backorder_id, b.qty)
                INSERT INTO stockroute.outbox (topic, order_ref, node_id, payload)
                SELECT 'backorder', h.order_ref, d.node_id,
                       jsonb_build_object('backorder_id', b.backorder_id, 'order_ref', h.order_ref,
                                          'line_ref', h.line_ref, 'sku', h.sku, 'qty', b.qty,
                                          'reason', 'shortfall')
                  FROM b;
            END IF;
            INSERT INTO stockroute.decision (order_ref, kind, input, output)
            VALUES (h.order_ref, 'reroute',
                    jsonb_build_object('reason', 'shortfall', 'node_id', d.node_id, 'sku', h.sku,
                                       'line_ref', h.line_ref, 'qty', take,
                                       'on_hand', d.on_hand, 'reserved', d.reserved),
                    pl || jsonb_build_object('backordered', take - (pl->>'placed')::bigint));
        END LOOP;
        SELECT s.on_hand, s.reserved INTO d.on_hand, d.reserved
          FROM stockroute.stock s WHERE s.node_id = d.node_id AND s.sku = d.sku;
        IF d.on_hand < d.reserved THEN
            PERFORM stockroute.raise_alert('shortfall', d.node_id, d.sku,
                        jsonb_build_object('on_hand', d.on_hand, 'reserved', d.reserved,
                                           'short', d.reserved - d.on_hand, 'source', 'reconcile',
                                           'run_id', run));
        END IF;
    END LOOP;
    WITH u AS (
        UPDATE stockroute.alert a SET status = 'resolved', resolved_at = now()
          FROM stockroute.stock s
         WHERE a.kind = 'shortfall' AND a.status = 'open'
           AND s.node_id = a.node_id AND s.sku = a.sku AND s.on_hand >= s.reserved
        RETURNING 1)
    SELECT n_resolved + count(*) INTO n_resolved FROM u;

    -- 5. open backorders, by priority then age, where routable stock now exists
    FOR d IN
        SELECT b.backorder_id, b.order_ref, b.line_ref, b.sku, b.qty, b.order_doc
          FROM stockroute.backorder b
         WHERE b.status = 'open'
           AND EXISTS (SELECT 1 FROM stockroute.stock s JOIN stockroute.node n ON n.node_id = s.node_id
                        WHERE s.sku = b.sku AND s.available > 0 AND n.status = 'active' AND NOT n.stale)
         ORDER BY b.priority DESC, b.created_at, b.backorder_id
         LIMIT 1000
    LOOP
        pl := stockroute.place_units(d.order_ref, d.line_ref, d.sku, d.qty, NULL,
                                     CASE WHEN d.order_doc ? 'ship_to' THEN d.order_doc END);
        IF (pl->>'placed')::bigint > 0 THEN
            n_bo_filled := n_bo_filled + 1;
            u_bo_filled := u_bo_filled + (pl->>'placed')::bigint;
            IF (pl->>'placed')::bigint >= d.qty THEN
                UPDATE stockroute.backorder b SET status = 'allocated', updated_at = now()
                 WHERE b.backorder_id = d.backorder_id;
            ELSE
                UPDATE stockroute.backorder b SET qty = b.qty - (pl->>'placed')::bigint, updated_at = now()
                 WHERE b.backorder_id = d.backorder_id;
            END IF;
            INSERT INTO stockroute.outbox (topic, order_ref, payload)
            VALUES ('backorder', d.order_ref,
                    jsonb_build_object('backorder_id', d.backorder_id, 'order_ref', d.order_ref,
                                       'line_ref', d.line_ref, 'sku', d.sku,
                                       'placed', (pl->>'placed')::bigint,
                                       'left', greatest(d.qty - (pl->>'placed')::bigint, 0),
                                       'reservations', pl->'reservations'));
            INSERT INTO stockroute.decision (order_ref, kind, input, output)
            VALUES (d.order_ref, 'reroute',
                    jsonb_build_object('reason', 'backorder', 'backorder_id', d.backorder_id,
                                       'sku', d.sku, 'line_ref', d.line_ref, 'qty', d.qty),
                    pl);
        END IF;
    END LOOP;

    -- 6. low stock: available at or below the reorder point
    SELECT count(*) FILTER (WHERE stockroute.raise_alert('low_stock', s.node_id, s.sku,
                                jsonb_build_object('available', s.available,
                                                   'reorder_point', s.reorder_point,
                                                   'on_hand', s.on_hand, 'run_id', run)))
      INTO n_low
      FROM stockroute.stock s
     WHERE s.reorder_point > 0 AND s.available <= s.reorder_point
       AND NOT EXISTS (SELECT 1 FROM stockroute.alert a
                        WHERE a.kind = 'low_stock' AND a.status = 'open'
                          AND coalesce(a.node_id, '') = s.node_id AND coalesce(a.sku, '') = s.sku);
    WITH u AS (
        UPDATE stockroute.alert a SET status = 'resolved', resolved_at = now()
          FROM stockroute.stock s
         WHERE a.kind = 'low_stock' AND a.status = 'open'
           AND s.node_id = a.node_id AND s.sku = a.sku
           AND (s.reorder_point = 0 OR s.available > s.reorder_point)
        RETURNING 1)
    SELECT n_resolved + count(*) INTO n_resolved FROM u;

    reply := jsonb_build_object(
        'started_at', t0,
        'expired', n_expired, 'expired_units', u_expired,
        'drift', n_drift,
        'stale', n_stale, 'stale_cleared', n_fresh,
        'sync_gaps', n_gap,
        'shortfall', n_short, 'rerouted_units', u_rerouted, 'backordered_units', u_backorder,
        'backorders_filled', n_bo_filled, 'backorder_units_placed', u_bo_filled,
        'low_stock', n_low,
        'alerts_resolved', n_resolved);
    UPDATE stockroute.reconcile_run r
       SET finished_at = clock_timestamp(), expired = n_expired, drift = n_drift, stale = n_stale,
           shortfall = n_short, rerouted = u_rerouted, backordered = u_backorder,
           backorders_filled = u_bo_filled, low_stock = n_low,
           summary = reply || jsonb_build_object('run_id', run,
                         'duration_ms', round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 3))
     WHERE r.run_id = run
    RETURNING r.summary INTO reply;
    RETURN reply;
END;
$$;

COMMENT ON FUNCTION stockroute.reconcile() IS
    'Periodic repair: expire lapsed holds, verify and repair invariant 2, flag stale nodes and sync gaps, re-route held units off short nodes, fill backorders, raise low-stock alerts; records the run in reconcile_run and returns its summary ({"skipped": true} when another run is in progress)';

-- Scheduling with pg_cron -----------------------------------------------------

CREATE FUNCTION stockroute.schedule_jobs(schedule text DEFAULT '* * * * *')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p_schedule ALIAS FOR $1;
    cron_db text := current_setting('cron.database_name', true);
    jobid   bigint;
BEGIN
    IF p_schedule IS NULL OR btrim(p_schedule) = '' THEN
        RAISE EXCEPTION 'schedule must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
            USING ERRCODE = 'SR040',
                  DETAIL = CASE WHEN cron_db IS NOT NULL AND cron_db <> current_database()
                                THEN format('pg_cron runs in database "%s" (cron.database_name).', cron_db) END,
                  HINT = CASE WHEN cron_db IS NOT NULL AND cron_db <> current_database()
                              THEN format('In database "%s" run: SELECT cron.schedule_in_database(''stockroute-reconcile'', %L, ''SELECT stockroute.reconcile()'', %L);',
                                          cron_db, p_schedule, current_database())
                              ELSE 'Add pg_cron to shared_preload_libraries, restart the server, then CREATE EXTENSION pg_cron in the database named by cron.database_name.' END;
    END IF;
    -- the job runs as the caller; cron.schedule replaces a job of the same name
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO jobid
      USING 'stockroute-reconcile', p_schedule, 'SELECT stockroute.reconcile()';
    RETURN jobid;
END;
$$;

COMMENT ON FUNCTION stockroute.schedule_jobs(text) IS
    'Register reconcile() with pg_cron as job "stockroute-reconcile" (default every minute); returns the cron job id. Raises SR040 when pg_cron is not installed here';

CREATE FUNCTION stockroute.unschedule_jobs()
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer := 0;
    j bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
            USING ERRCODE = 'SR040',
                  HINT = 'Nothing can be scheduled without pg_cron; there is nothing to unschedule.';
    END IF;
    FOR j IN EXECUTE 'SELECT jobid FROM cron.job WHERE jobname = $1' USING 'stockroute-reconcile' LOOP
        EXECUTE 'SELECT cron.unschedule($1)' USING j;
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$$;

COMMENT ON FUNCTION stockroute.unschedule_jobs() IS
    'Remove the pg_cron jobs schedule_jobs() registered; returns how many. Raises SR040 when pg_cron is not installed here';

-- Dashboards --------------------------------------------------------------------

CREATE VIEW stockroute.node_health AS
SELECT n.node_id, n.name, n.status, n.stale,
       n.status = 'active' AND NOT n.stale AS routable,
       n.last_event_at, n.last_occurred_at,
       pg_catalog.now() - n.last_event_at AS silent_for,
       n.stale_after,
       l.events_last_hour,
       l.lag_p50, l.lag_p95,
       coalesce(n.seq_max - n.seq_min + 1 - n.seq_count, 0) AS seq_missing,
       (SELECT count(*) FROM stockroute.alert a
         WHERE a.node_id = n.node_id AND a.status = 'open') AS open_alerts
  FROM stockroute.node n
  LEFT JOIN LATERAL (
        SELECT count(*) AS events_last_hour,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY e.latency) AS lag_p50,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY e.latency) AS lag_p95
          FROM stockroute.event e
         WHERE e.node_id = n.node_id AND e.received_at > pg_catalog.now() - interval '1 hour'
           AND e.latency IS NOT NULL) l ON true;

COMMENT ON VIEW stockroute.node_health IS
    'Per node: status, stale, routable, last event, event lag (received_at - occurred_at) p50/p95 over the last hour, missing seqs, open alerts';

CREATE VIEW stockroute.inventory_position AS
SELECT s.node_id, s.sku, s.on_hand, s.reserved, s.safety_stock, s.available, s.reorder_point,
       s.reorder_point > 0 AND s.available <= s.reorder_point AS below_reorder_point,
       greatest(s.reserved - s.on_hand, 0) AS shortfall,
       n.status = 'active' AND NOT n.stale AS routable,
       s.counted_at, s.updated_at
  FROM stockroute.stock s
  JOIN stockroute.node n ON n.node_id = s.node_id;

COMMENT ON VIEW stockroute.inventory_position IS
    'Per SKU and node: on hand, reserved, safety stock, available, reorder point, shortfall, whether routing may use it';

CREATE VIEW stockroute.network_position AS
SELECT s.sku,
       count(*) AS nodes,
       sum(s.on_hand) AS on_hand,
       sum(s.reserved) AS reserved,
       sum(s.safety_stock) AS safety_stock,
       sum(s.available) AS available,
       coalesce(sum(s.available) FILTER (WHERE n.status = 'active' AND NOT n.stale), 0) AS routable_available,
       count(*) FILTER (WHERE s.on_hand < s.reserved) AS nodes_short,
       count(*) FILTER (WHERE s.reorder_point > 0 AND s.available <= s.reorder_point) AS nodes_low,
       coalesce((SELECT sum(b.qty) FROM stockroute.backorder b
                  WHERE b.sku = s.sku AND b.status = 'open'), 0) AS backordered
  FROM stockroute.stock s
  JOIN stockroute.node n ON n.node_id = s.node_id
 GROUP BY s.sku;

COMMENT ON VIEW stockroute.network_position IS
    'Per SKU over all nodes: on hand, reserved, available (all nodes and routable ones), nodes short or low, units backordered';

CREATE VIEW stockroute.discrepancy AS
SELECT a.alert_id, a.kind, a.node_id, a.sku, a.status, a.detail, a.raised_at, a.resolved_at,
       (a.detail->>'run_id')::bigint AS run_id
  FROM stockroute.alert a
 WHERE a.kind IN ('drift', 'shortfall', 'sync_gap', 'stale_node');

COMMENT ON VIEW stockroute.discrepancy IS
    'What sync and reconciliation found wrong between the record and the locations (drift, shortfall, sync gap, stale node), when, and the reconcile run that last saw it (NULL: seen by ingest only)';
