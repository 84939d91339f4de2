/*
 * plan.c — plan(order) and available(sku, ship_to, customer): the routing
 * core's answers, reading only, so that hot standbys can serve quotes,
 * checkout previews and promises.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "order.h"
#include "prepared.h"
#include "route.h"
#include "supply.h"

PG_FUNCTION_INFO_V1(stockroute_plan);
Datum
stockroute_plan(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	SrRouteRequest rq = {.read_only = true};
	Jsonb	   *plan;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("order must not be null")));

	work = AllocSetContextCreate(caller, "stockroute plan", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	sr_spi_begin(work);

	plan = sr_plan_json(sr_route(sr_order_read(PG_GETARG_JSONB_P(0)), &rq));

	plan = sr_spi_end_jsonb(plan, caller, work);
	PG_RETURN_JSONB_P(plan);
}

PG_FUNCTION_INFO_V1(stockroute_available);
Datum
stockroute_available(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	SrOrder    *o;
	Jsonb	   *out;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("sku must not be null")));

	work = AllocSetContextCreate(caller, "stockroute available", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	o = sr_order_for_sku(text_to_cstring(PG_GETARG_TEXT_PP(0)),
						 PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1),
						 PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2));

	sr_spi_begin(work);

	out = sr_promise_json(sr_promise(o, !PG_ARGISNULL(1)));
	/* future supply and promise dates (src/supply.c) */
	out = sr_supply_available(out, PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2));

	out = sr_spi_end_jsonb(out, caller, work);
	PG_RETURN_JSONB_P(out);
}
