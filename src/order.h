/*
 * order.h — the order document as C structs (src/order.c): the one reader
 * of the order JSON that plan(), allocate(), simulate(), reject() and the
 * re-placement of backorders and shortfalls share.  Everything routing reads
 * of an order is here; nothing else parses an order document.
 */
#ifndef STOCKROUTE_ORDER_H
#define STOCKROUTE_ORDER_H

#include "postgres.h"

#include "utils/date.h"
#include "utils/jsonb.h"

#include "products.h"
#include "rules.h"

typedef struct SrOrderLine
{
	char	   *line_ref;
	char	   *sku;
	int64		qty;
	int			group;			/* index into the order's SKU groups */
	SrLotReq	req;			/* min_shelf_days, lot_attrs */
} SrOrderLine;

/*
 * Lines of one SKU share its stock: the solver sees one line per SKU (per
 * SKU and lot requirement, for lot-tracked lines asking for lots apart).
 */
typedef struct SrSkuGroup
{
	char	   *sku;
	int64		qty;
	double		weight_kg;		/* the item's, once read (src/network.c) */
	bool		found;
	SrLotReq	req;			/* the lines' lot requirement */
	SrItemRules rules;			/* hazmat, lots, region locks (src/network.c) */
	int			min_shelf_days; /* line, customer or item, the most */
} SrSkuGroup;

typedef struct SrShipTo
{
	bool		has_coords;
	double		lat;
	double		lon;
	char	   *country;
	char	   *region;
	char	   *postal_code;
} SrShipTo;

typedef struct SrOrder
{
	char	   *order_ref;
	SrShipTo	ship_to;
	int			nlines;
	SrOrderLine *lines;
	int			ngroups;
	SrSkuGroup *groups;
	int		   *group_by_sku;	/* group indexes sorted by sku (strcmp) */
	char	   *profile;
	int			allow_partial;	/* -1 unset */
	int			ship_complete;	/* -1 unset */
	int			max_shipments;	/* -1 unset */
	bool		has_need_by;
	DateADT		need_by;
	bool		explain_deltas; /* explain what each node not chosen would add */
	bool		has_priority;
	int32		priority;		/* the order's "priority" key */
	SrRuleFacts facts;			/* what routing rules match on (src/rules.c) */
	bool		pickup;			/* "fulfillment": "pickup" at pickup_node */
	char	   *pickup_node;
	int			customer_min_shelf_days;	/* -1 none */
	bool		any_lot_tracked;	/* a group draws on lots (src/network.c) */
	bool		any_hazmat;		/* a group is hazmat (src/network.c) */
} SrOrder;

/* Read and validate an order document; errors name the field. */
extern SrOrder *sr_order_read(Jsonb *doc);

/* order_ref of an order document, validated as sr_order_read does */
extern char *sr_order_ref(Jsonb *doc);

/*
 * available(sku, ship_to, customer): the order of one unit of one SKU that
 * a promise is made for (ship_to and customer may be NULL).
 */
extern SrOrder *sr_order_for_sku(const char *sku, Jsonb *ship_to, Jsonb *customer);

/*
 * Keep only some lines of an order, with new quantities: line (line_refs[i],
 * skus[i]) gets qty[i] units; the rest of each line's keys, lot requirements
 * among them, stay as the order had them (a line the document lacks, held
 * with reserve() alone, is a plain line of its SKU, after the order's).
 * The lines keep the order's own order, in which a SKU's units are spread
 * over its lines.  The SKU groups are rebuilt.
 */
extern void sr_order_keep_lines(SrOrder *o, int n, char **line_refs, char **skus,
								const int64 *qty);

/*
 * What routing reads of an order, as one canonical document: two orders
 * with equal routing documents are planned alike, whatever other keys
 * ("sent_at", "source", ...) they carry.  allocate()'s idempotency compares
 * these.
 */
extern Jsonb *sr_order_routing_doc(const SrOrder *o);

/* the groups of one SKU, as a run of o->group_by_sku: returns its start, *count its length */
extern int	sr_order_groups_of_sku(const SrOrder *o, const char *sku, int *count);

/*
 * Check a document's optional "priority" key (an integer in int4 range);
 * the message names it as `what` "`path`" (order field "priority").
 * Returns whether it is present, its value in *priority.
 */
extern bool sr_priority_validate(Jsonb *doc, const char *what, const char *path,
								 int32 *priority);

/* A binary search through an index array sorted by name(arg, i); -1 if absent. */
extern int	sr_find_sorted(const char *key, const int *order, int n,
						   const char *(*name) (const void *arg, int i), const void *arg);

#endif
