/*
 * operations.h — what routing (src/plan.c) reads about operations for one
 * order, from src/operations.c: the nodes' daily capacity and today's load,
 * the nodes that rejected the order, the profile's operations settings, and
 * the pickup node of a pickup order.
 */
#ifndef STOCKROUTE_OPERATIONS_H
#define STOCKROUTE_OPERATIONS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

/* One node, for one order. */
typedef struct SrNodeOps
{
	const char *exclusion;		/* the node rejected the order: its reason */
	bool		limited;		/* has a daily order or unit limit */
	int64		order_limit;	/* -1: none */
	int64		unit_limit;		/* -1: none */
	int64		orders;			/* its load today (its local day: see sr_ops_read) */
	int64		units;
	bool		order_counted;	/* the order is among today's orders there */
} SrNodeOps;

typedef struct SrOrderOps
{
	double		w_capacity;		/* profile: score per shipment at full load */
	bool		allow_pickup_transfer;	/* profile */
	SrNodeOps  *nodes;			/* parallel to the node_ids given */
} SrOrderOps;

/*
 * Read the operations inputs of an order routed over nodes node_ids[0..n):
 * the profile's settings, exclusions in force at `now`, and the load of the
 * nodes with a daily limit on their local day: at `now` (the routing clock)
 * for a read-only plan, at the transaction's real start for one that is to
 * be reserved (allocate()), where the reservation trigger enforces the
 * limits.  One SPI query.
 */
extern void sr_ops_read(const char *order_ref, const char *profile, int nnodes,
						char *const *node_ids, TimestampTz now, bool read_only,
						SrOrderOps *ops);

/*
 * ---- hook: a limited node's load today as routing reads it ----
 * When set, sr_ops_read passes each node with a daily limit through it once
 * its load is read, before the capacity rules below see it.  Set only for the
 * duration of one planning call, by simulate()'s in-memory overlay
 * (src/simulate.c), to add the orders and units the earlier orders of the
 * batch would have given the node today.
 */
typedef void (*sr_load_hook_type) (const char *order_ref, const char *node_id,
								   SrNodeOps *n);
extern PGDLLIMPORT sr_load_hook_type sr_load_hook;

/* Whether the node cannot take the order today; then why, in `why`. */
extern bool sr_capacity_full(const SrNodeOps *n, StringInfo why);

/* Units the node may still be given today (PG_INT64_MAX: no unit limit). */
extern int64 sr_capacity_units_left(const SrNodeOps *n);

/* Share of its tighter limit the node has used today, 0..1 (0: no limit). */
extern double sr_capacity_used(const SrNodeOps *n);

/* A pickup order's pickup node. */
typedef struct SrPickupNode
{
	char	   *node_id;
	bool		has_coords;
	double		lat;
	double		lon;
	char	   *country;
	char	   *region;
	char	   *postal_code;
	char	   *status;			/* active, draining, offline, or stale */
	int			handling_days;
} SrPickupNode;

/* Read the pickup node; an unknown one is an error (SR062). */
extern void sr_pickup_node_read(const char *node_id, bool read_only, SrPickupNode *pk);

#endif
