/*
 * holiday.h — the holidays one routing call needs (src/holiday.c), and the
 * ship date / ETA of a node computed with them by src/calendar.c's rules.
 */
#ifndef STOCKROUTE_HOLIDAY_H
#define STOCKROUTE_HOLIDAY_H

#include "postgres.h"

#include "utils/date.h"

#include "calendar.h"

/*
 * No walk looks further than this many days past the routing clock's date:
 * a node whose ship date or ETA lies beyond it is unroutable.
 */
#define SR_CALENDAR_HORIZON_DAYS	1096

/*
 * Whether the installed schema has the calendar columns (node.ship_weekdays,
 * node.calendar, lane.transit_weekdays, lane.calendar: 0.2.0 on), and the
 * select-list text that reads them for a table alias: "<alias>.<weekdays>,
 * <alias>.calendar", or Monday to Friday and no calendar on an older schema.
 */
extern bool sr_calendar_schema(void);
extern const char *sr_calendar_columns(bool schema, const char *alias, const char *weekdays);

/* (ts AT TIME ZONE zone)::date */
extern DateADT sr_local_date(TimestampTz ts, const char *zone);

/* The holiday calendars of one call, loaded lazily for a bounded window. */
typedef struct SrHolidays SrHolidays;

/* today: the routing clock's date; read_only is passed to SPI */
extern SrHolidays *sr_holidays_create(DateADT today, bool read_only);

/* Register a calendar by name (NULL: none); returns its index, or -1. */
extern int	sr_holidays_add(SrHolidays *h, const char *calendar);

/* An int4[] of ISO weekdays (1 Monday .. 7 Sunday) as an SR_WEEKDAY_BIT mask. */
extern unsigned sr_weekdays_mask(Datum array);

typedef struct SrEtaRequest
{
	DateADT		order_day;		/* the routing clock's date in the node's zone */
	bool		past_cutoff;
	int			handling_days;
	unsigned	ship_weekdays;
	int			ship_calendar;	/* sr_holidays_add index, or -1 */
	int			transit_days;
	unsigned	transit_weekdays;
	int			transit_calendar;	/* sr_holidays_add index, or -1 */
} SrEtaRequest;

/*
 * Ship date and ETA (calendar.c's sr_eta) with the holidays of the request's
 * calendars.  The first call reads the holidays of every registered calendar
 * for a short window with one SPI query; a walk that runs past it reads a
 * window twice as long, up to SR_CALENDAR_HORIZON_DAYS, beyond which the
 * request fails with SR_ETA_NO_SHIP_DAY or SR_ETA_NO_DELIVERY_DAY.  The
 * caller is connected to SPI.
 */
extern SrEtaStatus sr_holidays_eta(SrHolidays *h, const SrEtaRequest *rq,
								   DateADT *ship_day, DateADT *eta);

#endif
