/*
 * priority.h — priority preemption in allocate() (src/priority.c).
 */
#ifndef STOCKROUTE_PRIORITY_H
#define STOCKROUTE_PRIORITY_H

#include "postgres.h"

#include "route.h"

/*
 * allocate()'s preemption step, between planning and reserving: with
 * stockroute.priority_preemption on and a plan that leaves units unfilled,
 * take what the order needs from holds of lower-priority orders and return
 * the plan to reserve (its `preempted` says what was taken); otherwise
 * return plan as is.  SPI must be connected (not read-only).
 */
extern SrPlan *sr_preempt(SrPlan *plan, const SrRouteRequest *rq);

#endif
