/*
 * priority.c — order priority and preemption in allocate().
 *
 * An order's priority is its "priority" key, else its customer segment's
 * (stockroute.segment_priority), else 0 (SQL: stockroute.order_priority).
 * Backorders carry it and are served by priority, then age.  With
 * stockroute.priority_preemption on, allocate() of an order that would
 * otherwise be short takes units held — never committed — by orders of
 * lower priority.  sr_preempt runs between planning and reserving:
 *
 *   1. nothing to do unless the plan leaves units unfilled and some unexpired
 *      hold of a lower-priority order sits on a routable node for one of the
 *      short SKUs (stockroute.preempt_base, read without locks);
 *   2. lock every stock row of the order's SKUs in (node_id, sku) order, the
 *      order every multi-row writer uses.  allocate() holds no stock row at
 *      this point (a lost attempt is rolled back), so this is the first lock
 *      it takes and cannot close a cycle; the reservation of step 5 takes no
 *      row it does not already hold;
 *   3. plan again through a stock view (src/stockview.c): at each (node,
 *      sku) with such holds, available as if they were released — so the
 *      solver chooses which nodes to take from by cost like any other stock;
 *   4. stockroute.preempt_take releases what that plan needs beyond real
 *      available from the lowest-priority, newest holds there (locking each
 *      with SKIP LOCKED: a hold or backorder another transaction is changing
 *      is passed over, never waited for), backorders those orders with their
 *      original order document and tells the outbox;
 *   5. allocate() reserves the plan as usual.  If a victim was passed over
 *      and the plan cannot be reserved in full, its attempt fails (SR001)
 *      and allocate() plans again, with the released units now available.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "guc.h"
#include "json.h"
#include "order.h"
#include "prepared.h"
#include "priority.h"
#include "route.h"
#include "stockview.h"

static SPIPlanPtr plan_priority = NULL;
static SPIPlanPtr plan_base = NULL;
static SPIPlanPtr plan_lock = NULL;
static SPIPlanPtr plan_take = NULL;

/* text[] of the SKUs of the order lines the plan leaves short (short) or of all lines */
static Datum
skus_of(const SrPlan *p, bool short_only)
{
	const SrOrder *o = p->order;
	Datum	   *d = palloc(sizeof(Datum) * (o->nlines > 0 ? o->nlines : 1));
	int			k = 0;
	int			i;

	for (i = 0; i < o->nlines; i++)
		if (!short_only || p->left[i] > 0)
			d[k++] = CStringGetTextDatum(o->lines[i].sku);
	return PointerGetDatum(construct_array(d, k, TEXTOID, -1, false, TYPALIGN_INT));
}

static Jsonb *
spi_jsonb(SPIPlanPtr plan, Datum *args, const char *what)
{
	bool		isnull;
	Datum		d;

	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "stockroute: %s failed", what);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "stockroute: %s returned NULL", what);
	return DatumGetJsonbPCopy(d);
}

static bool
empty_array(Jsonb *j)
{
	return !JB_ROOT_IS_ARRAY(j) || JB_ROOT_COUNT(j) == 0;
}

SrPlan *
sr_preempt(SrPlan *plan, const SrRouteRequest *rq)
{
	MemoryContext cxt = CurrentMemoryContext;
	SrOrder    *o = plan->order;
	Datum		args[5];
	bool		isnull;
	int32		priority;
	Jsonb	   *base;
	Jsonb	   *taken;
	SrPlan	   *plan2;
	SrRouteRequest rq2 = *rq;
	int			i;

	if (!stockroute_priority_preemption || sr_plan_unfilled_units(plan) == 0)
		return plan;

	if (plan_priority == NULL)
	{
		Oid			t1[1] = {JSONBOID};
		Oid			t3[3] = {TEXTOID, TEXTARRAYOID, INT4OID};
		Oid			tl[1] = {TEXTARRAYOID};
		Oid			tt[5] = {TEXTOID, INT4OID, TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID};

		plan_priority = sr_prepare_kept("SELECT stockroute.order_priority($1)", 1, t1);
		plan_base = sr_prepare_kept("SELECT stockroute.preempt_base($1, $2, $3)", 3, t3);
		plan_lock = sr_prepare_kept("SELECT pg_catalog.count(*) FROM"
									" (SELECT 1 FROM stockroute.stock s"
									"   WHERE s.sku OPERATOR(pg_catalog.=) ANY ($1)"
									"   ORDER BY s.node_id, s.sku"
									"     FOR NO KEY UPDATE OF s) l",
									1, tl);
		plan_take = sr_prepare_kept("SELECT stockroute.preempt_take($1, $2, $3, $4, $5)", 5, tt);
	}

	/* 1. is there anything of lower priority to take? */
	args[0] = JsonbPGetDatum(sr_order_routing_doc(o));
	if (SPI_execute_plan(plan_priority, args, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "stockroute: order priority lookup failed");
	priority = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	MemoryContextSwitchTo(cxt);

	args[0] = CStringGetTextDatum(o->order_ref);
	args[1] = skus_of(plan, true);
	args[2] = Int32GetDatum(priority);
	base = spi_jsonb(plan_base, args, "preemption lookup");
	MemoryContextSwitchTo(cxt);
	if (empty_array(base))
		return plan;

	/* 2. every stock row of the order's SKUs, in canonical order */
	{
		Datum		la[1];

		la[0] = skus_of(plan, false);
		if (SPI_execute_plan(plan_lock, la, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "stockroute: preemption lock failed");
	}
	MemoryContextSwitchTo(cxt);

	/* 3. under the locks: what could be taken, and the plan that takes it */
	base = spi_jsonb(plan_base, args, "preemption lookup");
	MemoryContextSwitchTo(cxt);
	rq2.view = sr_view_create(false);
	for (i = 0; i < (int) JB_ROOT_COUNT(base); i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(&base->root, i);
		JsonbValue	b1,
					b2,
					b3;
		JsonbValue *node = sr_jsonb_get(e->val.binary.data, "node_id", &b1);
		JsonbValue *sku = sr_jsonb_get(e->val.binary.data, "sku", &b2);
		JsonbValue *avail = sr_jsonb_get(e->val.binary.data, "available", &b3);

		sr_view_set(rq2.view, sr_jsonb_string(node), sr_jsonb_string(sku),
					DatumGetInt64(DirectFunctionCall1(numeric_int8,
													  NumericGetDatum(avail->val.numeric))));
	}
	plan2 = sr_route(o, &rq2);
	MemoryContextSwitchTo(cxt);

	/* 4. take it */
	args[1] = Int32GetDatum(priority);
	sr_plan_ship_arrays(plan2, &args[2], &args[3], &args[4]);
	taken = spi_jsonb(plan_take, args, "preemption");
	MemoryContextSwitchTo(cxt);
	if (!empty_array(taken))
		plan2->preempted = taken;
	return plan2;
}
