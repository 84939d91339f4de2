/*
 * operations.c — the operational inputs routing reads for an order: each
 * node's daily capacity and its load today, the nodes that rejected the
 * order (reject(), src/reject.c), the profile's operations settings
 * (w_capacity, allow_pickup_transfer) and the pickup node of a pickup order;
 * plus routing_now(), the routing clock for SQL.
 *
 * The load is counted by the reservation triggers of sql/60_operations.sql;
 * this file only reads it, so plan() stays read-only.  A node's day is its
 * local day (node.timezone) at load_now: the real clock on a writing path,
 * where the triggers count, else the routing clock.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "errcodes.h"
#include "guc.h"
#include "operations.h"
#include "prepared.h"
#include "stockview.h"

static SPIPlanPtr plan_ops = NULL;
static SPIPlanPtr plan_pickup = NULL;

/*
 * One query, three kinds of row: 'p' the profile's settings, 'x' a node that
 * rejected the order (its latest exclusion in force), 'c' a node with a
 * daily limit and its load today: the counter row when there is one, else
 * its entries.  Prepared for its generic plan (an array parameter would make
 * the plan cache re-plan it on every call, ~0.5 ms); with statistics that
 * plan is index lookups, about 30 us per limited node.
 */
#define OPS_SQL \
	"SELECT 'p'::text, NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint," \
	"       p.allow_pickup_transfer, NULL::text, p.w_capacity" \
	"  FROM stockroute.profile p WHERE p.profile_name = $2" \
	" UNION ALL " \
	"(SELECT DISTINCT ON (x.node_id) 'x', x.node_id, NULL, NULL, NULL, NULL, NULL, x.reason, NULL" \
	"   FROM stockroute.order_exclusion x" \
	"  WHERE x.order_ref = $3 AND x.expires_at > $4 AND x.node_id = ANY ($1)" \
	"  ORDER BY x.node_id, x.created_at DESC)" \
	" UNION ALL " \
	"SELECT 'c', n.node_id, n.daily_order_limit, n.daily_unit_limit," \
	"       coalesce(l.orders, e.orders), coalesce(l.units, e.units), o.counted, NULL, NULL" \
	"  FROM stockroute.node n" \
	" CROSS JOIN LATERAL (SELECT ($5 AT TIME ZONE n.timezone)::date AS day) d" \
	/* per limited node, lookups by the whole key of node_load and of the entries' index */ \
	" CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM stockroute.node_load_entry o" \
	"                                     WHERE o.node_id = n.node_id AND o.day = d.day" \
	"                                       AND o.order_ref = $3) AS counted) o" \
	"  LEFT JOIN LATERAL (SELECT l.orders::bigint, l.units FROM stockroute.node_load l" \
	"                      WHERE l.node_id = n.node_id AND l.day = d.day) l ON true" \
	"  LEFT JOIN LATERAL (SELECT pg_catalog.count(DISTINCT e.order_ref) AS orders," \
	"                            coalesce(pg_catalog.sum(e.qty), 0)::bigint AS units" \
	"                       FROM stockroute.node_load_entry e" \
	"                      WHERE l.orders IS NULL" \
	"                        AND e.node_id = n.node_id AND e.day = d.day) e ON true" \
	" WHERE n.node_id = ANY ($1)" \
	"   AND (n.daily_order_limit IS NOT NULL OR n.daily_unit_limit IS NOT NULL)"

static int
cmp_ids(const void *a, const void *b, void *arg)
{
	char	   *const *ids = arg;

	return strcmp(ids[*(const int *) a], ids[*(const int *) b]);
}

static const char *
id_at(const void *arg, int i)
{
	return ((char *const *) arg)[i];
}

/*
 * Whether the schema has the operations objects: a library newer than the
 * installed extension (before ALTER EXTENSION stockroute UPDATE) routes as
 * the older version did, without capacity, exclusions or pickup transfers.
 */
static bool
ops_installed(void)
{
	Oid			nsp = get_namespace_oid("stockroute", true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("order_exclusion", nsp));
}

void
sr_ops_read(const char *order_ref, const char *profile, int nnodes,
			char *const *node_ids, TimestampTz now, TimestampTz load_now,
			bool read_only, struct SrStockView *view, SrOrderOps *ops)
{
	Datum		args[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	int		   *order;
	uint64		r;
	int			i;

	memset(ops, 0, sizeof(*ops));
	ops->nodes = palloc0(sizeof(SrNodeOps) * (nnodes > 0 ? nnodes : 1));
	for (i = 0; i < nnodes; i++)
		ops->nodes[i].order_limit = ops->nodes[i].unit_limit = -1;
	/* every call: the extension may be dropped and created at 0.1.0 in a session */
	if (!ops_installed())
		return;

	if (plan_ops == NULL)
	{
		Oid			types[5] = {TEXTARRAYOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};

		plan_ops = sr_prepare_kept_generic(OPS_SQL, 5, types);
	}
	order = palloc(sizeof(int) * (nnodes > 0 ? nnodes : 1));
	for (i = 0; i < nnodes; i++)
		order[i] = i;
	qsort_arg(order, nnodes, sizeof(int), cmp_ids, (void *) node_ids);
	args[0] = sr_text_array(node_ids, nnodes);
	args[1] = CStringGetTextDatum(profile);
	args[2] = order_ref ? CStringGetTextDatum(order_ref) : (Datum) 0;
	nulls[2] = order_ref ? ' ' : 'n';
	args[3] = TimestampTzGetDatum(now);
	args[4] = TimestampTzGetDatum(load_now);
	if (SPI_execute_plan(plan_ops, args, nulls, read_only, 0) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: operations lookup failed");

	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	t = SPI_tuptable->vals[r];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *kind = TextDatumGetCString(SPI_getbinval(t, d, 1, &isnull));
		SrNodeOps  *nd;
		Datum		v;

		if (kind[0] == 'p')
		{
			ops->allow_pickup_transfer = DatumGetBool(SPI_getbinval(t, d, 7, &isnull));
			ops->w_capacity = DatumGetFloat8(SPI_getbinval(t, d, 9, &isnull));
			continue;
		}
		i = sr_find_sorted(TextDatumGetCString(SPI_getbinval(t, d, 2, &isnull)), order, nnodes,
						   id_at, node_ids);
		if (i < 0)
			continue;
		nd = &ops->nodes[i];
		if (kind[0] == 'x')
		{
			nd->exclusion = TextDatumGetCString(SPI_getbinval(t, d, 8, &isnull));
			continue;
		}
		nd->limited = true;
		v = SPI_getbinval(t, d, 3, &isnull);
		nd->order_limit = isnull ? -1 : DatumGetInt64(v);
		v = SPI_getbinval(t, d, 4, &isnull);
		nd->unit_limit = isnull ? -1 : DatumGetInt64(v);
		v = SPI_getbinval(t, d, 5, &isnull);
		nd->orders = isnull ? 0 : DatumGetInt64(v);
		v = SPI_getbinval(t, d, 6, &isnull);
		nd->units = isnull ? 0 : DatumGetInt64(v);
		nd->order_counted = DatumGetBool(SPI_getbinval(t, d, 7, &isnull));
	}
	/* simulate(): the load the batch's earlier orders would have added */
	if (view != NULL)
		for (i = 0; i < nnodes; i++)
			if (ops->nodes[i].limited)
				sr_view_load(view, order_ref, node_ids[i], ops->nodes[i].order_counted,
							 &ops->nodes[i].orders, &ops->nodes[i].units);
}

bool
sr_capacity_full(const SrNodeOps *n, StringInfo why)
{
	/* an order already counted there today takes no second order slot */
	if (n->order_limit >= 0 && !n->order_counted && n->orders >= n->order_limit)
	{
		appendStringInfo(why, "capacity: " INT64_FORMAT "/" INT64_FORMAT " orders today",
						 n->orders, n->order_limit);
		return true;
	}
	if (n->unit_limit >= 0 && n->units >= n->unit_limit)
	{
		appendStringInfo(why, "capacity: " INT64_FORMAT "/" INT64_FORMAT " units today",
						 n->units, n->unit_limit);
		return true;
	}
	return false;
}

int64
sr_capacity_units_left(const SrNodeOps *n)
{
	if (n->unit_limit < 0)
		return PG_INT64_MAX;
	return n->units >= n->unit_limit ? 0 : n->unit_limit - n->units;
}

double
sr_capacity_used(const SrNodeOps *n)
{
	double		used = 0.0;

	if (n->order_limit == 0 || n->unit_limit == 0)
		return 1.0;
	if (n->order_limit > 0)
		used = Max(used, (double) n->orders / (double) n->order_limit);
	if (n->unit_limit > 0)
		used = Max(used, (double) n->units / (double) n->unit_limit);
	return Min(used, 1.0);
}

void
sr_pickup_node_read(const char *node_id, bool read_only, SrPickupNode *pk)
{
	Datum		args[1];
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;
	Datum		v;

	if (plan_pickup == NULL)
	{
		Oid			types[1] = {TEXTOID};

		plan_pickup = sr_prepare_kept(
									  "SELECT n.lat, n.lon, n.country, n.region, n.postal_code,"
		/* a stale node drops out like an inactive one, as in routing */
									  "       CASE WHEN n.status = 'active' AND n.stale THEN 'stale' ELSE n.status END,"
									  "       n.handling_days"
									  "  FROM stockroute.node n WHERE n.node_id = $1",
									  1, types);
	}
	args[0] = CStringGetTextDatum(node_id);
	if (SPI_execute_plan(plan_pickup, args, NULL, read_only, 1) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: pickup node lookup failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SR_UNKNOWN_PICKUP_NODE),
				 errmsg("order field \"pickup_node\" names no node: \"%s\"", node_id)));
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	memset(pk, 0, sizeof(*pk));
	pk->node_id = pstrdup(node_id);
	v = SPI_getbinval(t, d, 1, &isnull);
	pk->where.has_coords = !isnull;
	if (!isnull)
	{
		pk->where.lat = DatumGetFloat8(v);
		pk->where.lon = DatumGetFloat8(SPI_getbinval(t, d, 2, &isnull));
	}
	pk->where.country = SPI_getvalue(t, d, 3);
	pk->where.region = SPI_getvalue(t, d, 4);
	pk->where.postal_code = SPI_getvalue(t, d, 5);
	pk->status = SPI_getvalue(t, d, 6);
	pk->handling_days = DatumGetInt32(SPI_getbinval(t, d, 7, &isnull));
}

PG_FUNCTION_INFO_V1(stockroute_routing_now);
Datum
stockroute_routing_now(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(sr_routing_now());
}
