/*
 * test_core.c — standalone harness for the rest of the pure core: the
 * calendar (src/calendar.c) and the cost model's arithmetic
 * (src/costmodel.c), built without PostgreSQL, printing TAP.
 *
 * What it proves:
 *  - weekdays of known dates; open days with weekends and holidays; a walk
 *    that needs a day outside the known window stops with SR_CAL_BEYOND;
 *  - ship dates and ETAs: the cutoff pushes the start a shipping day, an
 *    order on a closed day waits for the next open one whatever the cutoff,
 *    handling counts shipping days, transit counts carrier days and starts
 *    on the carrier's next working day, a holiday in the way moves both;
 *  - great-circle distances against known city pairs (within 0.5%), the
 *    distance model's transit (one day per started 500 miles);
 *  - lanes: the weight bracket, hazmat carriage (never by air, and apart
 *    where the lane says so), the cost of a shipment, and the ranking
 *    (specificity, then cost, then transit days), checked against a
 *    brute-force reference on random lanes.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "costmodel.h"

static int	tap_n = 0;
static int	tap_failed = 0;

static void tap_ok(int cond, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
tap_ok(int cond, const char *fmt,...)
{
	va_list		ap;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* days since 2000-01-01 (a Saturday), as PostgreSQL's DateADT counts them */
static SrDay
day_of(int y, int m, int d)
{
	static const int cum[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	int			leaps;
	long		days;

	days = (long) (y - 2000) * 365;
	leaps = (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400 - (1999 / 4 - 1999 / 100 + 1999 / 400);
	days += leaps + cum[m - 1] + d - 1;
	if (m > 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		days++;
	return (SrDay) days;
}

static void
test_calendar(void)
{
	SrDay		thanksgiving = day_of(2026, 11, 26);
	SrDay		holidays[1];
	SrCalendar	weekdays = {SR_WEEKDAYS_MON_FRI, NULL, 0, day_of(2026, 1, 1), day_of(2027, 12, 31)};
	SrCalendar	with_holiday;
	SrCalendar	narrow;
	SrEtaInput	in;
	SrDay		ship;
	SrDay		eta;
	SrDay		out;

	holidays[0] = thanksgiving;
	with_holiday = weekdays;
	with_holiday.holidays = holidays;
	with_holiday.nholidays = 1;

	tap_ok(sr_isodow(day_of(2000, 1, 1)) == 6, "calendar: 2000-01-01 is a Saturday");
	tap_ok(sr_isodow(day_of(2026, 11, 23)) == 1, "calendar: 2026-11-23 is a Monday");
	tap_ok(sr_isodow(day_of(2028, 2, 29)) == 2, "calendar: 2028-02-29 is a Tuesday");
	tap_ok(!sr_cal_open(&weekdays, day_of(2026, 11, 22)), "calendar: a Sunday is closed Monday to Friday");
	tap_ok(sr_cal_open(&weekdays, thanksgiving) && !sr_cal_open(&with_holiday, thanksgiving),
		   "calendar: a holiday closes an open weekday");
	tap_ok(sr_cal_advance(&with_holiday, day_of(2026, 11, 25), 1, &out) == SR_CAL_OK &&
		   out == day_of(2026, 11, 27), "calendar: one open day after Wednesday skips Thanksgiving");
	narrow = weekdays;
	narrow.hi = day_of(2026, 11, 27);
	tap_ok(sr_cal_advance(&narrow, day_of(2026, 11, 26), 5, &out) == SR_CAL_BEYOND,
		   "calendar: a walk beyond the known window stops");

	memset(&in, 0, sizeof(in));
	in.ship = &weekdays;
	in.transit = &weekdays;
	in.order_day = day_of(2026, 11, 23);	/* Monday */
	in.handling_days = 1;
	in.transit_days = 1;
	tap_ok(sr_eta(&in, &ship, &eta) == SR_ETA_OK && ship == day_of(2026, 11, 24) &&
		   eta == day_of(2026, 11, 25), "eta: Monday, one handling and one transit day: ships Tuesday, arrives Wednesday");
	in.past_cutoff = true;
	tap_ok(sr_eta(&in, &ship, &eta) == SR_ETA_OK && ship == day_of(2026, 11, 25),
		   "eta: past the cutoff, the start moves a shipping day");
	in.past_cutoff = true;
	in.order_day = day_of(2026, 11, 22);	/* Sunday */
	tap_ok(sr_eta(&in, &ship, &eta) == SR_ETA_OK && ship == day_of(2026, 11, 24),
		   "eta: an order on a closed day waits for the next open day, cutoff or not");
	in.past_cutoff = false;
	in.order_day = day_of(2026, 11, 25);	/* Wednesday */
	in.ship = &with_holiday;
	in.transit = &with_holiday;
	tap_ok(sr_eta(&in, &ship, &eta) == SR_ETA_OK && ship == day_of(2026, 11, 27) &&
		   eta == day_of(2026, 11, 30), "eta: Thanksgiving moves the ship date and the weekend the delivery");
	in.transit_days = 0;
	in.handling_days = 0;
	in.order_day = day_of(2026, 11, 28);	/* Saturday */
	tap_ok(sr_eta(&in, &ship, &eta) == SR_ETA_OK && ship == day_of(2026, 11, 30) && eta == ship,
		   "eta: no handling, no transit: the first open day, delivered the same day");
	in.ship = &narrow;
	in.order_day = day_of(2026, 11, 27);
	in.handling_days = 3;
	tap_ok(sr_eta(&in, &ship, &eta) == SR_ETA_NO_SHIP_DAY,
		   "eta: a ship date beyond the ship calendar's window is no ship day");
}

/* a lane for the ranking reference */
typedef struct Lane
{
	SrLaneTerms t;
} Lane;

static uint64_t rng = 0x5eed;

static double
unit(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double) (rng >> 11) / 9007199254740992.0;
}

static void
test_costmodel(void)
{
	double		atl_clt = sr_haversine_km(33.749, -84.388, 35.227, -80.843);	/* ~ 364 km */
	double		nyc_la = sr_haversine_km(40.7128, -74.0060, 34.0522, -118.2437);	/* ~ 3936 km */
	SrLaneTerms parcel = {5.0, 0.5, 0.1, 2, 0.0, 30.0, 1, 0, true, false};
	SrLaneTerms apart = {9.0, 0.2, 0.0, 3, 0.0, -1.0, 0, 0, true, true};
	SrLaneTerms air = {20.0, 1.0, 0.0, 1, 0.0, -1.0, 0, 0, false, false};
	int			round;
	int			agreed = 0;

	tap_ok(fabs(atl_clt - 364.0) / 364.0 < 0.005, "distance: Atlanta to Charlotte is 364 km (got %.1f)", atl_clt);
	tap_ok(fabs(nyc_la - 3936.0) / 3936.0 < 0.005, "distance: New York to Los Angeles is 3936 km (got %.1f)", nyc_la);
	tap_ok(sr_haversine_km(10, 20, 10, 20) == 0.0, "distance: a point to itself is 0");
	tap_ok(isfinite(sr_haversine_km(0, 0, 0, 180)), "distance: antipodes stay finite");
	tap_ok(sr_distance_transit_days(0) == 0 && sr_distance_transit_days(1) == 1 &&
		   sr_distance_transit_days(500) == 1 && sr_distance_transit_days(500.1) == 2,
		   "distance model: one transit day per started 500 miles");

	tap_ok(sr_lane_carries_hazmat("parcel", true) && !sr_lane_carries_hazmat("air", true) &&
		   !sr_lane_carries_hazmat("ltl", false) && sr_lane_carries_hazmat(NULL, true),
		   "lanes: hazmat needs hazmat_ok and never goes by air");
	tap_ok(sr_lane_fits_weight(&parcel, 0.0) && sr_lane_fits_weight(&parcel, 30.0) &&
		   !sr_lane_fits_weight(&parcel, 30.5) && sr_lane_fits_weight(&apart, 1e9),
		   "lanes: the weight bracket, inclusive, open above when max is unset");
	tap_ok(sr_lane_fits_content(&parcel, true, true) && sr_lane_fits_content(&apart, true, false) &&
		   !sr_lane_fits_content(&apart, true, true) && !sr_lane_fits_content(&air, true, false) &&
		   sr_lane_fits_content(&air, false, true),
		   "lanes: hazmat with other lines needs a lane that does not ship it apart");
	tap_ok(fabs(sr_lane_cost(&parcel, 4, 10) - (5.0 + 0.4 + 5.0)) < 1e-12,
		   "lanes: a shipment costs base + per_unit * units + per_kg * kg");

	/* the ranking against a brute-force reference: sort keys compared as tuples */
	for (round = 0; round < 2000; round++)
	{
		Lane		lanes[6];
		int			n = 2 + (int) (unit() * 5);
		int			best = -1;
		int			ref = 0;
		double		units = 1 + floor(unit() * 20);
		double		weight = floor(unit() * 40);
		int			i;

		for (i = 0; i < n; i++)
		{
			lanes[i].t.base_cost = floor(unit() * 4);
			lanes[i].t.per_kg = floor(unit() * 3) / 10;
			lanes[i].t.per_unit = floor(unit() * 3) / 10;
			lanes[i].t.transit_days = (int) (unit() * 4);
			lanes[i].t.min_weight = 0;
			lanes[i].t.max_weight = -1;
			lanes[i].t.level = (int) (unit() * 4);
			lanes[i].t.prefix_len = lanes[i].t.level == 3 ? 1 + (int) (unit() * 3) : 0;
			lanes[i].t.carries_hazmat = true;
			lanes[i].t.hazmat_separate = false;
		}
		for (i = 0; i < n; i++)
			if (best < 0 || sr_lane_ranks_before(&lanes[i].t, sr_lane_cost(&lanes[i].t, units, weight),
												 &lanes[best].t, sr_lane_cost(&lanes[best].t, units, weight)))
				best = i;
		for (i = 1; i < n; i++)
		{
			const SrLaneTerms *a = &lanes[i].t;
			const SrLaneTerms *b = &lanes[ref].t;
			double		ca = sr_lane_cost(a, units, weight);
			double		cb = sr_lane_cost(b, units, weight);

			/* (-level, -prefix_len, cost, transit_days) ascending; first wins ties */
			if (a->level > b->level ||
				(a->level == b->level && (a->prefix_len > b->prefix_len ||
										  (a->prefix_len == b->prefix_len &&
										   (ca < cb || (ca == cb && a->transit_days < b->transit_days))))))
				ref = i;
		}
		if (best == ref)
			agreed++;
	}
	tap_ok(agreed == 2000, "lanes: the ranking agrees with a tuple sort on 2000 random lane sets (%d)", agreed);
}

int
main(void)
{
	test_calendar();
	test_costmodel();
	printf("1..%d\n", tap_n);
	printf("# %d tests, %d failed\n", tap_n, tap_failed);
	return tap_failed > 0;
}
