/*
 * solve.c — the pure solver (src/solver.c) in the server: memory from the
 * current memory context, CHECK_FOR_INTERRUPTS between steps, and the
 * solver's figures as JSON (score terms, method and effort).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/memutils.h"

#include "json.h"
#include "solve.h"

static void *
env_alloc(void *ctx, size_t size)
{
	return MemoryContextAllocExtended((MemoryContext) ctx, size,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

static void
env_check_interrupts(void *ctx)
{
	CHECK_FOR_INTERRUPTS();
}

void
sr_solve_or_error(const SrProblem *problem, SrResult *result, int64 *micros)
{
	SrEnv		env;
	instr_time	start;
	instr_time	elapsed;
	int			rc;

	env.alloc = env_alloc;
	env.alloc_ctx = CurrentMemoryContext;
	env.check_interrupts = env_check_interrupts;
	env.interrupt_ctx = NULL;

	INSTR_TIME_SET_CURRENT(start);
	rc = sr_solve(problem, &env, result);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	*micros = (int64) INSTR_TIME_GET_MICROSEC(elapsed);

	/* callers validate everything the solver checks, so this is a bug */
	if (rc != 0)
		elog(ERROR, "stockroute: solver rejected the problem (code %d)", rc);
}

void
sr_json_score_terms(StringInfo buf, const SrProfile *p, const SrResult *r)
{
	appendStringInfoString(buf, "{\"cost\":");
	sr_json_number(buf, p->w_cost * r->terms.cost);
	appendStringInfoString(buf, ",\"days\":");
	sr_json_number(buf, p->w_days * r->terms.days);
	appendStringInfoString(buf, ",\"late\":");
	sr_json_number(buf, p->w_late * r->terms.late);
	appendStringInfoString(buf, ",\"split\":");
	sr_json_number(buf, p->split_penalty * r->terms.splits);
	appendStringInfoString(buf, ",\"distance\":");
	sr_json_number(buf, p->w_distance * r->terms.distance);
	appendStringInfoString(buf, ",\"balance\":");
	sr_json_number(buf, p->w_balance * r->terms.balance);
	appendStringInfoString(buf, ",\"backorder\":");
	sr_json_number(buf, p->backorder_penalty * r->terms.unfilled);
	appendStringInfoChar(buf, '}');
}

void
sr_json_solver(StringInfo buf, const SrResult *r, int64 micros)
{
	appendStringInfo(buf,
					 "{\"method\":\"%s\",\"evaluated\":" INT64_FORMAT
					 ",\"pruned\":" INT64_FORMAT ",\"micros\":" INT64_FORMAT
					 ",\"proven_optimal\":%s}",
					 r->method == SR_METHOD_EXACT ? "exact" : "heuristic",
					 (int64) r->evaluated, (int64) r->pruned, micros,
					 r->proven_optimal ? "true" : "false");
}
