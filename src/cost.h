/*
 * cost.h — the cost model applied to the network (src/cost.c).
 */
#ifndef STOCKROUTE_COST_H
#define STOCKROUTE_COST_H

#include "postgres.h"

#include "network.h"
#include "order.h"

/* append a reason to a node's notes ("; " between reasons) */
extern void sr_node_note(SrNetNode *nd, const char *fmt, const char *arg);

/* the node's distance to the destination, when both have coordinates */
extern void sr_cost_distance(const SrOrder *o, SrNetNode *nd);

/*
 * Ship date, ETA and days of a costed node: the node's shipping days and
 * calendar, then transit days on the carrier's weekdays and calendar (the
 * lane's, else the node's).
 */
extern void sr_cost_eta(const SrNetwork *net, SrNetNode *nd, int transit_days,
						unsigned transit_weekdays, int transit_calendar);

/*
 * Cost node n for a shipment of `units` per row (NULL: estimated from the
 * most it could ship of each candidate row): the lane or distance model,
 * then its ship date and ETA.
 */
extern void sr_cost_node(const SrOrder *o, const SrRouteProfile *prof, SrNetwork *net,
						 int n, const int64 *units);

/* split the nodes whose hazmat lines must ship apart into two parts each */
extern void sr_split_hazmat_nodes(const SrOrder *o, SrNetwork *net);

#endif
