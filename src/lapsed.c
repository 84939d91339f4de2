/*
 * lapsed.c — held reservations past their expiry, read once per routing
 * call for the order's SKUs (see lapsed.h).
 *
 * They are read on their own rather than joined into the stock and lot
 * queries: the statement is one table through the partial index of held
 * reservations by expiry, nearly always empty, and the stock query keeps the
 * join the planner plans quickly on every call.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "lapsed.h"
#include "prepared.h"

static SPIPlanPtr plan_lapsed = NULL;

static int
cmp_nullable(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int
cmp_hold(const void *a, const void *b)
{
	const SrLapsedHold *x = a;
	const SrLapsedHold *y = b;
	int			c = strcmp(x->node_id, y->node_id);

	if (c == 0)
		c = strcmp(x->sku, y->sku);
	if (c == 0)
		c = cmp_nullable(x->lot_code, y->lot_code);
	return c;
}

SrLapsed *
sr_lapsed_load(char *const *skus, int n, bool read_only)
{
	SrLapsed   *l = palloc0(sizeof(SrLapsed));
	Datum		args[1];
	uint64		i;

	if (n == 0)
		return l;
	if (plan_lapsed == NULL)
	{
		Oid			types[1] = {TEXTARRAYOID};

		plan_lapsed = sr_prepare_kept_generic(
									  "SELECT r.node_id, r.sku, r.lot_code, pg_catalog.sum(r.qty)::bigint"
									  "  FROM stockroute.reservation r"
									  " WHERE r.status = 'held' AND r.expires_at <= pg_catalog.now()"
									  "   AND r.sku = ANY ($1)"
									  " GROUP BY 1, 2, 3",
									  1, types);
	}
	args[0] = sr_text_array(skus, n);
	sr_spi_ok(SPI_execute_plan(plan_lapsed, args, NULL, read_only, 0), SPI_OK_SELECT,
			  "lapsed hold lookup");
	if (SPI_processed == 0)
		return l;
	l->holds = palloc(sizeof(SrLapsedHold) * SPI_processed);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		SrLapsedHold *h = &l->holds[l->n++];
		bool		isnull;

		h->node_id = SPI_getvalue(t, d, 1);
		h->sku = SPI_getvalue(t, d, 2);
		h->lot_code = SPI_getvalue(t, d, 3);
		h->qty = DatumGetInt64(SPI_getbinval(t, d, 4, &isnull));
		if (h->lot_code != NULL)
			l->nlots++;
	}
	qsort(l->holds, l->n, sizeof(SrLapsedHold), cmp_hold);
	return l;
}

/* index of the first hold of (node_id, sku), or l->n */
static int
first_of(const SrLapsed *l, const char *node_id, const char *sku)
{
	int			lo = 0;
	int			hi = l->n;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strcmp(l->holds[mid].node_id, node_id);

		if (c == 0)
			c = strcmp(l->holds[mid].sku, sku);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int64
sr_lapsed_stock(const SrLapsed *l, const char *node_id, const char *sku)
{
	int64		sum = 0;
	int			i;

	if (l == NULL || l->n == 0)
		return 0;
	for (i = first_of(l, node_id, sku);
		 i < l->n && strcmp(l->holds[i].node_id, node_id) == 0 &&
		 strcmp(l->holds[i].sku, sku) == 0; i++)
		sum += l->holds[i].qty;
	return sum;
}

int64
sr_lapsed_lot(const SrLapsed *l, const char *node_id, const char *sku, const char *lot_code)
{
	int			i;

	if (l == NULL || l->nlots == 0)
		return 0;
	for (i = first_of(l, node_id, sku);
		 i < l->n && strcmp(l->holds[i].node_id, node_id) == 0 &&
		 strcmp(l->holds[i].sku, sku) == 0; i++)
		if (l->holds[i].lot_code != NULL && strcmp(l->holds[i].lot_code, lot_code) == 0)
			return l->holds[i].qty;
	return 0;
}
