/*
 * explain.c — explain(plan jsonb) → text: a plan as a person reads it, in
 * the manner of EXPLAIN.  Works on the output of plan(), allocate() and
 * split_plan().  Amounts of money (the plan's and each shipment's cost, what
 * a candidate not chosen would add) are rounded to cents and followed by
 * stockroute.currency; other numbers are printed as the plan stores them, so
 * the text is as stable as the plan.  The solver's time is shown only while
 * stockroute.explain_timing is on (turn it off for regression tests).
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "guc.h"
#include "json.h"

/* a scalar as text: strings bare, numbers as stored; NULL if absent */
static char *
scalar(JsonbContainer *obj, const char *key)
{
	JsonbValue	vbuf;
	JsonbValue *v = sr_jsonb_get(obj, key, &vbuf);

	if (v == NULL)
		return NULL;
	switch (v->type)
	{
		case jbvString:
			return sr_jsonb_string(v);
		case jbvNumeric:
		case jbvBool:
		case jbvNull:
			return sr_jsonb_shown(v);
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("plan field \"%s\" must be a string, number or boolean, got %s",
							key, sr_jsonb_shown(v))));
	}
	return NULL;				/* keep compiler quiet */
}

/* for printing: "?" where the plan lacks a value */
static const char *
nz(const char *s)
{
	return s ? s : "?";
}

/* an array field, or NULL if absent; anything else is an error */
static JsonbContainer *
array_field(JsonbContainer *obj, const char *key, const char *path)
{
	JsonbValue	vbuf;
	JsonbValue *v = sr_jsonb_get(obj, key, &vbuf);

	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (!sr_jsonb_is_array(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("plan field \"%s\" must be an array, got %s", path, sr_jsonb_shown(v))));
	return v->val.binary.data;
}

static JsonbContainer *
object_field(JsonbContainer *obj, const char *key, const char *path)
{
	JsonbValue	vbuf;
	JsonbValue *v = sr_jsonb_get(obj, key, &vbuf);

	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (!sr_jsonb_is_object(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("plan field \"%s\" must be an object, got %s", path, sr_jsonb_shown(v))));
	return v->val.binary.data;
}

static JsonbContainer *
element(JsonbContainer *arr, int i, const char *path)
{
	JsonbValue *v = getIthJsonbValueFromContainer(arr, i);

	if (v == NULL || !sr_jsonb_is_object(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("plan field \"%s[%d]\" must be an object", path, i)));
	return v->val.binary.data;
}

/* a number field, or NULL if absent or JSON null; anything else is an error */
static Numeric
number_field(JsonbContainer *obj, const char *key, const char *path)
{
	JsonbValue	vbuf;
	JsonbValue *v = sr_jsonb_get(obj, key, &vbuf);

	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("plan field \"%s\" must be a number, got %s", path, sr_jsonb_shown(v))));
	return v->val.numeric;
}

/* -1, 0 or 1 */
static int
numeric_sign_of(Numeric n)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(n),
											 NumericGetDatum(int64_to_numeric(0))));
}

/*
 * An amount of money: "43.00 USD" (two decimals, then stockroute.currency
 * unless it is empty).  A value too long to read stays in scientific form.
 */
static void
append_money(StringInfo out, Numeric n)
{
	Numeric		cents = DatumGetNumeric(DirectFunctionCall2(numeric_round, NumericGetDatum(n),
															Int32GetDatum(2)));
	char	   *text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(cents)));

	if (strlen(text) > 32)
		text = numeric_out_sci(n, 3);
	appendStringInfoString(out, text);
	if (stockroute_currency != NULL && stockroute_currency[0] != '\0')
		appendStringInfo(out, " %s", stockroute_currency);
}

/* before and a cost field, as money when it is a number, else as stored; nothing if absent */
static void
append_cost(StringInfo out, JsonbContainer *obj, const char *key, const char *before)
{
	JsonbValue	vbuf;
	JsonbValue *v = sr_jsonb_get(obj, key, &vbuf);

	if (v == NULL)
		return;
	appendStringInfoString(out, before);
	if (v->type == jbvNumeric)
		append_money(out, v->val.numeric);
	else
		appendStringInfoString(out, scalar(obj, key));
}

/*
 * What choosing a candidate would have cost: "+12.40 USD, 2 days later"
 * from its delta_cost and delta_days (the best plan that uses the node,
 * against the chosen plan).  False, writing nothing, when it has neither.
 */
static bool
append_delta(StringInfo out, JsonbContainer *c)
{
	Numeric		cost = number_field(c, "delta_cost", "explain.candidates[].delta_cost");
	Numeric		days = number_field(c, "delta_days", "explain.candidates[].delta_days");

	if (cost == NULL && days == NULL)
		return false;
	appendStringInfoString(out, "not chosen: ");
	if (cost != NULL)
	{
		Numeric		cents = DatumGetNumeric(DirectFunctionCall2(numeric_round,
																NumericGetDatum(cost),
																Int32GetDatum(2)));
		int			sign = numeric_sign_of(cents);

		if (sign == 0)
			appendStringInfoString(out, "same cost");
		else
		{
			appendStringInfoChar(out, sign > 0 ? '+' : '-');
			append_money(out, DatumGetNumeric(DirectFunctionCall1(numeric_abs,
																  NumericGetDatum(cents))));
		}
	}
	if (days != NULL)
	{
		int			sign = numeric_sign_of(days);
		Numeric		mag = DatumGetNumeric(DirectFunctionCall1(numeric_abs, NumericGetDatum(days)));
		JsonbValue	shown;
		char	   *n;

		shown.type = jbvNumeric;
		shown.val.numeric = mag;
		n = sr_jsonb_shown(&shown);
		if (cost != NULL)
			appendStringInfoString(out, ", ");
		if (sign == 0)
			appendStringInfoString(out, "same delivery day");
		else
			appendStringInfo(out, "%s day%s %s", n, strcmp(n, "1") == 0 ? "" : "s",
							 sign > 0 ? "later" : "sooner");
	}
	return true;
}

/* "line 1 (VALVE-9) x 8", with its lots: " [lot L1 x 5 exp 2027-01-31, lot L2 x 3]" */
static void
append_line(StringInfo out, JsonbContainer *ln)
{
	char	   *sku = scalar(ln, "sku");
	char	   *ref = scalar(ln, "line_ref");
	char	   *qty = scalar(ln, "qty");
	JsonbContainer *lots = array_field(ln, "lots", "shipments[].lines[].lots");
	int			n = lots ? JsonContainerSize(lots) : 0;
	int			i;

	appendStringInfo(out, "line %s", ref ? ref : "?");
	if (sku)
		appendStringInfo(out, " (%s)", sku);
	appendStringInfo(out, " x %s", qty ? qty : "?");
	for (i = 0; i < n; i++)
	{
		JsonbContainer *lot = element(lots, i, "shipments[].lines[].lots");
		char	   *exp = scalar(lot, "expires_on");

		appendStringInfo(out, "%slot %s x %s", i == 0 ? " [" : ", ",
						 nz(scalar(lot, "lot_code")), nz(scalar(lot, "qty")));
		if (exp && strcmp(exp, "null") != 0)
			appendStringInfo(out, " exp %s", exp);
		if (i == n - 1)
			appendStringInfoChar(out, ']');
	}
}

/* "A", or "A (hazmat)" for a part of a node that ships hazmat apart */
static void
append_node(StringInfo out, JsonbContainer *obj)
{
	char	   *part = scalar(obj, "part");

	appendStringInfoString(out, nz(scalar(obj, "node_id")));
	if (part && strcmp(part, "null") != 0)
		appendStringInfo(out, " (%s)", part);
}

static void
append_lines(StringInfo out, JsonbContainer *arr, const char *path)
{
	int			n = arr ? JsonContainerSize(arr) : 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(out, ", ");
		append_line(out, element(arr, i, path));
	}
}

/* the strings of an array field, bare and joined: " (excluded A, C)" */
static void
append_list(StringInfo out, JsonbContainer *obj, const char *key, const char *path,
			const char *before, const char *after)
{
	JsonbContainer *l = array_field(obj, key, path);
	int			n = l ? JsonContainerSize(l) : 0;
	int			j;

	for (j = 0; j < n; j++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(l, j);

		appendStringInfoString(out, j == 0 ? before : ", ");
		appendStringInfoString(out, e->type == jbvString ? sr_jsonb_string(e) : sr_jsonb_shown(e));
	}
	if (n > 0)
		appendStringInfoString(out, after);
}

/* "Rules: tier1-contract (excluded A, C); guest" */
static void
append_rules(StringInfo out, JsonbContainer *arr)
{
	int			n = arr ? JsonContainerSize(arr) : 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		JsonbContainer *r = element(arr, i, "rules");
		char	   *v;

		appendStringInfo(out, "%s%s", i == 0 ? "\n  Rules: " : "; ", nz(scalar(r, "rule_id")));
		if ((v = scalar(r, "skipped")) != NULL)
			appendStringInfo(out, " (skipped: %s)", v);
		append_list(out, r, "skus", "rules[].skus", " for sku ", "");
		append_list(out, r, "excluded", "rules[].excluded", " (excluded ", ")");
		append_list(out, r, "ignored", "rules[].ignored", " (an earlier rule set: ", ")");
	}
}

PG_FUNCTION_INFO_V1(stockroute_explain);
Datum
stockroute_explain(PG_FUNCTION_ARGS)
{
	Jsonb	   *plan = PG_GETARG_JSONB_P(0);
	JsonbContainer *root;
	JsonbContainer *arr;
	JsonbContainer *obj;
	StringInfoData out;
	JsonbValue	vbuf;
	JsonbValue *need_by;
	char	   *v;
	char	   *passes;
	int			i;
	int			n;
	int			shown;

	if (JB_ROOT_IS_SCALAR(plan) || !JB_ROOT_IS_OBJECT(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("plan must be a JSON object")));
	root = &plan->root;
	if (scalar(root, "status") == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("plan field \"status\" is required"),
				 errhint("Pass the output of plan(), allocate() or split_plan().")));

	initStringInfo(&out);

	/* header */
	v = scalar(root, "order_ref");
	if (v && strcmp(v, "null") != 0)
		appendStringInfo(&out, "Plan for order %s: %s", v, nz(scalar(root, "status")));
	else
		appendStringInfo(&out, "Plan: %s", nz(scalar(root, "status")));
	if ((v = scalar(root, "score")) != NULL)
		appendStringInfo(&out, ", score %s", v);
	append_cost(&out, root, "cost", ", cost ");
	if ((obj = object_field(root, "profile", "profile")) != NULL)
	{
		appendStringInfo(&out, ", profile %s v%s", nz(scalar(obj, "name")), nz(scalar(obj, "version")));
		/* chosen by a routing rule: a switch, or its fallback when a cap broke */
		if ((v = scalar(obj, "fallback_from")) != NULL)
			appendStringInfo(&out, " (rule %s: fallback from %s, %s)", nz(scalar(obj, "rule")),
							 v, nz(scalar(obj, "because")));
		else if ((v = scalar(obj, "rule")) != NULL)
			appendStringInfo(&out, " (rule %s)", v);
	}
	need_by = sr_jsonb_get(root, "need_by", &vbuf);
	if (need_by != NULL && sr_jsonb_is_object(need_by))
	{
		/* {"date", "policy", "late"}: "need by 2026-11-25 (penalize, late)" */
		obj = need_by->val.binary.data;
		appendStringInfo(&out, ", need by %s", nz(scalar(obj, "date")));
		if ((v = scalar(obj, "policy")) != NULL)
		{
			appendStringInfo(&out, " (%s", v);
			if ((v = scalar(obj, "late")) != NULL && strcmp(v, "true") == 0)
				appendStringInfoString(&out, ", late");
			appendStringInfoChar(&out, ')');
		}
	}
	else if ((v = scalar(root, "need_by")) != NULL)	/* a date: plans before 0.2.0 */
		appendStringInfo(&out, ", need by %s", v);
	if ((v = scalar(root, "attempts")) != NULL)
		appendStringInfo(&out, ", %s attempt%s", v, strcmp(v, "1") == 0 ? "" : "s");
	if ((v = scalar(root, "pickup_node")) != NULL)
	{
		char	   *ready = scalar(root, "ready_by");

		appendStringInfo(&out, "\n  Pickup at %s", v);
		if (ready && strcmp(ready, "null") != 0)
			appendStringInfo(&out, ", ready by %s", ready);
	}
	if ((obj = object_field(root, "rejected", "rejected")) != NULL)
		appendStringInfo(&out, "\n  Rejected by %s: %s", nz(scalar(obj, "node_id")),
						 nz(scalar(obj, "reason")));

	/* shipments */
	arr = array_field(root, "shipments", "shipments");
	n = arr ? JsonContainerSize(arr) : 0;
	if (n == 0)
		appendStringInfoString(&out, "\n  No shipments");
	for (i = 0; i < n; i++)
	{
		JsonbContainer *s = element(arr, i, "shipments");
		char	   *svc = scalar(s, "service");
		char	   *to = scalar(s, "transfer_to");
		char	   *mode = scalar(s, "mode");

		v = scalar(s, "transfer");
		if (to)
			appendStringInfo(&out, "\n  Transfer from %s to %s", nz(scalar(s, "node_id")), to);
		else if (v && strcmp(v, "false") == 0)
			appendStringInfo(&out, "\n  Picked at %s", nz(scalar(s, "node_id")));
		else
			appendStringInfo(&out, "\n  Shipment from %s", nz(scalar(s, "node_id")));
		if (svc && strcmp(svc, "null") != 0)
			appendStringInfo(&out, " by %s", svc);
		/* the mode when it is not the default, parcel; hazmat when it carries some */
		if (mode && strcmp(mode, "null") != 0 && strcmp(mode, "parcel") != 0)
			appendStringInfo(&out, " (%s, %s kg)", mode, nz(scalar(s, "weight_kg")));
		if ((v = scalar(s, "hazmat")) != NULL && strcmp(v, "true") == 0)
			appendStringInfoString(&out, ", hazmat");
		appendStringInfoString(&out, ": ");
		append_lines(&out, array_field(s, "lines", "shipments[].lines"), "shipments[].lines");
		append_cost(&out, s, "cost", "; cost ");
		if ((v = scalar(s, "days")) != NULL)
			appendStringInfo(&out, ", %s day%s", v, strcmp(v, "1") == 0 ? "" : "s");
		if ((v = scalar(s, "ship_date")) != NULL)
			appendStringInfo(&out, ", ships %s", v);
		if ((v = scalar(s, "eta")) != NULL)
			appendStringInfo(&out, ", eta %s", v);
		if ((v = scalar(s, "late_days")) != NULL)
			appendStringInfo(&out, ", %s day%s late", v, strcmp(v, "1") == 0 ? "" : "s");
	}

	/* unfilled */
	arr = array_field(root, "unfilled", "unfilled");
	if (arr && JsonContainerSize(arr) > 0)
	{
		appendStringInfoString(&out, "\n  Unfilled: ");
		append_lines(&out, arr, "unfilled");
		/* a pickup order says why (all its lines share the reason) */
		if ((v = scalar(element(arr, 0, "unfilled"), "reason")) != NULL)
			appendStringInfo(&out, " (%s)", v);
	}

	/* score terms that count */
	if ((obj = object_field(root, "score_terms", "score_terms")) != NULL)
	{
		static const char *const terms[] = {
			"cost", "days", "late", "split", "distance", "balance", "backorder",
			"preference", "capacity"
		};
		size_t		t;
		bool		any = false;

		for (t = 0; t < lengthof(terms); t++)
		{
			v = scalar(obj, terms[t]);
			if (v == NULL || strcmp(v, "0") == 0)
				continue;
			appendStringInfo(&out, "%s%s %s", any ? ", " : "\n  Score terms: ", terms[t], v);
			any = true;
		}
	}

	append_rules(&out, array_field(root, "rules", "rules"));

	/* candidates not chosen: what choosing them would add, else their reasons */
	obj = object_field(root, "explain", "explain");
	arr = obj ? array_field(obj, "candidates", "explain.candidates") : NULL;
	n = arr ? JsonContainerSize(arr) : 0;
	shown = 0;
	for (i = 0; i < n; i++)
	{
		JsonbContainer *c = element(arr, i, "explain.candidates");

		v = scalar(c, "chosen");
		if (v && strcmp(v, "true") == 0)
			continue;
		if (shown++ == 0)
			appendStringInfoString(&out, "\n  Not chosen:");
		appendStringInfoString(&out, "\n    ");
		append_node(&out, c);
		appendStringInfoString(&out, ": ");
		if (!append_delta(&out, c) && (v = scalar(c, "reason")) != NULL)
			appendStringInfoString(&out, v);
	}

	/* shipments whose lane changed at their real weight */
	arr = obj ? array_field(obj, "recost", "explain.recost") : NULL;
	n = arr ? JsonContainerSize(arr) : 0;
	for (i = 0; i < n; i++)
	{
		JsonbContainer *c = element(arr, i, "explain.recost");

		appendStringInfoString(&out, i == 0 ? "\n  Re-costed at real weight: " : "; ");
		append_node(&out, c);
		appendStringInfo(&out, " %s kg by %s, not %s kg by %s", nz(scalar(c, "weight_kg")),
						 nz(scalar(c, "to")), nz(scalar(c, "estimated_kg")),
						 nz(scalar(c, "from")));
	}

	/* solver; more than one pass when a lane changed at the real weights */
	passes = obj ? scalar(obj, "passes") : NULL;
	if (obj && (obj = object_field(obj, "solver", "explain.solver")) != NULL)
	{
		appendStringInfo(&out, "\n  Solver: %s", nz(scalar(obj, "method")));
		if (passes && strcmp(passes, "1") != 0 && strcmp(passes, "null") != 0)
			appendStringInfo(&out, ", %s passes", passes);
		if ((v = scalar(obj, "evaluated")) != NULL)
			appendStringInfo(&out, ", %s evaluated", v);
		if ((v = scalar(obj, "pruned")) != NULL)
			appendStringInfo(&out, ", %s pruned", v);
		v = scalar(obj, "proven_optimal");
		if (v && strcmp(v, "true") == 0)
			appendStringInfoString(&out, ", proven optimal");
		if (stockroute_explain_timing && (v = scalar(obj, "micros")) != NULL)
			appendStringInfo(&out, ", %s us", v);
	}

	PG_RETURN_TEXT_P(cstring_to_text(out.data));
}
