/*
 * aggregate.c — the aggregate stockroute.split_plan(candidate [, profile]):
 * the split-shipment solver over whatever rows a query produces.
 *
 * The state is the list of candidate rows (strings kept in one buffer), built
 * in the aggregate's memory context, with combine, serialise and deserialise
 * functions so that parallel workers can each collect part of a group.  The
 * final function puts lines and nodes in a canonical order (byte order of
 * line_ref and node_id) before solving, so the plan does not depend on the
 * order rows arrive in, serially or in parallel.
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "access/htup_details.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "errcodes.h"
#include "guc.h"
#include "json.h"
#include "inputs.h"
#include "solve.h"

typedef struct SplitRow
{
	int64		qty;
	int64		available;
	double		unit_cost;
	double		shipment_cost;
	double		days;
	int			line_off;		/* NUL-terminated strings in SplitState.strs */
	int			node_off;
} SplitRow;

typedef struct SplitState
{
	int			nrows;
	int			maxrows;
	SplitRow   *rows;
	StringInfoData strs;
	Jsonb	   *profile;		/* the group's profile, NULL for the defaults */
} SplitState;

static const char *const field_names[] = {
	"line_ref", "qty", "node_id", "available", "unit_cost", "shipment_cost", "days"
};

#ifdef USE_ASSERT_CHECKING
static void
check_state(const SplitState *st)
{
	int			i;

	Assert(st->nrows >= 0 && st->nrows <= st->maxrows);
	for (i = 0; i < st->nrows; i++)
	{
		Assert(st->rows[i].line_off >= 0 && st->rows[i].line_off < st->strs.len);
		Assert(st->rows[i].node_off >= 0 && st->rows[i].node_off < st->strs.len);
		Assert(st->rows[i].qty > 0 && st->rows[i].available >= 0);
	}
}
#else
#define check_state(st) ((void) 0)
#endif

static SplitState *
state_new(MemoryContext aggctx)
{
	MemoryContext old = MemoryContextSwitchTo(aggctx);
	SplitState *st = palloc0(sizeof(SplitState));

	st->maxrows = 16;
	st->rows = palloc(sizeof(SplitRow) * st->maxrows);
	initStringInfo(&st->strs);
	MemoryContextSwitchTo(old);
	return st;
}

/* room for one more row; repalloc keeps the aggregate context */
static SplitRow *
state_add_row(SplitState *st)
{
	if (st->nrows == st->maxrows)
	{
		st->maxrows *= 2;
		st->rows = repalloc_huge(st->rows, sizeof(SplitRow) * (Size) st->maxrows);
	}
	return &st->rows[st->nrows++];
}

static int
state_add_string(SplitState *st, const char *s, int len)
{
	int			off = st->strs.len;

	appendBinaryStringInfo(&st->strs, s, len);
	appendStringInfoChar(&st->strs, '\0');
	return off;
}

/* The profile of the group: the first one given; any other must equal it. */
static void
state_set_profile(SplitState *st, Jsonb *profile, MemoryContext aggctx)
{
	if (st->profile == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(aggctx);

		st->profile = DatumGetJsonbPCopy(JsonbPGetDatum(profile));
		MemoryContextSwitchTo(old);
		return;
	}
	if (st->profile == profile)
		return;
	if (VARSIZE(st->profile) != VARSIZE(profile) ||
		memcmp(st->profile, profile, VARSIZE(profile)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("split_plan profile must be the same for every row of a group")));
}

/* ---------------------------------------------------------------- profile */

static double
profile_weight(const JsonbValue *v, const char *key, bool allow_negative)
{
	double		d;

	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("split_plan profile key \"%s\" must be a number, got %s",
						key, sr_jsonb_shown(v))));
	d = sr_jsonb_double(v);
	if (!isfinite(d) || fabs(d) > SR_MAX_VALUE || (!allow_negative && d < 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("split_plan profile key \"%s\" must be a %snumber no larger than 1e18, got %s",
						key, allow_negative ? "" : "non-negative ", sr_jsonb_shown(v))));
	return d;
}

static bool
profile_bool(const JsonbValue *v, const char *key)
{
	if (v->type != jbvBool)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("split_plan profile key \"%s\" must be a boolean, got %s",
						key, sr_jsonb_shown(v))));
	return v->val.boolean;
}

/*
 * Read a split_plan profile over the solver's defaults.  Unknown keys and
 * wrong types are errors: a misspelt weight must not be silently ignored.
 */
static void
parse_profile(Jsonb *j, SrProfile *p)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	v;
	JsonbIteratorToken tok;

	sr_profile_defaults(p);
	if (j == NULL)
		return;
	if (JB_ROOT_IS_SCALAR(j) || !JB_ROOT_IS_OBJECT(j))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("split_plan profile must be a JSON object")));

	it = JsonbIteratorInit(&j->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = sr_jsonb_string(&k);
		(void) JsonbIteratorNext(&it, &v, true);

		if (strcmp(key, "w_cost") == 0)
			p->w_cost = profile_weight(&v, key, false);
		else if (strcmp(key, "w_days") == 0)
			p->w_days = profile_weight(&v, key, false);
		else if (strcmp(key, "w_late") == 0)
			p->w_late = profile_weight(&v, key, false);
		else if (strcmp(key, "w_distance") == 0)
			p->w_distance = profile_weight(&v, key, false);
		else if (strcmp(key, "w_balance") == 0)
			p->w_balance = profile_weight(&v, key, false);
		else if (strcmp(key, "split_penalty") == 0)
			p->split_penalty = profile_weight(&v, key, false);
		else if (strcmp(key, "backorder_penalty") == 0)
			p->backorder_penalty = profile_weight(&v, key, false);
		else if (strcmp(key, "need_by_days") == 0)
			p->need_by_days = v.type == jbvNull ? -1.0 : profile_weight(&v, key, true);
		else if (strcmp(key, "allow_partial") == 0)
			p->allow_partial = profile_bool(&v, key);
		else if (strcmp(key, "ship_complete") == 0)
			p->ship_complete = profile_bool(&v, key);
		else if (strcmp(key, "max_shipments") == 0)
		{
			double		d = v.type == jbvNumeric ? sr_jsonb_double(&v) : -1.0;

			if (d < 0 || d != floor(d) || d > INT_MAX)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("split_plan profile key \"max_shipments\" must be a non-negative integer, got %s",
								sr_jsonb_shown(&v))));
			p->max_shipments = (int) d;
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown split_plan profile key \"%s\"", key),
					 errhint("Keys are w_cost, w_days, w_late, w_distance, w_balance, split_penalty, "
							 "backorder_penalty, max_shipments, allow_partial, ship_complete and need_by_days.")));
	}
}

/* ---------------------------------------------------------------- transition */

static void
bad_number(const char *field, double v, const char *line_ref, const char *node_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("candidate %s must be a finite non-negative number no larger than 1e18, got \"%s\"",
					field, float8out_internal(v)),
			 errdetail("line_ref \"%s\", node_id \"%s\".", line_ref, node_id)));
}

PG_FUNCTION_INFO_V1(split_plan_transition);
Datum
split_plan_transition(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	SplitState *st = PG_ARGISNULL(0) ? NULL : (SplitState *) PG_GETARG_POINTER(0);
	HeapTupleHeader row;
	Datum		d[7];
	bool		isnull;
	char	   *line_ref;
	char	   *node_id;
	SplitRow   *r;
	int64		qty;
	int64		available;
	double		unit_cost;
	double		shipment_cost;
	double		days;
	int			i;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "split_plan_transition called in non-aggregate context");

	/* a NULL candidate is skipped, as aggregates skip NULL inputs */
	if (PG_ARGISNULL(1))
	{
		if (st == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st);
	}

	row = PG_GETARG_HEAPTUPLEHEADER(1);
	for (i = 0; i < 7; i++)
	{
		d[i] = GetAttributeByNum(row, i + 1, &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("candidate field \"%s\" must not be null", field_names[i])));
	}
	line_ref = TextDatumGetCString(d[0]);
	qty = DatumGetInt64(d[1]);
	node_id = TextDatumGetCString(d[2]);
	available = DatumGetInt64(d[3]);
	unit_cost = DatumGetFloat8(d[4]);
	shipment_cost = DatumGetFloat8(d[5]);
	days = DatumGetFloat8(d[6]);

	if (qty <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("candidate qty must be positive, got " INT64_FORMAT, qty),
				 errdetail("line_ref \"%s\", node_id \"%s\".", line_ref, node_id)));
	if (qty > SR_MAX_QTY)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("candidate qty must be at most " INT64_FORMAT ", got " INT64_FORMAT,
						(int64) SR_MAX_QTY, qty),
				 errdetail("line_ref \"%s\", node_id \"%s\".", line_ref, node_id)));
	if (available < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("candidate available must not be negative, got " INT64_FORMAT, available),
				 errdetail("line_ref \"%s\", node_id \"%s\".", line_ref, node_id)));
	if (!(unit_cost >= 0 && unit_cost <= SR_MAX_VALUE))
		bad_number("unit_cost", unit_cost, line_ref, node_id);
	if (!(shipment_cost >= 0 && shipment_cost <= SR_MAX_VALUE))
		bad_number("shipment_cost", shipment_cost, line_ref, node_id);
	if (!(days >= 0 && days <= SR_MAX_VALUE))
		bad_number("days", days, line_ref, node_id);

	if (st == NULL)
		st = state_new(aggctx);
	sr_check_candidates((int64) st->nrows + 1, NULL);	/* hostile input: bounded groups */
	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
	{
		Jsonb	   *profile = PG_GETARG_JSONB_P(2);

		if (st->profile == NULL)
		{
			SrProfile	check;

			parse_profile(profile, &check); /* report a bad profile at once */
		}
		state_set_profile(st, profile, aggctx);
	}

	r = state_add_row(st);
	r->qty = qty;
	r->available = available;
	r->unit_cost = unit_cost;
	r->shipment_cost = shipment_cost;
	r->days = days;
	r->line_off = state_add_string(st, line_ref, strlen(line_ref));
	r->node_off = state_add_string(st, node_id, strlen(node_id));
	check_state(st);

	PG_RETURN_POINTER(st);
}

/* ---------------------------------------------------------------- combine */

static void
state_append(SplitState *dst, const SplitState *src, MemoryContext aggctx)
{
	int			base = dst->strs.len;
	int			i;

	appendBinaryStringInfo(&dst->strs, src->strs.data, src->strs.len);
	for (i = 0; i < src->nrows; i++)
	{
		SplitRow   *r = state_add_row(dst);

		*r = src->rows[i];
		r->line_off += base;
		r->node_off += base;
	}
	if (src->profile)
		state_set_profile(dst, src->profile, aggctx);
}

PG_FUNCTION_INFO_V1(split_plan_combine);
Datum
split_plan_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	SplitState *st1 = PG_ARGISNULL(0) ? NULL : (SplitState *) PG_GETARG_POINTER(0);
	SplitState *st2 = PG_ARGISNULL(1) ? NULL : (SplitState *) PG_GETARG_POINTER(1);

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "aggregate_combine called in non-aggregate context");

	if (st2 == NULL)
	{
		if (st1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st1);
	}
	if (st1 == NULL)
		st1 = state_new(aggctx);	/* copy: st2 may live elsewhere */
	sr_check_candidates((int64) st1->nrows + st2->nrows, NULL);
	state_append(st1, st2, aggctx);
	check_state(st1);
	PG_RETURN_POINTER(st1);
}

/* ---------------------------------------------------------------- serialise */

PG_FUNCTION_INFO_V1(split_plan_serialize);
Datum
split_plan_serialize(PG_FUNCTION_ARGS)
{
	SplitState *st = (SplitState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int			i;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "aggregate_serialize called in non-aggregate context");
	check_state(st);

	pq_begintypsend(&buf);
	pq_sendint32(&buf, st->nrows);
	pq_sendint32(&buf, st->strs.len);
	pq_sendbytes(&buf, st->strs.data, st->strs.len);
	for (i = 0; i < st->nrows; i++)
	{
		const SplitRow *r = &st->rows[i];

		pq_sendint64(&buf, r->qty);
		pq_sendint64(&buf, r->available);
		pq_sendfloat8(&buf, r->unit_cost);
		pq_sendfloat8(&buf, r->shipment_cost);
		pq_sendfloat8(&buf, r->days);
		pq_sendint32(&buf, r->line_off);
		pq_sendint32(&buf, r->node_off);
	}
	if (st->profile)
	{
		pq_sendint32(&buf, VARSIZE(st->profile));
		pq_sendbytes(&buf, (char *) st->profile, VARSIZE(st->profile));
	}
	else
		pq_sendint32(&buf, 0);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(split_plan_deserialize);
Datum
split_plan_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggctx;
	MemoryContext old;
	StringInfoData msg;
	SplitState *st;
	int			nrows;
	int			len;
	int			i;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "aggregate_deserialize called in non-aggregate context");

	msg.data = VARDATA_ANY(b);
	msg.len = VARSIZE_ANY_EXHDR(b);
	msg.maxlen = msg.len;
	msg.cursor = 0;

	st = state_new(aggctx);
	old = MemoryContextSwitchTo(aggctx);
	nrows = pq_getmsgint(&msg, 4);
	len = pq_getmsgint(&msg, 4);
	if (nrows < 0 || len < 0)
		elog(ERROR, "stockroute: corrupt split_plan state");
	appendBinaryStringInfo(&st->strs, pq_getmsgbytes(&msg, len), len);
	for (i = 0; i < nrows; i++)
	{
		SplitRow   *r = state_add_row(st);

		r->qty = pq_getmsgint64(&msg);
		r->available = pq_getmsgint64(&msg);
		r->unit_cost = pq_getmsgfloat8(&msg);
		r->shipment_cost = pq_getmsgfloat8(&msg);
		r->days = pq_getmsgfloat8(&msg);
		r->line_off = pq_getmsgint(&msg, 4);
		r->node_off = pq_getmsgint(&msg, 4);
		if (r->line_off < 0 || r->line_off >= len || r->node_off < 0 || r->node_off >= len)
			elog(ERROR, "stockroute: corrupt split_plan state");
	}
	len = pq_getmsgint(&msg, 4);
	if (len > 0)
	{
		st->profile = palloc(len);
		memcpy(st->profile, pq_getmsgbytes(&msg, len), len);
	}
	pq_getmsgend(&msg);
	MemoryContextSwitchTo(old);
	check_state(st);
	PG_RETURN_POINTER(st);
}

/* ---------------------------------------------------------------- final */

static int
cmp_line_node(const void *a, const void *b, void *arg)
{
	const SplitState *st = arg;
	const SplitRow *x = &st->rows[*(const int *) a];
	const SplitRow *y = &st->rows[*(const int *) b];
	int			c = strcmp(st->strs.data + x->line_off, st->strs.data + y->line_off);

	if (c != 0)
		return c;
	return strcmp(st->strs.data + x->node_off, st->strs.data + y->node_off);
}

static int
cmp_node(const void *a, const void *b, void *arg)
{
	const SplitState *st = arg;
	const SplitRow *x = &st->rows[*(const int *) a];
	const SplitRow *y = &st->rows[*(const int *) b];

	return strcmp(st->strs.data + x->node_off, st->strs.data + y->node_off);
}

/* the candidate of (line, node); cands are sorted by line, then node */
static int
find_cand(const SrCand *cands, int ncands, int line, int node)
{
	int			lo = 0;
	int			hi = ncands - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		const SrCand *c = &cands[mid];

		if (c->line == line && c->node == node)
			return mid;
		if (c->line < line || (c->line == line && c->node < node))
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	elog(ERROR, "stockroute: solver allocated line %d at node %d without a candidate", line, node);
	return -1;					/* keep compiler quiet */
}

PG_FUNCTION_INFO_V1(split_plan_final);
Datum
split_plan_final(PG_FUNCTION_ARGS)
{
	SplitState *st = PG_ARGISNULL(0) ? NULL : (SplitState *) PG_GETARG_POINTER(0);
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	const char *s;
	int		   *by_line;
	int		   *by_node;
	int		   *node_of_row;
	const char **line_name;
	const char **node_name;
	SrLine	   *lines;
	SrNode	   *nodes;
	SrCand	   *cands;
	SrProblem	prob;
	SrResult	res;
	int64		micros;
	int			i;
	int			k;
	StringInfoData b;
	double		total_cost = 0.0;
	Jsonb	   *out;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "aggregate_final called in non-aggregate context");
	if (st == NULL)
		PG_RETURN_NULL();
	check_state(st);

	/* the state is read only: a final function may run more than once */
	work = AllocSetContextCreate(caller, "stockroute split_plan", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	s = st->strs.data;

	memset(&prob, 0, sizeof(prob));
	parse_profile(st->profile, &prob.profile);

	by_line = palloc(sizeof(int) * st->nrows);
	by_node = palloc(sizeof(int) * st->nrows);
	for (i = 0; i < st->nrows; i++)
		by_line[i] = by_node[i] = i;
	qsort_arg(by_line, st->nrows, sizeof(int), cmp_line_node, (void *) st);
	qsort_arg(by_node, st->nrows, sizeof(int), cmp_node, (void *) st);

	/* nodes: distinct node_id of rows with stock, one shipment_cost and days each */
	node_of_row = palloc(sizeof(int) * st->nrows);
	node_name = palloc(sizeof(char *) * st->nrows);
	nodes = palloc0(sizeof(SrNode) * st->nrows);
	for (i = 0; i < st->nrows; i++)
	{
		const SplitRow *r = &st->rows[by_node[i]];
		const char *id = s + r->node_off;

		node_of_row[by_node[i]] = -1;
		if (r->available == 0)
			continue;			/* a row without stock offers nothing */
		if (prob.nnodes > 0 && strcmp(node_name[prob.nnodes - 1], id) == 0)
		{
			SrNode	   *nd = &nodes[prob.nnodes - 1];

			if (nd->shipment_cost != r->shipment_cost || nd->days != r->days)
				ereport(ERROR,
						(errcode(ERRCODE_SR_CONFLICTING_CANDIDATE),
						 errmsg("candidates disagree on node \"%s\": shipment_cost %s and %s, days %s and %s",
								id, float8out_internal(nd->shipment_cost),
								float8out_internal(r->shipment_cost),
								float8out_internal(nd->days), float8out_internal(r->days)),
						 errhint("shipment_cost and days belong to the node: give every row of a node the same values.")));
		}
		else
		{
			node_name[prob.nnodes] = id;
			nodes[prob.nnodes].shipment_cost = r->shipment_cost;
			nodes[prob.nnodes].days = r->days;
			prob.nnodes++;
		}
		node_of_row[by_node[i]] = prob.nnodes - 1;
	}

	/* lines: distinct line_ref, one qty each; candidates in (line, node) order */
	line_name = palloc(sizeof(char *) * st->nrows);
	lines = palloc0(sizeof(SrLine) * st->nrows);
	cands = palloc0(sizeof(SrCand) * st->nrows);
	for (i = 0; i < st->nrows; i++)
	{
		const SplitRow *r = &st->rows[by_line[i]];
		const char *ref = s + r->line_off;
		SrCand	   *c;

		if (prob.nlines > 0 && strcmp(line_name[prob.nlines - 1], ref) == 0)
		{
			if (lines[prob.nlines - 1].qty != r->qty)
				ereport(ERROR,
						(errcode(ERRCODE_SR_CONFLICTING_CANDIDATE),
						 errmsg("candidates disagree on the qty of line \"%s\": " INT64_FORMAT " and " INT64_FORMAT,
								ref, (int64) lines[prob.nlines - 1].qty, r->qty),
						 errhint("qty is the units the line needs: give every row of a line the same qty.")));
		}
		else
		{
			line_name[prob.nlines] = ref;
			lines[prob.nlines].qty = r->qty;
			prob.nlines++;
		}
		if (node_of_row[by_line[i]] < 0)
			continue;
		if (prob.ncands > 0 &&
			cands[prob.ncands - 1].line == prob.nlines - 1 &&
			cands[prob.ncands - 1].node == node_of_row[by_line[i]])
			ereport(ERROR,
					(errcode(ERRCODE_SR_CONFLICTING_CANDIDATE),
					 errmsg("more than one candidate for line \"%s\" at node \"%s\"",
							ref, s + r->node_off),
					 errhint("Give one row per (line_ref, node_id), with all the units the node has.")));
		c = &cands[prob.ncands++];
		c->line = prob.nlines - 1;
		c->node = node_of_row[by_line[i]];
		c->available = r->available;
		c->unit_cost = r->unit_cost;
		c->balance_free = r->available;		/* no balance term without reorder points */
	}

	prob.lines = lines;
	prob.nodes = nodes;
	prob.cands = cands;
	sr_solve_or_error(&prob, &res, &micros);

	/* the plan: allocations come sorted by node, then line */
	initStringInfo(&b);
	appendStringInfo(&b, "{\"status\":\"%s\",\"shipments\":[", sr_status_name(res.status));
	for (i = 0; i < res.nallocs;)
	{
		int			node = res.allocs[i].node;
		double		cost = nodes[node].shipment_cost;

		if (i > 0)
			appendStringInfoChar(&b, ',');
		appendStringInfoString(&b, "{\"node_id\":");
		escape_json(&b, node_name[node]);
		appendStringInfoString(&b, ",\"lines\":[");
		for (k = i; k < res.nallocs && res.allocs[k].node == node; k++)
		{
			int			c;

			if (k > i)
				appendStringInfoChar(&b, ',');
			appendStringInfoString(&b, "{\"line_ref\":");
			escape_json(&b, line_name[res.allocs[k].line]);
			appendStringInfo(&b, ",\"qty\":" INT64_FORMAT "}", (int64) res.allocs[k].qty);
			c = find_cand(cands, prob.ncands, res.allocs[k].line, node);
			cost += cands[c].unit_cost * (double) res.allocs[k].qty;
		}
		total_cost += cost;
		appendStringInfoString(&b, "],\"cost\":");
		sr_json_number(&b, cost);
		appendStringInfoString(&b, ",\"days\":");
		sr_json_number(&b, nodes[node].days);
		appendStringInfoChar(&b, '}');
		i = k;
	}
	appendStringInfoString(&b, "],\"unfilled\":[");
	k = 0;
	for (i = 0; i < prob.nlines; i++)
	{
		if (res.unfilled[i] == 0)
			continue;
		if (k++ > 0)
			appendStringInfoChar(&b, ',');
		appendStringInfoString(&b, "{\"line_ref\":");
		escape_json(&b, line_name[i]);
		appendStringInfo(&b, ",\"qty\":" INT64_FORMAT "}", (int64) res.unfilled[i]);
	}
	appendStringInfoString(&b, "],\"cost\":");
	sr_json_number(&b, total_cost);
	appendStringInfoString(&b, ",\"score\":");
	sr_json_number(&b, res.score);
	appendStringInfoString(&b, ",\"score_terms\":");
	sr_json_score_terms(&b, &prob.profile, &res);
	appendStringInfoString(&b, ",\"explain\":{\"solver\":");
	sr_json_solver(&b, &res, micros);
	appendStringInfoString(&b, "}}");
	out = sr_json_to_jsonb(&b);

	MemoryContextSwitchTo(caller);
	out = DatumGetJsonbPCopy(JsonbPGetDatum(out));
	MemoryContextDelete(work);
	PG_RETURN_JSONB_P(out);
}
