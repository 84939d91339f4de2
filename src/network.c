/*
 * network.c — the network as routing reads it for one order, through SPI
 * with statements prepared once per backend: the profile, the items and
 * their product rules, every stock row of the order's SKUs with its node
 * (held reservations past their expiry not counted; the stock view's
 * overlay applied), the lanes to the destination, and the free lots.
 *
 * plan() only reads, so it can serve quotes on a hot standby.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "costmodel.h"
#include "errcodes.h"
#include "holiday.h"
#include "lapsed.h"
#include "network.h"
#include "order.h"
#include "prepared.h"
#include "products.h"
#include "stockview.h"

static SPIPlanPtr plan_profile = NULL;
static SPIPlanPtr plan_items = NULL;
static SPIPlanPtr plan_stock = NULL;
static SPIPlanPtr plan_lanes = NULL;
static bool plans_calendar_schema;	/* plan_stock, plan_lanes read the calendar columns */
static bool plans_products_schema;	/* plan_lanes reads hazmat_separate (0.2.0) */

static Datum
col(HeapTuple tup, int attno, bool *isnull)
{
	return SPI_getbinval(tup, SPI_tuptable->tupdesc, attno, isnull);
}

static char *
col_text(HeapTuple tup, int attno)
{
	bool		isnull;
	Datum		d = col(tup, attno, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static double
col_float(HeapTuple tup, int attno)
{
	bool		isnull;
	Datum		d = col(tup, attno, &isnull);

	return isnull ? 0.0 : DatumGetFloat8(d);
}

void
sr_load_profile(const char *name, bool read_only, SrRouteProfile *p)
{
	Datum		args[1];
	HeapTuple	t;
	bool		isnull;
	char	   *late_policy;

	if (plan_profile == NULL)
	{
		Oid			types[1] = {TEXTOID};

		plan_profile = sr_prepare_kept(
									   "SELECT version, w_cost, w_days, w_late, w_distance, w_balance,"
									   "       split_penalty, backorder_penalty, max_shipments,"
									   "       allow_partial, ship_complete, late_policy,"
									   "       dist_fixed, dist_per_unit, dist_per_unit_mile"
									   "  FROM stockroute.profile WHERE profile_name = $1",
									   1, types);
	}
	args[0] = CStringGetTextDatum(name);
	sr_spi_ok(SPI_execute_plan(plan_profile, args, NULL, read_only, 1), SPI_OK_SELECT,
			  "profile lookup");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SR_UNKNOWN_PROFILE),
				 errmsg("profile \"%s\" does not exist", name),
				 errhint("The shipped profiles are default, cheapest, fastest and closest.")));
	t = SPI_tuptable->vals[0];
	sr_profile_defaults(&p->sr);
	p->name = pstrdup(name);
	p->version = DatumGetInt32(col(t, 1, &isnull));
	p->sr.w_cost = col_float(t, 2);
	p->sr.w_days = col_float(t, 3);
	p->sr.w_late = col_float(t, 4);
	p->sr.w_distance = col_float(t, 5);
	p->sr.w_balance = col_float(t, 6);
	p->sr.split_penalty = col_float(t, 7);
	p->sr.backorder_penalty = col_float(t, 8);
	p->sr.max_shipments = DatumGetInt32(col(t, 9, &isnull));
	p->sr.allow_partial = DatumGetBool(col(t, 10, &isnull));
	p->sr.ship_complete = DatumGetBool(col(t, 11, &isnull));
	late_policy = col_text(t, 12);
	p->exclude_late = late_policy && strcmp(late_policy, "exclude") == 0;
	p->dist_fixed = col_float(t, 13);
	p->dist_per_unit = col_float(t, 14);
	p->dist_per_unit_mile = col_float(t, 15);
}

/* weight of each SKU group; unknown SKUs are an error */
void
sr_load_items(SrOrder *o, bool read_only)
{
	char	  **skus = palloc(sizeof(char *) * o->ngroups);
	Datum		args[1];
	uint64		i;
	int			g;

	if (plan_items == NULL)
	{
		Oid			types[1] = {TEXTARRAYOID};

		plan_items = sr_prepare_kept_generic(
									 "SELECT sku, weight_kg FROM stockroute.item WHERE sku = ANY ($1)",
									 1, types);
	}
	for (g = 0; g < o->ngroups; g++)
		skus[g] = o->groups[g].sku;
	args[0] = sr_text_array(skus, o->ngroups);
	sr_spi_ok(SPI_execute_plan(plan_items, args, NULL, read_only, 0), SPI_OK_SELECT,
			  "item lookup");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		int			k;
		int			ng;

		k = sr_order_groups_of_sku(o, col_text(t, 1), &ng);
		for (; ng > 0; ng--, k++)
		{
			g = o->group_by_sku[k];
			o->groups[g].found = true;
			o->groups[g].weight_kg = col_float(t, 2);
		}
	}
	for (g = 0; g < o->nlines; g++)
		if (!o->groups[o->lines[g].group].found)
			ereport(ERROR,
					(errcode(ERRCODE_SR_UNKNOWN_SKU),
					 errmsg("sku \"%s\" of line \"%s\" does not exist",
							o->lines[g].sku, o->lines[g].line_ref)));
}

/*
 * products: each group's product rules (src/products.c), the shelf life it
 * needs (the most of its lines', the customer's and the item's), and, with
 * check_order, the order's destination locks and lot requirements.
 */
void
sr_load_products(SrOrder *o, bool read_only, bool check_order)
{
	char	  **skus = palloc(sizeof(char *) * o->ngroups);
	SrItemRules *rules = palloc(sizeof(SrItemRules) * o->ngroups);
	int			g;
	int			i;

	for (g = 0; g < o->ngroups; g++)
		skus[g] = o->groups[g].sku;
	sr_products_load_items(skus, o->ngroups, read_only, rules);
	for (g = 0; g < o->ngroups; g++)
	{
		SrSkuGroup   *gr = &o->groups[g];

		gr->rules = rules[g];
		gr->min_shelf_days = Max(gr->rules.min_shelf_days, 0);
		gr->min_shelf_days = Max(gr->min_shelf_days, gr->req.min_shelf_days);
		gr->min_shelf_days = Max(gr->min_shelf_days, o->customer_min_shelf_days);
		if (gr->rules.lot_tracked)
			o->any_lot_tracked = true;
		if (gr->rules.hazmat)
			o->any_hazmat = true;
	}
	if (!check_order)
		return;
	for (i = 0; i < o->nlines; i++)
	{
		SrOrderLine  *ln = &o->lines[i];
		SrSkuGroup   *gr = &o->groups[ln->group];

		sr_products_check_lot_req(&gr->rules, &ln->req, ln->sku, ln->line_ref);
		sr_products_check_destination(&gr->rules, ln->sku, ln->line_ref,
									  o->ship_to.country, o->ship_to.region);
	}
}

static int
cmp_node_id(const void *a, const void *b, void *arg)
{
	const SrNetNode *nodes = arg;

	return strcmp(nodes[*(const int *) a].node_id, nodes[*(const int *) b].node_id);
}

static const char *
node_name(const void *arg, int i)
{
	return ((const SrNetwork *) arg)->nodes[i].node_id;
}

void
sr_network_index(SrNetwork *net)
{
	int			n;

	net->node_by_id = palloc(sizeof(int) * (net->nnodes > 0 ? net->nnodes : 1));
	for (n = 0; n < net->nnodes; n++)
		net->node_by_id[n] = n;
	qsort_arg(net->node_by_id, net->nnodes, sizeof(int), cmp_node_id, net->nodes);
}

int
sr_network_find_node(const SrNetwork *net, const char *node_id)
{
	return sr_find_sorted(node_id, net->node_by_id, net->nnodes, node_name, net);
}

/*
 * Every stock row of the order's SKUs with its node, in (node_id, sku)
 * order, then the lanes of those nodes that match the destination.
 */
void
sr_load_network(SrOrder *o, TimestampTz now, bool read_only,
				const SrStockView *view, SrNetwork *net)
{
	char	  **skus = palloc(sizeof(char *) * o->ngroups);
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	uint64		i;
	int			g;
	int			n;
	int			per_row;
	SrLapsed   *lapsed;

	/* products: hazmat_separate exists from 0.2.0 on (see sr_products_schema) */
	if (plan_lanes != NULL && sr_products_schema() != plans_products_schema)
	{
		SPI_freeplan(plan_lanes);
		plan_lanes = NULL;
	}
	/* the calendar columns exist from 0.2.0 on (see sr_calendar_schema) */
	if (plan_stock != NULL && sr_calendar_schema() != plans_calendar_schema)
	{
		SPI_freeplan(plan_stock);
		plan_stock = NULL;
		if (plan_lanes != NULL)
			SPI_freeplan(plan_lanes);
		plan_lanes = NULL;
	}
	if (plan_stock == NULL)
	{
		Oid			types[2] = {TEXTARRAYOID, TIMESTAMPTZOID};

		plans_calendar_schema = sr_calendar_schema();
		plan_stock = sr_prepare_kept_generic(psprintf(
									 "SELECT s.node_id, s.sku, s.on_hand, s.reserved, s.safety_stock,"
									 "       s.reorder_point, n.name,"
									 /* a stale node (no event for stale_after) drops out like an inactive one */
									 "       CASE WHEN n.status = 'active' AND n.stale THEN 'stale' ELSE n.status END,"
									 "       n.lat, n.lon, n.handling_days,"
									 "       n.cutoff IS NOT NULL AND"
									 "       (($2 AT TIME ZONE n.timezone)::time > n.cutoff),"
									 "       i.allowed_nodes IS NULL OR s.node_id = ANY (i.allowed_nodes),"
									 "       n.timezone, %s,"
									 /* products: hazmat nodes, origin countries */
									 "       'hazmat' = ANY (n.tags), n.country"
									 "  FROM stockroute.stock s"
									 "  JOIN stockroute.node n ON n.node_id = s.node_id"
									 "  JOIN stockroute.item i ON i.sku = s.sku"
									 " WHERE s.sku = ANY ($1)"
									 " ORDER BY s.node_id, s.sku",
									 sr_calendar_columns(plans_calendar_schema, "n", "ship_weekdays")),
									 2, types);
	}
	for (g = 0; g < o->ngroups; g++)
		skus[g] = o->groups[g].sku;
	lapsed = sr_lapsed_load(skus, o->ngroups, read_only);
	args[0] = sr_text_array(skus, o->ngroups);
	args[1] = TimestampTzGetDatum(now);
	sr_spi_ok(SPI_execute_plan(plan_stock, args, NULL, read_only, 0), SPI_OK_SELECT,
			  "stock lookup");

	memset(net, 0, sizeof(*net));
	net->today = DatumGetDateADT(DirectFunctionCall1(timestamptz_date, TimestampTzGetDatum(now)));
	net->holidays = sr_holidays_create(net->today, read_only);
	/* products: a stock row is one row per group of its SKU; most SKUs have one */
	per_row = 1;
	for (g = 0; g < o->ngroups; g++)
	{
		int			ng;

		(void) sr_order_groups_of_sku(o, o->groups[g].sku, &ng);
		per_row = Max(per_row, ng);
	}
	net->rows = palloc0(sizeof(SrStockRow) * (SPI_processed > 0 ? SPI_processed : 1) * per_row);
	net->nodes = palloc0(sizeof(SrNetNode) * (SPI_processed > 0 ? SPI_processed : 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		char	   *node_id = col_text(t, 1);
		char	   *sku;
		SrStockRow   *r = &net->rows[net->nrows];
		SrNetNode    *nd;
		bool		isnull;
		int64		reorder;
		int			k;
		int			ng;

		if (net->nnodes == 0 || strcmp(net->nodes[net->nnodes - 1].node_id, node_id) != 0)
		{
			nd = &net->nodes[net->nnodes++];
			nd->node_id = node_id;
			nd->name = col_text(t, 7);
			nd->status = col_text(t, 8);
			(void) col(t, 9, &isnull);
			nd->has_coords = !isnull;
			nd->lat = col_float(t, 9);
			nd->lon = col_float(t, 10);
			nd->handling_days = DatumGetInt32(col(t, 11, &isnull));
			nd->past_cutoff = DatumGetBool(col(t, 12, &isnull));
			nd->local_date = sr_local_date(now, col_text(t, 14));
			nd->ship_weekdays = sr_weekdays_mask(col(t, 15, &isnull));
			nd->calendar = sr_holidays_add(net->holidays, col_text(t, 16));
			nd->hazmat_node = DatumGetBool(col(t, 17, &isnull)) && !isnull;
			nd->country = col_text(t, 18);
			nd->whole = net->nnodes - 1;
			nd->first_row = net->nrows;
			initStringInfo(&nd->notes);
		}
		nd = &net->nodes[net->nnodes - 1];
		sku = col_text(t, 2);
		k = sr_order_groups_of_sku(o, sku, &ng);
		r->group = ng > 0 ? o->group_by_sku[k] : -1;
		r->on_hand = DatumGetInt64(col(t, 3, &isnull));
		/* held reservations past their expiry hold nothing (src/lapsed.c) */
		r->reserved = DatumGetInt64(col(t, 4, &isnull)) -
			sr_lapsed_stock(lapsed, node_id, sku);
		r->available = Max(r->on_hand - r->reserved - DatumGetInt64(col(t, 5, &isnull)), 0);
		/* the stock view: simulate()/replay()/preemption's overlay (src/stockview.c) */
		if (view != NULL)
			r->available = sr_view_available(view, node_id, o->groups[r->group].sku, r->available);
		reorder = DatumGetInt64(col(t, 6, &isnull));
		r->balance_free = r->available > reorder ? r->available - reorder : 0;
		r->allowed = DatumGetBool(col(t, 13, &isnull));
		r->cand = -1;
		nd->nrows++;
		net->nrows++;
		/* products: the same stock row for the SKU's other groups */
		for (ng--, k++; ng > 0; ng--, k++)
		{
			net->rows[net->nrows] = *r;
			r = &net->rows[net->nrows];
			r->group = o->group_by_sku[k];
			nd->nrows++;
			net->nrows++;
		}
	}

	sr_network_index(net);

	/* products: the free lots of the order's lot-tracked SKUs */
	if (o->any_lot_tracked)
	{
		int			nskus = 0;

		for (g = 0; g < o->ngroups; g++)
			if (o->groups[g].rules.lot_tracked)
				skus[nskus++] = o->groups[g].sku;
		net->lots = sr_lots_load(skus, nskus, lapsed, read_only);
	}

	/* lanes */
	net->lane_start = palloc0(sizeof(int) * (net->nnodes + 1));
	if (net->nnodes == 0)
		return;
	if (plan_lanes == NULL)
	{
		Oid			types[4] = {TEXTARRAYOID, TEXTOID, TEXTOID, TEXTOID};

		plans_products_schema = sr_products_schema();
		plan_lanes = sr_prepare_kept_generic(psprintf(
									 "SELECT l.node_id, l.service, l.base_cost, l.per_kg, l.per_unit,"
									 "       l.transit_days, l.min_weight_kg, l.max_weight_kg,"
									 "       CASE WHEN l.postal_prefix IS NOT NULL THEN 3"
									 "            WHEN l.region IS NOT NULL THEN 2"
									 "            WHEN l.country IS NOT NULL THEN 1 ELSE 0 END,"
									 "       coalesce(pg_catalog.length(l.postal_prefix), 0),"
									 "       %s,"
									 /* products: mode, hazmat_ok, hazmat_separate */
									 "       %s"
									 "  FROM stockroute.lane l"
									 " WHERE l.node_id = ANY ($1)"
									 "   AND (l.country IS NULL OR l.country = $2)"
									 "   AND (l.region IS NULL OR l.region = $3)"
									 "   AND (l.postal_prefix IS NULL"
									 "        OR pg_catalog.starts_with($4, l.postal_prefix))"
									 " ORDER BY l.lane_id",
									 sr_calendar_columns(plans_calendar_schema, "l", "transit_weekdays"),
									 sr_products_lane_columns(plans_products_schema, "l")),
									 4, types);
	}
	{
		char	  **ids = palloc(sizeof(char *) * net->nnodes);

		for (n = 0; n < net->nnodes; n++)
			ids[n] = net->nodes[n].node_id;
		args[0] = sr_text_array(ids, net->nnodes);
	}
	args[1] = o->ship_to.country ? CStringGetTextDatum(o->ship_to.country) : (Datum) 0;
	nulls[1] = o->ship_to.country ? ' ' : 'n';
	args[2] = o->ship_to.region ? CStringGetTextDatum(o->ship_to.region) : (Datum) 0;
	nulls[2] = o->ship_to.region ? ' ' : 'n';
	args[3] = o->ship_to.postal_code ? CStringGetTextDatum(o->ship_to.postal_code) : (Datum) 0;
	nulls[3] = o->ship_to.postal_code ? ' ' : 'n';
	sr_spi_ok(SPI_execute_plan(plan_lanes, args, nulls, read_only, 0), SPI_OK_SELECT,
			  "lane lookup");

	{
		SrLane	   *tmp = palloc0(sizeof(SrLane) * (SPI_processed > 0 ? SPI_processed : 1));
		int		   *fill;

		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	t = SPI_tuptable->vals[i];
			SrLane	   *l = &tmp[i];
			bool		isnull;
			Datum		d;

			l->node = sr_network_find_node(net, col_text(t, 1));
			l->service = col_text(t, 2);
			l->t.base_cost = col_float(t, 3);
			l->t.per_kg = col_float(t, 4);
			l->t.per_unit = col_float(t, 5);
			l->t.transit_days = DatumGetInt32(col(t, 6, &isnull));
			l->t.min_weight = col_float(t, 7);
			d = col(t, 8, &isnull);
			l->t.max_weight = isnull ? -1.0 : DatumGetFloat8(d);
			l->t.level = DatumGetInt32(col(t, 9, &isnull));
			l->t.prefix_len = DatumGetInt32(col(t, 10, &isnull));
			l->transit_weekdays = sr_weekdays_mask(col(t, 11, &isnull));
			l->calendar = sr_holidays_add(net->holidays, col_text(t, 12));
			l->mode = col_text(t, 13);
			l->t.carries_hazmat = sr_lane_carries_hazmat(l->mode, DatumGetBool(col(t, 14, &isnull)));
			l->t.hazmat_separate = DatumGetBool(col(t, 15, &isnull));
			if (l->node >= 0)
				net->lane_start[l->node + 1]++;
		}
		for (n = 0; n < net->nnodes; n++)
			net->lane_start[n + 1] += net->lane_start[n];
		/* bucket by node, keeping lane_id order within a node */
		net->lanes = palloc0(sizeof(SrLane) * (SPI_processed > 0 ? SPI_processed : 1));
		fill = palloc0(sizeof(int) * net->nnodes);
		for (i = 0; i < SPI_processed; i++)
			if (tmp[i].node >= 0)
				net->lanes[net->lane_start[tmp[i].node] + fill[tmp[i].node]++] = tmp[i];
		net->nlanes = net->lane_start[net->nnodes];
	}
}
