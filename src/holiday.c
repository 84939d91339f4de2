/*
 * holiday.c — reads stockroute.holiday for one routing call and computes
 * ship dates and ETAs with it.
 *
 * A call (plan(), allocate(), available()) registers the calendars of the
 * nodes and lanes it looks at, then asks for ETAs.  The first ETA reads the
 * holidays of all those calendars at once, for a window from two days
 * before the routing clock's date (a node's local date can be behind it) to
 * SR_FIRST_SPAN days after: one execution of one kept SPI plan, over the
 * (calendar, day) primary key.  A walk that needs a later day reads again
 * with a window twice as long, up to SR_CALENDAR_HORIZON_DAYS, so a
 * pathological calendar (every day a holiday) costs a few reads and ends
 * as an unroutable node, never as an endless loop or a whole calendar read.
 * With no calendar registered nothing is read.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "holiday.h"
#include "prepared.h"

/* the first window: a month covers the usual handling + transit + weekends */
#define SR_FIRST_SPAN	31

struct SrHolidays
{
	DateADT		today;
	bool		read_only;
	int			ncal;
	int			maxcal;
	char	  **names;
	bool		loaded;
	DateADT		lo;				/* holidays are known for lo..hi */
	DateADT		hi;
	int		   *start;			/* per calendar, into days; ncal + 1 entries */
	SrDay	   *days;			/* per calendar ascending */
};

static SPIPlanPtr plan_holidays = NULL;

/*
 * Between installing a newer library and ALTER EXTENSION UPDATE, the
 * functions of the installed (older) schema call this library.  0.1.0 has
 * no calendar columns: routing then reads every node and lane as shipping
 * Monday to Friday with no calendar.  Three syscache lookups per call.
 */
bool
sr_calendar_schema(void)
{
	Oid			nsp = get_namespace_oid("stockroute", true);
	Oid			rel = OidIsValid(nsp) ? get_relname_relid("node", nsp) : InvalidOid;

	return OidIsValid(rel) && get_attnum(rel, "ship_weekdays") != InvalidAttrNumber;
}

const char *
sr_calendar_columns(bool schema, const char *alias, const char *weekdays)
{
	if (schema)
		return psprintf("%s.%s, %s.calendar", alias, weekdays, alias);
	return "'{1,2,3,4,5}'::integer[], NULL::text";
}

/*
 * The date of ts in a time zone, as (ts AT TIME ZONE zone)::date: once per
 * node rather than once per stock row in SQL.
 */
DateADT
sr_local_date(TimestampTz ts, const char *zone)
{
	Datum		local = DirectFunctionCall2(timestamptz_zone, CStringGetTextDatum(zone),
											TimestampTzGetDatum(ts));

	return DatumGetDateADT(DirectFunctionCall1(timestamp_date, local));
}

SrHolidays *
sr_holidays_create(DateADT today, bool read_only)
{
	SrHolidays *h = palloc0(sizeof(SrHolidays));

	h->today = today;
	h->read_only = read_only;
	h->lo = today - 2;
	h->hi = today + SR_FIRST_SPAN;
	return h;
}

int
sr_holidays_add(SrHolidays *h, const char *calendar)
{
	int			i;

	if (calendar == NULL)
		return -1;
	for (i = 0; i < h->ncal; i++)
		if (strcmp(h->names[i], calendar) == 0)
			return i;
	if (h->ncal == h->maxcal)
	{
		h->maxcal = h->maxcal > 0 ? h->maxcal * 2 : 8;
		h->names = h->names ? repalloc(h->names, sizeof(char *) * h->maxcal)
			: palloc(sizeof(char *) * h->maxcal);
	}
	h->names[h->ncal] = pstrdup(calendar);
	h->loaded = false;			/* a new calendar: read again on next use */
	return h->ncal++;
}

unsigned
sr_weekdays_mask(Datum array)
{
	ArrayType  *arr = DatumGetArrayTypeP(array);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	unsigned	mask = 0;

	deconstruct_array(arr, INT4OID, sizeof(int32), true, TYPALIGN_INT,
					  &elems, &nulls, &n);
	/* the tables' CHECKs allow 1..7 only; anything else counts as no day */
	for (i = 0; i < n; i++)
		if (!nulls[i] && DatumGetInt32(elems[i]) >= 1 && DatumGetInt32(elems[i]) <= 7)
			mask |= SR_WEEKDAY_BIT(DatumGetInt32(elems[i]));
	return mask;
}

/* Read the holidays of every registered calendar within h->lo..h->hi. */
static void
load(SrHolidays *h)
{
	Datum		args[3];
	uint64		r;
	int		   *fill;
	int			i;
	int			rc;

	h->start = palloc0(sizeof(int) * (h->ncal + 1));
	h->days = NULL;
	h->loaded = true;
	if (h->ncal == 0)
		return;
	if (plan_holidays == NULL)
	{
		Oid			types[3] = {TEXTARRAYOID, DATEOID, DATEOID};

		plan_holidays = sr_prepare_kept_generic(
										"SELECT calendar, day FROM stockroute.holiday"
										" WHERE calendar = ANY ($1) AND day BETWEEN $2 AND $3"
										" ORDER BY calendar, day",
										3, types);
	}
	args[0] = sr_text_array(h->names, h->ncal);
	args[1] = DateADTGetDatum(h->lo);
	args[2] = DateADTGetDatum(h->hi);
	rc = SPI_execute_plan(plan_holidays, args, NULL, h->read_only, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "stockroute: holiday lookup failed: %s", SPI_result_code_string(rc));

	/* bucket by calendar; ORDER BY keeps each calendar's days ascending */
	{
		int		   *cal = palloc(sizeof(int) * (SPI_processed > 0 ? SPI_processed : 1));

		for (r = 0; r < SPI_processed; r++)
		{
			bool		isnull;
			char	   *name = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[r],
																 SPI_tuptable->tupdesc, 1,
																 &isnull));

			cal[r] = -1;
			for (i = 0; i < h->ncal; i++)
				if (strcmp(h->names[i], name) == 0)
				{
					cal[r] = i;
					h->start[i + 1]++;
					break;
				}
		}
		for (i = 0; i < h->ncal; i++)
			h->start[i + 1] += h->start[i];
		h->days = palloc(sizeof(SrDay) * (h->start[h->ncal] > 0 ? h->start[h->ncal] : 1));
		fill = palloc0(sizeof(int) * h->ncal);
		for (r = 0; r < SPI_processed; r++)
		{
			bool		isnull;

			if (cal[r] < 0)
				continue;
			h->days[h->start[cal[r]] + fill[cal[r]]++] =
				DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2,
											  &isnull));
		}
	}
}

static void
view(const SrHolidays *h, unsigned weekdays, int calendar, SrCalendar *out)
{
	out->weekdays = weekdays;
	out->lo = h->lo;
	out->hi = h->hi;
	if (calendar >= 0)
	{
		out->holidays = h->days + h->start[calendar];
		out->nholidays = h->start[calendar + 1] - h->start[calendar];
	}
	else
	{
		out->holidays = NULL;
		out->nholidays = 0;
	}
}

SrEtaStatus
sr_holidays_eta(SrHolidays *h, const SrEtaRequest *rq, DateADT *ship_day, DateADT *eta)
{
	for (;;)
	{
		SrCalendar	ship;
		SrCalendar	transit;
		SrEtaInput	in;
		SrEtaStatus st;
		SrDay		s;
		SrDay		e;

		if (rq->order_day < h->lo)
		{
			/* cannot happen for a clock within a day of every zone; be safe */
			h->lo = rq->order_day;
			h->loaded = false;
		}
		if (!h->loaded)
			load(h);
		view(h, rq->ship_weekdays, rq->ship_calendar, &ship);
		view(h, rq->transit_weekdays, rq->transit_calendar, &transit);
		in.order_day = rq->order_day;
		in.past_cutoff = rq->past_cutoff;
		in.handling_days = rq->handling_days;
		in.transit_days = rq->transit_days;
		in.ship = &ship;
		in.transit = &transit;
		st = sr_eta(&in, &s, &e);
		if (st == SR_ETA_OK)
		{
			*ship_day = s;
			*eta = e;
			return st;
		}
		if (h->hi - h->today >= SR_CALENDAR_HORIZON_DAYS)
			return st;
		/* the walk ran past the window: read a window twice as long */
		h->hi = h->today + Min(2 * (h->hi - h->today), SR_CALENDAR_HORIZON_DAYS);
		h->loaded = false;
	}
}
