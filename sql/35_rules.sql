-- stockroute, routing rules: validation of a rule when it is written, and
-- the profiles and nodes rules name kept from dangling.  plan(), allocate()
-- and available() apply the rules (src/rules.c); docs/routing.md "Rules" has
-- the vocabulary, the comments on the rule table's columns
-- (sql/schema/10_core.sql) a summary.
--
-- A "replace" part (sql/manifest): it runs in the install script and again
-- in every update, so each statement creates or replaces.

CREATE OR REPLACE FUNCTION stockroute.rule_validate() RETURNS trigger
AS 'MODULE_PATHNAME', 'rule_validate'
LANGUAGE C
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION stockroute.rule_validate() IS
    'Trigger: rejects a rule with an unknown key, a value of the wrong type or out of range, or a profile or node that does not exist (SR024-SR028); stamps updated_at on update';

CREATE OR REPLACE TRIGGER rule_validate BEFORE INSERT OR UPDATE ON stockroute.rule
    FOR EACH ROW EXECUTE FUNCTION stockroute.rule_validate();

-- A profile or node a rule names cannot be deleted while the rule names it
-- (like a foreign key, ON DELETE RESTRICT); a node renamed is renamed in the
-- rules too (ON UPDATE CASCADE, as stock does).  Profiles cannot be renamed
-- (SR011).
CREATE OR REPLACE FUNCTION stockroute.rule_references() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
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
CREATE OR REPLACE TRIGGER rule_references BEFORE DELETE ON stockroute.profile
    FOR EACH ROW EXECUTE FUNCTION stockroute.rule_references();
CREATE OR REPLACE TRIGGER rule_references BEFORE DELETE ON stockroute.node
    FOR EACH ROW EXECUTE FUNCTION stockroute.rule_references();
CREATE OR REPLACE TRIGGER rule_references_rename AFTER UPDATE OF node_id ON stockroute.node
    FOR EACH ROW WHEN (OLD.node_id IS DISTINCT FROM NEW.node_id)
    EXECUTE FUNCTION stockroute.rule_references();
