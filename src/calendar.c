/*
 * calendar.c — the date rules of shipping: open days of a calendar, walks
 * over open days, and the ship date and ETA of an order at a node.
 *
 * Pure C (see calendar.h): every walk is bounded by the calendar's known
 * window lo..hi, so a calendar without any open day ends a walk at hi
 * instead of looping.  Reading the holidays and choosing the window is
 * src/holiday.c's business.
 */
#include <stddef.h>

#include "calendar.h"

int
sr_isodow(SrDay day)
{
	/* day 0, 2000-01-01, was a Saturday (ISO 6) */
	int			r = (int) (day % 7);

	if (r < 0)
		r += 7;
	return (r + 5) % 7 + 1;
}

static bool
is_holiday(const SrCalendar *cal, SrDay day)
{
	int			lo = 0;
	int			hi = cal->nholidays - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (cal->holidays[mid] == day)
			return true;
		if (cal->holidays[mid] < day)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

bool
sr_cal_open(const SrCalendar *cal, SrDay day)
{
	return (cal->weekdays & SR_WEEKDAY_BIT(sr_isodow(day))) != 0 &&
		!is_holiday(cal, day);
}

/* the first open day on or after day, within the window */
static SrCalStatus
first_open(const SrCalendar *cal, SrDay day, SrDay *out)
{
	if (day < cal->lo || day > cal->hi)
		return SR_CAL_BEYOND;
	for (;;)
	{
		if (sr_cal_open(cal, day))
		{
			*out = day;
			return SR_CAL_OK;
		}
		if (day == cal->hi)
			return SR_CAL_BEYOND;
		day++;
	}
}

SrCalStatus
sr_cal_advance(const SrCalendar *cal, SrDay from, int n, SrDay *out)
{
	SrDay		day;

	if (first_open(cal, from, &day) != SR_CAL_OK)
		return SR_CAL_BEYOND;
	for (; n > 0; n--)
		if (day >= cal->hi || first_open(cal, day + 1, &day) != SR_CAL_OK)
			return SR_CAL_BEYOND;
	*out = day;
	return SR_CAL_OK;
}

SrEtaStatus
sr_eta(const SrEtaInput *in, SrDay *ship_day, SrDay *eta)
{
	SrDay		from = in->order_day;
	SrDay		ship;

	/*
	 * Past the cutoff the order waits for the next shipping day.  On a day
	 * the node does not ship, the first open day after it is the same day
	 * with or without the cutoff: the push is never applied twice.
	 */
	if (in->past_cutoff)
		from++;
	if (sr_cal_advance(in->ship, from, in->handling_days < 0 ? 0 : in->handling_days,
					   &ship) != SR_CAL_OK)
		return SR_ETA_NO_SHIP_DAY;
	*ship_day = ship;
	if (sr_cal_advance(in->transit, ship, in->transit_days < 0 ? 0 : in->transit_days,
					   eta) != SR_CAL_OK)
		return SR_ETA_NO_DELIVERY_DAY;
	return SR_ETA_OK;
}
