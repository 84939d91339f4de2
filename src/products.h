/*
 * products.h — what a product allows (src/products.c): region locks, hazmat
 * and lots.  The routing core (src/route.c) calls these where its code says
 * "products:".
 */
#ifndef STOCKROUTE_PRODUCTS_H
#define STOCKROUTE_PRODUCTS_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/date.h"
#include "utils/jsonb.h"

#include "lapsed.h"

/*
 * The product columns exist from version 0.2.0 on; until ALTER EXTENSION
 * UPDATE the library reads a 0.1.0 schema and treats them as unset.
 */
extern bool sr_products_schema(void);

/* ---- order input ---- */

/* a line's lot requirement: the line keys min_shelf_days and lot_attrs */
typedef struct SrLotReq
{
	int			min_shelf_days; /* -1: none */
	Jsonb	   *attrs;			/* NULL: none (an empty object is none) */
	char	   *key;			/* "" without a requirement; lines of one SKU
								 * with equal keys share one demand */
} SrLotReq;

extern void sr_lot_req_parse(JsonbContainer *line, int index, SrLotReq *req);

/* the order's customer.min_shelf_days, -1 when absent or null */
extern int	sr_customer_min_shelf_days(JsonbContainer *customer);

/* ---- items ---- */

typedef struct SrItemRules
{
	bool		found;
	bool		hazmat;			/* tag hazmat */
	bool		lot_tracked;	/* tag lot_tracked */
	int			min_shelf_days; /* item.min_shelf_days, 0 when NULL */
	int			nallowed;		/* ship_to_allowed, -1 when NULL */
	char	  **allowed;
	int			ndenied;		/* ship_to_denied, 0 when NULL */
	char	  **denied;
	int			nfrom;			/* ship_from_countries, -1 when NULL */
	char	  **from;
} SrItemRules;

/* the product columns of skus[0..n-1] into rules[0..n-1] */
extern void sr_products_load_items(char **skus, int n, bool read_only,
								   SrItemRules *rules);

/*
 * A SKU's destination lock: ERROR SR034 when it may not ship to (country,
 * region), SR035 when ship_to lacks the country or region the lock needs.
 */
extern void sr_products_check_destination(const SrItemRules *rules, const char *sku,
										  const char *line_ref, const char *country,
										  const char *region);

/* the same verdict without an error: may the SKU ship to (country, region)? */
extern bool sr_products_destination_ok(const SrItemRules *rules, const char *country,
									   const char *region);

/* a line asks for lots of a SKU that is not lot-tracked: ERROR SR036 */
extern void sr_products_check_lot_req(const SrItemRules *rules, const SrLotReq *req,
									  const char *sku, const char *line_ref);

/* Why a node may not ship a SKU (hazmat node, origin), or NULL. */
extern char *sr_products_node_excludes(const SrItemRules *rules, const char *sku,
									   bool node_hazmat, const char *node_country);

/* the lane columns mode, hazmat_ok, hazmat_separate for a SELECT over alias */
extern const char *sr_products_lane_columns(bool schema, const char *alias);

/* ---- lots ---- */

typedef struct SrLot
{
	char	   *node_id;
	char	   *sku;
	char	   *lot_code;
	int64		free;			/* on_hand - reserved, > 0 */
	bool		has_expiry;
	DateADT		expires_on;
	Jsonb	   *attrs;
} SrLot;

/* the free lots of some SKUs, FEFO within each (node_id, sku) */
typedef struct SrLotSet
{
	int			nlots;
	SrLot	   *lots;
} SrLotSet;

/* The free lots of skus[0..n); lapsed: held reservations past expiry (may be NULL) */
extern SrLotSet *sr_lots_load(char **skus, int n, const SrLapsed *lapsed, bool read_only);

/*
 * One demand on the lots of a (node, SKU): the units of a group of order
 * lines with one requirement.  sr_lots_share fills the outputs.
 */
typedef struct SrLotDemand
{
	int64		qty;			/* units wanted */
	int			min_shelf_days; /* required remaining shelf life, >= 0 */
	Jsonb	   *attrs;			/* required lot attributes, or NULL */
	/* out */
	int64		share;			/* units of eligible lots set aside for it */
	int			first;			/* the (node, SKU)'s lots in the set */
	int			nlots;
	int64	   *take;			/* per lot: units of it in the share */
	int			eligible;		/* lots it may use */
	int			short_life;		/* lots skipped for shelf life */
	int			wrong_attrs;	/* lots skipped for lot_attrs */
} SrLotDemand;

/*
 * Share the free lots of (node_id, sku) among demands[0..n-1], strictest
 * demand first, first-expiry-first-out, each at most its qty and all
 * together at most stock_available (the stock row's available).
 */
extern void sr_lots_share(const SrLotSet *set, const char *node_id, const char *sku,
						  int64 stock_available, DateADT today,
						  SrLotDemand **demands, int n);

/* Why a demand got nothing, or lost lots to its requirement; NULL if not. */
extern char *sr_lots_note(const SrLotDemand *d, const char *sku);

/* one lot of a shipment line: the lot (index in its SrLotSet) and its units */
typedef struct SrLotTake
{
	int			lot;
	int64		qty;
} SrLotTake;

/*
 * Take qty units of the demand's share, FEFO: the lots and units, *n of
 * them (what later calls of the same demand take is what is left).
 */
extern SrLotTake *sr_lots_take(const SrLotSet *set, SrLotDemand *d, int64 qty, int *n);

#endif
