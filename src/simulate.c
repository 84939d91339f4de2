/*
 * simulate.c — simulate(orders, profile, plans) and replay(from, to,
 * profile, plans): allocate()'s routing over a batch of orders, one after
 * the other, with nothing written, and the KPIs of the result; also the
 * in-memory stock overlay they and allocate()'s preemption plan against.
 *
 * Each order is planned by sr_plan_order, the planner allocate() runs,
 * against the stock as it is minus the units the earlier orders of the batch
 * took: the overlay subtracts them as the planner reads each stock row
 * (sr_available_hook, plan.h), and the orders and units they gave each node
 * with a daily limit are added to the load the capacity rules read
 * (sr_load_hook, operations.h), as the reservation trigger would have counted
 * them.  allocate() reserves exactly the shipments of its plan, so these are
 * the plans allocate() would make for the same orders in the same sequence
 * with no other traffic.  Not modelled: preemption and
 * concurrent orders.  Nothing is reserved, not even in a subtransaction that
 * is rolled back: no row is written or locked, no transaction id assigned,
 * no NOTIFY sent, and it runs on a hot standby.  Thousands of rolled-back
 * reservations would have left dead rows, and held stock rows locked against
 * live orders for the length of the run.
 *
 * replay() feeds the allocate() decisions recorded in a time window through
 * the same path, under another profile (or each its own at its current
 * version), against today's stock with the replayed orders' own active
 * reservations given back, and reports the recorded and replayed KPIs side
 * by side.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
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
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "operations.h"
#include "plan.h"
#include "stockroute.h"
#include "supply.h"

int			stockroute_max_simulate_orders = 100000;

void
sr_simulate_define_gucs(void)
{
	DefineCustomIntVariable("stockroute.max_simulate_orders",
							"Most orders one simulate() call takes.",
							"Larger batches are refused with SQLSTATE 54000.",
							&stockroute_max_simulate_orders,
							100000, 1, 10000000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
}

/* ---------------------------------------------------------------- overlay */

typedef struct OverlayKey
{
	const char *node_id;
	const char *sku;
} OverlayKey;

typedef struct OverlayEntry
{
	OverlayKey	key;
	uint32		hash;
	char		status;
	bool		has_base;
	int64		base;			/* available in place of the table's */
	int64		taken;			/* units earlier orders took */
} OverlayEntry;

static inline uint32
overlay_key_hash(OverlayKey k)
{
	return hash_combine(hash_bytes((const unsigned char *) k.node_id, strlen(k.node_id)),
						hash_bytes((const unsigned char *) k.sku, strlen(k.sku)));
}

#define SH_PREFIX overlay
#define SH_ELEMENT_TYPE OverlayEntry
#define SH_KEY_TYPE OverlayKey
#define SH_KEY key
#define SH_HASH_KEY(tb, k) overlay_key_hash(k)
#define SH_EQUAL(tb, a, b) (strcmp((a).node_id, (b).node_id) == 0 && strcmp((a).sku, (b).sku) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * simulate(): a node's load today from the batch's earlier orders, added to
 * what sr_ops_read reads (sr_load_hook), so the capacity rules of
 * operations.c see it as they would see the counters after allocate().
 */
typedef struct LoadEntry
{
	const char *node_id;
	uint32		hash;
	char		status;
	int64		orders;			/* earlier orders given a shipment here */
	int64		units;			/* their units here */
	int64		last_seq;		/* the plan that last counted an order here */
	const char *db_counted;		/* an order_ref the counters already had here */
} LoadEntry;

#define SH_PREFIX load
#define SH_ELEMENT_TYPE LoadEntry
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

struct SrOverlay
{
	MemoryContext cxt;
	overlay_hash *tab;
	load_hash  *load;			/* NULL: capacity is read as it is (not simulate()) */
	int64		seq;			/* plans counted into load */
};

sr_available_hook_type sr_available_hook = NULL;
sr_load_hook_type sr_load_hook = NULL;
static SrOverlay *active_overlay = NULL;

static int64
overlay_available(const char *node_id, const char *sku, int64 available)
{
	OverlayKey	k;
	OverlayEntry *e;
	int64		v;

	if (active_overlay == NULL)
		return available;
	k.node_id = node_id;
	k.sku = sku;
	e = overlay_lookup(active_overlay->tab, k);
	if (e == NULL)
		return available;
	v = (e->has_base ? e->base : available) - e->taken;
	return v > 0 ? v : 0;
}

static LoadEntry *
load_entry(SrOverlay *ov, const char *node_id)
{
	LoadEntry  *e;
	bool		found;

	e = load_insert(ov->load, node_id, &found);
	if (!found)
	{
		e->node_id = MemoryContextStrdup(ov->cxt, node_id);
		e->orders = 0;
		e->units = 0;
		e->last_seq = 0;
		e->db_counted = NULL;
	}
	return e;
}

/*
 * sr_load_hook: a limited node's load as read, plus the earlier orders'.
 * The batch's order_refs are distinct (a repeat is not planned again), so
 * each earlier order that shipped from the node is one more order there;
 * one the counters already have (allocated for real today) is not, which
 * overlay_take_plan learns from the flag remembered here.
 */
static void
overlay_load(const char *order_ref, const char *node_id, SrNodeOps *n)
{
	LoadEntry  *e;

	if (active_overlay == NULL || active_overlay->load == NULL)
		return;
	e = load_entry(active_overlay, node_id);
	if (n->order_counted && (e->db_counted == NULL || strcmp(e->db_counted, order_ref) != 0))
		e->db_counted = MemoryContextStrdup(active_overlay->cxt, order_ref);
	n->orders += e->orders;
	n->units += e->units;
}

/* simulate(): count the batch's orders against the nodes' daily capacity */
static void
overlay_count_load(SrOverlay *ov)
{
	ov->load = load_create(ov->cxt, 64, NULL);
}

SrOverlay *
sr_overlay_create(void)
{
	SrOverlay  *ov = palloc0(sizeof(SrOverlay));

	ov->cxt = CurrentMemoryContext;
	ov->tab = overlay_create(ov->cxt, 256, NULL);
	return ov;
}

static OverlayEntry *
overlay_entry(SrOverlay *ov, const char *node_id, const char *sku)
{
	OverlayKey	k;
	OverlayEntry *e;
	bool		found;

	k.node_id = node_id;
	k.sku = sku;
	e = overlay_insert(ov->tab, k, &found);
	if (!found)
	{
		e->key.node_id = MemoryContextStrdup(ov->cxt, node_id);
		e->key.sku = MemoryContextStrdup(ov->cxt, sku);
		e->has_base = false;
		e->base = 0;
		e->taken = 0;
	}
	return e;
}

void
sr_overlay_set(SrOverlay *ov, const char *node_id, const char *sku, int64 available)
{
	OverlayEntry *e = overlay_entry(ov, node_id, sku);

	e->has_base = true;
	e->base = available;
}

void
sr_overlay_take(SrOverlay *ov, const char *node_id, const char *sku, int64 qty)
{
	overlay_entry(ov, node_id, sku)->taken += qty;
}

Jsonb *
sr_overlay_plan(SrOverlay *ov, Jsonb *order, bool read_only)
{
	Jsonb	   *volatile plan = NULL;
	SrOverlay  *saved = active_overlay;
	sr_available_hook_type saved_hook = sr_available_hook;
	sr_load_hook_type saved_load_hook = sr_load_hook;

	active_overlay = ov;
	sr_available_hook = overlay_available;
	sr_load_hook = overlay_load;
	PG_TRY();
	{
		plan = sr_plan_order(order, read_only);
	}
	PG_FINALLY();
	{
		active_overlay = saved;
		sr_available_hook = saved_hook;
		sr_load_hook = saved_load_hook;
	}
	PG_END_TRY();
	return plan;
}

/*
 * The units a plan ships leave the overlay's stock; with simulate()'s load,
 * the order counts once at each node it ships from (however many shipments
 * there: a hazmat and a general part are one order) and all its units count,
 * as the reservation trigger counts allocate()'s reservations.  Every order
 * of one simulate() call is planned at the same routing clock, so it falls
 * on each node's same local day as the counters plan() read.
 */
static void
overlay_take_plan(SrOverlay *ov, Jsonb *plan, const char *order_ref)
{
	JsonbValue	vbuf;
	JsonbValue *sh = sr_jsonb_get(&plan->root, "shipments", &vbuf);
	int			i,
				j;

	if (sh == NULL || !sr_jsonb_is_array(sh))
		return;
	for (i = 0; i < (int) JsonContainerSize(sh->val.binary.data); i++)
	{
		JsonbValue *s = getIthJsonbValueFromContainer(sh->val.binary.data, i);
		JsonbValue	b1,
					b2;
		JsonbValue *node = sr_jsonb_get(s->val.binary.data, "node_id", &b1);
		JsonbValue *lines = sr_jsonb_get(s->val.binary.data, "lines", &b2);
		char	   *node_id = sr_jsonb_string(node);
		LoadEntry  *le = NULL;

		if (ov->load != NULL)
		{
			le = load_entry(ov, node_id);
			if (le->last_seq != ov->seq + 1 &&
				(le->db_counted == NULL || strcmp(le->db_counted, order_ref) != 0))
				le->orders++;
			le->last_seq = ov->seq + 1;
		}
		for (j = 0; j < (int) JsonContainerSize(lines->val.binary.data); j++)
		{
			JsonbValue *l = getIthJsonbValueFromContainer(lines->val.binary.data, j);
			JsonbValue	b3,
						b4;
			JsonbValue *sku = sr_jsonb_get(l->val.binary.data, "sku", &b3);
			JsonbValue *qty = sr_jsonb_get(l->val.binary.data, "qty", &b4);
			int64		q = (int64) sr_jsonb_double(qty);

			sr_overlay_take(ov, node_id, sr_jsonb_string(sku), q);
			if (le != NULL)
				le->units += q;
		}
	}
	ov->seq++;
}

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

static void
kpi_add(Kpi *k, Jsonb *plan)
{
	JsonbValue	vbuf;
	JsonbValue *v;
	JsonbValue *sh;
	int			nship = 0;
	double		maxd = 0.0;
	int64		filled = 0;
	int			i;

	k->orders++;
	v = sr_jsonb_get(&plan->root, "status", &vbuf);
	if (v != NULL && v->type == jbvString)
	{
		if (v->val.string.len == 8 && strncmp(v->val.string.val, "complete", 8) == 0)
			k->complete++;
		else if (v->val.string.len == 7 && strncmp(v->val.string.val, "partial", 7) == 0)
			k->partial++;
		else
			k->unfillable++;
	}
	k->cost += get_number(&plan->root, "cost");

	sh = sr_jsonb_get(&plan->root, "shipments", &vbuf);
	if (sh != NULL && sr_jsonb_is_array(sh))
	{
		nship = JsonContainerSize(sh->val.binary.data);
		for (i = 0; i < nship; i++)
		{
			JsonbValue *s = getIthJsonbValueFromContainer(sh->val.binary.data, i);
			JsonbValue	b1,
						b2;
			JsonbValue *node = sr_jsonb_get(s->val.binary.data, "node_id", &b1);
			int64		units = sum_qty(sr_jsonb_get(s->val.binary.data, "lines", &b2));
			double		days = get_number(s->val.binary.data, "days");
			char	   *node_id = sr_jsonb_string(node);
			NodeLoad   *nl;
			bool		found;

			filled += units;
			if (days > maxd)
				maxd = days;
			nl = nodeload_insert(k->nodes, node_id, &found);
			if (!found)
			{
				nl->node_id = MemoryContextStrdup(k->cxt, node_id);
				nl->shipments = 0;
				nl->units = 0;
				nl->cost = 0.0;
			}
			nl->shipments++;
			nl->units += units;
			nl->cost += get_number(s->val.binary.data, "cost");
		}
	}
	k->units_filled += filled;
	k->units_requested += filled + sum_qty(sr_jsonb_get(&plan->root, "unfilled", &vbuf));
	k->shipments += nship;
	if (nship > 0)
	{
		k->orders_shipped++;
		if (nship > 1)
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

/* plan one order through the overlay, in a short SPI connection of its own */
static Jsonb *
plan_in_overlay(SrOverlay *ov, Jsonb *doc)
{
	MemoryContext cxt = CurrentMemoryContext;
	Jsonb	   *plan;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(cxt);
	plan = sr_overlay_plan(ov, doc, true);
	MemoryContextSwitchTo(cxt);
	plan = DatumGetJsonbPCopy(JsonbPGetDatum(plan));
	SPI_finish();
	MemoryContextSwitchTo(cxt);
	return plan;
}

/* a plan without explain.candidates (one line per node: too much for a batch) */
static void
append_plan(StringInfo b, Jsonb *plan)
{
	Datum		path[2];
	Jsonb	   *short_plan;

	path[0] = CStringGetTextDatum("explain");
	path[1] = CStringGetTextDatum("candidates");
	short_plan = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete_path, JsonbPGetDatum(plan),
													PointerGetDatum(construct_array(path, 2, TEXTOID, -1,
																					false, TYPALIGN_INT))));
	appendStringInfoString(b, JsonbToCString(NULL, &short_plan->root, VARSIZE(short_plan)));
}

/* {status, cost, shipments, nodes}: a plan in brief, for replay's side by side */
static void
append_plan_brief(StringInfo b, Jsonb *plan)
{
	JsonbValue	vbuf;
	JsonbValue *v = sr_jsonb_get(&plan->root, "status", &vbuf);
	JsonbValue *sh;
	int			n = 0;
	int			i;

	appendStringInfoString(b, "{\"status\":");
	if (v != NULL && v->type == jbvString)
		escape_json(b, sr_jsonb_string(v));
	else
		appendStringInfoString(b, "null");
	appendStringInfoString(b, ",\"cost\":");
	sr_json_number(b, get_number(&plan->root, "cost"));
	sh = sr_jsonb_get(&plan->root, "shipments", &vbuf);
	if (sh != NULL && sr_jsonb_is_array(sh))
		n = JsonContainerSize(sh->val.binary.data);
	appendStringInfo(b, ",\"shipments\":%d,\"nodes\":[", n);
	for (i = 0; i < n; i++)
	{
		JsonbValue *s = getIthJsonbValueFromContainer(sh->val.binary.data, i);
		JsonbValue	b1;
		JsonbValue *node = sr_jsonb_get(s->val.binary.data, "node_id", &b1);

		if (i > 0)
			appendStringInfoChar(b, ',');
		escape_json(b, sr_jsonb_string(node));
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
 * Plan order i of the batch, or return NULL when its order_ref came earlier
 * with the same order.  Errors name the order: orders[3]: order field
 * "lines" is required.
 */
static Jsonb *
simulate_one(SrOverlay *ov, seen_hash *seen, Jsonb *doc, int i, MemoryContext work, char **ref)
{
	Jsonb	   *volatile plan = NULL;
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		SeenOrder  *so;

		*ref = sr_order_ref(doc);
		so = seen_lookup(seen, *ref);
		if (so == NULL)
			plan = plan_in_overlay(ov, doc);
		else if (!DatumGetBool(DirectFunctionCall2(jsonb_eq, JsonbPGetDatum(so->doc),
												   JsonbPGetDatum(doc))))
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
	return plan;
}

PG_FUNCTION_INFO_V1(simulate_orders);
Datum
simulate_orders(PG_FUNCTION_ARGS)
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
	SrOverlay  *ov;
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
	ov = sr_overlay_create();
	overlay_count_load(ov);
	kpi_init(&kpi);
	seen = seen_create(work, 256, NULL);
	initStringInfo(&plans);

	INSTR_TIME_SET_CURRENT(start);
	for (i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(&orders->root, i);
		Jsonb	   *doc;
		Jsonb	   *plan;
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

		plan = simulate_one(ov, seen, doc, i, work, &ref);
		if (plan == NULL)
		{
			/* the same order again: allocate() would return the first result */
			repeated++;
			MemoryContextReset(per);
			continue;
		}
		so = seen_insert(seen, ref, &found);
		so->order_ref = MemoryContextStrdup(work, ref);
		so->doc = (Jsonb *) MemoryContextAlloc(work, VARSIZE(doc));
		memcpy(so->doc, doc, VARSIZE(doc));

		overlay_take_plan(ov, plan, ref);
		kpi_add(&kpi, plan);
		if (want_plans)
		{
			/* plans lives in work: appending keeps it there */
			if (any_plan)
				appendStringInfoChar(&plans, ',');
			append_plan(&plans, plan);
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
 * Plan one recorded order, or return NULL with *err set when it no longer
 * plans (its SKU or profile was deleted since): skipped and named, not
 * fatal.  The subtransaction is read-only, so it gets no transaction id.
 */
static Jsonb *
replay_one(SrOverlay *ov, Jsonb *doc, MemoryContext work, ResourceOwner owner, ErrorData **err)
{
	MemoryContext cxt = CurrentMemoryContext;
	Jsonb	   *volatile plan = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		plan = plan_in_overlay(ov, doc);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(work);
		ed = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (ed->sqlerrcode == ERRCODE_QUERY_CANCELED || ed->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			ReThrowError(ed);
		*err = ed;
		plan = NULL;
	}
	PG_END_TRY();
	return plan;
}

PG_FUNCTION_INFO_V1(simulate_replay);
Datum
simulate_replay(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	MemoryContext batch;
	MemoryContext per;
	ResourceOwner owner = CurrentResourceOwner;
	TimestampTz from;
	TimestampTz to;
	char	   *profile = NULL;
	Jsonb	   *override = NULL;
	bool		want_plans;
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};
	SrOverlay  *ov;
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
	ov = sr_overlay_create();
	kpi_init(&recorded);
	kpi_init(&replayed);
	initStringInfo(&errors);
	initStringInfo(&orders);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(work);
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

		sr_overlay_set(ov, SPI_getvalue(t, SPI_tuptable->tupdesc, 1),
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
			Jsonb	   *plan;
			Jsonb	   *doc = inputs[r];
			ErrorData  *ed = NULL;

			CHECK_FOR_INTERRUPTS();
			decisions++;
			MemoryContextSwitchTo(per);
			if (override)
				doc = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(doc),
														 JsonbPGetDatum(override)));

			plan = replay_one(ov, doc, work, owner, &ed);
			if (plan == NULL)
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

			if (plan != NULL)
			{
				MemoryContextSwitchTo(per);
				overlay_take_plan(ov, plan, refs[r]);
				kpi_add(&recorded, outputs[r]);
				kpi_add(&replayed, plan);
				if (want_plans)
				{
					StringInfoData one;

					initStringInfo(&one);
					appendStringInfoString(&one, "{\"order_ref\":");
					escape_json(&one, refs[r]);
					appendStringInfoString(&one, ",\"recorded\":");
					append_plan_brief(&one, outputs[r]);
					appendStringInfoString(&one, ",\"replayed\":");
					append_plan_brief(&one, plan);
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
