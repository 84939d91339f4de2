/*
 * stockview.c — the in-memory stock view of simulate(), replay() and
 * preemption: per (node, sku) a base available in place of the table's and
 * the units earlier plans took, and per node with a daily limit the orders
 * and units earlier plans gave it today.  Hash tables in the memory context
 * the view was created in; nothing is written or locked.
 */
#include "postgres.h"

#include "common/hashfn.h"

#include "stockview.h"

typedef struct OverlayKey
{
	const char *node_id;
	const char *sku;
} OverlayKey;

typedef struct OverlayEntry
{
	OverlayKey	key;
	uint32		hash;
	char		status;
	bool		has_base;
	int64		base;			/* available in place of the table's */
	int64		taken;			/* units earlier orders took */
} OverlayEntry;

static inline uint32
overlay_key_hash(OverlayKey k)
{
	return hash_combine(hash_bytes((const unsigned char *) k.node_id, strlen(k.node_id)),
						hash_bytes((const unsigned char *) k.sku, strlen(k.sku)));
}

#define SH_PREFIX overlay
#define SH_ELEMENT_TYPE OverlayEntry
#define SH_KEY_TYPE OverlayKey
#define SH_KEY key
#define SH_HASH_KEY(tb, k) overlay_key_hash(k)
#define SH_EQUAL(tb, a, b) (strcmp((a).node_id, (b).node_id) == 0 && strcmp((a).sku, (b).sku) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * simulate(): a node's load today from the batch's earlier orders, added to
 * what sr_ops_read reads, so the capacity rules of operations.c see it as
 * they would see the counters after allocate().
 */
typedef struct LoadEntry
{
	const char *node_id;
	uint32		hash;
	char		status;
	int64		orders;			/* earlier orders given a shipment here */
	int64		units;			/* their units here */
	int64		last_seq;		/* the plan that last counted an order here */
	const char *db_counted;		/* an order_ref the counters already had here */
} LoadEntry;

#define SH_PREFIX load
#define SH_ELEMENT_TYPE LoadEntry
#define SH_KEY_TYPE const char *
#define SH_KEY node_id
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) (k), strlen(k))
#define SH_EQUAL(tb, a, b) (strcmp((a), (b)) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

struct SrStockView
{
	MemoryContext cxt;
	overlay_hash *tab;
	load_hash  *load;			/* NULL: capacity is read as it is (not simulate()) */
	int64		seq;			/* plans counted into load */
};


SrStockView *
sr_view_create(bool count_load)
{
	SrStockView *v = palloc0(sizeof(SrStockView));

	v->cxt = CurrentMemoryContext;
	v->tab = overlay_create(v->cxt, 256, NULL);
	if (count_load)
		v->load = load_create(v->cxt, 64, NULL);
	return v;
}

static OverlayEntry *
overlay_entry(SrStockView *v, const char *node_id, const char *sku)
{
	OverlayKey	k;
	OverlayEntry *e;
	bool		found;

	k.node_id = node_id;
	k.sku = sku;
	e = overlay_insert(v->tab, k, &found);
	if (!found)
	{
		e->key.node_id = MemoryContextStrdup(v->cxt, node_id);
		e->key.sku = MemoryContextStrdup(v->cxt, sku);
		e->has_base = false;
		e->base = 0;
		e->taken = 0;
	}
	return e;
}

static LoadEntry *
load_entry(SrStockView *v, const char *node_id)
{
	LoadEntry  *e;
	bool		found;

	e = load_insert(v->load, node_id, &found);
	if (!found)
	{
		e->node_id = MemoryContextStrdup(v->cxt, node_id);
		e->orders = 0;
		e->units = 0;
		e->last_seq = 0;
		e->db_counted = NULL;
	}
	return e;
}

void
sr_view_set(SrStockView *v, const char *node_id, const char *sku, int64 available)
{
	OverlayEntry *e = overlay_entry(v, node_id, sku);

	e->has_base = true;
	e->base = available;
}

/*
 * With the load counted, the order counts once at each node it ships from
 * (however many shipments there: a hazmat and a general part are one
 * order) and all its units count, as the reservation trigger counts
 * allocate()'s reservations.  An order the counters already have at the
 * node (allocated for real today) is not counted again there.
 */
void
sr_view_take(SrStockView *v, const char *order_ref, const char *node_id,
			 const char *sku, int64 qty)
{
	overlay_entry(v, node_id, sku)->taken += qty;
	if (v->load != NULL)
	{
		LoadEntry  *le = load_entry(v, node_id);

		if (le->last_seq != v->seq + 1 &&
			(le->db_counted == NULL || strcmp(le->db_counted, order_ref) != 0))
			le->orders++;
		le->last_seq = v->seq + 1;
		le->units += qty;
	}
}

void
sr_view_end_plan(SrStockView *v)
{
	v->seq++;
}

int64
sr_view_available(const SrStockView *v, const char *node_id, const char *sku, int64 available)
{
	OverlayKey	k;
	OverlayEntry *e;
	int64		a;

	k.node_id = node_id;
	k.sku = sku;
	e = overlay_lookup(v->tab, k);
	if (e == NULL)
		return available;
	a = (e->has_base ? e->base : available) - e->taken;
	return a > 0 ? a : 0;
}

/*
 * A limited node's load as read, plus the earlier orders'.  The batch's
 * order_refs are distinct (a repeat is not planned again), so each earlier
 * order that shipped from the node is one more order there; one the counters
 * already have (allocated for real today) is not, which sr_view_take learns
 * from the order_ref remembered here.
 */
void
sr_view_load(SrStockView *v, const char *order_ref, const char *node_id,
			 bool order_counted, int64 *orders, int64 *units)
{
	LoadEntry  *e;

	if (v == NULL || v->load == NULL)
		return;
	e = load_entry(v, node_id);
	if (order_counted && (e->db_counted == NULL || strcmp(e->db_counted, order_ref) != 0))
		e->db_counted = MemoryContextStrdup(v->cxt, order_ref);
	*orders += e->orders;
	*units += e->units;
}
