/*
 * supply.h — issue 7's operations, shared between their files and the
 * hooks in plan.c, allocate.c and stockroute.c:
 *
 *   src/supply.c    future supply: the promise keys of available()
 *   src/priority.c  order priority ("priority" key) and preemption in allocate()
 *   src/simulate.c  simulate() and replay(), and the in-memory stock overlay
 *                   that they and preemption plan against
 */
#ifndef STOCKROUTE_SUPPLY_H
#define STOCKROUTE_SUPPLY_H

#include "postgres.h"

#include "utils/jsonb.h"

/* ---- supply.c ---- */

/*
 * available()'s document with the future-supply keys added (priority,
 * backordered, incoming, promise, supply).  customer may be NULL; a bad
 * customer.priority is an error.  SPI must be connected.
 */
extern Jsonb *sr_supply_available(Jsonb *doc, Jsonb *customer);

/* ---- priority.c ---- */

extern bool stockroute_priority_preemption;
extern void sr_priority_define_gucs(void);

/*
 * Check a document's optional "priority" key (an integer in int4 range);
 * the message names it as `what` "`path`" (order field "priority").
 */
extern void sr_priority_validate(Jsonb *doc, const char *what, const char *path);

/*
 * allocate()'s preemption step, between planning and reserving: with
 * stockroute.priority_preemption on and a plan that leaves units unfilled,
 * take what the order needs from holds of lower-priority orders and return
 * the plan to reserve (with a "preempted" key); otherwise return plan as is.
 * SPI must be connected (not read-only).
 */
extern Jsonb *sr_preempt(Jsonb *order, const char *order_ref, Jsonb *plan);

/* ---- simulate.c ---- */

extern int	stockroute_max_simulate_orders;
extern void sr_simulate_define_gucs(void);

/*
 * Stock overlay: what plan() sees as a stock row's available while
 * sr_overlay_plan runs — a base value in place of the table's, minus units
 * taken by earlier simulated orders.  Lives in the memory context current at
 * creation.
 */
typedef struct SrOverlay SrOverlay;

extern SrOverlay *sr_overlay_create(void);
extern void sr_overlay_set(SrOverlay *ov, const char *node_id, const char *sku, int64 available);
extern void sr_overlay_take(SrOverlay *ov, const char *node_id, const char *sku, int64 qty);
/* sr_plan_order(order, read_only) with the overlay in force */
extern Jsonb *sr_overlay_plan(SrOverlay *ov, Jsonb *order, bool read_only);

#endif
