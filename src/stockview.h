/*
 * stockview.h — what a routing path sees of the stock and of the nodes'
 * load today (src/stockview.c).
 *
 * plan(), allocate(), reject() and the re-placement of backorders and
 * shortfalls see the tables as they are (no view: NULL).  simulate() and
 * replay() route a batch of orders one after the other with nothing
 * written: their view takes each plan's units off the stock and, for
 * simulate(), counts its orders and units into the load of nodes with a
 * daily limit, as the reservation triggers would.  allocate()'s preemption
 * plans against stock as it would be with lower-priority holds released.
 * The view is passed to the routing core as an argument; nothing global.
 */
#ifndef STOCKROUTE_STOCKVIEW_H
#define STOCKROUTE_STOCKVIEW_H

#include "postgres.h"

typedef struct SrStockView SrStockView;

/* A view in the current memory context; count_load: count taken orders into node load. */
extern SrStockView *sr_view_create(bool count_load);

/* (node_id, sku) has `available` units in place of the table's */
extern void sr_view_set(SrStockView *v, const char *node_id, const char *sku, int64 available);

/*
 * A plan of order_ref takes qty units of sku at node_id: they leave the
 * view's stock and, with count_load, count into the node's load (the order
 * once per node and plan, as the reservation trigger counts it).  Call
 * sr_view_end_plan after the last shipment of each plan.
 */
extern void sr_view_take(SrStockView *v, const char *order_ref, const char *node_id,
						 const char *sku, int64 qty);
extern void sr_view_end_plan(SrStockView *v);

/* what the view shows of a stock row whose table available is `available` */
extern int64 sr_view_available(const SrStockView *v, const char *node_id, const char *sku,
							   int64 available);

/*
 * A limited node's load today as read (*orders, *units; order_counted: the
 * counters already have order_ref there), plus what the view counted there.
 */
extern void sr_view_load(SrStockView *v, const char *order_ref, const char *node_id,
						 bool order_counted, int64 *orders, int64 *units);

#endif
