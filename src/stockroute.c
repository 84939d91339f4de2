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

void		_PG_init(void);

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
SPIPlanPtr
sr_prepare_kept(const char *sql, int nargs, Oid *argtypes)
{
	return sr_prepare_kept_opts(sql, nargs, argtypes, 0);
}

/*
 * The same with cursor options: CURSOR_OPT_GENERIC_PLAN plans the statement
 * once for all parameter values.  The batch statements of ingest() need
 * that: a custom plan sees a 1000-element array and picks a hash join over
 * the whole table where an index probe per element is what scales.
 */
SPIPlanPtr
sr_prepare_kept_opts(const char *sql, int nargs, Oid *argtypes, int cursor_options)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}
