-- stockroute, the ops console's functions (console/, docs/console.md):
--
--   * set_node_status(): a node's status set with a reason, kept in
--     node_status_change;
--   * acknowledge_alert(): an operator has seen an open alert (alert_ack);
--   * record_intervention(): the audit log of what operators did through a
--     tool (intervention);
--   * set_node_secret(): the webhook secret of a node, sealed by the console
--     (node_secret).
--
-- They run as their caller (no SECURITY DEFINER): the rows they write take
-- their "who" from CURRENT_USER (sql/schema/80_console.sql).  Granted in
-- create_roles() (sql/90_security.sql).  A "replace" part (sql/manifest).

CREATE OR REPLACE FUNCTION stockroute.set_node_status(node_id text, status text, reason text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_node_id ALIAS FOR $1;
    p_status  ALIAS FOR $2;
    p_reason  ALIAS FOR $3;
    previous  text;
    ch        record;
BEGIN
    IF p_node_id IS NULL THEN
        RAISE EXCEPTION 'node_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF p_status IS NULL THEN
        RAISE EXCEPTION 'status must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF p_reason IS NULL THEN
        RAISE EXCEPTION 'reason must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF p_status NOT IN ('active', 'draining', 'offline') THEN
        RAISE EXCEPTION 'status must be active, draining or offline, not "%"', left(p_status, 64)
            USING ERRCODE = 'invalid_parameter_value';
    ELSIF btrim(p_reason) = '' THEN
        RAISE EXCEPTION 'reason must not be empty' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Say why, for the next person who reads the node''s history.';
    ELSIF octet_length(p_reason) > 1000 THEN
        RAISE EXCEPTION 'reason is longer than 1000 bytes' USING ERRCODE = 'string_data_right_truncation';
    END IF;

    SELECT n.status INTO previous FROM stockroute.node n WHERE n.node_id = p_node_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node "%" does not exist', left(p_node_id, 64) USING ERRCODE = 'SR002';
    END IF;
    IF previous = p_status THEN
        RETURN jsonb_build_object('node_id', p_node_id, 'status', p_status, 'previous_status', previous,
                                  'changed', false);
    END IF;

    UPDATE stockroute.node n SET status = p_status, updated_at = now() WHERE n.node_id = p_node_id;
    INSERT INTO stockroute.node_status_change AS c (node_id, old_status, new_status, reason)
    VALUES (p_node_id, previous, p_status, p_reason)
    RETURNING c.change_id, c.changed_by, c.changed_at INTO ch;
    RETURN jsonb_build_object('node_id', p_node_id, 'status', p_status, 'previous_status', previous,
                              'changed', true, 'reason', p_reason, 'change_id', ch.change_id,
                              'changed_by', ch.changed_by, 'changed_at', ch.changed_at);
END;
$$;

COMMENT ON FUNCTION stockroute.set_node_status(text, text, text) IS
    'Set a node''s status (active, draining, offline) and record why in node_status_change; the same status again changes and records nothing. Returns {node_id, status, previous_status, changed, reason, change_id, changed_by, changed_at}';

CREATE OR REPLACE FUNCTION stockroute.acknowledge_alert(alert_id uuid, note text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_alert_id ALIAS FOR $1;
    p_note     ALIAS FOR $2;
    a          record;
    k          record;
    fresh      boolean := true;
BEGIN
    IF p_alert_id IS NULL THEN
        RAISE EXCEPTION 'alert_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF octet_length(p_note) > 1000 THEN
        RAISE EXCEPTION 'note is longer than 1000 bytes' USING ERRCODE = 'string_data_right_truncation';
    END IF;
    SELECT x.alert_id, x.kind, x.node_id, x.sku, x.lot_code, x.status INTO a
      FROM stockroute.alert x WHERE x.alert_id = p_alert_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'alert "%" does not exist', p_alert_id USING ERRCODE = 'SR070';
    ELSIF a.status <> 'open' THEN
        RAISE EXCEPTION 'alert "%" (%) is %, not open', p_alert_id, a.kind, a.status
            USING ERRCODE = 'SR071', HINT = 'Only open alerts are acknowledged; its condition has cleared.';
    END IF;
    INSERT INTO stockroute.alert_ack AS x (alert_id, note)
    VALUES (p_alert_id, nullif(btrim(p_note), ''))
    ON CONFLICT (alert_id) DO NOTHING
    RETURNING x.note, x.acknowledged_by, x.acknowledged_at INTO k;
    IF NOT FOUND THEN
        fresh := false;
        SELECT x.note, x.acknowledged_by, x.acknowledged_at INTO k
          FROM stockroute.alert_ack x WHERE x.alert_id = p_alert_id;
    END IF;
    RETURN jsonb_build_object('alert_id', a.alert_id, 'kind', a.kind, 'node_id', a.node_id, 'sku', a.sku,
                              'lot_code', a.lot_code, 'note', k.note, 'acknowledged_by', k.acknowledged_by,
                              'acknowledged_at', k.acknowledged_at, 'already_acknowledged', NOT fresh);
END;
$$;

COMMENT ON FUNCTION stockroute.acknowledge_alert(uuid, text) IS
    'Acknowledge an open alert with an optional note (SR070 no such alert, SR071 it is resolved); acknowledging it again keeps the first acknowledgement. Returns {alert_id, kind, node_id, sku, lot_code, note, acknowledged_by, acknowledged_at, already_acknowledged}';

CREATE OR REPLACE FUNCTION stockroute.record_intervention(action text, args jsonb, ok boolean, result jsonb DEFAULT NULL,
                                               sqlstate text DEFAULT NULL, error text DEFAULT NULL,
                                               actor text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_action   ALIAS FOR $1;
    p_args     ALIAS FOR $2;
    p_ok       ALIAS FOR $3;
    p_result   ALIAS FOR $4;
    p_sqlstate ALIAS FOR $5;
    p_error    ALIAS FOR $6;
    p_actor    ALIAS FOR $7;
    id         uuid;
BEGIN
    IF p_action IS NULL THEN
        RAISE EXCEPTION 'action must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF p_args IS NULL THEN
        RAISE EXCEPTION 'args must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF p_ok IS NULL THEN
        RAISE EXCEPTION 'ok must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF p_action !~ '^[a-z][a-z0-9_]{0,63}$' THEN
        RAISE EXCEPTION 'action must be a lower-case word of at most 64 characters, not "%"', left(p_action, 64)
            USING ERRCODE = 'invalid_parameter_value';
    ELSIF jsonb_typeof(p_args) <> 'object' THEN
        RAISE EXCEPTION 'args must be a JSON object, not %', jsonb_typeof(p_args)
            USING ERRCODE = 'invalid_parameter_value';
    ELSIF p_sqlstate !~ '^[0-9A-Z]{5}$' THEN
        RAISE EXCEPTION 'sqlstate must be five digits or upper-case letters, not "%"', left(p_sqlstate, 64)
            USING ERRCODE = 'invalid_parameter_value';
    ELSIF p_ok AND p_error IS NOT NULL THEN
        RAISE EXCEPTION 'error must be null when ok is true' USING ERRCODE = 'invalid_parameter_value';
    ELSIF NOT p_ok AND p_error IS NULL THEN
        RAISE EXCEPTION 'error must say what went wrong when ok is false' USING ERRCODE = 'invalid_parameter_value';
    ELSIF octet_length(p_error) > 4000 THEN
        RAISE EXCEPTION 'error is longer than 4000 bytes' USING ERRCODE = 'string_data_right_truncation';
    ELSIF octet_length(p_actor) > 256 THEN
        RAISE EXCEPTION 'actor is longer than 256 bytes' USING ERRCODE = 'string_data_right_truncation';
    END IF;
    INSERT INTO stockroute.intervention AS i (action, args, ok, result, sqlstate, error, actor)
    VALUES (p_action, p_args, p_ok, p_result, p_sqlstate, p_error, p_actor)
    RETURNING i.intervention_id INTO id;
    RETURN id;
END;
$$;

COMMENT ON FUNCTION stockroute.record_intervention(text, jsonb, boolean, jsonb, text, text, text) IS
    'Record an operator''s intervention (action, args, ok, result, or sqlstate and error when refused or failed, actor) in intervention, in the name of the calling role; returns its id';

CREATE OR REPLACE FUNCTION stockroute.set_node_secret(node_id text, sealed bytea, key_id text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_node_id ALIAS FOR $1;
    p_sealed  ALIAS FOR $2;
    p_key_id  ALIAS FOR $3;
    replaced  boolean;
    s         record;
BEGIN
    IF p_node_id IS NULL THEN
        RAISE EXCEPTION 'node_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF p_sealed IS NULL THEN
        RAISE EXCEPTION 'sealed must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF p_key_id IS NULL THEN
        RAISE EXCEPTION 'key_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF octet_length(p_sealed) NOT BETWEEN 30 AND 1024 THEN
        RAISE EXCEPTION 'sealed must be 30 to 1024 bytes, not %', octet_length(p_sealed)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Set secrets with the console''s command (python3 -m console secret set NODE), which seals them.';
    ELSIF p_key_id !~ '^[0-9a-f]{16}$' THEN
        RAISE EXCEPTION 'key_id must be 16 lower-case hex digits, not "%"', left(p_key_id, 64)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM 1 FROM stockroute.node n WHERE n.node_id = p_node_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node "%" does not exist', left(p_node_id, 64) USING ERRCODE = 'SR002';
    END IF;
    -- replace: the new row takes its set_by and set_at from the defaults
    DELETE FROM stockroute.node_secret x WHERE x.node_id = p_node_id;
    replaced := FOUND;
    INSERT INTO stockroute.node_secret AS x (node_id, sealed, key_id)
    VALUES (p_node_id, p_sealed, p_key_id)
    RETURNING x.set_by, x.set_at INTO s;
    RETURN jsonb_build_object('node_id', p_node_id, 'key_id', p_key_id, 'replaced', replaced,
                              'set_by', s.set_by, 'set_at', s.set_at);
END;
$$;

COMMENT ON FUNCTION stockroute.set_node_secret(text, bytea, text) IS
    'Store (or replace) a node''s sealed webhook secret; the database never sees the secret itself. Returns {node_id, key_id, replaced, set_by, set_at}';
