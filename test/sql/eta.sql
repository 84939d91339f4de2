-- eta: ship dates and ETAs from the routing calendars (docs/routing.md, "Time
-- and ETA").  Proves, under a fixed stockroute.now and TimeZone: the cutoff
-- is read in each node's own zone (Los Angeles vs Berlin, including a node
-- whose local date is already tomorrow) and across a DST change; an order
-- on a Friday after the cutoff ships Monday; a holiday of the node's calendar
-- is skipped for shipping and for transit; a store that ships on Saturday,
-- and what that gains with a Saturday carrier and a Monday-to-Friday one;
-- handling days count shipping days; transit across a weekend by the lane's
-- weekdays; a lane's carrier calendar over the node's; a walk longer than
-- the first holiday window; nodes with no shipping or delivery day in the
-- horizon are unroutable with a reason; need_by under 'penalize' (late_days,
-- the late term) and 'exclude' (the late node not used) as the plan shows
-- it; available() gives the ETAs plan() uses; the calendar CHECKs; and, over
-- random calendars, clocks and zones, that every ETA equals an independent
-- reference; and that the library routes under the 0.1.0 schema (no
-- calendar columns) and reads them after ALTER EXTENSION UPDATE.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS stockroute CASCADE;
CREATE EXTENSION stockroute;
RESET client_min_messages;
\i test/sql/include/errors.sql
SET TimeZone = 'UTC';
SET stockroute.explain_timing = off;

-- calendars: US and German public holidays, a carrier's own closure, and
-- one with every day closed for five years
INSERT INTO stockroute.calendar (calendar, description) VALUES
    ('US', 'US federal holidays'), ('DE', 'German public holidays'),
    ('CARRIER', 'the ME carrier''s closures'), ('CLOSED', 'never open');
INSERT INTO stockroute.holiday (calendar, day, description) VALUES
    ('US', '2026-11-26', 'Thanksgiving'), ('US', '2026-12-25', 'Christmas Day'),
    ('US', '2027-01-01', 'New Year''s Day'), ('US', '2027-02-15', 'Presidents'' Day'),
    ('DE', '2026-12-25', '1. Weihnachtstag'), ('DE', '2026-12-26', '2. Weihnachtstag'),
    ('DE', '2027-01-01', 'Neujahr'),
    ('CARRIER', '2026-12-07', 'depot closed');
INSERT INTO stockroute.holiday (calendar, day)
SELECT 'CLOSED', d FROM generate_series(date '2026-01-01', date '2030-12-31', interval '1 day') d;

-- nodes (no coordinates: lanes alone cost them); STO is a store that also
-- ships on Saturday; FAR takes 60 handling days; HOL is never open
INSERT INTO stockroute.node (node_id, name, kind, timezone, cutoff, handling_days, ship_weekdays, calendar) VALUES
    ('LAX', 'Los Angeles DC', 'warehouse', 'America/Los_Angeles', '14:00', 0, DEFAULT, 'US'),
    ('BER', 'Berlin 3PL',     '3pl',       'Europe/Berlin',       '14:00', 0, DEFAULT, 'DE'),
    ('NYC', 'New York DC',    'warehouse', 'America/New_York',    '15:00', 0, DEFAULT, 'US'),
    ('NY2', 'Newark DC',      'warehouse', 'America/New_York',    '15:00', 2, DEFAULT, 'US'),
    ('STO', 'Brooklyn store', 'store',     'America/New_York',    '17:00', 0, '{1,2,3,4,5,6}', 'US'),
    ('FAR', 'Slow partner',   'partner',   'America/New_York',    NULL,   60, DEFAULT, 'US'),
    ('HOL', 'Closed site',    'warehouse', 'America/New_York',    NULL,    0, DEFAULT, 'CLOSED');
SELECT node_id, timezone, cutoff, handling_days, ship_weekdays, calendar FROM stockroute.node ORDER BY node_id;
INSERT INTO stockroute.item (sku) VALUES ('W-1'), ('N-1');
INSERT INTO stockroute.stock (node_id, sku, on_hand)
SELECT node_id, 'W-1', 10 FROM stockroute.node;
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES ('NYC', 'N-1', 5), ('STO', 'N-1', 5);
-- lanes: every node to New York state, ground, 1 transit day (Monday to
-- Friday by default); NYC also to PA (2 days), to CT by a carrier that
-- moves every day, to ME by a carrier with its own closure, to VT by one
-- that never delivers; STO to NJ by a carrier that delivers on Saturday
INSERT INTO stockroute.lane (node_id, country, region, service, base_cost, transit_days)
SELECT node_id, 'US', 'NY', 'ground', 5, 1 FROM stockroute.node;
INSERT INTO stockroute.lane (node_id, country, region, service, base_cost, transit_days, transit_weekdays, calendar) VALUES
    ('NYC', 'US', 'PA', 'ground',    5, 2, DEFAULT,           NULL),
    ('NYC', 'US', 'CT', 'every_day', 5, 2, '{1,2,3,4,5,6,7}', NULL),
    ('NYC', 'US', 'ME', 'ground',    5, 1, DEFAULT,           'CARRIER'),
    ('NYC', 'US', 'VT', 'ground',    5, 1, DEFAULT,           'CLOSED'),
    ('STO', 'US', 'NJ', 'saturday',  5, 1, '{1,2,3,4,5,6}',   NULL);

-- available() to a state, with each node's local time at the routing clock
CREATE FUNCTION pg_temp.av(sku text, region text, nodes text[] DEFAULT NULL)
RETURNS TABLE (node text, local_time text, routable boolean, days jsonb, ship_date text, eta text)
LANGUAGE sql AS $$
    SELECT a->>'node_id',
           to_char(current_setting('stockroute.now')::timestamptz AT TIME ZONE n.timezone, 'Dy DD HH24:MI'),
           (a->>'routable')::boolean, a->'days',
           to_char((a->>'ship_date')::date, 'Dy YYYY-MM-DD'), to_char((a->>'eta')::date, 'Dy YYYY-MM-DD')
      FROM jsonb_array_elements(stockroute.available(sku, jsonb_build_object('country', 'US', 'region', region))->'nodes') a
      JOIN stockroute.node n ON n.node_id = a->>'node_id'
     WHERE nodes IS NULL OR a->>'node_id' = ANY (nodes)
     ORDER BY 1
$$;

-- 1. the cutoff in each node's zone.  Wednesday 2 Dec, 14:30 UTC: 06:30 in
-- Los Angeles (before its 14:00 cutoff: ships today), 15:30 in Berlin (past
-- it: ships Thursday).  NY2's two handling days end on Friday; FAR's sixty
-- skip weekends, Christmas, New Year and Presidents' Day (a walk past the
-- first holiday window); HOL never ships.  days count from the clock's date.
SET stockroute.now = '2026-12-02 14:30+00';
SELECT * FROM pg_temp.av('W-1', 'NY');
-- 23:00 UTC: 15:00 in Los Angeles, past its cutoff (ships Thursday); in
-- Berlin it is already Thursday 00:00, before the cutoff (ships Thursday)
SET stockroute.now = '2026-12-02 23:00+00';
SELECT * FROM pg_temp.av('W-1', 'NY', '{LAX,BER,NYC}');

-- DST: on Monday 9 March New York is on EDT (UTC-4): 19:30 UTC is 15:30
-- there, past the 15:00 cutoff (under EST it would be 14:30, before it)
SET stockroute.now = '2026-03-09 19:30+00';
SELECT * FROM pg_temp.av('W-1', 'NY', '{NYC}');
SET stockroute.now = '2026-03-09 18:59+00';
SELECT * FROM pg_temp.av('W-1', 'NY', '{NYC}');

-- 2. Friday 4 Dec after NYC's 15:00 cutoff: it ships Monday.  The store's
-- cutoff is 17:00: it still ships today
SET stockroute.now = '2026-12-04 16:00-05';
SELECT * FROM pg_temp.av('W-1', 'NY', '{NYC,STO}');

-- 3. a store that ships on Saturday: after its cutoff on Friday it ships
-- Saturday.  To New York (a Monday-to-Friday carrier) the parcel waits for
-- Monday and arrives Tuesday, as from a Monday shipment; to New Jersey the
-- carrier moves on Saturday and delivers Monday
SET stockroute.now = '2026-12-04 18:00-05';
SELECT * FROM pg_temp.av('W-1', 'NY', '{NYC,STO}');
SELECT * FROM pg_temp.av('W-1', 'NJ', '{STO}');
-- Saturday 5 Dec: the store ships today, the warehouse Monday
SET stockroute.now = '2026-12-05 11:00-05';
SELECT * FROM pg_temp.av('W-1', 'NY', '{NYC,STO}');

-- 4. a holiday skips a day.  Wednesday 25 Nov after the cutoff: Thursday is
-- Thanksgiving in the US calendar, NYC ships Friday; BER (German calendar)
-- ships Thursday.  Before the cutoff NYC ships Wednesday and the one transit
-- day skips Thanksgiving too (the lane has no calendar: the node's applies)
SET stockroute.now = '2026-11-25 16:00-05';
SELECT * FROM pg_temp.av('W-1', 'NY', '{NYC,BER}');
SET stockroute.now = '2026-11-25 10:00-05';
SELECT * FROM pg_temp.av('W-1', 'NY', '{NYC}');
-- Christmas week: DE closes on 25 and 26 Dec, US on 25 Dec only
SET stockroute.now = '2026-12-24 16:00+01';
SELECT * FROM pg_temp.av('W-1', 'NY', '{BER,NYC}');

-- 5. handling days count shipping days: NY2 (2 handling days) on Thursday
-- morning ships Monday, not Saturday
SET stockroute.now = '2026-12-03 10:00-05';
SELECT * FROM pg_temp.av('W-1', 'NY', '{NYC,NY2}');

-- 6. transit across a weekend: NYC ships Friday morning.  One ground day
-- arrives Monday, two arrive Tuesday; a carrier moving every day arrives
-- Sunday; the ME carrier's own closure on Monday 7 Dec (lane.calendar
-- replaces the node's) pushes it to Tuesday; the VT carrier never delivers
SET stockroute.now = '2026-12-04 10:00-05';
SELECT 'NY' AS region, * FROM pg_temp.av('W-1', 'NY', '{NYC}')
UNION ALL SELECT 'PA', * FROM pg_temp.av('W-1', 'PA', '{NYC}')
UNION ALL SELECT 'CT', * FROM pg_temp.av('W-1', 'CT', '{NYC}')
UNION ALL SELECT 'ME', * FROM pg_temp.av('W-1', 'ME', '{NYC}')
UNION ALL SELECT 'VT', * FROM pg_temp.av('W-1', 'VT', '{NYC}');

-- 7. plan(): every shipment has its ship_date and eta, the explain lists the
-- unroutable nodes with their reason
SELECT c->>'node_id' AS node, c->>'eligible' AS eligible, c->'days' AS days, c->>'eta' AS eta, c->>'reason' AS reason
  FROM jsonb_array_elements(stockroute.plan('{"order_ref": "E-1", "ship_to": {"country": "US", "region": "VT"},
        "lines": [{"line_ref": "1", "sku": "W-1", "qty": 1}]}')->'explain'->'candidates') c;
SELECT c->>'node_id' AS node, c->>'eligible' AS eligible, c->'days' AS days, c->>'eta' AS eta, c->>'reason' AS reason
  FROM jsonb_array_elements(stockroute.plan('{"order_ref": "E-2", "ship_to": {"country": "US", "region": "NY"},
        "lines": [{"line_ref": "1", "sku": "W-1", "qty": 1}]}')->'explain'->'candidates') c
 WHERE c->>'node_id' IN ('HOL', 'FAR', 'NYC');

-- 8. need_by.  Friday 4 Dec 16:00: NYC is past its cutoff (ships Monday,
-- arrives Tuesday 8), the store is not (ships today, arrives Monday 7).  An
-- order of 8 N-1 (5 at each) needs both; need_by Monday 7.
INSERT INTO stockroute.profile (profile_name, description, w_late, late_policy) VALUES
    ('rush', 'lateness costs 10 a shipment-day', 10, 'penalize'),
    ('strict', 'never late', 0, 'exclude');
SET stockroute.now = '2026-12-04 16:00-05';
CREATE FUNCTION pg_temp.need(profile text, need_by text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT stockroute.plan(jsonb_build_object('order_ref', 'NB-1', 'profile', profile,
        'ship_to', '{"country": "US", "region": "NY"}'::jsonb,
        'lines', '[{"line_ref": "1", "sku": "N-1", "qty": 8}]'::jsonb,
        'options', jsonb_build_object('need_by', need_by)))
$$;
-- penalize: NYC ships one day late; the shipment says so, the late term is
-- w_late x 1, the plan's need_by says which policy applied and that it is late
SELECT s->>'node_id' AS node, s->'days' AS days, s->>'ship_date' AS ship_date, s->>'eta' AS eta,
       s->'late_days' AS late_days
  FROM jsonb_array_elements(pg_temp.need('rush', '2026-12-07')->'shipments') s;
SELECT p->'need_by' AS need_by, p->'score_terms'->'late' AS late_term, p->>'status' AS status
  FROM pg_temp.need('rush', '2026-12-07') p;
-- exclude: NYC is not used, 3 units stay unfilled, nothing is late
SELECT regexp_replace(stockroute.explain(pg_temp.need('strict', '2026-12-07')),
                      '\d+ evaluated, \d+ pruned', 'N evaluated, N pruned') AS explain;
SELECT p->'need_by' AS need_by, p->'score_terms'->'late' AS late_term, p->'unfilled' AS unfilled
  FROM pg_temp.need('strict', '2026-12-07') p;
-- with need_by Tuesday 8 nobody is late under either policy
SELECT pg_temp.need('rush', '2026-12-08')->'need_by' AS rush, pg_temp.need('strict', '2026-12-08')->'need_by' AS strict;
-- available() promises what plan() ships: the same ship dates and ETAs
SELECT s->>'node_id' AS node, s->'ship_date' = a->'ship_date' AS same_ship_date,
       s->'eta' = a->'eta' AS same_eta, s->'days' = a->'days' AS same_days
  FROM jsonb_array_elements(pg_temp.need('rush', '2026-12-07')->'shipments') s
  JOIN jsonb_array_elements(stockroute.available('N-1', '{"country": "US", "region": "NY"}')->'nodes') a
    ON a->>'node_id' = s->>'node_id';

-- 9. bad calendars are refused by the tables, naming the constraint
SELECT pg_temp.err($$UPDATE stockroute.node SET ship_weekdays = '{}' WHERE node_id = 'NYC'$$);
SELECT pg_temp.err($$UPDATE stockroute.node SET ship_weekdays = '{0,1}' WHERE node_id = 'NYC'$$);
SELECT pg_temp.err($$UPDATE stockroute.node SET ship_weekdays = '{1,8}' WHERE node_id = 'NYC'$$);
SELECT pg_temp.err($$UPDATE stockroute.node SET ship_weekdays = '{1,NULL}' WHERE node_id = 'NYC'$$);
SELECT pg_temp.err($$UPDATE stockroute.node SET ship_weekdays = '{{1,2},{3,4}}' WHERE node_id = 'NYC'$$);
SELECT pg_temp.err($$UPDATE stockroute.node SET ship_weekdays = NULL WHERE node_id = 'NYC'$$);
SELECT pg_temp.err($$UPDATE stockroute.node SET calendar = 'FR' WHERE node_id = 'NYC'$$);
SELECT pg_temp.err($$UPDATE stockroute.lane SET transit_weekdays = '{}' WHERE node_id = 'NYC'$$);
SELECT pg_temp.err($$UPDATE stockroute.lane SET calendar = 'FR' WHERE node_id = 'NYC'$$);
SELECT pg_temp.err($$INSERT INTO stockroute.holiday (calendar, day) VALUES ('FR', '2026-07-14')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.holiday (calendar, day) VALUES ('US', 'infinity')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.holiday (calendar, day) VALUES ('US', '2026-12-25')$$);
SELECT pg_temp.err($$INSERT INTO stockroute.calendar (calendar) VALUES ('')$$);
SELECT pg_temp.err($$DELETE FROM stockroute.calendar WHERE calendar = 'US'$$);
-- nothing changed
SELECT ship_weekdays, calendar FROM stockroute.node WHERE node_id = 'NYC';
SELECT lane.region, transit_weekdays, calendar FROM stockroute.lane WHERE node_id = 'NYC' ORDER BY region;
SELECT calendar, count(*) AS days FROM stockroute.holiday GROUP BY calendar ORDER BY calendar;
-- a calendar no node or lane uses can go, with its holidays; a renamed one
-- follows into the nodes and lanes
DELETE FROM stockroute.lane WHERE region = 'ME';
DELETE FROM stockroute.calendar WHERE calendar = 'CARRIER';
UPDATE stockroute.calendar SET calendar = 'US-FED' WHERE calendar = 'US';
SELECT (SELECT count(*) FROM stockroute.holiday WHERE calendar = 'CARRIER') AS carrier_days,
       (SELECT count(*) FROM stockroute.holiday WHERE calendar = 'US-FED') AS us_days,
       (SELECT array_agg(node_id ORDER BY node_id) FROM stockroute.node WHERE calendar = 'US-FED') AS us_nodes;

-- 10. against a reference: 400 random nodes (zone, cutoff, handling 0-6,
-- shipping weekdays, one of four random holiday calendars, a lane with
-- 0-6 transit days on random weekdays, with or without its own calendar)
-- and 24 random clocks around both DST changes.  The reference walks the
-- days in SQL: the first open day on or after the local date (the day after
-- when past the cutoff), then handling more; then the first transit day on
-- or after that, then transit more.  Every available() ETA must equal it.
SELECT setseed(0.4242);
INSERT INTO stockroute.calendar (calendar) SELECT 'R' || i FROM generate_series(1, 4) i;
-- R1 sparse, R4 dense (about every third day closed); k in the condition
-- keeps it from being evaluated once per calendar
INSERT INTO stockroute.holiday (calendar, day)
SELECT 'R' || i, date '2026-01-01' + k
  FROM generate_series(1, 4) i, generate_series(0, 729) k
 WHERE random() < 0.03 + 0.1 * (i - 1) + 0 * k;
INSERT INTO stockroute.node (node_id, timezone, cutoff, handling_days, ship_weekdays, calendar)
SELECT 'P' || lpad(i::text, 3, '0'),
       (ARRAY['UTC', 'America/Los_Angeles', 'America/New_York', 'Europe/Berlin', 'Asia/Tokyo',
              'Pacific/Auckland', 'Pacific/Honolulu', 'Asia/Kolkata'])[1 + floor(random() * 8)::int],
       CASE WHEN random() < 0.2 THEN NULL ELSE make_time(floor(random() * 24)::int, 15 * floor(random() * 4)::int, 0) END,
       floor(random() * 7)::int,
       -- (i in the subquery makes it run for each node)
       coalesce(nullif(ARRAY(SELECT w FROM generate_series(1, 7) w WHERE random() < 0.6 + 0 * i), '{}'), '{3}'),
       CASE WHEN random() < 0.2 THEN NULL ELSE 'R' || (1 + floor(random() * 4)::int) END
  FROM generate_series(1, 400) i;
INSERT INTO stockroute.stock (node_id, sku, on_hand) SELECT node_id, 'W-1', 1 FROM stockroute.node WHERE node_id LIKE 'P%';
INSERT INTO stockroute.lane (node_id, country, region, service, transit_days, transit_weekdays, calendar)
SELECT node_id, 'US', 'TX', 'random', floor(random() * 7)::int,
       coalesce(nullif(ARRAY(SELECT w FROM generate_series(1, 7) w WHERE random() < 0.7 + 0 * length(node_id)), '{}'), '{1}'),
       CASE WHEN random() < 0.5 THEN NULL ELSE 'R' || (1 + floor(random() * 4)::int) END
  FROM stockroute.node WHERE node_id LIKE 'P%';
-- the reference: the n-th open day (0: the first) on or after d, walked a
-- day at a time (NULL beyond 400 days: a mismatch)
CREATE FUNCTION pg_temp.nth_open(d date, n int, weekdays int[], cal text) RETURNS date
LANGUAGE plpgsql STABLE AS $$
DECLARE
    closed date[] := ARRAY(SELECT h.day FROM stockroute.holiday h
                            WHERE h.calendar = cal AND h.day BETWEEN d AND d + 400);
    last date := d + 400;
BEGIN
    WHILE d <= last LOOP
        IF extract(isodow FROM d)::int = ANY (weekdays) AND NOT d = ANY (closed) THEN
            IF n = 0 THEN
                RETURN d;
            END IF;
            n := n - 1;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN NULL;
END;
$$;
CREATE TABLE pg_temp.prop (clock timestamptz, node_id text, got_ship date, got_eta date, got_days int,
                           want_ship date, want_eta date, want_days int);
DO $$
DECLARE
    clock timestamptz;
BEGIN
    FOR clock IN
        SELECT t FROM (SELECT timestamptz '2026-02-25 00:00+00' + random() * interval '40 days' AS t
                         FROM generate_series(1, 12)
                       UNION ALL
                       SELECT timestamptz '2026-10-15 00:00+00' + random() * interval '40 days'
                         FROM generate_series(1, 12)) c ORDER BY t
    LOOP
        PERFORM set_config('stockroute.now', clock::text, true);
        INSERT INTO pg_temp.prop (clock, node_id, got_ship, got_eta, got_days)
        SELECT clock, a->>'node_id', (a->>'ship_date')::date, (a->>'eta')::date, (a->>'days')::int
          FROM jsonb_array_elements(stockroute.available('W-1', '{"country": "US", "region": "TX"}')->'nodes') a
         WHERE a->>'node_id' LIKE 'P%';
    END LOOP;
END;
$$;
UPDATE pg_temp.prop p SET want_ship = r.ship
  FROM (SELECT p.clock, n.node_id,
               pg_temp.nth_open((p.clock AT TIME ZONE n.timezone)::date
                                + (n.cutoff IS NOT NULL AND (p.clock AT TIME ZONE n.timezone)::time > n.cutoff)::int,
                                n.handling_days, n.ship_weekdays, n.calendar) AS ship
          FROM pg_temp.prop p JOIN stockroute.node n USING (node_id)) r
 WHERE r.clock = p.clock AND r.node_id = p.node_id;
UPDATE pg_temp.prop p SET want_eta = pg_temp.nth_open(p.want_ship, l.transit_days, l.transit_weekdays,
                                                       coalesce(l.calendar, n.calendar)),
                          want_days = greatest(0, pg_temp.nth_open(p.want_ship, l.transit_days, l.transit_weekdays,
                                                                   coalesce(l.calendar, n.calendar))
                                                  - (p.clock AT TIME ZONE 'UTC')::date)
  FROM stockroute.lane l, stockroute.node n
 WHERE l.node_id = p.node_id AND n.node_id = p.node_id;
SELECT count(*) AS compared,
       count(*) FILTER (WHERE got_ship IS DISTINCT FROM want_ship OR got_eta IS DISTINCT FROM want_eta
                          OR got_days IS DISTINCT FROM want_days) AS mismatches,
       count(*) FILTER (WHERE want_eta - want_ship > 7) AS long_transits,
       count(*) FILTER (WHERE want_ship - (clock AT TIME ZONE 'UTC')::date > 31) AS past_first_window,
       count(DISTINCT clock) AS clocks
  FROM pg_temp.prop;
SELECT * FROM pg_temp.prop
 WHERE got_ship IS DISTINCT FROM want_ship OR got_eta IS DISTINCT FROM want_eta OR got_days IS DISTINCT FROM want_days
 ORDER BY clock, node_id LIMIT 5;

-- 11. a newer library under the 0.1.0 schema (after a package upgrade,
-- before ALTER EXTENSION UPDATE) routes as if every node shipped Monday to
-- Friday with no calendar; after the update, the same session reads the
-- calendar columns
SET client_min_messages = warning;
DROP EXTENSION stockroute CASCADE;
CREATE EXTENSION stockroute VERSION '0.1.0';
RESET client_min_messages;
INSERT INTO stockroute.node (node_id, timezone, cutoff, handling_days) VALUES ('S', 'America/New_York', '17:00', 0);
INSERT INTO stockroute.item (sku) VALUES ('W-1');
INSERT INTO stockroute.stock (node_id, sku, on_hand) VALUES ('S', 'W-1', 1);
INSERT INTO stockroute.lane (node_id, country, transit_days) VALUES ('S', 'US', 1);
SET stockroute.now = '2026-12-04 18:00-05';
CREATE FUNCTION pg_temp.ship() RETURNS TABLE (node_id text, ship_date text, eta text) LANGUAGE sql AS $$
    SELECT s->>'node_id', s->>'ship_date', s->>'eta'
      FROM jsonb_array_elements(stockroute.plan('{"order_ref": "U-1", "ship_to": {"country": "US"},
                                                  "lines": [{"line_ref": "1", "sku": "W-1", "qty": 1}]}')->'shipments') s
$$;
SELECT * FROM pg_temp.ship();
ALTER EXTENSION stockroute UPDATE;
UPDATE stockroute.node SET ship_weekdays = '{1,2,3,4,5,6}';
UPDATE stockroute.lane SET transit_weekdays = '{1,2,3,4,5,6}';
SELECT * FROM pg_temp.ship();
