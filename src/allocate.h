/*
 * allocate.h — reserving a plan (src/allocate.c): what allocate(),
 * reject() and the re-placement of backorders and shortfalls share.
 */
#ifndef STOCKROUTE_ALLOCATE_H
#define STOCKROUTE_ALLOCATE_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "order.h"
#include "prepared.h"
#include "route.h"

/*
 * The order to place some of an order_ref's units again by: its allocate()
 * decision's input, else (units held with reserve() alone) an order of the
 * given lines shipped to node_id's location, partial fills allowed.  NULL
 * only if neither exists (no decision and no such node).
 */
extern Jsonb *sr_order_to_replace(const char *order_ref, const char *node_id, int n,
								  char *const *line_refs, char *const *skus,
								  const int64 *qty);

/* transaction-level lock on an order_ref: one allocate() or reject() at a time */
extern void sr_lock_order(const char *order_ref);

/*
 * Reserve what the plan ships, in an internal subtransaction: its stock rows
 * locked in canonical order, then its lots, checked, then one held
 * reservation per shipment line (per lot of a lot-tracked line), keyed
 * <order_ref>:<line_ref>:<node_id>[:<lot_code>]<key_suffix>.  Returns the
 * reservations as a jsonb array, or NULL, with nothing of the attempt left,
 * when a concurrent order took stock or capacity the plan counted on (or,
 * with nowait, holds one of its rows: the caller then never waits).
 */
extern Jsonb *sr_reserve_plan(const char *order_ref, const SrPlan *plan,
							  const char *key_suffix, bool nowait);

/*
 * Plan the order (all its lines, as read) and reserve the plan: optimistic
 * attempts first, then under the locks of all the order's stock, so it
 * always succeeds (see allocate.c).  *reservations gets the reservations,
 * *attempts the plans made.
 */
extern SrPlan *sr_allocate_plan(SrOrder *o, const char *key_suffix,
								Jsonb **reservations, int *attempts);

#endif
