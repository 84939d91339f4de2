/*
 * released.c — the C symbols that released install scripts name and the
 * current library has renamed, each calling the function it became.
 *
 * A database whose catalog still says version 0.1.0 — between installing a
 * new library and ALTER EXTENSION stockroute UPDATE, or created with CREATE
 * EXTENSION stockroute VERSION '0.1.0' — calls these; the update script
 * points its functions at the current names.  The frozen 0.1.0 script
 * (sql/stockroute--0.1.0.sql) is the list.
 */
#include "postgres.h"

#include "fmgr.h"

/* the current names (src/plan.c, allocate.c, explain.c, reservation.c, aggregate.c, ingest.c) */
extern Datum stockroute_plan(PG_FUNCTION_ARGS);
extern Datum stockroute_allocate(PG_FUNCTION_ARGS);
extern Datum stockroute_available(PG_FUNCTION_ARGS);
extern Datum stockroute_explain(PG_FUNCTION_ARGS);
extern Datum stockroute_reserve(PG_FUNCTION_ARGS);
extern Datum stockroute_repair_reserved(PG_FUNCTION_ARGS);
extern Datum stockroute_ingest_parse_time(PG_FUNCTION_ARGS);
extern Datum split_plan_transition(PG_FUNCTION_ARGS);
extern Datum split_plan_combine(PG_FUNCTION_ARGS);
extern Datum split_plan_serialize(PG_FUNCTION_ARGS);
extern Datum split_plan_deserialize(PG_FUNCTION_ARGS);
extern Datum split_plan_final(PG_FUNCTION_ARGS);

#define RELEASED_AS(old, current) \
	PG_FUNCTION_INFO_V1(old); \
	Datum old(PG_FUNCTION_ARGS); \
	Datum \
	old(PG_FUNCTION_ARGS) \
	{ \
		return current(fcinfo); \
	}

RELEASED_AS(routing_plan, stockroute_plan)
RELEASED_AS(routing_allocate, stockroute_allocate)
RELEASED_AS(routing_available, stockroute_available)
RELEASED_AS(routing_explain, stockroute_explain)
RELEASED_AS(reservation_reserve, stockroute_reserve)
RELEASED_AS(reservation_repair_reserved, stockroute_repair_reserved)
RELEASED_AS(ingest_parse_time, stockroute_ingest_parse_time)
RELEASED_AS(aggregate_transition, split_plan_transition)
RELEASED_AS(aggregate_combine, split_plan_combine)
RELEASED_AS(aggregate_serialize, split_plan_serialize)
RELEASED_AS(aggregate_deserialize, split_plan_deserialize)
RELEASED_AS(aggregate_final, split_plan_final)
