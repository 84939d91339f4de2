-- stockroute 0.1.0 -> 0.2.0, simulate() counts the batch's orders against
-- the nodes' daily capacity in memory (src/simulate.c): only the comment of
-- simulate() changes (sql/70_supply.sql).  Runs after 60_supply.sql, which
-- creates the function.
COMMENT ON FUNCTION stockroute.simulate(jsonb, text, boolean) IS
    'Route a batch of orders in sequence as allocate() would (each sees the stock the earlier ones took and the orders and units they gave each node with a daily limit) without writing anything; returns KPIs (cost, fill, shipments, split rate, days, node load) and, with plans, the plans';
