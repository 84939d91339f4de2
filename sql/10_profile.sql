-- stockroute, profile versioning: the trigger on the profile table
-- (sql/schema/10_core.sql) that numbers and records every version.
--
-- A "replace" part (sql/manifest): it runs in the install script and again
-- in every update, so each statement creates or replaces.

-- Profile versions.  An administrator's change of a profile is recorded in
-- profile_history, which nobody writes directly: the trigger runs as the
-- extension's owner.
CREATE OR REPLACE FUNCTION stockroute.profile_versioning() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
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

CREATE OR REPLACE TRIGGER profile_versioning BEFORE INSERT OR UPDATE OR DELETE ON stockroute.profile
    FOR EACH ROW EXECUTE FUNCTION stockroute.profile_versioning();
-- also under session_replication_role = replica (the exact-copy restore), so
-- the shipped profiles CREATE EXTENSION inserts there get their history too
ALTER TABLE stockroute.profile ENABLE ALWAYS TRIGGER profile_versioning;
