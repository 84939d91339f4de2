/*
 * planjson.c — the plan at the edge: the writer of the plan document (the
 * contract in DESIGN.md: order_ref, status, shipments, unfilled, cost,
 * score, score_terms, rules, profile, need_by, pickup keys, explain), of
 * available()'s document and of the shipment messages for the outbox, and
 * the plan's shipment lines and unfilled lines as the arrays SQL takes.  It
 * owns every key of them; the routing core (src/route.c) hands it a plan as
 * structs.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "json.h"
#include "network.h"
#include "operations.h"
#include "order.h"
#include "prepared.h"
#include "products.h"
#include "route.h"
#include "rules.h"
#include "solve.h"

/* the part of a node in explain and shipments: "hazmat", "general" */
static const char *
part_name(const SrNetNode *nd)
{
	return nd->part == NODE_HAZMAT ? "hazmat" : nd->part == NODE_GENERAL ? "general" : NULL;
}

/* "ground (parcel)", "distance model" as a JSON string */
static void
append_lane_name(StringInfo buf, const SrNetNode *nd)
{
	if (nd->service == NULL)
		escape_json(buf, "distance model");
	else if (nd->mode == NULL)
		escape_json(buf, nd->service);
	else
		escape_json(buf, psprintf("%s (%s)", nd->service, nd->mode));
}

/* Why an eligible node ships nothing, as far as the plan's shape tells. */
static void
not_chosen_reason(StringInfo why, const SrPlan *p, int n)
{
	const SrOrder *o = p->order;
	const SrNetwork *net = &p->net;
	const SrNetNode *nd = &net->nodes[n];
	const SrProfile *pr = &p->prob.profile;
	bool		partial = pr->allow_partial && !pr->ship_complete;

	if (p->res.status == SR_UNFILLABLE && !partial)
	{
		appendStringInfoString(why, "not chosen: the order cannot be filled in full");
		if (pr->ship_complete)
			appendStringInfoString(why, " from one node");
		else if (pr->max_shipments > 0)
			appendStringInfo(why, " in %d shipment%s", pr->max_shipments,
							 pr->max_shipments == 1 ? "" : "s");
		appendStringInfoString(why, " and partial shipments are not allowed");
		return;
	}
	if (p->res.status == SR_UNFILLABLE)
	{
		appendStringInfoString(why, "not chosen: backordering scores better than shipping");
		return;
	}
	if (pr->ship_complete)
	{
		int			g;

		for (g = 0; g < o->ngroups; g++)
		{
			int			i;
			bool		covered = false;

			for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
				if (net->rows[i].group == g && net->rows[i].cand >= 0 &&
					net->rows[i].available >= o->groups[g].qty)
					covered = true;
			if (!covered)
			{
				appendStringInfo(why, "not chosen: cannot ship the whole order alone (ship_complete): short of sku %s",
								 o->groups[g].sku);
				return;
			}
		}
	}
	appendStringInfoString(why, "not chosen: the plan scores better without it");
}

/* Why a pickup order's line stays unfilled. */
static char *
pickup_unfilled_reason(const SrPlan *p)
{
	const SrOrder *o = p->order;
	const SrOps *ops = &p->ops;

	if (strcmp(ops->pk.status, "active") != 0)
		return psprintf("pickup node %s is %s", o->pickup_node, ops->pk.status);
	if (!ops->o.allow_pickup_transfer)
		return psprintf("pickup node %s cannot provide it and transfers are off in profile %s",
						o->pickup_node, p->prof.name);
	return psprintf("neither pickup node %s nor a transfer to it can provide it", o->pickup_node);
}

/* A node's daily limits and today's load, for explain.candidates. */
static void
append_load(StringInfo b, const SrNodeOps *no)
{
	appendStringInfo(b, ",\"load\":{\"orders\":" INT64_FORMAT ",\"units\":" INT64_FORMAT,
					 no->orders, no->units);
	if (no->order_limit >= 0)
		appendStringInfo(b, ",\"daily_order_limit\":" INT64_FORMAT, no->order_limit);
	if (no->unit_limit >= 0)
		appendStringInfo(b, ",\"daily_unit_limit\":" INT64_FORMAT, no->unit_limit);
	appendStringInfoChar(b, '}');
}

int
sr_plan_shipment_json(StringInfo b, const SrPlan *p, int first)
{
	const SrOrder *o = p->order;
	const SrNetwork *net = &p->net;
	const SrNetNode *nd = &net->nodes[p->ship[first].node];
	SrShipment	s;
	int			j;
	int			k;

	(void) sr_plan_shipment(p, first, &s);
	appendStringInfoString(b, "{\"node_id\":");
	escape_json(b, nd->node_id);
	appendStringInfoString(b, ",\"service\":");
	sr_json_string_or_null(b, nd->service);
	/* products: the lane's mode (null under the distance model) */
	appendStringInfoString(b, ",\"mode\":");
	sr_json_string_or_null(b, nd->mode);
	appendStringInfoString(b, ",\"lines\":[");
	for (j = s.first; j < s.next; j++)
	{
		const SrShipLine *sl = &p->ship[j];
		const SrOrderLine *ln = &o->lines[sl->line];

		if (j > s.first)
			appendStringInfoChar(b, ',');
		appendStringInfoString(b, "{\"line_ref\":");
		escape_json(b, ln->line_ref);
		appendStringInfoString(b, ",\"sku\":");
		escape_json(b, ln->sku);
		appendStringInfo(b, ",\"qty\":" INT64_FORMAT, sl->qty);
		if (sl->lots != NULL)
		{
			/* products: the lots this line takes, FEFO */
			appendStringInfoString(b, ",\"lots\":[");
			for (k = 0; k < sl->nlots; k++)
			{
				const SrLot *l = &net->lots->lots[sl->lots[k].lot];

				if (k > 0)
					appendStringInfoChar(b, ',');
				appendStringInfoString(b, "{\"lot_code\":");
				escape_json(b, l->lot_code);
				appendStringInfo(b, ",\"qty\":" INT64_FORMAT ",\"expires_on\":", sl->lots[k].qty);
				if (!l->has_expiry)
					appendStringInfoString(b, "null");
				else if (DATE_NOT_FINITE(l->expires_on))
					appendStringInfoString(b, DATE_IS_NOBEGIN(l->expires_on) ? "\"-infinity\"" : "\"infinity\"");
				else
					sr_json_date(b, l->expires_on);
				appendStringInfoChar(b, '}');
			}
			appendStringInfoChar(b, ']');
		}
		appendStringInfoChar(b, '}');
	}
	appendStringInfo(b, "],\"hazmat\":%s,\"weight_kg\":", s.hazmat ? "true" : "false");
	sr_json_number(b, s.weight_kg);
	appendStringInfoString(b, ",\"cost\":");
	sr_json_number(b, s.cost);
	appendStringInfoString(b, ",\"days\":");
	sr_json_number(b, nd->days);
	appendStringInfoString(b, ",\"ship_date\":");
	sr_json_date(b, nd->ship_date);
	appendStringInfoString(b, ",\"eta\":");
	sr_json_date(b, nd->eta);
	/* the solver's late term of this shipment, in days past need_by */
	if (p->prof.sr.need_by_days >= 0 && nd->days > p->prof.sr.need_by_days)
	{
		appendStringInfoString(b, ",\"late_days\":");
		sr_json_number(b, nd->days - p->prof.sr.need_by_days);
	}
	if (o->pickup)
	{
		/* ops: the pickup node's own units, or a transfer to it */
		appendStringInfo(b, ",\"transfer\":%s", nd->pickup_here ? "false" : "true");
		if (!nd->pickup_here)
		{
			appendStringInfoString(b, ",\"transfer_to\":");
			escape_json(b, o->pickup_node);
		}
	}
	appendStringInfoChar(b, '}');
	return s.next;
}

/* explain.candidates: every node holding a stock row of the order's SKUs */
static void
append_candidates(StringInfo b, const SrPlan *p)
{
	const SrOrder *o = p->order;
	const SrNetwork *net = &p->net;
	int			n;
	int			i;

	appendStringInfoString(b, "\"candidates\":[");
	for (n = 0; n < net->nnodes; n++)
	{
		const SrNetNode *nd = &net->nodes[n];
		StringInfoData why;
		bool		chosen = false;

		initStringInfo(&why);
		for (i = 0; i < p->nship; i++)
			if (p->ship[i].node == n)
			{
				appendStringInfoString(&why, chosen ? ", " : "chosen: ships ");
				appendStringInfo(&why, INT64_FORMAT " of line %s", p->ship[i].qty,
								 o->lines[p->ship[i].line].line_ref);
				chosen = true;
			}
		if (!chosen && nd->eligible)
			not_chosen_reason(&why, p, n);
		if (!nd->eligible)
			appendStringInfoString(&why, nd->notes.data);
		else if (nd->notes.len > 0)
			appendStringInfo(&why, " (%s)", nd->notes.data);

		if (n > 0)
			appendStringInfoChar(b, ',');
		appendStringInfoString(b, "{\"node_id\":");
		escape_json(b, nd->node_id);
		/* products: the hazmat and general parts of a node that ships hazmat apart */
		if (part_name(nd))
			appendStringInfo(b, ",\"part\":\"%s\"", part_name(nd));
		appendStringInfo(b, ",\"eligible\":%s,\"chosen\":%s,\"reason\":",
						 nd->eligible ? "true" : "false", chosen ? "true" : "false");
		escape_json(b, why.data);
		if (nd->costed)
		{
			appendStringInfoString(b, ",\"basis\":");
			appendStringInfoString(b, nd->pickup_here ? "\"pickup\"" :
								   nd->service ? "\"lane\"" : "\"distance\"");
			/* products: the lane's mode */
			if (nd->mode)
			{
				appendStringInfoString(b, ",\"mode\":");
				escape_json(b, nd->mode);
			}
			appendStringInfoString(b, ",\"shipment_cost\":");
			sr_json_number(b, nd->shipment_cost);
		}
		if (nd->costed && !nd->unroutable)
		{
			appendStringInfoString(b, ",\"days\":");
			sr_json_number(b, nd->days);
			appendStringInfoString(b, ",\"eta\":");
			sr_json_date(b, nd->eta);
		}
		if (nd->has_coords && o->ship_to.has_coords)
		{
			appendStringInfoString(b, ",\"distance_km\":");
			sr_json_number(b, rint(nd->distance_km * 10) / 10);
		}
		if (p->ops.o.nodes[n].limited)
			append_load(b, &p->ops.o.nodes[n]);	/* ops */
		if (!chosen && p->has_delta && p->has_delta[n])
		{
			/* explain_deltas: what the best plan using it would add */
			appendStringInfoString(b, ",\"delta_cost\":");
			sr_json_number(b, p->delta_cost[n]);
			appendStringInfoString(b, ",\"delta_days\":");
			sr_json_number(b, p->delta_days[n]);
		}
		appendStringInfoChar(b, '}');
	}
	appendStringInfoString(b, "]");
}

/* products: shipments whose lane changed once their real weight was known */
static void
append_recost(StringInfo b, const SrPlan *p)
{
	const SrNetwork *net = &p->net;
	bool		first = true;
	int			n;
	int			i;

	for (n = 0; n < net->nnodes; n++)
	{
		const SrNetNode *nd = &net->nodes[n];
		const SrNetNode *est = &p->estimated[n];

		for (i = 0; i < p->nship && p->ship[i].node != n; i++)
			;
		if (i == p->nship || (nd->service == est->service && nd->mode == est->mode &&
							  nd->shipment_cost == est->shipment_cost && nd->days == est->days))
			continue;
		appendStringInfoString(b, first ? ",\"recost\":[" : ",");
		first = false;
		appendStringInfoString(b, "{\"node_id\":");
		escape_json(b, nd->node_id);
		if (part_name(nd))
			appendStringInfo(b, ",\"part\":\"%s\"", part_name(nd));
		appendStringInfoString(b, ",\"estimated_kg\":");
		sr_json_number(b, est->weight_kg);
		appendStringInfoString(b, ",\"weight_kg\":");
		sr_json_number(b, nd->weight_kg);
		appendStringInfoString(b, ",\"from\":");
		append_lane_name(b, est);
		appendStringInfoString(b, ",\"to\":");
		append_lane_name(b, nd);
		appendStringInfoChar(b, '}');
	}
	if (!first)
		appendStringInfoChar(b, ']');
}

Jsonb *
sr_plan_json(const SrPlan *p)
{
	const SrOrder *o = p->order;
	StringInfoData b;
	bool		first;
	int			i;

	initStringInfo(&b);
	appendStringInfoString(&b, "{\"order_ref\":");
	escape_json(&b, o->order_ref);
	appendStringInfo(&b, ",\"status\":\"%s\",\"shipments\":[", sr_plan_status(p));
	for (i = 0; i < p->nship;)
	{
		if (i > 0)
			appendStringInfoChar(&b, ',');
		i = sr_plan_shipment_json(&b, p, i);
	}
	appendStringInfoString(&b, "],\"unfilled\":[");
	first = true;
	for (i = 0; i < o->nlines; i++)
	{
		if (p->left[i] == 0)
			continue;
		if (!first)
			appendStringInfoChar(&b, ',');
		first = false;
		appendStringInfoString(&b, "{\"line_ref\":");
		escape_json(&b, o->lines[i].line_ref);
		appendStringInfoString(&b, ",\"sku\":");
		escape_json(&b, o->lines[i].sku);
		appendStringInfo(&b, ",\"qty\":" INT64_FORMAT, p->left[i]);
		if (o->pickup)
		{
			appendStringInfoString(&b, ",\"reason\":");	/* ops */
			escape_json(&b, pickup_unfilled_reason(p));
		}
		appendStringInfoChar(&b, '}');
	}
	appendStringInfoString(&b, "],\"cost\":");
	sr_json_number(&b, p->total_cost);
	appendStringInfoString(&b, ",\"score\":");
	sr_json_number(&b, p->res.score);
	appendStringInfoString(&b, ",\"score_terms\":");
	sr_json_score_terms(&b, &p->prob.profile, &p->res);
	if (p->ops.o.w_capacity > 0)
	{
		/* ops: the capacity term, inside score_terms (drop its closing brace) */
		b.data[--b.len] = '\0';
		appendStringInfoString(&b, ",\"capacity\":");
		sr_json_number(&b, p->res.terms.penalty);
		appendStringInfoChar(&b, '}');
	}
	if (p->preference > 0)
	{
		/* the bonus of preferred nodes that ship: one more term, negative */
		b.data[--b.len] = '\0';
		appendStringInfoString(&b, ",\"preference\":");
		sr_json_number(&b, -p->preference);
		appendStringInfoChar(&b, '}');
	}
	appendStringInfoString(&b, ",\"rules\":");
	sr_rules_json(&b, p->rules);
	appendStringInfoString(&b, ",\"profile\":{\"name\":");
	escape_json(&b, p->prof.name);
	appendStringInfo(&b, ",\"version\":%d", p->prof.version);
	sr_rules_json_profile(&b, p->rules, o->profile);
	appendStringInfoChar(&b, '}');
	if (o->has_need_by)
	{
		/* the date, the policy that applied, and whether a shipment is late */
		appendStringInfoString(&b, ",\"need_by\":{\"date\":");
		sr_json_date(&b, o->need_by);
		appendStringInfo(&b, ",\"policy\":\"%s\",\"late\":%s}",
						 p->prof.exclude_late ? "exclude" : "penalize",
						 p->any_late ? "true" : "false");
	}
	if (o->pickup)
	{
		/* ops: ready for pickup when the last shipment is */
		appendStringInfoString(&b, ",\"fulfillment\":\"pickup\",\"pickup_node\":");
		escape_json(&b, o->pickup_node);
		appendStringInfoString(&b, ",\"ready_by\":");
		if (p->nship > 0)
			sr_json_date(&b, p->ready_by);
		else
			appendStringInfoString(&b, "null");
	}

	appendStringInfoString(&b, ",\"explain\":{");
	append_candidates(&b, p);
	append_recost(&b, p);
	appendStringInfo(&b, ",\"passes\":%d,\"solver\":", p->passes);
	sr_json_solver(&b, &p->res, p->micros);
	appendStringInfoString(&b, "}}");

	return sr_json_to_jsonb(&b);
}

Jsonb *
sr_promise_json(const SrPromise *pr)
{
	const SrOrder *o = pr->order;
	StringInfoData b;
	int			n;

	initStringInfo(&b);
	appendStringInfoString(&b, "{\"sku\":");
	escape_json(&b, o->groups[0].sku);
	appendStringInfoString(&b, ",\"nodes\":[");
	for (n = 0; n < pr->nnodes; n++)
	{
		const SrPromiseNode *pn = &pr->nodes[n];
		const SrNetNode *nd = pn->node;

		if (n > 0)
			appendStringInfoChar(&b, ',');
		appendStringInfoString(&b, "{\"node_id\":");
		escape_json(&b, nd->node_id);
		appendStringInfoString(&b, ",\"name\":");
		escape_json(&b, nd->name ? nd->name : "");
		appendStringInfoString(&b, ",\"status\":");
		escape_json(&b, nd->status);
		if (pn->excluded)
		{
			appendStringInfoString(&b, ",\"excluded\":");
			escape_json(&b, pn->excluded);
		}
		appendStringInfo(&b, ",\"routable\":%s,\"on_hand\":" INT64_FORMAT
						 ",\"reserved\":" INT64_FORMAT ",\"available\":" INT64_FORMAT,
						 pn->routable ? "true" : "false", pn->on_hand, pn->reserved,
						 pn->available);
		if (pr->has_ship_to)
		{
			if (pn->costed)
			{
				appendStringInfoString(&b, ",\"days\":");
				sr_json_number(&b, nd->days);
				appendStringInfoString(&b, ",\"ship_date\":");
				sr_json_date(&b, nd->ship_date);
				appendStringInfoString(&b, ",\"eta\":");
				sr_json_date(&b, nd->eta);
			}
			else
				appendStringInfoString(&b, ",\"days\":null,\"ship_date\":null,\"eta\":null");
		}
		appendStringInfoChar(&b, '}');
	}
	appendStringInfo(&b, "],\"available\":" INT64_FORMAT ",\"on_hand\":" INT64_FORMAT
					 ",\"reserved\":" INT64_FORMAT ",\"rules\":",
					 pr->available, pr->on_hand, pr->reserved);
	sr_rules_json(&b, pr->route->rules);
	appendStringInfoChar(&b, '}');
	return sr_json_to_jsonb(&b);
}

/* ---------------------------------------------------------------- arrays */

void
sr_plan_ship_arrays(const SrPlan *p, Datum *node_ids, Datum *skus, Datum *qtys)
{
	SrArray		n,
				s,
				q;
	int			i;

	sr_array_init(&n, p->nship);
	sr_array_init(&s, p->nship);
	sr_array_init(&q, p->nship);
	for (i = 0; i < p->nship; i++)
	{
		sr_array_text(&n, p->net.nodes[p->ship[i].node].node_id);
		sr_array_text(&s, p->order->lines[p->ship[i].line].sku);
		sr_array_int8(&q, p->ship[i].qty);
	}
	*node_ids = sr_array_get(&n, TEXTOID);
	*skus = sr_array_get(&s, TEXTOID);
	*qtys = sr_array_get(&q, INT8OID);
}

const char *
sr_plan_status(const SrPlan *p)
{
	return sr_status_name(p->res.status);
}

void
sr_plan_unfilled_arrays(const SrPlan *p, SrArray *lines, SrArray *skus, SrArray *qtys)
{
	int			i;

	sr_array_init(lines, p->order->nlines);
	sr_array_init(skus, p->order->nlines);
	sr_array_init(qtys, p->order->nlines);
	for (i = 0; i < p->order->nlines; i++)
		if (p->left[i] > 0)
		{
			sr_array_text(lines, p->order->lines[i].line_ref);
			sr_array_text(skus, p->order->lines[i].sku);
			sr_array_int8(qtys, p->left[i]);
		}
}

void
sr_plan_shipment_messages(const SrPlan *p, const char *rerouted_from, SrArray *nodes,
						  SrArray *payloads)
{
	StringInfoData b;
	int			i;

	sr_array_init(nodes, p->nship);
	sr_array_init(payloads, p->nship);
	initStringInfo(&b);
	for (i = 0; i < p->nship;)
	{
		const char *node_id = p->net.nodes[p->ship[i].node].node_id;

		resetStringInfo(&b);
		i = sr_plan_shipment_json(&b, p, i);
		/* the shipment, with its order and the plan's status */
		b.data[--b.len] = '\0';
		appendStringInfoString(&b, ",\"order_ref\":");
		escape_json(&b, p->order->order_ref);
		appendStringInfo(&b, ",\"status\":\"%s\"", sr_plan_status(p));
		if (rerouted_from)
		{
			appendStringInfoString(&b, ",\"rerouted_from\":");
			escape_json(&b, rerouted_from);
		}
		appendStringInfoChar(&b, '}');
		sr_array_text(nodes, node_id);
		sr_array_add(payloads, JsonbPGetDatum(sr_json_to_jsonb(&b)), false);
	}
}

Jsonb *
sr_plan_solver_json(const SrPlan *p)
{
	StringInfoData b;

	initStringInfo(&b);
	sr_json_solver(&b, &p->res, p->micros);
	return sr_json_to_jsonb(&b);
}
