/*
 * solver.h — the split-shipment solver's interface.
 *
 * Pure C: no PostgreSQL headers, no SPI, no fmgr, so the solver can be unit
 * tested, compared against exact references and fuzzed outside the server.
 * Memory comes from a caller-supplied allocator (palloc in the server, an
 * arena in the test harness); the solver never frees, so an ERROR thrown from
 * the interrupt callback cannot leak.
 *
 * The problem: an order has lines (units wanted), nodes can ship some units of
 * some lines.  Choose the set of nodes that ship (shipments) and how many
 * units of each line each ships, minimising
 *
 *   score = w_cost     * cost        cost = sum shipment_cost of open nodes
 *                                           + sum unit_cost * qty
 *         + w_days     * days        days = sum days of open nodes
 *         + w_late     * late        late = sum max(0, days - need_by_days)
 *         + split_penalty * splits   splits = max(0, open nodes - 1)
 *         + w_distance * distance    distance = sum distance_km of open nodes
 *         + w_balance  * balance     balance = units taken beyond balance_free
 *         + backorder_penalty * unfilled   (only when allow_partial)
 *         + penalty                  penalty = sum penalty of open nodes
 *
 * Without allow_partial, unfilled is non-zero only in an SR_UNFILLABLE
 * result: the empty plan, every unit unfilled, scored by the same formula.
 *
 * Limits, so that no sum can overflow: qty must be <= SR_MAX_QTY; every
 * double (costs, days, distance, weights, penalties) must be finite, >= 0
 * and <= SR_MAX_VALUE (need_by_days may be negative, meaning none, but its
 * magnitude is bounded alike).  `available` above the line's qty is treated as qty, and
 * balance_free is clamped to [0, available], so a negative balance_free
 * (stock already below its reorder point) charges every unit taken.
 */
#ifndef STOCKROUTE_SOLVER_H
#define STOCKROUTE_SOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct SrLine
{
	int64_t		qty;			/* units wanted, > 0 */
} SrLine;

typedef struct SrNode
{
	double		shipment_cost;	/* fixed cost of one shipment from this node */
	double		days;			/* delivery days of a shipment from this node */
	double		distance_km;	/* distance to the destination, 0 if unknown */
	double		penalty;		/* score added, as is, when the node ships
								 * (routing's per-node terms: capacity load) */
} SrNode;

/* One (line, node) pair: node can give line up to `available` units. */
typedef struct SrCand
{
	int			line;			/* index into lines */
	int			node;			/* index into nodes */
	int64_t		available;		/* > 0 */
	double		unit_cost;		/* freight cost per unit */
	int64_t		balance_free;	/* units takeable before the balance term
								 * applies (e.g. available above the reorder
								 * point); >= available means never */
} SrCand;

typedef struct SrProfile
{
	double		w_cost;
	double		w_days;
	double		w_late;
	double		w_distance;
	double		w_balance;
	double		split_penalty;
	double		backorder_penalty;	/* per unfilled unit, with allow_partial */
	double		need_by_days;		/* < 0: no need-by date */
	int			max_shipments;		/* <= 0: unlimited */
	bool		allow_partial;
	bool		ship_complete;		/* one shipment, whole order, or nothing */
	int			exact_node_limit;	/* search exactly up to this many nodes
									 * (>= 0; the proof is then not bounded by
									 * max_evaluations, only interruptible) */
	int64_t		max_evaluations;	/* budget for the search (B&B nodes and
									 * relaxations / heuristic moves), >= 0;
									 * beyond exact_node_limit the proof
									 * attempt after the heuristic gets only a
									 * share of it (see solver.c) */
} SrProfile;

typedef struct SrProblem
{
	int			nlines;
	const SrLine *lines;
	int			nnodes;
	const SrNode *nodes;
	int			ncands;
	const SrCand *cands;		/* at most one per (line, node) */
	SrProfile	profile;
} SrProblem;

typedef enum SrStatus
{
	SR_COMPLETE,				/* every unit placed */
	SR_PARTIAL,					/* some units unfilled (allow_partial) */
	SR_UNFILLABLE				/* nothing can be placed under the rules */
} SrStatus;

typedef enum SrMethod
{
	SR_METHOD_EXACT,			/* branch and bound ran to completion */
	SR_METHOD_HEURISTIC			/* greedy + local improvement, bounded */
} SrMethod;

typedef struct SrAlloc
{
	int			line;
	int			node;
	int64_t		qty;
} SrAlloc;

typedef struct SrTerms
{
	double		cost;
	double		days;
	double		late;
	double		splits;
	double		distance;
	double		balance;
	double		unfilled;
	double		penalty;		/* sum of the open nodes' penalty (weighted already) */
} SrTerms;

typedef struct SrResult
{
	SrStatus	status;
	int			nallocs;
	SrAlloc    *allocs;			/* sorted by node, then line */
	int64_t    *unfilled;		/* per line */
	int			nshipments;
	SrTerms		terms;			/* raw (unweighted) terms */
	double		score;			/* weighted sum, as in the header comment */
	SrMethod	method;
	bool		proven_optimal;
	int64_t		evaluated;		/* subsets / moves evaluated */
	int64_t		pruned;			/* subtrees cut by bounds or dominance */
} SrResult;

typedef struct SrEnv
{
	void	   *(*alloc) (void *ctx, size_t size);	/* zeroed memory */
	void	   *alloc_ctx;
	void		(*check_interrupts) (void *ctx);	/* may not return */
	void	   *interrupt_ctx;
} SrEnv;

/* Defaults used when a profile leaves a field unset. */
extern void sr_profile_defaults(SrProfile *profile);

/* "complete", "partial" or "unfillable": a status as plans and KPIs name it */
extern const char *sr_status_name(SrStatus status);

/*
 * Solve.  Returns 0 on success, or a negative SR_E* code for a malformed
 * problem (the caller turns it into an ERROR); `result` is filled on success.
 */
#define SR_EINVAL	(-1)		/* index out of range, qty <= 0, NaN, ... */
#define SR_EDUP		(-2)		/* two candidates for one (line, node) */
#define SR_ENOMEM	(-3)		/* env->alloc returned NULL */

#define SR_MAX_QTY		INT64_C(1000000000000000)	/* 1e15 units */
#define SR_MAX_VALUE	1e18	/* bound on every double in the input */

extern int	sr_solve(const SrProblem *problem, const SrEnv *env, SrResult *result);

/* Score of a given allocation under a profile (for tests and explain). */
extern double sr_score_terms(const SrProfile *profile, const SrTerms *terms);

#endif
