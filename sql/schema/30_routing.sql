-- stockroute, the type routing takes as input: a candidate row of the
-- split_plan aggregate (sql/30_routing.sql).  A "create 0.1.0" part
-- (sql/manifest): only the install script creates it; a change of its
-- attributes is an update's delta (ALTER TYPE).

CREATE TYPE stockroute.candidate AS (
    line_ref text, qty bigint,          -- the order line and the units it needs
    node_id text, available bigint,     -- a node and the units of that line it can give
    unit_cost float8,                   -- variable cost per unit from this node for this line
    shipment_cost float8,               -- fixed cost of one shipment from this node
    days float8);                       -- delivery days from this node

COMMENT ON TYPE stockroute.candidate IS
    'Input row of split_plan: a node that can give some units of an order line, with its costs and delivery days';
