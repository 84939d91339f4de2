/*
 * route.h — the routing core (src/route.c): one order, the stock a path
 * sees, one plan.
 *
 * Every path that decides where units come from calls sr_route: plan(),
 * allocate(), simulate() and replay(), reject()'s re-route, the re-placement
 * of backorders and of units off a short stock row or lot, and allocate()'s
 * preemption; available() runs the same eligibility chain for a promise
 * (sr_promise).  The paths differ only in what they pass in (the order or
 * the part of it to place, the stock view, whether they write) and in what
 * they do with the plan (return it, reserve it, backorder the rest, take it
 * off a simulated stock).  The plan is a struct; src/planjson.c is the one
 * writer of its document.
 *
 *   order (src/order.c) -> network (src/network.c: profile, items, stock,
 *   lanes, lots, as the stock view shows them) -> eligibility (here: node
 *   status, pickup, rejections, capacity, rules, product rules, stock, lots)
 *   -> cost (src/cost.c) -> solver (src/solver.c) -> plan (SrPlan)
 */
#ifndef STOCKROUTE_ROUTE_H
#define STOCKROUTE_ROUTE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/date.h"
#include "utils/jsonb.h"

#include "network.h"
#include "operations.h"
#include "order.h"
#include "prepared.h"
#include "products.h"
#include "rules.h"
#include "solver.h"
#include "stockview.h"

/* What varies between the paths through the core. */
typedef struct SrRouteRequest
{
	/*
	 * Reads only: plan(), available(), simulate(), replay() (they run on a
	 * hot standby).  A writing path (allocate, reject, re-placement) reads
	 * with read_only false, so a re-plan sees what committed since the last,
	 * and reads the nodes' load today on the real clock (the transaction's
	 * start), the day the reservation triggers count it on; the others on
	 * the routing clock (stockroute.now).
	 */
	bool		read_only;

	/* the stock as this path sees it; NULL: the tables */
	SrStockView *view;
} SrRouteRequest;

/* The operations inputs of one order (src/operations.c), per network node. */
typedef struct SrOps
{
	SrOrderOps	o;
	SrPickupNode pk;			/* a pickup order's pickup node */
	int64	   *units_left;		/* what capacity leaves today */
	bool	   *capped;			/* capacity cut the node's stock rows */
} SrOps;

/* Units of one order line from one node (a shipment line). */
typedef struct SrShipLine
{
	int			node;			/* network node */
	int			line;			/* order line */
	int64		qty;
	int			nlots;			/* lot-tracked lines: the lots it takes, FEFO */
	SrLotTake  *lots;
} SrShipLine;

/* A plan: the order, the network as it was read, the solution, the shipments. */
typedef struct SrPlan
{
	SrOrder    *order;
	SrRouteProfile prof;
	SrNetwork	net;
	SrOps		ops;
	SrRules    *rules;
	TimestampTz now;			/* the routing clock */
	DateADT		today;
	SrProblem	prob;
	int		   *node_of_solver;
	SrResult	res;
	int64		micros;
	int			passes;			/* solved twice when repricing moved a lane */
	SrNetNode  *estimated;		/* the nodes as costed before repricing */
	double		preference;		/* score the preferred nodes' bonus took off */
	int64	   *left;			/* per order line: units not placed */
	int			nship;
	SrShipLine *ship;			/* sorted by node, then line */
	double		total_cost;
	double		max_days;		/* the slowest shipment's days, -1: none */
	bool		any_late;
	DateADT		ready_by;		/* pickup: when the last shipment is ready */
	Jsonb	   *preempted;		/* allocate(): holds of lower-priority orders it took */
	/* explain_deltas: per network node not chosen, what using it would add */
	bool	   *has_delta;
	double	   *delta_cost;
	double	   *delta_days;
} SrPlan;

/* One shipment of a plan: ship[first .. next) from one network node. */
typedef struct SrShipment
{
	int			node;
	int			first;
	int			next;
	int64		units;
	double		weight_kg;
	double		cost;			/* the node's shipment cost and the lines' unit costs */
	bool		hazmat;
} SrShipment;

/* the shipment that starts at ship[first]; returns s->next */
extern int	sr_plan_shipment(const SrPlan *p, int first, SrShipment *s);

/* Route an order.  Errors name the order's field. */
extern SrPlan *sr_route(SrOrder *o, const SrRouteRequest *rq);

/* whether the plan ships anything */
static inline bool
sr_plan_ships(const SrPlan *p)
{
	return p->nship > 0;
}

/* the units the plan leaves unfilled, over all lines */
extern int64 sr_plan_unfilled_units(const SrPlan *p);

/* The writer of the plan document (src/planjson.c). */
extern Jsonb *sr_plan_json(const SrPlan *p);

/*
 * The shipment of a plan at ship[first] (its lines run while ship[].node
 * stays the same) as the JSON object of the plan's "shipments"; returns the
 * index after its last line.
 */
extern int	sr_plan_shipment_json(StringInfo b, const SrPlan *p, int first);

/* "complete", "partial" or "unfillable" */
extern const char *sr_plan_status(const SrPlan *p);

/* the shipment lines as arrays: node_id, sku, qty */
extern void sr_plan_ship_arrays(const SrPlan *p, Datum *node_ids, Datum *skus, Datum *qtys);

/* the unfilled units per line, as arrays (line_ref, sku, qty): what is backordered */
extern void sr_plan_unfilled_arrays(const SrPlan *p, SrArray *lines, SrArray *skus,
									SrArray *qtys);

/*
 * one outbox message per shipment: the shipment's document with its
 * order_ref, the plan's status and (rerouted_from) the node it replaces
 */
extern void sr_plan_shipment_messages(const SrPlan *p, const char *rerouted_from,
									  SrArray *nodes, SrArray *payloads);

/* the solver's figures (method, effort, time) for the decision log */
extern Jsonb *sr_plan_solver_json(const SrPlan *p);

/* ---- available(): a promise per node, by the same eligibility chain ---- */

typedef struct SrPromiseNode
{
	const SrNetNode *node;
	const char *excluded;		/* why the node may not promise, or NULL */
	bool		routable;
	int64		on_hand;
	int64		reserved;
	int64		available;		/* what it may promise (lots: its eligible lots) */
	bool		costed;			/* with a ship_to: it has a lane or distance, and an ETA */
} SrPromiseNode;

typedef struct SrPromise
{
	SrOrder    *order;
	SrPlan	   *route;			/* the network and rules as read */
	bool		has_ship_to;
	int			nnodes;
	SrPromiseNode *nodes;
	int64		available;		/* over the routable nodes */
	int64		on_hand;
	int64		reserved;
} SrPromise;

/* what each node of the network may promise of the order's one SKU */
extern SrPromise *sr_promise(SrOrder *o, bool has_ship_to);

/* available()'s document (src/planjson.c) */
extern Jsonb *sr_promise_json(const SrPromise *pr);

#endif
