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

#include "order.h"

/* One node, for one order. */
typedef struct SrNodeOps
{
	const char *exclusion;		/* the node rejected the order: its reason */
	bool		limited;		/* has a daily order or unit limit */
	int64		order_limit;	/* -1: none */
	int64		unit_limit;		/* -1: none */
	int64		orders;			/* its load on its local day at load_now (sr_ops_read) */
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
 * Read the operations inputs of an order (order_ref NULL: a promise) routed
 * over nodes node_ids[0..n): the settings of `profile` (the one the order
 * is routed by, after the rules), the order's exclusions
 * in force at `now`, and the load of the nodes with a daily limit on their
 * local day at `load_now` (the real clock on a writing path, where the
 * reservation triggers count it), plus what `view` counted.  One SPI query.
 */
struct SrStockView;

extern void sr_ops_read(const char *order_ref, const char *profile, int nnodes,
						char *const *node_ids, TimestampTz now, TimestampTz load_now,
						bool read_only, struct SrStockView *view, SrOrderOps *ops);


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
	SrShipTo	where;			/* the node's location: the order's destination */
	char	   *status;			/* active, draining, offline, or stale */
	int			handling_days;
} SrPickupNode;

/* Read the pickup node; an unknown one is an error (SR062). */
extern void sr_pickup_node_read(const char *node_id, bool read_only, SrPickupNode *pk);

#endif
