-- Time and ETA (docs/routing.md, "Time and ETA"): holiday calendars, the
-- weekdays a node ships, the weekdays and calendar of a lane's carrier.
-- Existing nodes and lanes get Monday to Friday and no calendar, so their
-- ETAs now skip weekends.

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

ALTER TABLE stockroute.node
    ADD COLUMN ship_weekdays integer[] NOT NULL DEFAULT '{1,2,3,4,5}'
        CHECK (pg_catalog.cardinality(ship_weekdays) > 0
               AND pg_catalog.array_ndims(ship_weekdays) = 1
               AND ship_weekdays <@ '{1,2,3,4,5,6,7}'::integer[]),
    ADD COLUMN calendar text REFERENCES stockroute.calendar ON UPDATE CASCADE;

COMMENT ON COLUMN stockroute.node.timezone IS
    'IANA time zone of the node: its cutoff, its local date and its holidays are in this zone';
COMMENT ON COLUMN stockroute.node.ship_weekdays IS
    'ISO weekdays (1 Monday .. 7 Sunday) on which the node ships; default Monday to Friday';
COMMENT ON COLUMN stockroute.node.calendar IS
    'holiday calendar of the node: no shipping on its days; NULL: no holidays';

ALTER TABLE stockroute.lane
    ADD COLUMN transit_weekdays integer[] NOT NULL DEFAULT '{1,2,3,4,5}'
        CHECK (pg_catalog.cardinality(transit_weekdays) > 0
               AND pg_catalog.array_ndims(transit_weekdays) = 1
               AND transit_weekdays <@ '{1,2,3,4,5,6,7}'::integer[]),
    ADD COLUMN calendar text REFERENCES stockroute.calendar ON UPDATE CASCADE;

COMMENT ON COLUMN stockroute.lane.transit_days IS
    'days in transit, counted in transit_weekdays outside the holidays of calendar';
COMMENT ON COLUMN stockroute.lane.transit_weekdays IS
    'ISO weekdays (1 Monday .. 7 Sunday) on which the carrier moves and delivers; default Monday to Friday (ground parcel)';
COMMENT ON COLUMN stockroute.lane.calendar IS
    'holiday calendar of the carrier on this lane: no transit or delivery on its days; NULL: the node''s calendar';

SELECT pg_catalog.pg_extension_config_dump('stockroute.calendar', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.holiday', '');
