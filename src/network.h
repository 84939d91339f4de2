/*
 * network.h — what routing reads of the network for one order
 * (src/network.c): the profile, the items, every stock row of the order's
 * SKUs with its node, the lanes to the destination, and the free lots.  The
 * stock is read as a stock view shows it (src/stockview.h): the tables, or
 * the tables overlaid by simulate()/replay()/preemption.
 */
#ifndef STOCKROUTE_NETWORK_H
#define STOCKROUTE_NETWORK_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "utils/date.h"

#include "costmodel.h"
#include "holiday.h"
#include "order.h"
#include "products.h"
#include "solver.h"
#include "stockview.h"

typedef struct SrStockRow
{
	int			group;
	int64		on_hand;
	int64		reserved;
	int64		available;
	int64		balance_free;
	bool		allowed;
	double		unit_cost;
	int			cand;			/* index into the solver's candidates, or -1 */
	SrLotDemand *lots;			/* products: its share of the lots, lot-tracked only */
} SrStockRow;

typedef struct SrNetNode
{
	char	   *node_id;
	char	   *name;
	char	   *status;
	bool		has_coords;
	double		lat;
	double		lon;
	int			handling_days;
	bool		past_cutoff;
	DateADT		local_date;		/* the routing clock's date in the node's zone */
	unsigned	ship_weekdays;	/* SR_WEEKDAY_BIT mask */
	int			calendar;		/* index in the call's SrHolidays, or -1 */
	bool		hazmat_node;	/* products: tagged hazmat */
	char	   *country;		/* products: for ship_from_countries */
	int			part;			/* products: NODE_WHOLE, NODE_HAZMAT or NODE_GENERAL */
	int			whole;			/* products: index of the node's first part (itself if whole) */
	int			first_row;
	int			nrows;

	/* the cost model's verdict */
	bool		eligible;
	bool		costed;			/* a lane or the distance model applies */
	StringInfoData notes;		/* why lines or the node are excluded */
	const char *service;		/* lane service, NULL under the distance model */
	const char *mode;			/* lane mode, NULL under the distance model */
	double		weight_kg;		/* the weight the lane was chosen for */
	double		shipment_cost;
	double		days;			/* eta - the routing clock's date, >= 0 */
	DateADT		ship_date;
	DateADT		eta;
	const char *unroutable;		/* costed, but no ship date or ETA in the horizon */
	double		miles;
	double		distance_km;
	bool		pickup_here;	/* ops: the pickup node of a pickup order */
} SrNetNode;

typedef struct SrLane
{
	int			node;
	char	   *service;
	SrLaneTerms t;				/* rates, weight bracket, specificity, hazmat */
	unsigned	transit_weekdays;	/* SR_WEEKDAY_BIT mask */
	int			calendar;		/* index in the call's SrHolidays, or -1: the node's */
	char	   *mode;			/* products: parcel, ltl, ftl, air, ... */
} SrLane;

typedef struct SrRouteProfile
{
	char	   *name;
	int			version;
	bool		exclude_late;
	double		dist_fixed;
	double		dist_per_unit;
	double		dist_per_unit_mile;
	SrProfile	sr;
} SrRouteProfile;

typedef struct SrNetwork
{
	int			nnodes;
	SrNetNode    *nodes;
	int		   *node_by_id;		/* node indexes sorted by node_id (strcmp) */
	int			nrows;
	SrStockRow   *rows;
	int			nlanes;
	SrLane	   *lanes;
	int		   *lane_start;		/* per node, into lanes sorted by node */
	DateADT		today;			/* the routing clock's date (session TimeZone) */
	SrHolidays *holidays;		/* calendars of these nodes and lanes */
	SrLotSet   *lots;			/* products: free lots of lot-tracked SKUs */
} SrNetwork;

/*
 * products: a node whose hazmat lines must ship apart (its lane says
 * hazmat_separate) is two nodes for the solver, next to each other: its
 * hazmat lines, then the rest.  Each is a shipment of its own.
 */
#define NODE_WHOLE		0
#define NODE_HAZMAT		1
#define NODE_GENERAL	2

/* the profile named, or ERROR SR020 */
extern void sr_load_profile(const char *name, bool read_only, SrRouteProfile *p);

/* each group's weight; an unknown SKU is ERROR SR003 */
extern void sr_load_items(SrOrder *o, bool read_only);

/*
 * each group's product rules, the shelf life it needs (the most of its
 * lines', the customer's and the item's), and, with check_order, the order's
 * destination locks and lot requirements (errors SR034-SR036)
 */
extern void sr_load_products(SrOrder *o, bool read_only, bool check_order);

/*
 * Every stock row of the order's SKUs with its node, in (node_id, sku)
 * order, as `view` shows it (NULL: the tables), held reservations past their
 * expiry not counted; then the lanes of those nodes that match the
 * destination, and the free lots of the order's lot-tracked SKUs.
 */
extern void sr_load_network(SrOrder *o, TimestampTz now, bool read_only,
							const SrStockView *view, SrNetwork *net);

/* index of a node in the network, or -1 */
extern int	sr_network_find_node(const SrNetwork *net, const char *node_id);

/* rebuild the network's node index after nodes were added or moved */
extern void sr_network_index(SrNetwork *net);

#endif
