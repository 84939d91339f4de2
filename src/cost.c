/*
 * cost.c — the cost model applied to the network routing read
 * (src/network.c): a node's distance to the destination, the lane of its
 * shipment (costmodel.c's rules over the lanes that match the destination,
 * for the weight the shipment has), or the profile's distance model, then
 * its ship date and ETA (src/holiday.c, src/calendar.c); and the split of a
 * node whose hazmat lines must ship apart into two solver nodes.
 *
 * days = the ETA minus the routing clock's date.
 */
#include "postgres.h"

#include "cost.h"
#include "costmodel.h"
#include "holiday.h"
#include "network.h"
#include "order.h"
#include "products.h"

void
sr_cost_distance(const SrOrder *o, SrNetNode *nd)
{
	if (nd->has_coords && o->ship_to.has_coords)
	{
		nd->distance_km = sr_haversine_km(nd->lat, nd->lon, o->ship_to.lat, o->ship_to.lon);
		nd->miles = nd->distance_km / SR_KM_PER_MILE;
	}
}

void
sr_node_note(SrNetNode *nd, const char *fmt, const char *arg)
{
	if (nd->notes.len > 0)
		appendStringInfoString(&nd->notes, "; ");
	appendStringInfo(&nd->notes, fmt, arg);
}

/*
 * Ship date, ETA and days of a costed node (src/holiday.c, src/calendar.c):
 * the node's shipping days and calendar, then transit days on the carrier's
 * weekdays and calendar (the lane's, else the node's).
 */
void
sr_cost_eta(const SrNetwork *net, SrNetNode *nd, int transit_days, unsigned transit_weekdays,
		int transit_calendar)
{
	SrEtaRequest rq;

	rq.order_day = nd->local_date;
	rq.past_cutoff = nd->past_cutoff;
	rq.handling_days = nd->handling_days;
	rq.ship_weekdays = nd->ship_weekdays;
	rq.ship_calendar = nd->calendar;
	rq.transit_days = transit_days;
	rq.transit_weekdays = transit_weekdays;
	rq.transit_calendar = transit_calendar >= 0 ? transit_calendar : nd->calendar;
	nd->unroutable = NULL;
	switch (sr_holidays_eta(net->holidays, &rq, &nd->ship_date, &nd->eta))
	{
		case SR_ETA_OK:
			/* a node whose local date is behind the clock's can deliver "yesterday" */
			nd->days = nd->eta > net->today ? (double) (nd->eta - net->today) : 0.0;
			break;
		case SR_ETA_NO_SHIP_DAY:
			nd->unroutable = psprintf("unroutable: no shipping day within %d days",
									  SR_CALENDAR_HORIZON_DAYS);
			break;
		case SR_ETA_NO_DELIVERY_DAY:
			nd->unroutable = psprintf("unroutable: no delivery day within %d days",
									  SR_CALENDAR_HORIZON_DAYS);
			break;
	}
}

/* Units of row i in a shipment: units[] if given, else the most node n could ship. */
static int64
row_units(const SrOrder *o, const SrNetwork *net, int n, int i, const int64 *units)
{
	const SrStockRow *r = &net->rows[i];

	if (units)
		return units[i - net->nodes[n].first_row];
	return r->cand >= 0 ? Min(r->available, o->groups[r->group].qty) : 0;
}

/* products: does a shipment of units (NULL: the candidate rows) hold hazmat lines, other lines? */
static void
shipment_content(const SrOrder *o, const SrNetwork *net, int n, const int64 *units,
				 bool *hazmat, bool *general)
{
	const SrNetNode *nd = &net->nodes[n];
	int			i;

	*hazmat = *general = false;
	for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
		if (row_units(o, net, n, i, units) > 0)
		{
			if (o->groups[net->rows[i].group].rules.hazmat)
				*hazmat = true;
			else
				*general = true;
		}
}

/*
 * The lane for a shipment from node n of `units` per row (NULL: estimated as
 * the most the node could ship of each candidate row): the most specific
 * lane matching the destination whose weight bracket holds the shipment's
 * weight and that may carry its content (sr_lane_fits_content), the cheapest for the
 * shipment among equally specific ones, then the fewest transit days.
 * *matched says whether any lane matched the destination and the weight at
 * all, whatever it may carry; *weight gets the shipment's weight.
 */
static const SrLane *
pick_lane(const SrOrder *o, const SrNetwork *net, int n, const int64 *units,
		  bool hazmat, bool general, bool *matched, double *weight)
{
	const SrNetNode *nd = &net->nodes[n];
	const SrLane *best = NULL;
	double		best_cost = 0.0;
	double		count = 0.0;
	int			i;

	*weight = 0.0;
	for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
	{
		int64		u = row_units(o, net, n, i, units);

		count += (double) u;
		*weight += (double) u * o->groups[net->rows[i].group].weight_kg;
	}

	*matched = false;
	for (i = net->lane_start[n]; i < net->lane_start[n + 1]; i++)
	{
		const SrLane *l = &net->lanes[i];
		double		est;

		if (!sr_lane_fits_weight(&l->t, *weight))
			continue;
		*matched = true;
		if (!sr_lane_fits_content(&l->t, hazmat, general))
			continue;
		est = sr_lane_cost(&l->t, count, *weight);
		if (best == NULL || sr_lane_ranks_before(&l->t, est, &best->t, best_cost))
		{
			best = l;
			best_cost = est;
		}
	}
	return best;
}

/*
 * Cost one node for a shipment of `units` per row (NULL: estimated from the
 * most it could ship of each candidate row, which picks the lane's weight
 * bracket): the lane or distance model, then its ship date and ETA.  A
 * hazmat shipment takes the distance model (as ground) only where no lane
 * matches at all; where lanes match but none may carry it, the estimate
 * drops the hazmat rows from the candidates (with a note) and costs the
 * rest, and a shipment of given units is left uncosted.
 */
void
sr_cost_node(const SrOrder *o, const SrRouteProfile *prof, SrNetwork *net, int n,
				const int64 *units)
{
	SrNetNode    *nd = &net->nodes[n];
	const SrLane *best;
	bool		matched;
	bool		hazmat;
	bool		general;
	int			transit_days = 0;
	unsigned	transit_weekdays = SR_WEEKDAYS_MON_FRI;
	int			transit_calendar = -1;
	int			i;

	nd->costed = false;
	nd->service = NULL;
	nd->mode = NULL;
	nd->shipment_cost = 0.0;
	nd->days = 0.0;
	shipment_content(o, net, n, units, &hazmat, &general);
	best = pick_lane(o, net, n, units, hazmat, general, &matched, &nd->weight_kg);
	if (best == NULL && matched && hazmat && units == NULL)
	{
		/* products: no lane here may carry the hazmat lines; the rest may ship */
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
		{
			SrStockRow   *r = &net->rows[i];

			if (r->cand < 0 || !o->groups[r->group].rules.hazmat)
				continue;
			r->cand = -1;
			sr_node_note(nd, "sku %s is hazmat and no lane to the destination may carry it",
					 o->groups[r->group].sku);
		}
		if (!general)
			return;
		best = pick_lane(o, net, n, units, false, true, &matched, &nd->weight_kg);
	}

	sr_cost_distance(o, nd);
	if (best)
	{
		nd->costed = true;
		nd->service = best->service;
		nd->mode = best->mode;
		nd->shipment_cost = best->t.base_cost;
		transit_days = best->t.transit_days;
		transit_weekdays = best->transit_weekdays;
		transit_calendar = best->calendar;
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
			net->rows[i].unit_cost = best->t.per_unit +
				best->t.per_kg * o->groups[net->rows[i].group].weight_kg;
	}
	else if (!matched && nd->has_coords && o->ship_to.has_coords)
	{
		nd->costed = true;
		nd->shipment_cost = prof->dist_fixed;
		/* ground parcel: business days, the node's calendar */
		transit_days = sr_distance_transit_days(nd->miles);
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
			net->rows[i].unit_cost = prof->dist_per_unit + prof->dist_per_unit_mile * nd->miles;
	}
	if (nd->costed)
		sr_cost_eta(net, nd, transit_days, transit_weekdays, transit_calendar);
}

/*
 * products: split the nodes whose hazmat lines must ship apart.  A node
 * that may ship both hazmat and other SKUs of the order becomes two nodes,
 * its hazmat rows (NODE_HAZMAT) and, right after, its other rows
 * (NODE_GENERAL), when the lane that would carry its whole estimated
 * shipment as hazmat asks for hazmat apart (hazmat_separate).  Each part is
 * then costed, chosen and reported as a shipment of its own; both keep the
 * node's lanes.  Decided once per plan, before costing, from the rows the
 * node may ship at all (active, allowed, product rules, stock).
 */
void
sr_split_hazmat_nodes(const SrOrder *o, SrNetwork *net)
{
	bool	   *split;
	int			nsplit = 0;
	int			nlanes_added = 0;
	SrNetNode    *nodes;
	SrStockRow   *rows;
	SrLane	   *lanes;
	int		   *lane_start;
	int			m = 0;
	int			nr = 0;
	int			nl = 0;
	int			n;
	int			i;

	if (!o->any_hazmat || net->nnodes == 0)
		return;
	split = palloc0(sizeof(bool) * net->nnodes);
	for (n = 0; n < net->nnodes; n++)
	{
		SrNetNode    *nd = &net->nodes[n];
		int64	   *units = palloc0(sizeof(int64) * (nd->nrows > 0 ? nd->nrows : 1));
		bool		hazmat = false;
		bool		general = false;
		bool		matched;
		double		weight;
		const SrLane *l;

		if (strcmp(nd->status, "active") != 0)
			continue;
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
		{
			SrStockRow   *r = &net->rows[i];
			const SrSkuGroup *g = &o->groups[r->group];

			if (!r->allowed || r->available <= 0 ||
				sr_products_node_excludes(&g->rules, g->sku, nd->hazmat_node, nd->country))
				continue;
			units[i - nd->first_row] = Min(r->available, g->qty);
			if (g->rules.hazmat)
				hazmat = true;
			else
				general = true;
		}
		if (!hazmat || !general)
			continue;
		l = pick_lane(o, net, n, units, true, false, &matched, &weight);
		if (l != NULL && l->t.hazmat_separate)
		{
			split[n] = true;
			nsplit++;
			nlanes_added += net->lane_start[n + 1] - net->lane_start[n];
		}
	}
	if (nsplit == 0)
		return;

	nodes = palloc0(sizeof(SrNetNode) * (net->nnodes + nsplit));
	rows = palloc0(sizeof(SrStockRow) * (net->nrows > 0 ? net->nrows : 1));
	lanes = palloc0(sizeof(SrLane) * (net->nlanes + nlanes_added + 1));
	lane_start = palloc0(sizeof(int) * (net->nnodes + nsplit + 1));
	for (n = 0; n < net->nnodes; n++)
	{
		int			part;
		int			whole = m;

		for (part = 0; part < (split[n] ? 2 : 1); part++)
		{
			SrNetNode    *dst = &nodes[m];

			*dst = net->nodes[n];
			dst->whole = whole;
			if (split[n])
			{
				dst->part = part == 0 ? NODE_HAZMAT : NODE_GENERAL;
				if (part == 1)
					initStringInfo(&dst->notes);
			}
			dst->first_row = nr;
			dst->nrows = 0;
			for (i = net->nodes[n].first_row;
				 i < net->nodes[n].first_row + net->nodes[n].nrows; i++)
				if (!split[n] || (part == 0) == o->groups[net->rows[i].group].rules.hazmat)
				{
					rows[nr++] = net->rows[i];
					dst->nrows++;
				}
			for (i = net->lane_start[n]; i < net->lane_start[n + 1]; i++)
			{
				lanes[nl] = net->lanes[i];
				lanes[nl++].node = m;
			}
			lane_start[m + 1] = nl;
			m++;
		}
	}
	net->nodes = nodes;
	net->nnodes = m;
	net->rows = rows;
	net->lanes = lanes;
	net->nlanes = nl;
	net->lane_start = lane_start;
	sr_network_index(net);
}

