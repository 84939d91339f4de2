/*
 * fuzz_solver.c — libFuzzer entry point for src/solver.c.
 *
 * Turns arbitrary bytes into an SrProblem (sizes, raw doubles and int64s, so
 * NaN, infinities, negatives and huge quantities all occur) and solves it.
 * The solver must return an error code or a result whose allocations stay in
 * range; AddressSanitizer and UBSan catch everything else.
 *
 *   make -C test/core fuzz            (needs clang)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "solver.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Reader
{
	const uint8_t *p;
	size_t		left;
} Reader;

static void
take(Reader *r, void *out, size_t n)
{
	size_t		k = n < r->left ? n : r->left;

	memset(out, 0, n);
	memcpy(out, r->p, k);
	r->p += k;
	r->left -= k;
}

static uint8_t
byte(Reader *r)
{
	uint8_t		b;

	take(r, &b, 1);
	return b;
}

/* Mostly small sane values, sometimes the raw bits. */
static double
num(Reader *r)
{
	uint8_t		mode = byte(r);
	double		d;

	if (mode < 200)
		return (double) (mode % 50);
	take(r, &d, sizeof(d));
	return d;
}

static int64_t
qty(Reader *r)
{
	uint8_t		mode = byte(r);
	int64_t		v;

	if (mode < 220)
		return (int64_t) (mode % 25) - 1;
	take(r, &v, sizeof(v));
	return v;
}

typedef struct Chunk
{
	struct Chunk *next;
} Chunk;

static void *
fuzz_alloc(void *ctx, size_t size)
{
	Chunk	  **head = ctx;
	Chunk	   *c = calloc(1, sizeof(Chunk) + 16 + size);

	if (c == NULL)
		return NULL;
	c->next = *head;
	*head = c;
	return (char *) c + 16;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Reader		r = {data, size};
	SrProblem	p;
	SrLine		lines[8];
	SrNode		nodes[20];
	SrCand		cands[80];
	SrResult	res;
	Chunk	   *head = NULL;
	SrEnv		env = {fuzz_alloc, &head, NULL, NULL};
	int			i;

	memset(&p, 0, sizeof(p));
	sr_profile_defaults(&p.profile);
	p.nlines = byte(&r) % 9;
	p.nnodes = byte(&r) % 21;
	p.ncands = byte(&r) % 81;
	p.lines = lines;
	p.nodes = nodes;
	p.cands = cands;
	p.profile.w_cost = num(&r);
	p.profile.w_days = num(&r);
	p.profile.w_late = num(&r);
	p.profile.w_distance = num(&r);
	p.profile.w_balance = num(&r);
	p.profile.split_penalty = num(&r);
	p.profile.backorder_penalty = num(&r);
	p.profile.need_by_days = num(&r) - 5;
	p.profile.max_shipments = (int) (byte(&r) % 6) - 1;
	p.profile.allow_partial = byte(&r) & 1;
	p.profile.ship_complete = (byte(&r) & 7) == 0;
	p.profile.exact_node_limit = byte(&r) % 24;
	p.profile.max_evaluations = (int64_t) byte(&r) * 40;
	for (i = 0; i < p.nlines; i++)
		lines[i].qty = qty(&r);
	for (i = 0; i < p.nnodes; i++)
	{
		nodes[i].shipment_cost = num(&r);
		nodes[i].days = num(&r);
		nodes[i].distance_km = num(&r);
		nodes[i].penalty = num(&r);
	}
	for (i = 0; i < p.ncands; i++)
	{
		cands[i].line = (int) (byte(&r) % 10) - 1;
		cands[i].node = (int) (byte(&r) % 22) - 1;
		cands[i].available = qty(&r);
		cands[i].unit_cost = num(&r);
		cands[i].balance_free = qty(&r);
	}

	if (sr_solve(&p, &env, &res) == 0)
	{
		for (i = 0; i < res.nallocs; i++)
			if (res.allocs[i].line < 0 || res.allocs[i].line >= p.nlines ||
				res.allocs[i].node < 0 || res.allocs[i].node >= p.nnodes ||
				res.allocs[i].qty <= 0 ||
				res.allocs[i].qty > lines[res.allocs[i].line].qty)
				abort();
		for (i = 0; i < p.nlines; i++)
			if (res.unfilled[i] < 0 || res.unfilled[i] > lines[i].qty)
				abort();
	}
	while (head)
	{
		Chunk	   *n = head->next;

		free(head);
		head = n;
	}
	return 0;
}
