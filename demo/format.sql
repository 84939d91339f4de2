-- stockroute demo: helpers that keep the demo's output readable in a
-- terminal (every line under 120 characters).  Included by the demo's SQL
-- files with \ir; they live in pg_temp, so they leave nothing behind.

-- Wrap each line of a text longer than width at its last "; " or ", " (else
-- space) that fits, continuing four spaces deeper than the line's indent.
CREATE FUNCTION pg_temp.wrap(t text, width int DEFAULT 116) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    line text;
    rest text;
    indent text;
    cut int;
    p int;
    out text[] := '{}';
BEGIN
    FOREACH line IN ARRAY string_to_array(t, E'\n') LOOP
        indent := substring(line FROM '^ *') || '    ';
        rest := line;
        WHILE length(rest) > width LOOP
            cut := 0;
            FOR p IN REVERSE width - 1 .. length(indent) + 1 LOOP
                IF substr(rest, p, 2) IN ('; ', ', ') THEN cut := p; EXIT; END IF;
            END LOOP;
            IF cut = 0 THEN
                FOR p IN REVERSE width .. length(indent) + 1 LOOP
                    IF substr(rest, p, 1) = ' ' THEN cut := p - 1; EXIT; END IF;
                END LOOP;
            END IF;
            EXIT WHEN cut = 0;
            out := out || left(rest, cut);
            rest := indent || ltrim(substr(rest, cut + 1));
        END LOOP;
        out := out || rest;
    END LOOP;
    RETURN array_to_string(out, E'\n');
END
$$;

-- An amount of money as explain() shows it: two decimals and stockroute.currency.
CREATE FUNCTION pg_temp.money(v numeric) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(round(v, 2), 'FM999,999,990.00')
           || coalesce(' ' || nullif(current_setting('stockroute.currency', true), ''), '')
$$;
