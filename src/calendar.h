/*
 * calendar.h — shipping and delivery calendars: which days a node ships and a
 * carrier moves parcels, and the ship date and ETA of an order.
 *
 * Pure C like the solver (no PostgreSQL headers, no SPI), so the date rules
 * can be read and tested on their own.  Days are counted as PostgreSQL's
 * DateADT counts them: days since 2000-01-01 (a Saturday), so a DateADT can
 * be passed as an SrDay unchanged.  src/holiday.c reads the holidays these
 * functions are given; docs/routing.md ("Time and ETA") states the rules.
 */
#ifndef STOCKROUTE_CALENDAR_H
#define STOCKROUTE_CALENDAR_H

#include <stdbool.h>
#include <stdint.h>

typedef int32_t SrDay;

/* A set of ISO weekdays as a bit mask: bit 0 is Monday (1) ... bit 6 Sunday (7). */
#define SR_WEEKDAY_BIT(isodow)	(1u << ((isodow) - 1))
#define SR_WEEKDAYS_MON_FRI		0x1Fu
#define SR_WEEKDAYS_ALL			0x7Fu

/* ISO day of the week of a day: 1 Monday ... 7 Sunday. */
extern int	sr_isodow(SrDay day);

/*
 * A calendar as far as it is known: a day is open when its weekday is in
 * `weekdays` and it is not one of `holidays`.  Holidays are known only for
 * the days lo..hi (the window the caller loaded); a walk that needs a day
 * outside it stops with SR_CAL_BEYOND, so no walk runs unbounded whatever the
 * calendar (even one with no open day at all).
 */
typedef struct SrCalendar
{
	unsigned	weekdays;		/* SR_WEEKDAY_BIT set */
	const SrDay *holidays;		/* ascending; may hold days outside lo..hi */
	int			nholidays;
	SrDay		lo;
	SrDay		hi;
} SrCalendar;

typedef enum SrCalStatus
{
	SR_CAL_OK = 0,
	SR_CAL_BEYOND				/* the walk left lo..hi */
} SrCalStatus;

/* Is day (within lo..hi) open? */
extern bool sr_cal_open(const SrCalendar *cal, SrDay day);

/*
 * The first open day on or after `from`, then `n` (>= 0) open days further:
 * n = 0 gives the first open day on or after from.
 */
extern SrCalStatus sr_cal_advance(const SrCalendar *cal, SrDay from, int n, SrDay *out);

/* What the ETA of a shipment from one node depends on. */
typedef struct SrEtaInput
{
	SrDay		order_day;		/* the routing clock's date in the node's zone */
	bool		past_cutoff;	/* the clock is past the node's cutoff there */
	int			handling_days;	/* shipping days of pick-pack before it ships */
	int			transit_days;	/* the carrier's days in transit */
	const SrCalendar *ship;		/* the node's shipping days */
	const SrCalendar *transit;	/* the days the carrier moves and delivers */
} SrEtaInput;

typedef enum SrEtaStatus
{
	SR_ETA_OK = 0,
	SR_ETA_NO_SHIP_DAY,			/* the ship date is beyond the ship calendar's window */
	SR_ETA_NO_DELIVERY_DAY		/* the ETA is beyond the transit calendar's window */
} SrEtaStatus;

/*
 * The ship date and the ETA:
 *
 *   start = the first shipping day on or after the order day, or after it
 *           when the order comes past the cutoff (an order on a day the
 *           node does not ship waits for the next shipping day, cutoff or not)
 *   ship  = start + handling_days shipping days
 *   eta   = the first transit day on or after ship (the carrier takes the
 *           parcel on its next working day) + transit_days transit days
 */
extern SrEtaStatus sr_eta(const SrEtaInput *in, SrDay *ship_day, SrDay *eta);

#endif
