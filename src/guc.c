/*
 * guc.c — every stockroute.* setting: the variables, their definitions
 * (called once from _PG_init), and the reader of the routing clock.
 *
 * One file for all of them so that the files that read a setting depend on
 * this one and on nothing above it.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "guc.h"

/* reservations */
int			stockroute_default_hold_ttl = 900;
bool		stockroute_restoring = false;

/* routing */
int			stockroute_max_candidates = 50000;
int			stockroute_max_order_lines = 500;
int			stockroute_allocate_retries = 3;
char	   *stockroute_now = NULL;
bool		stockroute_explain_timing = true;
char	   *stockroute_currency = NULL;

/* sync */
int			stockroute_max_batch_events = 10000;
int			stockroute_max_event_skew = 86400;
char	   *stockroute_staging_file = NULL;

/* supply, priority, simulation */
bool		stockroute_priority_preemption = false;
int			stockroute_max_simulate_orders = 100000;

/*
 * stockroute.currency: empty, or an ISO 4217 code (three letters A-Z).  It
 * only labels amounts in explain(); plans store bare numbers.
 */
static bool
check_currency(char **newval, void **extra, GucSource source)
{
	const char *v = *newval;

	if (v == NULL || v[0] == '\0')
		return true;
	if (strlen(v) == 3 &&
		v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' && v[1] <= 'Z' && v[2] >= 'A' && v[2] <= 'Z')
		return true;
	GUC_check_errdetail("stockroute.currency must be empty or an ISO 4217 code of three upper-case letters, such as \"USD\" or \"EUR\".");
	return false;
}

/*
 * stockroute.now must be a finite timestamp.  It is parsed again at use, in
 * the session's time zone then in force; this only rejects garbage early.
 */
static bool
check_routing_now(char **newval, void **extra, GucSource source)
{
	TimestampTz ts;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (session_timezone == NULL)
		return true;			/* too early in startup to parse; checked at use */

	/*
	 * A parallel worker restores the leader's settings, which the leader
	 * checked, before its own time zone abbreviations: parsing then could
	 * read a freed abbreviation table (it crashed with some values given
	 * through PGOPTIONS).
	 */
	if (InitializingParallelWorker)
		return true;
	if (!sr_parse_timestamptz(*newval, &ts))
	{
		GUC_check_errdetail("\"%s\" is not a finite timestamp with time zone.", *newval);
		return false;
	}
	return true;
}

bool
sr_parse_timestamptz(const char *str, TimestampTz *result)
{
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	int			tz;
	struct pg_tm tt;
	fsec_t		fsec;

	if (strlen(str) >= MAXDATELEN)
		return false;
	if (ParseDateTime(str, workbuf, sizeof(workbuf), field, ftype,
					  MAXDATEFIELDS, &nf) != 0 ||
		DecodeDateTime(field, ftype, nf, &dtype, &tt, &fsec, &tz) != 0 ||
		dtype != DTK_DATE)
		return false;
	if (tm2timestamp(&tt, fsec, &tz, result) != 0 || !IS_VALID_TIMESTAMP(*result))
		return false;
	return true;
}

void
sr_define_gucs(void)
{
	DefineCustomIntVariable("stockroute.default_hold_ttl",
							"Lifetime of a held reservation when neither the call nor the SKU sets one.",
							"Applies to reserve() without ttl for SKUs whose item.hold_ttl is NULL.",
							&stockroute_default_hold_ttl,
							900, 1, 30 * 24 * 3600,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("stockroute.restoring",
							 "Accept reservations in the status they were dumped in, while a dump is restored.",
							 "Set it for pg_restore of a dump (PGOPTIONS='-c stockroute.restoring=on'). Otherwise a new reservation must be held.",
							 &stockroute_restoring,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("stockroute.max_candidates",
							"Most candidates one plan may weigh.",
							"A candidate is a node that can give units of an order line: for plan() and allocate() a stock row of the order's SKUs, for split_plan an input row of one group. More are refused with SQLSTATE 54000.",
							&stockroute_max_candidates,
							50000, 1, 10000000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("stockroute.max_order_lines",
							"Most lines an order given to plan() or allocate() may have.",
							"Larger orders are refused with SQLSTATE 54000.",
							&stockroute_max_order_lines,
							500, 1, 100000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("stockroute.allocate_retries",
							"How many times allocate() plans optimistically before it plans under locks.",
							"After that many lost races allocate() locks the stock rows of the order's SKUs in canonical order and plans under those locks, which no concurrent order can take from it.",
							&stockroute_allocate_retries,
							3, 0, 100,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomStringVariable("stockroute.now",
							   "Routing clock: order cutoffs, ETAs and need_by are computed as of this timestamptz.",
							   "Empty (the default) means the transaction's start time. For tests, quotes and simulations; enforcement on the write path (daily capacity, hold expiry) always uses the real time.",
							   &stockroute_now,
							   "",
							   PGC_USERSET, 0,
							   check_routing_now, NULL, NULL);
	DefineCustomBoolVariable("stockroute.explain_timing",
							 "Show the solver's time in explain() output.",
							 "Turn off for output that does not change from run to run, like EXPLAIN (TIMING OFF).",
							 &stockroute_explain_timing,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("stockroute.currency",
							   "Currency code explain() shows after amounts of money.",
							   "An ISO 4217 code (USD, EUR, ...) or empty for bare amounts; plans store numbers in the currency of the lanes and profiles.",
							   &stockroute_currency,
							   "USD",
							   PGC_USERSET, 0,
							   check_currency, NULL, NULL);
	DefineCustomIntVariable("stockroute.max_batch_events",
							"Most events ingest() accepts in one call.",
							"Larger batches are refused with SQLSTATE 54000; ingest_staged() works in chunks of this size.",
							&stockroute_max_batch_events,
							10000, 1, 1000000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("stockroute.max_event_skew",
							"How far in the future an event's occurred_at may lie.",
							"An event with occurred_at later than now plus this is rejected: a node clock that far ahead would pin the count in force.",
							&stockroute_max_event_skew,
							86400, 0, 365 * 86400,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomStringVariable("stockroute.staging_file",
							   "Default file_name of rows copied into stockroute.event_staging.",
							   "SET it before \\copy so that ingest_staged(file_name) can take one file at a time.",
							   &stockroute_staging_file,
							   "",
							   PGC_USERSET, 0,
							   NULL, NULL, NULL);
	DefineCustomBoolVariable("stockroute.priority_preemption",
							 "Let allocate() take units held, not committed, by lower-priority orders for an order that would otherwise be short.",
							 "Off by default. The orders that lose units are backordered with their original order and told through the outbox.",
							 &stockroute_priority_preemption,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("stockroute.max_simulate_orders",
							"Most orders one simulate() call takes.",
							"Larger batches are refused with SQLSTATE 54000.",
							&stockroute_max_simulate_orders,
							100000, 1, 10000000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("stockroute");
}

TimestampTz
sr_routing_now(void)
{
	TimestampTz ts;

	if (stockroute_now == NULL || stockroute_now[0] == '\0')
		return GetCurrentTransactionStartTimestamp();
	ts = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
												 CStringGetDatum(stockroute_now),
												 ObjectIdGetDatum(InvalidOid),
												 Int32GetDatum(-1)));
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("stockroute.now must be a finite timestamp, got \"%s\"", stockroute_now)));
	return ts;
}
