/*
 * plan.h — what the routing files share (src/plan.c, allocate.c, explain.c,
 * aggregate.c): the solver glue, jsonb reading and writing helpers, and the
 * planner entry point that allocate() builds on.
 */
#ifndef STOCKROUTE_PLAN_H
#define STOCKROUTE_PLAN_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "solver.h"

/* ---- solver glue (plan.c) ---- */

/*
 * Run sr_solve with palloc'd memory in CurrentMemoryContext and
 * CHECK_FOR_INTERRUPTS as the interrupt callback; a malformed problem is an
 * internal error (callers validate first).  *micros gets the solve time.
 */
extern void sr_solve_or_error(const SrProblem *problem, SrResult *result,
							  int64 *micros);

/* ---- jsonb output (plan.c) ---- */

/* a JSON number, rounded to 6 decimals; integral values print without a dot */
extern void sr_json_number(StringInfo buf, double v);
/* ,"key": (the comma only when !*first) */
extern void sr_json_key(StringInfo buf, bool *first, const char *key);
/* "score_terms": weighted contributions that add up to the score */
extern void sr_json_score_terms(StringInfo buf, const SrProfile *profile,
								const SrResult *result);
/* "solver": method, evaluated, pruned, micros, proven_optimal */
extern void sr_json_solver(StringInfo buf, const SrResult *result, int64 micros);
extern Jsonb *sr_json_to_jsonb(StringInfo buf);

/* ---- jsonb input (plan.c) ---- */

/* value of key in an object container, or NULL (a JSON null is returned as jbvNull) */
extern JsonbValue *sr_jsonb_get(JsonbContainer *obj, const char *key, JsonbValue *res);
extern const char *sr_jsonb_type_name(const JsonbValue *v);
/* the numeric value as a double (overflow gives +-Infinity) */
extern double sr_jsonb_double(const JsonbValue *v);
extern char *sr_jsonb_string(const JsonbValue *v);
/* a value for an error message: 2.5, "abc", an object */
extern char *sr_jsonb_shown(const JsonbValue *v);
/* true if v is a JSON object or array container */
extern bool sr_jsonb_is_object(const JsonbValue *v);
extern bool sr_jsonb_is_array(const JsonbValue *v);

/* ---- planning (plan.c) ---- */

/*
 * Plan an order: validate it, read the network through SPI (the caller has
 * connected), solve, and return the plan document.  read_only is passed to
 * SPI: true for plan() (it runs on a hot standby), false for allocate(), whose
 * retries must see stock committed since the previous attempt.
 */
extern Jsonb *sr_plan_order(Jsonb *order, bool read_only);

/* order_ref of an order document, validated as sr_plan_order does */
extern char *sr_order_ref(Jsonb *order);

/* the routing clock: stockroute.now if set, else the transaction's start */
extern TimestampTz sr_routing_now(void);

/* ---- allocation (allocate.c), shared with reject() (reject.c) ---- */

/* transaction-level lock on an order_ref: one allocate() or reject() at a time */
extern void sr_lock_order(const char *order_ref);

/*
 * Plan the order and reserve what the plan ships, re-planning when a
 * concurrent order took the stock or the capacity (SR001, SR060) or a lock
 * cycle chose this attempt (40P01).  Reservation idempotency keys are
 * <order_ref>:<line_ref>:<node_id><key_suffix>.  Returns the plan;
 * *reservations gets the reservations as a jsonb array, *attempts the
 * plans made.
 */
extern Jsonb *sr_allocate_plan(Jsonb *order, const char *order_ref,
							   const char *key_suffix, Jsonb **reservations,
							   int *attempts);

/* prepare a statement once per backend and keep it */

/*
 * ---- hook: a stock row's available as the planner reads it ----
 * When set, sr_plan_order passes each stock row's available through it
 * before costing and solving.  Set only for the duration of one planning
 * call, by the in-memory stock overlay (src/simulate.c: simulate(), replay()
 * and allocate()'s preemption).
 */
typedef int64 (*sr_available_hook_type) (const char *node_id, const char *sku,
										 int64 available);
extern PGDLLIMPORT sr_available_hook_type sr_available_hook;

#endif
