/*
 * costmodel.h — the arithmetic of shipping cost (src/costmodel.c).
 *
 * Pure C like the solver and the calendar (no PostgreSQL headers), so the
 * rules can be read and tested on their own (test/core).  src/cost.c applies
 * them to the network routing reads.
 *
 * A lane is a rate from a node to a destination: a shipment costs
 * base_cost + per_unit * units + per_kg * weight.  Of the lanes matching a
 * destination, a shipment takes the most specific (postal prefix > region >
 * country > any; a longer postal prefix first) whose weight bracket holds
 * its weight and that may carry its content, the cheapest for it among
 * equally specific ones, then the fewest transit days.  With no lane at all
 * the distance model applies (Jasin & Sinha 2015): a fixed cost per shipment
 * plus a cost per unit and mile, and one transit day per started 500 miles.
 */
#ifndef STOCKROUTE_COSTMODEL_H
#define STOCKROUTE_COSTMODEL_H

#include <stdbool.h>

#define SR_EARTH_RADIUS_KM	6371.0088
#define SR_KM_PER_MILE		1.609344
#define SR_MILES_PER_DAY	500.0	/* the distance model's transit */

/* great-circle distance in km between two points given in degrees */
extern double sr_haversine_km(double lat1, double lon1, double lat2, double lon2);

/* the distance model's transit days for a distance: one per started 500 miles */
extern int	sr_distance_transit_days(double miles);

/* What of a lane decides whether it fits a shipment and how it ranks. */
typedef struct SrLaneTerms
{
	double		base_cost;
	double		per_kg;
	double		per_unit;
	int			transit_days;
	double		min_weight;
	double		max_weight;		/* < 0: none */
	int			level;			/* 3 postal prefix, 2 region, 1 country, 0 any */
	int			prefix_len;
	bool		carries_hazmat; /* hazmat_ok, and not by air */
	bool		hazmat_separate;	/* hazmat lines ship apart */
} SrLaneTerms;

/* may a lane of this mode (NULL: unknown) carry hazmat lines? never by air */
extern bool sr_lane_carries_hazmat(const char *mode, bool hazmat_ok);

/* does the shipment's weight fall in the lane's bracket? */
extern bool sr_lane_fits_weight(const SrLaneTerms *l, double weight);

/*
 * may the lane carry a shipment holding hazmat lines (hazmat) and other
 * lines (general)?  Hazmat needs a lane that carries it; hazmat with other
 * lines needs one that does not ask for the hazmat lines to travel apart.
 */
extern bool sr_lane_fits_content(const SrLaneTerms *l, bool hazmat, bool general);

/* the lane's cost for a shipment of `units` weighing `weight` kg */
extern double sr_lane_cost(const SrLaneTerms *l, double units, double weight);

/*
 * does lane a (costing a_cost for the shipment) rank before lane b (b_cost)?
 * More specific first, then cheaper, then fewer transit days.
 */
extern bool sr_lane_ranks_before(const SrLaneTerms *a, double a_cost,
								 const SrLaneTerms *b, double b_cost);

#endif
