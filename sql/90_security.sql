-- stockroute, least privilege: the roles and EXECUTE.  See the threat
-- model in docs/operations.md and the roles in docs/reference.md.
--
--   * three NOLOGIN roles, created here when the installer may create roles
--     (else later by stockroute.create_roles()): stockroute_admin (master
--     data, rules, profiles, the node mapping, jobs), stockroute_app
--     (plan, allocate, the reservation lifecycle, reading), stockroute_node
--     (ingest, reading its own nodes' stock, lots and events);
--   * stockroute.node_role maps login roles or groups to the nodes they speak
--     for, and row-level security keeps a node role to those nodes' rows
--     (sql/schema/90_security.sql);
--   * the functions that write what callers may not write directly run as
--     SECURITY DEFINER: they write reservations, stock counts,
--     stock.reserved, events, alerts and the audit tables as the extension's
--     owner.  Each takes typed arguments, builds no SQL from them, and pins
--     search_path, so nothing a caller plants in a schema can stand in for a
--     function, operator or table it uses.  The callers' own functions that
--     run SQL pin search_path too: their queries are parsed (and their kept
--     plans re-parsed) under the search_path in force, and a schema placed
--     before pg_catalog could otherwise supply an operator.  Both are
--     declared with each function, in its part;
--   * EXECUTE on every function of the schema is revoked from PUBLIC, then
--     granted back role by role.
--
-- A "replace" part (sql/manifest), last on purpose: the REVOKE reaches every
-- function the parts before created, in the install script and in every
-- update.  A function added later must be granted in create_roles()
-- (test/sql/security.sql fails until it is).

-- Roles --------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION stockroute.create_roles()
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result  jsonb := '{}';
    r       record;
BEGIN
    -- 1. the roles: cluster-wide, so another database may have made them,
    -- or be making them right now.  Wait for such an install on pg_authid
    -- (a shared catalog: the one lock both databases see), so that what it
    -- made is seen below, by the query and by the role lookups of GRANT.  A
    -- role with CREATEROLE but not superuser may not lock pg_authid; the
    -- handler around CREATE ROLE below copes with that race on its own.
    IF EXISTS (SELECT 1
                 FROM unnest(ARRAY['stockroute_admin', 'stockroute_app', 'stockroute_node']) w(name)
                WHERE NOT EXISTS (SELECT 1 FROM pg_roles a WHERE a.rolname = w.name)) THEN
        BEGIN
            LOCK TABLE pg_catalog.pg_authid IN SHARE ROW EXCLUSIVE MODE;
        EXCEPTION WHEN insufficient_privilege THEN
            NULL;
        END;
    END IF;
    FOR r IN
        SELECT w.name, a.rolname IS NOT NULL AS present, a.rolcanlogin, a.rolsuper,
               (SELECT c.rolsuper OR c.rolcreaterole FROM pg_roles c WHERE c.rolname = current_user) AS can_create
          FROM unnest(ARRAY['stockroute_admin', 'stockroute_app', 'stockroute_node']) WITH ORDINALITY w(name, ord)
          LEFT JOIN pg_roles a ON a.rolname = w.name
         ORDER BY w.ord
    LOOP
        IF r.present THEN
            IF r.rolcanlogin OR r.rolsuper THEN
                RAISE WARNING 'role "%" already exists and can log in or is a superuser', r.name
                    USING HINT = 'stockroute grants it privileges as a group role; make it NOLOGIN NOSUPERUSER.';
            END IF;
            result := result || jsonb_build_object(r.name, 'exists');
            CONTINUE;
        END IF;
        IF NOT r.can_create THEN
            RAISE EXCEPTION 'permission denied to create role "%"', r.name
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Run SELECT stockroute.create_roles() as a superuser or a role with CREATEROLE.';
        END IF;
        -- static statements, one per role: no SQL is built from strings.
        -- Another database's CREATE EXTENSION may be making the same role
        -- right now (no lock spans databases): CREATE ROLE then waits for
        -- it and fails with a unique violation once it commits, or with
        -- duplicate_object when it committed first.  Either way the role
        -- exists, as that transaction made it, and is granted below.
        BEGIN
            IF r.name = 'stockroute_admin' THEN
                CREATE ROLE stockroute_admin NOLOGIN;
                COMMENT ON ROLE stockroute_admin IS
                    'stockroute: master data, rules, profiles, node mapping, ingest for any node, reconciliation jobs';
            ELSIF r.name = 'stockroute_app' THEN
                CREATE ROLE stockroute_app NOLOGIN;
                COMMENT ON ROLE stockroute_app IS
                    'stockroute: plan, allocate, reserve, commit, release, fulfill, reading every table and view';
            ELSE
                CREATE ROLE stockroute_node NOLOGIN;
                COMMENT ON ROLE stockroute_node IS
                    'stockroute: ingest and read stock, lots and events of the nodes stockroute.node_role maps the member to';
            END IF;
            result := result || jsonb_build_object(r.name, 'created');
        EXCEPTION WHEN unique_violation OR duplicate_object THEN
            result := result || jsonb_build_object(r.name, 'exists');
        END;
    END LOOP;

    -- 2. their privileges (GRANT is idempotent)
    GRANT USAGE ON SCHEMA stockroute TO stockroute_admin, stockroute_app, stockroute_node;

    -- reading: admin and app every table and view, node roles their own
    -- nodes' stock, lots and events (row-level security)
    GRANT SELECT ON ALL TABLES IN SCHEMA stockroute TO stockroute_admin, stockroute_app;
    GRANT SELECT ON stockroute.stock, stockroute.lot, stockroute.event TO stockroute_node;

    -- master data, rules, profiles and the node mapping.  Stock and lot rows:
    -- created with their opening on_hand, then moved by events (ingest);
    -- reserved only ever by the reservation triggers
    GRANT INSERT, UPDATE, DELETE ON stockroute.node, stockroute.item, stockroute.lane,
        stockroute.calendar, stockroute.holiday, stockroute.profile, stockroute.rule,
        stockroute.node_role TO stockroute_admin;
    GRANT INSERT (node_id, sku, on_hand, safety_stock, reorder_point),
          UPDATE (safety_stock, reorder_point), DELETE
        ON stockroute.stock TO stockroute_admin;
    GRANT INSERT (node_id, sku, lot_code, on_hand, expires_on, attrs),
          UPDATE (expires_on, attrs), DELETE
        ON stockroute.lot TO stockroute_admin;
    -- incoming supply (received_qty follows the receipt events) and the
    -- priority of customer segments
    GRANT INSERT (node_id, sku, qty, expected_on, ref, kind, from_node_id, status),
          UPDATE (node_id, qty, expected_on, ref, kind, from_node_id, status), DELETE
        ON stockroute.supply TO stockroute_admin;
    GRANT INSERT, UPDATE, DELETE ON stockroute.segment_priority TO stockroute_admin;
    -- flat files: \copy into event_staging, then ingest_staged()
    GRANT INSERT, DELETE ON stockroute.event_staging TO stockroute_admin;
    -- outbox consumers mark what they consumed
    GRANT UPDATE (consumed_at) ON stockroute.outbox TO stockroute_admin, stockroute_app;

    GRANT EXECUTE ON FUNCTION
        stockroute.plan(jsonb),
        stockroute.allocate(jsonb),
        stockroute.available(text, jsonb, jsonb),
        stockroute.reserve(text, text, text, text, bigint, interval, text, text),
        stockroute.commit(text),
        stockroute.release(text, text),
        stockroute.fulfill(text, text, text),
        stockroute.order_reservations(text),
        stockroute.simulate(jsonb, text, boolean),
        stockroute.replay(timestamptz, timestamptz, text, boolean),
        stockroute.reject(text, text, text, interval)
      TO stockroute_app;
    -- what available() and the promise dates read (they run as the caller)
    GRANT EXECUTE ON FUNCTION
        stockroute.supply_promise(jsonb, jsonb),
        stockroute.promise_date(text, integer, bigint, timestamptz, uuid, jsonb),
        stockroute.supply_curve(text, jsonb, jsonb),
        stockroute.supply_nodes(text, jsonb),
        stockroute.supply_today(),
        stockroute.order_priority(jsonb),
        stockroute.hold_priority(text),
        stockroute.routing_now()
      TO stockroute_app, stockroute_admin;
    GRANT EXECUTE ON FUNCTION
        stockroute.plan(jsonb),
        stockroute.available(text, jsonb, jsonb),
        stockroute.order_reservations(text),
        stockroute.ingest(jsonb),
        stockroute.ingest_staged(text),
        stockroute.ingest_parse_time(text),
        stockroute.require_node_access(jsonb),
        stockroute.reconcile(),
        stockroute.repair_reserved(text, text),
        stockroute.lock_order_stock(text, text),
        stockroute.expire_lapsed_holds(text[], text[], xid, cid),
        stockroute.raise_alert(text, text, text, jsonb),
        stockroute.resolve_alert(text, text, text),
        stockroute.raise_alert(text, text, text, jsonb, text),
        stockroute.resolve_alert(text, text, text, text),
        stockroute.shortfall_reroute(text, text, text, bigint, bigint, bigint),
        stockroute.reject(text, text, text, interval),
        stockroute.schedule_jobs(text),
        stockroute.unschedule_jobs(),
        stockroute.simulate(jsonb, text, boolean),
        stockroute.replay(timestamptz, timestamptz, text, boolean),
        stockroute.fill_backorders(text[], integer),
        stockroute.repromise(text[]),
        stockroute.cancel_supply(text, text, text),
        stockroute.preempt_base(text, text[], integer)
      TO stockroute_admin;
    GRANT EXECUTE ON FUNCTION
        stockroute.ingest(jsonb),
        stockroute.require_node_access(jsonb)
      TO stockroute_node;
    -- the ops console (sql/80_console.sql, sql/schema/80_console.sql):
    -- operators set node status, acknowledge alerts and set webhook secrets;
    -- admin and app record what they did or were refused.  Every "who"
    -- column keeps its default.
    GRANT INSERT (node_id, old_status, new_status, reason) ON stockroute.node_status_change
      TO stockroute_admin;
    GRANT INSERT (alert_id, note) ON stockroute.alert_ack TO stockroute_admin;
    GRANT INSERT (node_id, sealed, key_id), DELETE ON stockroute.node_secret TO stockroute_admin;
    GRANT INSERT (action, args, ok, result, sqlstate, error, actor) ON stockroute.intervention
      TO stockroute_admin, stockroute_app;
    GRANT EXECUTE ON FUNCTION
        stockroute.set_node_status(text, text, text),
        stockroute.acknowledge_alert(uuid, text),
        stockroute.set_node_secret(text, bytea, text)
      TO stockroute_admin;
    GRANT EXECUTE ON FUNCTION
        stockroute.record_intervention(text, jsonb, boolean, jsonb, text, text, text)
      TO stockroute_admin, stockroute_app;
    RETURN result;
END;
$$;

COMMENT ON FUNCTION stockroute.create_roles() IS
    'Create the NOLOGIN roles stockroute_admin, stockroute_app and stockroute_node where missing (needs CREATEROLE) and grant them their privileges; idempotent. CREATE EXTENSION runs it when the installer may create roles';

-- EXECUTE -----------------------------------------------------------------------------
-- Nothing is executable by PUBLIC but what only reads its arguments (or, for
-- visible_nodes(), the caller's own mapping: row-level security evaluates it
-- for every role that reads stock, lot or event).
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA stockroute FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    stockroute.split_plan(stockroute.candidate),
    stockroute.split_plan(stockroute.candidate, jsonb),
    stockroute.explain(jsonb),
    stockroute.visible_nodes()
  TO PUBLIC;

-- CREATE EXTENSION by a role that may not create roles (and finds them
-- missing) installs without them; docs/operations.md says what to run then.
DO $$
BEGIN
    IF (SELECT c.rolsuper OR c.rolcreaterole FROM pg_catalog.pg_roles c WHERE c.rolname = current_user)
       OR (SELECT pg_catalog.count(*) FROM pg_catalog.pg_roles a
            WHERE a.rolname IN ('stockroute_admin', 'stockroute_app', 'stockroute_node')) = 3 THEN
        PERFORM stockroute.create_roles();
    ELSE
        RAISE NOTICE 'stockroute roles not created: role "%" may not create roles', current_user
            USING HINT = 'Run SELECT stockroute.create_roles() as a superuser or a role with CREATEROLE.';
    END IF;
END;
$$;
