/*
 * allocate.c — allocate(order jsonb) → jsonb: plan, then reserve what the
 * plan ships, atomically and idempotently per order_ref.
 *
 *   1. A transaction-level advisory lock on the order_ref serialises
 *      concurrent calls for one order; a decision already recorded for it is
 *      returned unchanged (a different order under the same order_ref is
 *      refused).
 *   2. Plan, then, in an internal subtransaction, lock the stock rows the
 *      plan uses in the canonical (node_id, sku) order every multi-row
 *      writer uses (so concurrent allocations never deadlock), then the
 *      lots the plan takes of lot-tracked SKUs in (node_id, sku, lot_code)
 *      order, check them, and insert the reservations (one per lot of a
 *      lot-tracked line); the reservation trigger makes the final, atomic
 *      stock check, and the statement trigger on reservation the daily
 *      capacity check (sql/60_operations.sql), locking the nodes' counter
 *      rows after the stock rows, in node order.  When a concurrent order
 *      took the stock (SR001) or the capacity (SR060), or a lock cycle picked
 *      this attempt (40P01), the subtransaction is rolled back and the order
 *      re-planned against the network as it now is, up to
 *      stockroute.allocate_retries times.
 *   3. Record the decision, backorder the unfilled units, queue one outbox
 *      message per shipment and NOTIFY stockroute.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "plan.h"
#include "products.h"
#include "stockroute.h"
#include "supply.h"

static SPIPlanPtr plan_lock_order = NULL;
static SPIPlanPtr plan_replay = NULL;
static SPIPlanPtr plan_lock_stock = NULL;
static SPIPlanPtr plan_reserve = NULL;
static SPIPlanPtr plan_record = NULL;

/*
 * The stock rows a plan ships from, locked in (node_id, sku) order: the
 * shipment lines summed per (node_id, sku) and sorted, then each stock row
 * locked through its primary key in that order (a LATERAL subquery; a plain
 * join is estimated at thousands of jsonb elements and scans all of stock).
 */
#define LOCK_STOCK_SQL \
	"SELECT s.node_id, s.sku, s.available, n.qty" \
	"  FROM (SELECT sh->>'node_id' AS node_id, l->>'sku' AS sku," \
	"               pg_catalog.sum((l->>'qty')::bigint) AS qty" \
	"          FROM pg_catalog.jsonb_array_elements($1->'shipments') sh," \
	"               pg_catalog.jsonb_array_elements(sh->'lines') l" \
	"         GROUP BY 1, 2 ORDER BY 1, 2) n," \
	"       LATERAL (SELECT st.node_id, st.sku, st.available FROM stockroute.stock st" \
	"                 WHERE st.node_id = n.node_id AND st.sku = n.sku" \
	"                   FOR NO KEY UPDATE) s" \
	" ORDER BY n.node_id, n.sku"

/*
 * One held reservation per shipment line, in (node_id, sku) order; per lot
 * for a line that lists its lots (products: lot-tracked SKUs), keyed
 * <order_ref>:<line_ref>:<node_id>:<lot_code>.  $4 ends the idempotency key
 * ('' for allocate(), unique per rejection for reject()).
 */
#define RESERVE_SQL \
	"WITH ins AS (" \
	"  INSERT INTO stockroute.reservation AS r" \
	"         (order_ref, line_ref, sku, node_id, lot_code, qty, status, expires_at, idempotency_key)" \
	"  SELECT $2, l->>'line_ref', l->>'sku', sh->>'node_id', lt->>'lot_code'," \
	"         coalesce((lt->>'qty')::bigint, (l->>'qty')::bigint), 'held'," \
	"         pg_catalog.now() + coalesce(i.hold_ttl, pg_catalog.make_interval(secs => $3))," \
	"         $2 || ':' || (l->>'line_ref') || ':' || (sh->>'node_id')" \
	"            || coalesce(':' || (lt->>'lot_code'), '') || $4" \
	"    FROM pg_catalog.jsonb_array_elements($1->'shipments') sh" \
	"   CROSS JOIN pg_catalog.jsonb_array_elements(sh->'lines') l" \
	"    LEFT JOIN LATERAL pg_catalog.jsonb_array_elements(l->'lots') lt ON true" \
	"    JOIN stockroute.item i ON i.sku = l->>'sku'" \
	"   ORDER BY sh->>'node_id', l->>'sku', lt->>'lot_code', l->>'line_ref'" \
	"  RETURNING r.*)" \
	"SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(ins)" \
	"                ORDER BY ins.node_id, ins.sku, ins.line_ref, ins.lot_code), '[]')" \
	"  FROM ins"

/* decision, backorders, outbox and the notification, in one statement */
#define RECORD_SQL \
	"WITH d AS (" \
	"  INSERT INTO stockroute.decision" \
	"         (order_ref, kind, profile_name, profile_version, input, output, solver)" \
	"  VALUES ($1, 'allocate', $3->'profile'->>'name', ($3->'profile'->>'version')::integer," \
	"          $2, $3, $3->'explain'->'solver')" \
	"  RETURNING decision_id)," \
	" b AS (" \
	"  INSERT INTO stockroute.backorder (order_ref, line_ref, sku, qty, order_doc)" \
	"  SELECT $1, u->>'line_ref', u->>'sku', (u->>'qty')::bigint, $2" \
	"    FROM pg_catalog.jsonb_array_elements($3->'unfilled') u" \
	"  RETURNING 1)," \
	" o AS (" \
	"  INSERT INTO stockroute.outbox (topic, order_ref, node_id, payload)" \
	"  SELECT 'shipment', $1, sh->>'node_id'," \
	"         sh || pg_catalog.jsonb_build_object('order_ref', $1, 'status', $3->>'status')" \
	"    FROM pg_catalog.jsonb_array_elements($3->'shipments') sh" \
	"  RETURNING 1)" \
	"SELECT pg_catalog.pg_notify('stockroute', pg_catalog.jsonb_build_object(" \
	"         'topic', 'allocate', 'order_ref', pg_catalog.left($1, 200)," \
	"         'status', $3->>'status'," \
	"         'shipments', (SELECT pg_catalog.count(*) FROM o)," \
	"         'backorders', (SELECT pg_catalog.count(*) FROM b)," \
	"         'decision_id', (SELECT decision_id FROM d))::text)"

/*
 * Reserve what the plan ships.  Returns the reservations as a jsonb array,
 * or NULL when a concurrent order took stock or capacity the plan counted
 * on; then nothing of the attempt remains.
 */
static Jsonb *
try_reserve(const char *order_ref, Jsonb *plan, const char *key_suffix)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	Jsonb	   *volatile result = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);

	PG_TRY();
	{
		Datum		args[4];
		bool		isnull;
		uint64		i;

		if (plan_lock_stock == NULL)
		{
			Oid			types[1] = {JSONBOID};

			plan_lock_stock = sr_prepare_kept(LOCK_STOCK_SQL, 1, types);
		}
		args[0] = JsonbPGetDatum(plan);
		if (SPI_execute_plan(plan_lock_stock, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "stockroute: stock lock failed");
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	t = SPI_tuptable->vals[i];
			TupleDesc	d = SPI_tuptable->tupdesc;
			int64		avail = DatumGetInt64(SPI_getbinval(t, d, 3, &isnull));
			Datum		need = SPI_getbinval(t, d, 4, &isnull);

			/* sum(bigint) is numeric */
			if (DatumGetInt64(DirectFunctionCall1(numeric_int8, need)) > avail)
				ereport(ERROR,
						(errcode(ERRCODE_SR_INSUFFICIENT_STOCK),
						 errmsg("insufficient stock for sku \"%s\" at node \"%s\"",
								SPI_getvalue(t, d, 2), SPI_getvalue(t, d, 1))));
		}

		/* products: the planned lots, after their stock rows (src/products.c) */
		if (sr_plan_has_lots(plan))
			sr_lots_lock(plan);

		if (plan_reserve == NULL)
		{
			Oid			types[4] = {JSONBOID, TEXTOID, FLOAT8OID, TEXTOID};

			plan_reserve = sr_prepare_kept(RESERVE_SQL, 4, types);
		}
		args[0] = JsonbPGetDatum(plan);
		args[1] = CStringGetTextDatum(order_ref);
		args[2] = Float8GetDatum((double) stockroute_default_hold_ttl);
		args[3] = CStringGetTextDatum(key_suffix);
		if (SPI_execute_plan(plan_reserve, args, NULL, false, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "stockroute: reservation insert failed");
		{
			Datum		r = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			MemoryContext spicxt = MemoryContextSwitchTo(oldcxt);

			result = DatumGetJsonbPCopy(r);
			MemoryContextSwitchTo(spicxt);
		}

		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		/* lost to a concurrent order: plan again */
		if (edata->sqlerrcode != ERRCODE_SR_INSUFFICIENT_STOCK &&
			edata->sqlerrcode != ERRCODE_SR_CAPACITY_EXCEEDED &&
			edata->sqlerrcode != ERRCODE_T_R_DEADLOCK_DETECTED)
			ReThrowError(edata);
		FreeErrorData(edata);
		result = NULL;
	}
	PG_END_TRY();

	return result;
}

void
sr_lock_order(const char *order_ref)
{
	Datum		args[1];

	if (plan_lock_order == NULL)
	{
		Oid			types[1] = {TEXTOID};

		plan_lock_order = sr_prepare_kept(
										  "SELECT pg_catalog.pg_advisory_xact_lock("
										  "pg_catalog.hashtext('stockroute.allocate'), pg_catalog.hashtext($1))",
										  1, types);
	}
	args[0] = CStringGetTextDatum(order_ref);
	if (SPI_execute_plan(plan_lock_order, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: order lock failed");
}

Jsonb *
sr_allocate_plan(Jsonb *order, const char *order_ref, const char *key_suffix,
				 Jsonb **reservations, int *attempts)
{
	Jsonb	   *plan;
	int			attempt;

	for (attempt = 1;; attempt++)
	{
		JsonbValue	vbuf;
		JsonbValue *sh;

		plan = sr_plan_order(order, false);
		/* ---- hook: priority preemption (src/priority.c) ---- */
		plan = sr_preempt(order, order_ref, plan);
		sh = sr_jsonb_get(&plan->root, "shipments", &vbuf);
		if (sh == NULL || !sr_jsonb_is_array(sh) || JsonContainerSize(sh->val.binary.data) == 0)
		{
			*reservations = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("[]")));
			break;
		}
		*reservations = try_reserve(order_ref, plan, key_suffix);
		if (*reservations != NULL)
			break;
		if (attempt > stockroute_allocate_retries)
			ereport(ERROR,
					(errcode(ERRCODE_SR_ALLOCATION_CONTENTION),
					 errmsg("could not allocate order \"%s\": concurrent orders took the planned stock %d times",
							order_ref, attempt),
					 errhint("Retry the call; raise stockroute.allocate_retries if this happens often.")));
		CHECK_FOR_INTERRUPTS();
	}
	*attempts = attempt;
	return plan;
}

PG_FUNCTION_INFO_V1(routing_allocate);
Datum
routing_allocate(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	Jsonb	   *order;
	char	   *order_ref;
	Jsonb	   *plan = NULL;
	Jsonb	   *reservations = NULL;
	Jsonb	   *out;
	Datum		args[3];
	bool		isnull;
	int			attempt;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("order must not be null")));

	work = AllocSetContextCreate(caller, "stockroute allocate", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	order = PG_GETARG_JSONB_P(0);
	order_ref = sr_order_ref(order);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(work);

	/* one call at a time per order_ref; the lock lasts until commit */
	sr_lock_order(order_ref);
	args[0] = CStringGetTextDatum(order_ref);

	/* idempotency: the first allocation of this order_ref stands */
	if (plan_replay == NULL)
	{
		Oid			types[2] = {TEXTOID, JSONBOID};

		plan_replay = sr_prepare_kept(
									  "SELECT output, input = $2"
									  "  FROM stockroute.decision"
									  " WHERE order_ref = $1 AND kind = 'allocate'"
									  " ORDER BY created_at LIMIT 1",
									  2, types);
	}
	args[1] = JsonbPGetDatum(order);
	if (SPI_execute_plan(plan_replay, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: decision lookup failed");
	if (SPI_processed == 1)
	{
		HeapTuple	t = SPI_tuptable->vals[0];

		if (!DatumGetBool(SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &isnull)))
			ereport(ERROR,
					(errcode(ERRCODE_SR_IDEMPOTENCY_MISMATCH),
					 errmsg("order_ref \"%s\" was already allocated for a different order", order_ref),
					 errdetail("allocate() is idempotent per order_ref: a second call must pass the same order."),
					 errhint("Use a new order_ref for a new order.")));
		out = DatumGetJsonbP(SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &isnull));
		MemoryContextSwitchTo(caller);
		out = DatumGetJsonbPCopy(JsonbPGetDatum(out));
		SPI_finish();
		MemoryContextSwitchTo(caller);
		MemoryContextDelete(work);
		PG_RETURN_JSONB_P(out);
	}

	/* plan and reserve; re-plan when a concurrent order took the stock */
	plan = sr_allocate_plan(order, order_ref, "", &reservations, &attempt);

	/* the result: the plan, its reservations and the number of attempts */
	{
		StringInfoData b;

		initStringInfo(&b);
		appendStringInfo(&b, "{\"attempts\":%d,\"reservations\":", attempt);
		appendStringInfoString(&b, JsonbToCString(NULL, &reservations->root, VARSIZE(reservations)));
		appendStringInfoChar(&b, '}');
		out = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(plan),
												 JsonbPGetDatum(sr_json_to_jsonb(&b))));
	}

	if (plan_record == NULL)
	{
		Oid			types[3] = {TEXTOID, JSONBOID, JSONBOID};

		plan_record = sr_prepare_kept(RECORD_SQL, 3, types);
	}
	args[0] = CStringGetTextDatum(order_ref);
	args[1] = JsonbPGetDatum(order);
	args[2] = JsonbPGetDatum(out);
	if (SPI_execute_plan(plan_record, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: recording the allocation failed");

	/* SPI_execute leaves CurrentMemoryContext in SPI's procedure context: copy out first */
	MemoryContextSwitchTo(caller);
	out = DatumGetJsonbPCopy(JsonbPGetDatum(out));
	SPI_finish();
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(work);
	PG_RETURN_JSONB_P(out);
}
