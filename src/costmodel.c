/*
 * costmodel.c — the arithmetic of shipping cost: distances, the distance
 * model's transit, and how lanes fit and rank (see costmodel.h).  Pure C.
 */
#include <math.h>
#include <string.h>

#include "costmodel.h"

double
sr_haversine_km(double lat1, double lon1, double lat2, double lon2)
{
	double		p1 = lat1 * M_PI / 180.0;
	double		p2 = lat2 * M_PI / 180.0;
	double		dp = (lat2 - lat1) * M_PI / 180.0;
	double		dl = (lon2 - lon1) * M_PI / 180.0;
	double		a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);

	if (a > 1.0)
		a = 1.0;
	return 2.0 * SR_EARTH_RADIUS_KM * asin(sqrt(a));
}

int
sr_distance_transit_days(double miles)
{
	return (int) ceil(miles / SR_MILES_PER_DAY);
}

bool
sr_lane_carries_hazmat(const char *mode, bool hazmat_ok)
{
	return hazmat_ok && (mode == NULL || strcmp(mode, "air") != 0);
}

bool
sr_lane_fits_weight(const SrLaneTerms *l, double weight)
{
	return !(weight < l->min_weight || (l->max_weight >= 0 && weight > l->max_weight));
}

bool
sr_lane_fits_content(const SrLaneTerms *l, bool hazmat, bool general)
{
	if (!hazmat)
		return true;
	if (!l->carries_hazmat)
		return false;
	return !(general && l->hazmat_separate);
}

double
sr_lane_cost(const SrLaneTerms *l, double units, double weight)
{
	return l->base_cost + units * l->per_unit + weight * l->per_kg;
}

bool
sr_lane_ranks_before(const SrLaneTerms *a, double a_cost, const SrLaneTerms *b, double b_cost)
{
	if (a->level != b->level)
		return a->level > b->level;
	if (a->prefix_len != b->prefix_len)
		return a->prefix_len > b->prefix_len;
	if (a_cost != b_cost)
		return a_cost < b_cost;
	return a->transit_days < b->transit_days;
}
