-- 0.1.0 -> 0.2.0: routing rules (sql/35_rules.sql): column comments, the
-- rule_validate trigger, and the rule_references triggers on profile and node.
-- Rules already stored are not re-checked here; touching one validates it
-- (UPDATE stockroute.rule SET rule_id = rule_id checks them all), and routing
-- skips and reports a rule it cannot read.  (place_units' filter on the nodes a
-- rule excluded is in 60_supply.sql, which re-creates that function.)
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

CREATE FUNCTION stockroute.rule_validate() RETURNS trigger
AS 'MODULE_PATHNAME', 'rules_validate'
LANGUAGE C;

COMMENT ON FUNCTION stockroute.rule_validate() IS
    'Trigger: rejects a rule with an unknown key, a value of the wrong type or out of range, or a profile or node that does not exist (SR024-SR028); stamps updated_at on update';

CREATE TRIGGER rule_validate BEFORE INSERT OR UPDATE ON stockroute.rule
    FOR EACH ROW EXECUTE FUNCTION stockroute.rule_validate();

-- A profile or node a rule names cannot be deleted while the rule names it
-- (like a foreign key, ON DELETE RESTRICT); a node renamed is renamed in the
-- rules too (ON UPDATE CASCADE, as stock does).  Profiles cannot be renamed
-- (SR011).
CREATE FUNCTION stockroute.rule_references() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    found_rule text;
BEGIN
    IF TG_TABLE_NAME = 'profile' THEN
        SELECT r.rule_id INTO found_rule
          FROM stockroute.rule r
         WHERE r.effect->'profile' = pg_catalog.to_jsonb(OLD.profile_name)
            OR r.effect->'else_profile' = pg_catalog.to_jsonb(OLD.profile_name)
         ORDER BY r.rule_id COLLATE "C" LIMIT 1;
        IF found_rule IS NOT NULL THEN
            RAISE EXCEPTION 'profile "%" is named by rule "%"', OLD.profile_name, found_rule
                USING ERRCODE = 'SR029',
                      HINT = 'Change or delete the rules that name it first.';
        END IF;
        RETURN OLD;
    END IF;

    IF TG_OP = 'DELETE' THEN
        SELECT r.rule_id INTO found_rule
          FROM stockroute.rule r
         WHERE r.effect->'require_nodes' @> pg_catalog.to_jsonb(OLD.node_id)
            OR r.effect->'forbid_nodes' @> pg_catalog.to_jsonb(OLD.node_id)
            OR r.effect->'prefer_nodes' @> pg_catalog.to_jsonb(OLD.node_id)
         ORDER BY r.rule_id COLLATE "C" LIMIT 1;
        IF found_rule IS NOT NULL THEN
            RAISE EXCEPTION 'node "%" is named by rule "%"', OLD.node_id, found_rule
                USING ERRCODE = 'SR029',
                      HINT = 'Change or delete the rules that name it first.';
        END IF;
        RETURN OLD;
    END IF;

    -- a node renamed: rename it in every rule's node lists
    UPDATE stockroute.rule r
       SET effect = (SELECT pg_catalog.jsonb_object_agg(e.key,
                            CASE WHEN e.key NOT IN ('require_nodes', 'forbid_nodes', 'prefer_nodes') THEN e.value
                                 WHEN pg_catalog.jsonb_typeof(e.value) = 'array' THEN
                                      (SELECT pg_catalog.jsonb_agg(CASE WHEN x = pg_catalog.to_jsonb(OLD.node_id)
                                                                        THEN pg_catalog.to_jsonb(NEW.node_id) ELSE x END
                                                                   ORDER BY i)
                                         FROM pg_catalog.jsonb_array_elements(e.value) WITH ORDINALITY AS a(x, i))
                                 WHEN e.value = pg_catalog.to_jsonb(OLD.node_id) THEN pg_catalog.to_jsonb(NEW.node_id)
                                 ELSE e.value END)
                       FROM pg_catalog.jsonb_each(r.effect) AS e)
     WHERE r.effect->'require_nodes' @> pg_catalog.to_jsonb(OLD.node_id)
        OR r.effect->'forbid_nodes' @> pg_catalog.to_jsonb(OLD.node_id)
        OR r.effect->'prefer_nodes' @> pg_catalog.to_jsonb(OLD.node_id);
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION stockroute.rule_references() IS
    'Trigger: refuses to delete a profile or node a rule names (SR029) and renames a renamed node in the rules';

-- named to fire after profile_versioning, so a shipped profile still says SR012
CREATE TRIGGER rule_references BEFORE DELETE ON stockroute.profile
    FOR EACH ROW EXECUTE FUNCTION stockroute.rule_references();
CREATE TRIGGER rule_references BEFORE DELETE ON stockroute.node
    FOR EACH ROW EXECUTE FUNCTION stockroute.rule_references();
CREATE TRIGGER rule_references_rename AFTER UPDATE OF node_id ON stockroute.node
    FOR EACH ROW WHEN (OLD.node_id IS DISTINCT FROM NEW.node_id)
    EXECUTE FUNCTION stockroute.rule_references();
