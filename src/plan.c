/*
 * plan.c — plan(order) and available(sku, ship_to, customer): the order
 * document, the network read through SPI, the cost model, the solver call
 * and the plan document.  Also owns the routing GUCs and the helpers the
 * other routing files share (declared in plan.h).
 *
 * Cost model, per node: the most specific lane matching the destination
 * (postal prefix > region > country > any, within its weight bracket,
 * cheapest service among equals) gives shipment_cost = base_cost, unit_cost =
 * per_unit + per_kg * weight_kg and its transit_days.  With no lane, the
 * profile's distance model applies (Jasin & Sinha 2015): shipment_cost =
 * dist_fixed, unit_cost = dist_per_unit + dist_per_unit_mile * miles, transit
 * ceil(miles / 500) days.  days = the ETA (src/calendar.c: cutoff, shipping
 * days, handling, transit days, holidays) minus the routing clock's date.
 *
 * Product rules (src/products.c) enter at hooks marked "products:": region
 * locks, hazmat nodes and lanes (a node whose hazmat lines ship apart is two
 * solver nodes, NODE_HAZMAT and NODE_GENERAL), lots shared out per node,
 * and the re-cost of the chosen nodes at their real weights (reprice_plan).
 *
 * plan() only reads, with a handful of statements per call prepared once per
 * backend, so it can serve quotes on a hot standby.
 */
#include "postgres.h"

#include <math.h>

#include "access/parallel.h"
#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "holiday.h"
#include "operations.h"
#include "plan.h"
#include "products.h"
#include "rules.h"
#include "stockroute.h"
#include "supply.h"

/* mean Earth radius */
#define EARTH_RADIUS_KM 6371.0088
#define KM_PER_MILE		1.609344
/* the distance model's transit: one day per started 500 miles */
#define MILES_PER_DAY	500.0

/* ---------------------------------------------------------------- GUCs */

int			stockroute_max_order_lines = 500;
int			stockroute_allocate_retries = 3;
char	   *stockroute_now = NULL;
bool		stockroute_explain_timing = true;

/*
 * stockroute.now must be a finite timestamp.  It is parsed again at use, in
 * the session's time zone then in force; this only rejects garbage early.
 */
static bool
check_routing_now(char **newval, void **extra, GucSource source)
{
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	int			tz;
	struct pg_tm tt;
	fsec_t		fsec;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (session_timezone == NULL)
		return true;			/* too early in startup to parse; checked at use */

	/*
	 * A parallel worker restores the leader's settings, which the leader
	 * checked, before its own time zone abbreviations: parsing then could
	 * read a freed abbreviation table (it crashed with some values given
	 * through PGOPTIONS).
	 */
	if (InitializingParallelWorker)
		return true;
	if (ParseDateTime(*newval, workbuf, sizeof(workbuf), field, ftype,
					  MAXDATEFIELDS, &nf) != 0 ||
		DecodeDateTime(field, ftype, nf, &dtype, &tt, &fsec, &tz) != 0 ||
		dtype != DTK_DATE)
	{
		GUC_check_errdetail("\"%s\" is not a finite timestamp with time zone.", *newval);
		return false;
	}
	return true;
}

void
sr_routing_define_gucs(void)
{
	DefineCustomIntVariable("stockroute.max_order_lines",
							"Most lines an order given to plan() or allocate() may have.",
							"Larger orders are refused with SQLSTATE 54000.",
							&stockroute_max_order_lines,
							500, 1, 100000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("stockroute.allocate_retries",
							"How many times allocate() re-plans after a concurrent order took the stock it planned on.",
							"After that many lost races allocate() fails with SQLSTATE SR023.",
							&stockroute_allocate_retries,
							3, 0, 100,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomStringVariable("stockroute.now",
							   "Routing clock: order cutoffs, ETAs and need_by are computed as of this timestamptz.",
							   "Empty (the default) means the transaction's start time. For tests and simulations.",
							   &stockroute_now,
							   "",
							   PGC_USERSET, 0,
							   check_routing_now, NULL, NULL);
	DefineCustomBoolVariable("stockroute.explain_timing",
							 "Show the solver's time in explain() output.",
							 "Turn off for output that does not change from run to run, like EXPLAIN (TIMING OFF).",
							 &stockroute_explain_timing,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
}

TimestampTz
sr_routing_now(void)
{
	TimestampTz ts;

	if (stockroute_now == NULL || stockroute_now[0] == '\0')
		return GetCurrentTransactionStartTimestamp();
	ts = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
												 CStringGetDatum(stockroute_now),
												 ObjectIdGetDatum(InvalidOid),
												 Int32GetDatum(-1)));
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("stockroute.now must be a finite timestamp, got \"%s\"", stockroute_now)));
	return ts;
}

/* ---------------------------------------------------------------- helpers */

static void *
env_alloc(void *ctx, size_t size)
{
	return MemoryContextAllocExtended((MemoryContext) ctx, size,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

static void
env_check_interrupts(void *ctx)
{
	CHECK_FOR_INTERRUPTS();
}

void
sr_solve_or_error(const SrProblem *problem, SrResult *result, int64 *micros)
{
	SrEnv		env;
	instr_time	start;
	instr_time	elapsed;
	int			rc;

	env.alloc = env_alloc;
	env.alloc_ctx = CurrentMemoryContext;
	env.check_interrupts = env_check_interrupts;
	env.interrupt_ctx = NULL;

	INSTR_TIME_SET_CURRENT(start);
	rc = sr_solve(problem, &env, result);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	*micros = (int64) INSTR_TIME_GET_MICROSEC(elapsed);

	/* callers validate everything the solver checks, so this is a bug */
	if (rc != 0)
		elog(ERROR, "stockroute: solver rejected the problem (code %d)", rc);
}

void
sr_json_number(StringInfo buf, double v)
{
	char		s[DOUBLE_SHORTEST_DECIMAL_LEN];
	double		r;

	if (!isfinite(v))
	{
		appendStringInfoString(buf, "null");	/* inputs are finite */
		return;
	}
	r = rint(v * 1e6) / 1e6;
	if (!isfinite(r))
		r = v;
	if (r == 0.0)
		r = 0.0;				/* no "-0" */
	if (r == floor(r) && fabs(r) < 1e15)
	{
		appendStringInfo(buf, "%.0f", r);
		return;
	}
	double_to_shortest_decimal_buf(r, s);
	appendStringInfoString(buf, s);
}

void
sr_json_key(StringInfo buf, bool *first, const char *key)
{
	if (!*first)
		appendStringInfoChar(buf, ',');
	*first = false;
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
}

void
sr_json_score_terms(StringInfo buf, const SrProfile *p, const SrResult *r)
{
	appendStringInfoString(buf, "{\"cost\":");
	sr_json_number(buf, p->w_cost * r->terms.cost);
	appendStringInfoString(buf, ",\"days\":");
	sr_json_number(buf, p->w_days * r->terms.days);
	appendStringInfoString(buf, ",\"late\":");
	sr_json_number(buf, p->w_late * r->terms.late);
	appendStringInfoString(buf, ",\"split\":");
	sr_json_number(buf, p->split_penalty * r->terms.splits);
	appendStringInfoString(buf, ",\"distance\":");
	sr_json_number(buf, p->w_distance * r->terms.distance);
	appendStringInfoString(buf, ",\"balance\":");
	sr_json_number(buf, p->w_balance * r->terms.balance);
	appendStringInfoString(buf, ",\"backorder\":");
	sr_json_number(buf, p->backorder_penalty * r->terms.unfilled);
	appendStringInfoChar(buf, '}');
}

void
sr_json_solver(StringInfo buf, const SrResult *r, int64 micros)
{
	appendStringInfo(buf,
					 "{\"method\":\"%s\",\"evaluated\":" INT64_FORMAT
					 ",\"pruned\":" INT64_FORMAT ",\"micros\":" INT64_FORMAT
					 ",\"proven_optimal\":%s}",
					 r->method == SR_METHOD_EXACT ? "exact" : "heuristic",
					 (int64) r->evaluated, (int64) r->pruned, micros,
					 r->proven_optimal ? "true" : "false");
}

Jsonb *
sr_json_to_jsonb(StringInfo buf)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf->data)));
}

JsonbValue *
sr_jsonb_get(JsonbContainer *obj, const char *key, JsonbValue *res)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), res);
}

bool
sr_jsonb_is_object(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

bool
sr_jsonb_is_array(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data);
}

const char *
sr_jsonb_type_name(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "string";
		case jbvNumeric:
			return "number";
		case jbvBool:
			return "boolean";
		case jbvArray:
			return "array";
		case jbvObject:
			return "object";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "array" : "object";
		default:
			return "unknown";
	}
}

double
sr_jsonb_double(const JsonbValue *v)
{
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
											  NumericGetDatum(v->val.numeric)));
}

char *
sr_jsonb_string(const JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * A short rendering of a value for an error message: 2.5, "abc", an object.
 * Long numbers and strings are shortened (1.000e+400, "abc..."): a hostile
 * document must not write megabytes into the server log (issue 6).
 */
char *
sr_jsonb_shown(const JsonbValue *v)
{
	StringInfoData s;
	char	   *out;
	int			len;

	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvBool:
			return v->val.boolean ? "true" : "false";
		case jbvNumeric:
			out = DatumGetCString(DirectFunctionCall1(numeric_out,
													  NumericGetDatum(v->val.numeric)));
			return strlen(out) <= 32 ? out : numeric_out_sci(v->val.numeric, 3);
		case jbvString:
			initStringInfo(&s);
			len = pg_mbcliplen(v->val.string.val, v->val.string.len, 64);
			escape_json(&s, pnstrdup(v->val.string.val, len));
			if (len < v->val.string.len)
				appendStringInfoString(&s, "...");
			return s.data;
		default:
			return sr_jsonb_is_array(v) ? "an array" : "an object";
	}
}

/* ---------------------------------------------------------------- orders */

typedef struct OrderLine
{
	char	   *line_ref;
	char	   *sku;
	int64		qty;
	int			group;			/* index into the order's SKU groups */
	int64		left;			/* units not yet placed */
	SrLotReq	req;			/* products: min_shelf_days, lot_attrs */
} OrderLine;

/*
 * Lines of one SKU share its stock: the solver sees one line per SKU (per
 * SKU and lot requirement, for lot-tracked lines asking for lots apart).
 */
typedef struct SkuGroup
{
	char	   *sku;
	int64		qty;
	double		weight_kg;
	bool		found;
	SrLotReq	req;			/* products: the lines' lot requirement */
	SrItemRules rules;			/* products: hazmat, lots, region locks */
	int			min_shelf_days; /* products: line, customer or item, the most */
} SkuGroup;


typedef struct ShipTo
{
	bool		has_coords;
	double		lat;
	double		lon;
	char	   *country;
	char	   *region;
	char	   *postal_code;
} ShipTo;

typedef struct Order
{
	char	   *order_ref;
	ShipTo		ship_to;
	int			nlines;
	OrderLine  *lines;
	int			ngroups;
	SkuGroup   *groups;
	int		   *group_by_sku;	/* group indexes sorted by sku (strcmp) */
	char	   *profile;
	int			allow_partial;	/* -1 unset */
	int			ship_complete;	/* -1 unset */
	int			max_shipments;	/* -1 unset */
	bool		has_need_by;
	DateADT		need_by;
	SrRuleFacts facts;			/* what routing rules match on (src/rules.c) */
	/* ops: "fulfillment": "pickup" at pickup_node (src/operations.c) */
	bool		pickup;
	char	   *pickup_node;
	int			customer_min_shelf_days;	/* products: -1 none */
	bool		any_lot_tracked;	/* products: a group draws on lots */
	bool		any_hazmat;		/* products: a group is hazmat */
} Order;

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
	if (v->val.string.len > SR_MAX_IDENT_BYTES)	/* hostile input (issue 6) */
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
parse_ship_to(const JsonbValue *v, const char *what, ShipTo *st)
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
	const SkuGroup *groups = arg;
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
static int
find_sorted(const char *key, const int *order, int n,
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
static int
groups_of_sku(const Order *o, const char *sku, int *count)
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
parse_options(const JsonbValue *v, Order *o)
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
					 errhint("Options are allow_partial, ship_complete, max_shipments and need_by.")));
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
parse_fulfillment(JsonbContainer *root, Order *o)
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

static void
parse_order(Jsonb *doc, Order *o)
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
	parse_fulfillment(root, o);	/* ops */

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

	o->lines = palloc0(sizeof(OrderLine) * o->nlines);
	o->groups = palloc0(sizeof(SkuGroup) * o->nlines);
	for (i = 0; i < o->nlines; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);
		JsonbValue *q;
		OrderLine  *ln = &o->lines[i];
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
		ln->left = ln->qty;
		/* products: lines of one SKU asking for different lots are demands apart */
		sr_lot_req_parse(e->val.binary.data, i, &ln->req);

		for (j = 0; j < i; j++)
			if (strcmp(o->lines[j].line_ref, ln->line_ref) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_SR_DUPLICATE_LINE),
						 errmsg("order \"%s\" has more than one line with line_ref \"%s\"",
								o->order_ref, ln->line_ref)));
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

	o->group_by_sku = palloc(sizeof(int) * o->ngroups);
	for (i = 0; i < o->ngroups; i++)
		o->group_by_sku[i] = i;
	qsort_arg(o->group_by_sku, o->ngroups, sizeof(int), cmp_group_sku, o->groups);

	/* rules match on the destination and the SKU groups too */
	o->facts.country = o->ship_to.country;
	o->facts.nskus = o->ngroups;
	o->facts.skus = palloc(sizeof(char *) * o->ngroups);
	for (i = 0; i < o->ngroups; i++)
		o->facts.skus[i] = o->groups[i].sku;
}

/* ---------------------------------------------------------------- network */

typedef struct StockRow
{
	int			group;
	int64		on_hand;
	int64		reserved;
	int64		available;
	int64		balance_free;
	bool		allowed;
	double		unit_cost;
	int			cand;			/* index into the solver's candidates, or -1 */
	SrLotDemand *lots;			/* products: its share of the lots, lot-tracked only */
} StockRow;

typedef struct NetNode
{
	char	   *node_id;
	char	   *name;
	char	   *status;
	bool		has_coords;
	double		lat;
	double		lon;
	int			handling_days;
	bool		past_cutoff;
	DateADT		local_date;		/* the routing clock's date in the node's zone */
	unsigned	ship_weekdays;	/* SR_WEEKDAY_BIT mask */
	int			calendar;		/* index in the call's SrHolidays, or -1 */
	bool		hazmat_node;	/* products: tagged hazmat */
	char	   *country;		/* products: for ship_from_countries */
	int			part;			/* products: NODE_WHOLE, NODE_HAZMAT or NODE_GENERAL */
	int			whole;			/* products: index of the node's first part (itself if whole) */
	int			first_row;
	int			nrows;

	/* the cost model's verdict */
	bool		eligible;
	bool		costed;			/* a lane or the distance model applies */
	StringInfoData notes;		/* why lines or the node are excluded */
	const char *service;		/* lane service, NULL under the distance model */
	const char *mode;			/* lane mode, NULL under the distance model */
	double		weight_kg;		/* the weight the lane was chosen for */
	double		shipment_cost;
	double		days;			/* eta - the routing clock's date, >= 0 */
	DateADT		ship_date;
	DateADT		eta;
	const char *unroutable;		/* costed, but no ship date or ETA in the horizon */
	double		miles;
	double		distance_km;
	int			solver_node;	/* index in the solver's nodes, or -1 */
	bool		pickup_here;	/* ops: the pickup node of a pickup order */
} NetNode;

typedef struct Lane
{
	int			node;
	char	   *service;
	double		base_cost;
	double		per_kg;
	double		per_unit;
	int			transit_days;
	double		min_weight;
	double		max_weight;		/* < 0: none */
	int			level;			/* 3 postal prefix, 2 region, 1 country, 0 any */
	int			prefix_len;
	unsigned	transit_weekdays;	/* SR_WEEKDAY_BIT mask */
	int			calendar;		/* index in the call's SrHolidays, or -1: the node's */
	char	   *mode;			/* products: parcel, ltl, ftl, air, ... */
	bool		hazmat_ok;		/* products */
	bool		hazmat_separate;	/* products: hazmat lines ship apart */
} Lane;

typedef struct Profile
{
	char	   *name;
	int			version;
	bool		exclude_late;
	double		dist_fixed;
	double		dist_per_unit;
	double		dist_per_unit_mile;
	SrProfile	sr;
} Profile;

typedef struct Network
{
	int			nnodes;
	NetNode    *nodes;
	int		   *node_by_id;		/* node indexes sorted by node_id (strcmp) */
	int			nrows;
	StockRow   *rows;
	int			nlanes;
	Lane	   *lanes;
	int		   *lane_start;		/* per node, into lanes sorted by node */
	DateADT		today;			/* the routing clock's date (session TimeZone) */
	SrHolidays *holidays;		/* calendars of these nodes and lanes */
	SrLotSet   *lots;			/* products: free lots of lot-tracked SKUs */
} Network;

/*
 * products: a node whose hazmat lines must ship apart (its lane says
 * hazmat_separate) is two nodes for the solver, next to each other: its
 * hazmat lines, then the rest.  Each is a shipment of its own.
 */
#define NODE_WHOLE		0
#define NODE_HAZMAT		1
#define NODE_GENERAL	2

static SPIPlanPtr plan_profile = NULL;
static SPIPlanPtr plan_items = NULL;
static SPIPlanPtr plan_stock = NULL;
static SPIPlanPtr plan_lanes = NULL;
static bool plans_calendar_schema;	/* plan_stock, plan_lanes read the calendar columns */
static bool plans_products_schema;	/* plan_lanes reads hazmat_separate (0.2.0) */

static Datum
text_array(char **strs, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * (n > 0 ? n : 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(strs[i]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

static void
spi_check(int rc, int want, const char *what)
{
	if (rc != want)
		elog(ERROR, "stockroute: %s failed: %s", what, SPI_result_code_string(rc));
}

static Datum
col(HeapTuple tup, int attno, bool *isnull)
{
	return SPI_getbinval(tup, SPI_tuptable->tupdesc, attno, isnull);
}

static char *
col_text(HeapTuple tup, int attno)
{
	bool		isnull;
	Datum		d = col(tup, attno, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static double
col_float(HeapTuple tup, int attno)
{
	bool		isnull;
	Datum		d = col(tup, attno, &isnull);

	return isnull ? 0.0 : DatumGetFloat8(d);
}

static void
load_profile(const char *name, bool read_only, Profile *p)
{
	Datum		args[1];
	HeapTuple	t;
	bool		isnull;
	char	   *late_policy;

	if (plan_profile == NULL)
	{
		Oid			types[1] = {TEXTOID};

		plan_profile = sr_prepare_kept(
									   "SELECT version, w_cost, w_days, w_late, w_distance, w_balance,"
									   "       split_penalty, backorder_penalty, max_shipments,"
									   "       allow_partial, ship_complete, late_policy,"
									   "       dist_fixed, dist_per_unit, dist_per_unit_mile"
									   "  FROM stockroute.profile WHERE profile_name = $1",
									   1, types);
	}
	args[0] = CStringGetTextDatum(name);
	spi_check(SPI_execute_plan(plan_profile, args, NULL, read_only, 1), SPI_OK_SELECT,
			  "profile lookup");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SR_UNKNOWN_PROFILE),
				 errmsg("profile \"%s\" does not exist", name),
				 errhint("The shipped profiles are default, cheapest, fastest and closest.")));
	t = SPI_tuptable->vals[0];
	sr_profile_defaults(&p->sr);
	p->name = pstrdup(name);
	p->version = DatumGetInt32(col(t, 1, &isnull));
	p->sr.w_cost = col_float(t, 2);
	p->sr.w_days = col_float(t, 3);
	p->sr.w_late = col_float(t, 4);
	p->sr.w_distance = col_float(t, 5);
	p->sr.w_balance = col_float(t, 6);
	p->sr.split_penalty = col_float(t, 7);
	p->sr.backorder_penalty = col_float(t, 8);
	p->sr.max_shipments = DatumGetInt32(col(t, 9, &isnull));
	p->sr.allow_partial = DatumGetBool(col(t, 10, &isnull));
	p->sr.ship_complete = DatumGetBool(col(t, 11, &isnull));
	late_policy = col_text(t, 12);
	p->exclude_late = late_policy && strcmp(late_policy, "exclude") == 0;
	p->dist_fixed = col_float(t, 13);
	p->dist_per_unit = col_float(t, 14);
	p->dist_per_unit_mile = col_float(t, 15);
}

/* weight of each SKU group; unknown SKUs are an error */
static void
load_items(Order *o, bool read_only)
{
	char	  **skus = palloc(sizeof(char *) * o->ngroups);
	Datum		args[1];
	uint64		i;
	int			g;

	if (plan_items == NULL)
	{
		Oid			types[1] = {TEXTARRAYOID};

		plan_items = sr_prepare_kept(
									 "SELECT sku, weight_kg FROM stockroute.item WHERE sku = ANY ($1)",
									 1, types);
	}
	for (g = 0; g < o->ngroups; g++)
		skus[g] = o->groups[g].sku;
	args[0] = text_array(skus, o->ngroups);
	spi_check(SPI_execute_plan(plan_items, args, NULL, read_only, 0), SPI_OK_SELECT,
			  "item lookup");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		int			k;
		int			ng;

		k = groups_of_sku(o, col_text(t, 1), &ng);
		for (; ng > 0; ng--, k++)
		{
			g = o->group_by_sku[k];
			o->groups[g].found = true;
			o->groups[g].weight_kg = col_float(t, 2);
		}
	}
	for (g = 0; g < o->nlines; g++)
		if (!o->groups[o->lines[g].group].found)
			ereport(ERROR,
					(errcode(ERRCODE_SR_UNKNOWN_SKU),
					 errmsg("sku \"%s\" of line \"%s\" does not exist",
							o->lines[g].sku, o->lines[g].line_ref)));
}

/*
 * products: each group's product rules (src/products.c), the shelf life it
 * needs (the most of its lines', the customer's and the item's), and, with
 * check_order, the order's destination locks and lot requirements.
 */
static void
load_products(Order *o, bool read_only, bool check_order)
{
	char	  **skus = palloc(sizeof(char *) * o->ngroups);
	SrItemRules *rules = palloc(sizeof(SrItemRules) * o->ngroups);
	int			g;
	int			i;

	for (g = 0; g < o->ngroups; g++)
		skus[g] = o->groups[g].sku;
	sr_products_load_items(skus, o->ngroups, read_only, rules);
	for (g = 0; g < o->ngroups; g++)
	{
		SkuGroup   *gr = &o->groups[g];

		gr->rules = rules[g];
		gr->min_shelf_days = Max(gr->rules.min_shelf_days, 0);
		gr->min_shelf_days = Max(gr->min_shelf_days, gr->req.min_shelf_days);
		gr->min_shelf_days = Max(gr->min_shelf_days, o->customer_min_shelf_days);
		if (gr->rules.lot_tracked)
			o->any_lot_tracked = true;
		if (gr->rules.hazmat)
			o->any_hazmat = true;
	}
	if (!check_order)
		return;
	for (i = 0; i < o->nlines; i++)
	{
		OrderLine  *ln = &o->lines[i];
		SkuGroup   *gr = &o->groups[ln->group];

		sr_products_check_lot_req(&gr->rules, &ln->req, ln->sku, ln->line_ref);
		sr_products_check_destination(&gr->rules, ln->sku, ln->line_ref,
									  o->ship_to.country, o->ship_to.region);
	}
}

static int
cmp_node_id(const void *a, const void *b, void *arg)
{
	const NetNode *nodes = arg;

	return strcmp(nodes[*(const int *) a].node_id, nodes[*(const int *) b].node_id);
}

static const char *
node_name(const void *arg, int i)
{
	return ((const Network *) arg)->nodes[i].node_id;
}

static int
find_node(const Network *net, const char *node_id)
{
	return find_sorted(node_id, net->node_by_id, net->nnodes, node_name, net);
}

/*
 * Every stock row of the order's SKUs with its node, in (node_id, sku)
 * order, then the lanes of those nodes that match the destination.
 */
static void
load_network(Order *o, TimestampTz now, bool read_only, Network *net)
{
	char	  **skus = palloc(sizeof(char *) * o->ngroups);
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	uint64		i;
	int			g;
	int			n;
	int			per_row;

	/* products: hazmat_separate exists from 0.2.0 on (see sr_products_schema) */
	if (plan_lanes != NULL && sr_products_schema() != plans_products_schema)
	{
		SPI_freeplan(plan_lanes);
		plan_lanes = NULL;
	}
	/* the calendar columns exist from 0.2.0 on (see sr_calendar_schema) */
	if (plan_stock != NULL && sr_calendar_schema() != plans_calendar_schema)
	{
		SPI_freeplan(plan_stock);
		plan_stock = NULL;
		if (plan_lanes != NULL)
			SPI_freeplan(plan_lanes);
		plan_lanes = NULL;
	}
	if (plan_stock == NULL)
	{
		Oid			types[2] = {TEXTARRAYOID, TIMESTAMPTZOID};

		plans_calendar_schema = sr_calendar_schema();
		plan_stock = sr_prepare_kept(psprintf(
									 "SELECT s.node_id, s.sku, s.on_hand, s.reserved, s.available,"
									 "       s.reorder_point, n.name,"
									 /* a stale node (no event for stale_after) drops out like an inactive one */
									 "       CASE WHEN n.status = 'active' AND n.stale THEN 'stale' ELSE n.status END,"
									 "       n.lat, n.lon, n.handling_days,"
									 "       n.cutoff IS NOT NULL AND"
									 "       (($2 AT TIME ZONE n.timezone)::time > n.cutoff),"
									 "       i.allowed_nodes IS NULL OR s.node_id = ANY (i.allowed_nodes),"
									 "       n.timezone, %s,"
									 /* products: hazmat nodes, origin countries */
									 "       'hazmat' = ANY (n.tags), n.country"
									 "  FROM stockroute.stock s"
									 "  JOIN stockroute.node n ON n.node_id = s.node_id"
									 "  JOIN stockroute.item i ON i.sku = s.sku"
									 " WHERE s.sku = ANY ($1)"
									 " ORDER BY s.node_id, s.sku",
									 sr_calendar_columns(plans_calendar_schema, "n", "ship_weekdays")),
									 2, types);
	}
	for (g = 0; g < o->ngroups; g++)
		skus[g] = o->groups[g].sku;
	args[0] = text_array(skus, o->ngroups);
	args[1] = TimestampTzGetDatum(now);
	spi_check(SPI_execute_plan(plan_stock, args, NULL, read_only, 0), SPI_OK_SELECT,
			  "stock lookup");

	memset(net, 0, sizeof(*net));
	net->today = DatumGetDateADT(DirectFunctionCall1(timestamptz_date, TimestampTzGetDatum(now)));
	net->holidays = sr_holidays_create(net->today, read_only);
	/* products: a stock row is one row per group of its SKU; most SKUs have one */
	per_row = 1;
	for (g = 0; g < o->ngroups; g++)
	{
		int			ng;

		(void) groups_of_sku(o, o->groups[g].sku, &ng);
		per_row = Max(per_row, ng);
	}
	net->rows = palloc0(sizeof(StockRow) * (SPI_processed > 0 ? SPI_processed : 1) * per_row);
	net->nodes = palloc0(sizeof(NetNode) * (SPI_processed > 0 ? SPI_processed : 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		char	   *node_id = col_text(t, 1);
		StockRow   *r = &net->rows[net->nrows];
		NetNode    *nd;
		bool		isnull;
		int64		reorder;
		int			k;
		int			ng;

		if (net->nnodes == 0 || strcmp(net->nodes[net->nnodes - 1].node_id, node_id) != 0)
		{
			nd = &net->nodes[net->nnodes++];
			nd->node_id = node_id;
			nd->name = col_text(t, 7);
			nd->status = col_text(t, 8);
			(void) col(t, 9, &isnull);
			nd->has_coords = !isnull;
			nd->lat = col_float(t, 9);
			nd->lon = col_float(t, 10);
			nd->handling_days = DatumGetInt32(col(t, 11, &isnull));
			nd->past_cutoff = DatumGetBool(col(t, 12, &isnull));
			nd->local_date = sr_local_date(now, col_text(t, 14));
			nd->ship_weekdays = sr_weekdays_mask(col(t, 15, &isnull));
			nd->calendar = sr_holidays_add(net->holidays, col_text(t, 16));
			nd->hazmat_node = DatumGetBool(col(t, 17, &isnull)) && !isnull;
			nd->country = col_text(t, 18);
			nd->whole = net->nnodes - 1;
			nd->first_row = net->nrows;
			nd->solver_node = -1;
			initStringInfo(&nd->notes);
		}
		nd = &net->nodes[net->nnodes - 1];
		k = groups_of_sku(o, col_text(t, 2), &ng);
		r->group = ng > 0 ? o->group_by_sku[k] : -1;
		r->on_hand = DatumGetInt64(col(t, 3, &isnull));
		r->reserved = DatumGetInt64(col(t, 4, &isnull));
		r->available = DatumGetInt64(col(t, 5, &isnull));
		/* ---- hook: stock overlay of simulate()/replay()/preemption (src/simulate.c) ---- */
		if (sr_available_hook != NULL)
			r->available = sr_available_hook(node_id, o->groups[r->group].sku, r->available);
		reorder = DatumGetInt64(col(t, 6, &isnull));
		r->balance_free = r->available > reorder ? r->available - reorder : 0;
		r->allowed = DatumGetBool(col(t, 13, &isnull));
		r->cand = -1;
		nd->nrows++;
		net->nrows++;
		/* products: the same stock row for the SKU's other groups */
		for (ng--, k++; ng > 0; ng--, k++)
		{
			net->rows[net->nrows] = *r;
			r = &net->rows[net->nrows];
			r->group = o->group_by_sku[k];
			nd->nrows++;
			net->nrows++;
		}
	}

	net->node_by_id = palloc(sizeof(int) * (net->nnodes > 0 ? net->nnodes : 1));
	for (n = 0; n < net->nnodes; n++)
		net->node_by_id[n] = n;
	qsort_arg(net->node_by_id, net->nnodes, sizeof(int), cmp_node_id, net->nodes);

	/* lanes */
	net->lane_start = palloc0(sizeof(int) * (net->nnodes + 1));
	if (net->nnodes == 0)
		return;
	if (plan_lanes == NULL)
	{
		Oid			types[4] = {TEXTARRAYOID, TEXTOID, TEXTOID, TEXTOID};

		plans_products_schema = sr_products_schema();
		plan_lanes = sr_prepare_kept(psprintf(
									 "SELECT l.node_id, l.service, l.base_cost, l.per_kg, l.per_unit,"
									 "       l.transit_days, l.min_weight_kg, l.max_weight_kg,"
									 "       CASE WHEN l.postal_prefix IS NOT NULL THEN 3"
									 "            WHEN l.region IS NOT NULL THEN 2"
									 "            WHEN l.country IS NOT NULL THEN 1 ELSE 0 END,"
									 "       coalesce(pg_catalog.length(l.postal_prefix), 0),"
									 "       %s,"
									 /* products: mode, hazmat_ok, hazmat_separate */
									 "       %s"
									 "  FROM stockroute.lane l"
									 " WHERE l.node_id = ANY ($1)"
									 "   AND (l.country IS NULL OR l.country = $2)"
									 "   AND (l.region IS NULL OR l.region = $3)"
									 "   AND (l.postal_prefix IS NULL"
									 "        OR pg_catalog.starts_with($4, l.postal_prefix))"
									 " ORDER BY l.lane_id",
									 sr_calendar_columns(plans_calendar_schema, "l", "transit_weekdays"),
									 sr_products_lane_columns(plans_products_schema, "l")),
									 4, types);
	}
	{
		char	  **ids = palloc(sizeof(char *) * net->nnodes);

		for (n = 0; n < net->nnodes; n++)
			ids[n] = net->nodes[n].node_id;
		args[0] = text_array(ids, net->nnodes);
	}
	args[1] = o->ship_to.country ? CStringGetTextDatum(o->ship_to.country) : (Datum) 0;
	nulls[1] = o->ship_to.country ? ' ' : 'n';
	args[2] = o->ship_to.region ? CStringGetTextDatum(o->ship_to.region) : (Datum) 0;
	nulls[2] = o->ship_to.region ? ' ' : 'n';
	args[3] = o->ship_to.postal_code ? CStringGetTextDatum(o->ship_to.postal_code) : (Datum) 0;
	nulls[3] = o->ship_to.postal_code ? ' ' : 'n';
	spi_check(SPI_execute_plan(plan_lanes, args, nulls, read_only, 0), SPI_OK_SELECT,
			  "lane lookup");

	{
		Lane	   *tmp = palloc0(sizeof(Lane) * (SPI_processed > 0 ? SPI_processed : 1));
		int		   *fill;

		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	t = SPI_tuptable->vals[i];
			Lane	   *l = &tmp[i];
			bool		isnull;
			Datum		d;

			l->node = find_node(net, col_text(t, 1));
			l->service = col_text(t, 2);
			l->base_cost = col_float(t, 3);
			l->per_kg = col_float(t, 4);
			l->per_unit = col_float(t, 5);
			l->transit_days = DatumGetInt32(col(t, 6, &isnull));
			l->min_weight = col_float(t, 7);
			d = col(t, 8, &isnull);
			l->max_weight = isnull ? -1.0 : DatumGetFloat8(d);
			l->level = DatumGetInt32(col(t, 9, &isnull));
			l->prefix_len = DatumGetInt32(col(t, 10, &isnull));
			l->transit_weekdays = sr_weekdays_mask(col(t, 11, &isnull));
			l->calendar = sr_holidays_add(net->holidays, col_text(t, 12));
			l->mode = col_text(t, 13);
			l->hazmat_ok = DatumGetBool(col(t, 14, &isnull));
			l->hazmat_separate = DatumGetBool(col(t, 15, &isnull));
			if (l->node >= 0)
				net->lane_start[l->node + 1]++;
		}
		for (n = 0; n < net->nnodes; n++)
			net->lane_start[n + 1] += net->lane_start[n];
		/* bucket by node, keeping lane_id order within a node */
		net->lanes = palloc0(sizeof(Lane) * (SPI_processed > 0 ? SPI_processed : 1));
		fill = palloc0(sizeof(int) * net->nnodes);
		for (i = 0; i < SPI_processed; i++)
			if (tmp[i].node >= 0)
				net->lanes[net->lane_start[tmp[i].node] + fill[tmp[i].node]++] = tmp[i];
		net->nlanes = net->lane_start[net->nnodes];
	}
}

static double
haversine_km(double lat1, double lon1, double lat2, double lon2)
{
	double		p1 = lat1 * M_PI / 180.0;
	double		p2 = lat2 * M_PI / 180.0;
	double		dp = (lat2 - lat1) * M_PI / 180.0;
	double		dl = (lon2 - lon1) * M_PI / 180.0;
	double		a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);

	if (a > 1.0)
		a = 1.0;
	return 2.0 * EARTH_RADIUS_KM * asin(sqrt(a));
}

static void
set_distance(const Order *o, NetNode *nd)
{
	if (nd->has_coords && o->ship_to.has_coords)
	{
		nd->distance_km = haversine_km(nd->lat, nd->lon, o->ship_to.lat, o->ship_to.lon);
		nd->miles = nd->distance_km / KM_PER_MILE;
	}
}

static void
add_note(NetNode *nd, const char *fmt, const char *arg)
{
	if (nd->notes.len > 0)
		appendStringInfoString(&nd->notes, "; ");
	appendStringInfo(&nd->notes, fmt, arg);
}

/*
 * Ship date, ETA and days of a costed node (src/holiday.c, src/calendar.c):
 * the node's shipping days and calendar, then transit days on the carrier's
 * weekdays and calendar (the lane's, else the node's).
 */
static void
set_eta(const Network *net, NetNode *nd, int transit_days, unsigned transit_weekdays,
		int transit_calendar)
{
	SrEtaRequest rq;

	rq.order_day = nd->local_date;
	rq.past_cutoff = nd->past_cutoff;
	rq.handling_days = nd->handling_days;
	rq.ship_weekdays = nd->ship_weekdays;
	rq.ship_calendar = nd->calendar;
	rq.transit_days = transit_days;
	rq.transit_weekdays = transit_weekdays;
	rq.transit_calendar = transit_calendar >= 0 ? transit_calendar : nd->calendar;
	nd->unroutable = NULL;
	switch (sr_holidays_eta(net->holidays, &rq, &nd->ship_date, &nd->eta))
	{
		case SR_ETA_OK:
			/* a node whose local date is behind the clock's can deliver "yesterday" */
			nd->days = nd->eta > net->today ? (double) (nd->eta - net->today) : 0.0;
			break;
		case SR_ETA_NO_SHIP_DAY:
			nd->unroutable = psprintf("unroutable: no shipping day within %d days",
									  SR_CALENDAR_HORIZON_DAYS);
			break;
		case SR_ETA_NO_DELIVERY_DAY:
			nd->unroutable = psprintf("unroutable: no delivery day within %d days",
									  SR_CALENDAR_HORIZON_DAYS);
			break;
	}
}

/*
 * products: may lane l carry a shipment holding hazmat lines (hazmat) and
 * other lines (general)?  Hazmat needs a lane that carries it (hazmat_ok and
 * not by air); hazmat with other lines needs one that does not ask for the
 * hazmat lines to travel apart (hazmat_separate).
 */
static bool
lane_fits(const Lane *l, bool hazmat, bool general)
{
	if (!hazmat)
		return true;
	if (!sr_lane_carries_hazmat(l->mode, l->hazmat_ok))
		return false;
	return !(general && l->hazmat_separate);
}

/* Units of row i in a shipment: units[] if given, else the most node n could ship. */
static int64
row_units(const Order *o, const Network *net, int n, int i, const int64 *units)
{
	const StockRow *r = &net->rows[i];

	if (units)
		return units[i - net->nodes[n].first_row];
	return r->cand >= 0 ? Min(r->available, o->groups[r->group].qty) : 0;
}

/* products: does a shipment of units (NULL: the candidate rows) hold hazmat lines, other lines? */
static void
shipment_content(const Order *o, const Network *net, int n, const int64 *units,
				 bool *hazmat, bool *general)
{
	const NetNode *nd = &net->nodes[n];
	int			i;

	*hazmat = *general = false;
	for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
		if (row_units(o, net, n, i, units) > 0)
		{
			if (o->groups[net->rows[i].group].rules.hazmat)
				*hazmat = true;
			else
				*general = true;
		}
}

/*
 * The lane for a shipment from node n of `units` per row (NULL: estimated as
 * the most the node could ship of each candidate row): the most specific
 * lane matching the destination whose weight bracket holds the shipment's
 * weight and that may carry its content (lane_fits), the cheapest for the
 * shipment among equally specific ones, then the fewest transit days.
 * *matched says whether any lane matched the destination and the weight at
 * all, whatever it may carry; *weight gets the shipment's weight.
 */
static const Lane *
pick_lane(const Order *o, const Network *net, int n, const int64 *units,
		  bool hazmat, bool general, bool *matched, double *weight)
{
	const NetNode *nd = &net->nodes[n];
	const Lane *best = NULL;
	double		best_cost = 0.0;
	int			i;

	*weight = 0.0;
	for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
		*weight += (double) row_units(o, net, n, i, units) *
			o->groups[net->rows[i].group].weight_kg;

	*matched = false;
	for (i = net->lane_start[n]; i < net->lane_start[n + 1]; i++)
	{
		const Lane *l = &net->lanes[i];
		double		est;
		int			k;

		if (*weight < l->min_weight || (l->max_weight >= 0 && *weight > l->max_weight))
			continue;
		*matched = true;
		if (!lane_fits(l, hazmat, general))
			continue;
		est = l->base_cost;
		for (k = nd->first_row; k < nd->first_row + nd->nrows; k++)
			est += (double) row_units(o, net, n, k, units) *
				(l->per_unit + l->per_kg * o->groups[net->rows[k].group].weight_kg);
		if (best == NULL ||
			l->level > best->level ||
			(l->level == best->level && l->prefix_len > best->prefix_len) ||
			(l->level == best->level && l->prefix_len == best->prefix_len &&
			 (est < best_cost ||
			  (est == best_cost && l->transit_days < best->transit_days))))
		{
			best = l;
			best_cost = est;
		}
	}
	return best;
}

/*
 * Cost one node for a shipment of `units` per row (NULL: estimated from the
 * most it could ship of each candidate row, which picks the lane's weight
 * bracket): the lane or distance model, then its ship date and ETA.  A
 * hazmat shipment takes the distance model (as ground) only where no lane
 * matches at all; where lanes match but none may carry it, the estimate
 * drops the hazmat rows from the candidates (with a note) and costs the
 * rest, and a shipment of given units is left uncosted.
 */
static void
cost_node_units(const Order *o, const Profile *prof, Network *net, int n,
				const int64 *units)
{
	NetNode    *nd = &net->nodes[n];
	const Lane *best;
	bool		matched;
	bool		hazmat;
	bool		general;
	int			transit_days = 0;
	unsigned	transit_weekdays = SR_WEEKDAYS_MON_FRI;
	int			transit_calendar = -1;
	int			i;

	nd->costed = false;
	nd->service = NULL;
	nd->mode = NULL;
	nd->shipment_cost = 0.0;
	nd->days = 0.0;
	shipment_content(o, net, n, units, &hazmat, &general);
	best = pick_lane(o, net, n, units, hazmat, general, &matched, &nd->weight_kg);
	if (best == NULL && matched && hazmat && units == NULL)
	{
		/* products: no lane here may carry the hazmat lines; the rest may ship */
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
		{
			StockRow   *r = &net->rows[i];

			if (r->cand < 0 || !o->groups[r->group].rules.hazmat)
				continue;
			r->cand = -1;
			add_note(nd, "sku %s is hazmat and no lane to the destination may carry it",
					 o->groups[r->group].sku);
		}
		if (!general)
			return;
		best = pick_lane(o, net, n, units, false, true, &matched, &nd->weight_kg);
	}

	set_distance(o, nd);
	if (best)
	{
		nd->costed = true;
		nd->service = best->service;
		nd->mode = best->mode;
		nd->shipment_cost = best->base_cost;
		transit_days = best->transit_days;
		transit_weekdays = best->transit_weekdays;
		transit_calendar = best->calendar;
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
			net->rows[i].unit_cost = best->per_unit +
				best->per_kg * o->groups[net->rows[i].group].weight_kg;
	}
	else if (!matched && nd->has_coords && o->ship_to.has_coords)
	{
		nd->costed = true;
		nd->shipment_cost = prof->dist_fixed;
		/* ground parcel: business days, the node's calendar */
		transit_days = (int) ceil(nd->miles / MILES_PER_DAY);
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
			net->rows[i].unit_cost = prof->dist_per_unit + prof->dist_per_unit_mile * nd->miles;
	}
	if (nd->costed)
		set_eta(net, nd, transit_days, transit_weekdays, transit_calendar);
}

/* Cost one node from the most it could ship (see cost_node_units). */
static void
cost_node(const Order *o, const Profile *prof, Network *net, int n)
{
	cost_node_units(o, prof, net, n, NULL);
}

/*
 * products: share the free lots of row i's SKU at node n among the order's
 * demands on it (the rows from i on with that SKU, one per group).
 */
static void
share_lots(const Order *o, Network *net, int n, int i, DateADT today)
{
	NetNode    *nd = &net->nodes[n];
	const char *sku = o->groups[net->rows[i].group].sku;
	int			end;
	int			k;
	SrLotDemand **d;

	for (end = i; end < nd->first_row + nd->nrows &&
		 strcmp(o->groups[net->rows[end].group].sku, sku) == 0; end++)
		;
	d = palloc(sizeof(SrLotDemand *) * (end - i));
	for (k = i; k < end; k++)
	{
		StockRow   *r = &net->rows[k];
		const SkuGroup *g = &o->groups[r->group];

		r->lots = palloc0(sizeof(SrLotDemand));
		r->lots->qty = g->qty;
		r->lots->min_shelf_days = g->min_shelf_days;
		r->lots->attrs = g->req.attrs;
		d[k - i] = r->lots;
	}
	sr_lots_share(net->lots, nd->node_id, sku, net->rows[i].available, today, d, end - i);
}

/*
 * products: split the nodes whose hazmat lines must ship apart.  A node
 * that may ship both hazmat and other SKUs of the order becomes two nodes,
 * its hazmat rows (NODE_HAZMAT) and, right after, its other rows
 * (NODE_GENERAL), when the lane that would carry its whole estimated
 * shipment as hazmat asks for hazmat apart (hazmat_separate).  Each part is
 * then costed, chosen and reported as a shipment of its own; both keep the
 * node's lanes.  Decided once per plan, before costing, from the rows the
 * node may ship at all (active, allowed, product rules, stock).
 */
static void
split_hazmat_nodes(const Order *o, Network *net)
{
	bool	   *split;
	int			nsplit = 0;
	int			nlanes_added = 0;
	NetNode    *nodes;
	StockRow   *rows;
	Lane	   *lanes;
	int		   *lane_start;
	int			m = 0;
	int			nr = 0;
	int			nl = 0;
	int			n;
	int			i;

	if (!o->any_hazmat || net->nnodes == 0)
		return;
	split = palloc0(sizeof(bool) * net->nnodes);
	for (n = 0; n < net->nnodes; n++)
	{
		NetNode    *nd = &net->nodes[n];
		int64	   *units = palloc0(sizeof(int64) * (nd->nrows > 0 ? nd->nrows : 1));
		bool		hazmat = false;
		bool		general = false;
		bool		matched;
		double		weight;
		const Lane *l;

		if (strcmp(nd->status, "active") != 0)
			continue;
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
		{
			StockRow   *r = &net->rows[i];
			const SkuGroup *g = &o->groups[r->group];

			if (!r->allowed || r->available <= 0 ||
				sr_products_node_excludes(&g->rules, g->sku, nd->hazmat_node, nd->country))
				continue;
			units[i - nd->first_row] = Min(r->available, g->qty);
			if (g->rules.hazmat)
				hazmat = true;
			else
				general = true;
		}
		if (!hazmat || !general)
			continue;
		l = pick_lane(o, net, n, units, true, false, &matched, &weight);
		if (l != NULL && l->hazmat_separate)
		{
			split[n] = true;
			nsplit++;
			nlanes_added += net->lane_start[n + 1] - net->lane_start[n];
		}
	}
	if (nsplit == 0)
		return;

	nodes = palloc0(sizeof(NetNode) * (net->nnodes + nsplit));
	rows = palloc0(sizeof(StockRow) * (net->nrows > 0 ? net->nrows : 1));
	lanes = palloc0(sizeof(Lane) * (net->nlanes + nlanes_added + 1));
	lane_start = palloc0(sizeof(int) * (net->nnodes + nsplit + 1));
	for (n = 0; n < net->nnodes; n++)
	{
		int			part;
		int			whole = m;

		for (part = 0; part < (split[n] ? 2 : 1); part++)
		{
			NetNode    *dst = &nodes[m];

			*dst = net->nodes[n];
			dst->whole = whole;
			if (split[n])
			{
				dst->part = part == 0 ? NODE_HAZMAT : NODE_GENERAL;
				if (part == 1)
					initStringInfo(&dst->notes);
			}
			dst->first_row = nr;
			dst->nrows = 0;
			for (i = net->nodes[n].first_row;
				 i < net->nodes[n].first_row + net->nodes[n].nrows; i++)
				if (!split[n] || (part == 0) == o->groups[net->rows[i].group].rules.hazmat)
				{
					rows[nr++] = net->rows[i];
					dst->nrows++;
				}
			for (i = net->lane_start[n]; i < net->lane_start[n + 1]; i++)
			{
				lanes[nl] = net->lanes[i];
				lanes[nl++].node = m;
			}
			lane_start[m + 1] = nl;
			m++;
		}
	}
	net->nodes = nodes;
	net->nnodes = m;
	net->rows = rows;
	net->lanes = lanes;
	net->nlanes = nl;
	net->lane_start = lane_start;
	net->node_by_id = palloc(sizeof(int) * m);
	for (n = 0; n < m; n++)
		net->node_by_id[n] = n;
	qsort_arg(net->node_by_id, m, sizeof(int), cmp_node_id, net->nodes);
}

/* the part of a node in explain and shipments: "hazmat", "general" */
static const char *
part_name(const NetNode *nd)
{
	return nd->part == NODE_HAZMAT ? "hazmat" : nd->part == NODE_GENERAL ? "general" : NULL;
}

/* ---------------------------------------------------------------- planning */

typedef struct ShipLine
{
	int			node;			/* network node */
	int			line;			/* order line */
	int64		qty;
} ShipLine;

static int
cmp_ship_line(const void *a, const void *b)
{
	const ShipLine *x = a;
	const ShipLine *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return 0;
}

/* YYYY-MM-DD */
static void
append_iso_date(StringInfo buf, DateADT d)
{
	int			y,
				m,
				dd;

	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
	appendStringInfo(buf, "%04d-%02d-%02d", y, m, dd);
}

/* a JSON string "YYYY-MM-DD" */
static void
append_date(StringInfo buf, DateADT d)
{
	appendStringInfoChar(buf, '"');
	append_iso_date(buf, d);
	appendStringInfoChar(buf, '"');
}

/* Why an eligible node ships nothing, as far as the plan's shape tells. */
static void
not_chosen_reason(StringInfo why, const Order *o, const Network *net, int n,
				  const SrProfile *p, SrStatus status)
{
	const NetNode *nd = &net->nodes[n];
	bool		partial = p->allow_partial && !p->ship_complete;

	if (status == SR_UNFILLABLE && !partial)
	{
		appendStringInfoString(why, "not chosen: the order cannot be filled in full");
		if (p->ship_complete)
			appendStringInfoString(why, " from one node");
		else if (p->max_shipments > 0)
			appendStringInfo(why, " in %d shipment%s", p->max_shipments,
							 p->max_shipments == 1 ? "" : "s");
		appendStringInfoString(why, " and partial shipments are not allowed");
		return;
	}
	if (status == SR_UNFILLABLE)
	{
		appendStringInfoString(why, "not chosen: backordering scores better than shipping");
		return;
	}
	if (p->ship_complete)
	{
		int			g;

		for (g = 0; g < o->ngroups; g++)
		{
			int			i;
			bool		covered = false;

			for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
				if (net->rows[i].group == g && net->rows[i].cand >= 0 &&
					net->rows[i].available >= o->groups[g].qty)
					covered = true;
			if (!covered)
			{
				appendStringInfo(why, "not chosen: cannot ship the whole order alone (ship_complete): short of sku %s",
								 o->groups[g].sku);
				return;
			}
		}
	}
	appendStringInfoString(why, "not chosen: the plan scores better without it");
}

/* ---------------------------------------------------------------- operations
 *
 * Hooks for capacity, rejections and pickup (read by src/operations.c).
 * They work on this file's Order and Network, so they live here; their call
 * sites in sr_plan_order are marked "ops:".
 */

typedef struct Ops
{
	SrOrderOps	o;				/* per network node */
	SrPickupNode pk;			/* a pickup order's pickup node */
	int64	   *units_left;		/* per network node: what capacity leaves today */
	bool	   *capped;			/* per network node: capacity cut its stock rows */
} Ops;

/* A pickup order is routed to its pickup node's location. */
static void
ops_pickup_destination(Order *o, bool read_only, Ops *ops)
{
	SrPickupNode *pk = &ops->pk;

	sr_pickup_node_read(o->pickup_node, read_only, pk);
	memset(&o->ship_to, 0, sizeof(o->ship_to));
	o->ship_to.has_coords = pk->has_coords;
	o->ship_to.lat = pk->lat;
	o->ship_to.lon = pk->lon;
	o->ship_to.country = pk->country;
	o->ship_to.region = pk->region;
	o->ship_to.postal_code = pk->postal_code;
	o->facts.country = o->ship_to.country;
}

static void
ops_load(const Order *o, const Network *net, TimestampTz now, bool read_only, Ops *ops)
{
	char	  **ids = palloc(sizeof(char *) * (net->nnodes > 0 ? net->nnodes : 1));
	int			n;

	for (n = 0; n < net->nnodes; n++)
		ids[n] = net->nodes[n].node_id;
	sr_ops_read(o->order_ref, o->profile, net->nnodes, ids, now, read_only, &ops->o);
	ops->units_left = palloc(sizeof(int64) * (net->nnodes > 0 ? net->nnodes : 1));
	ops->capped = palloc0(sizeof(bool) * (net->nnodes > 0 ? net->nnodes : 1));
	for (n = 0; n < net->nnodes; n++)
		ops->units_left[n] = sr_capacity_units_left(&ops->o.nodes[n]);
}

/*
 * Whether an active node may serve the order at all; if not, its notes say
 * why.  A pickup order takes units from its pickup node, and from others
 * only by transfer to it where the profile allows; a node that rejected the
 * order is not used for it; a node at its daily limit takes no new order.
 */
static bool
ops_admit(const Order *o, const Ops *ops, NetNode *nd, int n)
{
	const SrNodeOps *no = &ops->o.nodes[n];

	if (o->pickup)
	{
		nd->pickup_here = strcmp(nd->node_id, o->pickup_node) == 0;
		if (!nd->pickup_here && strcmp(ops->pk.status, "active") != 0)
		{
			appendStringInfo(&nd->notes, "pickup node %s is %s", o->pickup_node, ops->pk.status);
			return false;
		}
		if (!nd->pickup_here && !ops->o.allow_pickup_transfer)
		{
			appendStringInfo(&nd->notes, "pickup at %s: transfers are off in profile %s (allow_pickup_transfer)",
							 o->pickup_node, o->profile);
			return false;
		}
	}
	if (no->exclusion != NULL)
	{
		appendStringInfo(&nd->notes, "rejected by node: %s", no->exclusion);
		return false;
	}
	return !sr_capacity_full(no, &nd->notes);
}

/*
 * Cut a stock row to the units its node may still be given today, in the
 * order of its rows (sku); false when none are left for it.
 */
static bool
ops_cap_row(const Order *o, Ops *ops, NetNode *nd, int n, StockRow *r)
{
	/* products: the hazmat and general parts of a node share its capacity */
	int64	   *left = &ops->units_left[nd->whole];
	int64		take = Min(r->available, o->groups[r->group].qty);

	n = nd->whole;
	if (take > *left)
	{
		if (!ops->capped[n])
		{
			const SrNodeOps *no = &ops->o.nodes[n];

			if (nd->notes.len > 0)
				appendStringInfoString(&nd->notes, "; ");
			appendStringInfo(&nd->notes, "capacity: " INT64_FORMAT "/" INT64_FORMAT " units today",
							 no->units, no->unit_limit);
			ops->capped[n] = true;
		}
		r->available = take = *left;
	}
	*left -= take;
	return r->available > 0;
}

/*
 * The pickup node hands over its own units after its handling time (its
 * shipping days and calendar, no transit), with no freight; a transfer to
 * it needs the pickup node's handling days (calendar days) on top of its
 * own ETA, to receive and shelve what arrives.
 */
static void
ops_pickup_cost(const Ops *ops, Network *net, int n)
{
	NetNode    *nd = &net->nodes[n];
	int			i;

	if (nd->pickup_here)
	{
		nd->costed = true;
		nd->service = NULL;
		nd->mode = NULL;		/* products */
		nd->shipment_cost = 0.0;
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
			net->rows[i].unit_cost = 0.0;
		set_eta(net, nd, 0, SR_WEEKDAYS_MON_FRI, -1);
	}
	else if (nd->costed && nd->unroutable == NULL)
	{
		nd->eta += ops->pk.handling_days;
		nd->days += ops->pk.handling_days;
	}
}

/* Why a pickup order's line stays unfilled. */
static char *
ops_unfilled_reason(const Order *o, const Ops *ops)
{
	if (strcmp(ops->pk.status, "active") != 0)
		return psprintf("pickup node %s is %s", o->pickup_node, ops->pk.status);
	if (!ops->o.allow_pickup_transfer)
		return psprintf("pickup node %s cannot provide it and transfers are off in profile %s",
						o->pickup_node, o->profile);
	return psprintf("neither pickup node %s nor a transfer to it can provide it", o->pickup_node);
}

/* A node's daily limits and today's load, for explain.candidates. */
static void
ops_json_load(StringInfo b, const SrNodeOps *no)
{
	appendStringInfo(b, ",\"load\":{\"orders\":" INT64_FORMAT ",\"units\":" INT64_FORMAT,
					 no->orders, no->units);
	if (no->order_limit >= 0)
		appendStringInfo(b, ",\"daily_order_limit\":" INT64_FORMAT, no->order_limit);
	if (no->unit_limit >= 0)
		appendStringInfo(b, ",\"daily_unit_limit\":" INT64_FORMAT, no->unit_limit);
	appendStringInfoChar(b, '}');
}

/* ---------------------------------------------------------------- products
 *
 * Product rules in planning (src/products.c has the rules themselves): a
 * lot-tracked row's share of its lots, and the re-cost of the nodes a plan
 * uses at the weights they really ship.  Call sites in plan_order are marked
 * "products:".
 */

/*
 * A lot-tracked row may give its share of the node's eligible lots (shared
 * out over the order's demands on the SKU at the first of its rows): its
 * available becomes that share; false, with the reason noted, when nothing.
 */
static bool
take_lot_share(const Order *o, Network *net, int n, int i, DateADT today)
{
	StockRow   *r = &net->rows[i];
	const SkuGroup *gr = &o->groups[r->group];
	char	   *why;

	if (r->lots == NULL)
		share_lots(o, net, n, i, today);
	if ((why = sr_lots_note(r->lots, gr->sku)) != NULL)
		add_note(&net->nodes[n], "%s", why);
	r->available = r->lots->share;
	return r->available > 0;
}

/* the unit cost the problem gives (line, node) */
static double
cands_unit_cost(const SrProblem *prob, int line, int node)
{
	int			c;

	for (c = 0; c < prob->ncands; c++)
		if (prob->cands[c].line == line && prob->cands[c].node == node)
			return prob->cands[c].unit_cost;
	return 0.0;
}

/*
 * Re-cost the nodes a solution uses with the weights they really ship (the
 * estimate took the most each could ship, which may sit in another weight
 * bracket: parcel, LTL, FTL).  A node whose lane changes takes the new
 * lane's costs, in the network and in the solver's problem (moved by the
 * change, so a rule's discount on the node stays as it was); a node no lane
 * may carry at its real weight keeps its estimate, and a pickup node's own
 * handover has no lane.  When anything changed, the result's terms and score
 * are recomputed for the new costs, as the solver scores them.  Returns
 * whether anything changed.
 */
static bool
reprice_plan(const Order *o, const Profile *prof, Network *net, const Ops *ops,
			 SrProblem *prob, SrNode *snodes, SrCand *cands, const int *node_of_solver,
			 SrResult *res)
{
	bool		changed = false;
	bool	   *open = palloc0(sizeof(bool) * (prob->nnodes > 0 ? prob->nnodes : 1));
	int			s;
	int			a;

	for (a = 0; a < res->nallocs; a++)
		open[res->allocs[a].node] = true;
	for (s = 0; s < prob->nnodes; s++)
	{
		int			n = node_of_solver[s];
		NetNode    *nd = &net->nodes[n];
		NetNode		saved = *nd;
		double	   *saved_cost = palloc(sizeof(double) * (nd->nrows > 0 ? nd->nrows : 1));
		int64	   *units = palloc0(sizeof(int64) * (nd->nrows > 0 ? nd->nrows : 1));
		int			i;

		if (!open[s] || nd->pickup_here)
			continue;
		for (a = 0; a < res->nallocs; a++)
			if (res->allocs[a].node == s)
				for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
					if (net->rows[i].cand >= 0 && net->rows[i].group == res->allocs[a].line)
						units[i - nd->first_row] += res->allocs[a].qty;
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
			saved_cost[i - nd->first_row] = net->rows[i].unit_cost;

		cost_node_units(o, prof, net, n, units);
		if (o->pickup)
			ops_pickup_cost(ops, net, n);	/* ops: a transfer's days at the pickup node */
		if (!nd->costed || nd->unroutable)
		{
			/* nothing may carry it at this weight: the estimate stands */
			*nd = saved;
			for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
				net->rows[i].unit_cost = saved_cost[i - nd->first_row];
			continue;
		}
		if (nd->shipment_cost == saved.shipment_cost && nd->days == saved.days &&
			nd->service == saved.service && nd->mode == saved.mode)
		{
			bool		same = true;

			for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
				if (net->rows[i].unit_cost != saved_cost[i - nd->first_row])
					same = false;
			if (same)
				continue;
		}
		changed = true;
		snodes[s].shipment_cost = Max(0.0, snodes[s].shipment_cost +
									  (nd->shipment_cost - saved.shipment_cost));
		snodes[s].days = Max(0.0, snodes[s].days + (nd->days - saved.days));
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
			if (net->rows[i].cand >= 0)
				cands[net->rows[i].cand].unit_cost = net->rows[i].unit_cost;
	}
	if (!changed)
		return false;

	/* the solution's terms at the new costs (as the solver scores them) */
	res->terms.cost = 0.0;
	res->terms.days = 0.0;
	res->terms.late = 0.0;
	for (a = 0; a < res->nallocs; a++)
		res->terms.cost += cands_unit_cost(prob, res->allocs[a].line, res->allocs[a].node) *
			(double) res->allocs[a].qty;
	for (s = 0; s < prob->nnodes; s++)
	{
		if (!open[s])
			continue;
		res->terms.cost += snodes[s].shipment_cost;
		res->terms.days += snodes[s].days;
		if (prob->profile.need_by_days >= 0.0 && snodes[s].days > prob->profile.need_by_days)
			res->terms.late += snodes[s].days - prob->profile.need_by_days;
	}
	res->score = sr_score_terms(&prob->profile, &res->terms);
	return true;
}

/* "ground (parcel)", "distance model" as a JSON string */
static void
append_lane_name(StringInfo buf, const NetNode *nd)
{
	if (nd->service == NULL)
		escape_json(buf, "distance model");
	else if (nd->mode == NULL)
		escape_json(buf, nd->service);
	else
		escape_json(buf, psprintf("%s (%s)", nd->service, nd->mode));
}

/*
 * Plan an order.  rules is NULL on the first call.  When a routing rule's cap
 * is broken the order is planned again with the same rules, which then pick
 * the fallback profile or exclude every node (src/rules.c), and that plan is
 * returned.
 */
static Jsonb *
plan_order(Jsonb *doc, bool read_only, SrRules *rules)
{
	Order		o;
	Profile		prof;
	Network		net;
	TimestampTz now = sr_routing_now();
	DateADT		today = DatumGetDateADT(DirectFunctionCall1(timestamptz_date,
															TimestampTzGetDatum(now)));
	SrProblem	prob;
	SrLine	   *lines;
	SrNode	   *snodes;
	SrCand	   *cands;
	int		   *node_of_solver;
	SrResult	res;
	int64		micros;
	ShipLine   *ship;
	int			nship = 0;
	int			i;
	int			n;
	StringInfoData b;
	bool		first;
	bool		any_late = false;
	double		total_cost = 0.0;
	double		max_days = -1.0;
	double		preference;
	const char *why;
	Ops			ops;
	DateADT		ready_by = DATEVAL_NOBEGIN;
	NetNode    *estimated;		/* products: the nodes as costed before repricing */
	int			passes = 1;

	memset(&ops, 0, sizeof(ops));
	parse_order(doc, &o);
	/* ---- hook: the order's "priority" key (src/priority.c) ---- */
	sr_priority_validate(doc, "order field", "priority");
	/* ops: a pickup order's destination is its pickup node (the rules see its country) */
	if (o.pickup)
		ops_pickup_destination(&o, read_only, &ops);
	load_profile(o.profile, read_only, &prof);
	/* rules (src/rules.c): the rules in force that match; one may switch the profile */
	if (rules == NULL)
		rules = sr_rules_load(&o.facts, now, read_only);
	if (strcmp(sr_rules_profile(rules, o.profile), o.profile) != 0)
		load_profile(sr_rules_profile(rules, o.profile), read_only, &prof);
	load_items(&o, read_only);
	/* products: product rules; destination locks and lot requirements (src/products.c) */
	load_products(&o, read_only, true);

	/* the order's options override its profile */
	if (o.allow_partial >= 0)
		prof.sr.allow_partial = o.allow_partial;
	if (o.ship_complete >= 0)
		prof.sr.ship_complete = o.ship_complete;
	if (o.max_shipments >= 0)
		prof.sr.max_shipments = o.max_shipments;
	if (o.has_need_by)
		prof.sr.need_by_days = o.need_by > today ? (double) (o.need_by - today) : 0.0;

	load_network(&o, now, read_only, &net);
	sr_check_candidates(net.nrows, o.order_ref);	/* hostile input (issue 6) */
	/* products: the free lots of lot-tracked SKUs; hazmat lines apart where a lane says so */
	if (o.any_lot_tracked)
	{
		char	  **skus = palloc(sizeof(char *) * o.ngroups);
		int			nskus = 0;

		for (i = 0; i < o.ngroups; i++)
			if (o.groups[i].rules.lot_tracked)
				skus[nskus++] = o.groups[i].sku;
		net.lots = sr_lots_load(skus, nskus, read_only);
	}
	split_hazmat_nodes(&o, &net);
	ops_load(&o, &net, now, read_only, &ops);	/* ops */

	/* eligibility and cost, node by node in node_id order */
	lines = palloc0(sizeof(SrLine) * o.ngroups);
	for (i = 0; i < o.ngroups; i++)
		lines[i].qty = o.groups[i].qty;
	snodes = palloc0(sizeof(SrNode) * (net.nnodes > 0 ? net.nnodes : 1));
	cands = palloc0(sizeof(SrCand) * (net.nrows > 0 ? net.nrows : 1));
	node_of_solver = palloc0(sizeof(int) * (net.nnodes > 0 ? net.nnodes : 1));
	memset(&prob, 0, sizeof(prob));

	for (n = 0; n < net.nnodes; n++)
	{
		NetNode    *nd = &net.nodes[n];
		int			ncand = 0;

		set_distance(&o, nd);
		if (strcmp(nd->status, "active") != 0)
		{
			appendStringInfoString(&nd->notes, nd->status);
			continue;
		}
		if (!ops_admit(&o, &ops, nd, n))	/* ops: pickup, rejected, full */
			continue;
		/* rules: node exclusions of the rules on the whole order */
		if ((why = sr_rules_exclude_node(rules, nd->node_id,
										 nd->has_coords && o.ship_to.has_coords,
										 nd->distance_km)) != NULL)
		{
			add_note(nd, "%s", why);
			continue;
		}
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
		{
			StockRow   *r = &net.rows[i];
			SkuGroup   *gr = &o.groups[r->group];
			/* products: a SKU's groups share its stock row; say things once per SKU */
			bool		again = i > nd->first_row &&
				strcmp(o.groups[net.rows[i - 1].group].sku, gr->sku) == 0;
			char	   *pwhy;

			if (!r->allowed)
			{
				if (!again)
					add_note(nd, "not allowed for sku %s", gr->sku);
			}
			/* products: hazmat nodes, ship_from_countries */
			else if ((pwhy = sr_products_node_excludes(&gr->rules, gr->sku, nd->hazmat_node,
													   nd->country)) != NULL)
			{
				if (!again)
					add_note(nd, "%s", pwhy);
			}
			else if (r->available <= 0)
			{
				if (!again)
					add_note(nd, "no stock of sku %s", gr->sku);
			}
			/* products: a lot-tracked line may use its share of the eligible lots */
			else if (gr->rules.lot_tracked && !take_lot_share(&o, &net, n, i, today))
				;
			/* rules: exclusions of sku / sku_tag rules, min_node_available */
			else if ((why = sr_rules_exclude_row(rules, nd->node_id, r->group, r->available,
												 nd->has_coords && o.ship_to.has_coords,
												 nd->distance_km)) != NULL)
				add_note(nd, "%s", why);
			else if (!ops_cap_row(&o, &ops, nd, n, r))	/* ops: capacity left */
				;
			else
			{
				r->cand = 0;	/* provisional, numbered below */
				ncand++;
			}
		}
		if (ncand == 0)
			continue;
		cost_node(&o, &prof, &net, n);
		if (o.pickup)
			ops_pickup_cost(&ops, &net, n);	/* ops */
		if (!nd->costed)
		{
			bool		left = false;

			/* products: with no row left (hazmat no lane may carry), the notes say why */
			for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
				if (net.rows[i].cand >= 0)
					left = true;
			if (left)
				add_note(nd, "%s", "no lane to the destination and no coordinates for the distance model");
			continue;
		}
		if (nd->unroutable)
		{
			add_note(nd, "%s", nd->unroutable);
			continue;
		}
		/* rules: max_days limits, now that the node's days are known */
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
			if (net.rows[i].cand >= 0 &&
				(why = sr_rules_exclude_days(rules, nd->node_id, net.rows[i].group, nd->days)) != NULL)
			{
				net.rows[i].cand = -1;
				ncand--;
				if (strstr(nd->notes.data, why) == NULL)
					add_note(nd, "%s", why);
			}
		if (ncand == 0)
			continue;
		if (prof.exclude_late && prof.sr.need_by_days >= 0 && nd->days > prof.sr.need_by_days)
		{
			StringInfoData msg;

			initStringInfo(&msg);
			appendStringInfoString(&msg, "late: eta ");
			append_iso_date(&msg, nd->eta);
			appendStringInfoString(&msg, ", need_by ");
			append_iso_date(&msg, o.need_by);
			add_note(nd, "%s", msg.data);
			continue;
		}

		nd->eligible = true;
		nd->solver_node = prob.nnodes;
		node_of_solver[prob.nnodes] = n;
		snodes[prob.nnodes].shipment_cost = nd->shipment_cost;
		snodes[prob.nnodes].days = nd->days;
		snodes[prob.nnodes].distance_km = nd->distance_km;
		/* ops: a node near its daily limit costs up to w_capacity more */
		snodes[prob.nnodes].penalty = ops.o.w_capacity * sr_capacity_used(&ops.o.nodes[n]);
		/*
		 * ops: a pickup node's own handover runs while transfers travel (the
		 * customer waits for the last arrival, not the sum): no days in the
		 * score, so its own units come first
		 */
		if (nd->pickup_here)
			snodes[prob.nnodes].days = 0.0;
		/* rules: a preferred node's bonus, as a discount within its own terms */
		if ((why = sr_rules_discount(rules, prob.nnodes, nd->node_id, &prof.sr,
									 &snodes[prob.nnodes])) != NULL)
			add_note(nd, "%s", why);
		for (i = nd->first_row; i < nd->first_row + nd->nrows; i++)
		{
			StockRow   *r = &net.rows[i];
			SrCand	   *c;

			if (r->cand < 0)
				continue;
			r->cand = prob.ncands;
			c = &cands[prob.ncands++];
			c->line = r->group;
			c->node = prob.nnodes;
			c->available = r->available;
			c->unit_cost = r->unit_cost;
			c->balance_free = r->balance_free;
		}
		prob.nnodes++;
	}
	/* rows of nodes that turned out ineligible are not candidates */
	for (n = 0; n < net.nnodes; n++)
		if (!net.nodes[n].eligible)
			for (i = net.nodes[n].first_row; i < net.nodes[n].first_row + net.nodes[n].nrows; i++)
				net.rows[i].cand = -1;

	prob.nlines = o.ngroups;
	prob.lines = lines;
	prob.nodes = snodes;
	prob.cands = cands;
	prob.profile = prof.sr;
	sr_solve_or_error(&prob, &res, &micros);

	/*
	 * products: lanes were picked for the most each node could ship.  Re-cost
	 * the nodes the plan uses at the weights they ship; if a lane changed
	 * (another weight bracket: parcel, LTL, FTL), solve once more with those
	 * costs and re-cost its nodes too, then keep the better of the two
	 * solutions at their real costs.  The plan's lanes then match the
	 * weights its shipments weigh.
	 */
	estimated = palloc(sizeof(NetNode) * (net.nnodes > 0 ? net.nnodes : 1));
	memcpy(estimated, net.nodes, sizeof(NetNode) * net.nnodes);
	if (reprice_plan(&o, &prof, &net, &ops, &prob, snodes, cands, node_of_solver, &res))
	{
		SrResult	first_res = res;
		NetNode    *first_nodes = palloc(sizeof(NetNode) * net.nnodes);
		double	   *first_costs = palloc(sizeof(double) * (net.nrows > 0 ? net.nrows : 1));
		int64		more;

		memcpy(first_nodes, net.nodes, sizeof(NetNode) * net.nnodes);
		for (i = 0; i < net.nrows; i++)
			first_costs[i] = net.rows[i].unit_cost;
		sr_solve_or_error(&prob, &res, &more);
		passes = 2;
		micros += more;
		(void) reprice_plan(&o, &prof, &net, &ops, &prob, snodes, cands, node_of_solver, &res);
		res.evaluated += first_res.evaluated;
		res.pruned += first_res.pruned;
		if (first_res.score < res.score)
		{
			/* the first solution, at its real costs, is the better one */
			first_res.evaluated = res.evaluated;
			first_res.pruned = res.pruned;
			first_res.proven_optimal = false;
			res = first_res;
			memcpy(net.nodes, first_nodes, sizeof(NetNode) * net.nnodes);
			for (i = 0; i < net.nrows; i++)
				net.rows[i].unit_cost = first_costs[i];
		}
	}
	/* rules: the real terms of preferred nodes, and the score the bonus took off */
	preference = sr_rules_restore_terms(rules, &prob.profile, &res);

	/* spread each (sku, node) allocation over the order's lines of that sku */
	/* each piece ends an allocation or a line: at most nallocs + nlines */
	ship = palloc0(sizeof(ShipLine) * ((size_t) res.nallocs + o.nlines + 1));
	for (i = 0; i < res.nallocs; i++)
	{
		int64		q = res.allocs[i].qty;
		int			l;

		for (l = 0; l < o.nlines && q > 0; l++)
		{
			OrderLine  *ln = &o.lines[l];
			int64		take;

			if (ln->group != res.allocs[i].line || ln->left == 0)
				continue;
			take = Min(q, ln->left);
			ln->left -= take;
			q -= take;
			ship[nship].node = node_of_solver[res.allocs[i].node];
			ship[nship].line = l;
			ship[nship].qty = take;
			nship++;
		}
	}
	qsort(ship, nship, sizeof(ShipLine), cmp_ship_line);

	/* the plan document */
	initStringInfo(&b);
	appendStringInfoString(&b, "{\"order_ref\":");
	escape_json(&b, o.order_ref);
	appendStringInfo(&b, ",\"status\":\"%s\",\"shipments\":[",
					 res.status == SR_COMPLETE ? "complete" :
					 res.status == SR_PARTIAL ? "partial" : "unfillable");
	for (i = 0; i < nship;)
	{
		NetNode    *nd = &net.nodes[ship[i].node];
		double		cost = nd->shipment_cost;
		double		weight = 0.0;	/* products */
		bool		hazmat = false; /* products */
		int			j;

		if (i > 0)
			appendStringInfoChar(&b, ',');
		appendStringInfoString(&b, "{\"node_id\":");
		escape_json(&b, nd->node_id);
		appendStringInfoString(&b, ",\"service\":");
		if (nd->service)
			escape_json(&b, nd->service);
		else
			appendStringInfoString(&b, "null");
		/* products: the lane's mode (null under the distance model) */
		appendStringInfoString(&b, ",\"mode\":");
		if (nd->mode)
			escape_json(&b, nd->mode);
		else
			appendStringInfoString(&b, "null");
		appendStringInfoString(&b, ",\"lines\":[");
		for (j = i; j < nship && ship[j].node == ship[i].node; j++)
		{
			OrderLine  *ln = &o.lines[ship[j].line];
			int			k;

			if (j > i)
				appendStringInfoChar(&b, ',');
			appendStringInfoString(&b, "{\"line_ref\":");
			escape_json(&b, ln->line_ref);
			appendStringInfoString(&b, ",\"sku\":");
			escape_json(&b, ln->sku);
			appendStringInfo(&b, ",\"qty\":" INT64_FORMAT, ship[j].qty);
			for (k = nd->first_row; k < nd->first_row + nd->nrows; k++)
				if (net.rows[k].group == ln->group)
				{
					cost += net.rows[k].unit_cost * (double) ship[j].qty;
					/* products: the lots this line takes, FEFO */
					if (net.rows[k].lots)
						sr_lots_append(&b, net.lots, net.rows[k].lots, ship[j].qty);
				}
			appendStringInfoChar(&b, '}');
			weight += (double) ship[j].qty * o.groups[ln->group].weight_kg;
			if (o.groups[ln->group].rules.hazmat)
				hazmat = true;
		}
		total_cost += cost;
		max_days = Max(max_days, nd->days);
		appendStringInfo(&b, "],\"hazmat\":%s,\"weight_kg\":", hazmat ? "true" : "false");
		sr_json_number(&b, weight);
		appendStringInfoString(&b, ",\"cost\":");
		sr_json_number(&b, cost);
		appendStringInfoString(&b, ",\"days\":");
		sr_json_number(&b, nd->days);
		appendStringInfoString(&b, ",\"ship_date\":");
		append_date(&b, nd->ship_date);
		appendStringInfoString(&b, ",\"eta\":");
		append_date(&b, nd->eta);
		/* the solver's late term of this shipment, in days past need_by */
		if (prof.sr.need_by_days >= 0 && nd->days > prof.sr.need_by_days)
		{
			appendStringInfoString(&b, ",\"late_days\":");
			sr_json_number(&b, nd->days - prof.sr.need_by_days);
			any_late = true;
		}
		if (o.pickup)
		{
			/* ops: the pickup node's own units, or a transfer to it */
			appendStringInfo(&b, ",\"transfer\":%s", nd->pickup_here ? "false" : "true");
			if (!nd->pickup_here)
			{
				appendStringInfoString(&b, ",\"transfer_to\":");
				escape_json(&b, o.pickup_node);
			}
			ready_by = Max(ready_by, nd->eta);
		}
		appendStringInfoChar(&b, '}');
		i = j;
	}
	/* rules: a broken cap plans the order again (else_profile, or nothing ships) */
	if (sr_rules_replan(rules, prof.name, total_cost, max_days))
		return plan_order(doc, read_only, rules);

	appendStringInfoString(&b, "],\"unfilled\":[");
	first = true;
	for (i = 0; i < o.nlines; i++)
	{
		if (o.lines[i].left == 0)
			continue;
		if (!first)
			appendStringInfoChar(&b, ',');
		first = false;
		appendStringInfoString(&b, "{\"line_ref\":");
		escape_json(&b, o.lines[i].line_ref);
		appendStringInfoString(&b, ",\"sku\":");
		escape_json(&b, o.lines[i].sku);
		appendStringInfo(&b, ",\"qty\":" INT64_FORMAT, o.lines[i].left);
		if (o.pickup)
		{
			appendStringInfoString(&b, ",\"reason\":");	/* ops */
			escape_json(&b, ops_unfilled_reason(&o, &ops));
		}
		appendStringInfoChar(&b, '}');
	}
	appendStringInfoString(&b, "],\"cost\":");
	sr_json_number(&b, total_cost);
	appendStringInfoString(&b, ",\"score\":");
	sr_json_number(&b, res.score);
	appendStringInfoString(&b, ",\"score_terms\":");
	sr_json_score_terms(&b, &prob.profile, &res);
	if (ops.o.w_capacity > 0)
	{
		/* ops: the capacity term, inside score_terms (drop its closing brace) */
		b.data[--b.len] = '\0';
		appendStringInfoString(&b, ",\"capacity\":");
		sr_json_number(&b, res.terms.penalty);
		appendStringInfoChar(&b, '}');
	}
	if (preference > 0)
	{
		/* the bonus of preferred nodes that ship: one more term, negative */
		b.data[--b.len] = '\0';
		appendStringInfoString(&b, ",\"preference\":");
		sr_json_number(&b, -preference);
		appendStringInfoChar(&b, '}');
	}
	appendStringInfoString(&b, ",\"rules\":");
	sr_rules_json(&b, rules);
	appendStringInfoString(&b, ",\"profile\":{\"name\":");
	escape_json(&b, prof.name);
	appendStringInfo(&b, ",\"version\":%d", prof.version);
	sr_rules_json_profile(&b, rules, o.profile);
	appendStringInfoChar(&b, '}');
	if (o.has_need_by)
	{
		/* the date, the policy that applied, and whether a shipment is late */
		appendStringInfoString(&b, ",\"need_by\":{\"date\":");
		append_date(&b, o.need_by);
		appendStringInfo(&b, ",\"policy\":\"%s\",\"late\":%s}",
						 prof.exclude_late ? "exclude" : "penalize",
						 any_late ? "true" : "false");
	}
	if (o.pickup)
	{
		/* ops: ready for pickup when the last shipment is */
		appendStringInfoString(&b, ",\"fulfillment\":\"pickup\",\"pickup_node\":");
		escape_json(&b, o.pickup_node);
		appendStringInfoString(&b, ",\"ready_by\":");
		if (nship > 0)
			append_date(&b, ready_by);
		else
			appendStringInfoString(&b, "null");
	}

	/* explain: every node holding a stock row of the order's SKUs */
	appendStringInfoString(&b, ",\"explain\":{\"candidates\":[");
	for (n = 0; n < net.nnodes; n++)
	{
		NetNode    *nd = &net.nodes[n];
		StringInfoData why;
		bool		chosen = false;

		initStringInfo(&why);
		for (i = 0; i < nship; i++)
			if (ship[i].node == n)
			{
				appendStringInfoString(&why, chosen ? ", " : "chosen: ships ");
				appendStringInfo(&why, INT64_FORMAT " of line %s", ship[i].qty,
								 o.lines[ship[i].line].line_ref);
				chosen = true;
			}
		if (!chosen && nd->eligible)
			not_chosen_reason(&why, &o, &net, n, &prob.profile, res.status);
		if (!nd->eligible)
			appendStringInfoString(&why, nd->notes.data);
		else if (nd->notes.len > 0)
			appendStringInfo(&why, " (%s)", nd->notes.data);

		if (n > 0)
			appendStringInfoChar(&b, ',');
		appendStringInfoString(&b, "{\"node_id\":");
		escape_json(&b, nd->node_id);
		/* products: the hazmat and general parts of a node that ships hazmat apart */
		if (part_name(nd))
			appendStringInfo(&b, ",\"part\":\"%s\"", part_name(nd));
		appendStringInfo(&b, ",\"eligible\":%s,\"chosen\":%s,\"reason\":",
						 nd->eligible ? "true" : "false", chosen ? "true" : "false");
		escape_json(&b, why.data);
		if (nd->costed)
		{
			appendStringInfoString(&b, ",\"basis\":");
			appendStringInfoString(&b, nd->pickup_here ? "\"pickup\"" :
								   nd->service ? "\"lane\"" : "\"distance\"");
			/* products: the lane's mode */
			if (nd->mode)
			{
				appendStringInfoString(&b, ",\"mode\":");
				escape_json(&b, nd->mode);
			}
			appendStringInfoString(&b, ",\"shipment_cost\":");
			sr_json_number(&b, nd->shipment_cost);
		}
		if (nd->costed && !nd->unroutable)
		{
			appendStringInfoString(&b, ",\"days\":");
			sr_json_number(&b, nd->days);
			appendStringInfoString(&b, ",\"eta\":");
			append_date(&b, nd->eta);
		}
		if (nd->has_coords && o.ship_to.has_coords)
		{
			appendStringInfoString(&b, ",\"distance_km\":");
			sr_json_number(&b, rint(nd->distance_km * 10) / 10);
		}
		if (ops.o.nodes[n].limited)
			ops_json_load(&b, &ops.o.nodes[n]);	/* ops */
		appendStringInfoChar(&b, '}');
	}
	appendStringInfoString(&b, "]");
	/* products: shipments whose lane changed once their real weight was known */
	first = true;
	for (n = 0; n < net.nnodes; n++)
	{
		const NetNode *nd = &net.nodes[n];
		const NetNode *est = &estimated[n];

		for (i = 0; i < nship && ship[i].node != n; i++)
			;
		if (i == nship || (nd->service == est->service && nd->mode == est->mode &&
						   nd->shipment_cost == est->shipment_cost && nd->days == est->days))
			continue;
		appendStringInfoString(&b, first ? ",\"recost\":[" : ",");
		first = false;
		appendStringInfoString(&b, "{\"node_id\":");
		escape_json(&b, nd->node_id);
		if (part_name(nd))
			appendStringInfo(&b, ",\"part\":\"%s\"", part_name(nd));
		appendStringInfoString(&b, ",\"estimated_kg\":");
		sr_json_number(&b, est->weight_kg);
		appendStringInfoString(&b, ",\"weight_kg\":");
		sr_json_number(&b, nd->weight_kg);
		appendStringInfoString(&b, ",\"from\":");
		append_lane_name(&b, est);
		appendStringInfoString(&b, ",\"to\":");
		append_lane_name(&b, nd);
		appendStringInfoChar(&b, '}');
	}
	if (!first)
		appendStringInfoChar(&b, ']');
	appendStringInfo(&b, ",\"passes\":%d,\"solver\":", passes);
	sr_json_solver(&b, &res, micros);
	appendStringInfoString(&b, "}}");

	return sr_json_to_jsonb(&b);
}

Jsonb *
sr_plan_order(Jsonb *doc, bool read_only)
{
	return plan_order(doc, read_only, NULL);
}

/* ---------------------------------------------------------------- plan() */

PG_FUNCTION_INFO_V1(routing_plan);
Datum
routing_plan(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	Jsonb	   *plan;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("order must not be null")));

	work = AllocSetContextCreate(caller, "stockroute plan", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(work);

	plan = sr_plan_order(PG_GETARG_JSONB_P(0), true);

	/* SPI_execute leaves CurrentMemoryContext in SPI's procedure context: copy out first */
	MemoryContextSwitchTo(caller);
	plan = DatumGetJsonbPCopy(JsonbPGetDatum(plan));
	SPI_finish();
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(work);
	PG_RETURN_JSONB_P(plan);
}

/* ---------------------------------------------------------------- available() */

PG_FUNCTION_INFO_V1(routing_available);
Datum
routing_available(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	Order		o;
	Profile		prof;
	Network		net;
	TimestampTz now;
	StringInfoData b;
	int64		tot_avail = 0;
	int64		tot_on_hand = 0;
	int64		tot_reserved = 0;
	int			n;
	Jsonb	   *out;
	SrRules    *rules;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("sku must not be null")));
	memset(&prof, 0, sizeof(prof));

	work = AllocSetContextCreate(caller, "stockroute available", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);

	memset(&o, 0, sizeof(o));
	o.ngroups = 1;
	o.groups = palloc0(sizeof(SkuGroup));
	o.groups[0].sku = text_to_cstring(PG_GETARG_TEXT_PP(0));
	o.groups[0].qty = 1;		/* the weight of one unit picks the lane bracket */
	o.group_by_sku = palloc0(sizeof(int));
	o.nlines = 1;
	o.lines = palloc0(sizeof(OrderLine));
	o.lines[0].sku = o.groups[0].sku;
	o.lines[0].line_ref = "1";
	if (!PG_ARGISNULL(1))
	{
		Jsonb	   *st = PG_GETARG_JSONB_P(1);
		JsonbValue	v;

		if (JB_ROOT_IS_SCALAR(st) || !JB_ROOT_IS_OBJECT(st))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"ship_to\" must be a JSON object")));
		v.type = jbvBinary;
		v.val.binary.data = &st->root;
		v.val.binary.len = VARSIZE(st) - VARHDRSZ;
		parse_ship_to(&v, "argument field", &o.ship_to);
	}
	if (!PG_ARGISNULL(2))
	{
		Jsonb	   *cu = PG_GETARG_JSONB_P(2);

		JsonbValue	v;

		if (JB_ROOT_IS_SCALAR(cu) || !JB_ROOT_IS_OBJECT(cu))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"customer\" must be a JSON object")));
		v.type = jbvBinary;
		v.val.binary.data = &cu->root;
		v.val.binary.len = VARSIZE(cu) - VARHDRSZ;
		sr_rules_parse_customer(&v, "argument field", &o.facts);
		/* products: the shelf life this customer accepts */
		o.customer_min_shelf_days = sr_customer_min_shelf_days(&cu->root);
	}
	else
		o.customer_min_shelf_days = -1;
	o.facts.country = o.ship_to.country;
	o.facts.nskus = 1;
	o.facts.skus = &o.groups[0].sku;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(work);

	now = sr_routing_now();
	load_items(&o, true);
	load_products(&o, true, false);	/* products: hazmat, origin and destination locks */
	/* rules (src/rules.c) matching this customer, destination and sku */
	rules = sr_rules_load(&o.facts, now, true);
	if (!PG_ARGISNULL(1))
		load_profile(sr_rules_profile(rules, "default"), true, &prof);
	load_network(&o, now, true, &net);
	/* products: a lot-tracked SKU promises only the lots plan() could ship */
	if (o.groups[0].rules.lot_tracked)
		net.lots = sr_lots_load(&o.groups[0].sku, 1, true);

	initStringInfo(&b);
	appendStringInfoString(&b, "{\"sku\":");
	escape_json(&b, o.groups[0].sku);
	appendStringInfoString(&b, ",\"nodes\":[");
	for (n = 0; n < net.nnodes; n++)
	{
		NetNode    *nd = &net.nodes[n];
		StockRow   *r = &net.rows[nd->first_row];
		bool		routable = strcmp(nd->status, "active") == 0 && r->allowed;
		bool		costed = false;
		const char *why = NULL;

		if (n > 0)
			appendStringInfoChar(&b, ',');
		appendStringInfoString(&b, "{\"node_id\":");
		escape_json(&b, nd->node_id);
		appendStringInfoString(&b, ",\"name\":");
		escape_json(&b, nd->name ? nd->name : "");
		appendStringInfoString(&b, ",\"status\":");
		escape_json(&b, nd->status);
		/* products: a node that may not ship the SKU (hazmat, origin), or not there */
		if (routable)
			why = sr_products_node_excludes(&o.groups[0].rules, o.groups[0].sku,
											nd->hazmat_node, nd->country);
		if (routable && why == NULL && !PG_ARGISNULL(1) &&
			!sr_products_destination_ok(&o.groups[0].rules, o.ship_to.country, o.ship_to.region))
			why = psprintf("sku %s may not ship to this destination", o.groups[0].sku);
		/*
		 * products: of a lot-tracked SKU, only the free units of the lots
		 * this customer may get (expiry and shelf life on the routing date,
		 * as plan() shares them out), at most the stock row's available
		 */
		if (o.groups[0].rules.lot_tracked)
		{
			SrLotDemand d;
			SrLotDemand *dp = &d;
			int64		stock_avail = r->available;

			memset(&d, 0, sizeof(d));
			d.qty = Max(stock_avail, 0);
			d.min_shelf_days = o.groups[0].min_shelf_days;
			sr_lots_share(net.lots, nd->node_id, o.groups[0].sku, stock_avail, net.today, &dp, 1);
			r->available = d.share;
			if (routable && why == NULL && stock_avail > 0 && d.share == 0)
				why = sr_lots_note(&d, o.groups[0].sku);
		}
		/* rules: what would exclude the node for this customer and sku */
		set_distance(&o, nd);
		if (routable && why == NULL &&
			(why = sr_rules_exclude_node(rules, nd->node_id, nd->has_coords && o.ship_to.has_coords,
										 nd->distance_km)) == NULL)
			why = sr_rules_exclude_row(rules, nd->node_id, 0, r->available,
									   nd->has_coords && o.ship_to.has_coords, nd->distance_km);
		if (!PG_ARGISNULL(1))
		{
			r->cand = 0;		/* cost the node as if it shipped one unit */
			cost_node(&o, &prof, &net, n);
			/* with no ship date or ETA in the horizon it is not costed either */
			costed = nd->costed && !nd->unroutable;
			/* a node that cannot reach the destination promises nothing there */
			routable = routable && costed;
			if (routable && why == NULL)
				why = sr_rules_exclude_days(rules, nd->node_id, 0, nd->days);
		}
		routable = routable && why == NULL;
		if (why)
		{
			appendStringInfoString(&b, ",\"excluded\":");
			escape_json(&b, why);
		}
		appendStringInfo(&b, ",\"routable\":%s,\"on_hand\":" INT64_FORMAT
						 ",\"reserved\":" INT64_FORMAT ",\"available\":" INT64_FORMAT,
						 routable ? "true" : "false", r->on_hand, r->reserved,
						 r->available);
		tot_on_hand += r->on_hand;
		tot_reserved += r->reserved;
		if (routable)
			tot_avail += r->available;
		if (!PG_ARGISNULL(1))
		{
			if (costed)
			{
				appendStringInfoString(&b, ",\"days\":");
				sr_json_number(&b, nd->days);
				appendStringInfoString(&b, ",\"ship_date\":");
				append_date(&b, nd->ship_date);
				appendStringInfoString(&b, ",\"eta\":");
				append_date(&b, nd->eta);
			}
			else
				appendStringInfoString(&b, ",\"days\":null,\"ship_date\":null,\"eta\":null");
		}
		appendStringInfoChar(&b, '}');
	}
	appendStringInfo(&b, "],\"available\":" INT64_FORMAT ",\"on_hand\":" INT64_FORMAT
					 ",\"reserved\":" INT64_FORMAT ",\"rules\":",
					 tot_avail, tot_on_hand, tot_reserved);
	sr_rules_json(&b, rules);
	appendStringInfoChar(&b, '}');
	out = sr_json_to_jsonb(&b);
	/* ---- hook: future supply and promise dates (src/supply.c) ---- */
	out = sr_supply_available(out, PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2));

	/* SPI_execute leaves CurrentMemoryContext in SPI's procedure context: copy out first */
	MemoryContextSwitchTo(caller);
	out = DatumGetJsonbPCopy(JsonbPGetDatum(out));
	SPI_finish();
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(work);
	PG_RETURN_JSONB_P(out);
}
