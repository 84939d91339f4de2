/*
 * solver.c — the split-shipment solver: validation of the problem, the
 * per-line allocation subproblem, exact branch and bound over the set of
 * shipping nodes, the bounded heuristic used beyond it, and scoring.
 *
 * Once the set S of nodes allowed to ship is fixed, the rest of the problem
 * falls apart by line: each line takes its units from the cheapest segments
 * of the candidates in S (a candidate is two segments, the units up to
 * balance_free at w_cost * unit_cost and the rest w_balance dearer), leaving
 * a unit unfilled when backordering it is cheaper.  Everything hard is in S:
 * a capacitated facility-location problem whose fixed cost per node is
 *
 *   F_n = w_cost * shipment_cost + w_days * days + w_late * late_n
 *       + w_distance * distance_km + penalty + split_penalty
 *
 * with one split_penalty handed back when anything ships.
 *
 * Up to exact_node_limit nodes: a warm start, then depth-first branch and
 * bound on which nodes open, run to the end.  Bounds are the better of a
 * Lagrangian relaxation of the demand rows (with reduced-cost fixing) and an
 * LP bound that spreads each undecided node's fixed cost over the units it
 * could ship; the latter also picks the branching node and spots subtrees
 * whose best plan is already the open set.  Nodes that another node covers
 * at no more cost are dropped before the search, and once a node opens the
 * nodes it makes useless are closed.
 *
 * Beyond the limit: local search (add, drop, swap, then variable-depth
 * chains) from three starts (greedy adds, the best Lagrangian plan, the
 * LP-share plan), then a short branch and bound that may improve the plan
 * or, rarely, prove it.
 *
 * Pure C on purpose: no PostgreSQL headers, all memory from env->alloc and
 * never freed here, so an ERROR raised by env->check_interrupts leaks nothing.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solver.h"

/* Status of a node during branch and bound. */
#define ST_FREE		0
#define ST_IN		1
#define ST_OUT		2

/* How often long loops offer the caller a chance to cancel. */
#define INTERRUPT_EVERY 256

/* Pairwise dominance costs O(n^2); past this it is not worth it. */
#define DOMINANCE_MAX_NODES 512

/* Longest chain of toggles a variable-depth move tries. */
#define CHAIN_DEPTH 4

/* Subgradient steps per branch-and-bound node, and at the root. */
#define NODE_ITERS	6
#define ROOT_ITERS	200

/* Beyond the exact limit, the proof attempt may spend 1/PROOF_SHARE of what
 * the heuristic did: its nodes cost several relaxation passes each. */
#define PROOF_SHARE 16
#define PROOF_MIN	4096

/* Relative slack for "strictly better": hides rounding, not real gains. */
#define REL_TOL 1e-11

/*
 * A run of units of one candidate at one unit price: part 0 is the units up to
 * balance_free, part 1 the units past it.
 */
typedef struct Seg
{
	double		cost;			/* weighted cost of one unit */
	double		lpcost;			/* cost plus the node's fixed-cost share */
	int64_t		cap;			/* units in this run */
	int			node;			/* active node index */
	int			cand;			/* index into problem->cands */
	int			part;
} Seg;

/* Value of a node set: units that cannot be placed (hard), then cost. */
typedef struct Value
{
	double		infeasible;		/* unplaced units when partial is not allowed */
	double		cost;
} Value;

typedef struct Solver
{
	const SrProblem *prob;
	const SrEnv *env;

	int			nlines;
	int64_t    *qty;			/* per line */
	bool		partial;
	int			kmax;			/* most shipments allowed */
	double		pen;			/* backorder penalty per unit */
	double		split;			/* split penalty, handed back once */

	/* active nodes: those that can ship something, minus dominated ones */
	int			nact;
	int		   *act_node;		/* active index -> problem node index */
	double	   *fixed;			/* F_n */
	double	   *capacity;		/* units the node could ship at all */

	/* segments per line, twice: by cost and by lpcost */
	int		   *seg_start;		/* nlines + 1 */
	Seg		   *seg_cost;
	Seg		   *seg_lp;

	/* lines each active node can serve */
	int		   *nl_start;		/* nact + 1 */
	int		   *nl_line;

	/* covers[a] bit b: a open makes b useless (NULL if not computed) */
	uint64_t   *covers;
	int			cover_words;

	/* Lagrangian relaxation of the demand rows */
	double	   *lam_root;		/* per line, best multipliers at the root */
	double	   *lam_cap;		/* per line, no unit is worth more */
	double	   *nodeval;		/* per active node, its Lagrangian term */
	double	   *grad;			/* per line */
	double	   *lam_best;		/* per line, scratch for the ascent */
	char	   *lag_open;		/* per active node, open in the relaxation */
	int		   *hits;			/* per active node, times open at the root */
	int		   *order;			/* per active node, scratch for selection */

	/* scratch */
	int		   *mark;			/* per line, for deduplication */
	int			stamp;
	double	   *use;			/* per active node, units in the LP bound */

	int64_t		evaluated;
	int64_t		pruned;
	int64_t		since_check;
} Solver;

/* Local search state. */
typedef struct Heur
{
	char	   *in;
	int			nopen;
	double	   *lcost;			/* per line */
	double	   *lunf;			/* per line, unplaced (hard) units */
} Heur;

static void *
sr_alloc(const Solver *s, size_t n, size_t size)
{
	if (n == 0)
		n = 1;
	return s->env->alloc(s->env->alloc_ctx, n * size);
}

static void
tick(Solver *s)
{
	s->evaluated++;
	if (++s->since_check >= INTERRUPT_EVERY)
	{
		s->since_check = 0;
		if (s->env->check_interrupts)
			s->env->check_interrupts(s->env->interrupt_ctx);
	}
}

static double
tol_of(double v)
{
	return REL_TOL * (fabs(v) > 1.0 ? fabs(v) : 1.0);
}

static bool
valid_double(double v)
{
	return isfinite(v) && v >= 0.0 && v <= SR_MAX_VALUE;
}

const char *
sr_status_name(SrStatus status)
{
	return status == SR_COMPLETE ? "complete" :
		status == SR_PARTIAL ? "partial" : "unfillable";
}

void
sr_profile_defaults(SrProfile *profile)
{
	if (profile == NULL)
		return;
	memset(profile, 0, sizeof(*profile));
	profile->w_cost = 1.0;
	profile->w_days = 1.0;
	profile->w_late = 0.0;
	profile->w_distance = 0.0;
	profile->w_balance = 0.0;
	profile->split_penalty = 0.0;
	profile->backorder_penalty = 1000.0;
	profile->need_by_days = -1.0;
	profile->max_shipments = 0;
	profile->allow_partial = false;
	profile->ship_complete = false;
	profile->exact_node_limit = 15;
	profile->max_evaluations = 200000;
}

double
sr_score_terms(const SrProfile *profile, const SrTerms *terms)
{
	if (profile == NULL || terms == NULL)
		return 0.0;
	return profile->w_cost * terms->cost
		+ profile->w_days * terms->days
		+ profile->w_late * terms->late
		+ profile->split_penalty * terms->splits
		+ profile->w_distance * terms->distance
		+ profile->w_balance * terms->balance
		+ profile->backorder_penalty * terms->unfilled
		+ terms->penalty;
}

/* ---------------------------------------------------------------- input */

typedef struct CandKey
{
	int			line;
	int			node;
} CandKey;

static int
cmp_cand_key(const void *a, const void *b)
{
	const CandKey *x = a;
	const CandKey *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	return 0;
}

static int
validate(const SrProblem *p)
{
	const SrProfile *pr = &p->profile;
	int			i;

	if (p->nlines < 0 || p->nnodes < 0 || p->ncands < 0)
		return SR_EINVAL;
	if ((p->nlines > 0 && p->lines == NULL) ||
		(p->nnodes > 0 && p->nodes == NULL) ||
		(p->ncands > 0 && p->cands == NULL))
		return SR_EINVAL;
	/* two segments per candidate must stay indexable by int */
	if (p->ncands > INT_MAX / 4 || p->nlines > INT_MAX / 4 ||
		p->nnodes > INT_MAX / 4)
		return SR_EINVAL;

	if (!valid_double(pr->w_cost) || !valid_double(pr->w_days) ||
		!valid_double(pr->w_late) || !valid_double(pr->w_distance) ||
		!valid_double(pr->w_balance) || !valid_double(pr->split_penalty) ||
		!valid_double(pr->backorder_penalty))
		return SR_EINVAL;
	if (!isfinite(pr->need_by_days) || fabs(pr->need_by_days) > SR_MAX_VALUE)
		return SR_EINVAL;
	if (pr->exact_node_limit < 0 || pr->max_evaluations < 0)
		return SR_EINVAL;

	for (i = 0; i < p->nlines; i++)
		if (p->lines[i].qty <= 0 || p->lines[i].qty > SR_MAX_QTY)
			return SR_EINVAL;
	for (i = 0; i < p->nnodes; i++)
		if (!valid_double(p->nodes[i].shipment_cost) ||
			!valid_double(p->nodes[i].days) ||
			!valid_double(p->nodes[i].distance_km) ||
			!valid_double(p->nodes[i].penalty))
			return SR_EINVAL;
	for (i = 0; i < p->ncands; i++)
	{
		const SrCand *c = &p->cands[i];

		if (c->line < 0 || c->line >= p->nlines ||
			c->node < 0 || c->node >= p->nnodes ||
			c->available <= 0 || !valid_double(c->unit_cost))
			return SR_EINVAL;
	}
	return 0;
}

static int
check_duplicates(const SrProblem *p, const SrEnv *env)
{
	CandKey    *keys;
	int			i;

	if (p->ncands < 2)
		return 0;
	keys = env->alloc(env->alloc_ctx, sizeof(CandKey) * (size_t) p->ncands);
	if (keys == NULL)
		return SR_ENOMEM;
	for (i = 0; i < p->ncands; i++)
	{
		keys[i].line = p->cands[i].line;
		keys[i].node = p->cands[i].node;
	}
	qsort(keys, (size_t) p->ncands, sizeof(CandKey), cmp_cand_key);
	for (i = 1; i < p->ncands; i++)
		if (cmp_cand_key(&keys[i - 1], &keys[i]) == 0)
			return SR_EDUP;
	return 0;
}

/* ------------------------------------------------------------- set-up */

static int
cmp_seg_cost(const void *a, const void *b)
{
	const Seg  *x = a;
	const Seg  *y = b;

	if (x->cost != y->cost)
		return x->cost < y->cost ? -1 : 1;
	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	return x->part - y->part;
}

static int
cmp_seg_lp(const void *a, const void *b)
{
	const Seg  *x = a;
	const Seg  *y = b;

	if (x->lpcost != y->lpcost)
		return x->lpcost < y->lpcost ? -1 : 1;
	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	return x->part - y->part;
}

/* Per (node, line) summary, used for dominance. */
typedef struct NodeLine
{
	int			line;
	int64_t		cap;			/* units the node can give the line */
	double		mincost;
	double		maxcost;
} NodeLine;

/*
 * Does node a, once open, make node b useless?  True when a can give every
 * line b serves all of its units, each no dearer than b's cheapest unit: b's
 * units move to a without any cost increase.
 */
static bool
node_covers(const NodeLine *la, int na, const NodeLine *lb, int nb,
			const int64_t *qty)
{
	int			i = 0;
	int			j;

	for (j = 0; j < nb; j++)
	{
		while (i < na && la[i].line < lb[j].line)
			i++;
		if (i >= na || la[i].line != lb[j].line)
			return false;
		if (la[i].cap < qty[lb[j].line] || la[i].maxcost > lb[j].mincost)
			return false;
	}
	return true;
}

/*
 * Build segments, drop nodes that can never ship and nodes dominated by
 * another, then index what the searches need.  Returns false on allocation
 * failure.
 */
static bool
setup(Solver *s)
{
	const SrProblem *p = s->prob;
	const SrProfile *pr = &p->profile;
	int			nnodes = p->nnodes;
	int			nl = s->nlines;
	int		   *cnt;
	int		   *nodeseg;		/* problem node -> number of segments */
	Seg		   *raw;
	int			nraw = 0;
	int			i;
	int			n;
	int			l;
	double	   *fixed_all;
	int		   *act_of;			/* problem node -> active index or -1 */
	NodeLine  **nlist;
	int		   *nlcount;
	char	   *dead;
	int			nalive;

	fixed_all = sr_alloc(s, nnodes, sizeof(double));
	nodeseg = sr_alloc(s, nnodes, sizeof(int));
	raw = sr_alloc(s, (size_t) p->ncands * 2, sizeof(Seg));
	if (!fixed_all || !nodeseg || !raw)
		return false;

	for (n = 0; n < nnodes; n++)
	{
		const SrNode *nd = &p->nodes[n];
		double		late = 0.0;

		if (pr->need_by_days >= 0.0 && nd->days > pr->need_by_days)
			late = nd->days - pr->need_by_days;
		fixed_all[n] = pr->w_cost * nd->shipment_cost + pr->w_days * nd->days
			+ pr->w_late * late + pr->w_distance * nd->distance_km
			+ nd->penalty + pr->split_penalty;
	}

	/* segments, with runs a partial order would never use left out */
	for (i = 0; i < p->ncands; i++)
	{
		const SrCand *c = &p->cands[i];
		int64_t		q = s->qty[c->line];
		int64_t		a = c->available < q ? c->available : q;
		int64_t		bf = c->balance_free;
		double		c0 = pr->w_cost * c->unit_cost;
		int			part;

		if (bf < 0)
			bf = 0;
		if (bf > a)
			bf = a;
		for (part = 0; part < 2; part++)
		{
			int64_t		cap = part == 0 ? bf : a - bf;
			double		cost = part == 0 ? c0 : c0 + pr->w_balance;
			Seg		   *sg;

			if (cap <= 0)
				continue;
			if (s->partial && cost > s->pen)
				continue;
			sg = &raw[nraw++];
			sg->cost = cost;
			sg->cap = cap;
			sg->node = c->node;
			sg->cand = i;
			sg->part = part;
			nodeseg[c->node]++;
		}
	}

	/* per-node line summaries, for dominance */
	nlcount = sr_alloc(s, nnodes, sizeof(int));
	nlist = sr_alloc(s, nnodes, sizeof(NodeLine *));
	dead = sr_alloc(s, nnodes, sizeof(char));
	if (!nlcount || !nlist || !dead)
		return false;
	for (n = 0; n < nnodes; n++)
	{
		nlist[n] = sr_alloc(s, (size_t) nodeseg[n], sizeof(NodeLine));
		if (!nlist[n])
			return false;
		if (nodeseg[n] == 0)
			dead[n] = 1;
	}
	{
		/* segments arrive per candidate, part 0 then part 1 */
		for (i = 0; i < nraw; i++)
		{
			Seg		   *sg = &raw[i];
			int			ln = p->cands[sg->cand].line;
			NodeLine   *arr = nlist[sg->node];
			int			k = nlcount[sg->node];

			if (k > 0 && arr[k - 1].line == ln &&
				i > 0 && raw[i - 1].cand == sg->cand)
			{
				arr[k - 1].cap += sg->cap;
				if (sg->cost > arr[k - 1].maxcost)
					arr[k - 1].maxcost = sg->cost;
				if (sg->cost < arr[k - 1].mincost)
					arr[k - 1].mincost = sg->cost;
				continue;
			}
			arr[k].line = ln;
			arr[k].cap = sg->cap;
			arr[k].mincost = sg->cost;
			arr[k].maxcost = sg->cost;
			nlcount[sg->node] = k + 1;
		}
	}
	/* node_covers wants lines in order; candidates may come in any order */
	for (n = 0; n < nnodes; n++)
	{
		int			k;

		for (k = 1; k < nlcount[n]; k++)
		{
			NodeLine	t = nlist[n][k];
			int			j = k - 1;

			if (nlist[n][j].line <= t.line)
				continue;
			while (j >= 0 && nlist[n][j].line > t.line)
			{
				nlist[n][j + 1] = nlist[n][j];
				j--;
			}
			nlist[n][j + 1] = t;
		}
	}

	nalive = 0;
	for (n = 0; n < nnodes; n++)
		if (!dead[n])
			nalive++;

	/*
	 * Global dominance: b never needs to open if some a covers it and costs
	 * no more to open (swap b for a, or just close b if a is open).  Among
	 * mutual dominators the lowest index survives.
	 */
	if (nalive <= DOMINANCE_MAX_NODES)
	{
		char	   *beaten = sr_alloc(s, nnodes, sizeof(char));
		int		   *alive = sr_alloc(s, nalive, sizeof(int));
		int			ib;
		int			ia;
		int			k = 0;

		if (!beaten || !alive)
			return false;
		for (n = 0; n < nnodes; n++)
			if (!dead[n])
				alive[k++] = n;
		for (ib = 0; ib < nalive; ib++)
		{
			int			b = alive[ib];

			for (ia = 0; ia < nalive && !beaten[b]; ia++)
			{
				int			a = alive[ia];

				if (a == b || fixed_all[a] > fixed_all[b] ||
					nlcount[a] < nlcount[b])
					continue;
				if (!node_covers(nlist[a], nlcount[a], nlist[b], nlcount[b],
								 s->qty))
					continue;
				if (a < b || fixed_all[b] > fixed_all[a] ||
					!node_covers(nlist[b], nlcount[b], nlist[a], nlcount[a],
								 s->qty))
					beaten[b] = 1;
			}
			if (s->env->check_interrupts && (ib & 63) == 63)
				s->env->check_interrupts(s->env->interrupt_ctx);
		}
		for (ib = 0; ib < nalive; ib++)
			if (beaten[alive[ib]])
			{
				dead[alive[ib]] = 1;
				s->pruned++;
			}
	}

	/* number the surviving nodes, keeping the caller's order */
	act_of = sr_alloc(s, nnodes, sizeof(int));
	s->act_node = sr_alloc(s, nnodes, sizeof(int));
	if (!act_of || !s->act_node)
		return false;
	s->nact = 0;
	for (n = 0; n < nnodes; n++)
	{
		act_of[n] = -1;
		if (!dead[n])
		{
			act_of[n] = s->nact;
			s->act_node[s->nact++] = n;
		}
	}
	s->fixed = sr_alloc(s, s->nact, sizeof(double));
	s->capacity = sr_alloc(s, s->nact, sizeof(double));
	s->use = sr_alloc(s, s->nact, sizeof(double));
	if (!s->fixed || !s->capacity || !s->use)
		return false;
	for (i = 0; i < s->nact; i++)
		s->fixed[i] = fixed_all[s->act_node[i]];

	/* bucket live segments by line */
	cnt = sr_alloc(s, (size_t) nl + 1, sizeof(int));
	s->seg_start = sr_alloc(s, (size_t) nl + 1, sizeof(int));
	if (!cnt || !s->seg_start)
		return false;
	for (i = 0; i < nraw; i++)
	{
		if (act_of[raw[i].node] < 0)
			continue;
		raw[i].node = act_of[raw[i].node];
		s->capacity[raw[i].node] += (double) raw[i].cap;
		cnt[p->cands[raw[i].cand].line + 1]++;
	}
	for (l = 0; l < nl; l++)
		cnt[l + 1] += cnt[l];
	memcpy(s->seg_start, cnt, sizeof(int) * ((size_t) nl + 1));
	s->seg_cost = sr_alloc(s, (size_t) cnt[nl], sizeof(Seg));
	s->seg_lp = sr_alloc(s, (size_t) cnt[nl], sizeof(Seg));
	if (!s->seg_cost || !s->seg_lp)
		return false;
	for (i = 0; i < nraw; i++)
	{
		int			ln;

		if (act_of[p->cands[raw[i].cand].node] < 0)
			continue;
		ln = p->cands[raw[i].cand].line;
		raw[i].lpcost = raw[i].cost + s->fixed[raw[i].node] /
			s->capacity[raw[i].node];
		s->seg_cost[cnt[ln]++] = raw[i];
	}
	memcpy(s->seg_lp, s->seg_cost, sizeof(Seg) * (size_t) s->seg_start[nl]);
	for (l = 0; l < nl; l++)
	{
		size_t		len = (size_t) (s->seg_start[l + 1] - s->seg_start[l]);

		qsort(s->seg_cost + s->seg_start[l], len, sizeof(Seg), cmp_seg_cost);
		qsort(s->seg_lp + s->seg_start[l], len, sizeof(Seg), cmp_seg_lp);
	}

	/* lines per active node, from the summaries built above */
	s->nl_start = sr_alloc(s, (size_t) s->nact + 1, sizeof(int));
	if (!s->nl_start)
		return false;
	for (i = 0; i < s->nact; i++)
		s->nl_start[i + 1] = s->nl_start[i] + nlcount[s->act_node[i]];
	s->nl_line = sr_alloc(s, (size_t) s->nl_start[s->nact], sizeof(int));
	if (!s->nl_line)
		return false;
	for (i = 0; i < s->nact; i++)
	{
		int			k;

		for (k = 0; k < nlcount[s->act_node[i]]; k++)
			s->nl_line[s->nl_start[i] + k] = nlist[s->act_node[i]][k].line;
	}

	/* in-search dominance: which open node makes which other useless */
	if (s->nact <= DOMINANCE_MAX_NODES && s->nact > 1)
	{
		int			a;
		int			b;

		s->cover_words = (s->nact + 63) / 64;
		s->covers = sr_alloc(s, (size_t) s->nact * (size_t) s->cover_words,
							 sizeof(uint64_t));
		if (!s->covers)
			return false;
		for (a = 0; a < s->nact; a++)
		{
			int			na = s->act_node[a];

			for (b = 0; b < s->nact; b++)
			{
				int			nb = s->act_node[b];

				if (a == b || nlcount[na] < nlcount[nb])
					continue;
				if (node_covers(nlist[na], nlcount[na], nlist[nb], nlcount[nb],
								s->qty))
					s->covers[(size_t) a * s->cover_words + b / 64] |=
						UINT64_C(1) << (b % 64);
			}
		}
	}

	s->mark = sr_alloc(s, nl, sizeof(int));
	s->lam_root = sr_alloc(s, nl, sizeof(double));
	s->grad = sr_alloc(s, nl, sizeof(double));
	s->lam_best = sr_alloc(s, nl, sizeof(double));
	s->nodeval = sr_alloc(s, s->nact, sizeof(double));
	s->lag_open = sr_alloc(s, s->nact, 1);
	s->order = sr_alloc(s, s->nact, sizeof(int));
	s->hits = sr_alloc(s, s->nact, sizeof(int));
	s->lam_cap = sr_alloc(s, nl, sizeof(double));
	if (!s->lam_cap)
		return false;
	{
		double		maxfixed = 0.0;

		/* a unit is never worth more than its dearest run plus a shipment */
		for (i = 0; i < s->nact; i++)
			if (s->fixed[i] > maxfixed)
				maxfixed = s->fixed[i];
		for (l = 0; l < nl; l++)
			if (s->seg_start[l + 1] > s->seg_start[l])
				s->lam_cap[l] = s->seg_cost[s->seg_start[l + 1] - 1].cost + maxfixed;
	}
	if (!s->hits || !s->mark || !s->lam_root || !s->grad || !s->lam_best ||
		!s->nodeval || !s->lag_open || !s->order)
		return false;
	return true;
}

/* ----------------------------------------------------- the subproblem */

/*
 * Cheapest way to serve line l from the nodes marked in `in`: its cost and
 * the units left unplaced.  With partial allowed those are backordered and
 * priced in; otherwise they make the set infeasible and cost nothing here.
 */
static double
fill_line(const Solver *s, int l, const char *in, int64_t *unplaced)
{
	const Seg  *sg = s->seg_cost + s->seg_start[l];
	const Seg  *end = s->seg_cost + s->seg_start[l + 1];
	int64_t		rem = s->qty[l];
	double		cost = 0.0;

	for (; sg < end && rem > 0; sg++)
	{
		int64_t		take;

		if (!in[sg->node])
			continue;
		take = sg->cap < rem ? sg->cap : rem;
		cost += (double) take * sg->cost;
		rem -= take;
	}
	*unplaced = rem;
	if (s->partial)
	{
		cost += (double) rem * s->pen;
		*unplaced = 0;
	}
	return cost;
}

static bool
value_less(Value a, Value b)
{
	if (a.infeasible != b.infeasible)
		return a.infeasible < b.infeasible;
	return a.cost < b.cost - tol_of(b.cost);
}

/*
 * Exact value of the plan the set `in` gives, with the nodes that would ship
 * nothing taken out of `in` (so the value charges only real shipments).
 */
static Value
eval_set(Solver *s, char *in)
{
	Value		v = {0.0, 0.0};
	int			l;
	int			n;
	int			nship = 0;
	double	   *shipped = s->use;

	for (n = 0; n < s->nact; n++)
		shipped[n] = 0.0;
	for (l = 0; l < s->nlines; l++)
	{
		const Seg  *sg = s->seg_cost + s->seg_start[l];
		const Seg  *end = s->seg_cost + s->seg_start[l + 1];
		int64_t		rem = s->qty[l];

		for (; sg < end && rem > 0; sg++)
		{
			int64_t		take;

			if (!in[sg->node])
				continue;
			take = sg->cap < rem ? sg->cap : rem;
			v.cost += (double) take * sg->cost;
			shipped[sg->node] += (double) take;
			rem -= take;
		}
		if (s->partial)
			v.cost += (double) rem * s->pen;
		else
			v.infeasible += (double) rem;
	}
	for (n = 0; n < s->nact; n++)
	{
		if (in[n] && shipped[n] > 0.0)
		{
			v.cost += s->fixed[n];
			nship++;
		}
		else
			in[n] = 0;
	}
	if (nship > 0)
		v.cost -= s->split;
	tick(s);
	return v;
}

/* ------------------------------------------------------- local search */

static void
heur_init(Solver *s, Heur *h)
{
	int			l;
	int			n;

	h->nopen = 0;
	for (n = 0; n < s->nact; n++)
		if (h->in[n])
			h->nopen++;
	for (l = 0; l < s->nlines; l++)
	{
		int64_t		unf;

		h->lcost[l] = fill_line(s, l, h->in, &unf);
		h->lunf[l] = (double) unf;
	}
}

static Value
heur_value(const Solver *s, const Heur *h)
{
	Value		v = {0.0, 0.0};
	int			l;
	int			n;

	for (l = 0; l < s->nlines; l++)
	{
		v.cost += h->lcost[l];
		v.infeasible += h->lunf[l];
	}
	for (n = 0; n < s->nact; n++)
		if (h->in[n])
			v.cost += s->fixed[n];
	if (h->nopen > 0)
		v.cost -= s->split;
	return v;
}

/*
 * Change in value from toggling node a and (if b >= 0) node b; with `apply`
 * the toggle stays and the line caches follow.
 */
static Value
heur_move(Solver *s, Heur *h, int a, int b, bool apply)
{
	Value		d = {0.0, 0.0};
	int			before = h->nopen;
	int			after = h->nopen;
	int			pass;

	h->in[a] = !h->in[a];
	d.cost += h->in[a] ? s->fixed[a] : -s->fixed[a];
	after += h->in[a] ? 1 : -1;
	if (b >= 0)
	{
		h->in[b] = !h->in[b];
		d.cost += h->in[b] ? s->fixed[b] : -s->fixed[b];
		after += h->in[b] ? 1 : -1;
	}
	if (before > 0 && after == 0)
		d.cost += s->split;
	else if (before == 0 && after > 0)
		d.cost -= s->split;

	if (++s->stamp == INT_MAX)
	{
		memset(s->mark, 0, sizeof(int) * (size_t) s->nlines);
		s->stamp = 1;
	}
	for (pass = 0; pass < 2; pass++)
	{
		int			n = pass == 0 ? a : b;
		int			k;

		if (n < 0)
			continue;
		for (k = s->nl_start[n]; k < s->nl_start[n + 1]; k++)
		{
			int			l = s->nl_line[k];
			int64_t		unf;
			double		c;

			if (s->mark[l] == s->stamp)
				continue;
			s->mark[l] = s->stamp;
			c = fill_line(s, l, h->in, &unf);
			d.cost += c - h->lcost[l];
			d.infeasible += (double) unf - h->lunf[l];
			if (apply)
			{
				h->lcost[l] = c;
				h->lunf[l] = (double) unf;
			}
		}
	}
	if (apply)
		h->nopen = after;
	else
	{
		h->in[a] = !h->in[a];
		if (b >= 0)
			h->in[b] = !h->in[b];
	}
	tick(s);
	return d;
}

static bool
delta_improves(Value d, Value best, double scale)
{
	if (d.infeasible != best.infeasible)
		return d.infeasible < best.infeasible;
	return d.cost < best.cost - tol_of(scale);
}

static bool compound_move(Solver *s, Heur *h, int64_t budget);

/*
 * Best-improvement descent: adds and drops first (cheap), swaps when neither
 * helps, and with `deep` variable-depth chains when swaps are stuck.  Stops
 * at a local optimum or when the budget is spent.
 */
static void
local_search(Solver *s, Heur *h, int64_t budget, bool deep)
{
	int			a;
	int			b;

	for (;;)
	{
		Value		zero = {0.0, 0.0};
		Value		bestd = zero;
		int			ba = -1;
		int			bb = -1;
		double		scale = heur_value(s, h).cost;

		if (s->evaluated >= budget)
			return;
		for (a = 0; a < s->nact; a++)
		{
			Value		d;

			if (!h->in[a] && h->nopen >= s->kmax)
				continue;
			d = heur_move(s, h, a, -1, false);
			if (delta_improves(d, bestd, scale))
			{
				bestd = d;
				ba = a;
			}
		}
		if (ba < 0)
		{
			for (a = 0; a < s->nact && s->evaluated < budget; a++)
			{
				if (!h->in[a])
					continue;
				for (b = 0; b < s->nact; b++)
				{
					Value		d;

					if (h->in[b])
						continue;
					d = heur_move(s, h, a, b, false);
					if (delta_improves(d, bestd, scale))
					{
						bestd = d;
						ba = a;
						bb = b;
					}
				}
			}
		}
		if (ba < 0)
		{
			if (deep && compound_move(s, h, budget))
				continue;
			return;
		}
		heur_move(s, h, ba, bb, true);
	}
}

static Value
value_add(Value a, Value b)
{
	a.infeasible += b.infeasible;
	a.cost += b.cost;
	return a;
}

/*
 * Variable-depth moves (Kernighan-Lin style), for when single swaps are
 * stuck: toggle one node, then keep toggling the best other node (even at a
 * loss) up to CHAIN_DEPTH times, and keep the best prefix of the chain if it
 * improves.  That finds trades such as three shipments for two elsewhere,
 * which no single add, drop or swap reaches.  Chains start from open nodes
 * and from nodes the Lagrangian relaxation liked.  Returns true on an
 * improvement.
 */
static bool
compound_move(Solver *s, Heur *h, int64_t budget)
{
	int			first;
	int			chain[CHAIN_DEPTH + 1];

	for (first = 0; first < s->nact; first++)
	{
		Value		zero = {0.0, 0.0};
		Value		total;
		Value		bestv;
		double		scale = heur_value(s, h).cost;
		int			len = 0;
		int			bestlen = 0;
		int			step;

		if (s->evaluated >= budget)
			return false;
		if (!h->in[first] && (s->hits[first] == 0 || h->nopen > s->kmax))
			continue;
		total = heur_move(s, h, first, -1, true);
		chain[len++] = first;
		bestv = zero;
		if (h->nopen <= s->kmax && delta_improves(total, bestv, scale))
		{
			bestv = total;
			bestlen = len;
		}
		for (step = 0; step < CHAIN_DEPTH; step++)
		{
			Value		bestd = zero;
			int			bn = -1;
			int			n;

			for (n = 0; n < s->nact; n++)
			{
				Value		d;
				int			k;

				for (k = 0; k < len && chain[k] != n; k++)
					;
				if (k < len || (!h->in[n] && h->nopen > s->kmax))
					continue;
				d = heur_move(s, h, n, -1, false);
				if (bn < 0 || delta_improves(d, bestd, scale))
				{
					bestd = d;
					bn = n;
				}
			}
			if (bn < 0)
				break;
			total = value_add(total, heur_move(s, h, bn, -1, true));
			chain[len++] = bn;
			if (h->nopen <= s->kmax && delta_improves(total, bestv, scale))
			{
				bestv = total;
				bestlen = len;
			}
		}
		while (len > bestlen)
			heur_move(s, h, chain[--len], -1, true);
		if (bestlen > 0)
			return true;
	}
	return false;
}

/* Keep the best set seen so far. */
static void
offer(Solver *s, const char *in, char *best_in, Value *best, char *scratch)
{
	Value		v;

	memcpy(scratch, in, (size_t) s->nact);
	v = eval_set(s, scratch);
	if (value_less(v, *best))
	{
		*best = v;
		memcpy(best_in, scratch, (size_t) s->nact);
	}
}

/* ---------------------------------------------------- branch and bound */

/*
 * LP bound for the subtree where nodes marked ST_IN are open, ST_OUT closed
 * and ST_FREE undecided: open nodes cost their fixed cost, free ones spread
 * it over the units they could ship (a valid relaxation because a node's
 * open fraction is at least its units shipped over its capacity), and each
 * line is filled greedily.  Returns false when the subtree cannot place
 * every unit (partial not allowed).  *branch is the free node the bound
 * leans on most, or -1 when it uses none: then the open set is the
 * subtree's optimum.
 */
static bool
lp_bound(Solver *s, const signed char *st, int nin, double *lb, int *branch)
{
	double		total = 0.0;
	bool		free_ok = nin < s->kmax;
	int			l;
	int			n;
	double		bestfrac = 0.0;

	*branch = -1;
	for (n = 0; n < s->nact; n++)
	{
		s->use[n] = 0.0;
		if (st[n] == ST_IN)
			total += s->fixed[n];
	}
	for (l = 0; l < s->nlines; l++)
	{
		const Seg  *ci = s->seg_cost + s->seg_start[l];
		const Seg  *ce = s->seg_cost + s->seg_start[l + 1];
		const Seg  *fi = s->seg_lp + s->seg_start[l];
		const Seg  *fe = s->seg_lp + s->seg_start[l + 1];
		int64_t		rem = s->qty[l];

		while (rem > 0)
		{
			const Seg  *pick;
			double		c;
			int64_t		take;

			while (ci < ce && st[ci->node] != ST_IN)
				ci++;
			while (free_ok && fi < fe && st[fi->node] != ST_FREE)
				fi++;
			if (ci < ce && (!free_ok || fi >= fe || ci->cost <= fi->lpcost))
			{
				pick = ci++;
				c = pick->cost;
			}
			else if (free_ok && fi < fe)
			{
				pick = fi++;
				c = pick->lpcost;
			}
			else
				break;
			if (s->partial && c > s->pen)
				break;
			take = pick->cap < rem ? pick->cap : rem;
			total += (double) take * c;
			rem -= take;
			if (st[pick->node] == ST_FREE)
				s->use[pick->node] += (double) take;
		}
		if (rem > 0)
		{
			if (!s->partial)
				return false;
			total += (double) rem * s->pen;
		}
	}
	*lb = total - s->split;
	for (n = 0; n < s->nact; n++)
	{
		if (st[n] == ST_FREE && s->use[n] > 0.0)
		{
			double		frac = s->use[n] / s->capacity[n];

			if (frac > bestfrac)
			{
				bestfrac = frac;
				*branch = n;
			}
		}
	}
	return true;
}

/*
 * Lagrangian relaxation of "each line gets qty units" with multipliers lam
 * (a price per unit of each line).  What is left splits by node: a node is
 * worth opening when its fixed cost is below what its runs cheaper than the
 * price would save, nodeval[n] = F_n + sum cap * (cost - lam) over those
 * runs.  At most kmax nodes open, the most valuable ones.  Any lam gives a
 * lower bound; the best lam gives the bound of the strong LP relaxation
 * (units of a run <= its cap times the node's open fraction), which is much
 * tighter than lp_bound's spread fixed costs.  Returns the bound, leaves the
 * open nodes in lag_open and the subgradient in grad; *slack says whether
 * the kmax limit left room (then each node's term is independent).
 */
static double
lag_eval(Solver *s, const signed char *st, int nin, const double *lam,
		 bool *slack)
{
	double		L = 0.0;
	int			l;
	int			n;
	int			nneg = 0;
	int			room = s->kmax - nin;

	for (n = 0; n < s->nact; n++)
	{
		s->nodeval[n] = s->fixed[n];
		s->lag_open[n] = 0;
	}
	for (l = 0; l < s->nlines; l++)
	{
		const Seg  *sg = s->seg_cost + s->seg_start[l];
		const Seg  *end = s->seg_cost + s->seg_start[l + 1];

		L += lam[l] * (double) s->qty[l];
		for (; sg < end && sg->cost < lam[l]; sg++)
			if (st[sg->node] != ST_OUT)
				s->nodeval[sg->node] += (double) sg->cap * (sg->cost - lam[l]);
	}
	for (n = 0; n < s->nact; n++)
	{
		if (st[n] == ST_IN)
		{
			L += s->nodeval[n];
			s->lag_open[n] = 1;
		}
		else if (st[n] == ST_FREE && s->nodeval[n] < 0.0)
			s->order[nneg++] = n;
	}
	*slack = nneg <= room;
	if (nneg > room)
	{
		int			i;

		/* keep the `room` most negative: selection, room is small here */
		for (i = 0; i < room; i++)
		{
			int			j;
			int			m = i;

			for (j = i + 1; j < nneg; j++)
				if (s->nodeval[s->order[j]] < s->nodeval[s->order[m]])
					m = j;
			if (m != i)
			{
				int			t = s->order[i];

				s->order[i] = s->order[m];
				s->order[m] = t;
			}
		}
		nneg = room > 0 ? room : 0;
	}
	for (n = 0; n < nneg; n++)
	{
		L += s->nodeval[s->order[n]];
		s->lag_open[s->order[n]] = 1;
	}

	/* subgradient: units still wanted (or over-supplied) per line */
	for (l = 0; l < s->nlines; l++)
	{
		const Seg  *sg = s->seg_cost + s->seg_start[l];
		const Seg  *end = s->seg_cost + s->seg_start[l + 1];
		double		g = (double) s->qty[l];

		for (; sg < end && sg->cost < lam[l]; sg++)
			if (s->lag_open[sg->node])
				g -= (double) sg->cap;
		s->grad[l] = g;
	}
	tick(s);
	return L - s->split;
}

/*
 * Subgradient ascent on lam (updated in place to the best multipliers
 * seen).  `ub` steers the step (Polyak) and stops the ascent once the bound
 * reaches it.  With best_in, every relaxed solution is also tried as a plan:
 * a Lagrangian heuristic for free.
 */
static double
lag_ascent(Solver *s, const signed char *st, int nin, double *lam, int iters,
		   double ub, char *best_in, Value *best, char *scratch)
{
	double		bestL = -INFINITY;
	double		theta = 1.0;
	int			stall = 0;
	int			it;
	int			l;
	bool		slack;

	for (it = 0; it < iters; it++)
	{
		double		L = lag_eval(s, st, nin, lam, &slack);
		double		norm = 0.0;
		double		target;
		double		step;

		if (best_in)
		{
			int			n;

			for (n = 0; n < s->nact; n++)
			{
				if (st[n] == ST_OUT)
					s->lag_open[n] = 0;
				if (s->lag_open[n] && s->hits)
					s->hits[n]++;
			}
			offer(s, s->lag_open, best_in, best, scratch);
			if (best->infeasible == 0.0 && best->cost < ub)
				ub = best->cost;
		}
		if (L > bestL + tol_of(L))
		{
			bestL = L;
			memcpy(s->lam_best, lam, sizeof(double) * (size_t) s->nlines);
			stall = 0;
		}
		else if (++stall >= 4)
		{
			theta *= 0.5;
			stall = 0;
		}
		if (bestL >= ub - tol_of(ub) || theta < 1e-4)
			break;
		for (l = 0; l < s->nlines; l++)
			norm += s->grad[l] * s->grad[l];
		if (norm == 0.0)
			break;				/* the relaxed plan is a real one */
		target = isfinite(ub) ? ub : L + 0.1 * fabs(L) + 1.0;
		step = theta * (target - L) / norm;
		for (l = 0; l < s->nlines; l++)
		{
			double		v = lam[l] + step * s->grad[l];

			if (v > s->lam_cap[l])
				v = s->lam_cap[l];
			if (s->partial && v > s->pen)
				v = s->pen;
			if (v < 0.0)
				v = 0.0;
			lam[l] = v;
		}
	}
	if (bestL > -INFINITY)
		memcpy(lam, s->lam_best, sizeof(double) * (size_t) s->nlines);
	return bestL;
}

/* Starting prices: the marginal unit of each line in the LP-share fill. */
static void
lp_prices(Solver *s, double *lam)
{
	int			l;

	for (l = 0; l < s->nlines; l++)
	{
		const Seg  *sg = s->seg_lp + s->seg_start[l];
		const Seg  *end = s->seg_lp + s->seg_start[l + 1];
		int64_t		rem = s->qty[l];
		double		price = s->partial ? s->pen : 0.0;

		for (; sg < end && rem > 0; sg++)
		{
			rem -= sg->cap;
			price = sg->lpcost;
		}
		if (s->partial && (rem > 0 || price > s->pen))
			price = s->pen;
		lam[l] = price;
	}
}

typedef struct Frame
{
	int			branch;
	int			phase;
	int			mark;
} Frame;

/*
 * Depth-first branch and bound from the incumbent in best_in / *best.
 * Returns true when the search finished (the incumbent is then optimal),
 * false when `budget` evaluations ran out first (budget < 0: none).
 */
static bool
branch_and_bound(Solver *s, char *best_in, Value *best, int64_t budget)
{
	int			na = s->nact;
	signed char *st = sr_alloc(s, na, 1);
	int		   *trail = sr_alloc(s, (size_t) na + 1, sizeof(int));
	Frame	   *stack = sr_alloc(s, (size_t) na + 2, sizeof(Frame));
	char	   *in = sr_alloc(s, na, 1);
	char	   *scratch = sr_alloc(s, na, 1);
	double	   *lams = sr_alloc(s, ((size_t) na + 2) * (size_t) s->nlines,
								sizeof(double));
	int			tlen = 0;
	int			depth = 1;
	int			nin = 0;

	if (!st || !trail || !stack || !in || !scratch || !lams)
		return false;
	stack[0].phase = 0;

	while (depth > 0)
	{
		Frame	   *f = &stack[depth - 1];

		if (f->phase == 0)
		{
			double		lb;
			int			b;
			int			n;

			if (budget >= 0 && s->evaluated >= budget)
				return false;
			tick(s);

			/* Lagrangian bound, warm-started from the parent's multipliers */
			{
				double	   *lam = lams + (size_t) (depth - 1) * s->nlines;
				const double *from = depth == 1 ? s->lam_root :
					lams + (size_t) (depth - 2) * s->nlines;
				double		ub = best->infeasible == 0.0 ? best->cost : INFINITY;
				double		L;
				bool		slack;

				memcpy(lam, from, sizeof(double) * (size_t) s->nlines);
				lag_ascent(s, st, nin, lam, NODE_ITERS, ub, NULL, NULL, NULL);
				L = lag_eval(s, st, nin, lam, &slack);
				if (isfinite(ub) && L >= ub - tol_of(ub))
				{
					s->pruned++;
					depth--;
					continue;
				}

				/*
				 * Reduced-cost fixing: a free node whose opening (closing)
				 * alone lifts the bound past the incumbent stays closed
				 * (open) in this subtree.  Exact only while kmax leaves room.
				 */
				if (isfinite(ub) && slack)
				{
					for (n = 0; n < na; n++)
					{
						double		v = s->nodeval[n];

						if (st[n] != ST_FREE)
							continue;
						if (v > 0.0 && L + v >= ub - tol_of(ub))
						{
							st[n] = ST_OUT;
							trail[tlen++] = n;
							s->pruned++;
						}
						else if (v < 0.0 && L - v >= ub - tol_of(ub) &&
								 nin < s->kmax)
						{
							st[n] = ST_IN;
							nin++;
							trail[tlen++] = n;
						}
					}
				}
				if (!lp_bound(s, st, nin, &lb, &b) ||
					(isfinite(ub) && (lb >= ub - tol_of(ub) ||
									  L >= ub - tol_of(ub))))
				{
					s->pruned++;
					depth--;
					continue;
				}
			}
			if (b < 0)
			{
				for (n = 0; n < na; n++)
					in[n] = st[n] == ST_IN;
				offer(s, in, best_in, best, scratch);
				depth--;
				continue;
			}
			f->branch = b;
			f->mark = tlen;
			/* include b; the nodes it makes useless need not be tried */
			st[b] = ST_IN;
			nin++;
			trail[tlen++] = b;
			if (s->covers)
			{
				const uint64_t *row = s->covers + (size_t) b * s->cover_words;

				for (n = 0; n < na; n++)
					if (st[n] == ST_FREE && (row[n / 64] >> (n % 64)) & 1)
					{
						st[n] = ST_OUT;
						trail[tlen++] = n;
						s->pruned++;
					}
			}
			f->phase = 1;
			stack[depth].phase = 0;
			depth++;
		}
		else
		{
			while (tlen > f->mark)
			{
				int			n = trail[--tlen];

				if (st[n] == ST_IN)
					nin--;
				st[n] = ST_FREE;
			}
			if (f->phase == 1)
			{
				st[f->branch] = ST_OUT;
				trail[tlen++] = f->branch;
				f->phase = 2;
				stack[depth].phase = 0;
				depth++;
			}
			else
				depth--;
		}
	}
	return true;
}

/* --------------------------------------------------------- the driver */

static int
cmp_alloc(const void *a, const void *b)
{
	const SrAlloc *x = a;
	const SrAlloc *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return 0;
}

/*
 * Turn the chosen node set into the result: allocations, terms, score and
 * status, all recomputed from the allocation itself.
 */
static int
build_result(Solver *s, const char *in, bool placed, SrResult *r)
{
	const SrProblem *p = s->prob;
	const SrProfile *pr = &p->profile;
	int64_t    *cq = sr_alloc(s, (size_t) p->ncands, sizeof(int64_t));
	char	   *open = sr_alloc(s, (size_t) p->nnodes, 1);
	int			l;
	int			i;
	int			k;
	int			nopen = 0;
	double		unfilled = 0.0;
	bool		shipped = false;

	r->unfilled = sr_alloc(s, (size_t) s->nlines, sizeof(int64_t));
	if (!cq || !open || !r->unfilled)
		return SR_ENOMEM;
	memset(&r->terms, 0, sizeof(r->terms));

	for (l = 0; l < s->nlines; l++)
	{
		int64_t		rem = s->qty[l];

		if (placed)
		{
			const Seg  *sg = s->seg_cost + s->seg_start[l];
			const Seg  *end = s->seg_cost + s->seg_start[l + 1];

			for (; sg < end && rem > 0; sg++)
			{
				int64_t		take;

				if (!in[sg->node])
					continue;
				take = sg->cap < rem ? sg->cap : rem;
				cq[sg->cand] += take;
				rem -= take;
			}
		}
		r->unfilled[l] = rem;
		unfilled += (double) rem;
	}

	r->nallocs = 0;
	for (i = 0; i < p->ncands; i++)
		if (cq[i] > 0)
			r->nallocs++;
	r->allocs = sr_alloc(s, (size_t) r->nallocs, sizeof(SrAlloc));
	if (!r->allocs)
		return SR_ENOMEM;
	k = 0;
	for (i = 0; i < p->ncands; i++)
	{
		const SrCand *c = &p->cands[i];
		int64_t		bf;

		if (cq[i] <= 0)
			continue;
		r->allocs[k].line = c->line;
		r->allocs[k].node = c->node;
		r->allocs[k].qty = cq[i];
		k++;
		open[c->node] = 1;
		shipped = true;
		r->terms.cost += c->unit_cost * (double) cq[i];
		bf = c->balance_free < 0 ? 0 : c->balance_free;
		if (cq[i] > bf)
			r->terms.balance += (double) (cq[i] - bf);
	}
	qsort(r->allocs, (size_t) r->nallocs, sizeof(SrAlloc), cmp_alloc);

	for (i = 0; i < p->nnodes; i++)
	{
		const SrNode *nd = &p->nodes[i];

		if (!open[i])
			continue;
		nopen++;
		r->terms.cost += nd->shipment_cost;
		r->terms.days += nd->days;
		if (pr->need_by_days >= 0.0 && nd->days > pr->need_by_days)
			r->terms.late += nd->days - pr->need_by_days;
		r->terms.distance += nd->distance_km;
		r->terms.penalty += nd->penalty;
	}
	r->nshipments = nopen;
	r->terms.splits = nopen > 1 ? (double) (nopen - 1) : 0.0;
	r->terms.unfilled = unfilled;
	r->score = sr_score_terms(pr, &r->terms);

	if (unfilled == 0.0)
		r->status = SR_COMPLETE;
	else if (shipped)
		r->status = SR_PARTIAL;
	else
		r->status = SR_UNFILLABLE;
	return 0;
}

int
sr_solve(const SrProblem *problem, const SrEnv *env, SrResult *result)
{
	Solver		solver;
	Solver	   *s = &solver;
	SrProblem	prob;
	int			rc;
	int			l;
	int			n;
	char	   *best_in;
	char	   *scratch;
	signed char *allfree;
	Value		best;
	bool		exact;
	bool		proven = false;
	int64_t		budget;
	Heur		h;

	if (problem == NULL || env == NULL || env->alloc == NULL || result == NULL)
		return SR_EINVAL;
	memset(result, 0, sizeof(*result));
	rc = validate(problem);
	if (rc != 0)
		return rc;
	rc = check_duplicates(problem, env);
	if (rc != 0)
		return rc;

	prob = *problem;
	memset(s, 0, sizeof(*s));
	s->prob = &prob;
	s->env = env;
	s->nlines = prob.nlines;
	s->partial = prob.profile.allow_partial && !prob.profile.ship_complete;
	s->kmax = prob.profile.max_shipments > 0 ? prob.profile.max_shipments : INT_MAX;
	if (prob.profile.ship_complete)
		s->kmax = 1;
	s->pen = prob.profile.backorder_penalty;
	s->split = prob.profile.split_penalty;
	s->qty = sr_alloc(s, (size_t) s->nlines, sizeof(int64_t));
	if (!s->qty)
		return SR_ENOMEM;
	for (l = 0; l < s->nlines; l++)
		s->qty[l] = prob.lines[l].qty;

	if (!setup(s))
		return SR_ENOMEM;

	best_in = sr_alloc(s, s->nact, 1);
	scratch = sr_alloc(s, s->nact, 1);
	allfree = sr_alloc(s, s->nact, 1);
	h.in = sr_alloc(s, s->nact, 1);
	h.lcost = sr_alloc(s, s->nlines, sizeof(double));
	h.lunf = sr_alloc(s, s->nlines, sizeof(double));
	if (!best_in || !scratch || !allfree || !h.in || !h.lcost || !h.lunf)
		return SR_ENOMEM;

	/* the empty plan is always a candidate */
	best = eval_set(s, best_in);

	exact = s->nact <= prob.profile.exact_node_limit;
	budget = prob.profile.max_evaluations;

	/* start 1: add nodes from nothing, then descend (a warm start only when
	 * the exact search follows) */
	memset(h.in, 0, (size_t) s->nact);
	heur_init(s, &h);
	local_search(s, &h, exact ? s->evaluated + 64 * (int64_t) s->nact + 64 : budget,
				 !exact);
	offer(s, h.in, best_in, &best, scratch);

	/* Lagrangian multipliers for the bound, trying each relaxed plan too */
	lp_prices(s, s->lam_root);
	lag_ascent(s, allfree, 0, s->lam_root, exact ? ROOT_ITERS / 4 : ROOT_ITERS,
			   best.infeasible == 0.0 ? best.cost : INFINITY,
			   best_in, &best, scratch);

	if (!exact && s->nact > 0)
	{
		double		lb;
		int			b;
		int			taken = 0;

		/* start 2: descend from the best plan so far (often a relaxed one) */
		memcpy(h.in, best_in, (size_t) s->nact);
		heur_init(s, &h);
		local_search(s, &h, budget, true);
		offer(s, h.in, best_in, &best, scratch);

		/* start 3: the nodes the LP-share bound leans on, most used first */
		if (lp_bound(s, allfree, 0, &lb, &b))
		{
			memset(h.in, 0, (size_t) s->nact);
			while (taken < s->kmax)
			{
				double		bu = 0.0;

				b = -1;
				for (n = 0; n < s->nact; n++)
					if (!h.in[n] && s->use[n] / s->capacity[n] > bu)
					{
						bu = s->use[n] / s->capacity[n];
						b = n;
					}
				if (b < 0)
					break;
				h.in[b] = 1;
				taken++;
			}
			heur_init(s, &h);
			local_search(s, &h, budget, true);
			offer(s, h.in, best_in, &best, scratch);
		}
	}

	/*
	 * Prove it.  Within the exact limit the search runs to the end, however
	 * long (it stays interruptible).  Beyond it, the proof attempt gets a
	 * small share of what the heuristic spent (at least PROOF_MIN), so a
	 * large order stays in milliseconds; if it runs out, the answer is the
	 * heuristic's and is not claimed optimal.
	 */
	if (exact)
		proven = branch_and_bound(s, best_in, &best, -1);
	else if (s->evaluated < budget)
	{
		int64_t		share = s->evaluated / PROOF_SHARE;
		int64_t		proof = s->evaluated + (share > PROOF_MIN ? share : PROOF_MIN);

		proven = branch_and_bound(s, best_in, &best,
								  proof < budget ? proof : budget);
	}

	rc = build_result(s, best_in, best.infeasible == 0.0, result);
	if (rc != 0)
		return rc;
	result->method = proven ? SR_METHOD_EXACT : SR_METHOD_HEURISTIC;
	result->proven_optimal = proven;
	result->evaluated = s->evaluated;
	result->pruned = s->pruned;
	return 0;
}
