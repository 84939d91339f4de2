/*
 * route.c — the routing core: for one order and the stock a path sees, the
 * one eligibility chain, the solver call and the plan (see route.h for who
 * calls it and how the paths differ).
 *
 * Eligibility, node by node in node_id order:
 *   node   status (active, not stale), operations (a pickup order's pickup
 *          node and transfers, a rejection of the order, the daily order
 *          limit), the rules on the whole order (require / forbid nodes,
 *          node tags, local_km);
 *   row    the item's allowed_nodes, product rules (hazmat nodes, origin
 *          countries), stock, lots (shelf life and attributes, shared out
 *          first-expiry-first-out), the rules of the SKU (min_node_available),
 *          the daily unit limit;
 *   costed a lane or the distance model reaches the destination with a ship
 *          date and an ETA in the calendar horizon, rules' max_days, the
 *          profile's late policy.
 * The solver chooses among the eligible rows; the nodes it uses are costed
 * again at the weight they really ship (parcel, LTL, FTL) and, where a lane
 * changed, solved once more; a rule whose cap the plan breaks plans the
 * order again under its fallback profile.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "cost.h"
#include "guc.h"
#include "json.h"
#include "inputs.h"
#include "network.h"
#include "operations.h"
#include "order.h"
#include "products.h"
#include "route.h"
#include "rules.h"
#include "solve.h"

/* ---------------------------------------------------------------- operations
 *
 * Capacity, rejections and pickup (the inputs are read by src/operations.c).
 */

/* A pickup order is routed to its pickup node's location. */
static void
ops_pickup_destination(SrOrder *o, bool read_only, SrOps *ops)
{
	SrPickupNode *pk = &ops->pk;

	sr_pickup_node_read(o->pickup_node, read_only, pk);
	o->ship_to = pk->where;
	o->facts.country = o->ship_to.country;
}

/*
 * The operations inputs of the network's nodes: the order's exclusions at
 * the routing clock, and today's load as of load_now (the real clock on a
 * writing path, else the routing clock).
 */
static void
ops_load(SrPlan *p, TimestampTz load_now, const SrRouteRequest *rq)
{
	const SrOrder *o = p->order;
	SrNetwork  *net = &p->net;
	SrOps	   *ops = &p->ops;
	char	  **ids = palloc(sizeof(char *) * (net->nnodes > 0 ? net->nnodes : 1));
	int			n;

	for (n = 0; n < net->nnodes; n++)
		ids[n] = net->nodes[n].node_id;
	sr_ops_read(o->order_ref, p->prof.name, net->nnodes, ids, p->now, load_now,
				rq->read_only, rq->view, &ops->o);
	ops->units_left = palloc(sizeof(int64) * (net->nnodes > 0 ? net->nnodes : 1));
	ops->capped = palloc0(sizeof(bool) * (net->nnodes > 0 ? net->nnodes : 1));
	for (n = 0; n < net->nnodes; n++)
		ops->units_left[n] = sr_capacity_units_left(&ops->o.nodes[n]);
}

/*
 * Whether an active node may serve the order at all; if not, its notes say
 * why.  A pickup order takes units from its pickup node, and from others
 * only by transfer to it where the profile allows; a node that rejected the
 * order is not used for it; a node at its daily limit takes no new order.
 */
static bool
ops_admit(const SrPlan *p, SrNetNode *nd, int n)
{
	const SrOrder *o = p->order;
	const SrOps *ops = &p->ops;
	const SrNodeOps *no = &ops->o.nodes[n];

	if (o->pickup)
	{
		nd->pickup_here = strcmp(nd->node_id, o->pickup_node) == 0;
		if (!nd->pickup_here && strcmp(ops->pk.status, "active") != 0)
		{
			appendStringInfo(&nd->notes, "pickup node %s is %s", o->pickup_node, ops->pk.status);
			return false;
		}
		if (!nd->pickup_here && !ops->o.allow_pickup_transfer)
		{
			appendStringInfo(&nd->notes, "pickup at %s: transfers are off in profile %s (allow_pickup_transfer)",
							 o->pickup_node, p->prof.name);
			return false;
		}
	}
	if (no->exclusion != NULL)
	{
		appendStringInfo(&nd->notes, "rejected by node: %s", no->exclusion);
		return false;
	}
	return !sr_capacity_full(no, &nd->notes);
}

/*
 * Cut a stock row to the units its node may still be given today, in the
 * order of its rows (sku); false when none are left for it.  A promise
 * offers at most what the node may still be given.
 */
static bool
ops_cap_row(const SrOrder *o, SrOps *ops, SrNetNode *nd, SrStockRow *r, bool promise)
{
	/* products: the hazmat and general parts of a node share its capacity */
	int			n = nd->whole;
	int64	   *left = &ops->units_left[n];
	int64		take = promise ? r->available : Min(r->available, o->groups[r->group].qty);

	if (take > *left)
	{
		if (!ops->capped[n])
		{
			const SrNodeOps *no = &ops->o.nodes[n];

			if (nd->notes.len > 0)
				appendStringInfoString(&nd->notes, "; ");
			appendStringInfo(&nd->notes, "capacity: " INT64_FORMAT "/" INT64_FORMAT " units today",
							 no->units, no->unit_limit);
			ops->capped[n] = true;
		}
		r->available = take = *left;
	}
	*left -= take;
	return r->available > 0;
}

/*
 * The pickup node hands over its own units after its handling time (its
 * shipping days and calendar, no transit), with no freight; a transfer to
 * it needs the pickup node's handling days (calendar days) on top of its
 * own ETA, to receive and shelve what arrives.
 */
static void
ops_pickup_cost(const SrOps *ops, SrNetwork *net, int n)
{
	SrNetNode  *nd = &net->nodes[n];
	int			i;

	if (nd->pickup_here)
	{
		nd->costed = true;
		nd->service = NULL;
		nd->mode = NULL;
		nd->shipment_cost = 0.0;
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
			net->rows[i].unit_cost = 0.0;
		sr_cost_eta(net, nd, 0, SR_WEEKDAYS_MON_FRI, -1);
	}
	else if (nd->costed && nd->unroutable == NULL)
	{
		nd->eta += ops->pk.handling_days;
		nd->days += ops->pk.handling_days;
	}
}

/* ---------------------------------------------------------------- lots */

/*
 * products: share the free lots of row i's SKU at node n among the order's
 * demands on it (the rows from i on with that SKU, one per group).  A
 * promise (available()) asks for every unit the row has.
 */
static void
share_lots(const SrOrder *o, SrNetwork *net, int n, int i, DateADT today, bool promise)
{
	SrNetNode  *nd = &net->nodes[n];
	const char *sku = o->groups[net->rows[i].group].sku;
	int			end;
	int			k;
	SrLotDemand **d;

	for (end = i; end < nd->first_row + nd->nrows &&
		 strcmp(o->groups[net->rows[end].group].sku, sku) == 0; end++)
		;
	d = palloc(sizeof(SrLotDemand *) * (end - i));
	for (k = i; k < end; k++)
	{
		SrStockRow *r = &net->rows[k];
		const SrSkuGroup *g = &o->groups[r->group];

		r->lots = palloc0(sizeof(SrLotDemand));
		r->lots->qty = promise ? Max(r->available, 0) : g->qty;
		r->lots->min_shelf_days = g->min_shelf_days;
		r->lots->attrs = g->req.attrs;
		d[k - i] = r->lots;
	}
	sr_lots_share(net->lots, nd->node_id, sku, net->rows[i].available, today, d, end - i);
}

/* ---------------------------------------------------------------- eligibility */

/*
 * Node-level eligibility: status, operations (pickup, rejection, daily
 * order limit), the rules on the whole order.  False, with the reason in the
 * node's notes, when the node may not serve the order.
 */
static bool
node_admitted(SrPlan *p, int n)
{
	SrNetNode  *nd = &p->net.nodes[n];
	const char *why;

	sr_cost_distance(p->order, nd);
	if (strcmp(nd->status, "active") != 0)
	{
		appendStringInfoString(&nd->notes, nd->status);
		return false;
	}
	if (!ops_admit(p, nd, n))
		return false;
	if ((why = sr_rules_exclude_node(p->rules, nd->node_id,
									 nd->has_coords && p->order->ship_to.has_coords,
									 nd->distance_km)) != NULL)
	{
		sr_node_note(nd, "%s", why);
		return false;
	}
	return true;
}

typedef enum RowVerdict
{
	ROW_ELIGIBLE,
	ROW_NO_STOCK,				/* nothing to give (a promise of 0, not an exclusion) */
	ROW_EXCLUDED
} RowVerdict;

/*
 * Row-level eligibility of stock row i of node n: the item's allowed_nodes,
 * product rules, stock, lots, the SKU's rules, the daily unit limit.  The
 * reasons go to the node's notes, once per SKU.  A promise (available())
 * also checks the SKU's destination lock (an order is refused at reading
 * for it) and shares the lots out for every unit the row has.
 */
static RowVerdict
row_eligible(SrPlan *p, int n, int i, bool promise)
{
	const SrOrder *o = p->order;
	SrNetwork  *net = &p->net;
	SrNetNode  *nd = &net->nodes[n];
	SrStockRow *r = &net->rows[i];
	const SrSkuGroup *gr = &o->groups[r->group];

	/* products: a SKU's groups share its stock row; say things once per SKU */
	bool		again = i > nd->first_row &&
		strcmp(o->groups[net->rows[i - 1].group].sku, gr->sku) == 0;
	const char *why;

	if (!r->allowed)
	{
		if (!again)
			sr_node_note(nd, "not allowed for sku %s", gr->sku);
		return ROW_EXCLUDED;
	}
	/* products: hazmat nodes, ship_from_countries */
	if ((why = sr_products_node_excludes(&gr->rules, gr->sku, nd->hazmat_node,
										 nd->country)) != NULL)
	{
		if (!again)
			sr_node_note(nd, "%s", why);
		return ROW_EXCLUDED;
	}
	if (promise && o->ship_to.country != NULL &&
		!sr_products_destination_ok(&gr->rules, o->ship_to.country, o->ship_to.region))
	{
		sr_node_note(nd, "sku %s may not ship to this destination", gr->sku);
		return ROW_EXCLUDED;
	}
	if (r->available <= 0)
	{
		if (!again && !promise)
			sr_node_note(nd, "no stock of sku %s", gr->sku);
		return ROW_NO_STOCK;
	}
	/* products: a lot-tracked line may use its share of the eligible lots */
	if (gr->rules.lot_tracked)
	{
		if (r->lots == NULL)
			share_lots(o, net, n, i, p->today, promise);
		if ((why = sr_lots_note(r->lots, gr->sku)) != NULL &&
			!(promise && r->lots->share > 0))
			sr_node_note(nd, "%s", why);
		r->available = r->lots->share;
		if (r->available <= 0)
			return promise ? ROW_EXCLUDED : ROW_NO_STOCK;
	}
	/* rules: exclusions of sku / sku_tag rules, min_node_available */
	if ((why = sr_rules_exclude_row(p->rules, nd->node_id, r->group, r->available,
									nd->has_coords && o->ship_to.has_coords,
									nd->distance_km)) != NULL)
	{
		sr_node_note(nd, "%s", why);
		return ROW_EXCLUDED;
	}
	/* ops: the units the node may still be given today */
	if (!ops_cap_row(o, &p->ops, nd, r, promise))
		return ROW_EXCLUDED;
	return ROW_ELIGIBLE;
}

/*
 * After costing: the node reaches the destination with an ETA in the
 * horizon, the rules' max_days hold for its rows (a row that breaks one
 * leaves), and the profile's late policy keeps it.  *ncand is the node's
 * candidate rows, updated; false when the node is out.
 */
static bool
node_costed_ok(SrPlan *p, int n, int *ncand)
{
	const SrOrder *o = p->order;
	SrNetwork  *net = &p->net;
	SrNetNode  *nd = &net->nodes[n];
	const char *why;
	int			i;

	if (!nd->costed)
	{
		bool		left = false;

		/* products: with no row left (hazmat no lane may carry), the notes say why */
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
			if (net->rows[i].cand >= 0)
				left = true;
		if (left)
			sr_node_note(nd, "%s", "no lane to the destination and no coordinates for the distance model");
		return false;
	}
	if (nd->unroutable)
	{
		sr_node_note(nd, "%s", nd->unroutable);
		return false;
	}
	/* rules: max_days limits, now that the node's days are known */
	for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
		if (net->rows[i].cand >= 0 &&
			(why = sr_rules_exclude_days(p->rules, nd->node_id, net->rows[i].group, nd->days)) != NULL)
		{
			net->rows[i].cand = -1;
			(*ncand)--;
			if (strstr(nd->notes.data, why) == NULL)
				sr_node_note(nd, "%s", why);
		}
	if (*ncand == 0)
		return false;
	if (p->prof.exclude_late && p->prof.sr.need_by_days >= 0 && nd->days > p->prof.sr.need_by_days)
	{
		StringInfoData msg;

		initStringInfo(&msg);
		appendStringInfoString(&msg, "late: eta ");
		sr_json_iso_date(&msg, nd->eta);
		appendStringInfoString(&msg, ", need_by ");
		sr_json_iso_date(&msg, o->need_by);
		sr_node_note(nd, "%s", msg.data);
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------- repricing */

/* the unit cost the problem gives (line, node) */
static double
cands_unit_cost(const SrProblem *prob, int line, int node)
{
	int			c;

	for (c = 0; c < prob->ncands; c++)
		if (prob->cands[c].line == line && prob->cands[c].node == node)
			return prob->cands[c].unit_cost;
	return 0.0;
}

/*
 * Re-cost the nodes a solution uses with the weights they really ship (the
 * estimate took the most each could ship, which may sit in another weight
 * bracket: parcel, LTL, FTL).  A node whose lane changes takes the new
 * lane's costs, in the network and in the solver's problem (moved by the
 * change, so a rule's discount on the node stays as it was); a node no lane
 * may carry at its real weight keeps its estimate, and a pickup node's own
 * handover has no lane.  When anything changed, the result's terms and score
 * are recomputed for the new costs, as the solver scores them.  Returns
 * whether anything changed.
 */
static bool
reprice_plan(SrPlan *p, SrNode *snodes, SrCand *cands, SrResult *res)
{
	const SrOrder *o = p->order;
	SrNetwork  *net = &p->net;
	SrProblem  *prob = &p->prob;
	bool		changed = false;
	bool	   *open = palloc0(sizeof(bool) * (prob->nnodes > 0 ? prob->nnodes : 1));
	int			s;
	int			a;

	for (a = 0; a < res->nallocs; a++)
		open[res->allocs[a].node] = true;
	for (s = 0; s < prob->nnodes; s++)
	{
		int			n = p->node_of_solver[s];
		SrNetNode  *nd = &net->nodes[n];
		SrNetNode	saved = *nd;
		double	   *saved_cost = palloc(sizeof(double) * (nd->nrows > 0 ? nd->nrows : 1));
		int64	   *units = palloc0(sizeof(int64) * (nd->nrows > 0 ? nd->nrows : 1));
		int			i;

		if (!open[s] || nd->pickup_here)
			continue;
		for (a = 0; a < res->nallocs; a++)
			if (res->allocs[a].node == s)
				for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
					if (net->rows[i].cand >= 0 && net->rows[i].group == res->allocs[a].line)
						units[i - nd->first_row] += res->allocs[a].qty;
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
			saved_cost[i - nd->first_row] = net->rows[i].unit_cost;

		sr_cost_node(o, &p->prof, net, n, units);
		if (o->pickup)
			ops_pickup_cost(&p->ops, net, n);	/* ops: a transfer's days at the pickup node */
		if (!nd->costed || nd->unroutable)
		{
			/* nothing may carry it at this weight: the estimate stands */
			*nd = saved;
			for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
				net->rows[i].unit_cost = saved_cost[i - nd->first_row];
			continue;
		}
		if (nd->shipment_cost == saved.shipment_cost && nd->days == saved.days &&
			nd->service == saved.service && nd->mode == saved.mode)
		{
			bool		same = true;

			for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
				if (net->rows[i].unit_cost != saved_cost[i - nd->first_row])
					same = false;
			if (same)
				continue;
		}
		changed = true;
		snodes[s].shipment_cost = Max(0.0, snodes[s].shipment_cost +
									  (nd->shipment_cost - saved.shipment_cost));
		snodes[s].days = Max(0.0, snodes[s].days + (nd->days - saved.days));
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
			if (net->rows[i].cand >= 0)
				cands[net->rows[i].cand].unit_cost = net->rows[i].unit_cost;
	}
	if (!changed)
		return false;

	/* the solution's terms at the new costs (as the solver scores them) */
	res->terms.cost = 0.0;
	res->terms.days = 0.0;
	res->terms.late = 0.0;
	for (a = 0; a < res->nallocs; a++)
		res->terms.cost += cands_unit_cost(prob, res->allocs[a].line, res->allocs[a].node) *
			(double) res->allocs[a].qty;
	for (s = 0; s < prob->nnodes; s++)
	{
		if (!open[s])
			continue;
		res->terms.cost += snodes[s].shipment_cost;
		res->terms.days += snodes[s].days;
		if (prob->profile.need_by_days >= 0.0 && snodes[s].days > prob->profile.need_by_days)
			res->terms.late += snodes[s].days - prob->profile.need_by_days;
	}
	res->score = sr_score_terms(&prob->profile, &res->terms);
	return true;
}

/* ---------------------------------------------------------------- planning */

static int
cmp_ship_line(const void *a, const void *b)
{
	const SrShipLine *x = a;
	const SrShipLine *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return 0;
}

/*
 * Read what the order is routed over: the pickup destination, the profile
 * (a rule may switch it), items and product rules, the order's options over
 * the profile, the network as the view shows it, and the operations inputs.
 * rules is NULL on an order's first pass.
 */
static void
route_read(SrPlan *p, SrOrder *o, const SrRouteRequest *rq, SrRules *rules)
{
	TimestampTz load_now;

	memset(p, 0, sizeof(*p));
	p->order = o;
	p->now = sr_routing_now();
	p->today = DatumGetDateADT(DirectFunctionCall1(timestamptz_date,
												   TimestampTzGetDatum(p->now)));
	/* a writing path reads today's load on the real clock, as the triggers count it */
	load_now = rq->read_only ? p->now : GetCurrentTransactionStartTimestamp();

	/* ops: a pickup order's destination is its pickup node (the rules see its country) */
	if (o->pickup)
		ops_pickup_destination(o, rq->read_only, &p->ops);
	sr_load_profile(o->profile, rq->read_only, &p->prof);
	/* rules (src/rules.c): the rules in force that match; one may switch the profile */
	p->rules = rules != NULL ? rules : sr_rules_load(&o->facts, p->now, rq->read_only);
	if (strcmp(sr_rules_profile(p->rules, o->profile), o->profile) != 0)
		sr_load_profile(sr_rules_profile(p->rules, o->profile), rq->read_only, &p->prof);
	sr_load_items(o, rq->read_only);
	/* products: product rules; destination locks and lot requirements (src/products.c) */
	sr_load_products(o, rq->read_only, true);

	/* the order's options override its profile */
	if (o->allow_partial >= 0)
		p->prof.sr.allow_partial = o->allow_partial;
	if (o->ship_complete >= 0)
		p->prof.sr.ship_complete = o->ship_complete;
	if (o->max_shipments >= 0)
		p->prof.sr.max_shipments = o->max_shipments;
	if (o->has_need_by)
		p->prof.sr.need_by_days = o->need_by > p->today ? (double) (o->need_by - p->today) : 0.0;

	sr_load_network(o, p->now, rq->read_only, rq->view, &p->net);
	sr_check_candidates(p->net.nrows, o->order_ref);
	/* products: hazmat lines apart where a lane says so */
	sr_split_hazmat_nodes(o, &p->net);
	ops_load(p, load_now, rq);
}

/*
 * The solver's problem: node by node in node_id order, the eligibility
 * chain, costing, and the eligible rows as candidates.
 */
static void
route_problem(SrPlan *p, SrNode **snodes_out, SrCand **cands_out)
{
	const SrOrder *o = p->order;
	SrNetwork  *net = &p->net;
	SrProblem  *prob = &p->prob;
	SrLine	   *lines;
	SrNode	   *snodes;
	SrCand	   *cands;
	const char *why;
	int			i;
	int			n;

	lines = palloc0(sizeof(SrLine) * (o->ngroups > 0 ? o->ngroups : 1));
	for (i = 0; i < o->ngroups; i++)
		lines[i].qty = o->groups[i].qty;
	snodes = palloc0(sizeof(SrNode) * (net->nnodes > 0 ? net->nnodes : 1));
	cands = palloc0(sizeof(SrCand) * (net->nrows > 0 ? net->nrows : 1));
	p->node_of_solver = palloc0(sizeof(int) * (net->nnodes > 0 ? net->nnodes : 1));
	memset(prob, 0, sizeof(*prob));

	for (n = 0; n < net->nnodes; n++)
	{
		SrNetNode  *nd = &net->nodes[n];
		int			ncand = 0;

		if (!node_admitted(p, n))
			continue;
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
			if (row_eligible(p, n, i, false) == ROW_ELIGIBLE)
			{
				net->rows[i].cand = 0;	/* provisional, numbered below */
				ncand++;
			}
		if (ncand == 0)
			continue;
		sr_cost_node(o, &p->prof, net, n, NULL);
		if (o->pickup)
			ops_pickup_cost(&p->ops, net, n);
		if (!node_costed_ok(p, n, &ncand))
			continue;

		nd->eligible = true;
		p->node_of_solver[prob->nnodes] = n;
		snodes[prob->nnodes].shipment_cost = nd->shipment_cost;
		snodes[prob->nnodes].days = nd->days;
		snodes[prob->nnodes].distance_km = nd->distance_km;
		/* ops: a node near its daily limit costs up to w_capacity more */
		snodes[prob->nnodes].penalty = p->ops.o.w_capacity * sr_capacity_used(&p->ops.o.nodes[n]);

		/*
		 * ops: a pickup node's own handover runs while transfers travel (the
		 * customer waits for the last arrival, not the sum): no days in the
		 * score, so its own units come first
		 */
		if (nd->pickup_here)
			snodes[prob->nnodes].days = 0.0;
		/* rules: a preferred node's bonus, as a discount within its own terms */
		if ((why = sr_rules_discount(p->rules, prob->nnodes, nd->node_id, &p->prof.sr,
									 &snodes[prob->nnodes])) != NULL)
			sr_node_note(nd, "%s", why);
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
		{
			SrStockRow *r = &net->rows[i];
			SrCand	   *c;

			if (r->cand < 0)
				continue;
			r->cand = prob->ncands;
			c = &cands[prob->ncands++];
			c->line = r->group;
			c->node = prob->nnodes;
			c->available = r->available;
			c->unit_cost = r->unit_cost;
			c->balance_free = r->balance_free;
		}
		prob->nnodes++;
	}
	/* rows of nodes that turned out ineligible are not candidates */
	for (n = 0; n < net->nnodes; n++)
		if (!net->nodes[n].eligible)
			for (i = net->nodes[n].first_row; i < net->nodes[n].first_row + net->nodes[n].nrows; i++)
				net->rows[i].cand = -1;

	prob->nlines = o->ngroups;
	prob->lines = lines;
	prob->nodes = snodes;
	prob->cands = cands;
	prob->profile = p->prof.sr;
	*snodes_out = snodes;
	*cands_out = cands;
}

/*
 * Solve, then re-cost the nodes the plan uses at the weights they ship; if
 * a lane changed (another weight bracket: parcel, LTL, FTL), solve once
 * more with those costs and re-cost its nodes too, then keep the better of
 * the two solutions at their real costs.  The plan's lanes then match the
 * weights its shipments weigh.
 */
static void
route_solve(SrPlan *p, SrNode *snodes, SrCand *cands)
{
	SrNetwork  *net = &p->net;
	int			i;

	p->passes = 1;
	sr_solve_or_error(&p->prob, &p->res, &p->micros);
	p->estimated = palloc(sizeof(SrNetNode) * (net->nnodes > 0 ? net->nnodes : 1));
	memcpy(p->estimated, net->nodes, sizeof(SrNetNode) * net->nnodes);
	if (reprice_plan(p, snodes, cands, &p->res))
	{
		SrResult	first_res = p->res;
		SrNetNode  *first_nodes = palloc(sizeof(SrNetNode) * net->nnodes);
		double	   *first_costs = palloc(sizeof(double) * (net->nrows > 0 ? net->nrows : 1));
		int64		more;

		memcpy(first_nodes, net->nodes, sizeof(SrNetNode) * net->nnodes);
		for (i = 0; i < net->nrows; i++)
			first_costs[i] = net->rows[i].unit_cost;
		sr_solve_or_error(&p->prob, &p->res, &more);
		p->passes = 2;
		p->micros += more;
		(void) reprice_plan(p, snodes, cands, &p->res);
		p->res.evaluated += first_res.evaluated;
		p->res.pruned += first_res.pruned;
		if (first_res.score < p->res.score)
		{
			/* the first solution, at its real costs, is the better one */
			first_res.evaluated = p->res.evaluated;
			first_res.pruned = p->res.pruned;
			first_res.proven_optimal = false;
			p->res = first_res;
			memcpy(net->nodes, first_nodes, sizeof(SrNetNode) * net->nnodes);
			for (i = 0; i < net->nrows; i++)
				net->rows[i].unit_cost = first_costs[i];
		}
	}
	/* rules: the real terms of preferred nodes, and the score the bonus took off */
	p->preference = sr_rules_restore_terms(p->rules, &p->prob.profile, &p->res);
}

/*
 * The shipment lines: each (sku group, node) allocation spread over the
 * order's lines of that group, in line order; the lots each takes (FEFO);
 * the plan's cost, slowest shipment and pickup readiness.
 */
static void
route_ship(SrPlan *p)
{
	const SrOrder *o = p->order;
	SrNetwork  *net = &p->net;
	int			i;

	p->left = palloc(sizeof(int64) * (o->nlines > 0 ? o->nlines : 1));
	for (i = 0; i < o->nlines; i++)
		p->left[i] = o->lines[i].qty;
	/* each piece ends an allocation or a line: at most nallocs + nlines */
	p->ship = palloc0(sizeof(SrShipLine) * ((size_t) p->res.nallocs + o->nlines + 1));
	p->nship = 0;
	for (i = 0; i < p->res.nallocs; i++)
	{
		int64		q = p->res.allocs[i].qty;
		int			l;

		for (l = 0; l < o->nlines && q > 0; l++)
		{
			const SrOrderLine *ln = &o->lines[l];
			int64		take;

			if (ln->group != p->res.allocs[i].line || p->left[l] == 0)
				continue;
			take = Min(q, p->left[l]);
			p->left[l] -= take;
			q -= take;
			p->ship[p->nship].node = p->node_of_solver[p->res.allocs[i].node];
			p->ship[p->nship].line = l;
			p->ship[p->nship].qty = take;
			p->nship++;
		}
	}
	qsort(p->ship, p->nship, sizeof(SrShipLine), cmp_ship_line);

	/* products: the lots each line takes, FEFO, in shipment order */
	for (i = 0; i < p->nship; i++)
	{
		SrShipLine *sl = &p->ship[i];
		SrNetNode  *nd = &net->nodes[sl->node];
		int			k;

		for (k = nd->first_row; k < nd->first_row + nd->nrows; k++)
			if (net->rows[k].group == o->lines[sl->line].group && net->rows[k].lots)
				sl->lots = sr_lots_take(net->lots, net->rows[k].lots, sl->qty, &sl->nlots);
	}

	p->total_cost = 0.0;
	p->max_days = -1.0;
	p->ready_by = DATEVAL_NOBEGIN;
	for (i = 0; i < p->nship;)
	{
		SrShipment	s;
		SrNetNode  *nd = &net->nodes[p->ship[i].node];

		i = sr_plan_shipment(p, i, &s);
		p->total_cost += s.cost;
		p->max_days = Max(p->max_days, nd->days);
		if (p->prof.sr.need_by_days >= 0 && nd->days > p->prof.sr.need_by_days)
			p->any_late = true;
		if (o->pickup)
			p->ready_by = Max(p->ready_by, nd->eta);
	}
}

int
sr_plan_shipment(const SrPlan *p, int first, SrShipment *s)
{
	const SrOrder *o = p->order;
	const SrNetwork *net = &p->net;
	const SrNetNode *nd = &net->nodes[p->ship[first].node];
	int			j;

	s->node = p->ship[first].node;
	s->first = first;
	s->units = 0;
	s->weight_kg = 0.0;
	s->cost = nd->shipment_cost;
	s->hazmat = false;
	for (j = first; j < p->nship && p->ship[j].node == s->node; j++)
	{
		const SrShipLine *sl = &p->ship[j];
		const SrSkuGroup *g = &o->groups[o->lines[sl->line].group];
		int			k;

		for (k = nd->first_row; k < nd->first_row + nd->nrows; k++)
			if (net->rows[k].group == o->lines[sl->line].group)
				s->cost += net->rows[k].unit_cost * (double) sl->qty;
		s->units += sl->qty;
		s->weight_kg += (double) sl->qty * g->weight_kg;
		if (g->rules.hazmat)
			s->hazmat = true;
	}
	s->next = j;
	return j;
}

/*
 * explain_deltas: for each eligible node the plan does not use, the best
 * plan that takes what it can from that node (its fixed terms and unit
 * costs made free for the search, so the solver uses it as far as the
 * order's options allow), priced at the node's real costs: how much more
 * it costs, and how many days later its last shipment arrives.  One solve
 * per such node, so only on request.
 */
static void
route_deltas(SrPlan *p)
{
	SrNetwork  *net = &p->net;
	const SrProblem *prob = &p->prob;
	bool	   *open = palloc0(sizeof(bool) * (prob->nnodes > 0 ? prob->nnodes : 1));
	SrNode	   *nodes = palloc(sizeof(SrNode) * (prob->nnodes > 0 ? prob->nnodes : 1));
	SrCand	   *cands = palloc(sizeof(SrCand) * (prob->ncands > 0 ? prob->ncands : 1));
	int			a;
	int			s;

	p->has_delta = palloc0(sizeof(bool) * (net->nnodes > 0 ? net->nnodes : 1));
	p->delta_cost = palloc0(sizeof(double) * (net->nnodes > 0 ? net->nnodes : 1));
	p->delta_days = palloc0(sizeof(double) * (net->nnodes > 0 ? net->nnodes : 1));
	for (a = 0; a < p->res.nallocs; a++)
		open[p->res.allocs[a].node] = true;
	for (s = 0; s < prob->nnodes; s++)
	{
		SrProblem	q = *prob;
		SrResult	r;
		int64		micros;
		double		cost = 0.0;
		double		days = -1.0;
		bool		uses = false;
		bool	   *ropen;
		int			c;
		int			t;

		if (open[s])
			continue;
		CHECK_FOR_INTERRUPTS();
		memcpy(nodes, prob->nodes, sizeof(SrNode) * prob->nnodes);
		memcpy(cands, prob->cands, sizeof(SrCand) * prob->ncands);
		nodes[s].shipment_cost = nodes[s].days = nodes[s].distance_km = nodes[s].penalty = 0.0;
		for (c = 0; c < prob->ncands; c++)
			if (cands[c].node == s)
			{
				cands[c].unit_cost = 0.0;
				cands[c].balance_free = cands[c].available;
			}
		q.nodes = nodes;
		q.cands = cands;
		sr_solve_or_error(&q, &r, &micros);

		/* the alternative at real prices (the network's, not the search's) */
		ropen = palloc0(sizeof(bool) * prob->nnodes);
		for (a = 0; a < r.nallocs; a++)
		{
			const SrAlloc *al = &r.allocs[a];
			int			n = p->node_of_solver[al->node];
			SrNetNode  *nd = &net->nodes[n];
			int			i;

			if (al->node == s)
				uses = true;
			ropen[al->node] = true;
			for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
				if (net->rows[i].cand >= 0 && net->rows[i].group == al->line)
					cost += net->rows[i].unit_cost * (double) al->qty;
		}
		for (t = 0; t < prob->nnodes; t++)
			if (ropen[t])
			{
				SrNetNode  *nd = &net->nodes[p->node_of_solver[t]];

				cost += nd->shipment_cost;
				days = Max(days, nd->days);
			}
		if (!uses)
			continue;			/* the order's options leave it no part */
		t = p->node_of_solver[s];
		p->has_delta[t] = true;
		p->delta_cost[t] = cost - p->total_cost;
		p->delta_days[t] = p->nship > 0 ? days - p->max_days : days;
	}
}

SrPlan *
sr_route(SrOrder *o, const SrRouteRequest *rq)
{
	SrRules    *rules = NULL;

	for (;;)
	{
		SrPlan	   *p = palloc(sizeof(SrPlan));
		SrNode	   *snodes;
		SrCand	   *cands;

		route_read(p, o, rq, rules);
		route_problem(p, &snodes, &cands);
		route_solve(p, snodes, cands);
		route_ship(p);

		/*
		 * rules: a broken cap plans the order again with the same rules,
		 * which then pick the fallback profile or exclude every node
		 */
		rules = p->rules;
		if (!sr_rules_replan(rules, p->prof.name, p->total_cost,
							 p->nship > 0 ? p->max_days : -1.0))
		{
			if (o->explain_deltas)
				route_deltas(p);
			return p;
		}
	}
}

int64
sr_plan_unfilled_units(const SrPlan *p)
{
	int64		u = 0;
	int			i;

	for (i = 0; i < p->order->nlines; i++)
		u += p->left[i];
	return u;
}

/* ---------------------------------------------------------------- available() */

SrPromise *
sr_promise(SrOrder *o, bool has_ship_to)
{
	SrPromise  *pr = palloc0(sizeof(SrPromise));
	SrPlan	   *p = palloc0(sizeof(SrPlan));
	SrNetwork  *net = &p->net;
	TimestampTz now = sr_routing_now();
	int			n;

	pr->order = o;
	pr->route = p;
	pr->has_ship_to = has_ship_to;
	p->order = o;
	p->now = now;
	p->today = DatumGetDateADT(DirectFunctionCall1(timestamptz_date, TimestampTzGetDatum(now)));
	sr_load_items(o, true);
	sr_load_products(o, true, false);
	/* rules (src/rules.c) matching this customer, destination and sku */
	p->rules = sr_rules_load(&o->facts, now, true);
	sr_load_profile(sr_rules_profile(p->rules, o->profile), true, &p->prof);
	sr_load_network(o, now, true, NULL, net);
	ops_load(p, now, &(SrRouteRequest)
	{
		.read_only = true
	});

	pr->nnodes = net->nnodes;
	pr->nodes = palloc0(sizeof(SrPromiseNode) * (net->nnodes > 0 ? net->nnodes : 1));
	for (n = 0; n < net->nnodes; n++)
	{
		SrNetNode  *nd = &net->nodes[n];
		SrStockRow *r = &net->rows[nd->first_row];
		SrPromiseNode *pn = &pr->nodes[n];
		int64		on_hand = r->on_hand;
		int64		reserved = r->reserved;
		bool		ok;

		pn->node = nd;
		ok = node_admitted(p, n);
		if (ok)
			ok = row_eligible(p, n, nd->first_row, true) != ROW_EXCLUDED;
		else if (o->groups[0].rules.lot_tracked && r->available > 0)
		{
			/* what it holds of the lots the customer could get, though it may not ship */
			share_lots(o, net, n, nd->first_row, p->today, true);
			r->available = r->lots->share;
		}
		if (has_ship_to)
		{
			r->cand = 0;		/* cost the node as if it shipped one unit */
			sr_cost_node(o, &p->prof, net, n, NULL);
			pn->costed = nd->costed && !nd->unroutable;
			if (ok)
			{
				int			ncand = 1;

				ok = node_costed_ok(p, n, &ncand);
			}
		}
		pn->routable = ok;
		pn->excluded = nd->notes.len > 0 ? nd->notes.data : NULL;
		pn->on_hand = on_hand;
		pn->reserved = reserved;
		pn->available = Max(r->available, 0);
		pr->on_hand += on_hand;
		pr->reserved += reserved;
		if (ok)
			pr->available += pn->available;
	}
	return pr;
}
