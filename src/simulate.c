/*
 * simulate.c — simulate(orders, profile, plans) and replay(from, to,
 * profile, plans): allocate()'s routing over a batch of orders, one after
 * the other, with nothing written, and the KPIs of the result.
 *
 * Each order is routed by the routing core allocate() uses (src/route.c),
 * through a stock view (src/stockview.c): the stock as it is minus the units
 * the earlier orders of the batch took, and the orders and units they gave
 * each node with a daily limit added to the load the capacity rules read, as
 * the reservation trigger would have counted them.  allocate() reserves
 * exactly the shipments of its plan, so these are the plans allocate() would
 * make for the same orders in the same sequence with no other traffic.  Not
 * modelled: preemption and concurrent orders.  Nothing is reserved, not even
 * in a subtransaction that is rolled back: no row is written or locked, no
 * transaction id assigned, no NOTIFY sent, and it runs on a hot standby.
 * Thousands of rolled-back reservations would have left dead rows, and held
 * stock rows locked against live orders for the length of the run.
 *
 * replay() feeds the allocate() decisions recorded in a time window through
 * the same path, under another profile (or each its own at its current
 * version), against today's stock with the replayed orders' own active
 * reservations given back, and reports the recorded and replayed KPIs side
 * by side.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "errcodes.h"
#include "guc.h"
#include "json.h"
#include "order.h"
#include "prepared.h"
#include "route.h"
#include "stockview.h"
#include "subxact.h"

/* ---------------------------------------------------------------- KPIs */

typedef struct NodeLoad
{
	const char *node_id;
	uint32		hash;
	char		status;
	int64		shipments;
	int64		units;
	double		cost;
} NodeLoad;

#define SH_PREFIX nodeload
#define SH_ELEMENT_TYPE NodeLoad
#define SH_KEY_TYPE const char *
#define SH_KEY node_id
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) (k), strlen(k))
#define SH_EQUAL(tb, a, b) (strcmp((a), (b)) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

typedef struct Kpi
{
	MemoryContext cxt;
	int64		orders;
	int64		complete;
	int64		partial;
	int64		unfillable;
	int64		units_requested;
	int64		units_filled;
	double		cost;
	int64		shipments;
	int64		orders_shipped;
	int64		orders_split;
	double	   *days;			/* per shipped order: its slowest shipment */
	int64		ndays;
	int64		maxdays;
	nodeload_hash *nodes;
} Kpi;

static void
kpi_init(Kpi *k)
{
	memset(k, 0, sizeof(*k));
	k->cxt = CurrentMemoryContext;
	k->maxdays = 256;
	k->days = palloc(sizeof(double) * k->maxdays);
	k->nodes = nodeload_create(k->cxt, 64, NULL);
}

/*
 * What the KPIs take of one plan: its status, cost, shipments and unfilled
 * units.  A plan routed now gives it from its structs; a recorded decision
 * (replay) from its stored document.
 */
typedef struct ShipSummary
{
	const char *node_id;
	int64		units;
	double		days;
	double		cost;
} ShipSummary;

typedef struct PlanSummary
{
	SrStatus	status;
	double		cost;
	int			nship;
	ShipSummary *ship;
	int64		unfilled;
} PlanSummary;

/*
 * The plan in brief, in the current memory context: a copy of what it
 * keeps, since the plan itself goes with its SPI connection.
 */
static void
summary_of_plan(const SrPlan *p, PlanSummary *ps)
{
	int			i;

	ps->status = p->res.status;
	ps->cost = p->total_cost;
	ps->unfilled = sr_plan_unfilled_units(p);
	ps->nship = 0;
	ps->ship = palloc(sizeof(ShipSummary) * (p->nship > 0 ? p->nship : 1));
	for (i = 0; i < p->nship;)
	{
		SrShipment	s;
		const SrNetNode *nd = &p->net.nodes[p->ship[i].node];
		ShipSummary *ss = &ps->ship[ps->nship++];

		i = sr_plan_shipment(p, i, &s);
		ss->node_id = pstrdup(nd->node_id);
		ss->units = s.units;
		ss->days = nd->days;
		ss->cost = s.cost;
	}
}

static double
get_number(JsonbContainer *obj, const char *key)
{
	JsonbValue	vbuf;
	JsonbValue *v = sr_jsonb_get(obj, key, &vbuf);

	return (v != NULL && v->type == jbvNumeric) ? sr_jsonb_double(v) : 0.0;
}

/* units of the lines of a shipment, or of an unfilled array */
static int64
sum_qty(JsonbValue *arr)
{
	int64		n = 0;
	int			i;

	if (arr == NULL || !sr_jsonb_is_array(arr))
		return 0;
	for (i = 0; i < (int) JsonContainerSize(arr->val.binary.data); i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr->val.binary.data, i);

		if (sr_jsonb_is_object(e))
			n += (int64) get_number(e->val.binary.data, "qty");
	}
	return n;
}

/* a recorded decision's output document */
static void
summary_of_doc(Jsonb *plan, PlanSummary *ps)
{
	JsonbValue	vbuf;
	JsonbValue *v;
	JsonbValue *sh;
	int			i;

	v = sr_jsonb_get(&plan->root, "status", &vbuf);
	ps->status = SR_UNFILLABLE;
	if (v != NULL && v->type == jbvString)
	{
		if (v->val.string.len == 8 && strncmp(v->val.string.val, "complete", 8) == 0)
			ps->status = SR_COMPLETE;
		else if (v->val.string.len == 7 && strncmp(v->val.string.val, "partial", 7) == 0)
			ps->status = SR_PARTIAL;
	}
	ps->cost = get_number(&plan->root, "cost");
	ps->unfilled = sum_qty(sr_jsonb_get(&plan->root, "unfilled", &vbuf));
	ps->nship = 0;
	ps->ship = NULL;
	sh = sr_jsonb_get(&plan->root, "shipments", &vbuf);
	if (sh == NULL || !sr_jsonb_is_array(sh))
		return;
	ps->ship = palloc(sizeof(ShipSummary) * (JsonContainerSize(sh->val.binary.data) + 1));
	for (i = 0; i < (int) JsonContainerSize(sh->val.binary.data); i++)
	{
		JsonbValue *s = getIthJsonbValueFromContainer(sh->val.binary.data, i);
		JsonbValue	b1,
					b2;
		JsonbValue *node = sr_jsonb_get(s->val.binary.data, "node_id", &b1);
		ShipSummary *ss = &ps->ship[ps->nship++];

		ss->node_id = sr_jsonb_string(node);
		ss->units = sum_qty(sr_jsonb_get(s->val.binary.data, "lines", &b2));
		ss->days = get_number(s->val.binary.data, "days");
		ss->cost = get_number(s->val.binary.data, "cost");
	}
}

static void
kpi_add(Kpi *k, const PlanSummary *ps)
{
	double		maxd = 0.0;
	int64		filled = 0;
	int			i;

	k->orders++;
	if (ps->status == SR_COMPLETE)
		k->complete++;
	else if (ps->status == SR_PARTIAL)
		k->partial++;
	else
		k->unfillable++;
	k->cost += ps->cost;
	for (i = 0; i < ps->nship; i++)
	{
		const ShipSummary *ss = &ps->ship[i];
		NodeLoad   *nl;
		bool		found;

		filled += ss->units;
		if (ss->days > maxd)
			maxd = ss->days;
		nl = nodeload_insert(k->nodes, ss->node_id, &found);
		if (!found)
		{
			nl->node_id = MemoryContextStrdup(k->cxt, ss->node_id);
			nl->shipments = 0;
			nl->units = 0;
			nl->cost = 0.0;
		}
		nl->shipments++;
		nl->units += ss->units;
		nl->cost += ss->cost;
	}
	k->units_filled += filled;
	k->units_requested += filled + ps->unfilled;
	k->shipments += ps->nship;
	if (ps->nship > 0)
	{
		k->orders_shipped++;
		if (ps->nship > 1)
			k->orders_split++;
		if (k->ndays == k->maxdays)
		{
			k->maxdays *= 2;
			k->days = repalloc_huge(k->days, sizeof(double) * k->maxdays);
		}
		k->days[k->ndays++] = maxd;
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

static int
cmp_nodeload(const void *a, const void *b)
{
	return strcmp((*(NodeLoad *const *) a)->node_id, (*(NodeLoad *const *) b)->node_id);
}

/* the KPIs as numbers (NaN: undefined, e.g. a rate over no orders) */
typedef struct KpiFigures
{
	double		fill_rate;
	double		cost_per_order;
	double		cost_per_unit;
	double		shipments_per_order;
	double		split_rate;
	double		days_mean;
	double		days_p95;
} KpiFigures;

static void
kpi_figures(Kpi *k, KpiFigures *f)
{
	double		sum = 0.0;
	int64		i;

	f->fill_rate = k->units_requested > 0 ? (double) k->units_filled / k->units_requested : NAN;
	f->cost_per_order = k->orders_shipped > 0 ? k->cost / k->orders_shipped : NAN;
	f->cost_per_unit = k->units_filled > 0 ? k->cost / k->units_filled : NAN;
	f->shipments_per_order = k->orders_shipped > 0 ? (double) k->shipments / k->orders_shipped : NAN;
	f->split_rate = k->orders_shipped > 0 ? (double) k->orders_split / k->orders_shipped : NAN;
	f->days_mean = NAN;
	f->days_p95 = NAN;
	if (k->ndays > 0)
	{
		for (i = 0; i < k->ndays; i++)
			sum += k->days[i];
		f->days_mean = sum / k->ndays;
		qsort(k->days, k->ndays, sizeof(double), cmp_double);
		/* nearest rank */
		f->days_p95 = k->days[(int64) ceil(0.95 * k->ndays) - 1];
	}
}

static void
json_num(StringInfo b, bool *first, const char *key, double v)
{
	sr_json_key(b, first, key);
	if (isnan(v))
		appendStringInfoString(b, "null");
	else
		sr_json_number(b, v);
}

static void
json_int(StringInfo b, bool *first, const char *key, int64 v)
{
	sr_json_key(b, first, key);
	appendStringInfo(b, INT64_FORMAT, v);
}

/* the KPI keys, into an object being written (no braces) */
static void
kpi_json(StringInfo b, bool *first, Kpi *k)
{
	KpiFigures f;
	NodeLoad  **nodes;
	nodeload_iterator it;
	NodeLoad   *nl;
	int			n = 0;
	int			i;

	kpi_figures(k, &f);
	json_int(b, first, "orders", k->orders);
	json_int(b, first, "complete", k->complete);
	json_int(b, first, "partial", k->partial);
	json_int(b, first, "unfillable", k->unfillable);
	json_int(b, first, "units_requested", k->units_requested);
	json_int(b, first, "units_filled", k->units_filled);
	json_num(b, first, "fill_rate", f.fill_rate);
	json_num(b, first, "cost", k->cost);
	json_num(b, first, "cost_per_order", f.cost_per_order);
	json_num(b, first, "cost_per_unit", f.cost_per_unit);
	json_int(b, first, "shipments", k->shipments);
	json_num(b, first, "shipments_per_order", f.shipments_per_order);
	json_num(b, first, "split_rate", f.split_rate);
	json_num(b, first, "days_mean", f.days_mean);
	json_num(b, first, "days_p95", f.days_p95);

	nodes = palloc(sizeof(NodeLoad *) * (k->nodes->members > 0 ? k->nodes->members : 1));
	nodeload_start_iterate(k->nodes, &it);
	while ((nl = nodeload_iterate(k->nodes, &it)) != NULL)
		nodes[n++] = nl;
	qsort(nodes, n, sizeof(NodeLoad *), cmp_nodeload);
	sr_json_key(b, first, "nodes");
	appendStringInfoChar(b, '[');
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(b, ',');
		appendStringInfoString(b, "{\"node_id\":");
		escape_json(b, nodes[i]->node_id);
		appendStringInfo(b, ",\"shipments\":" INT64_FORMAT ",\"units\":" INT64_FORMAT ",\"cost\":",
						 nodes[i]->shipments, nodes[i]->units);
		sr_json_number(b, nodes[i]->cost);
		appendStringInfoChar(b, '}');
	}
	appendStringInfoChar(b, ']');
}

/* ---------------------------------------------------------------- helpers */

static SPIPlanPtr plan_profile_exists = NULL;

static void
check_profile(const char *name)
{
	MemoryContext cxt = CurrentMemoryContext;
	Datum		args[1];
	uint64		found;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (plan_profile_exists == NULL)
	{
		Oid			types[1] = {TEXTOID};

		plan_profile_exists = sr_prepare_kept("SELECT 1 FROM stockroute.profile WHERE profile_name = $1",
											  1, types);
	}
	args[0] = CStringGetTextDatum(name);
	if (SPI_execute_plan(plan_profile_exists, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: profile lookup failed");
	found = SPI_processed;
	SPI_finish();
	MemoryContextSwitchTo(cxt);
	if (found == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SR_UNKNOWN_PROFILE),
				 errmsg("profile \"%s\" does not exist", name),
				 errhint("The shipped profiles are default, cheapest, fastest and closest.")));
}

/* {"profile": name}, to put over each order */
static Jsonb *
profile_override(const char *name)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfoString(&b, "{\"profile\":");
	escape_json(&b, name);
	appendStringInfoChar(&b, '}');
	return sr_json_to_jsonb(&b);
}

/*
 * Route one order through the view, in a short SPI connection of its own;
 * take its plan off the view; return it as a summary, and its document
 * (without explain.candidates: one line per node is too much for a batch)
 * in *doc when doc is not NULL.
 */
static void
route_in_view(SrStockView *view, Jsonb *order, PlanSummary *ps, Jsonb **doc)
{
	MemoryContext cxt = CurrentMemoryContext;
	SrRouteRequest rq = {.read_only = true,.view = view};
	SrPlan	   *p;
	int			i;

	sr_spi_begin(cxt);
	p = sr_route(sr_order_read(order), &rq);
	MemoryContextSwitchTo(cxt);
	for (i = 0; i < p->nship; i++)
		sr_view_take(view, p->order->order_ref, p->net.nodes[p->ship[i].node].node_id,
					 p->order->lines[p->ship[i].line].sku, p->ship[i].qty);
	sr_view_end_plan(view);
	summary_of_plan(p, ps);
	if (doc != NULL)
	{
		Datum		path[2];

		path[0] = CStringGetTextDatum("explain");
		path[1] = CStringGetTextDatum("candidates");
		*doc = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete_path, JsonbPGetDatum(sr_plan_json(p)),
												  PointerGetDatum(construct_array(path, 2, TEXTOID, -1,
																				  false, TYPALIGN_INT))));
	}
	SPI_finish();
	MemoryContextSwitchTo(cxt);
}

/* {status, cost, shipments, nodes}: a plan in brief, for replay's side by side */
static void
append_plan_brief(StringInfo b, const PlanSummary *ps)
{
	int			i;

	appendStringInfo(b, "{\"status\":\"%s\",\"cost\":", sr_status_name(ps->status));
	sr_json_number(b, ps->cost);
	appendStringInfo(b, ",\"shipments\":%d,\"nodes\":[", ps->nship);
	for (i = 0; i < ps->nship; i++)
	{
		if (i > 0)
			appendStringInfoChar(b, ',');
		escape_json(b, ps->ship[i].node_id);
	}
	appendStringInfoString(b, "]}");
}

static int64
elapsed_micros(instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	return (int64) INSTR_TIME_GET_MICROSEC(now);
}

/* ---------------------------------------------------------------- simulate() */

/* order_refs already simulated, with their order (allocate() is idempotent per order_ref) */
typedef struct SeenOrder
{
	const char *order_ref;
	uint32		hash;
	char		status;
	Jsonb	   *doc;
} SeenOrder;

#define SH_PREFIX seen
#define SH_ELEMENT_TYPE SeenOrder
#define SH_KEY_TYPE const char *
#define SH_KEY order_ref
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) (k), strlen(k))
#define SH_EQUAL(tb, a, b) (strcmp((a), (b)) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * Route order i of the batch into *ps (and *doc), or return false when its
 * order_ref came earlier with the same order.  Errors name the order:
 * orders[3]: order field "lines" is required.
 */
static bool
simulate_one(SrStockView *view, seen_hash *seen, Jsonb *order, int i, MemoryContext work,
			 char **ref, PlanSummary *ps, Jsonb **doc)
{
	volatile bool routed = false;
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		SeenOrder  *so;

		*ref = sr_order_ref(order);
		so = seen_lookup(seen, *ref);
		if (so == NULL)
		{
			route_in_view(view, order, ps, doc);
			routed = true;
		}
		else if (!DatumGetBool(DirectFunctionCall2(jsonb_eq, JsonbPGetDatum(so->doc),
												   JsonbPGetDatum(sr_order_routing_doc(sr_order_read(order))))))
			ereport(ERROR,
					(errcode(ERRCODE_SR_IDEMPOTENCY_MISMATCH),
					 errmsg("order_ref \"%s\" appears earlier in the batch with a different order", *ref),
					 errdetail("allocate() is idempotent per order_ref: a second call must pass the same order.")));
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(work);
		ed = CopyErrorData();
		if (ed->sqlerrcode == ERRCODE_QUERY_CANCELED || ed->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			PG_RE_THROW();
		FlushErrorState();
		ed->message = psprintf("orders[%d]: %s", i, ed->message);
		ReThrowError(ed);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return routed;
}

PG_FUNCTION_INFO_V1(stockroute_simulate);
Datum
stockroute_simulate(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	MemoryContext per;
	Jsonb	   *orders;
	char	   *profile = NULL;
	Jsonb	   *override = NULL;
	bool		want_plans;
	int			n;
	int			i;
	SrStockView *view;
	Kpi			kpi;
	seen_hash  *seen;
	int64		repeated = 0;
	StringInfoData plans;
	StringInfoData b;
	bool		first = true;
	bool		any_plan = false;
	instr_time	start;
	Jsonb	   *out;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("orders must not be null")));
	orders = PG_GETARG_JSONB_P(0);
	if (!JB_ROOT_IS_ARRAY(orders) || JB_ROOT_IS_SCALAR(orders))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("orders must be a JSON array of orders")));
	n = JB_ROOT_COUNT(orders);
	if (n > stockroute_max_simulate_orders)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("orders has %d elements, more than stockroute.max_simulate_orders (%d)",
						n, stockroute_max_simulate_orders),
				 errhint("Simulate in parts, or raise stockroute.max_simulate_orders.")));
	want_plans = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);

	work = AllocSetContextCreate(caller, "stockroute simulate", ALLOCSET_DEFAULT_SIZES);
	per = AllocSetContextCreate(work, "stockroute simulate order", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	if (!PG_ARGISNULL(1))
	{
		profile = text_to_cstring(PG_GETARG_TEXT_PP(1));
		check_profile(profile);
		override = profile_override(profile);
	}
	view = sr_view_create(true);
	kpi_init(&kpi);
	seen = seen_create(work, 256, NULL);
	initStringInfo(&plans);

	INSTR_TIME_SET_CURRENT(start);
	for (i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(&orders->root, i);
		Jsonb	   *doc;
		Jsonb	   *plan = NULL;
		PlanSummary ps;
		SeenOrder  *so;
		bool		found;
		char	   *ref = NULL;

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(per);
		if (!sr_jsonb_is_object(e))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("orders[%d] must be an object, got %s", i, sr_jsonb_shown(e))));
		doc = JsonbValueToJsonb(e);
		if (override)
			doc = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(doc),
													 JsonbPGetDatum(override)));

		if (!simulate_one(view, seen, doc, i, work, &ref, &ps, want_plans ? &plan : NULL))
		{
			/* the same order again: allocate() would return the first result */
			repeated++;
			MemoryContextReset(per);
			continue;
		}
		so = seen_insert(seen, ref, &found);
		so->order_ref = MemoryContextStrdup(work, ref);
		{
			Jsonb	   *rd = sr_order_routing_doc(sr_order_read(doc));

			so->doc = (Jsonb *) MemoryContextAlloc(work, VARSIZE(rd));
			memcpy(so->doc, rd, VARSIZE(rd));
		}

		kpi_add(&kpi, &ps);
		if (want_plans)
		{
			/* plans lives in work: appending keeps it there */
			if (any_plan)
				appendStringInfoChar(&plans, ',');
			appendStringInfoString(&plans, JsonbToCString(NULL, &plan->root, VARSIZE(plan)));
			any_plan = true;
		}
		MemoryContextReset(per);
	}

	MemoryContextSwitchTo(work);
	initStringInfo(&b);
	appendStringInfoChar(&b, '{');
	kpi_json(&b, &first, &kpi);
	json_int(&b, &first, "repeated", repeated);
	sr_json_key(&b, &first, "profile");
	if (profile)
		escape_json(&b, profile);
	else
		appendStringInfoString(&b, "null");
	json_int(&b, &first, "micros", elapsed_micros(start));
	if (want_plans)
	{
		sr_json_key(&b, &first, "plans");
		appendStringInfoChar(&b, '[');
		appendBinaryStringInfo(&b, plans.data, plans.len);
		appendStringInfoChar(&b, ']');
	}
	appendStringInfoChar(&b, '}');
	out = sr_json_to_jsonb(&b);

	MemoryContextSwitchTo(caller);
	out = DatumGetJsonbPCopy(JsonbPGetDatum(out));
	MemoryContextDelete(work);
	PG_RETURN_JSONB_P(out);
}

/* ---------------------------------------------------------------- replay() */

#define REPLAY_WINDOW \
	"d.kind = 'allocate' AND d.created_at OPERATOR(pg_catalog.>=) $1" \
	" AND d.created_at OPERATOR(pg_catalog.<) $2"

static SPIPlanPtr plan_giveback = NULL;
static SPIPlanPtr plan_decisions = NULL;
static SPIPlanPtr plan_profiles = NULL;

#define MAX_REPLAY_ERRORS 10

/*
 * Route one recorded order, or return false with *err set when it no longer
 * plans (its SKU or profile was deleted since): skipped and named, not
 * fatal.  The subtransaction is read-only, so it gets no transaction id.
 */
typedef struct ReplayArgs
{
	SrStockView *view;
	Jsonb	   *doc;
	PlanSummary *ps;
} ReplayArgs;

static void
replay_fn(void *arg)
{
	ReplayArgs *a = arg;

	route_in_view(a->view, a->doc, a->ps, NULL);
}

static bool
replay_one(SrStockView *view, Jsonb *doc, PlanSummary *ps, ErrorData **err)
{
	ReplayArgs	a;

	a.view = view;
	a.doc = doc;
	a.ps = ps;
	return sr_subxact(replay_fn, &a, err);
}

PG_FUNCTION_INFO_V1(stockroute_replay);
Datum
stockroute_replay(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	MemoryContext batch;
	MemoryContext per;
	TimestampTz from;
	TimestampTz to;
	char	   *profile = NULL;
	Jsonb	   *override = NULL;
	bool		want_plans;
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};
	SrStockView *view;
	Kpi			recorded;
	Kpi			replayed;
	int64		decisions = 0;
	int64		skipped = 0;
	int			nerrors = 0;
	StringInfoData errors;
	StringInfoData orders;
	StringInfoData b;
	Jsonb	   *profiles;
	Portal		portal;
	bool		first = true;
	instr_time	start;
	uint64		i;
	Jsonb	   *out;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"from\" must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"to\" must not be null")));
	from = PG_GETARG_TIMESTAMPTZ(0);
	to = PG_GETARG_TIMESTAMPTZ(1);
	if (from > to)
		ereport(ERROR,
				(errcode(ERRCODE_SR_INVALID_REPLAY_WINDOW),
				 errmsg("replay window is backwards: \"from\" %s is after \"to\" %s",
						pstrdup(timestamptz_to_str(from)), pstrdup(timestamptz_to_str(to))),
				 errhint("replay(from, to) replays the decisions made from \"from\" (included) to \"to\" (excluded).")));
	want_plans = !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);

	work = AllocSetContextCreate(caller, "stockroute replay", ALLOCSET_DEFAULT_SIZES);
	batch = AllocSetContextCreate(work, "stockroute replay batch", ALLOCSET_DEFAULT_SIZES);
	per = AllocSetContextCreate(work, "stockroute replay order", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	if (!PG_ARGISNULL(2))
	{
		profile = text_to_cstring(PG_GETARG_TEXT_PP(2));
		check_profile(profile);
		override = profile_override(profile);
	}
	view = sr_view_create(false);
	kpi_init(&recorded);
	kpi_init(&replayed);
	initStringInfo(&errors);
	initStringInfo(&orders);

	sr_spi_begin(work);
	if (plan_giveback == NULL)
	{
		Oid			types[3] = {TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID};

		/* the stock as it is, with the replayed orders' own active units given back */
		plan_giveback = sr_prepare_kept(
										"SELECT s.node_id, s.sku,"
										"       greatest(s.on_hand - s.reserved - s.safety_stock + a.qty, 0)"
										"  FROM (SELECT r.node_id, r.sku, pg_catalog.sum(r.qty)::bigint AS qty"
										"          FROM stockroute.reservation r"
										"         WHERE r.status IN ('held', 'committed')"
										"           AND r.order_ref IN (SELECT d.order_ref FROM stockroute.decision d"
										"                                WHERE " REPLAY_WINDOW ")"
										"         GROUP BY 1, 2) a"
										"  JOIN stockroute.stock s ON s.node_id = a.node_id AND s.sku = a.sku",
										2, types);
		plan_profiles = sr_prepare_kept(
										"SELECT pg_catalog.jsonb_build_object("
										" 'recorded_profiles', (SELECT coalesce(pg_catalog.jsonb_agg("
										"     pg_catalog.jsonb_build_object('name', x.profile_name, 'version', x.profile_version,"
										"                                   'decisions', x.n)"
										"     ORDER BY x.profile_name, x.profile_version), '[]')"
										"   FROM (SELECT d.profile_name, d.profile_version, pg_catalog.count(*) AS n"
										"           FROM stockroute.decision d WHERE " REPLAY_WINDOW
										"          GROUP BY 1, 2) x),"
										" 'replay_profiles', (SELECT coalesce(pg_catalog.jsonb_agg("
										"     pg_catalog.jsonb_build_object('name', p.profile_name, 'version', p.version)"
										"     ORDER BY p.profile_name), '[]')"
										"   FROM stockroute.profile p"
										"  WHERE p.profile_name = $3"
										"     OR ($3 IS NULL AND p.profile_name IN (SELECT d.profile_name FROM stockroute.decision d"
										"                                            WHERE " REPLAY_WINDOW "))))",
										3, types);
		plan_decisions = sr_prepare_kept(
										 "SELECT d.order_ref, d.input, d.output FROM stockroute.decision d"
										 " WHERE " REPLAY_WINDOW
										 " ORDER BY d.created_at, d.decision_id",
										 2, types);
	}
	args[0] = TimestampTzGetDatum(from);
	args[1] = TimestampTzGetDatum(to);
	args[2] = profile ? CStringGetTextDatum(profile) : (Datum) 0;
	nulls[2] = profile ? ' ' : 'n';

	if (SPI_execute_plan(plan_giveback, args, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: replay stock read failed");
	MemoryContextSwitchTo(work);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		bool		isnull;

		sr_view_set(view, SPI_getvalue(t, SPI_tuptable->tupdesc, 1),
					   SPI_getvalue(t, SPI_tuptable->tupdesc, 2),
					   DatumGetInt64(SPI_getbinval(t, SPI_tuptable->tupdesc, 3, &isnull)));
	}
	SPI_freetuptable(SPI_tuptable);

	if (SPI_execute_plan(plan_profiles, args, nulls, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "stockroute: replay profile read failed");
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		MemoryContextSwitchTo(work);
		profiles = DatumGetJsonbPCopy(d);
	}
	SPI_freetuptable(SPI_tuptable);

	INSTR_TIME_SET_CURRENT(start);
	portal = SPI_cursor_open(NULL, plan_decisions, args, nulls, true);
	for (;;)
	{
		int			nrows;
		char	  **refs;
		Jsonb	  **inputs;
		Jsonb	  **outputs;
		int			r;

		SPI_cursor_fetch(portal, true, 256);
		nrows = (int) SPI_processed;
		if (nrows == 0)
			break;
		MemoryContextReset(batch);
		MemoryContextSwitchTo(batch);
		refs = palloc(sizeof(char *) * nrows);
		inputs = palloc(sizeof(Jsonb *) * nrows);
		outputs = palloc(sizeof(Jsonb *) * nrows);
		for (r = 0; r < nrows; r++)
		{
			HeapTuple	t = SPI_tuptable->vals[r];
			bool		isnull;

			refs[r] = SPI_getvalue(t, SPI_tuptable->tupdesc, 1);
			inputs[r] = DatumGetJsonbPCopy(SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &isnull));
			outputs[r] = DatumGetJsonbPCopy(SPI_getbinval(t, SPI_tuptable->tupdesc, 3, &isnull));
		}
		SPI_freetuptable(SPI_tuptable);

		for (r = 0; r < nrows; r++)
		{
			Jsonb	   *doc = inputs[r];
			PlanSummary ps;
			PlanSummary rec;
			ErrorData  *ed = NULL;

			CHECK_FOR_INTERRUPTS();
			decisions++;
			MemoryContextSwitchTo(per);
			if (override)
				doc = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(doc),
														 JsonbPGetDatum(override)));

			if (!replay_one(view, doc, &ps, &ed))
			{
				skipped++;
				if (nerrors < MAX_REPLAY_ERRORS)
				{
					if (nerrors > 0)
						appendStringInfoChar(&errors, ',');
					appendStringInfoString(&errors, "{\"order_ref\":");
					escape_json(&errors, refs[r]);
					appendStringInfo(&errors, ",\"sqlstate\":\"%s\",\"error\":",
									 unpack_sql_state(ed->sqlerrcode));
					escape_json(&errors, ed->message);
					appendStringInfoChar(&errors, '}');
					nerrors++;
				}
			}

			else
			{
				MemoryContextSwitchTo(per);
				summary_of_doc(outputs[r], &rec);
				kpi_add(&recorded, &rec);
				kpi_add(&replayed, &ps);
				if (want_plans)
				{
					StringInfoData one;

					initStringInfo(&one);
					appendStringInfoString(&one, "{\"order_ref\":");
					escape_json(&one, refs[r]);
					appendStringInfoString(&one, ",\"recorded\":");
					append_plan_brief(&one, &rec);
					appendStringInfoString(&one, ",\"replayed\":");
					append_plan_brief(&one, &ps);
					appendStringInfoChar(&one, '}');
					MemoryContextSwitchTo(work);
					if (orders.len > 0)
						appendStringInfoChar(&orders, ',');
					appendBinaryStringInfo(&orders, one.data, one.len);
				}
			}
			MemoryContextReset(per);
		}
	}
	SPI_cursor_close(portal);
	SPI_finish();

	MemoryContextSwitchTo(work);
	initStringInfo(&b);
	appendStringInfoChar(&b, '{');
	sr_json_key(&b, &first, "from");
	escape_json(&b, timestamptz_to_str(from));
	sr_json_key(&b, &first, "to");
	escape_json(&b, timestamptz_to_str(to));
	sr_json_key(&b, &first, "profile");
	if (profile)
		escape_json(&b, profile);
	else
		appendStringInfoString(&b, "null");
	json_int(&b, &first, "decisions", decisions);
	json_int(&b, &first, "compared", decisions - skipped);
	json_int(&b, &first, "skipped", skipped);
	sr_json_key(&b, &first, "errors");
	appendStringInfoChar(&b, '[');
	appendBinaryStringInfo(&b, errors.data, errors.len);
	appendStringInfoChar(&b, ']');
	/* recorded_profiles, replay_profiles */
	{
		JsonbValue	vbuf;
		JsonbValue *v;

		v = sr_jsonb_get(&profiles->root, "recorded_profiles", &vbuf);
		sr_json_key(&b, &first, "recorded_profiles");
		appendStringInfoString(&b, JsonbToCString(NULL, v->val.binary.data, v->val.binary.len));
		v = sr_jsonb_get(&profiles->root, "replay_profiles", &vbuf);
		sr_json_key(&b, &first, "replay_profiles");
		appendStringInfoString(&b, JsonbToCString(NULL, v->val.binary.data, v->val.binary.len));
	}
	sr_json_key(&b, &first, "stock");
	escape_json(&b, "current");
	{
		bool		f2 = true;
		KpiFigures rf;
		KpiFigures pf;

		sr_json_key(&b, &first, "recorded");
		appendStringInfoChar(&b, '{');
		kpi_json(&b, &f2, &recorded);
		appendStringInfoChar(&b, '}');
		f2 = true;
		sr_json_key(&b, &first, "replayed");
		appendStringInfoChar(&b, '{');
		kpi_json(&b, &f2, &replayed);
		appendStringInfoChar(&b, '}');

		/* replayed minus recorded */
		kpi_figures(&recorded, &rf);
		kpi_figures(&replayed, &pf);
		f2 = true;
		sr_json_key(&b, &first, "difference");
		appendStringInfoChar(&b, '{');
		json_num(&b, &f2, "cost", replayed.cost - recorded.cost);
		json_num(&b, &f2, "cost_per_unit", pf.cost_per_unit - rf.cost_per_unit);
		json_int(&b, &f2, "units_filled", replayed.units_filled - recorded.units_filled);
		json_int(&b, &f2, "shipments", replayed.shipments - recorded.shipments);
		json_num(&b, &f2, "shipments_per_order", pf.shipments_per_order - rf.shipments_per_order);
		json_num(&b, &f2, "split_rate", pf.split_rate - rf.split_rate);
		json_num(&b, &f2, "days_mean", pf.days_mean - rf.days_mean);
		appendStringInfoChar(&b, '}');
	}
	json_int(&b, &first, "micros", elapsed_micros(start));
	if (want_plans)
	{
		sr_json_key(&b, &first, "orders");
		appendStringInfoChar(&b, '[');
		appendBinaryStringInfo(&b, orders.data, orders.len);
		appendStringInfoChar(&b, ']');
	}
	appendStringInfoChar(&b, '}');
	out = sr_json_to_jsonb(&b);

	MemoryContextSwitchTo(caller);
	out = DatumGetJsonbPCopy(JsonbPGetDatum(out));
	MemoryContextDelete(work);
	PG_RETURN_JSONB_P(out);
}
