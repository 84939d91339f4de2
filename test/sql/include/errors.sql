-- err(sql): run one statement, return 'ok' or 'SQLSTATE: message' of its error.
-- The statement runs in a subtransaction, so a failing one changes nothing.
SET client_min_messages = warning;
CREATE FUNCTION pg_temp.err(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END;
$$;
RESET client_min_messages;
