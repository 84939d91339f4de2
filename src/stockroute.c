/*
 * stockroute.c — module entry: PG_MODULE_MAGIC, _PG_init and the GUCs.
 *
 * The library needs no shared memory and no background worker, so it does not
 * have to be in shared_preload_libraries; it is loaded on first use.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/guc.h"

#include "compat.h"
#include "stockroute.h"
#include "supply.h"

PG_MODULE_MAGIC;

int			stockroute_default_hold_ttl = 900;
int			stockroute_max_candidates = 50000;
char	   *stockroute_currency = NULL;

void		_PG_init(void);

/*
 * stockroute.currency: empty, or an ISO 4217 code (three letters A-Z).  It
 * only labels amounts in explain(); plans store bare numbers.
 */
static bool
check_currency(char **newval, void **extra, GucSource source)
{
	const char *v = *newval;

	if (v[0] == '\0')
		return true;
	if (strlen(v) == 3 &&
		v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' && v[1] <= 'Z' && v[2] >= 'A' && v[2] <= 'Z')
		return true;
	GUC_check_errdetail("stockroute.currency must be empty or an ISO 4217 code of three upper-case letters, such as \"USD\" or \"EUR\".");
	return false;
}

void
_PG_init(void)
{
	DefineCustomIntVariable("stockroute.default_hold_ttl",
							"Lifetime of a held reservation when neither the call nor the SKU sets one.",
							"Applies to reserve() without ttl for SKUs whose item.hold_ttl is NULL.",
							&stockroute_default_hold_ttl,
							900,
							1,
							30 * 24 * 3600,
							PGC_USERSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("stockroute.max_candidates",
							"Most candidates one plan may weigh.",
							"A candidate is a node that can give units of an order line: for plan() and allocate() a stock row of the order's SKUs, for split_plan an input row of one group. More are refused with SQLSTATE 54000.",
							&stockroute_max_candidates,
							50000,
							1,
							10000000,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("stockroute.currency",
							   "Currency code explain() shows after amounts of money.",
							   "An ISO 4217 code (USD, EUR, ...) or empty for bare amounts; plans store numbers in the currency of the lanes and profiles.",
							   &stockroute_currency,
							   "USD",
							   PGC_USERSET,
							   0,
							   check_currency, NULL, NULL);

	sr_routing_define_gucs();	/* src/plan.c */
	sr_sync_define_gucs();		/* src/ingest.c */
	sr_priority_define_gucs();	/* src/priority.c */
	sr_simulate_define_gucs();	/* src/simulate.c */

	MarkGUCPrefixReserved("stockroute");
}

/*
 * Prepare a statement once per backend and keep it: every SPI query the
 * extension runs is a constant string with parameters, never built from
 * user input.
 */
static SPIPlanPtr
prepare_kept(const char *sql, int nargs, Oid *argtypes, int cursor_options)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

SPIPlanPtr
sr_prepare_kept(const char *sql, int nargs, Oid *argtypes)
{
	return prepare_kept(sql, nargs, argtypes, 0);
}

/*
 * The same, planned once for all parameter values.  For statements whose
 * parameters are arrays of a few elements: a custom plan knows the array's
 * length, a generic one guesses 100, so the plan cache would judge the
 * generic plan dearer and plan every execution anew.
 */
SPIPlanPtr
sr_prepare_kept_generic(const char *sql, int nargs, Oid *argtypes)
{
	return prepare_kept(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
}

/*
 * Input limits shared by every entry point (hostile input, issue 6): a
 * specific SQLSTATE naming the field, raised before anything is written.
 */
void
sr_check_ident_length(const char *what, const char *value)
{
	size_t		len = strlen(value);

	if (len > SR_MAX_IDENT_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("%s must be at most %d bytes long, got %zu bytes", what,
						SR_MAX_IDENT_BYTES, len)));
}

void
sr_check_candidates(int64 n, const char *order_ref)
{
	if (n <= stockroute_max_candidates)
		return;
	if (order_ref)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("order \"%s\" has " INT64_FORMAT " candidates, more than stockroute.max_candidates (%d)",
						order_ref, n, stockroute_max_candidates),
				 errdetail("A candidate is a stock row of one of the order's SKUs."),
				 errhint("Split the order, or raise stockroute.max_candidates.")));
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("split_plan group has more than stockroute.max_candidates (%d) candidate rows",
					stockroute_max_candidates),
			 errhint("Narrow the query, or raise stockroute.max_candidates.")));
}
