-- stockroute, the deferred trigger on supply that fills backorders at the
-- commit of a receipt (its function is in sql/70_supply.sql).  A constraint
-- trigger cannot be created OR REPLACE, so it is a "create 0.2.0" part
-- (sql/manifest), after its function: created by the install script and by
-- the update from 0.1.0.

CREATE CONSTRAINT TRIGGER supply_received AFTER UPDATE ON stockroute.supply
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.received_qty > OLD.received_qty)
    EXECUTE FUNCTION stockroute.supply_received();
