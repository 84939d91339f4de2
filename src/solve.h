/*
 * solve.h — the solver in the server (src/solve.c), shared by the routing
 * core (src/route.c) and the split_plan aggregate (src/aggregate.c).
 */
#ifndef STOCKROUTE_SOLVE_H
#define STOCKROUTE_SOLVE_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "solver.h"

/*
 * Run sr_solve with palloc'd memory in CurrentMemoryContext and
 * CHECK_FOR_INTERRUPTS as the interrupt callback; a malformed problem is an
 * internal error (callers validate first).  *micros gets the solve time.
 */
extern void sr_solve_or_error(const SrProblem *problem, SrResult *result,
							  int64 *micros);

/* "score_terms": weighted contributions that add up to the score */
extern void sr_json_score_terms(StringInfo buf, const SrProfile *profile,
								const SrResult *result);
/* "solver": method, evaluated, pruned, micros, proven_optimal */
extern void sr_json_solver(StringInfo buf, const SrResult *result, int64 micros);

#endif
