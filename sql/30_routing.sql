-- stockroute, routing: the split_plan aggregate over candidate rows (the
-- type is in sql/schema/30_routing.sql), plan(), allocate(), available() and
-- explain().  (Named 30_routing.sql, not routing.sql: a file directly under
-- sql/ may not share a test's name.)
--
-- A "replace" part (sql/manifest): it runs in the install script and again
-- in every update, so each statement creates or replaces.

-- Candidates and the split_plan aggregate -------------------------------------

CREATE OR REPLACE FUNCTION stockroute.split_plan_transition(internal, stockroute.candidate)
RETURNS internal
AS 'MODULE_PATHNAME', 'split_plan_transition'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION stockroute.split_plan_transition(internal, stockroute.candidate, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'split_plan_transition'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION stockroute.split_plan_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'split_plan_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION stockroute.split_plan_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'split_plan_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION stockroute.split_plan_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'split_plan_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- VOLATILE only because the plan reports the solver's time (explain.solver.micros)
CREATE OR REPLACE FUNCTION stockroute.split_plan_final(internal)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'split_plan_final'
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

CREATE OR REPLACE AGGREGATE stockroute.split_plan(stockroute.candidate) (
    SFUNC = stockroute.split_plan_transition,
    STYPE = internal,
    FINALFUNC = stockroute.split_plan_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = stockroute.split_plan_combine,
    SERIALFUNC = stockroute.split_plan_serialize,
    DESERIALFUNC = stockroute.split_plan_deserialize,
    PARALLEL = SAFE
);

CREATE OR REPLACE AGGREGATE stockroute.split_plan(stockroute.candidate, jsonb) (
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

CREATE OR REPLACE FUNCTION stockroute.plan("order" jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'stockroute_plan'
LANGUAGE C STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION stockroute.plan(jsonb) IS
    'Decide which nodes ship which units of an order; reserves and writes nothing (runs on a hot standby)';

CREATE OR REPLACE FUNCTION stockroute.allocate("order" jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'stockroute_allocate'
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION stockroute.allocate(jsonb) IS
    'Plan an order and reserve its shipments atomically, re-planning when a concurrent order takes the stock; idempotent per order_ref';

CREATE OR REPLACE FUNCTION stockroute.available(sku text, ship_to jsonb DEFAULT NULL, customer jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'stockroute_available'
LANGUAGE C STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION stockroute.available(text, jsonb, jsonb) IS
    'Available-to-promise of a SKU per node and network-wide, with delivery days and ETA to ship_to';

CREATE OR REPLACE FUNCTION stockroute.explain(plan jsonb)
RETURNS text
AS 'MODULE_PATHNAME', 'stockroute_explain'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION stockroute.explain(jsonb) IS
    'A plan (from plan, allocate or split_plan) as readable text: shipments, unfilled lines, nodes not chosen and why, solver';
