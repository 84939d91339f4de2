/*
 * products.c — what a product allows.
 *
 *   region locks  item.ship_to_allowed / ship_to_denied: the destinations a
 *                 SKU may ship to ('CC' a country, 'CC-REGION' one region of
 *                 it); an order line breaking them is refused (SR034, SR035).
 *                 item.ship_from_countries: the countries of the nodes that
 *                 may ship it (a node elsewhere is excluded, with a reason).
 *   hazmat        a SKU tagged hazmat ships only from nodes tagged hazmat and
 *                 only on lanes with hazmat_ok that do not fly (mode air).
 *   lots          lot-tracked SKUs (tag lot_tracked) fill lines from their
 *                 lots, first-expiry-first-out, skipping lots with less shelf
 *                 life than the line, customer or item asks for, or without
 *                 the line's lot_attrs.
 *
 * plan.c calls these at hooks marked "products:"; allocate.c locks the
 * planned lots with sr_lots_lock() after the stock rows.  The reads (item
 * columns, free lots) are one statement each, prepared once per backend.
 * See docs/routing.md, "Products".
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "errcodes.h"
#include "json.h"
#include "prepared.h"
#include "products.h"

/* the most days a shelf-life requirement may ask for (100 years) */
#define MAX_SHELF_DAYS 36500

/* ---------------------------------------------------------------- schema */

bool
sr_products_schema(void)
{
	Oid			nsp = get_namespace_oid("stockroute", true);
	Oid			rel = OidIsValid(nsp) ? get_relname_relid("item", nsp) : InvalidOid;

	return OidIsValid(rel) && get_attnum(rel, "min_shelf_days") != InvalidAttrNumber;
}

const char *
sr_products_lane_columns(bool schema, const char *alias)
{
	if (schema)
		return psprintf("%s.mode, %s.hazmat_ok, %s.hazmat_separate", alias, alias, alias);
	return psprintf("%s.mode, %s.hazmat_ok, false", alias, alias);
}

/* ---------------------------------------------------------------- order input */

/* A JSON integer in [0, MAX_SHELF_DAYS], else 22023 naming the field. */
static int
shelf_days(const JsonbValue *v, const char *path)
{
	Datum		n;

	if (v->type == jbvNumeric)
	{
		n = NumericGetDatum(v->val.numeric);
		if (DatumGetBool(DirectFunctionCall2(numeric_eq, n,
											 DirectFunctionCall2(numeric_trunc, n,
																 Int32GetDatum(0)))))
		{
			double		d = sr_jsonb_double(v);

			if (d >= 0 && d <= MAX_SHELF_DAYS)
				return (int) d;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("order field \"%s\" must be a number of days from 0 to %d, got %s",
					path, MAX_SHELF_DAYS, sr_jsonb_shown(v))));
	return 0;					/* keep compiler quiet */
}

void
sr_lot_req_parse(JsonbContainer *line, int index, SrLotReq *req)
{
	JsonbValue	vbuf;
	JsonbValue *v;
	char		path[64];
	StringInfoData key;

	req->min_shelf_days = -1;
	req->attrs = NULL;
	req->key = "";

	v = sr_jsonb_get(line, "min_shelf_days", &vbuf);
	if (v != NULL && v->type != jbvNull)
	{
		snprintf(path, sizeof(path), "lines[%d].min_shelf_days", index);
		req->min_shelf_days = shelf_days(v, path);
	}
	v = sr_jsonb_get(line, "lot_attrs", &vbuf);
	if (v != NULL && v->type != jbvNull)
	{
		snprintf(path, sizeof(path), "lines[%d].lot_attrs", index);
		if (!sr_jsonb_is_object(v))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("order field \"%s\" must be an object of required lot attributes, got %s",
							path, sr_jsonb_shown(v))));
		if (JsonContainerSize(v->val.binary.data) > 0)
			req->attrs = JsonbValueToJsonb(v);
	}
	if (req->min_shelf_days < 0 && req->attrs == NULL)
		return;
	/* jsonb keeps object keys sorted: equal requirements print alike */
	initStringInfo(&key);
	appendStringInfo(&key, "%d|", req->min_shelf_days);
	if (req->attrs)
		(void) JsonbToCString(&key, &req->attrs->root, VARSIZE(req->attrs));
	req->key = key.data;
}

int
sr_customer_min_shelf_days(JsonbContainer *customer)
{
	JsonbValue	vbuf;
	JsonbValue *v = sr_jsonb_get(customer, "min_shelf_days", &vbuf);

	if (v == NULL || v->type == jbvNull)
		return -1;
	return shelf_days(v, "customer.min_shelf_days");
}

/* ---------------------------------------------------------------- items */

static SPIPlanPtr plan_item_rules = NULL;
static bool plan_item_rules_schema;

static int
text_array_strings(Datum d, char ***out)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	int			k = 0;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	*out = palloc(sizeof(char *) * (n > 0 ? n : 1));
	for (i = 0; i < n; i++)
		if (!nulls[i])
			(*out)[k++] = TextDatumGetCString(elems[i]);
	return k;
}

static int
cmp_str_index(const void *a, const void *b, void *arg)
{
	char	  **s = arg;

	return strcmp(s[*(const int *) a], s[*(const int *) b]);
}

void
sr_products_load_items(char **skus, int n, bool read_only, SrItemRules *rules)
{
	bool		schema = sr_products_schema();
	Datum		args[1];
	int		   *order;
	uint64		t;
	int			i;

	memset(rules, 0, sizeof(SrItemRules) * n);
	if (n == 0)
		return;
	if (plan_item_rules != NULL && plan_item_rules_schema != schema)
	{
		SPI_freeplan(plan_item_rules);
		plan_item_rules = NULL;
	}
	if (plan_item_rules == NULL)
	{
		Oid			types[1] = {TEXTARRAYOID};

		plan_item_rules_schema = schema;
		plan_item_rules = sr_prepare_kept_generic(psprintf(
												   "SELECT sku, 'hazmat' = ANY (tags), 'lot_tracked' = ANY (tags), %s"
												   "  FROM stockroute.item WHERE sku = ANY ($1)",
												   schema ? "min_shelf_days, ship_to_allowed, ship_to_denied, ship_from_countries"
												   : "NULL::integer, NULL::text[], NULL::text[], NULL::text[]"),
										  1, types);
	}
	args[0] = sr_text_array(skus, n);
	if (SPI_execute_plan(plan_item_rules, args, NULL, read_only, 0) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: item product lookup failed");

	/* skus may repeat (one SKU, several lot requirements): sort an index */
	order = palloc(sizeof(int) * n);
	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_arg(order, n, sizeof(int), cmp_str_index, skus);

	for (t = 0; t < SPI_processed; t++)
	{
		HeapTuple	tup = SPI_tuptable->vals[t];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *sku = SPI_getvalue(tup, desc, 1);
		SrItemRules r;
		bool		isnull;
		Datum		v;
		int			lo = 0;
		int			hi = n - 1;
		int			at = -1;

		memset(&r, 0, sizeof(r));
		r.found = true;
		r.hazmat = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull)) && !isnull;
		r.lot_tracked = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull)) && !isnull;
		v = SPI_getbinval(tup, desc, 4, &isnull);
		r.min_shelf_days = isnull ? 0 : DatumGetInt32(v);
		v = SPI_getbinval(tup, desc, 5, &isnull);
		r.nallowed = isnull ? -1 : text_array_strings(v, &r.allowed);
		v = SPI_getbinval(tup, desc, 6, &isnull);
		r.ndenied = isnull ? 0 : text_array_strings(v, &r.denied);
		v = SPI_getbinval(tup, desc, 7, &isnull);
		r.nfrom = isnull ? -1 : text_array_strings(v, &r.from);

		while (lo <= hi)
		{
			int			mid = (lo + hi) / 2;
			int			c = strcmp(sku, skus[order[mid]]);

			if (c == 0)
			{
				at = mid;
				break;
			}
			if (c < 0)
				hi = mid - 1;
			else
				lo = mid + 1;
		}
		if (at < 0)
			continue;
		while (at > 0 && strcmp(skus[order[at - 1]], sku) == 0)
			at--;
		for (; at < n && strcmp(skus[order[at]], sku) == 0; at++)
			rules[order[at]] = r;
	}
}

/* "US, US-CA" */
static char *
place_list(char **places, int n)
{
	StringInfoData s;
	int			i;

	initStringInfo(&s);
	for (i = 0; i < n; i++)
		appendStringInfo(&s, "%s%s", i > 0 ? ", " : "", places[i]);
	return s.data;
}

/*
 * Does a list of places hold the destination?  An entry is a country "US"
 * or a region "US-CA".  *needs_region is set when only an entry for a region
 * of this country could decide and the destination has no region.
 */
static bool
places_hold(char **places, int n, const char *country, const char *region,
			bool *needs_region, const char **hit)
{
	size_t		clen = strlen(country);
	int			i;

	*needs_region = false;
	for (i = 0; i < n; i++)
	{
		const char *e = places[i];

		if (strncmp(e, country, clen) != 0)
			continue;
		if (e[clen] == '\0')
		{
			*hit = e;
			*needs_region = false;
			return true;
		}
		if (e[clen] != '-')
			continue;
		if (region == NULL)
			*needs_region = true;
		else if (strcmp(e + clen + 1, region) == 0)
		{
			*hit = e;
			return true;
		}
	}
	return false;
}

void
sr_products_check_destination(const SrItemRules *r, const char *sku, const char *line_ref,
							  const char *country, const char *region)
{
	bool		needs_region;
	const char *hit = NULL;
	const char *dest;

	if (r->nallowed < 0 && r->ndenied == 0)
		return;
	if (country == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SR_DESTINATION_INCOMPLETE),
				 errmsg("order field \"ship_to.country\" is required: sku \"%s\" of line \"%s\" ships only to some destinations",
						sku, line_ref),
				 errdetail("The item restricts its destinations (ship_to_allowed or ship_to_denied).")));
	dest = region ? psprintf("%s-%s", country, region) : country;

	if (places_hold(r->denied, r->ndenied, country, region, &needs_region, &hit))
		ereport(ERROR,
				(errcode(ERRCODE_SR_RESTRICTED_DESTINATION),
				 errmsg("sku \"%s\" of line \"%s\" may not ship to %s", sku, line_ref, dest),
				 errdetail("item.ship_to_denied lists %s.", hit)));
	if (needs_region)
		ereport(ERROR,
				(errcode(ERRCODE_SR_DESTINATION_INCOMPLETE),
				 errmsg("order field \"ship_to.region\" is required: sku \"%s\" of line \"%s\" may not ship to some regions of %s",
						sku, line_ref, country),
				 errdetail("item.ship_to_denied: %s.", place_list(r->denied, r->ndenied))));
	if (r->nallowed < 0)
		return;
	if (places_hold(r->allowed, r->nallowed, country, region, &needs_region, &hit))
		return;
	if (needs_region)
		ereport(ERROR,
				(errcode(ERRCODE_SR_DESTINATION_INCOMPLETE),
				 errmsg("order field \"ship_to.region\" is required: sku \"%s\" of line \"%s\" ships only to some regions of %s",
						sku, line_ref, country),
				 errdetail("item.ship_to_allowed: %s.", place_list(r->allowed, r->nallowed))));
	ereport(ERROR,
			(errcode(ERRCODE_SR_RESTRICTED_DESTINATION),
			 errmsg("sku \"%s\" of line \"%s\" may not ship to %s", sku, line_ref, dest),
			 r->nallowed > 0
			 ? errdetail("item.ship_to_allowed: %s.", place_list(r->allowed, r->nallowed))
			 : errdetail("item.ship_to_allowed is empty: the SKU ships nowhere.")));
}

bool
sr_products_destination_ok(const SrItemRules *r, const char *country, const char *region)
{
	bool		needs_region;
	const char *hit = NULL;

	if (r->nallowed < 0 && r->ndenied == 0)
		return true;
	if (country == NULL)
		return false;
	if (places_hold(r->denied, r->ndenied, country, region, &needs_region, &hit) || needs_region)
		return false;
	return r->nallowed < 0 ||
		places_hold(r->allowed, r->nallowed, country, region, &needs_region, &hit);
}

void
sr_products_check_lot_req(const SrItemRules *r, const SrLotReq *req, const char *sku,
						  const char *line_ref)
{
	if (r->lot_tracked || (req->min_shelf_days < 0 && req->attrs == NULL))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_SR_NOT_LOT_TRACKED),
			 errmsg("line \"%s\" asks for %s, but sku \"%s\" is not lot-tracked",
					line_ref, req->attrs ? "lot_attrs" : "min_shelf_days", sku),
			 errhint("Tag the item lot_tracked and record its lots, or drop the requirement from the line.")));
}

char *
sr_products_node_excludes(const SrItemRules *r, const char *sku, bool node_hazmat,
						  const char *node_country)
{
	int			i;

	if (r->hazmat && !node_hazmat)
		return psprintf("sku %s is hazmat and the node is not tagged hazmat", sku);
	if (r->nfrom < 0)
		return NULL;
	if (node_country != NULL)
		for (i = 0; i < r->nfrom; i++)
			if (strcmp(r->from[i], node_country) == 0)
				return NULL;
	return psprintf("sku %s ships only from %s (ship_from_countries), the node is in %s",
					sku, r->nfrom > 0 ? place_list(r->from, r->nfrom) : "nowhere",
					node_country ? node_country : "no country");
}


/* ---------------------------------------------------------------- lots */

static SPIPlanPtr plan_lots = NULL;
static SPIPlanPtr plan_lots_all = NULL;

/* (node_id, sku) in byte order, then first expiry first (no expiry last), then lot_code */
static int
cmp_lot(const void *a, const void *b)
{
	const SrLot *x = a;
	const SrLot *y = b;
	int			c;

	if ((c = strcmp(x->node_id, y->node_id)) != 0)
		return c;
	if ((c = strcmp(x->sku, y->sku)) != 0)
		return c;
	if (x->has_expiry != y->has_expiry)
		return x->has_expiry ? -1 : 1;
	if (x->has_expiry && x->expires_on != y->expires_on)
		return x->expires_on < y->expires_on ? -1 : 1;
	return strcmp(x->lot_code, y->lot_code);
}

SrLotSet *
sr_lots_load(char **skus, int n, const SrLapsed *lapsed, bool read_only)
{
	SrLotSet   *set = palloc0(sizeof(SrLotSet));
	Datum		args[1];
	uint64		t;
	SPIPlanPtr	plan;

	if (n == 0)
		return set;
	if (plan_lots == NULL)
	{
		Oid			types[1] = {TEXTARRAYOID};

		plan_lots = sr_prepare_kept_generic(
									"SELECT l.node_id, l.sku, l.lot_code, l.on_hand - l.reserved,"
									"       l.expires_on, l.attrs"
									"  FROM stockroute.lot l"
									" WHERE l.sku = ANY ($1) AND l.on_hand > l.reserved",
									1, types);
		/* with lapsed holds on lots: a lot that looks empty may be free */
		plan_lots_all = sr_prepare_kept_generic(
										"SELECT l.node_id, l.sku, l.lot_code, l.on_hand - l.reserved,"
										"       l.expires_on, l.attrs"
										"  FROM stockroute.lot l"
										" WHERE l.sku = ANY ($1)",
										1, types);
	}
	plan = lapsed != NULL && lapsed->nlots > 0 ? plan_lots_all : plan_lots;
	args[0] = sr_text_array(skus, n);
	if (SPI_execute_plan(plan, args, NULL, read_only, 0) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: lot lookup failed");

	set->lots = palloc0(sizeof(SrLot) * (SPI_processed > 0 ? SPI_processed : 1));
	for (t = 0; t < SPI_processed; t++)
	{
		HeapTuple	tup = SPI_tuptable->vals[t];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		SrLot	   *l = &set->lots[set->nlots];
		bool		isnull;
		Datum		v;

		l->node_id = SPI_getvalue(tup, desc, 1);
		l->sku = SPI_getvalue(tup, desc, 2);
		l->lot_code = SPI_getvalue(tup, desc, 3);
		/* held reservations past their expiry hold nothing (src/lapsed.c) */
		l->free = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull)) +
			sr_lapsed_lot(lapsed, l->node_id, l->sku, l->lot_code);
		if (l->free <= 0)
			continue;
		set->nlots++;
		v = SPI_getbinval(tup, desc, 5, &isnull);
		l->has_expiry = !isnull && !DATE_NOT_FINITE(DatumGetDateADT(v));
		if (!isnull && DATE_IS_NOBEGIN(DatumGetDateADT(v)))
		{
			/* -infinity: expired since forever */
			l->has_expiry = true;
			l->expires_on = DATEVAL_NOBEGIN;
		}
		else if (l->has_expiry)
			l->expires_on = DatumGetDateADT(v);
		l->attrs = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 6, &isnull));
	}
	qsort(set->lots, set->nlots, sizeof(SrLot), cmp_lot);
	return set;
}

/* first lot of (node_id, sku) in the set, and how many there are */
static int
find_lots(const SrLotSet *set, const char *node_id, const char *sku, int *count)
{
	int			lo = 0;
	int			hi = set->nlots;
	int			first;

	/* lower bound of (node_id, sku) */
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;
		const SrLot *l = &set->lots[mid];
		int			c = strcmp(l->node_id, node_id);

		if (c == 0)
			c = strcmp(l->sku, sku);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	while (lo < set->nlots && strcmp(set->lots[lo].node_id, node_id) == 0 &&
		   strcmp(set->lots[lo].sku, sku) == 0)
		lo++;
	*count = lo - first;
	return first;
}

static bool
life_ok(const SrLot *l, int min_days, DateADT today)
{
	if (!l->has_expiry)
		return true;
	if (l->expires_on == DATEVAL_NOBEGIN)
		return false;
	return (int64) l->expires_on - (int64) today >= (int64) min_days;
}

static bool
attrs_ok(const SrLot *l, Jsonb *req)
{
	if (req == NULL)
		return true;
	return DatumGetBool(DirectFunctionCall2(jsonb_contains, JsonbPGetDatum(l->attrs),
											JsonbPGetDatum(req)));
}

/* fewer eligible lots first: the strictest demand chooses first */
static int
cmp_demand(const void *a, const void *b)
{
	const SrLotDemand *x = *(SrLotDemand *const *) a;
	const SrLotDemand *y = *(SrLotDemand *const *) b;

	if (x->eligible != y->eligible)
		return x->eligible < y->eligible ? -1 : 1;
	return x < y ? -1 : (x > y ? 1 : 0);	/* keep line order */
}

void
sr_lots_share(const SrLotSet *set, const char *node_id, const char *sku,
			  int64 stock_available, DateADT today, SrLotDemand **demands, int n)
{
	int			count;
	int			first = find_lots(set, node_id, sku, &count);
	int64	   *left = palloc(sizeof(int64) * (count > 0 ? count : 1));
	bool	   *ok = palloc(sizeof(bool) * (count > 0 ? count : 1) * (n > 0 ? n : 1));
	SrLotDemand **order = palloc(sizeof(SrLotDemand *) * (n > 0 ? n : 1));
	int64		cap = stock_available > 0 ? stock_available : 0;
	int			i;
	int			k;

	for (k = 0; k < count; k++)
		left[k] = set->lots[first + k].free;
	for (i = 0; i < n; i++)
	{
		SrLotDemand *d = demands[i];

		d->first = first;
		d->nlots = count;
		d->take = palloc0(sizeof(int64) * (count > 0 ? count : 1));
		d->share = 0;
		d->eligible = d->short_life = d->wrong_attrs = 0;
		for (k = 0; k < count; k++)
		{
			const SrLot *l = &set->lots[first + k];
			bool		life = life_ok(l, d->min_shelf_days, today);
			bool		attrs = attrs_ok(l, d->attrs);

			ok[i * count + k] = life && attrs;
			if (!life)
				d->short_life++;
			else if (!attrs)
				d->wrong_attrs++;
			else
				d->eligible++;
		}
		order[i] = d;
	}
	qsort(order, n, sizeof(SrLotDemand *), cmp_demand);

	for (i = 0; i < n; i++)
	{
		SrLotDemand *d = order[i];
		int			di;

		/* the demand's own index, for its eligibility row */
		for (di = 0; di < n && demands[di] != d; di++)
			;
		for (k = 0; k < count && d->share < d->qty && cap > 0; k++)
		{
			int64		t;

			if (!ok[di * count + k] || left[k] <= 0)
				continue;
			t = Min(left[k], d->qty - d->share);
			t = Min(t, cap);
			d->take[k] = t;
			d->share += t;
			left[k] -= t;
			cap -= t;
		}
	}
}

char *
sr_lots_note(const SrLotDemand *d, const char *sku)
{
	StringInfoData s;

	if (d->share > 0 && d->short_life == 0 && d->wrong_attrs == 0)
		return NULL;
	initStringInfo(&s);
	if (d->share > 0)
		appendStringInfo(&s, "lots of sku %s skipped:", sku);
	else if (d->nlots == 0)
	{
		appendStringInfo(&s, "no free lot of sku %s", sku);
		return s.data;
	}
	else if (d->eligible > 0)
	{
		appendStringInfo(&s, "the eligible lots of sku %s are set aside for other lines", sku);
		return s.data;
	}
	else
		appendStringInfo(&s, "no eligible lot of sku %s:", sku);
	if (d->short_life > 0 && d->min_shelf_days == 0)
		appendStringInfo(&s, " %d expired", d->short_life);
	else if (d->short_life > 0)
		appendStringInfo(&s, " %d with less than %d days of shelf life", d->short_life,
						 d->min_shelf_days);
	if (d->wrong_attrs > 0)
	{
		appendStringInfo(&s, "%s %d without lot_attrs ", d->short_life > 0 ? "," : "",
						 d->wrong_attrs);
		(void) JsonbToCString(&s, &d->attrs->root, VARSIZE(d->attrs));
	}
	return s.data;
}

SrLotTake *
sr_lots_take(const SrLotSet *set, SrLotDemand *d, int64 qty, int *n)
{
	SrLotTake  *out = palloc(sizeof(SrLotTake) * (d->nlots > 0 ? d->nlots : 1));
	int			k;

	*n = 0;
	for (k = 0; k < d->nlots && qty > 0; k++)
	{
		int64		t = Min(d->take[k], qty);

		if (t <= 0)
			continue;
		d->take[k] -= t;
		qty -= t;
		out[*n].lot = d->first + k;
		out[(*n)++].qty = t;
	}
	/* the solver never ships more than the share: nothing can be left */
	if (qty > 0)
		elog(ERROR, "stockroute: " INT64_FORMAT " units of a lot-tracked line have no lot", qty);
	return out;
}
