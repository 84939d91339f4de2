/*
 * replace.c — units of an order placed again by the routing core:
 * fill_backorders() (open backorders, by priority then age) and
 * shortfall_reroute() (the held units a short stock row or lot gives up,
 * called by reconcile()).
 *
 * Both route the units as plan() would route them on the stock as it is: the
 * order of the order_ref's allocate decision, as the order reader reads it,
 * with only the lines being placed and their units (each line keeps its lot
 * requirements; the order keeps its customer and rules, destination,
 * profile and options, allow_partial and ship_complete included), through
 * the one routing core (src/route.c), then reserve the plan
 * (src/allocate.c).  An order on file only as holds made with reserve() has
 * no destination: the node it was held at stands for it, and partial fills
 * are allowed.  What finds no node stays (or goes) to backorder.
 *
 * Neither ever waits for a row lock: a backorder another transaction is
 * working on is skipped (SKIP LOCKED), and a plan whose stock rows or lots
 * another transaction holds is not reserved (NOWAIT): it stays open for the
 * next call.  So they can run while their caller holds stock rows out of
 * canonical order (reconcile() holds the short row; a receipt's transaction
 * holds the rows it received into).
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
#include "json.h"
#include "inputs.h"
#include "order.h"
#include "prepared.h"
#include "route.h"
#include "subxact.h"

static SPIPlanPtr plan_fill_select = NULL;
static SPIPlanPtr plan_fill_lock = NULL;
static SPIPlanPtr plan_fill_done = NULL;
static SPIPlanPtr plan_repromise = NULL;
static SPIPlanPtr plan_holds = NULL;
static SPIPlanPtr plan_free = NULL;
static SPIPlanPtr plan_short_done = NULL;

/* the open backorders to try, by priority then age */
#define FILL_SELECT_SQL \
	"SELECT x.backorder_id, x.order_ref FROM stockroute.backorder x" \
	" WHERE x.status = 'open' AND ($1::text[] IS NULL OR x.sku = ANY ($1))" \
	"   AND EXISTS (SELECT 1 FROM stockroute.stock s JOIN stockroute.node n ON n.node_id = s.node_id" \
	"                WHERE s.sku = x.sku AND s.available > 0 AND n.status = 'active' AND NOT n.stale)" \
	" ORDER BY x.priority DESC, x.created_at, x.backorder_id" \
	" LIMIT $2"

/* one order's open backorders among them, those no other transaction holds */
#define FILL_LOCK_SQL \
	"SELECT x.backorder_id::text, x.line_ref, x.sku, x.qty, x.order_doc," \
	"       pg_catalog.gen_random_uuid()::text" \
	"  FROM stockroute.backorder x" \
	" WHERE x.backorder_id = ANY ($1::uuid[]) AND x.status = 'open'" \
	" ORDER BY x.priority DESC, x.created_at, x.backorder_id" \
	"   FOR UPDATE SKIP LOCKED"

/*
 * a backorder line placed (in part): the backorder allocated or what is left
 * of it, an outbox message with its reservations, a decision of kind reroute
 */
#define FILL_DONE_SQL \
	"WITH h AS (" \
	"  SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(r)" \
	"                  ORDER BY r.node_id, r.sku, r.lot_code), '[]') AS reservations" \
	"    FROM stockroute.reservation r" \
	"   WHERE r.order_ref = $2 AND r.line_ref = $3" \
	"     AND pg_catalog.right(r.idempotency_key, pg_catalog.length($7)) = $7)," \
	" u AS (" \
	"  UPDATE stockroute.backorder x" \
	"     SET status = CASE WHEN $6 >= x.qty THEN 'allocated' ELSE x.status END," \
	"         qty = CASE WHEN $6 >= x.qty THEN x.qty ELSE x.qty - $6 END," \
	"         updated_at = pg_catalog.now()" \
	"   WHERE x.backorder_id = $1::uuid" \
	"  RETURNING 1)," \
	" o AS (" \
	"  INSERT INTO stockroute.outbox (topic, order_ref, payload)" \
	"  SELECT 'backorder', $2, pg_catalog.jsonb_build_object(" \
	"           'backorder_id', $1::uuid, 'order_ref', $2, 'line_ref', $3, 'sku', $4," \
	"           'placed', $6, 'left', greatest($5 - $6, 0), 'reservations', h.reservations)" \
	"    FROM h" \
	"  RETURNING 1)" \
	"INSERT INTO stockroute.decision (order_ref, kind, profile_name, profile_version, input, output, solver)" \
	"SELECT $2, 'reroute', $9, $10," \
	"       pg_catalog.jsonb_build_object('reason', 'backorder', 'backorder_id', $1::uuid," \
	"                                     'sku', $4, 'line_ref', $3, 'qty', $5)," \
	"       pg_catalog.jsonb_build_object('placed', $6, 'reservations', h.reservations," \
	"                                     'method', 'plan', 'plan', $8)," \
	"       $11" \
	"  FROM h, (SELECT pg_catalog.count(*) FROM u) uu, (SELECT pg_catalog.count(*) FROM o) oo"

/* the held reservations of a short stock row (lot_code NULL) or lot, newest first */
#define HOLDS_SQL \
	"SELECT r.reservation_id::text, r.order_ref, r.line_ref, r.qty" \
	"  FROM stockroute.reservation r" \
	" WHERE r.node_id = $1 AND r.sku = $2 AND r.status = 'held'" \
	"   AND ($3::text IS NULL OR r.lot_code = $3)" \
	" ORDER BY r.created_at DESC, r.reservation_id DESC"

/* a hold gives up qty units: released whole, or reduced */
#define FREE_SQL \
	"UPDATE stockroute.reservation r" \
	"   SET status = CASE WHEN $3 >= r.qty THEN 'released' ELSE r.status END," \
	"       qty = CASE WHEN $3 >= r.qty THEN r.qty ELSE r.qty - $3 END" \
	" WHERE r.sku = $1 AND r.reservation_id = $2::uuid AND r.status = 'held'"

/*
 * a hold of a short row moved: what was not placed backordered (with the
 * order), told through the outbox, and a decision of kind reroute
 */
#define SHORT_DONE_SQL \
	"WITH h AS (" \
	"  SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(r)" \
	"                  ORDER BY r.node_id, r.sku, r.lot_code), '[]') AS reservations" \
	"    FROM stockroute.reservation r" \
	"   WHERE r.order_ref = $1 AND r.line_ref = $2" \
	"     AND pg_catalog.right(r.idempotency_key, pg_catalog.length($11)) = $11)," \
	" b AS (" \
	"  INSERT INTO stockroute.backorder AS b (order_ref, line_ref, sku, qty, order_doc)" \
	"  SELECT $1, $2, $4, $7 - $8, $9 WHERE $7 > $8" \
	"  ON CONFLICT (order_ref, line_ref) WHERE status = 'open'" \
	"  DO UPDATE SET qty = b.qty + EXCLUDED.qty, updated_at = pg_catalog.now()" \
	"  RETURNING b.backorder_id, b.qty)," \
	" o AS (" \
	"  INSERT INTO stockroute.outbox (topic, order_ref, node_id, payload)" \
	"  SELECT 'backorder', $1, $3," \
	"         pg_catalog.jsonb_build_object('backorder_id', b.backorder_id, 'order_ref', $1," \
	"                                       'line_ref', $2, 'sku', $4, 'qty', b.qty, 'reason', 'shortfall')" \
	"         || CASE WHEN $5::text IS NOT NULL THEN pg_catalog.jsonb_build_object('lot_code', $5)" \
	"                 ELSE '{}' END" \
	"    FROM b" \
	"  RETURNING 1)" \
	"INSERT INTO stockroute.decision (order_ref, kind, profile_name, profile_version, input, output, solver)" \
	"SELECT $1, 'reroute', $13, $14," \
	"       pg_catalog.jsonb_build_object('reason', 'shortfall', 'node_id', $3, 'sku', $4," \
	"                                     'line_ref', $2, 'qty', $7, 'on_hand', $6[1], 'reserved', $6[2])" \
	"       || CASE WHEN $5::text IS NOT NULL THEN pg_catalog.jsonb_build_object('lot_code', $5)" \
	"               ELSE '{}' END," \
	"       pg_catalog.jsonb_build_object('placed', $8, 'reservations', h.reservations," \
	"                                     'method', 'plan', 'plan', $10, 'backordered', $7 - $8)," \
	"       $12" \
	"  FROM h, (SELECT pg_catalog.count(*) FROM o) oo"

/* ---------------------------------------------------------------- placing */

typedef struct Placement
{
	Jsonb	   *doc;			/* the order it was routed as */
	int			nlines;
	char	  **line_refs;
	char	  **skus;
	int64	   *qty;
	const char *key_suffix;
	/* out */
	SrPlan	   *plan;			/* NULL: nothing placed */
	int64	   *placed;			/* per line */
} Placement;

static void
place_fn(void *arg)
{
	Placement  *pl = arg;
	SrRouteRequest rq = {.read_only = false};
	SrOrder    *o = sr_order_read(pl->doc);
	SrPlan	   *p;
	int			i;

	sr_order_keep_lines(o, pl->nlines, pl->line_refs, pl->skus, pl->qty);
	p = sr_route(o, &rq);
	if (!sr_plan_ships(p) || sr_reserve_plan(o->order_ref, p, pl->key_suffix, true) == NULL)
		return;
	pl->plan = p;
	for (i = 0; i < pl->nlines; i++)
		pl->placed[i] = pl->qty[i] - p->left[i];
}

/*
 * Route and reserve some lines of an order (see the file's comment).  Never
 * fails for the order's sake: an order that no longer plans (its SKU,
 * profile or node was deleted, its destination is now refused) places
 * nothing and stays backordered; only cancellation and shutdown propagate.
 */
static void
place(Placement *pl)
{
	ErrorData  *edata;

	pl->plan = NULL;
	pl->placed = palloc0(sizeof(int64) * (pl->nlines > 0 ? pl->nlines : 1));
	if (sr_subxact(place_fn, pl, &edata))
		return;
	FreeErrorData(edata);
	pl->plan = NULL;
	memset(pl->placed, 0, sizeof(int64) * pl->nlines);
}

/*
 * The end of one order's (or hold's) work in the loops below.  Each item
 * runs in an SPI connection of its own (sr_spi_begin(per)): SPI calls return
 * in SPI's procedure context, so what the routing and the statements
 * allocate for one item lives there and goes with this SPI_finish, and what
 * was allocated in `per` before the first call goes with the reset.
 */
static void
end_item(MemoryContext per)
{
	SPI_finish();
	MemoryContextReset(per);
}

/* ---------------------------------------------------------------- fill_backorders() */

PG_FUNCTION_INFO_V1(stockroute_fill_backorders);
Datum
stockroute_fill_backorders(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	MemoryContext per;
	Datum		args[11];
	char		nulls[11];
	int32		max_backorders = PG_ARGISNULL(1) ? 1000 : PG_GETARG_INT32(1);
	int			n;
	int			i;
	char	  **ids;
	char	  **refs;
	bool	   *done;
	int64		filled = 0;
	int64		units = 0;
	StringInfoData b;
	Jsonb	   *out;

	if (max_backorders < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_backorders must not be negative, got %d", max_backorders)));
	work = AllocSetContextCreate(caller, "stockroute fill_backorders", ALLOCSET_DEFAULT_SIZES);
	per = AllocSetContextCreate(work, "stockroute fill_backorders order", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	sr_spi_begin(work);
	if (plan_fill_select == NULL)
	{
		Oid			t_sel[2] = {TEXTARRAYOID, INT4OID};
		Oid			t_lock[1] = {TEXTARRAYOID};
		Oid			t_done[11] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID, TEXTOID,
		JSONBOID, TEXTOID, INT4OID, JSONBOID};
		Oid			t_rep[1] = {TEXTARRAYOID};

		plan_fill_select = sr_prepare_kept(FILL_SELECT_SQL, 2, t_sel);
		plan_fill_lock = sr_prepare_kept(FILL_LOCK_SQL, 1, t_lock);
		plan_fill_done = sr_prepare_kept(FILL_DONE_SQL, 11, t_done);
		plan_repromise = sr_prepare_kept("SELECT stockroute.repromise($1)", 1, t_rep);
	}

	memset(nulls, ' ', sizeof(nulls));
	args[0] = PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0);
	nulls[0] = PG_ARGISNULL(0) ? 'n' : ' ';
	args[1] = Int32GetDatum(max_backorders);
	if (SPI_execute_plan(plan_fill_select, args, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: backorder lookup failed");
	n = (int) SPI_processed;
	ids = palloc(sizeof(char *) * (n > 0 ? n : 1));
	refs = palloc(sizeof(char *) * (n > 0 ? n : 1));
	done = palloc0(sizeof(bool) * (n > 0 ? n : 1));
	for (i = 0; i < n; i++)
	{
		ids[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		refs[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
	}

	/* order by order, in the order of each one's first backorder */
	for (i = 0; i < n; i++)
	{
		SrArray		oids;
		Placement	pl;
		char	  **bids;
		int			k;

		if (done[i])
			continue;
		CHECK_FOR_INTERRUPTS();
		sr_spi_begin(per);
		sr_array_init(&oids, 4);
		for (k = i; k < n; k++)
			if (!done[k] && strcmp(refs[k], refs[i]) == 0)
			{
				sr_array_text(&oids, ids[k]);
				done[k] = true;
			}
		args[0] = sr_array_get(&oids, TEXTOID);
		if (SPI_execute_plan(plan_fill_lock, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "stockroute: backorder lock failed");
		if (SPI_processed == 0)
		{
			end_item(per);
			continue;			/* another transaction is on it */
		}
		pl.nlines = (int) SPI_processed;
		bids = palloc(sizeof(char *) * pl.nlines);
		pl.line_refs = palloc(sizeof(char *) * pl.nlines);
		pl.skus = palloc(sizeof(char *) * pl.nlines);
		pl.qty = palloc(sizeof(int64) * pl.nlines);
		for (k = 0; k < pl.nlines; k++)
		{
			HeapTuple	t = SPI_tuptable->vals[k];
			TupleDesc	d = SPI_tuptable->tupdesc;
			bool		isnull;

			bids[k] = SPI_getvalue(t, d, 1);
			pl.line_refs[k] = SPI_getvalue(t, d, 2);
			pl.skus[k] = SPI_getvalue(t, d, 3);
			pl.qty[k] = DatumGetInt64(SPI_getbinval(t, d, 4, &isnull));
			if (k == 0)
			{
				pl.doc = DatumGetJsonbPCopy(SPI_getbinval(t, d, 5, &isnull));
				pl.key_suffix = psprintf(":fill:%s", SPI_getvalue(t, d, 6));
			}
		}

		place(&pl);
		if (pl.plan != NULL)
		{
			Jsonb	   *plan_doc = sr_plan_json(pl.plan);
			Jsonb	   *solver = sr_plan_solver_json(pl.plan);

			filled++;
			for (k = 0; k < pl.nlines; k++)
			{
				if (pl.placed[k] == 0)
					continue;
				units += pl.placed[k];
				args[0] = CStringGetTextDatum(bids[k]);
				args[1] = CStringGetTextDatum(pl.plan->order->order_ref);
				args[2] = CStringGetTextDatum(pl.line_refs[k]);
				args[3] = CStringGetTextDatum(pl.skus[k]);
				args[4] = Int64GetDatum(pl.qty[k]);
				args[5] = Int64GetDatum(pl.placed[k]);
				args[6] = CStringGetTextDatum(pl.key_suffix);
				args[7] = JsonbPGetDatum(plan_doc);
				args[8] = CStringGetTextDatum(pl.plan->prof.name);
				args[9] = Int32GetDatum(pl.plan->prof.version);
				args[10] = JsonbPGetDatum(solver);
				if (SPI_execute_plan(plan_fill_done, args, NULL, false, 0) != SPI_OK_INSERT)
					elog(ERROR, "stockroute: recording a filled backorder failed");
			}
		}
		end_item(per);
	}

	/* what is left open moves up in the queue */
	args[0] = PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0);
	if (SPI_execute_plan(plan_repromise, args, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: repromise failed");

	initStringInfo(&b);
	appendStringInfo(&b, "{\"filled\":" INT64_FORMAT ",\"units\":" INT64_FORMAT "}", filled, units);
	out = sr_json_to_jsonb(&b);
	out = sr_spi_end_jsonb(out, caller, work);
	PG_RETURN_JSONB_P(out);
}

/* ---------------------------------------------------------------- shortfall_reroute() */

PG_FUNCTION_INFO_V1(stockroute_shortfall_reroute);
Datum
stockroute_shortfall_reroute(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	MemoryContext per;
	char	   *node_id = sr_required_text_arg(fcinfo, 0, "node_id");
	char	   *sku = sr_required_text_arg(fcinfo, 1, "sku");
	char	   *lot_code = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	int64		excess = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT64(3);
	int64		on_hand = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT64(4);
	int64		reserved = PG_ARGISNULL(5) ? 0 : PG_GETARG_INT64(5);
	Datum		args[14];
	char		nulls[14];
	int			nholds;
	char	  **hold_ids;
	char	  **hold_refs;
	char	  **hold_lines;
	int64	   *hold_qty;
	int64		u_rerouted = 0;
	int64		u_backordered = 0;
	SrArray		counts;
	Datum		counts_d;
	int			h;
	StringInfoData b;
	Jsonb	   *out;

	work = AllocSetContextCreate(caller, "stockroute shortfall_reroute", ALLOCSET_DEFAULT_SIZES);
	per = AllocSetContextCreate(work, "stockroute shortfall_reroute hold", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	sr_spi_begin(work);
	if (plan_holds == NULL)
	{
		Oid			t_holds[3] = {TEXTOID, TEXTOID, TEXTOID};
		Oid			t_free[3] = {TEXTOID, TEXTOID, INT8OID};
		Oid			t_done[14] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8ARRAYOID,
			INT8OID, INT8OID, JSONBOID, JSONBOID, TEXTOID, JSONBOID, TEXTOID, INT4OID};

		plan_holds = sr_prepare_kept(HOLDS_SQL, 3, t_holds);
		plan_free = sr_prepare_kept(FREE_SQL, 3, t_free);
		plan_short_done = sr_prepare_kept(SHORT_DONE_SQL, 14, t_done);
	}

	memset(nulls, ' ', sizeof(nulls));
	args[0] = CStringGetTextDatum(node_id);
	args[1] = CStringGetTextDatum(sku);
	args[2] = lot_code ? CStringGetTextDatum(lot_code) : (Datum) 0;
	nulls[2] = lot_code ? ' ' : 'n';
	if (SPI_execute_plan(plan_holds, args, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: hold lookup failed");
	nholds = (int) SPI_processed;
	hold_ids = palloc(sizeof(char *) * (nholds > 0 ? nholds : 1));
	hold_refs = palloc(sizeof(char *) * (nholds > 0 ? nholds : 1));
	hold_lines = palloc(sizeof(char *) * (nholds > 0 ? nholds : 1));
	hold_qty = palloc(sizeof(int64) * (nholds > 0 ? nholds : 1));
	for (h = 0; h < nholds; h++)
	{
		HeapTuple	t = SPI_tuptable->vals[h];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;

		hold_ids[h] = SPI_getvalue(t, d, 1);
		hold_refs[h] = SPI_getvalue(t, d, 2);
		hold_lines[h] = SPI_getvalue(t, d, 3);
		hold_qty[h] = DatumGetInt64(SPI_getbinval(t, d, 4, &isnull));
	}
	sr_array_init(&counts, 2);
	sr_array_int8(&counts, on_hand);
	sr_array_int8(&counts, reserved);
	counts_d = sr_array_get(&counts, INT8OID);

	/* the newest holds give up the excess; each hold's units are placed again */
	for (h = 0; h < nholds && excess > 0; h++)
	{
		int64		take = Min(hold_qty[h], excess);
		Placement	pl;
		Jsonb	   *plan_doc = NULL;
		Jsonb	   *solver = NULL;

		CHECK_FOR_INTERRUPTS();
		sr_spi_begin(per);
		args[0] = CStringGetTextDatum(sku);
		args[1] = CStringGetTextDatum(hold_ids[h]);
		args[2] = Int64GetDatum(take);
		if (SPI_execute_plan(plan_free, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "stockroute: freeing a hold failed");
		if (SPI_processed == 0)
		{
			end_item(per);
			continue;			/* no longer held */
		}
		excess -= take;

		pl.doc = sr_order_to_replace(hold_refs[h], node_id, 1, &hold_lines[h], &sku, &take);
		pl.nlines = 1;
		pl.line_refs = &hold_lines[h];
		pl.skus = &sku;
		pl.qty = &take;
		pl.key_suffix = psprintf(":reroute:%s", hold_ids[h]);
		if (pl.doc != NULL)
			place(&pl);
		else
		{
			pl.plan = NULL;
			pl.placed = palloc0(sizeof(int64));
		}
		if (pl.plan != NULL)
		{
			plan_doc = sr_plan_json(pl.plan);
			solver = sr_plan_solver_json(pl.plan);
		}
		u_rerouted += pl.placed[0];
		u_backordered += take - pl.placed[0];

		args[0] = CStringGetTextDatum(hold_refs[h]);
		args[1] = CStringGetTextDatum(hold_lines[h]);
		args[2] = CStringGetTextDatum(node_id);
		args[3] = CStringGetTextDatum(sku);
		args[4] = lot_code ? CStringGetTextDatum(lot_code) : (Datum) 0;
		nulls[4] = lot_code ? ' ' : 'n';
		args[5] = counts_d;
		args[6] = Int64GetDatum(take);
		args[7] = Int64GetDatum(pl.placed[0]);
		if (pl.doc != NULL)
			args[8] = JsonbPGetDatum(pl.doc);
		else
		{
			initStringInfo(&b);
			appendStringInfoString(&b, "{\"order_ref\":");
			escape_json(&b, hold_refs[h]);
			appendStringInfoChar(&b, '}');
			args[8] = JsonbPGetDatum(sr_json_to_jsonb(&b));
		}
		args[9] = plan_doc ? JsonbPGetDatum(plan_doc) : (Datum) 0;
		nulls[9] = plan_doc ? ' ' : 'n';
		args[10] = CStringGetTextDatum(pl.key_suffix);
		args[11] = solver ? JsonbPGetDatum(solver) : (Datum) 0;
		nulls[11] = solver ? ' ' : 'n';
		args[12] = pl.plan ? CStringGetTextDatum(pl.plan->prof.name) : (Datum) 0;
		nulls[12] = pl.plan ? ' ' : 'n';
		args[13] = pl.plan ? Int32GetDatum(pl.plan->prof.version) : (Datum) 0;
		nulls[13] = pl.plan ? ' ' : 'n';
		if (SPI_execute_plan(plan_short_done, args, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "stockroute: recording a shortfall move failed");
		end_item(per);
	}

	initStringInfo(&b);
	appendStringInfo(&b, "{\"rerouted\":" INT64_FORMAT ",\"backordered\":" INT64_FORMAT "}",
					 u_rerouted, u_backordered);
	out = sr_json_to_jsonb(&b);
	out = sr_spi_end_jsonb(out, caller, work);
	PG_RETURN_JSONB_P(out);
}
