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
