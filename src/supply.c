/*
 * supply.c — future supply in available(): the promise keys added to its
 * document (what can be promised by when, net of the open backorders served
 * before a new order of the customer's priority).
 *
 * The arithmetic is SQL (stockroute.supply_promise in sql/70_supply.sql,
 * shared with the backorder promise dates); this file validates the
 * customer's priority and calls it with available()'s own verdict on which
 * nodes are routable, so both agree.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "json.h"
#include "order.h"
#include "prepared.h"
#include "supply.h"

static SPIPlanPtr plan_promise = NULL;

Jsonb *
sr_supply_available(Jsonb *doc, Jsonb *customer)
{
	MemoryContext cxt = CurrentMemoryContext;
	Datum		args[2];
	char		nulls[2] = {' ', ' '};
	bool		isnull;
	Datum		d;

	if (customer != NULL)
		(void) sr_priority_validate(customer, "argument field", "customer.priority", NULL);

	if (plan_promise == NULL)
	{
		Oid			types[2] = {JSONBOID, JSONBOID};

		plan_promise = sr_prepare_kept("SELECT $1 OPERATOR(pg_catalog.||) stockroute.supply_promise($1, $2)",
									   2, types);
	}
	args[0] = JsonbPGetDatum(doc);
	args[1] = customer ? JsonbPGetDatum(customer) : (Datum) 0;
	nulls[1] = customer ? ' ' : 'n';
	if (SPI_execute_plan(plan_promise, args, nulls, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "stockroute: supply promise failed");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "stockroute: supply promise returned NULL");
	MemoryContextSwitchTo(cxt);
	return DatumGetJsonbPCopy(d);
}
