/*
 * allocate.c — allocate(order jsonb) → jsonb, and the reservation of a
 * plan that allocate(), reject() and the re-placement of backorders and
 * shortfalls share.
 *
 * allocate():
 *   1. A transaction-level advisory lock on the order_ref serialises
 *      concurrent calls for one order; a decision already recorded for it is
 *      returned (a different order under the same order_ref is refused; keys
 *      routing does not read do not make it different), with each of its
 *      reservations as it is now.
 *   2. Plan (src/route.c), then, in an internal subtransaction, lock the
 *      stock rows the plan uses in the canonical (node_id, sku) order every
 *      multi-row writer uses (so concurrent allocations never deadlock), then
 *      the lots the plan takes of lot-tracked SKUs in (node_id, sku,
 *      lot_code) order, check them, and insert the reservations (one per lot
 *      of a lot-tracked line); the reservation trigger makes the final,
 *      atomic stock check, and the statement trigger on reservation the daily
 *      capacity check, locking the nodes' counter rows after the stock rows,
 *      in node order.  When a concurrent order took the stock (SR001) or the
 *      capacity (SR060), or a lock cycle picked this attempt (40P01), the
 *      subtransaction is rolled back and the order planned again against the
 *      network as it now is.
 *   3. After stockroute.allocate_retries such optimistic attempts, lock every
 *      stock row of the order's SKUs (and their lots) in canonical order and
 *      plan under those locks: no concurrent order can take that stock any
 *      more, so the plan is reserved (only daily capacity can still be taken
 *      by others, and each such loss is a slot gone, so it ends).  A lost
 *      race re-plans; it never fails the call.
 *   4. Record the decision, backorder the unfilled units, queue one outbox
 *      message per shipment and NOTIFY stockroute.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "allocate.h"
#include "errcodes.h"
#include "guc.h"
#include "json.h"
#include "lapsed.h"
#include "order.h"
#include "prepared.h"
#include "priority.h"
#include "route.h"
#include "subxact.h"
#include "solve.h"

static SPIPlanPtr plan_lock_order = NULL;
static SPIPlanPtr plan_replay = NULL;
static SPIPlanPtr plan_replay_holds = NULL;
static SPIPlanPtr plan_replace_doc = NULL;
static SPIPlanPtr plan_lock_stock[2] = {NULL, NULL};	/* waiting, NOWAIT */
static SPIPlanPtr plan_lock_lots[2] = {NULL, NULL};
static SPIPlanPtr plan_lock_all = NULL;
static SPIPlanPtr plan_reserve = NULL;
static SPIPlanPtr plan_record = NULL;

/*
 * The stock rows a plan ships from, locked in (node_id, sku) order: the
 * shipment lines summed per (node_id, sku) and sorted, then each stock row
 * locked through its primary key in that order.  Held reservations past
 * their expiry count as free (the reservation trigger expires them when the
 * units are needed).
 */
#define LOCK_STOCK_SQL(nowait) \
	"SELECT s.node_id, s.sku, s.available, n.qty" \
	"  FROM (SELECT u.node_id, u.sku, pg_catalog.sum(u.qty)::bigint AS qty" \
	"          FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::int8[])) AS u(node_id, sku, qty)" \
	"         GROUP BY 1, 2 ORDER BY 1, 2) n," \
	"       LATERAL (SELECT st.node_id, st.sku, st.available FROM stockroute.stock st" \
	"                 WHERE st.node_id = n.node_id AND st.sku = n.sku" \
	"                   FOR NO KEY UPDATE " nowait ") s" \
	" ORDER BY n.node_id, n.sku"

/*
 * The units of held reservations past their expiry at a stock row (lot_code
 * NULL) or lot: free for the taking, whether reconcile() swept them yet or
 * not (the reservation trigger expires them when their units are needed).
 */
/*
 * The lots a plan takes, locked in (node_id, sku, lot_code) order after
 * their stock rows (the canonical order: a stock row, then its lots), so two
 * allocations never wait on each other's lots in a cycle.
 */
#define LOCK_LOTS_SQL(nowait) \
	"WITH n AS (" \
	"  SELECT u.node_id, u.sku, u.lot_code, pg_catalog.sum(u.qty)::bigint AS qty" \
	"    FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::int8[]))" \
	"         AS u(node_id, sku, lot_code, qty)" \
	"   GROUP BY 1, 2, 3)" \
	"SELECT l.node_id, l.sku, l.lot_code, l.on_hand - l.reserved, n.qty," \
	"       (SELECT pg_catalog.count(*) FROM n)" \
	"  FROM stockroute.lot l" \
	"  JOIN n ON l.node_id = n.node_id AND l.sku = n.sku AND l.lot_code = n.lot_code" \
	" ORDER BY l.node_id, l.sku, l.lot_code" \
	"   FOR NO KEY UPDATE OF l " nowait

/*
 * Every stock row of some SKUs, then their lots, in canonical order: what a
 * plan under locks may use.
 */
#define LOCK_ALL_SQL \
	"SELECT (SELECT pg_catalog.count(*) FROM" \
	"          (SELECT 1 FROM stockroute.stock s WHERE s.sku = ANY ($1)" \
	"            ORDER BY s.node_id, s.sku FOR NO KEY UPDATE OF s) x)," \
	"       (SELECT pg_catalog.count(*) FROM" \
	"          (SELECT 1 FROM stockroute.lot l WHERE l.sku = ANY ($1)" \
	"            ORDER BY l.node_id, l.sku, l.lot_code FOR NO KEY UPDATE OF l) y)"

/*
 * One held reservation per shipment line, per lot for a line that takes
 * lots, keyed <order_ref>:<line_ref>:<node_id>[:<lot_code>]<key_suffix>, in
 * (node_id, sku, lot_code, line_ref) order; its columns come back.
 */
#define RESERVE_SQL \
	"WITH ins AS (" \
	"  INSERT INTO stockroute.reservation AS r" \
	"         (order_ref, line_ref, sku, node_id, lot_code, qty, status, expires_at, idempotency_key)" \
	"  SELECT $1, u.line_ref, u.sku, u.node_id, u.lot_code, u.qty, 'held'," \
	"         pg_catalog.now() + coalesce(i.hold_ttl, pg_catalog.make_interval(secs => $7))," \
	"         $1 || ':' || u.line_ref || ':' || u.node_id || coalesce(':' || u.lot_code, '') || $8" \
	"    FROM ROWS FROM (pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::text[]), pg_catalog.unnest($5::text[]), pg_catalog.unnest($6::int8[]))" \
	"         AS u(line_ref, sku, node_id, lot_code, qty)" \
	"    JOIN stockroute.item i ON i.sku = u.sku" \
	"   ORDER BY u.node_id, u.sku, u.lot_code, u.line_ref" \
	"  RETURNING r.reservation_id, r.order_ref, r.line_ref, r.sku, r.node_id, r.lot_code, r.qty," \
	"            r.status, r.expires_at, r.idempotency_key, r.created_at, r.updated_at," \
	"            r.committed_at, r.closed_at)" \
	"SELECT * FROM ins ORDER BY node_id, sku, line_ref, lot_code"

/* decision, backorders, outbox and the notification, in one statement */
#define RECORD_SQL \
	"WITH d AS (" \
	"  INSERT INTO stockroute.decision" \
	"         (order_ref, kind, profile_name, profile_version, input, output, solver)" \
	"  VALUES ($1, 'allocate', $4, $5, $2, $3, $6)" \
	"  RETURNING decision_id)," \
	" b AS (" \
	"  INSERT INTO stockroute.backorder (order_ref, line_ref, sku, qty, order_doc)" \
	"  SELECT $1, u.line_ref, u.sku, u.qty, $2" \
	"    FROM ROWS FROM (pg_catalog.unnest($7::text[]), pg_catalog.unnest($8::text[]), pg_catalog.unnest($9::int8[])) AS u(line_ref, sku, qty)" \
	"  RETURNING 1)," \
	" o AS (" \
	"  INSERT INTO stockroute.outbox (topic, order_ref, node_id, payload)" \
	"  SELECT 'shipment', $1, u.node_id, u.payload" \
	"    FROM ROWS FROM (pg_catalog.unnest($10::text[]), pg_catalog.unnest($11::jsonb[])) AS u(node_id, payload)" \
	"  RETURNING 1)" \
	"SELECT pg_catalog.pg_notify('stockroute', pg_catalog.jsonb_build_object(" \
	"         'topic', 'allocate', 'order_ref', pg_catalog.left($1, 200)," \
	"         'status', $12::text," \
	"         'shipments', (SELECT pg_catalog.count(*) FROM o)," \
	"         'backorders', (SELECT pg_catalog.count(*) FROM b)," \
	"         'decision_id', (SELECT decision_id FROM d))::text)"

/* ---------------------------------------------------------------- reserving */

/*
 * The rows a lock statement returned, columns (node_id, sku, lot_code or
 * absent, free units, units needed), checked: SR001 where a row no longer
 * has the units, lapsed holds counted as free.
 */
static void
check_locked(SPITupleTable *tt, uint64 n, bool lots)
{
	int			free_col = lots ? 4 : 3;
	uint64		i;

	for (i = 0; i < n; i++)
	{
		HeapTuple	t = tt->vals[i];
		TupleDesc	d = tt->tupdesc;
		bool		isnull;
		int64		avail = DatumGetInt64(SPI_getbinval(t, d, free_col, &isnull));
		int64		need = DatumGetInt64(SPI_getbinval(t, d, free_col + 1, &isnull));
		char	   *node_id = SPI_getvalue(t, d, 1);
		char	   *sku = SPI_getvalue(t, d, 2);
		char	   *lot_code = lots ? SPI_getvalue(t, d, 3) : NULL;
		SrLapsed   *lapsed;

		if (need <= avail)
			continue;
		/* lapsed holds count for nothing (src/lapsed.c) */
		lapsed = sr_lapsed_load(&sku, 1, false);
		avail += lots ? sr_lapsed_lot(lapsed, node_id, sku, lot_code) :
			sr_lapsed_stock(lapsed, node_id, sku);
		if (need <= avail)
			continue;
		if (lots)
			ereport(ERROR,
					(errcode(ERRCODE_SR_INSUFFICIENT_STOCK),
					 errmsg("insufficient stock in lot \"%s\" of sku \"%s\" at node \"%s\"",
							lot_code, sku, node_id),
					 errdetail("qty " INT64_FORMAT " requested, " INT64_FORMAT " available.",
							   need, avail > 0 ? avail : 0)));
		ereport(ERROR,
				(errcode(ERRCODE_SR_INSUFFICIENT_STOCK),
				 errmsg("insufficient stock for sku \"%s\" at node \"%s\"", sku, node_id)));
	}
}

/* lock the plan's stock rows and check they still have the units (SR001) */
static void
lock_plan_stock(const SrPlan *p, bool nowait)
{
	Datum		args[3];
	SPITupleTable *tt;
	uint64		n;

	if (plan_lock_stock[nowait] == NULL)
	{
		Oid			types[3] = {TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID};

		plan_lock_stock[0] = sr_prepare_kept(LOCK_STOCK_SQL(""), 3, types);
		plan_lock_stock[1] = sr_prepare_kept(LOCK_STOCK_SQL("NOWAIT"), 3, types);
	}
	sr_plan_ship_arrays(p, &args[0], &args[1], &args[2]);
	if (SPI_execute_plan(plan_lock_stock[nowait], args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: stock lock failed");
	tt = SPI_tuptable;
	n = SPI_processed;
	check_locked(tt, n, false);
}

/* lock the lots the plan takes, after their stock rows, and check them (SR001) */
static void
lock_plan_lots(const SrPlan *p, bool nowait)
{
	SrArray		nodes,
				skus,
				lots,
				qtys;
	Datum		args[4];
	SPITupleTable *tt;
	uint64		n;
	bool		isnull;
	int			cap = 1;
	int			i;
	int			k;

	for (i = 0; i < p->nship; i++)
		cap += p->ship[i].nlots;
	sr_array_init(&nodes, cap);
	sr_array_init(&skus, cap);
	sr_array_init(&lots, cap);
	sr_array_init(&qtys, cap);
	for (i = 0; i < p->nship; i++)
		for (k = 0; k < p->ship[i].nlots; k++)
		{
			const SrLot *l = &p->net.lots->lots[p->ship[i].lots[k].lot];

			sr_array_text(&nodes, l->node_id);
			sr_array_text(&skus, l->sku);
			sr_array_text(&lots, l->lot_code);
			sr_array_int8(&qtys, p->ship[i].lots[k].qty);
		}
	if (nodes.n == 0)
		return;
	if (plan_lock_lots[nowait] == NULL)
	{
		Oid			types[4] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID};

		plan_lock_lots[0] = sr_prepare_kept(LOCK_LOTS_SQL(""), 4, types);
		plan_lock_lots[1] = sr_prepare_kept(LOCK_LOTS_SQL("NOWAIT"), 4, types);
	}
	args[0] = sr_array_get(&nodes, TEXTOID);
	args[1] = sr_array_get(&skus, TEXTOID);
	args[2] = sr_array_get(&lots, TEXTOID);
	args[3] = sr_array_get(&qtys, INT8OID);
	if (SPI_execute_plan(plan_lock_lots[nowait], args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: lot lock failed");
	tt = SPI_tuptable;
	n = SPI_processed;
	if (n == 0 ||
		DatumGetInt64(SPI_getbinval(tt->vals[0], tt->tupdesc, 6, &isnull)) != (int64) n)
		ereport(ERROR,
				(errcode(ERRCODE_SR_INSUFFICIENT_STOCK),
				 errmsg("a lot the plan counted on no longer exists")));
	check_locked(tt, n, true);
}

/* insert the plan's reservations; their rows as a jsonb array */
static Jsonb *
insert_plan_reservations(const char *order_ref, const SrPlan *p, const char *key_suffix)
{
	SrArray		lines,
				skus,
				nodes,
				lots,
				qtys;
	Datum		args[8];
	int			cap = 1;
	int			i;
	int			k;

	for (i = 0; i < p->nship; i++)
		cap += Max(p->ship[i].nlots, 1);
	sr_array_init(&lines, cap);
	sr_array_init(&skus, cap);
	sr_array_init(&nodes, cap);
	sr_array_init(&lots, cap);
	sr_array_init(&qtys, cap);
	for (i = 0; i < p->nship; i++)
	{
		const SrShipLine *sl = &p->ship[i];
		const SrOrderLine *ln = &p->order->lines[sl->line];
		const char *node_id = p->net.nodes[sl->node].node_id;

		for (k = 0; k < Max(sl->nlots, 1); k++)
		{
			sr_array_text(&lines, ln->line_ref);
			sr_array_text(&skus, ln->sku);
			sr_array_text(&nodes, node_id);
			sr_array_text(&lots, sl->nlots > 0 ? p->net.lots->lots[sl->lots[k].lot].lot_code : NULL);
			sr_array_int8(&qtys, sl->nlots > 0 ? sl->lots[k].qty : sl->qty);
		}
	}
	if (plan_reserve == NULL)
	{
		Oid			types[8] = {TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		TEXTARRAYOID, INT8ARRAYOID, FLOAT8OID, TEXTOID};

		plan_reserve = sr_prepare_kept(RESERVE_SQL, 8, types);
	}
	args[0] = CStringGetTextDatum(order_ref);
	args[1] = sr_array_get(&lines, TEXTOID);
	args[2] = sr_array_get(&skus, TEXTOID);
	args[3] = sr_array_get(&nodes, TEXTOID);
	args[4] = sr_array_get(&lots, TEXTOID);
	args[5] = sr_array_get(&qtys, INT8OID);
	args[6] = Float8GetDatum((double) stockroute_default_hold_ttl);
	args[7] = CStringGetTextDatum(key_suffix);
	if (SPI_execute_plan(plan_reserve, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: reservation insert failed");
	return sr_json_rows(SPI_tuptable, SPI_processed);
}

/*
 * Run fn in an internal subtransaction.  True when it succeeded; false,
 * with nothing of it left, when it raised one of the errors a concurrent
 * order causes (SR001 stock taken unless under locks, SR060 capacity taken,
 * 40P01 a lock cycle, and with nowait 55P03 a row locked elsewhere); any
 * other error propagates.
 */
static bool
try_in_subxact(void (*fn) (void *arg), void *arg, bool nowait, bool locked)
{
	ErrorData  *edata;

	if (sr_subxact(fn, arg, &edata))
		return true;
	if ((edata->sqlerrcode != ERRCODE_SR_INSUFFICIENT_STOCK || locked) &&
		edata->sqlerrcode != ERRCODE_SR_CAPACITY_EXCEEDED &&
		edata->sqlerrcode != ERRCODE_T_R_DEADLOCK_DETECTED &&
		!(nowait && edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE))
		ReThrowError(edata);
	FreeErrorData(edata);
	return false;
}

typedef struct ReserveArgs
{
	const char *order_ref;
	const SrPlan *plan;
	const char *key_suffix;
	bool		nowait;
	Jsonb	   *result;
} ReserveArgs;

static void
reserve_fn(void *arg)
{
	ReserveArgs *a = arg;
	MemoryContext cxt = CurrentMemoryContext;
	Jsonb	   *r;

	lock_plan_stock(a->plan, a->nowait);
	lock_plan_lots(a->plan, a->nowait);
	r = insert_plan_reservations(a->order_ref, a->plan, a->key_suffix);
	MemoryContextSwitchTo(cxt);
	a->result = r;
}

static Jsonb *
reserve_plan(const char *order_ref, const SrPlan *plan, const char *key_suffix,
			 bool nowait, bool locked)
{
	MemoryContext cxt = CurrentMemoryContext;
	ReserveArgs a;

	a.order_ref = order_ref;
	a.plan = plan;
	a.key_suffix = key_suffix;
	a.nowait = nowait;
	a.result = NULL;
	if (!sr_plan_ships(plan))
		return sr_json_rows(NULL, 0);
	if (!try_in_subxact(reserve_fn, &a, nowait, locked))
		return NULL;
	MemoryContextSwitchTo(cxt);
	return a.result;
}

Jsonb *
sr_reserve_plan(const char *order_ref, const SrPlan *plan, const char *key_suffix,
				bool nowait)
{
	return reserve_plan(order_ref, plan, key_suffix, nowait, false);
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
sr_order_to_replace(const char *order_ref, const char *node_id, int n,
					char *const *line_refs, char *const *skus, const int64 *qty)
{
	Datum		args[5];
	bool		isnull;
	Datum		d;
	SrArray		q;
	int			i;

	if (plan_replace_doc == NULL)
	{
		Oid			types[5] = {TEXTOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID};

		plan_replace_doc = sr_prepare_kept(
										   "SELECT coalesce("
										   "  (SELECT d.input FROM stockroute.decision d"
										   "    WHERE d.order_ref = $1 AND d.kind = 'allocate'"
										   "    ORDER BY d.created_at, d.decision_id LIMIT 1),"
										   "  (SELECT pg_catalog.jsonb_build_object('order_ref', $1,"
										   "            'ship_to', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object("
										   "                'lat', n.lat, 'lon', n.lon, 'country', n.country, 'region', n.region,"
										   "                'postal_code', n.postal_code)),"
										   "            'lines', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
										   "                               'line_ref', u.l, 'sku', u.s, 'qty', u.q) ORDER BY u.i)"
										   "                        FROM ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4),"
										   "                                        pg_catalog.unnest($5)) WITH ORDINALITY AS u(l, s, q, i)),"
										   "            'options', pg_catalog.jsonb_build_object('allow_partial', true))"
										   "     FROM stockroute.node n WHERE n.node_id = $2))",
										   5, types);
	}
	sr_array_init(&q, n);
	for (i = 0; i < n; i++)
		sr_array_int8(&q, qty[i]);
	args[0] = CStringGetTextDatum(order_ref);
	args[1] = CStringGetTextDatum(node_id);
	args[2] = sr_text_array(line_refs, n);
	args[3] = sr_text_array(skus, n);
	args[4] = sr_array_get(&q, INT8OID);
	sr_spi_ok(SPI_execute_plan(plan_replace_doc, args, NULL, false, 1), SPI_OK_SELECT,
			  "order lookup");
	if (SPI_processed != 1)
		return NULL;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? NULL : DatumGetJsonbPCopy(d);
}

/* lock every stock row and lot of the order's SKUs, in canonical order */
static void
lock_order_skus(const SrOrder *o)
{
	SrArray		skus;
	Datum		args[1];
	int			g;

	sr_array_init(&skus, o->ngroups);
	for (g = 0; g < o->ngroups; g++)
		sr_array_text(&skus, o->groups[g].sku);
	if (plan_lock_all == NULL)
	{
		Oid			types[1] = {TEXTARRAYOID};

		plan_lock_all = sr_prepare_kept(LOCK_ALL_SQL, 1, types);
	}
	args[0] = sr_array_get(&skus, TEXTOID);
	if (SPI_execute_plan(plan_lock_all, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: order stock lock failed");
}

SrPlan *
sr_allocate_plan(SrOrder *o, const char *key_suffix, Jsonb **reservations, int *attempts)
{
	SrRouteRequest rq = {.read_only = false};
	MemoryContext cxt = CurrentMemoryContext;
	SrPlan	   *plan;
	bool		locked = false;
	int			attempt;

	for (attempt = 1;; attempt++)
	{
		if (!locked && attempt > stockroute_allocate_retries)
		{
			/* no more optimism: plan under the locks of all the order's stock */
			lock_order_skus(o);
			locked = true;
		}
		plan = sr_route(o, &rq);
		/* priority preemption (src/priority.c) */
		plan = sr_preempt(plan, &rq);
		*reservations = reserve_plan(o->order_ref, plan, key_suffix, false, locked);
		MemoryContextSwitchTo(cxt);
		if (*reservations != NULL)
			break;

		/*
		 * Under the locks stock cannot be lost (an SR001 there propagates);
		 * only daily capacity can, a slot another order took each time, or
		 * a lock cycle with a writer outside the canonical order.
		 */
		CHECK_FOR_INTERRUPTS();
	}
	*attempts = attempt;
	return plan;
}

/* ---------------------------------------------------------------- allocate() */

/*
 * The decision already recorded for order_ref, with each of its reservations
 * as it is now; NULL when there is none.  A different order under the
 * order_ref (by what routing reads) is SR007.
 */
static Jsonb *
replay_decision(const char *order_ref, const SrOrder *o)
{
	Datum		args[2];
	bool		isnull;
	Jsonb	   *input;
	Jsonb	   *output;
	Jsonb	   *holds;
	StringInfoData b;

	if (plan_replay == NULL)
	{
		Oid			types[1] = {TEXTOID};
		Oid			types2[2] = {TEXTOID, JSONBOID};

		plan_replay = sr_prepare_kept(
									  "SELECT input, output"
									  "  FROM stockroute.decision"
									  " WHERE order_ref = $1 AND kind = 'allocate'"
									  " ORDER BY created_at LIMIT 1",
									  1, types);
		plan_replay_holds = sr_prepare_kept(
											"SELECT r.reservation_id, r.order_ref, r.line_ref, r.sku, r.node_id,"
											"       r.lot_code, r.qty, r.status, r.expires_at, r.idempotency_key,"
											"       r.created_at, r.updated_at, r.committed_at, r.closed_at"
											"  FROM stockroute.reservation r"
											" WHERE r.order_ref = $1"
											"   AND r.reservation_id IN (SELECT (e->>'reservation_id')::uuid"
											"          FROM pg_catalog.jsonb_array_elements($2->'reservations') e)"
											" ORDER BY r.node_id, r.sku, r.line_ref, r.lot_code",
											2, types2);
	}
	args[0] = CStringGetTextDatum(order_ref);
	if (SPI_execute_plan(plan_replay, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: decision lookup failed");
	if (SPI_processed == 0)
		return NULL;
	input = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	output = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

	/* the same order is the same routing input, whatever else it carries */
	if (!DatumGetBool(DirectFunctionCall2(jsonb_eq,
										  JsonbPGetDatum(sr_order_routing_doc(sr_order_read(input))),
										  JsonbPGetDatum(sr_order_routing_doc(o)))))
		ereport(ERROR,
				(errcode(ERRCODE_SR_IDEMPOTENCY_MISMATCH),
				 errmsg("order_ref \"%s\" was already allocated for a different order", order_ref),
				 errdetail("allocate() is idempotent per order_ref: a second call must pass the same order."),
				 errhint("Use a new order_ref for a new order.")));

	/* its reservations as they are now: committed, released, expired, ... */
	args[1] = JsonbPGetDatum(output);
	if (SPI_execute_plan(plan_replay_holds, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: reservation lookup failed");
	holds = sr_json_rows(SPI_tuptable, SPI_processed);
	initStringInfo(&b);
	appendStringInfoString(&b, "{\"reservations\":");
	(void) JsonbToCString(&b, &holds->root, VARSIZE(holds));
	appendStringInfoChar(&b, '}');
	return DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(output),
											  JsonbPGetDatum(sr_json_to_jsonb(&b))));
}

/* record the allocation: decision, backorders, outbox, NOTIFY */
static void
record_allocation(Jsonb *order, const SrPlan *p, Jsonb *out)
{
	SrArray		bl,
				bs,
				bq,
				on,
				op;
	Datum		args[12];

	sr_plan_unfilled_arrays(p, &bl, &bs, &bq);
	sr_plan_shipment_messages(p, NULL, &on, &op);
	if (plan_record == NULL)
	{
		Oid			types[12] = {TEXTOID, JSONBOID, JSONBOID, TEXTOID, INT4OID, JSONBOID,
			TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID, JSONBARRAYOID, TEXTOID};

		plan_record = sr_prepare_kept(RECORD_SQL, 12, types);
	}
	args[0] = CStringGetTextDatum(p->order->order_ref);
	args[1] = JsonbPGetDatum(order);
	args[2] = JsonbPGetDatum(out);
	args[3] = CStringGetTextDatum(p->prof.name);
	args[4] = Int32GetDatum(p->prof.version);
	args[5] = JsonbPGetDatum(sr_plan_solver_json(p));
	args[6] = sr_array_get(&bl, TEXTOID);
	args[7] = sr_array_get(&bs, TEXTOID);
	args[8] = sr_array_get(&bq, INT8OID);
	args[9] = sr_array_get(&on, TEXTOID);
	args[10] = sr_array_get(&op, JSONBOID);
	args[11] = CStringGetTextDatum(sr_plan_status(p));
	if (SPI_execute_plan(plan_record, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: recording the allocation failed");
}

PG_FUNCTION_INFO_V1(stockroute_allocate);
Datum
stockroute_allocate(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	Jsonb	   *order;
	SrOrder    *o;
	SrPlan	   *plan;
	Jsonb	   *reservations = NULL;
	Jsonb	   *out;
	int			attempt;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("order must not be null")));

	work = AllocSetContextCreate(caller, "stockroute allocate", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	order = PG_GETARG_JSONB_P(0);
	o = sr_order_read(order);

	sr_spi_begin(work);

	/* one call at a time per order_ref; the lock lasts until commit */
	sr_lock_order(o->order_ref);

	/* idempotency: the first allocation of this order_ref stands */
	out = replay_decision(o->order_ref, o);
	if (out == NULL)
	{
		StringInfoData b;

		/* plan and reserve; re-plan when a concurrent order took the stock */
		plan = sr_allocate_plan(o, "", &reservations, &attempt);

		/* the result: the plan, its reservations and the number of attempts */
		initStringInfo(&b);
		appendStringInfo(&b, "{\"attempts\":%d,\"reservations\":", attempt);
		(void) JsonbToCString(&b, &reservations->root, VARSIZE(reservations));
		if (plan->preempted != NULL)
		{
			appendStringInfoString(&b, ",\"preempted\":");
			(void) JsonbToCString(&b, &plan->preempted->root, VARSIZE(plan->preempted));
		}
		appendStringInfoChar(&b, '}');
		out = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(sr_plan_json(plan)),
												 JsonbPGetDatum(sr_json_to_jsonb(&b))));
		record_allocation(order, plan, out);
	}

	out = sr_spi_end_jsonb(out, caller, work);
	PG_RETURN_JSONB_P(out);
}
