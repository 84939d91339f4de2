-- stockroute, holiday calendars: days a node does not ship (and, for lanes,
-- a carrier does not move parcels) besides its weekly days off.
-- docs/routing.md, "Time and ETA".  A "create 0.2.0" part (sql/manifest):
-- created by the install script and by the update from 0.1.0, first, since
-- nodes and lanes name a calendar.

CREATE TABLE stockroute.calendar (
    calendar        text PRIMARY KEY CHECK (calendar <> ''),
    description     text NOT NULL DEFAULT ''
);

COMMENT ON TABLE stockroute.calendar IS
    'A named holiday calendar (a country''s public holidays, a site''s or a carrier''s closures) that nodes and lanes use';

CREATE TABLE stockroute.holiday (
    calendar        text NOT NULL REFERENCES stockroute.calendar ON UPDATE CASCADE ON DELETE CASCADE,
    day             date NOT NULL CHECK (pg_catalog.isfinite(day)),
    description     text NOT NULL DEFAULT '',
    PRIMARY KEY (calendar, day)
);

COMMENT ON TABLE stockroute.holiday IS
    'A day of a calendar on which its nodes do not ship and its lanes do not move or deliver';
COMMENT ON COLUMN stockroute.holiday.day IS 'the local date of the holiday (in the zone of the node that uses it)';

SELECT pg_catalog.pg_extension_config_dump('stockroute.calendar', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.holiday', '');
