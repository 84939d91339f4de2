/*
 * test_solver.c — standalone harness for src/solver.c, printing TAP.
 *
 * What it proves:
 *  - the named scenarios (the seed split, no needless split, ship-complete,
 *    partial, zero weights) come out as the contract says;
 *  - on thousands of random instances up to 15 nodes the solver's score is
 *    the optimum found by references that share no code with it: a subset
 *    enumeration with its own per-line fill, and for tiny instances a full
 *    enumeration of integer allocations; every result is feasible, sorted,
 *    and its terms recompute to its score;
 *  - malformed input (bad indices, NaN, negatives, duplicates, huge
 *    quantities) gets an error code or a valid result, never a crash;
 *  - on 25 x 60 instances the heuristic is within 0.2% of an exact MILP
 *    solved by CBC (skipped when cbc is not installed), and fast.
 *
 * Usage: test_solver [--quick]   (--quick: fewer instances, no CBC; the asan
 * target uses it).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "solver.h"

/* ------------------------------------------------------------------ TAP */

static int	tap_n = 0;
static int	tap_failed = 0;

static void tap_ok(int cond, const char *fmt,...) __attribute__((format(printf, 2, 3)));
static void diag(const char *fmt,...) __attribute__((format(printf, 1, 2)));

static void
tap_ok(int cond, const char *fmt,...)
{
	va_list		ap;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void
tap_skip(const char *why)
{
	tap_n++;
	printf("ok %d # SKIP %s\n", tap_n, why);
}

static void
diag(const char *fmt,...)
{
	va_list		ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* ---------------------------------------------------------------- arena */

typedef struct Block
{
	struct Block *next;
} Block;

typedef struct Arena
{
	Block	   *blocks;
	size_t		bytes;
	size_t		limit;			/* 0: none; else alloc fails past it */
} Arena;

static void *
arena_alloc(void *ctx, size_t size)
{
	Arena	   *a = ctx;
	Block	   *b;

	if (a->limit && a->bytes + size > a->limit)
		return NULL;
	b = calloc(1, sizeof(Block) + size + 16);
	if (b == NULL)
		return NULL;
	b->next = a->blocks;
	a->blocks = b;
	a->bytes += size;
	/* keep the payload 16-aligned */
	return (char *) b + 16;
}

static void
arena_reset(Arena *a)
{
	while (a->blocks)
	{
		Block	   *n = a->blocks->next;

		free(a->blocks);
		a->blocks = n;
	}
	a->bytes = 0;
}

static long interrupt_calls = 0;

static void
count_interrupt(void *ctx)
{
	(void) ctx;
	interrupt_calls++;
}

static Arena arena;
static SrEnv env = {arena_alloc, &arena, count_interrupt, NULL};

/* ----------------------------------------------------------------- PRNG */

static uint64_t rng_state;

static void
rng_seed(uint64_t s)
{
	rng_state = s * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
}

static uint64_t
rng_next(void)
{
	/* splitmix64 */
	uint64_t	z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static int
rnd(int lo, int hi)				/* inclusive */
{
	return lo + (int) (rng_next() % (uint64_t) (hi - lo + 1));
}

static double
rndf(double lo, double hi)
{
	return lo + (hi - lo) * ((double) (rng_next() >> 11) / 9007199254740992.0);
}

static int
chance(double p)
{
	return rndf(0, 1) < p;
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------ instances */

#define MAXL 32
#define MAXN 64
#define MAXC (MAXL * MAXN)

typedef struct Inst
{
	SrProblem	p;
	SrLine		lines[MAXL];
	SrNode		nodes[MAXN];
	SrCand		cands[MAXC];
} Inst;

static void
inst_fix(Inst *in)
{
	in->p.lines = in->lines;
	in->p.nodes = in->nodes;
	in->p.cands = in->cands;
}

/* Profile flavours the random tests cycle through. */
enum
{
	FL_PLAIN, FL_MAXSHIP, FL_PARTIAL, FL_SHIPCOMPLETE, FL_BALANCE, FL_NEEDBY,
	FL_ZERO, FL_MIXED, FL_COUNT
};
static const char *const flavour_name[FL_COUNT] = {
	"plain", "max_shipments", "allow_partial", "ship_complete", "balance",
	"need_by", "zero weights", "mixed"
};

/* A random instance with nl lines and nn nodes, small integers so ties occur. */
static void
gen_small(Inst *in, int nl, int nn, int flavour, int maxq)
{
	SrProfile  *pr = &in->p.profile;
	int			l;
	int			n;
	int			nc = 0;
	double		density = rndf(0.3, 1.0);

	memset(in, 0, sizeof(*in));
	inst_fix(in);
	sr_profile_defaults(pr);
	in->p.nlines = nl;
	in->p.nnodes = nn;
	for (l = 0; l < nl; l++)
		in->lines[l].qty = rnd(1, maxq);
	for (n = 0; n < nn; n++)
	{
		in->nodes[n].shipment_cost = chance(0.2) ? 0 : rnd(0, 20);
		in->nodes[n].days = rnd(0, 7);
		in->nodes[n].distance_km = rnd(0, 3000);
	}
	for (l = 0; l < nl; l++)
		for (n = 0; n < nn; n++)
		{
			SrCand	   *c;

			if (!chance(density))
				continue;
			c = &in->cands[nc++];
			c->line = l;
			c->node = n;
			c->available = rnd(1, (int) in->lines[l].qty + 3);
			c->unit_cost = chance(0.3) ? rnd(0, 4) : rndf(0, 5);
			c->balance_free = chance(0.5) ? c->available : rnd(-2, (int) c->available);
		}
	/* shuffle so the solver cannot rely on candidate order */
	for (n = nc - 1; n > 0; n--)
	{
		int			j = rnd(0, n);
		SrCand		t = in->cands[n];

		in->cands[n] = in->cands[j];
		in->cands[j] = t;
	}
	in->p.ncands = nc;

	if (flavour == FL_MIXED)
		flavour = rnd(0, FL_ZERO);
	pr->w_cost = rndf(0.5, 2);
	pr->w_days = chance(0.5) ? rndf(0, 3) : 0;
	pr->split_penalty = chance(0.5) ? rndf(0, 10) : 0;
	pr->w_distance = chance(0.3) ? rndf(0, 0.01) : 0;
	switch (flavour)
	{
		case FL_MAXSHIP:
			pr->max_shipments = rnd(1, 3);
			pr->allow_partial = chance(0.3);
			break;
		case FL_PARTIAL:
			pr->allow_partial = true;
			pr->backorder_penalty = chance(0.2) ? 0 : rndf(0.5, 15);
			pr->max_shipments = chance(0.3) ? rnd(1, 3) : 0;
			break;
		case FL_SHIPCOMPLETE:
			pr->ship_complete = true;
			pr->allow_partial = chance(0.5);	/* must be ignored */
			break;
		case FL_BALANCE:
			pr->w_balance = rndf(0, 4);
			pr->allow_partial = chance(0.3);
			pr->backorder_penalty = rndf(1, 20);
			break;
		case FL_NEEDBY:
			pr->w_late = rndf(0, 10);
			pr->need_by_days = rnd(0, 5);
			break;
		case FL_ZERO:
			pr->w_cost = pr->w_days = pr->w_late = pr->w_distance = 0;
			pr->w_balance = pr->split_penalty = 0;
			pr->backorder_penalty = chance(0.5) ? 0 : 1;
			pr->allow_partial = chance(0.5);
			pr->max_shipments = chance(0.3) ? rnd(1, 2) : 0;
			break;
		default:
			break;
	}
	if (chance(0.2))
		pr->w_balance = rndf(0, 2);
	/* routing's per-node penalties (capacity load), on some instances */
	if (chance(0.25))
		for (n = 0; n < nn; n++)
			in->nodes[n].penalty = chance(0.5) ? 0 : rndf(0, 25);
}

/* --------------------------------------------------- independent scoring */

/*
 * Score an explicit allocation, x[c] units from candidate c, the way the
 * contract defines it.  Returns the score; *feasible says whether it honours
 * available, qty, max_shipments, and full fill when partial is not allowed.
 */
static double
ref_score(const SrProblem *p, const int64_t *x, int *feasible, int *nopen_out)
{
	const SrProfile *pr = &p->profile;
	int64_t		placed[MAXL] = {0};
	int			open[MAXN] = {0};
	double		cost = 0;
	double		days = 0;
	double		late = 0;
	double		dist = 0;
	double		bal = 0;
	double		unf = 0;
	double		pen = 0;
	int			nopen = 0;
	int			c;
	int			l;
	int			n;
	int			kmax;
	int			partial = pr->allow_partial && !pr->ship_complete;

	*feasible = 1;
	for (c = 0; c < p->ncands; c++)
	{
		const SrCand *cd = &p->cands[c];
		int64_t		bf = cd->balance_free < 0 ? 0 : cd->balance_free;

		if (x[c] == 0)
			continue;
		if (x[c] < 0 || x[c] > cd->available)
			*feasible = 0;
		placed[cd->line] += x[c];
		open[cd->node] = 1;
		cost += cd->unit_cost * (double) x[c];
		if (x[c] > bf)
			bal += (double) (x[c] - bf);
	}
	for (n = 0; n < p->nnodes; n++)
		if (open[n])
		{
			nopen++;
			cost += p->nodes[n].shipment_cost;
			days += p->nodes[n].days;
			dist += p->nodes[n].distance_km;
			pen += p->nodes[n].penalty;
			if (pr->need_by_days >= 0 && p->nodes[n].days > pr->need_by_days)
				late += p->nodes[n].days - pr->need_by_days;
		}
	for (l = 0; l < p->nlines; l++)
	{
		if (placed[l] > p->lines[l].qty)
			*feasible = 0;
		unf += (double) (p->lines[l].qty - placed[l]);
	}
	if (!partial && unf > 0)
		*feasible = 0;
	kmax = pr->ship_complete ? 1 : pr->max_shipments;
	if (kmax > 0 && nopen > kmax)
		*feasible = 0;
	if (nopen_out)
		*nopen_out = nopen;
	return pr->w_cost * cost + pr->w_days * days + pr->w_late * late
		+ pr->split_penalty * (nopen > 1 ? nopen - 1 : 0)
		+ pr->w_distance * dist + pr->w_balance * bal
		+ pr->backorder_penalty * unf + pen;
}

/* One unit run for the reference fill. */
typedef struct Run
{
	double		cost;
	int			cand;
	int64_t		cap;
} Run;

static int
cmp_run(const void *a, const void *b)
{
	const Run  *x = a;
	const Run  *y = b;

	return x->cost < y->cost ? -1 : x->cost > y->cost ? 1 : 0;
}

/*
 * Reference optimum by enumerating every node subset; within a subset each
 * line takes its cheapest units first (an exchange argument: unit prices of
 * one candidate only rise, lines do not interact).  Returns the best score of
 * a feasible plan, or of the empty plan when none is feasible (*any = 0).
 */
static double
ref_subsets(const SrProblem *p, int *any)
{
	const SrProfile *pr = &p->profile;
	int			partial = pr->allow_partial && !pr->ship_complete;
	double		best = INFINITY;
	unsigned	mask;
	int64_t		x[MAXC];
	int			c;
	int			l;
	int			feas;

	*any = 0;
	for (mask = 0; mask < (1u << p->nnodes); mask++)
	{
		double		sc;

		memset(x, 0, sizeof(x));
		for (l = 0; l < p->nlines; l++)
		{
			Run			runs[2 * MAXN];
			int			nr = 0;
			int			i;
			int64_t		need = p->lines[l].qty;

			for (c = 0; c < p->ncands; c++)
			{
				const SrCand *cd = &p->cands[c];
				int64_t		bf;
				int64_t		a;

				if (cd->line != l || !(mask & (1u << cd->node)))
					continue;
				a = cd->available;
				bf = cd->balance_free < 0 ? 0 : cd->balance_free;
				if (bf > a)
					bf = a;
				runs[nr].cost = pr->w_cost * cd->unit_cost;
				runs[nr].cand = c;
				runs[nr++].cap = bf;
				runs[nr].cost = pr->w_cost * cd->unit_cost + pr->w_balance;
				runs[nr].cand = c;
				runs[nr++].cap = a - bf;
			}
			qsort(runs, (size_t) nr, sizeof(Run), cmp_run);
			for (i = 0; i < nr && need > 0; i++)
			{
				int64_t		t = runs[i].cap < need ? runs[i].cap : need;

				if (partial && runs[i].cost > pr->backorder_penalty)
					break;
				x[runs[i].cand] += t;
				need -= t;
			}
		}
		sc = ref_score(p, x, &feas, NULL);
		if (feas && sc < best)
		{
			best = sc;
			*any = 1;
		}
	}
	if (!*any)
	{
		memset(x, 0, sizeof(x));
		best = ref_score(p, x, &feas, NULL);
	}
	return best;
}

/* Full enumeration of integer allocations, for tiny instances only. */
static double tiny_best;
static int	tiny_any;

static void
tiny_rec(const SrProblem *p, int c, int64_t *x, int64_t *left)
{
	int64_t		q;
	int			feas;

	if (c == p->ncands)
	{
		double		sc = ref_score(p, x, &feas, NULL);

		if (feas && sc < tiny_best)
		{
			tiny_best = sc;
			tiny_any = 1;
		}
		return;
	}
	for (q = 0; q <= p->cands[c].available && q <= left[p->cands[c].line]; q++)
	{
		x[c] = q;
		left[p->cands[c].line] -= q;
		tiny_rec(p, c + 1, x, left);
		left[p->cands[c].line] += q;
	}
	x[c] = 0;
}

static double
ref_tiny(const SrProblem *p, int *any)
{
	int64_t		x[MAXC] = {0};
	int64_t		left[MAXL];
	int			l;
	int			feas;

	for (l = 0; l < p->nlines; l++)
		left[l] = p->lines[l].qty;
	tiny_best = INFINITY;
	tiny_any = 0;
	tiny_rec(p, 0, x, left);
	*any = tiny_any;
	if (!tiny_any)
		tiny_best = ref_score(p, x, &feas, NULL);
	return tiny_best;
}

/* --------------------------------------------------------- result checks */

static int
close_enough(double a, double b)
{
	double		scale = fmax(1.0, fmax(fabs(a), fabs(b)));

	return fabs(a - b) <= 1e-9 * scale;
}

/*
 * Everything a result must satisfy on its own; on failure *why says what.
 */
static int
check_result(const SrProblem *p, const SrResult *r, const char **why)
{
	int64_t		x[MAXC];
	int64_t		placed[MAXL] = {0};
	int			i;
	int			c;
	int			feas;
	int			nopen;
	double		sc;
	int			partial = p->profile.allow_partial && !p->profile.ship_complete;
	double		unf = 0;

	memset(x, 0, sizeof(x));
	if (r->nallocs < 0 || (r->nallocs > 0 && r->allocs == NULL) ||
		(p->nlines > 0 && r->unfilled == NULL))
		return *why = "missing arrays", 0;
	for (i = 0; i < r->nallocs; i++)
	{
		const SrAlloc *a = &r->allocs[i];

		if (a->qty <= 0)
			return *why = "allocation of zero or fewer units", 0;
		if (i > 0 && (r->allocs[i - 1].node > a->node ||
					  (r->allocs[i - 1].node == a->node &&
					   r->allocs[i - 1].line >= a->line)))
			return *why = "allocations not sorted by node, line", 0;
		for (c = 0; c < p->ncands; c++)
			if (p->cands[c].line == a->line && p->cands[c].node == a->node)
				break;
		if (c == p->ncands)
			return *why = "allocation without a candidate", 0;
		x[c] = a->qty;
		placed[a->line] += a->qty;
	}
	for (i = 0; i < p->nlines; i++)
	{
		if (r->unfilled[i] < 0 || placed[i] + r->unfilled[i] != p->lines[i].qty)
			return *why = "line sums + unfilled != qty", 0;
		unf += (double) r->unfilled[i];
	}
	sc = ref_score(p, x, &feas, &nopen);
	if (!feas && !(r->status == SR_UNFILLABLE && r->nallocs == 0))
		return *why = "infeasible allocation", 0;
	if (!partial && unf > 0 && (r->status != SR_UNFILLABLE || r->nallocs != 0))
		return *why = "unfilled units without allow_partial", 0;
	if (nopen != r->nshipments)
		return *why = "nshipments wrong", 0;
	if (!close_enough(sc, r->score))
		return *why = "score differs from the allocation's score", 0;
	if (!close_enough(sr_score_terms(&p->profile, &r->terms), r->score))
		return *why = "terms do not recompute to score", 0;
	if (r->terms.unfilled != unf)
		return *why = "terms.unfilled wrong", 0;
	if (r->terms.splits != (nopen > 1 ? nopen - 1 : 0))
		return *why = "terms.splits wrong", 0;
	if (unf == 0 && r->status != SR_COMPLETE)
		return *why = "status should be complete", 0;
	if (unf > 0 && r->nallocs > 0 && r->status != SR_PARTIAL)
		return *why = "status should be partial", 0;
	if (unf > 0 && r->nallocs == 0 && r->status != SR_UNFILLABLE)
		return *why = "status should be unfillable", 0;
	return 1;
}

static void
dump_inst(const SrProblem *p)
{
	const SrProfile *pr = &p->profile;
	int			i;

	diag("profile cost=%g days=%g late=%g dist=%g bal=%g split=%g back=%g needby=%g maxship=%d partial=%d complete=%d",
		 pr->w_cost, pr->w_days, pr->w_late, pr->w_distance, pr->w_balance,
		 pr->split_penalty, pr->backorder_penalty, pr->need_by_days,
		 pr->max_shipments, pr->allow_partial, pr->ship_complete);
	for (i = 0; i < p->nlines; i++)
		diag("line %d qty %lld", i, (long long) p->lines[i].qty);
	for (i = 0; i < p->nnodes; i++)
		diag("node %d ship %g days %g dist %g penalty %g", i, p->nodes[i].shipment_cost,
			 p->nodes[i].days, p->nodes[i].distance_km, p->nodes[i].penalty);
	for (i = 0; i < p->ncands; i++)
		diag("cand line %d node %d avail %lld uc %.17g bf %lld",
			 p->cands[i].line, p->cands[i].node,
			 (long long) p->cands[i].available, p->cands[i].unit_cost,
			 (long long) p->cands[i].balance_free);
}

/* ------------------------------------------------------ named scenarios */

static SrProblem
seed_problem(SrLine *lines, SrNode *nodes, SrCand *cands)
{
	SrProblem	p;

	memset(&p, 0, sizeof(p));
	sr_profile_defaults(&p.profile);
	lines[0].qty = 20;
	/* A and B near, C far: dearer per unit and slower */
	nodes[0] = (SrNode) {8.759, 2, 300, 0};
	nodes[1] = (SrNode) {8.759, 2, 350, 0};
	nodes[2] = (SrNode) {8.759, 6, 2400, 0};
	cands[0] = (SrCand) {0, 0, 8, 0.423 + 0.000541 * 186, 8};
	cands[1] = (SrCand) {0, 1, 12, 0.423 + 0.000541 * 217, 12};
	cands[2] = (SrCand) {0, 2, 15, 0.423 + 0.000541 * 1491 * 8, 15};
	p.nlines = 1;
	p.lines = lines;
	p.nnodes = 3;
	p.nodes = nodes;
	p.ncands = 3;
	p.cands = cands;
	return p;
}

static int64_t
alloc_of(const SrResult *r, int line, int node)
{
	int			i;

	for (i = 0; i < r->nallocs; i++)
		if (r->allocs[i].line == line && r->allocs[i].node == node)
			return r->allocs[i].qty;
	return 0;
}

static void
test_scenarios(void)
{
	SrLine		lines[4];
	SrNode		nodes[4];
	SrCand		cands[8];
	SrProblem	p;
	SrResult	r;
	SrProfile	d;
	int			rc;
	const char *why = "";

	sr_profile_defaults(&d);
	tap_ok(d.w_cost == 1 && d.w_days == 1 && d.w_late == 0 &&
		   d.w_distance == 0 && d.w_balance == 0 && d.split_penalty == 0 &&
		   d.backorder_penalty == 1000 && d.need_by_days == -1 &&
		   d.max_shipments == 0 && !d.allow_partial && !d.ship_complete &&
		   d.exact_node_limit == 15 && d.max_evaluations == 200000,
		   "sr_profile_defaults");

	/* seed: 20 units, A 8 + B 12 beats far C */
	p = seed_problem(lines, nodes, cands);
	rc = sr_solve(&p, &env, &r);
	tap_ok(rc == 0 && r.status == SR_COMPLETE && r.nallocs == 2 &&
		   alloc_of(&r, 0, 0) == 8 && alloc_of(&r, 0, 1) == 12 &&
		   r.method == SR_METHOD_EXACT && r.proven_optimal &&
		   r.nshipments == 2 && r.terms.splits == 1 && check_result(&p, &r, &why),
		   "seed scenario: 20 units from A 8 + B 12, C far");
	arena_reset(&arena);

	/* no split: C close and big enough ships everything */
	p = seed_problem(lines, nodes, cands);
	nodes[2] = (SrNode) {8.759, 2, 320, 0};
	cands[2].available = 25;
	cands[2].balance_free = 25;
	cands[2].unit_cost = 0.423 + 0.000541 * 200;
	rc = sr_solve(&p, &env, &r);
	tap_ok(rc == 0 && r.status == SR_COMPLETE && r.nallocs == 1 &&
		   alloc_of(&r, 0, 2) == 20 && r.nshipments == 1 &&
		   r.terms.splits == 0 && check_result(&p, &r, &why),
		   "no split when one node ships the whole order at similar cost");
	arena_reset(&arena);

	/* the objective of DESIGN.md's split_plan example */
	p = seed_problem(lines, nodes, cands);
	p.profile.w_days = 0;
	rc = sr_solve(&p, &env, &r);
	tap_ok(rc == 0 && close_enough(r.score, 2 * 8.759 + 8 * cands[0].unit_cost +
								   12 * cands[1].unit_cost) &&
		   close_enough(r.terms.cost, r.score),
		   "w_cost=1, w_days=0: score is shipment costs + unit costs");
	arena_reset(&arena);

	/* ship_complete: no single node has 20 -> unfillable, empty plan */
	p = seed_problem(lines, nodes, cands);
	p.profile.ship_complete = true;
	p.profile.allow_partial = true;
	rc = sr_solve(&p, &env, &r);
	tap_ok(rc == 0 && r.status == SR_UNFILLABLE && r.nallocs == 0 &&
		   r.unfilled[0] == 20 && r.terms.unfilled == 20 &&
		   close_enough(r.score, 1000.0 * 20) && r.proven_optimal &&
		   check_result(&p, &r, &why),
		   "ship_complete without a node for the whole order: unfillable, empty plan");
	arena_reset(&arena);

	/* ship_complete with a far node able to ship it all */
	p = seed_problem(lines, nodes, cands);
	p.profile.ship_complete = true;
	cands[2].available = 30;
	rc = sr_solve(&p, &env, &r);
	tap_ok(rc == 0 && r.status == SR_COMPLETE && r.nallocs == 1 &&
		   alloc_of(&r, 0, 2) == 20 && check_result(&p, &r, &why),
		   "ship_complete picks the one node that has everything");
	arena_reset(&arena);

	/* partial with one shipment: B's 12, the rest backordered */
	p = seed_problem(lines, nodes, cands);
	p.profile.allow_partial = true;
	p.profile.max_shipments = 1;
	p.profile.backorder_penalty = 5;
	rc = sr_solve(&p, &env, &r);
	tap_ok(rc == 0 && r.status == SR_PARTIAL && alloc_of(&r, 0, 1) == 12 &&
		   r.unfilled[0] == 8 && check_result(&p, &r, &why),
		   "allow_partial, max_shipments=1: 12 from B, 8 backordered");
	arena_reset(&arena);

	/* partial where backordering everything is cheapest */
	p = seed_problem(lines, nodes, cands);
	p.profile.allow_partial = true;
	p.profile.backorder_penalty = 0.1;
	rc = sr_solve(&p, &env, &r);
	tap_ok(rc == 0 && r.status == SR_UNFILLABLE && r.nallocs == 0 &&
		   r.nshipments == 0 && close_enough(r.score, 2.0) &&
		   check_result(&p, &r, &why),
		   "allow_partial with a tiny backorder penalty ships nothing");
	arena_reset(&arena);

	/* need_by: A late by 3 days costs w_late * 3 */
	p = seed_problem(lines, nodes, cands);
	p.profile.need_by_days = 1;
	p.profile.w_late = 2;
	rc = sr_solve(&p, &env, &r);
	tap_ok(rc == 0 && r.terms.late == 2 && check_result(&p, &r, &why),
		   "need_by_days: late counts days past the need-by per shipment");
	arena_reset(&arena);

	/* zero weights: deterministic, lowest node index, no idle shipments */
	{
		SrResult	r2;
		int			same = 1;
		int			i;

		p = seed_problem(lines, nodes, cands);
		memset(&p.profile, 0, sizeof(p.profile));
		p.profile.max_evaluations = 1000;
		p.profile.exact_node_limit = 15;
		cands[2].available = 30;
		rc = sr_solve(&p, &env, &r);
		if (sr_solve(&p, &env, &r2) != 0 || r2.nallocs != r.nallocs)
			same = 0;
		for (i = 0; same && i < r.nallocs; i++)
			if (memcmp(&r.allocs[i], &r2.allocs[i], sizeof(SrAlloc)) != 0)
				same = 0;
		tap_ok(rc == 0 && same && r.status == SR_COMPLETE && r.score == 0 &&
			   r.nallocs >= 1 && check_result(&p, &r, &why),
			   "zero weights: complete, deterministic, no idle shipment");
		arena_reset(&arena);
	}

	/* empty order */
	memset(&p, 0, sizeof(p));
	sr_profile_defaults(&p.profile);
	rc = sr_solve(&p, &env, &r);
	tap_ok(rc == 0 && r.status == SR_COMPLETE && r.nallocs == 0 &&
		   r.score == 0, "an order without lines is complete and empty");
	arena_reset(&arena);

	/* a node's penalty (capacity load) is paid once when it ships: A's 100
	 * outweighs C's dearer units and days (about 55): B 12 + C 8 */
	p = seed_problem(lines, nodes, cands);
	nodes[0].penalty = 100;
	rc = sr_solve(&p, &env, &r);
	tap_ok(rc == 0 && r.status == SR_COMPLETE && alloc_of(&r, 0, 0) == 0 &&
		   r.terms.penalty == 0 && check_result(&p, &r, &why),
		   "penalty: a loaded node is avoided when others can ship");
	arena_reset(&arena);
	p = seed_problem(lines, nodes, cands);
	nodes[0].penalty = 3;
	rc = sr_solve(&p, &env, &r);
	tap_ok(rc == 0 && alloc_of(&r, 0, 0) == 8 && r.terms.penalty == 3 &&
		   check_result(&p, &r, &why),
		   "penalty: a small one is paid, in terms and score");
	arena_reset(&arena);

	/* balance: taking past balance_free costs w_balance per unit */
	p = seed_problem(lines, nodes, cands);
	p.profile.w_balance = 0.05;
	cands[0].balance_free = 5;
	rc = sr_solve(&p, &env, &r);
	tap_ok(rc == 0 && alloc_of(&r, 0, 0) == 8 && r.terms.balance == 3 &&
		   check_result(&p, &r, &why),
		   "balance term counts units past balance_free");
	arena_reset(&arena);
}

/* ------------------------------------------------------------ validation */

static void
test_validation(void)
{
	SrLine		lines[4];
	SrNode		nodes[4];
	SrCand		cands[8];
	SrProblem	p;
	SrResult	r;
	int			ok = 1;
	int			i;

	struct
	{
		const char *what;
		int			expect;
	}			cases[] = {
		{"negative nlines", SR_EINVAL},
		{"negative nnodes", SR_EINVAL},
		{"negative ncands", SR_EINVAL},
		{"qty 0", SR_EINVAL},
		{"qty negative", SR_EINVAL},
		{"qty past SR_MAX_QTY", SR_EINVAL},
		{"qty INT64_MAX", SR_EINVAL},
		{"line index out of range", SR_EINVAL},
		{"node index negative", SR_EINVAL},
		{"available 0", SR_EINVAL},
		{"unit_cost NaN", SR_EINVAL},
		{"unit_cost negative", SR_EINVAL},
		{"shipment_cost Inf", SR_EINVAL},
		{"days negative", SR_EINVAL},
		{"distance NaN", SR_EINVAL},
		{"penalty negative", SR_EINVAL},
		{"w_cost negative", SR_EINVAL},
		{"split_penalty NaN", SR_EINVAL},
		{"backorder_penalty Inf", SR_EINVAL},
		{"need_by_days NaN", SR_EINVAL},
		{"max_evaluations negative", SR_EINVAL},
		{"exact_node_limit negative", SR_EINVAL},
		{"NULL lines with nlines > 0", SR_EINVAL},
		{"duplicate (line, node)", SR_EDUP},
	};

	for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++)
	{
		int			rc;

		p = seed_problem(lines, nodes, cands);
		switch (i)
		{
			case 0: p.nlines = -1; break;
			case 1: p.nnodes = -1; break;
			case 2: p.ncands = -1; break;
			case 3: lines[0].qty = 0; break;
			case 4: lines[0].qty = -5; break;
			case 5: lines[0].qty = SR_MAX_QTY + 1; break;
			case 6: lines[0].qty = INT64_MAX; break;
			case 7: cands[1].line = 1; break;
			case 8: cands[1].node = -1; break;
			case 9: cands[2].available = 0; break;
			case 10: cands[0].unit_cost = NAN; break;
			case 11: cands[0].unit_cost = -1; break;
			case 12: nodes[1].shipment_cost = INFINITY; break;
			case 13: nodes[1].days = -1; break;
			case 14: nodes[2].distance_km = NAN; break;
			case 15: nodes[0].penalty = -1; break;
			case 16: p.profile.w_cost = -1; break;
			case 17: p.profile.split_penalty = NAN; break;
			case 18: p.profile.backorder_penalty = INFINITY; break;
			case 19: p.profile.need_by_days = NAN; break;
			case 20: p.profile.max_evaluations = -1; break;
			case 21: p.profile.exact_node_limit = -1; break;
			case 22: p.lines = NULL; break;
			case 23: cands[2].node = 0; break;
		}
		rc = sr_solve(&p, &env, &r);
		if (rc != cases[i].expect)
		{
			ok = 0;
			diag("%s: got %d, want %d", cases[i].what, rc, cases[i].expect);
		}
		tap_ok(rc == cases[i].expect, "rejects %s", cases[i].what);
		arena_reset(&arena);
	}
	(void) ok;

	/* huge but legal quantities: no overflow anywhere */
	{
		const char *why = "";
		int			rc;

		p = seed_problem(lines, nodes, cands);
		lines[0].qty = SR_MAX_QTY;
		cands[0].available = INT64_MAX;
		cands[0].balance_free = INT64_MIN;
		cands[1].available = INT64_MAX - 1;
		cands[1].balance_free = INT64_MAX;
		rc = sr_solve(&p, &env, &r);
		tap_ok(rc == 0 && r.status == SR_COMPLETE && r.nallocs == 1 &&
			   check_result(&p, &r, &why),
			   "qty = SR_MAX_QTY with INT64_MAX available: valid result (%s)",
			   rc == 0 ? why : "error");
		arena_reset(&arena);
	}

	/* allocator failure is reported, not crashed on */
	{
		int			rc;
		int			fails = 0;
		size_t		lim;

		p = seed_problem(lines, nodes, cands);
		for (lim = 1; lim < 4096; lim += 7)
		{
			arena.limit = lim;
			rc = sr_solve(&p, &env, &r);
			if (rc != 0 && rc != SR_ENOMEM)
				fails++;
			arena_reset(&arena);
		}
		arena.limit = 0;
		tap_ok(fails == 0, "allocation failure returns SR_ENOMEM or a result");
	}
}

/* --------------------------------------------------- random vs reference */

static int
solve_and_compare(Inst *in, double ref, int ref_any, int want_proven,
				  const char **why, char *buf, size_t bufsz)
{
	SrResult	r;
	int			rc = sr_solve(&in->p, &env, &r);
	int			ok = 1;

	(void) ref_any;
	if (rc != 0)
	{
		snprintf(buf, bufsz, "sr_solve returned %d", rc);
		*why = buf;
		ok = 0;
	}
	else if (!check_result(&in->p, &r, why))
		ok = 0;
	else if (!close_enough(r.score, ref))
	{
		snprintf(buf, bufsz, "score %.17g, reference optimum %.17g (status %d, method %d)",
				 r.score, ref, r.status, r.method);
		*why = buf;
		ok = 0;
	}
	else if (want_proven && (!r.proven_optimal || r.method != SR_METHOD_EXACT))
	{
		*why = "not proven optimal on a small instance";
		ok = 0;
	}
	else if (r.proven_optimal != (r.method == SR_METHOD_EXACT))
	{
		*why = "method and proven_optimal disagree";
		ok = 0;
	}
	arena_reset(&arena);
	return ok;
}

static void
test_random(int quick)
{
	int			fl;
	char		buf[256];

	/* up to 12 nodes against the subset enumeration, per flavour */
	for (fl = 0; fl < FL_COUNT; fl++)
	{
		int			count = quick ? 60 : 400;
		int			i;
		int			bad = 0;

		for (i = 0; i < count; i++)
		{
			Inst		in;
			int			any;
			double		ref;
			const char *why = "";

			rng_seed(1000 * fl + i);
			gen_small(&in, rnd(1, 6), rnd(1, 12), fl, chance(0.1) ? 1000000 : 12);
			ref = ref_subsets(&in.p, &any);
			if (!solve_and_compare(&in, ref, any, 1, &why, buf, sizeof(buf)))
			{
				if (bad++ == 0)
				{
					diag("instance seed %d: %s", 1000 * fl + i, why);
					dump_inst(&in.p);
				}
			}
		}
		tap_ok(bad == 0, "%d random instances, <= 12 nodes, %s: optimum matches subset enumeration (%d bad)",
			   count, flavour_name[fl], bad);
	}

	/* 13 to 15 nodes, still enumerable */
	{
		int			count = quick ? 10 : 150;
		int			i;
		int			bad = 0;

		for (i = 0; i < count; i++)
		{
			Inst		in;
			int			any;
			double		ref;
			const char *why = "";

			rng_seed(50000 + i);
			gen_small(&in, rnd(1, 4), rnd(13, 15), FL_MIXED, 12);
			ref = ref_subsets(&in.p, &any);
			if (!solve_and_compare(&in, ref, any, 1, &why, buf, sizeof(buf)))
				if (bad++ == 0)
				{
					diag("instance seed %d: %s", 50000 + i, why);
					dump_inst(&in.p);
				}
		}
		tap_ok(bad == 0, "%d random instances, 13-15 nodes: proven optimum matches subset enumeration (%d bad)",
			   count, bad);
	}

	/* tiny instances against full enumeration of integer allocations */
	{
		int			count = quick ? 60 : 600;
		int			i;
		int			bad = 0;
		int			disagree = 0;

		for (i = 0; i < count; i++)
		{
			Inst		in;
			int			any;
			int			any2;
			double		ref;
			double		ref2;
			const char *why = "";

			rng_seed(70000 + i);
			gen_small(&in, rnd(1, 3), rnd(1, 4), i % FL_COUNT, rnd(1, 6));
			while (in.p.ncands > 7)
				in.p.ncands--;	/* keep the enumeration small */
			ref = ref_tiny(&in.p, &any);
			ref2 = ref_subsets(&in.p, &any2);
			if (!close_enough(ref, ref2) || any != any2)
				disagree++;
			if (!solve_and_compare(&in, ref, any, 1, &why, buf, sizeof(buf)))
				if (bad++ == 0)
				{
					diag("instance seed %d: %s", 70000 + i, why);
					dump_inst(&in.p);
				}
		}
		tap_ok(disagree == 0, "%d tiny instances: the two references agree (%d differ)",
			   count, disagree);
		tap_ok(bad == 0, "%d tiny instances: optimum matches full allocation enumeration (%d bad)",
			   count, bad);
	}

	/*
	 * The same kind of instances with the exact limit at 0: the heuristic,
	 * then the short proof attempt.  Whatever it claims proven must be the
	 * optimum, small instances should mostly get proven, and with a tiny
	 * budget the plan must stay valid and never beat the optimum.
	 */
	{
		int			count = quick ? 40 : 400;
		int			i;
		int			bad_big = 0;
		int			bad_small = 0;
		int			proven = 0;
		int			optimal = 0;

		for (i = 0; i < count; i++)
		{
			Inst		in;
			int			any;
			double		ref;
			SrResult	r;
			const char *why = "";

			rng_seed(90000 + i);
			gen_small(&in, rnd(1, 6), rnd(1, 12), FL_MIXED, 12);
			ref = ref_subsets(&in.p, &any);
			in.p.profile.exact_node_limit = 0;
			if (sr_solve(&in.p, &env, &r) != 0 || !check_result(&in.p, &r, &why) ||
				(r.proven_optimal && !close_enough(r.score, ref)) ||
				r.proven_optimal != (r.method == SR_METHOD_EXACT) ||
				r.score < ref - 1e-9 * fmax(1, fabs(ref)))
			{
				if (bad_big++ == 0)
					diag("exact_node_limit=0, seed %d: %s", 90000 + i, why);
			}
			proven += r.proven_optimal;
			optimal += close_enough(r.score, ref);
			arena_reset(&arena);

			in.p.profile.max_evaluations = rnd(0, 40);
			if (sr_solve(&in.p, &env, &r) != 0 || !check_result(&in.p, &r, &why) ||
				(any && r.score < ref - 1e-9 * fmax(1, fabs(ref))) ||
				(r.proven_optimal && !close_enough(r.score, ref)))
				if (bad_small++ == 0)
					diag("tiny budget, seed %d: %s", 90000 + i, why);
			arena_reset(&arena);
		}
		diag("exact_node_limit=0: %d/%d proven by the budgeted search, %d/%d optimal",
			 proven, count, optimal, count);
		tap_ok(bad_big == 0 && proven * 10 >= count * 9,
			   "%d instances with exact_node_limit=0: proven ones optimal, >= 90%% proven (%d bad)",
			   count, bad_big);
		tap_ok(bad_small == 0, "%d instances with a tiny budget: valid, never better than the optimum (%d bad)",
			   count, bad_small);
	}
}

/* ------------------------------------------------------------------ fuzz */

static void
fuzz_one(Inst *in)
{
	SrProfile  *pr = &in->p.profile;
	int			k;
	int			nmut = rnd(0, 4);
	static const double weird[] = {
		NAN, INFINITY, -INFINITY, -1.0, -0.0, 0.0, 1e300, 1e18, 1e19, 5e-324,
		-1e-300
	};
	static const int64_t weird64[] = {
		0, -1, 1, INT64_MAX, INT64_MIN, INT64_MAX - 1, SR_MAX_QTY,
		SR_MAX_QTY + 1, (int64_t) 1 << 53
	};

	for (k = 0; k < nmut; k++)
	{
		int			what = rnd(0, 14);
		double		w = weird[rnd(0, (int) (sizeof(weird) / sizeof(weird[0])) - 1)];
		int64_t		w64 = weird64[rnd(0, (int) (sizeof(weird64) / sizeof(weird64[0])) - 1)];
		int			c = in->p.ncands > 0 ? rnd(0, in->p.ncands - 1) : 0;
		int			n = in->p.nnodes > 0 ? rnd(0, in->p.nnodes - 1) : 0;
		int			l = in->p.nlines > 0 ? rnd(0, in->p.nlines - 1) : 0;

		switch (what)
		{
			case 0:
				if (in->p.ncands)
					in->cands[c].line += rnd(-3, 3) * 1000003;
				break;
			case 1:
				if (in->p.ncands)
					in->cands[c].node = rnd(-2, in->p.nnodes + 2);
				break;
			case 2:
				if (in->p.ncands)
					in->cands[c].available = w64;
				break;
			case 3:
				if (in->p.ncands)
					in->cands[c].unit_cost = w;
				break;
			case 4:
				if (in->p.ncands)
					in->cands[c].balance_free = w64;
				break;
			case 5:
				if (in->p.nlines)
					in->lines[l].qty = w64;
				break;
			case 6:
				if (in->p.nnodes)
					in->nodes[n].days = w;
				break;
			case 7:
				if (in->p.nnodes)
					in->nodes[n].shipment_cost = w;
				break;
			case 8:
				if (in->p.ncands > 1)
				{
					/* duplicate a (line, node) pair */
					in->cands[c].line = in->cands[(c + 1) % in->p.ncands].line;
					in->cands[c].node = in->cands[(c + 1) % in->p.ncands].node;
				}
				break;
			case 9:
				switch (rnd(0, 7))
				{
					case 0: pr->w_cost = w; break;
					case 1: pr->w_days = w; break;
					case 2: pr->w_balance = w; break;
					case 3: pr->split_penalty = w; break;
					case 4: pr->backorder_penalty = w; break;
					case 5: pr->need_by_days = w; break;
					case 6: pr->w_late = w; break;
					default: pr->w_distance = w; break;
				}
				break;
			case 10:
				pr->max_shipments = rnd(-3, 3);
				pr->exact_node_limit = rnd(-1, 20);
				pr->max_evaluations = rnd(-1, 1) * (int64_t) rnd(0, 5000);
				break;
			case 11:
				in->p.nlines = rnd(-1, in->p.nlines);
				break;
			case 12:
				in->p.ncands = rnd(-1, in->p.ncands);
				break;
			case 13:
				in->p.nnodes = rnd(-1, in->p.nnodes);
				break;
			default:
				pr->allow_partial = chance(0.5);
				pr->ship_complete = chance(0.3);
				break;
		}
	}
}

static void
test_fuzz(int quick)
{
	int			count = quick ? 1500 : 5000;
	int			i;
	int			bad = 0;
	int			errors = 0;
	int			valid = 0;

	for (i = 0; i < count; i++)
	{
		Inst		in;
		SrResult	r;
		int			rc;
		const char *why = "";
		int			flagged = 0;

		rng_seed(123456 + i);
		gen_small(&in, rnd(0, 8), rnd(0, 20), FL_MIXED,
				  chance(0.2) ? 1000000000 : 20);
		in.p.profile.max_evaluations = rnd(0, 3000);
		fuzz_one(&in);
		rc = sr_solve(&in.p, &env, &r);
		if (rc == SR_EINVAL || rc == SR_EDUP)
			errors++;
		else if (rc != 0)
			flagged = 1;
		else
		{
			valid++;
			/* check_result indexes with the problem's sizes: only when sane */
			if (in.p.nlines <= MAXL && in.p.ncands <= MAXC && in.p.nnodes <= MAXN &&
				!check_result(&in.p, &r, &why))
				flagged = 1;
		}
		if (flagged && bad++ == 0)
			diag("fuzz case %d: rc %d %s", i, rc, why);
		arena_reset(&arena);
	}
	tap_ok(bad == 0, "%d fuzzed problems: each an error code or a valid result (%d errors, %d solved, %d bad)",
		   count, errors, valid, bad);
}

/* --------------------------------------------------- large instances / CBC */

/*
 * A realistic instance: nodes spread 50-2500 miles from the customer, a fixed
 * 8.759 per shipment, 0.423 + 0.000541 * miles per unit, days growing with
 * distance, stock sparse enough that most orders split.
 */
static void
gen_large(Inst *in, int nl, int nn, int partial)
{
	SrProfile  *pr = &in->p.profile;
	double		miles[MAXN];
	int			l;
	int			n;
	int			nc = 0;

	memset(in, 0, sizeof(*in));
	inst_fix(in);
	sr_profile_defaults(pr);
	in->p.nlines = nl;
	in->p.nnodes = nn;
	for (n = 0; n < nn; n++)
	{
		miles[n] = rndf(50, 2500);
		in->nodes[n].shipment_cost = 8.759;
		in->nodes[n].days = 1 + floor(miles[n] / 500) + rnd(0, 1);
		in->nodes[n].distance_km = miles[n] * 1.609;
	}
	for (l = 0; l < nl; l++)
	{
		int64_t		got = 0;

		in->lines[l].qty = rnd(1, 12);
		for (n = 0; n < nn; n++)
		{
			SrCand	   *c;

			if (!chance(0.2))
				continue;
			c = &in->cands[nc++];
			c->line = l;
			c->node = n;
			c->available = rnd(1, (int) in->lines[l].qty);
			c->unit_cost = (0.423 + 0.000541 * miles[n]) * rndf(0.8, 1.2);
			c->balance_free = chance(0.7) ? c->available : rnd(0, (int) c->available);
			got += c->available;
		}
		/* without partial every line must be fillable: top up one node */
		if (got < in->lines[l].qty)
		{
			int			k;
			SrCand	   *c = NULL;

			n = rnd(0, nn - 1);
			for (k = 0; k < nc; k++)
				if (in->cands[k].line == l && in->cands[k].node == n)
					c = &in->cands[k];
			if (c == NULL)
			{
				c = &in->cands[nc++];
				c->line = l;
				c->node = n;
				c->unit_cost = 0.423 + 0.000541 * miles[n];
			}
			c->available += in->lines[l].qty - got;
			c->balance_free = c->available;
		}
	}
	in->p.ncands = nc;
	pr->w_balance = 0.2;
	if (partial)
	{
		pr->allow_partial = true;
		pr->backorder_penalty = 6;
	}
}

static int	cbc_ok = -1;

static int
have_cbc(void)
{
	if (cbc_ok < 0)
		cbc_ok = system("command -v cbc >/dev/null 2>&1") == 0;
	return cbc_ok;
}

/* Exact optimum by CBC, or NAN when it did not prove one. */
static double
cbc_optimum(const SrProblem *p, const char *dir, int idx)
{
	const SrProfile *pr = &p->profile;
	char		lp[512];
	char		sol[512];
	char		cmd[1400];
	char		line[512];
	FILE	   *f;
	int			n;
	int			c;
	int			l;
	double		obj = NAN;
	int			partial = pr->allow_partial && !pr->ship_complete;
	int			kmax = pr->ship_complete ? 1 : pr->max_shipments;

	snprintf(lp, sizeof(lp), "%s/inst%d.lp", dir, idx);
	snprintf(sol, sizeof(sol), "%s/inst%d.sol", dir, idx);
	f = fopen(lp, "w");
	if (!f)
		return NAN;
	fprintf(f, "Minimize\n obj:");
	for (n = 0; n < p->nnodes; n++)
	{
		const SrNode *nd = &p->nodes[n];
		double		late = pr->need_by_days >= 0 && nd->days > pr->need_by_days ?
			nd->days - pr->need_by_days : 0;
		double		fx = pr->w_cost * nd->shipment_cost + pr->w_days * nd->days +
			pr->w_late * late + pr->w_distance * nd->distance_km + nd->penalty +
			pr->split_penalty;

		fprintf(f, " + %.17g y%d", fx, n);
	}
	fprintf(f, " - %.17g z", pr->split_penalty);
	for (c = 0; c < p->ncands; c++)
	{
		fprintf(f, " + %.17g a%d", pr->w_cost * p->cands[c].unit_cost, c);
		fprintf(f, " + %.17g b%d", pr->w_cost * p->cands[c].unit_cost + pr->w_balance, c);
	}
	if (partial)
		for (l = 0; l < p->nlines; l++)
			fprintf(f, " + %.17g u%d", pr->backorder_penalty, l);
	fprintf(f, "\nSubject To\n");
	for (l = 0; l < p->nlines; l++)
	{
		fprintf(f, " d%d:", l);
		for (c = 0; c < p->ncands; c++)
			if (p->cands[c].line == l)
				fprintf(f, " + a%d + b%d", c, c);
		if (partial)
			fprintf(f, " + u%d", l);
		fprintf(f, " = %lld\n", (long long) p->lines[l].qty);
	}
	for (c = 0; c < p->ncands; c++)
	{
		const SrCand *cd = &p->cands[c];
		int64_t		a = cd->available < p->lines[cd->line].qty ? cd->available : p->lines[cd->line].qty;
		int64_t		bf = cd->balance_free < 0 ? 0 : cd->balance_free;

		if (bf > a)
			bf = a;
		fprintf(f, " ca%d: a%d - %lld y%d <= 0\n", c, c, (long long) bf, cd->node);
		fprintf(f, " cb%d: b%d - %lld y%d <= 0\n", c, c, (long long) (a - bf), cd->node);
	}
	fprintf(f, " cz: z");
	for (n = 0; n < p->nnodes; n++)
		fprintf(f, " - y%d", n);
	fprintf(f, " <= 0\n");
	if (kmax > 0)
	{
		fprintf(f, " ck:");
		for (n = 0; n < p->nnodes; n++)
			fprintf(f, " + y%d", n);
		fprintf(f, " <= %d\n", kmax);
	}
	fprintf(f, "Binaries\n");
	for (n = 0; n < p->nnodes; n++)
		fprintf(f, " y%d\n", n);
	fprintf(f, " z\nEnd\n");
	fclose(f);

	snprintf(cmd, sizeof(cmd),
			 "cbc %s ratioGap 0 allowableGap 1e-7 seconds 30 threads 1 solve solution %s >/dev/null 2>&1",
			 lp, sol);
	if (system(cmd) != 0)
		return NAN;
	f = fopen(sol, "r");
	if (!f)
		return NAN;
	if (fgets(line, sizeof(line), f) && strncmp(line, "Optimal", 7) == 0)
	{
		char	   *v = strstr(line, "objective value");

		if (v)
			obj = strtod(v + strlen("objective value"), NULL);
	}
	fclose(f);
	return obj;
}

static void
test_large(int quick)
{
	int			i;
	double		t0;
	double		total;
	double		worst;
	int			reps;
	int			bad = 0;

	/* timing: 10 x 50 and 25 x 60 */
	{
		int			sizes[2][2] = {{10, 50}, {25, 60}};
		int			s;

		for (s = 0; s < 2; s++)
		{
			double		times[64];
			int			exact = 0;
			double		med;

			reps = quick ? 8 : 40;
			for (i = 0; i < reps; i++)
			{
				Inst		in;
				SrResult	r;
				const char *why = "";
				int			j;

				rng_seed(300000 + 1000 * s + i);
				gen_large(&in, sizes[s][0], sizes[s][1], i % 2);
				t0 = now_sec();
				if (sr_solve(&in.p, &env, &r) != 0 || !check_result(&in.p, &r, &why))
					bad++;
				times[i] = now_sec() - t0;
				exact += r.proven_optimal;
				arena_reset(&arena);
				/* insertion sort for the median */
				for (j = i; j > 0 && times[j - 1] > times[j]; j--)
				{
					double		t = times[j];

					times[j] = times[j - 1];
					times[j - 1] = t;
				}
			}
			med = times[reps / 2];
			total = 0;
			for (i = 0; i < reps; i++)
				total += times[i];
			diag("%d x %d: median %.3f ms, mean %.3f ms, max %.3f ms, %d/%d proven optimal",
				 sizes[s][0], sizes[s][1], med * 1e3, total / reps * 1e3,
				 times[reps - 1] * 1e3, exact, reps);
			tap_ok(bad == 0, "%d x %d instances solve to valid plans", sizes[s][0], sizes[s][1]);
		}
	}

	/* heuristic quality against CBC */
	if (quick || !have_cbc())
	{
		tap_skip(quick ? "cbc comparison not run in quick mode" : "cbc not installed");
		return;
	}
	{
		char		dir[] = "/tmp/sr_cbc_XXXXXX";
		int			count = 16;
		double		gapsum = 0;
		int			ngap = 0;
		int			negative = 0;
		double		tsum = 0;
		char		cmd[128];

		if (!mkdtemp(dir))
		{
			tap_skip("cannot make a temporary directory");
			return;
		}
		worst = -1;
		for (i = 0; i < count; i++)
		{
			Inst		in;
			SrResult	r;
			double		opt;
			double		gap;

			rng_seed(400000 + i);
			gen_large(&in, 25, 60, i % 2);
			t0 = now_sec();
			if (sr_solve(&in.p, &env, &r) != 0)
			{
				negative++;
				continue;
			}
			tsum += now_sec() - t0;
			opt = cbc_optimum(&in.p, dir, i);
			if (isnan(opt))
			{
				diag("instance %d: cbc gave no proven optimum", i);
				arena_reset(&arena);
				continue;
			}
			gap = (r.score - opt) / fabs(opt);
			diag("instance %d: solver %.6f (%s) cbc %.6f gap %.4f%%", i, r.score,
				 r.proven_optimal ? "proven" : "heuristic", opt, gap * 100);
			if (gap < -1e-6)
				negative++;
			gapsum += gap;
			ngap++;
			if (gap > worst)
				worst = gap;
			arena_reset(&arena);
		}
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			diag("could not remove %s", dir);
		if (ngap > 0)
			diag("25 x 60 vs CBC: mean gap %.4f%%, max gap %.4f%%, mean solve %.3f ms over %d instances",
				 gapsum / ngap * 100, worst * 100, tsum / count * 1e3, ngap);
		tap_ok(ngap >= count / 2 && negative == 0 && gapsum / (ngap ? ngap : 1) <= 0.002,
			   "25 x 60 vs CBC: mean gap <= 0.2%%, never below the MILP optimum");
	}
}

static void
test_interrupts(void)
{
	Inst		in;
	SrResult	r;
	int			rc;

	rng_seed(777);
	gen_large(&in, 25, 60, 0);
	interrupt_calls = 0;
	rc = sr_solve(&in.p, &env, &r);
	tap_ok(rc == 0 && interrupt_calls > 0,
		   "long searches call check_interrupts (%ld calls, %lld evaluations)",
		   interrupt_calls, (long long) r.evaluated);
	arena_reset(&arena);
}

int
main(int argc, char **argv)
{
	int			quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	double		t0 = now_sec();

	test_scenarios();
	test_validation();
	test_random(quick);
	test_fuzz(quick);
	test_interrupts();
	test_large(quick);
	printf("1..%d\n", tap_n);
	diag("%d tests, %d failed, %.1f s", tap_n, tap_failed, now_sec() - t0);
	return tap_failed ? 1 : 0;
}
