/*
 * order.c — the order reader: an order document (the contract in DESIGN.md)
 * turned into an SrOrder, every field checked with an error that names it.
 * Also the order of available()'s promise, the sub-order of lines that a
 * re-placement routes again, and the canonical document of what routing
 * reads (allocate()'s idempotency compares it).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "errcodes.h"
#include "guc.h"
#include "json.h"
#include "inputs.h"
#include "order.h"
#include "products.h"
#include "rules.h"
#include "solver.h"



static void
field_wrong(const char *what, const char *path, const char *want,
			const JsonbValue *v)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s \"%s\" must be %s, got %s", what, path, want, sr_jsonb_shown(v))));
}

static void
field_missing(const char *what, const char *path)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("%s \"%s\" is required", what, path)));
}

/* A required non-empty string field. */
static char *
get_required_string(JsonbContainer *obj, const char *key, const char *what,
					const char *path)
{
	JsonbValue	vbuf;
	JsonbValue *v = sr_jsonb_get(obj, key, &vbuf);

	if (v == NULL || v->type == jbvNull)
		field_missing(what, path);
	if (v->type != jbvString)
		field_wrong(what, path, "a string", v);
	if (v->val.string.len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"%s\" must not be empty", what, path)));
	if (v->val.string.len > SR_MAX_IDENT_BYTES)
		sr_check_ident_length(psprintf("%s \"%s\"", what, path), sr_jsonb_string(v));
	return sr_jsonb_string(v);
}

/* An optional string field: NULL when absent or JSON null. */
static char *
get_optional_string(JsonbContainer *obj, const char *key, const char *what,
					const char *path)
{
	JsonbValue	vbuf;
	JsonbValue *v = sr_jsonb_get(obj, key, &vbuf);

	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (v->type != jbvString)
		field_wrong(what, path, "a string", v);
	return sr_jsonb_string(v);
}

static bool
get_coordinate(JsonbContainer *obj, const char *key, const char *what,
			   const char *path, double bound, double *out)
{
	JsonbValue	vbuf;
	JsonbValue *v = sr_jsonb_get(obj, key, &vbuf);

	if (v == NULL || v->type == jbvNull)
		return false;
	if (v->type != jbvNumeric)
		field_wrong(what, path, "a number", v);
	*out = sr_jsonb_double(v);
	if (!(*out >= -bound && *out <= bound))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"%s\" must be between %g and %g, got %s",
						what, path, -bound, bound, sr_jsonb_shown(v))));
	return true;
}

/*
 * ship_to: lat and lon (both or neither), country (ISO alpha-2, upper case),
 * region, postal_code; at least coordinates or a country.
 */
static void
parse_ship_to(const JsonbValue *v, const char *what, SrShipTo *st)
{
	JsonbContainer *obj;
	bool		has_lat;
	bool		has_lon;

	memset(st, 0, sizeof(*st));
	if (!sr_jsonb_is_object(v))
		field_wrong(what, "ship_to", "an object", v);
	obj = v->val.binary.data;
	has_lat = get_coordinate(obj, "lat", what, "ship_to.lat", 90, &st->lat);
	has_lon = get_coordinate(obj, "lon", what, "ship_to.lon", 180, &st->lon);
	if (has_lat != has_lon)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"%s\" is required with \"%s\"", what,
						has_lat ? "ship_to.lon" : "ship_to.lat",
						has_lat ? "ship_to.lat" : "ship_to.lon")));
	st->has_coords = has_lat;
	st->country = get_optional_string(obj, "country", what, "ship_to.country");
	if (st->country &&
		!(strlen(st->country) == 2 &&
		  st->country[0] >= 'A' && st->country[0] <= 'Z' &&
		  st->country[1] >= 'A' && st->country[1] <= 'Z'))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"ship_to.country\" must be an ISO 3166-1 alpha-2 code in upper case, got \"%s\"",
						what, st->country)));
	st->region = get_optional_string(obj, "region", what, "ship_to.region");
	st->postal_code = get_optional_string(obj, "postal_code", what, "ship_to.postal_code");
	if (!st->has_coords && st->country == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"ship_to\" needs lat and lon, or a country", what)));
}

/* A JSON integer in [lo, hi]; what it must be is said in `want`. */
static int64
get_integer(const JsonbValue *v, const char *what, const char *path,
			const char *want, int64 lo, int64 hi)
{
	Datum		n;
	double		d;

	if (v->type != jbvNumeric)
		field_wrong(what, path, want, v);
	n = NumericGetDatum(v->val.numeric);
	if (!DatumGetBool(DirectFunctionCall2(numeric_eq, n,
										  DirectFunctionCall2(numeric_trunc, n,
															  Int32GetDatum(0)))))
		field_wrong(what, path, want, v);
	d = sr_jsonb_double(v);
	if (d < (double) lo || d > (double) hi)
		ereport(ERROR,
				(errcode(d > (double) hi && lo > 0 ? ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE
						 : ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"%s\" must be %s, got %s", what, path, want, sr_jsonb_shown(v)),
				 d > (double) hi ? errdetail("The largest accepted value is " INT64_FORMAT ".", hi) : 0));
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, n));
}

/* A date in ISO form YYYY-MM-DD (independent of DateStyle). */
static DateADT
parse_iso_date(const char *s, const char *what, const char *path)
{
	int			y,
				m,
				d;
	int			i;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		goto bad;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			goto bad;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > day_tab[isleap(y) ? 1 : 0][m - 1])
		goto bad;
	return date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
bad:
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
			 errmsg("%s \"%s\" must be a date in the form YYYY-MM-DD, got \"%s\"", what, path, s)));
	return 0;					/* keep compiler quiet */
}

static int
cmp_group_sku(const void *a, const void *b, void *arg)
{
	const SrSkuGroup *groups = arg;
	int			x = *(const int *) a;
	int			y = *(const int *) b;
	int			c = strcmp(groups[x].sku, groups[y].sku);

	if (c != 0)
		return c;
	return x < y ? -1 : (x > y ? 1 : 0);	/* groups of one SKU in line order */
}

/*
 * Binary search of key in items kept sorted through an index array: order[]
 * lists item indexes in byte order of their names, name(arg, i) gives item
 * i's name.  Returns the item index, or -1.
 */
int
sr_find_sorted(const char *key, const int *order, int n,
			const char *(*name) (const void *arg, int i), const void *arg)
{
	int			lo = 0;
	int			hi = n - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strcmp(key, name(arg, order[mid]));

		if (c == 0)
			return order[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}

/*
 * The groups of one SKU (several when its lines ask for different lots,
 * see products), as a run of o->group_by_sku: returns the run's start,
 * *count its length (0 when the order has no such SKU).
 */
int
sr_order_groups_of_sku(const SrOrder *o, const char *sku, int *count)
{
	int			lo = 0;
	int			hi = o->ngroups;
	int			first;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (strcmp(o->groups[o->group_by_sku[mid]].sku, sku) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	while (lo < o->ngroups && strcmp(o->groups[o->group_by_sku[lo]].sku, sku) == 0)
		lo++;
	*count = lo - first;
	return first;
}

static void
parse_options(const JsonbValue *v, SrOrder *o)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	val;
	JsonbIteratorToken tok;
	const char *what = "order field";

	if (!sr_jsonb_is_object(v))
		field_wrong(what, "options", "an object", v);
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;
		char		path[NAMEDATALEN + 16];

		if (tok != WJB_KEY)
			continue;
		key = sr_jsonb_string(&k);
		tok = JsonbIteratorNext(&it, &val, true);
		snprintf(path, sizeof(path), "options.%s", key);
		if (val.type == jbvNull)
			continue;			/* null: the profile decides */
		if (strcmp(key, "allow_partial") == 0 || strcmp(key, "ship_complete") == 0)
		{
			if (val.type != jbvBool)
				field_wrong(what, path, "a boolean", &val);
			if (key[0] == 'a')
				o->allow_partial = val.val.boolean ? 1 : 0;
			else
				o->ship_complete = val.val.boolean ? 1 : 0;
		}
		else if (strcmp(key, "explain_deltas") == 0)
		{
			if (val.type != jbvBool)
				field_wrong(what, path, "a boolean", &val);
			o->explain_deltas = val.val.boolean;
		}
		else if (strcmp(key, "max_shipments") == 0)
			o->max_shipments = (int) get_integer(&val, what, path,
												 "a non-negative integer (0: no limit)",
												 0, INT_MAX);
		else if (strcmp(key, "need_by") == 0)
		{
			if (val.type != jbvString)
				field_wrong(what, path, "a date string (YYYY-MM-DD)", &val);
			o->need_by = parse_iso_date(sr_jsonb_string(&val), what, path);
			o->has_need_by = true;
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown order option \"%s\"", key),
					 errhint("Options are allow_partial, ship_complete, max_shipments, need_by and explain_deltas.")));
	}
}

char *
sr_order_ref(Jsonb *doc)
{
	if (!JB_ROOT_IS_OBJECT(doc))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("order must be a JSON object")));
	return get_required_string(&doc->root, "order_ref", "order field", "order_ref");
}

/*
 * ops: "fulfillment": "ship" (the default) or "pickup", and the
 * "pickup_node" a pickup order needs (and a ship order must not have).
 */
static void
parse_fulfillment(JsonbContainer *root, SrOrder *o)
{
	const char *what = "order field";
	char	   *f = get_optional_string(root, "fulfillment", what, "fulfillment");

	o->pickup_node = get_optional_string(root, "pickup_node", what, "pickup_node");
	if (f != NULL && strcmp(f, "pickup") == 0)
		o->pickup = true;
	else if (f != NULL && strcmp(f, "ship") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SR_UNKNOWN_FULFILLMENT),
				 errmsg("order field \"fulfillment\" must be \"ship\" or \"pickup\", got \"%s\"", f)));
	if (o->pickup && o->pickup_node == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SR_PICKUP_NODE_MISMATCH),
				 errmsg("order field \"pickup_node\" is required with \"fulfillment\": \"pickup\"")));
	if (!o->pickup && o->pickup_node != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SR_PICKUP_NODE_MISMATCH),
				 errmsg("order field \"pickup_node\" needs \"fulfillment\": \"pickup\""),
				 errhint("Orders are shipped unless \"fulfillment\" says \"pickup\".")));
	if (o->pickup_node != NULL && o->pickup_node[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("order field \"pickup_node\" must not be empty")));
}

/*
 * The SKU groups of the order's lines: lines of one SKU and one lot
 * requirement share a group (the solver's line), and what rules match on.
 */
static void
build_groups(SrOrder *o)
{
	int			i;
	int			j;

	o->ngroups = 0;
	o->groups = palloc0(sizeof(SrSkuGroup) * (o->nlines > 0 ? o->nlines : 1));
	for (i = 0; i < o->nlines; i++)
	{
		SrOrderLine *ln = &o->lines[i];

		for (j = 0; j < o->ngroups; j++)
			if (strcmp(o->groups[j].sku, ln->sku) == 0 &&
				strcmp(o->groups[j].req.key, ln->req.key) == 0)
				break;
		if (j == o->ngroups)
		{
			o->groups[o->ngroups].sku = ln->sku;
			o->groups[o->ngroups++].req = ln->req;
		}
		ln->group = j;
		if (o->groups[j].qty > SR_MAX_QTY - ln->qty)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("order \"%s\" wants more than " INT64_FORMAT " units of sku \"%s\"",
							o->order_ref, (int64) SR_MAX_QTY, ln->sku)));
		o->groups[j].qty += ln->qty;
	}

	o->group_by_sku = palloc(sizeof(int) * (o->ngroups > 0 ? o->ngroups : 1));
	for (i = 0; i < o->ngroups; i++)
		o->group_by_sku[i] = i;
	qsort_arg(o->group_by_sku, o->ngroups, sizeof(int), cmp_group_sku, o->groups);

	/* rules match on the destination and the SKU groups too */
	o->facts.country = o->ship_to.country;
	o->facts.nskus = o->ngroups;
	o->facts.skus = palloc(sizeof(char *) * (o->ngroups > 0 ? o->ngroups : 1));
	for (i = 0; i < o->ngroups; i++)
		o->facts.skus[i] = o->groups[i].sku;
}

static void
parse_order(Jsonb *doc, SrOrder *o)
{
	JsonbContainer *root = &doc->root;
	JsonbValue	vbuf;
	JsonbValue *v;
	JsonbContainer *arr;
	const char *what = "order field";
	int			i;
	int			j;

	memset(o, 0, sizeof(*o));
	o->allow_partial = o->ship_complete = o->max_shipments = -1;
	o->order_ref = sr_order_ref(doc);
	parse_fulfillment(root, o);
	o->has_priority = sr_priority_validate(doc, what, "priority", &o->priority);

	/* a pickup order is routed to its pickup node: its ship_to is optional */
	v = sr_jsonb_get(root, "ship_to", &vbuf);
	if ((v == NULL || v->type == jbvNull) && !o->pickup)
		field_missing(what, "ship_to");
	if (v != NULL && v->type != jbvNull)
		parse_ship_to(v, what, &o->ship_to);

	/* the customer, for the routing rules (src/rules.c) */
	sr_rules_parse_customer(sr_jsonb_get(root, "customer", &vbuf), what, &o->facts);
	/* products: the shelf life this customer accepts */
	v = sr_jsonb_get(root, "customer", &vbuf);
	o->customer_min_shelf_days = (v != NULL && sr_jsonb_is_object(v))
		? sr_customer_min_shelf_days(v->val.binary.data) : -1;

	v = sr_jsonb_get(root, "profile", &vbuf);
	if (v == NULL || v->type == jbvNull)
		o->profile = "default";
	else if (v->type != jbvString)
		field_wrong(what, "profile", "a profile name (string)", v);
	else
		o->profile = sr_jsonb_string(v);

	v = sr_jsonb_get(root, "options", &vbuf);
	if (v != NULL && v->type != jbvNull)
		parse_options(v, o);

	v = sr_jsonb_get(root, "lines", &vbuf);
	if (v == NULL || v->type == jbvNull)
		field_missing(what, "lines");
	if (!sr_jsonb_is_array(v))
		field_wrong(what, "lines", "an array", v);
	arr = v->val.binary.data;
	o->nlines = JsonContainerSize(arr);
	if (o->nlines == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("order field \"lines\" must not be empty")));
	if (o->nlines > stockroute_max_order_lines)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("order \"%s\" has %d lines, more than stockroute.max_order_lines (%d)",
						o->order_ref, o->nlines, stockroute_max_order_lines),
				 errhint("Split the order, or raise stockroute.max_order_lines.")));

	o->lines = palloc0(sizeof(SrOrderLine) * o->nlines);
	for (i = 0; i < o->nlines; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);
		JsonbValue *q;
		SrOrderLine  *ln = &o->lines[i];
		char		path[64];

		CHECK_FOR_INTERRUPTS();	/* the duplicate checks below are quadratic */
		snprintf(path, sizeof(path), "lines[%d]", i);
		if (!sr_jsonb_is_object(e))
			field_wrong(what, path, "an object", e);
		snprintf(path, sizeof(path), "lines[%d].line_ref", i);
		ln->line_ref = get_required_string(e->val.binary.data, "line_ref", what, path);
		snprintf(path, sizeof(path), "lines[%d].sku", i);
		ln->sku = get_required_string(e->val.binary.data, "sku", what, path);
		snprintf(path, sizeof(path), "lines[%d].qty", i);
		q = sr_jsonb_get(e->val.binary.data, "qty", &vbuf);
		if (q == NULL || q->type == jbvNull)
			field_missing(what, path);
		ln->qty = get_integer(q, what, path, "a positive integer", 1, SR_MAX_QTY);
		/* products: lines of one SKU asking for different lots are demands apart */
		sr_lot_req_parse(e->val.binary.data, i, &ln->req);

		for (j = 0; j < i; j++)
			if (strcmp(o->lines[j].line_ref, ln->line_ref) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_SR_DUPLICATE_LINE),
						 errmsg("order \"%s\" has more than one line with line_ref \"%s\"",
								o->order_ref, ln->line_ref)));
	}
	build_groups(o);
}



SrOrder *
sr_order_read(Jsonb *doc)
{
	SrOrder    *o = palloc(sizeof(SrOrder));

	parse_order(doc, o);
	return o;
}

bool
sr_priority_validate(Jsonb *doc, const char *what, const char *path, int32 *priority)
{
	JsonbValue	vbuf;
	JsonbValue *v;

	if (!JB_ROOT_IS_OBJECT(doc))
		return false;
	v = sr_jsonb_get(&doc->root, "priority", &vbuf);
	if (v == NULL || v->type == jbvNull)
		return false;
	if (v->type == jbvNumeric)
	{
		Datum		n = NumericGetDatum(v->val.numeric);
		double		d = sr_jsonb_double(v);

		if (DatumGetBool(DirectFunctionCall2(numeric_eq, n,
											 DirectFunctionCall2(numeric_trunc, n, Int32GetDatum(0)))) &&
			d >= (double) PG_INT32_MIN && d <= (double) PG_INT32_MAX)
		{
			if (priority)
				*priority = (int32) d;
			return true;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s \"%s\" must be an integer between %d and %d, got %s",
					what, path, PG_INT32_MIN, PG_INT32_MAX, sr_jsonb_shown(v))));
	return false;				/* keep compiler quiet */
}

/* the root object of a jsonb argument as a JsonbValue */
static JsonbValue *
root_value(Jsonb *j, JsonbValue *v)
{
	v->type = jbvBinary;
	v->val.binary.data = &j->root;
	v->val.binary.len = VARSIZE(j) - VARHDRSZ;
	return v;
}

SrOrder *
sr_order_for_sku(const char *sku, Jsonb *ship_to, Jsonb *customer)
{
	SrOrder    *o = palloc0(sizeof(SrOrder));
	JsonbValue	v;

	o->allow_partial = o->ship_complete = o->max_shipments = -1;
	o->profile = "default";
	o->nlines = 1;
	o->lines = palloc0(sizeof(SrOrderLine));
	o->lines[0].line_ref = "1";
	o->lines[0].sku = pstrdup(sku);
	o->lines[0].qty = 1;		/* the weight of one unit picks the lane bracket */
	o->lines[0].req.min_shelf_days = -1;
	o->lines[0].req.key = "";
	if (ship_to != NULL)
	{
		if (JB_ROOT_IS_SCALAR(ship_to) || !JB_ROOT_IS_OBJECT(ship_to))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"ship_to\" must be a JSON object")));
		parse_ship_to(root_value(ship_to, &v), "argument field", &o->ship_to);
	}
	o->customer_min_shelf_days = -1;
	if (customer != NULL)
	{
		if (JB_ROOT_IS_SCALAR(customer) || !JB_ROOT_IS_OBJECT(customer))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"customer\" must be a JSON object")));
		sr_rules_parse_customer(root_value(customer, &v), "argument field", &o->facts);
		o->customer_min_shelf_days = sr_customer_min_shelf_days(&customer->root);
	}
	build_groups(o);
	return o;
}

void
sr_order_keep_lines(SrOrder *o, int n, char **line_refs, char **skus, const int64 *qty)
{
	SrOrderLine *kept = palloc0(sizeof(SrOrderLine) * (n > 0 ? n : 1));
	bool	   *found = palloc0(sizeof(bool) * (n > 0 ? n : 1));
	int			nkept = 0;
	int			i;
	int			j;

	/* the order's own lines, in the order's order (a SKU's units go to its lines in it) */
	for (j = 0; j < o->nlines; j++)
		for (i = 0; i < n; i++)
			if (!found[i] && strcmp(o->lines[j].line_ref, line_refs[i]) == 0 &&
				strcmp(o->lines[j].sku, skus[i]) == 0)
			{
				kept[nkept] = o->lines[j];
				kept[nkept++].qty = qty[i];
				found[i] = true;
				break;
			}
	/* then lines the document does not have (held with reserve() alone) */
	for (i = 0; i < n; i++)
		if (!found[i])
		{
			kept[nkept].line_ref = line_refs[i];
			kept[nkept].sku = skus[i];
			kept[nkept].req.min_shelf_days = -1;
			kept[nkept].req.key = "";
			kept[nkept++].qty = qty[i];
		}
	o->nlines = nkept;
	o->lines = kept;
	build_groups(o);
}

/* an object key of the routing document, its value a string or null */
static void
doc_string(StringInfo b, bool *first, const char *key, const char *value)
{
	sr_json_key(b, first, key);
	sr_json_string_or_null(b, value);
}

Jsonb *
sr_order_routing_doc(const SrOrder *o)
{
	StringInfoData b;
	bool		first = true;
	bool		f2;
	int			i;

	initStringInfo(&b);
	appendStringInfoChar(&b, '{');
	doc_string(&b, &first, "order_ref", o->order_ref);
	sr_json_key(&b, &first, "ship_to");
	f2 = true;
	appendStringInfoChar(&b, '{');
	if (o->ship_to.has_coords)
	{
		sr_json_key(&b, &f2, "lat");
		sr_json_number(&b, o->ship_to.lat);
		sr_json_key(&b, &f2, "lon");
		sr_json_number(&b, o->ship_to.lon);
	}
	doc_string(&b, &f2, "country", o->ship_to.country);
	doc_string(&b, &f2, "region", o->ship_to.region);
	doc_string(&b, &f2, "postal_code", o->ship_to.postal_code);
	appendStringInfoChar(&b, '}');
	sr_json_key(&b, &first, "customer");
	f2 = true;
	appendStringInfoChar(&b, '{');
	doc_string(&b, &f2, "id", o->facts.customer_id);
	doc_string(&b, &f2, "segment", o->facts.segment);
	doc_string(&b, &f2, "payment", o->facts.payment);
	sr_json_key(&b, &f2, "tags");
	appendStringInfoChar(&b, '[');
	for (i = 0; i < o->facts.ncustomer_tags; i++)
	{
		if (i > 0)
			appendStringInfoChar(&b, ',');
		escape_json(&b, o->facts.customer_tags[i]);
	}
	appendStringInfoChar(&b, ']');
	sr_json_key(&b, &f2, "min_shelf_days");
	appendStringInfo(&b, "%d", o->customer_min_shelf_days);
	appendStringInfoChar(&b, '}');
	sr_json_key(&b, &first, "lines");
	appendStringInfoChar(&b, '[');
	for (i = 0; i < o->nlines; i++)
	{
		const SrOrderLine *ln = &o->lines[i];

		if (i > 0)
			appendStringInfoChar(&b, ',');
		f2 = true;
		appendStringInfoChar(&b, '{');
		doc_string(&b, &f2, "line_ref", ln->line_ref);
		doc_string(&b, &f2, "sku", ln->sku);
		sr_json_key(&b, &f2, "qty");
		appendStringInfo(&b, INT64_FORMAT, ln->qty);
		sr_json_key(&b, &f2, "min_shelf_days");
		appendStringInfo(&b, "%d", ln->req.min_shelf_days);
		sr_json_key(&b, &f2, "lot_attrs");
		if (ln->req.attrs)
			(void) JsonbToCString(&b, &ln->req.attrs->root, VARSIZE(ln->req.attrs));
		else
			appendStringInfoString(&b, "null");
		appendStringInfoChar(&b, '}');
	}
	appendStringInfoChar(&b, ']');
	doc_string(&b, &first, "profile", o->profile);
	sr_json_key(&b, &first, "options");
	appendStringInfo(&b, "{\"allow_partial\":%d,\"ship_complete\":%d,\"max_shipments\":%d,\"need_by\":",
					 o->allow_partial, o->ship_complete, o->max_shipments);
	if (o->has_need_by)
		sr_json_date(&b, o->need_by);
	else
		appendStringInfoString(&b, "null");
	appendStringInfoChar(&b, '}');
	doc_string(&b, &first, "fulfillment", o->pickup ? "pickup" : "ship");
	doc_string(&b, &first, "pickup_node", o->pickup_node);
	sr_json_key(&b, &first, "priority");
	if (o->has_priority)
		appendStringInfo(&b, "%d", o->priority);
	else
		appendStringInfoString(&b, "null");
	appendStringInfoChar(&b, '}');
	return sr_json_to_jsonb(&b);
}
